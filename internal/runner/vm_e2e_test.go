package runner_test

import (
	"encoding/base64"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"builds/internal/build"
	"builds/internal/testenv"
)

// vmWait is how long a VM job may take on a busy two-core machine under
// emulation, package installation included.
const vmWait = 10 * time.Minute

// TestVMBuild runs one job that uses every setup phase in a real VM.
func TestVMBuild(t *testing.T) {
	t.Parallel()
	e, vb, c := newVMEnv(t)
	listen, guestHost, allow := testenv.GuestService(t)
	c.GuestAllow = append(c.GuestAllow, allow)
	gs := startGitServer(t, listen)
	e.start()
	file := []byte("vm-secret-value-9f3k")
	key := []byte("-----BEGIN OPENSSH PRIVATE KEY-----\nAAAAC3NzaC1lZDI1NTE5AAAAIH5vdCBhIHJlYWwga2V5IGJ1dCBsb25nIGVub3VnaA==\n-----END OPENSSH PRIVATE KEY-----\n")
	url := fmt.Sprintf("git://%s:%d/repo.git", guestHost, gs.Port)
	e.submit(100, fmt.Sprintf(`image: debian/bookworm
packages:
  - hello
sources:
  - %s#feature
environment:
  PLAIN: hello world
  HOSTILE: "$(touch ~/pwned) ' \" ; exit 1"
  NUMBER: 1234567
  BOOL: false
  LIST: [a, "b c"]
secrets:
  - 11111111-0000-4000-8000-000000000001
  - 11111111-0000-4000-8000-000000000002
tasks:
  - env: |
      printf '<%%s>\n' "$PLAIN" "$HOSTILE" "$NUMBER" "$BOOL" "${LIST[@]}" "$JOB_ID"
      test ! -e ~/pwned
      echo "NEXT=value-from-env-task" >> ~/.buildenv
  - check: |
      echo "next=$NEXT"
      cat repo/version repo/sub/version
      hello
      stat -c '%%n %%a %%U' ~/.ssh/id_rsa ~/secret.conf
      cat ~/secret.conf; echo
      base64 ~/secret.conf
      printf '\033[32mgreen\033[0m\n'
      printf 'artifact' > out.txt
artifacts:
  - out.txt
`, url),
		build.Secret{UUID: "11111111-0000-4000-8000-000000000001", Kind: build.SecretSSHKey, Data: key},
		build.Secret{UUID: "11111111-0000-4000-8000-000000000002", Kind: build.SecretFile, Path: "~/secret.conf", Mode: 0o604, Data: file},
	)
	if s := e.wait(100, vmWait); s != build.JobSuccess {
		t.Fatalf("job ended %s; log:\n%s\nenv:\n%s\ncheck:\n%s", s, e.log(100, ""), e.log(100, "env"), e.log(100, "check"))
	}
	e.checkLog(100, "env", "<hello world>", `<$(touch ~/pwned) ' " ; exit 1>`, "<1234567>", "<false>", "<a>", "<b c>", "<100>")
	e.checkLog(100, "check", "next=value-from-env-task", "feature version", "sub version", "Hello, world!",
		"/home/build/.ssh/id_rsa 600 build", "/home/build/secret.conf 604 build", "\x1b[32mgreen\x1b[0m")
	got := e.log(100, "check")
	for _, leak := range []string{string(file), base64.StdEncoding.EncodeToString(file)} {
		if strings.Contains(got, leak) {
			t.Errorf("secret %q leaked into the task log", leak)
		}
	}
	e.checkLog(100, "", "Booting debian/bookworm... ok", "Connected to guest", "Installing packages: hello",
		"Cloning "+url+" (feature) into ~/repo", "Uploading artifact out.txt... ok", "Job succeeded", "VM cleaned up")
	checkHostFile(t, filepath.Join(e.r.ArtifactsDir, "100", "out.txt"), []byte("artifact"))
	e.checkClean()
	checkVMsGone(t, vb, c)
}

// TestVMTaskOutcomes runs a failing job and a complete-build job.
func TestVMTaskOutcomes(t *testing.T) {
	t.Parallel()
	e, vb, c := newVMEnv(t)
	e.start()
	e.submit(101, "image: debian/bookworm\ntasks:\n  - ok: echo fine\n  - bad: exit 3\n  - later: echo never\n")
	e.submit(102, "image: debian/bookworm\ntasks:\n  - a: |\n      complete-build\n      echo not-reached\n  - b: echo never\n")
	if s := e.wait(101, vmWait); s != build.JobFailed {
		t.Errorf("failing job ended %s; log:\n%s", s, e.log(101, ""))
	}
	e.checkTasks(101, map[string]build.TaskStatus{"ok": build.TaskSuccess, "bad": build.TaskFailed, "later": build.TaskPending})
	e.checkLog(101, "", "Task bad failed", "exited with status 3")
	if s := e.wait(102, vmWait); s != build.JobSuccess {
		t.Errorf("complete-build job ended %s; log:\n%s", s, e.log(102, ""))
	}
	e.checkTasks(102, map[string]build.TaskStatus{"a": build.TaskSuccess, "b": build.TaskSkipped})
	t.Logf("job log:\n%s", e.log(102, ""))
	if strings.Contains(e.log(102, "a"), "not-reached") {
		t.Error("complete-build did not end the task")
	}
	e.checkClean()
	checkVMsGone(t, vb, c)
}

// TestVMStops covers every way a job is stopped from outside: cancel
// during boot and during a task, the time limit, and the runner stopping.
func TestVMStops(t *testing.T) {
	t.Parallel()
	e, vb, c := newVMEnv(t)
	e.start()
	e.submit(103, sleeper)
	// Cancel once qemu runs: the control script has made the VM's state
	// (disk overlay, pid file) that cleanup must remove.
	for deadline := time.Now().Add(vmWait); vb.started() == 0 || qemuCount(c) == 0; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the VM of job 103 never started booting (boots begun: %d)", vb.started())
		}
	}
	e.r.Cancel(103)
	if s := e.wait(103, time.Minute); s != build.JobCancelled {
		t.Errorf("job cancelled during boot ended %s", s)
	}
	e.checkLog(103, "", "Booting debian/bookworm", "Job cancelled")
	e.submit(104, sleeper)
	e.waitLog(104, "long", "started", vmWait)
	e.r.Cancel(104)
	start := time.Now()
	if s := e.wait(104, time.Minute); s != build.JobCancelled {
		t.Errorf("job cancelled during a task ended %s", s)
	}
	t.Logf("cancel during a task took %v", time.Since(start))
	e.checkTasks(104, map[string]build.TaskStatus{"long": build.TaskFailed, "after": build.TaskPending})

	// The runner stops while a job runs: the job fails and its VM goes.
	e.submit(105, sleeper)
	e.waitLog(105, "long", "started", vmWait)
	e.cancel()
	if s := e.wait(105, time.Minute); s != build.JobFailed {
		t.Errorf("job of a stopped runner ended %s", s)
	}
	e.checkLog(105, "", "The runner stopped during the job", "VM cleaned up")
	e.checkClean()
	checkVMsGone(t, vb, c)
}

// TestVMTimeout lets a job run past the runner's time limit.
func TestVMTimeout(t *testing.T) {
	t.Parallel()
	e, vb, c := newVMEnv(t)
	e.r.Timeout = 90 * time.Second
	e.start()
	e.submit(106, sleeper)
	if s := e.wait(106, 3*time.Minute); s != build.JobTimeout {
		t.Errorf("job ended %s, want timeout; log:\n%s", s, e.log(106, ""))
	}
	e.checkLog(106, "", "timed out", "VM cleaned up")
	e.checkClean()
	checkVMsGone(t, vb, c)
}

package runner_test

import (
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"builds/internal/build"
)

func TestPassingBuildWithEnvironment(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.start()
	e.submit(1, `image: debian/bookworm
environment:
  PLAIN: hello world
  QUOTE: "it's \"quoted\""
  CODE: $(touch /tmp/pwned-env) `+"`id`"+` ; exit 1
  NEWLINES: "a\nb"
  NUMBER: 1234567
  FLOAT: 1.5
  BOOL: true
  LIST: [one, "two words", "th'ree"]
  JOB_ID: overridden-by-runner
tasks:
  - first: |
      printf '<%s>\n' "$PLAIN" "$QUOTE" "$CODE" "$NEWLINES" "$NUMBER" "$FLOAT" "$BOOL" "${LIST[@]}"
      echo "ci=$CI_NAME id=$JOB_ID url=$JOB_URL"
      echo "HANDOFF=from-first" >> ~/.buildenv
  - second: |
      echo "handoff=$HANDOFF"
      test -t 1 && echo "on a terminal"
`)
	if s := e.wait(1, 30*time.Second); s != build.JobSuccess {
		t.Fatalf("job ended %s; log:\n%s\n%s", s, e.log(1, ""), e.log(1, "first"))
	}
	e.checkTasks(1, map[string]build.TaskStatus{"first": build.TaskSuccess, "second": build.TaskSuccess})
	e.checkLog(1, "first",
		"<hello world>", `<it's "quoted">`, "<$(touch /tmp/pwned-env) `id` ; exit 1>",
		"<a\r\nb>", "<1234567>", "<1.5>", "<true>", "<one>", "<two words>", "<th'ree>",
		"ci=sourcehut id=1 url=http://builds.test/~u/job/1", "+ echo")
	e.checkLog(1, "second", "handoff=from-first", "on a terminal")
	e.checkLog(1, "", "Job #1 on runner test-runner", "Booting debian/bookworm... ok",
		"Connected to guest", "Running task first", "Task second succeeded", "Job succeeded", "VM cleaned up")
	if _, err := os.Stat("/tmp/pwned-env"); err == nil {
		t.Error("an environment value ran code")
	}
	e.checkClean()
}

func TestFailingTaskLeavesLaterTasksPending(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.start()
	e.submit(2, `image: debian/bookworm
tasks:
  - ok: echo fine
  - bad: |
      echo before
      false
      echo after
  - later: echo never
`)
	if s := e.wait(2, 30*time.Second); s != build.JobFailed {
		t.Fatalf("job ended %s", s)
	}
	e.checkTasks(2, map[string]build.TaskStatus{"ok": build.TaskSuccess, "bad": build.TaskFailed, "later": build.TaskPending})
	e.checkLog(2, "bad", "before", "+ false")
	if strings.Contains(e.log(2, "bad"), "after") {
		t.Error("the task went on after a failing command")
	}
	e.checkLog(2, "", "Task bad failed", "exited with status 1", "Job failed")
	if e.log(2, "later") != "" {
		t.Error("a later task ran")
	}
	e.checkClean()
}

func TestCompleteBuildSkipsRemainingTasks(t *testing.T) {
	t.Parallel()
	// Each job gets its own guest, as each would get its own VM.
	e3, e4 := newEnv(t), newEnv(t)
	e3.start()
	e4.start()
	e3.submit(3, `image: debian/bookworm
tasks:
  - a: |
      echo in-a
      complete-build
      echo not-reached
  - b: echo never
`)
	e4.submit(4, `image: debian/bookworm
tasks:
  - a: |
      (complete-build)
      echo still-runs
  - b: echo never
  - c: echo never
`)
	for _, e := range []*env{e3, e4} {
		id := int64(3)
		if e == e4 {
			id = 4
		}
		if s := e.wait(id, 30*time.Second); s != build.JobSuccess {
			t.Fatalf("job %d ended %s; log:\n%s", id, s, e.log(id, ""))
		}
		e.checkClean()
	}
	e3.checkTasks(3, map[string]build.TaskStatus{"a": build.TaskSuccess, "b": build.TaskSkipped})
	e4.checkTasks(4, map[string]build.TaskStatus{"a": build.TaskSuccess, "b": build.TaskSkipped, "c": build.TaskSkipped})
	if strings.Contains(e3.log(3, "a"), "not-reached") {
		t.Error("complete-build did not end the task")
	}
	e4.checkLog(4, "a", "still-runs")
	e3.checkLog(3, "", "called complete-build")
}

func TestSecretsInstalledAndRedacted(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.start()
	key := []byte("-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW\n-----END OPENSSH PRIVATE KEY-----\n")
	file := []byte("token=s3cr3t-value-42")
	secrets := []build.Secret{
		{UUID: "7c8e4a5e-0000-4000-8000-000000000001", Kind: build.SecretSSHKey, Data: key},
		{UUID: "7c8e4a5e-0000-4000-8000-000000000002", Kind: build.SecretFile, Path: "~/.config/app/creds", Mode: 0o640, Data: file},
		{UUID: "7c8e4a5e-0000-4000-8000-000000000003", Kind: build.SecretFile, Path: "/etc/app-secret", Mode: 0o600, Data: []byte("other-secret-xyz")},
	}
	e.submit(5, `image: debian/bookworm
secrets:
  - 7c8e4a5e-0000-4000-8000-000000000001
  - 7c8e4a5e-0000-4000-8000-000000000002
  - 7c8e4a5e-0000-4000-8000-000000000003
tasks:
  - show: |
      stat -c '%n %a %U' ~/.ssh/id_rsa ~/.ssh/7c8e4a5e-0000-4000-8000-000000000001 ~/.config/app/creds /etc/app-secret
      cat ~/.config/app/creds
      base64 -w0 ~/.config/app/creds; echo
      cat /etc/app-secret
`, secrets...)
	if s := e.wait(5, 30*time.Second); s != build.JobSuccess {
		t.Fatalf("job ended %s; log:\n%s\n%s", s, e.log(5, ""), e.log(5, "show"))
	}
	e.checkLog(5, "show", "/home/build/.ssh/id_rsa 600 build",
		"/home/build/.ssh/7c8e4a5e-0000-4000-8000-000000000001 600 build",
		"/home/build/.config/app/creds 640 build", "/etc/app-secret 600 build")
	got := e.log(5, "show")
	for _, leak := range []string{string(file), base64.StdEncoding.EncodeToString(file), "other-secret-xyz"} {
		if strings.Contains(got, leak) {
			t.Errorf("secret %q leaked into the log:\n%s", leak, got)
		}
	}
	checkHostFile(t, filepath.Join(e.g.Home, ".ssh", "id_rsa"), key)
	checkHostFile(t, filepath.Join(e.g.Home, ".config", "app", "creds"), file)
	checkHostFile(t, e.g.Upper("/etc/app-secret"), []byte("other-secret-xyz"))
	e.checkClean()
}

func checkHostFile(t *testing.T, path string, want []byte) {
	t.Helper()
	got, err := os.ReadFile(path)
	if err != nil || string(got) != string(want) {
		t.Errorf("%s: got %q, %v; want %q", path, got, err, want)
	}
}

func TestArtifacts(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	var urls []string
	e.r.ArtifactURL = func(id int64, name string) string { return "/artifacts/" + name }
	e.start()
	e.submit(6, `image: debian/bookworm
tasks:
  - make: |
      mkdir -p out
      printf 'artifact body' > out/result.txt
artifacts:
  - out/result.txt
`)
	if s := e.wait(6, 30*time.Second); s != build.JobSuccess {
		t.Fatalf("job ended %s; log:\n%s", s, e.log(6, ""))
	}
	checkHostFile(t, filepath.Join(e.r.ArtifactsDir, "6", "result.txt"), []byte("artifact body"))
	e.rec.mu.Lock()
	for _, a := range e.rec.artifacts {
		urls = append(urls, a.URL)
		if a.Size != 13 || a.Name != "result.txt" || a.Path != "out/result.txt" {
			t.Errorf("artifact %+v", a)
		}
	}
	e.rec.mu.Unlock()
	if len(urls) != 1 || urls[0] != "/artifacts/result.txt" {
		t.Errorf("artifact URLs %v", urls)
	}
	e.checkClean()
}

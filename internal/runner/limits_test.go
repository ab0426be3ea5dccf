package runner_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"builds/internal/build"
)

func TestLogCapFailsTheJob(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.r.MaxLogBytes = 64 << 10
	e.start()
	e.submit(1, `image: debian/bookworm
tasks:
  - flood: |
      set +x
      echo start
      yes 'a line of output that repeats' | head -c 50000000
      echo after-the-flood
  - later: echo never
`)
	if s := e.wait(1, 60*time.Second); s != build.JobFailed {
		t.Fatalf("job ended %s; log:\n%s", s, e.log(1, ""))
	}
	got := e.log(1, "flood")
	e.checkLog(1, "flood", "start", "This job's logs reached their limit of 64 KiB; further output is discarded and the job fails.")
	if strings.Contains(got, "after-the-flood") {
		t.Error("output past the cap reached the log")
	}
	if n := len(got); n > 64<<10+4096 {
		t.Errorf("the task log holds %d bytes, past the 64 KiB cap", n)
	}
	e.checkLog(1, "", "its logs passed the limit of 64 KiB (the runner's max-log-size)")
	e.checkTasks(1, map[string]build.TaskStatus{"later": build.TaskPending})
	e.checkClean()
}

func TestArtifactCaps(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.r.MaxArtifactBytes, e.r.MaxArtifactsBytes = 1000, 1500
	e.start()
	e.submit(1, `image: debian/bookworm
tasks:
  - make1: head -c 1001 /dev/zero > big.bin
artifacts:
  - big.bin
`)
	e.submit(2, `image: debian/bookworm
tasks:
  - make2: |
      head -c 800 /dev/zero > one.bin
      head -c 800 /dev/zero > two.bin
artifacts:
  - one.bin
  - two.bin
`)
	e.submit(3, `image: debian/bookworm
tasks:
  - make3: head -c 1000 /dev/urandom > exact.bin
artifacts:
  - exact.bin
`)
	for id, want := range map[int64]build.JobStatus{1: build.JobFailed, 2: build.JobFailed, 3: build.JobSuccess} {
		if s := e.wait(id, 60*time.Second); s != want {
			t.Fatalf("job %d ended %s, want %s; log:\n%s", id, s, want, e.log(id, ""))
		}
	}
	e.checkLog(1, "", "uploading artifact big.bin failed: it is larger than the limit of 1000 B per artifact (the runner's max-artifact-size)")
	e.checkLog(2, "", "Uploading artifact one.bin... ok",
		"uploading artifact two.bin failed: the job's artifacts together would pass their limit of 1.5 KiB (the runner's max-artifacts-size)")
	e.checkLog(3, "", "Uploading artifact exact.bin... ok")
	if fi, err := os.Stat(filepath.Join(e.r.ArtifactsDir, "3", "exact.bin")); err != nil || fi.Size() != 1000 {
		t.Errorf("artifact at the cap: %v, %v", fi, err)
	}
	for _, p := range []string{"1/big.bin", "2/two.bin"} {
		if _, err := os.Stat(filepath.Join(e.r.ArtifactsDir, p)); err == nil {
			t.Errorf("the refused artifact %s was kept", p)
		}
	}
	e.checkClean()
}

func TestArtifactsMustBeRegularFiles(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.r.MaxArtifactBytes, e.r.MaxArtifactsBytes = 1<<20, 1<<20
	e.start()
	// The jobs share one fake guest, so each uses names of its own.
	cases := []struct {
		id   int64
		make string
		want string
	}{
		{1, "ln -s /dev/zero a1", "it is a symbolic link (artifacts must be regular files)"},
		{2, "echo hi > real2; ln -s real2 a2", "it is a symbolic link (artifacts must be regular files)"},
		{3, "mkfifo a3", "it is not a regular file (artifacts must be regular files)"},
		{4, "mkdir a4", "it is not a regular file (artifacts must be regular files)"},
		{5, "echo nothing", "no such file (artifacts must be regular files)"},
	}
	for _, c := range cases {
		e.submit(c.id, fmt.Sprintf("image: debian/bookworm\ntasks:\n  - make%d: %s\nartifacts:\n  - a%d\n", c.id, c.make, c.id))
	}
	for _, c := range cases {
		start := time.Now()
		if s := e.wait(c.id, 60*time.Second); s != build.JobFailed {
			t.Fatalf("job %d ended %s; log:\n%s", c.id, s, e.log(c.id, ""))
		}
		e.checkLog(c.id, "", fmt.Sprintf("uploading artifact a%d failed: %s", c.id, c.want))
		if _, err := os.Lstat(filepath.Join(e.r.ArtifactsDir, fmt.Sprint(c.id), fmt.Sprintf("a%d", c.id))); err == nil {
			t.Errorf("job %d: a refused artifact was kept", c.id)
		}
		if d := time.Since(start); d > 30*time.Second {
			t.Errorf("job %d took %v to refuse its artifact", c.id, d)
		}
	}
	e.checkClean()
}

func TestRunnerRefusesJobsWhileDiskIsLow(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.r.MinFreeBytes = 1 << 62 // more than any disk has: the real disk is "low"
	e.start()
	e.submit(1, "image: debian/bookworm\ntasks:\n  - a: echo hi\n")
	deadline := time.Now().Add(10 * time.Second)
	for e.r.Full() == "" && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	reason := e.r.Full()
	for _, w := range []string{"free on the disk of ", "below the 4096 PiB this runner keeps free (min-free-space)"} {
		if !strings.Contains(reason, w) {
			t.Errorf("Full() = %q, lacks %q", reason, w)
		}
	}
	time.Sleep(300 * time.Millisecond)
	if booted, _ := e.vmCounts(); booted != 0 {
		t.Errorf("%d VMs booted while the disk was low", booted)
	}
	e.rec.mu.Lock()
	defer e.rec.mu.Unlock()
	if s, ok := e.rec.jobs[1]; ok {
		t.Errorf("the job was taken (status %s) while the disk was low", s)
	}
}

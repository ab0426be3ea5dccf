package integration_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"builds/internal/build"
)

func TestFirstSignalDrainsSecondCancels(t *testing.T) {
	e := newEnv(t)
	r := startRunner(t, e.redis.Addr, runnerOpts{concurrency: 1, step: 700 * time.Millisecond})
	e.ms.waitRunners(t, 1)
	out, err := exec.Command(binary, "runners", "--config", r.conf).CombinedOutput()
	if err != nil || !strings.Contains(string(out), r.name) || !strings.Contains(string(out), "taking jobs") {
		t.Fatalf("builds runners: %v\n%s", err, out)
	}
	first := e.ms.submit(t, 1, build.Public)[0]
	e.ms.waitStatus(t, first, build.JobRunning, 10*time.Second)
	second := e.ms.submit(t, 1, build.Public)[0]
	must(t, r.cmd.Process.Signal(syscall.SIGTERM))
	if j := e.ms.wait(t, []int64{first}, 30*time.Second)[first]; j.Status != build.JobSuccess {
		t.Fatalf("running job ended %s after one SIGTERM, want success", j.Status)
	}
	exited := make(chan error, 1)
	go func() { exited <- r.cmd.Wait() }()
	select {
	case err := <-exited:
		r.stopped = true
		if err != nil {
			t.Fatalf("drained runner exited with %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("drained runner did not exit")
	}
	if j, _ := e.ms.st.Job(t.Context(), second); j.Status != build.JobQueued {
		t.Fatalf("job submitted before the drain is %s, want still queued", j.Status)
	}

	// A second runner takes the queued job; two signals cancel it.
	r2 := startRunner(t, e.redis.Addr, runnerOpts{concurrency: 1, step: 2 * time.Second})
	e.ms.waitStatus(t, second, build.JobRunning, 10*time.Second)
	must(t, r2.cmd.Process.Signal(syscall.SIGTERM))
	waitFor(t, 10*time.Second, "drain message from the runner after the first SIGTERM", func() bool {
		b, _ := os.ReadFile(r2.output)
		return strings.Contains(string(b), "signal: no new jobs")
	})
	must(t, r2.cmd.Process.Signal(syscall.SIGTERM))
	if j := e.ms.wait(t, []int64{second}, 10*time.Second)[second]; j.Status != build.JobFailed {
		t.Fatalf("job ended %s after two SIGTERMs, want failed (the runner stopped)", j.Status)
	}
}

func TestCancelStopsTheJobOnItsRunner(t *testing.T) {
	e := newEnv(t)
	r := startRunner(t, e.redis.Addr, runnerOpts{concurrency: 1, step: 3 * time.Second})
	e.ms.waitRunners(t, 1)
	id := e.ms.submit(t, 1, build.Public)[0]
	e.ms.waitStatus(t, id, build.JobRunning, 10*time.Second)
	start := time.Now()
	if _, err := e.ms.svc.Cancel(t.Context(), e.ms.user, id); err != nil {
		t.Fatal(err)
	}
	logPath := filepath.Join(r.logDir, strconv.FormatInt(id, 10), "log")
	for {
		b, _ := os.ReadFile(logPath)
		if strings.Contains(string(b), "Job cancelled") {
			break
		}
		if time.Since(start) > 10*time.Second {
			t.Fatalf("the runner did not cancel the job; its log:\n%s", b)
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Logf("the runner cancelled the job %v after the master did", time.Since(start).Round(time.Millisecond))
	if j, _ := e.ms.st.Job(t.Context(), id); j.Status != build.JobCancelled {
		t.Fatalf("job is %s", j.Status)
	}
}

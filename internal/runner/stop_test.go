package runner_test

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"builds/internal/build"
)

const sleeper = `image: debian/bookworm
tasks:
  - setup: echo ready
  - long: |
      echo started
      sleep 600
  - after: echo never
`

// waitLog waits until the task's log shows want.
func (e *env) waitLog(id int64, task, want string, within time.Duration) {
	e.t.Helper()
	deadline := time.Now().Add(within)
	if dl, ok := e.t.(interface{ Deadline() (time.Time, bool) }); ok {
		if d, ok := dl.Deadline(); ok && d.Add(-time.Minute).Before(deadline) {
			deadline = d.Add(-time.Minute)
		}
	}
	for time.Now().Before(deadline) {
		if strings.Contains(e.log(id, task), want) {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	e.t.Fatalf("log %d/%s never showed %q:\n%s", id, task, want, e.log(id, ""))
}

func TestTimeout(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.r.Timeout = 2 * time.Second
	e.start()
	e.submit(10, sleeper)
	start := time.Now()
	if s := e.wait(10, 20*time.Second); s != build.JobTimeout {
		t.Fatalf("job ended %s, want timeout", s)
	}
	if d := time.Since(start); d > 6*time.Second {
		t.Errorf("timeout took %v to act", d)
	}
	e.checkTasks(10, map[string]build.TaskStatus{"setup": build.TaskSuccess, "long": build.TaskFailed, "after": build.TaskPending})
	e.checkLog(10, "", "timed out", "VM cleaned up")
	e.checkClean()
}

func TestCancelDuringTask(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.start()
	e.submit(11, sleeper)
	e.waitLog(11, "long", "started", 20*time.Second)
	if !e.r.Cancel(11) {
		t.Fatal("Cancel says the job is not running")
	}
	start := time.Now()
	if s := e.wait(11, 10*time.Second); s != build.JobCancelled {
		t.Fatalf("job ended %s, want cancelled", s)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("cancel took %v", d)
	}
	e.checkTasks(11, map[string]build.TaskStatus{"long": build.TaskFailed, "after": build.TaskPending})
	e.checkLog(11, "", "Job cancelled", "VM cleaned up")
	e.checkClean()
	if e.r.Cancel(11) {
		t.Error("Cancel of a finished job says it was running")
	}
}

func TestCancelDuringBoot(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.booter.BootDelay = time.Minute
	e.start()
	e.submit(12, sleeper)
	for deadline := time.Now().Add(20 * time.Second); e.booter.inBoot() == 0; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("job 12 never started booting")
		}
	}
	e.r.Cancel(12)
	if s := e.wait(12, 10*time.Second); s != build.JobCancelled {
		t.Fatalf("job ended %s, want cancelled", s)
	}
	e.checkTasks(12, map[string]build.TaskStatus{"setup": build.TaskPending})
	e.checkLog(12, "", "Booting debian/bookworm... failed", "Job cancelled")
	e.checkClean()
}

func TestRunnerStoppedMidBuild(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.start()
	e.submit(13, sleeper)
	e.waitLog(13, "long", "started", 20*time.Second)
	e.cancel() // the runner's context ends, as on a second signal
	select {
	case err := <-e.ran:
		e.ran <- err
		if err == nil {
			t.Error("Run returned nil after its context ended")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after its context ended")
	}
	if s := e.wait(13, time.Second); s != build.JobFailed {
		t.Fatalf("job ended %s, want failed", s)
	}
	e.checkLog(13, "", "The runner stopped during the job", "VM cleaned up")
	e.checkClean()
	e.src.mu.Lock()
	defer e.src.mu.Unlock()
	if len(e.src.done) != 1 {
		t.Errorf("leases released: %v", e.src.done)
	}
}

func TestDrainLetsRunningJobsFinish(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.start()
	e.submit(14, "image: debian/bookworm\ntasks:\n  - a: sleep 1; echo slept\n")
	e.waitLog(14, "", "Running task a", 20*time.Second)
	e.r.Drain()
	e.submit(15, "image: debian/bookworm\ntasks:\n  - a: echo hi\n")
	select {
	case err := <-e.ran:
		e.ran <- err
		if err != nil {
			t.Errorf("Run after Drain: %v", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("Run did not return after Drain")
	}
	if s := e.wait(14, time.Second); s != build.JobSuccess {
		t.Fatalf("job ended %s", s)
	}
	e.rec.mu.Lock()
	_, took := e.rec.jobs[15]
	e.rec.mu.Unlock()
	if took {
		t.Error("a job was taken after Drain")
	}
	e.checkClean()
}

func TestBadManifestAndRefusedStart(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.start()
	e.submit(16, "image: debian/bookworm\ntasks: nope\n")
	if s := e.wait(16, 10*time.Second); s != build.JobFailed {
		t.Fatalf("job ended %s", s)
	}
	e.checkLog(16, "", "the manifest is not valid")
	// A job the store will not let start (cancelled meanwhile) is dropped
	// without booting anything.
	e.rec.mu.Lock()
	e.rec.jobs[17] = build.JobCancelled
	e.rec.mu.Unlock()
	e.submit(17, sleeper)
	deadline := time.Now().Add(10 * time.Second)
	for !leaseDone(e, 17) && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if !leaseDone(e, 17) {
		t.Fatal("the refused job's lease was not released")
	}
	if booted, _ := e.booter.counts(); booted != 0 {
		t.Errorf("%d VMs booted", booted)
	}
	e.checkLog(17, "", "could not start")
}

func leaseDone(e *env, id int64) bool {
	e.src.mu.Lock()
	defer e.src.mu.Unlock()
	for _, d := range e.src.done {
		if d == id {
			return true
		}
	}
	return false
}

func TestLeaseLostStopsJob(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.r.Heartbeat = 50 * time.Millisecond
	e.r.LeaseLost = func(err error) bool { return errors.Is(err, errLost) }
	e.start()
	e.submit(18, sleeper)
	e.waitLog(18, "long", "started", 20*time.Second)
	e.src.mu.Lock()
	e.src.lost = true
	started := slices.Clone(e.src.started)
	e.src.mu.Unlock()
	if !slices.Equal(started, []int64{18}) {
		t.Errorf("leases marked started: %v", started)
	}
	if s := e.wait(18, 10*time.Second); s != build.JobFailed {
		t.Fatalf("job ended %s", s)
	}
	e.checkLog(18, "", "lost touch with the queue")
	e.checkClean()
}

func TestUnloadableJobs(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.jobs.set(19, nil) // the loader fails: the job must not stay queued
	e.start()
	e.src.Put(19)
	e.src.Put(20) // no such job: dropped, nothing reported
	if s := e.wait(19, 10*time.Second); s != build.JobFailed {
		t.Fatalf("job ended %s", s)
	}
	deadline := time.Now().Add(10 * time.Second)
	for !leaseDone(e, 20) && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	e.rec.mu.Lock()
	defer e.rec.mu.Unlock()
	if _, ok := e.rec.jobs[20]; ok || !leaseDone(e, 20) {
		t.Errorf("a missing job was reported (%v) or its lease kept", e.rec.jobs[20])
	}
}

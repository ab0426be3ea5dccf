package integration_test

import (
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"builds/internal/build"
	"builds/internal/lifecycle"
	"builds/internal/metrics"
)

// wantSequence is what one job of jobManifest publishes on the master, in
// order, when a remote runner with fake guests runs it (the fake's every
// answer is success, the check for complete-build included, so the second
// task is skipped). The in-process runner's sequence is the same.
var wantSequence = []string{
	"job_created queued",
	"job_queued queued",
	"job_started running",
	"vm_booted",
	"task_changed build running",
	"task_changed build success",
	"task_changed test skipped",
	"job_ended success",
}

func describe(ev *lifecycle.Event) string {
	switch ev.Kind {
	case lifecycle.TaskChanged:
		return fmt.Sprintf("%s %s %s", ev.Kind, ev.Task, ev.TaskStatus)
	case lifecycle.VMBooted:
		return string(ev.Kind)
	}
	return fmt.Sprintf("%s %s", ev.Kind, ev.Status)
}

func collect(t *testing.T, sub *lifecycle.Subscription, id int64, within time.Duration) []string {
	t.Helper()
	var got []string
	timeout := time.After(within)
	for {
		select {
		case <-sub.Ready():
		case <-timeout:
			t.Fatalf("job %d did not end within %v; events so far:\n%s", id, within, strings.Join(got, "\n"))
		}
		evs, missed := sub.Next()
		if missed {
			t.Fatal("the subscriber missed events")
		}
		for i := range evs {
			if evs[i].JobID == id {
				got = append(got, describe(&evs[i]))
				if evs[i].Kind == lifecycle.JobEnded {
					return got
				}
			}
		}
	}
}

func TestDistributedJobEventSequence(t *testing.T) {
	e := newEnv(t)
	m := metrics.New()
	t.Cleanup(m.Follow(e.ms.life.Bus()))
	// A subscriber that never reads and one stuck in its handler must not
	// hold up the applier.
	idle := e.ms.life.Bus().Subscribe(1, nil)
	defer idle.Close()
	stuck := e.ms.life.Bus().Subscribe(1, nil)
	defer stuck.Close()
	release := make(chan struct{})
	defer close(release)
	go func() {
		<-stuck.Ready()
		stuck.Next()
		<-release
	}()
	watch := e.ms.life.Bus().Subscribe(0, nil)
	defer watch.Close()
	startRunner(t, e.redis.Addr, runnerOpts{concurrency: 1})
	e.ms.waitRunners(t, 1)
	id := e.ms.submit(t, 1, build.Private)[0]
	got := collect(t, watch, id, 90*time.Second)
	if strings.Join(got, "\n") != strings.Join(wantSequence, "\n") {
		t.Fatalf("events:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(wantSequence, "\n"))
	}
	if j := e.ms.wait(t, []int64{id}, 10*time.Second)[id]; j.Status != build.JobSuccess {
		t.Fatalf("stored status %s, want success", j.Status)
	}
	if evs, missed := idle.Next(); !missed || len(evs) != 1 || evs[0].Kind != lifecycle.JobEnded {
		t.Fatalf("the idle subscriber holds %d events (missed %v); want only the last, and missed", len(evs), missed)
	}
	waitMetrics(t, m, map[string]string{
		"builds_jobs_submitted_total":                         "1",
		`builds_jobs_finished_total{status="success"}`:        "1",
		"builds_jobs_queued":                                  "0",
		"builds_jobs_running":                                 "0",
		"builds_queue_wait_seconds_count":                     "1",
		"builds_vm_boot_seconds_count":                        "1",
		`builds_job_duration_seconds_count{status="success"}`: "1",
	})
}

// waitMetrics waits until the metrics show want (name -> value).
func waitMetrics(t *testing.T, m *metrics.Metrics, want map[string]string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		rec := httptest.NewRecorder()
		m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
		got := map[string]string{}
		for _, line := range strings.Split(rec.Body.String(), "\n") {
			if k, v, ok := strings.Cut(line, " "); ok && !strings.HasPrefix(line, "#") {
				got[k] = v
			}
		}
		bad := ""
		for k, v := range want {
			if got[k] != v {
				bad += fmt.Sprintf("%s = %q, want %q\n", k, got[k], v)
			}
		}
		if bad == "" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal(bad)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

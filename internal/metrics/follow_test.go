package metrics_test

import (
	"io"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"builds/internal/build"
	"builds/internal/lifecycle"
	"builds/internal/metrics"
)

// TestFollowCountsEvents feeds the metrics a job's events and checks the
// gauges and counters after each step.
func TestFollowCountsEvents(t *testing.T) {
	m := metrics.New()
	bus := lifecycle.NewBus()
	stop := m.Follow(bus)
	defer stop()
	created := time.Now().Add(-3 * time.Second)
	j := &build.Job{ID: 7, Created: created}
	publish := func(kind lifecycle.Kind, s build.JobStatus) {
		bus.Publish(lifecycle.Event{Kind: kind, JobID: 7, Status: s, Job: j})
	}
	publish(lifecycle.JobCreated, build.JobQueued)
	publish(lifecycle.JobQueued, build.JobQueued)
	waitFor(t, m, "builds_jobs_submitted_total 1", "builds_jobs_queued 1", "builds_jobs_running 0")
	publish(lifecycle.JobStarted, build.JobRunning)
	bus.Publish(lifecycle.Event{Kind: lifecycle.VMBooted, JobID: 7, Boot: 5 * time.Second})
	waitFor(t, m, "builds_jobs_queued 0", "builds_jobs_running 1", "builds_queue_wait_seconds_count 1", "builds_vm_boot_seconds_sum 5")
	publish(lifecycle.JobEnded, build.JobFailed)
	waitFor(t, m, "builds_jobs_running 0", `builds_jobs_finished_total{status="failed"} 1`, `builds_job_duration_seconds_count{status="failed"} 1`)
	// A job cancelled while queued leaves the queue and never ran.
	j = &build.Job{ID: 8, Created: created}
	bus.Publish(lifecycle.Event{Kind: lifecycle.JobQueued, JobID: 8, Status: build.JobQueued, Job: j})
	bus.Publish(lifecycle.Event{Kind: lifecycle.JobEnded, JobID: 8, Status: build.JobCancelled, Job: j})
	waitFor(t, m, "builds_jobs_queued 0", "builds_jobs_running 0", `builds_jobs_finished_total{status="cancelled"} 1`)
}

func waitFor(t *testing.T, m *metrics.Metrics, want ...string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		rec := httptest.NewRecorder()
		m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
		body, _ := io.ReadAll(rec.Body)
		missing := ""
		for _, w := range want {
			if !strings.Contains(string(body), w+"\n") {
				missing += w + "\n"
			}
		}
		if missing == "" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("metrics lack:\n%s", missing)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

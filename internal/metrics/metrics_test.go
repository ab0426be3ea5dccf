package metrics_test

import (
	"io"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"builds/internal/build"
	"builds/internal/metrics"
)

func TestMetricsExposition(t *testing.T) {
	m := metrics.New()
	m.Submitted()
	m.Started(time.Now().Add(-2 * time.Second))
	m.Booted(13 * time.Second)
	m.Finished(build.JobSuccess, time.Minute, true)
	m.Finished(build.JobCancelled, 0, false)
	m.DiskLow(true)

	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body, _ := io.ReadAll(rec.Body)
	for _, want := range []string{
		"builds_jobs_submitted_total 1",
		`builds_jobs_finished_total{status="success"} 1`,
		`builds_jobs_finished_total{status="cancelled"} 1`,
		`builds_jobs_finished_total{status="timeout"} 0`,
		"builds_jobs_running 0",
		"builds_queue_wait_seconds_count 1",
		"builds_vm_boot_seconds_sum 13",
		`builds_job_duration_seconds_count{status="success"} 1`,
		"builds_runner_disk_low 1",
		"go_goroutines",
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("metrics lack %q", want)
		}
	}
}

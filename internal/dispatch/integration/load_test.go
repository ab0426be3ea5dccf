package integration_test

import (
	"testing"
	"time"

	"builds/internal/build"
)

// TestLoad submits 200 jobs at once against two runners with the VM
// stand-in: every job must end successfully, on exactly one runner.
func TestLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("load test")
	}
	e := newEnv(t)
	r1 := startRunner(t, e.redis.Addr, runnerOpts{concurrency: 8})
	r2 := startRunner(t, e.redis.Addr, runnerOpts{concurrency: 8})
	e.ms.waitRunners(t, 2)
	start := time.Now()
	ids := e.ms.submit(t, 200, build.Public)
	submitted := time.Since(start)
	jobs := e.ms.wait(t, ids, 5*time.Minute)
	elapsed := time.Since(start)
	per := map[string]int{}
	for id, j := range jobs {
		if j.Status != build.JobSuccess {
			t.Errorf("job %d ended %s", id, j.Status)
		}
		if r1.ran(id) == r2.ran(id) {
			t.Errorf("job %d: on r1 %v, on r2 %v; want exactly one", id, r1.ran(id), r2.ran(id))
		}
		per[j.Runner]++
	}
	e.ms.checkEndedOnce(t, ids)
	t.Logf("200 jobs: submitted in %v, all terminal after %v (%.0f jobs/s); per runner %v",
		submitted.Round(time.Millisecond), elapsed.Round(time.Millisecond), 200/elapsed.Seconds(), per)
}

// BenchmarkControlPlane measures jobs/s from submission to the final
// status in the database, through Redis, two runner processes and the
// VM stand-in.
func BenchmarkControlPlane(b *testing.B) {
	e := &env{}
	e.redis, e.pg = startRedisPG(b)
	e.ms = startMaster(b, e.redis.Addr, e.pg.CreateDB(b))
	startRunner(b, e.redis.Addr, runnerOpts{concurrency: 8})
	startRunner(b, e.redis.Addr, runnerOpts{concurrency: 8})
	e.ms.waitRunners(b, 2)
	b.ResetTimer()
	start := time.Now()
	ids := e.ms.submit(b, b.N, build.Public)
	e.ms.wait(b, ids, 10*time.Minute)
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "jobs/s")
}

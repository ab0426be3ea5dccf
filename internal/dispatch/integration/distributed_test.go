package integration_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"builds/internal/build"
	"builds/internal/testenv"
	"builds/internal/wire"
)

// env is a master with Redis and PostgreSQL servers of its own.
type env struct {
	redis *testenv.RedisServer
	pg    *testenv.PostgresServer
	ms    *master
}

func newEnv(t *testing.T) *env {
	t.Helper()
	e := &env{}
	e.redis, e.pg = startRedisPG(t)
	e.ms = startMaster(t, e.redis.Addr, e.pg.CreateDB(t))
	return e
}

func startRedisPG(tb testing.TB) (*testenv.RedisServer, *testenv.PostgresServer) {
	return testenv.StartRedis(tb, testenv.RedisOptions{AppendOnly: true}), testenv.StartPostgres(tb)
}

func TestJobsSpreadAcrossRunners(t *testing.T) {
	e := newEnv(t)
	r1 := startRunner(t, e.redis.Addr, runnerOpts{concurrency: 2, step: 100 * time.Millisecond})
	r2 := startRunner(t, e.redis.Addr, runnerOpts{concurrency: 2, step: 100 * time.Millisecond})
	e.ms.waitRunners(t, 2)
	ids := e.ms.submit(t, 12, build.Private)
	jobs := e.ms.wait(t, ids, 60*time.Second)
	count := map[string]int{}
	for _, j := range jobs {
		if j.Status != build.JobSuccess {
			t.Errorf("job %d ended %s", j.ID, j.Status)
		}
		count[j.Runner]++
		if r1.ran(j.ID) == r2.ran(j.ID) {
			t.Errorf("job %d: ran on r1 %v, on r2 %v; want exactly one", j.ID, r1.ran(j.ID), r2.ran(j.ID))
		}
	}
	t.Logf("jobs per runner: %v", count)
	if count[r1.name] == 0 || count[r2.name] == 0 {
		t.Fatalf("jobs per runner %v: want both runners used", count)
	}
	// A private job's log, read through the master from the runner that
	// ran it (which itself refuses the log without the master's token).
	srv := httptest.NewServer(e.ms.m.Logs)
	defer srv.Close()
	body := httpGet(t, srv.URL+"/logs/"+itoa(ids[0])+"/log")
	if !strings.Contains(body, "Job #"+itoa(ids[0])+" on runner") {
		t.Fatalf("proxied log:\n%s", body)
	}
	direct, err := http.Get("http://" + jobs[ids[0]].Runner + "/logs/" + itoa(ids[0]) + "/log")
	must(t, err)
	direct.Body.Close()
	if direct.StatusCode != http.StatusNotFound {
		t.Fatalf("direct read of a private log: %s", direct.Status)
	}
	e.ms.checkEndedOnce(t, ids)
}

func TestKilledRunnerJobFailsAndQueueMovesOn(t *testing.T) {
	e := newEnv(t)
	doomed := startRunner(t, e.redis.Addr, runnerOpts{concurrency: 1, step: time.Second})
	e.ms.waitRunners(t, 1)
	first := e.ms.submit(t, 1, build.Public)[0]
	e.ms.waitStatus(t, first, build.JobRunning, 10*time.Second)
	rest := e.ms.submit(t, 3, build.Public) // wait behind the busy runner
	doomed.kill()
	killed := time.Now()
	heir := startRunner(t, e.redis.Addr, runnerOpts{concurrency: 2, step: 10 * time.Millisecond})
	j := e.ms.wait(t, []int64{first}, 3*lease)[first]
	t.Logf("killed runner's job ended %s %v after the kill (lease %v)", j.Status, time.Since(killed).Round(time.Millisecond), lease)
	if j.Status != build.JobFailed {
		t.Fatalf("killed runner's job ended %s, want failed", j.Status)
	}
	srv := httptest.NewServer(e.ms.m.Logs)
	defer srv.Close()
	if body := httpGet(t, srv.URL+"/logs/"+itoa(first)+"/log"); !strings.Contains(body, "stopped renewing its lease") {
		t.Fatalf("log of the killed runner's job does not say why it failed:\n%s", body)
	}
	for id, j := range e.ms.wait(t, rest, 30*time.Second) {
		if j.Status != build.JobSuccess || j.Runner != heir.name {
			t.Errorf("job %d: %s on %s, want success on %s", id, j.Status, j.Runner, heir.name)
		}
	}
	e.ms.checkEndedOnce(t, append(rest, first))
}

func TestRedisRestartLosesNoJob(t *testing.T) {
	e := newEnv(t)
	r1 := startRunner(t, e.redis.Addr, runnerOpts{concurrency: 2, step: 50 * time.Millisecond})
	r2 := startRunner(t, e.redis.Addr, runnerOpts{concurrency: 2, step: 50 * time.Millisecond})
	e.ms.waitRunners(t, 2)
	ids := e.ms.submit(t, 30, build.Public)
	running := e.ms.waitInFlight(t, ids, true, 30*time.Second)
	seen := r1.retries() + r2.retries()
	e.redis.Kill(t) // a crash: only the append-only file survives
	t.Logf("Redis killed with jobs %v running and more queued", running)
	waitFor(t, 30*time.Second, "a runner to notice that Redis is gone", func() bool {
		return r1.retries()+r2.retries() > seen
	})
	e.redis.Start(t)
	for id, j := range e.ms.wait(t, ids, 90*time.Second) {
		if j.Status != build.JobSuccess {
			t.Errorf("job %d ended %s", id, j.Status)
		}
		if r1.ran(id) && r2.ran(id) {
			t.Errorf("job %d ran on both runners", id)
		}
	}
	e.ms.checkEndedOnce(t, ids)
}

func TestPostgresRestartIsSurvived(t *testing.T) {
	e := newEnv(t)
	startRunner(t, e.redis.Addr, runnerOpts{concurrency: 2, step: 100 * time.Millisecond})
	e.ms.waitRunners(t, 1)
	ids := e.ms.submit(t, 10, build.Public)
	running := e.ms.waitInFlight(t, ids, true, 30*time.Second)
	e.pg.Restart(t)
	t.Logf("PostgreSQL restarted with jobs %v running and more queued", running)
	for id, j := range e.ms.wait(t, ids, 90*time.Second) {
		if j.Status != build.JobSuccess {
			t.Errorf("job %d ended %s", id, j.Status)
		}
	}
	e.ms.checkEndedOnce(t, ids)
}

func TestForgedEventForAnotherRunnersJobIsRejected(t *testing.T) {
	e := newEnv(t)
	startRunner(t, e.redis.Addr, runnerOpts{concurrency: 1, step: 500 * time.Millisecond})
	other := startRunner(t, e.redis.Addr, runnerOpts{concurrency: 1, step: 500 * time.Millisecond})
	e.ms.waitRunners(t, 2)
	id := e.ms.submit(t, 1, build.Public)[0]
	j := e.ms.waitStatus(t, id, build.JobRunning, 10*time.Second)
	forger := other.name
	if j.Runner == other.name {
		forger = "127.0.0.1:1" // any runner but the holder
	}
	st, err := e.ms.m.Queue.State(context.Background(), id)
	must(t, err)
	for _, f := range []struct{ runner, key string }{
		{j.Runner, "not the job's key"}, // right runner, forged MAC
		{forger, st.Item.Key},           // valid MAC, not the holder
	} {
		ev := `{"job":` + itoa(id) + `,"runner":"` + f.runner + `","seq":1000,"kind":"job_status","status":"failed"}`
		must(t, e.ms.rdb.XAdd(context.Background(), &goredis.XAddArgs{
			Stream: "builds:events", Values: map[string]any{"e": ev, "mac": wire.MAC(f.key, []byte(ev))},
		}).Err())
	}
	if j := e.ms.wait(t, []int64{id}, 30*time.Second)[id]; j.Status != build.JobSuccess {
		t.Fatalf("job ended %s after forged events, want success", j.Status)
	}
}

func (ms *master) waitStatus(t testing.TB, id int64, want build.JobStatus, within time.Duration) *build.Job {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		j, err := ms.st.Job(context.Background(), id)
		if err == nil && j.Status == want {
			return j
		}
		if time.Now().After(deadline) {
			t.Fatalf("job %d is %v, want %s", id, statusOf(j), want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitInFlight waits until at least one of ids is running and, with
// queued, at least one more is still waiting for a runner: a crash now
// hits the service mid-flight. It returns the running jobs.
func (ms *master) waitInFlight(t testing.TB, ids []int64, queued bool, within time.Duration) []int64 {
	t.Helper()
	var running []int64
	waitFor(t, within, "jobs in flight", func() bool {
		running = running[:0]
		waiting := 0
		for _, id := range ids {
			j, err := ms.st.Job(context.Background(), id)
			switch {
			case err != nil:
				return false
			case j.Status == build.JobRunning:
				running = append(running, id)
			case j.Status == build.JobQueued:
				waiting++
			}
		}
		return len(running) > 0 && (!queued || waiting > 0)
	})
	return running
}

// waitFor polls cond until it holds, failing the test after within.
func waitFor(t testing.TB, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("no %s after %v", what, within)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// retries counts the runner's log lines about a Redis call that failed
// and is retried.
func (r *runnerProc) retries() int {
	b, _ := os.ReadFile(r.output)
	return strings.Count(string(b), "failed; retrying")
}

// checkEndedOnce checks that OnEnd saw each job exactly once. It first
// waits until the master has applied every event the runners wrote, so
// that a duplicate end would have been counted.
func (ms *master) checkEndedOnce(t testing.TB, ids []int64) {
	t.Helper()
	waitFor(t, 30*time.Second, "empty event backlog", func() bool {
		groups, err := ms.rdb.XInfoGroups(context.Background(), "builds:events").Result()
		return err == nil && len(groups) == 1 && groups[0].Pending == 0 && groups[0].Lag == 0
	})
	ms.mu.Lock()
	defer ms.mu.Unlock()
	for _, id := range ids {
		if n := ms.ends[id]; n != 1 {
			t.Errorf("job %d ended %d times", id, n)
		}
	}
}

func httpGet(t testing.TB, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	must(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	must(t, err)
	return string(b)
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

package integration_test

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"builds/internal/build"
	"builds/internal/testenv"
)

// TestRecoverAfterRedisLosesItsData restarts Redis without persistence
// while one job runs and others wait, then starts a master again: the
// running job, which no runner can report on any more, fails with a log
// saying why; the queued ones are queued again and run.
func TestRecoverAfterRedisLosesItsData(t *testing.T) {
	redis := testenv.StartRedis(t, testenv.RedisOptions{}) // no persistence
	pg := testenv.StartPostgres(t)
	conn := pg.CreateDB(t)
	ms := startMaster(t, redis.Addr, conn)
	r := startRunner(t, redis.Addr, runnerOpts{concurrency: 1, step: time.Minute})
	ms.waitRunners(t, 1)
	ids := ms.submit(t, 3, build.Public)
	running := ms.waitInFlight(t, ids, true, 30*time.Second)
	r.kill()
	ms.stop()
	redis.Restart(t) // everything Redis held is gone
	if n, err := ms.rdb.DBSize(context.Background()).Result(); err != nil || n != 0 {
		t.Fatalf("Redis after the restart holds %d keys (%v), want none", n, err)
	}

	ms2 := startMaster(t, redis.Addr, conn) // Run starts with Recover
	for _, id := range running {
		if j := ms2.waitStatus(t, id, build.JobFailed, 30*time.Second); j.Runner == "" {
			t.Errorf("failed job %d lost its runner's name", id)
		}
	}
	var queued []int64
	for _, id := range ids {
		if !contains(running, id) {
			queued = append(queued, id)
		}
	}
	waitFor(t, 30*time.Second, "queued jobs back in the queue", func() bool {
		for _, id := range queued {
			if _, err := ms2.m.Queue.State(context.Background(), id); err != nil {
				return false
			}
		}
		return true
	})
	heir := startRunner(t, redis.Addr, runnerOpts{concurrency: 2, step: 10 * time.Millisecond})
	for id, j := range ms2.wait(t, queued, 60*time.Second) {
		if j.Status != build.JobSuccess || j.Runner != heir.name {
			t.Errorf("queued job %d: %s on %s, want success on %s", id, j.Status, j.Runner, heir.name)
		}
	}
	srv := httptest.NewServer(ms2.m.Logs)
	defer srv.Close()
	for _, id := range running {
		if body := httpGet(t, srv.URL+"/logs/"+itoa(id)+"/log"); !strings.Contains(body, "queue lost its record") {
			t.Errorf("log of job %d does not say why it failed:\n%s", id, body)
		}
	}
	ms2.checkEndedOnce(t, ids)
}

func contains(ids []int64, id int64) bool {
	for _, x := range ids {
		if x == id {
			return true
		}
	}
	return false
}

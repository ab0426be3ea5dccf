package main

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	"builds/internal/testenv"
)

// BenchmarkSubmitToRunnerStart is a submission's whole way to a runner
// in the many-host set-up: from the GraphQL submit mutation sent to
// `builds serve` (PostgreSQL, Redis) until the `builds runner` process has
// started the job, which is when the job's log appears in the runner's log
// directory (watched every millisecond). The runner's VMs are a stand-in,
// so nothing after the start is measured.
//
//	go test -run '^$' -bench SubmitToRunnerStart -benchtime 20x ./cmd/builds
func BenchmarkSubmitToRunnerStart(b *testing.B) {
	redis := testenv.StartRedis(b, testenv.RedisOptions{AppendOnly: true})
	pg := testenv.StartPostgres(b)
	key := newKeyForTest()
	masterConf := writeConf(b, fmt.Sprintf(`[sr.ht]
network-key = %s
[builds.sr.ht]
redis = redis://%s
connection-string = %s
lease-time = 5s
[builds.sr.ht::worker]
images = %s
`, key, redis.Addr, pg.CreateDB(b), fakeImages(b)))
	s := startServe(b, b.TempDir(), "BUILDS_CONFIG="+masterConf)
	rdir := b.TempDir()
	name := freeAddr(b)
	logDir := filepath.Join(rdir, "logs")
	runnerConf := writeConf(b, fmt.Sprintf(`[sr.ht]
network-key = %s
[builds.sr.ht]
redis = redis://%s
data-dir = %s
[builds.sr.ht::worker]
name = %s
bind-address = %s
buildlogs = %s
concurrency = 4
`, key, redis.Addr, rdir, name, name, logDir))
	startRunnerProc(b, runnerConf, rdir, "--fake-vm", "--lease-time", "5s")
	token := s.userToken("alice")

	const mutation = `mutation($m: String!) { submit(manifest: $m) { id } }`
	manifest := "image: debian/bookworm\ntasks:\n  - a: echo hi\n"
	var lat []time.Duration
	for b.Loop() {
		var out struct{ Submit struct{ ID int } }
		t0 := time.Now()
		s.query(token, mutation, map[string]any{"m": manifest}, &out)
		started := filepath.Join(logDir, strconv.Itoa(out.Submit.ID), "log")
		for deadline := t0.Add(time.Minute); ; time.Sleep(time.Millisecond) {
			if _, err := os.Stat(started); err == nil {
				break
			}
			if time.Now().After(deadline) {
				b.Fatalf("job %d not started by the runner after a minute\n%s", out.Submit.ID, s.log)
			}
		}
		lat = append(lat, time.Since(t0))
	}
	slices.Sort(lat)
	var sum time.Duration
	for _, d := range lat {
		sum += d
	}
	b.ReportMetric(float64(sum.Microseconds())/1000/float64(len(lat)), "ms-submit-to-start")
	b.ReportMetric(float64(lat[len(lat)*9/10].Microseconds())/1000, "ms-p90")
}

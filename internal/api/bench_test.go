package api_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"builds/internal/build"
	"builds/internal/submit"
)

// backends lists the stores the benchmarks run on.
var backends = []struct {
	name string
	env  func(testing.TB) *env
}{
	{"sqlite", newEnv},
	{"postgres", newPostgresEnv},
}

// BenchmarkSubmit measures submissions per second at three depths, so
// that each layer's cost shows against the one below: storing the job
// alone (the baseline), the submit service (parse, validate, store,
// queue) and the whole GraphQL request over HTTP.
func BenchmarkSubmit(b *testing.B) {
	for _, be := range backends {
		b.Run(be.name, func(b *testing.B) {
			e := be.env(b)
			b.Run("store", func(b *testing.B) { benchParallel(b, e.storeSubmit) })
			b.Run("service", func(b *testing.B) { benchParallel(b, e.serviceSubmit) })
			body, _ := json.Marshal(map[string]any{"query": submitQuery, "variables": map[string]any{"m": goodManifest}})
			client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
			b.Run("graphql", func(b *testing.B) {
				benchParallel(b, func() error { return post(client, e.srv.URL+"/query", e.aliceTok, body) })
			})
		})
	}
}

// benchParallel runs op from several goroutines, as concurrent clients
// would, and reports operations per second.
func benchParallel(b *testing.B, op func() error) {
	b.SetParallelism(4)
	cpu := cpuTime()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := op(); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "submissions/s")
	reportCPU(b, cpu)
}

// cpuTime returns the CPU time this process has used so far (every
// thread: client, server and SQLite; a PostgreSQL server's is not
// included).
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// reportCPU reports the process's CPU time per operation since start: on
// a machine shared with other work it says more than wall-clock rates.
func reportCPU(b *testing.B, start time.Duration) {
	b.ReportMetric(float64((cpuTime()-start).Microseconds())/float64(b.N), "cpu-µs/op")
}

// storeSubmit stores a queued job with its tasks, as Submit does.
func (e *env) storeSubmit() error {
	return e.store.CreateJob(context.Background(), &build.Job{OwnerID: e.alice.ID, Manifest: goodManifest,
		Image: "debian/bookworm", Arch: "amd64", Status: build.JobQueued, Visibility: build.Unlisted, Secrets: true,
		Tasks: []build.Task{{Name: "build", Status: build.TaskPending}, {Name: "test", Status: build.TaskPending}}})
}

func (e *env) serviceSubmit() error {
	_, err := e.svc.Submit(context.Background(), e.alice, submit.SubmitInput{Manifest: goodManifest, Secrets: true, Execute: true})
	return err
}

// BenchmarkJobList measures listing jobs with 100,000 jobs stored
// ($BUILDS_BENCH_JOBS overrides the number).
func BenchmarkJobList(b *testing.B) {
	for _, be := range backends {
		b.Run(be.name, func(b *testing.B) { benchJobList(b, be.env(b)) })
	}
}

func benchJobList(b *testing.B, e *env) {
	n := 100_000
	if v, err := strconv.Atoi(os.Getenv("BUILDS_BENCH_JOBS")); err == nil && v > 0 {
		n = v // a smaller store, for profiling the API's own cost
	}
	middle := e.seed(b, n)
	fields := `results { id status tags visibility owner { canonicalName } tasks { name status } } cursor`
	mine := `query($c: Cursor) { jobs(cursor: $c) { ` + fields + ` } }`
	theirs := `query($c: Cursor) { userByName(username: "alice") { jobs(cursor: $c) { ` + fields + ` } } }`
	cursor := encodeTestCursor(middle)
	cases := []struct {
		name, query, token string
		cursor             any
	}{
		{"own-first-page", mine, e.aliceTok, nil},
		{"own-middle-page", mine, e.aliceTok, cursor},
		{"others-public-first-page", theirs, e.bobTok, nil},
		{"others-public-middle-page", theirs, e.bobTok, cursor},
	}
	client := &http.Client{}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			body, _ := json.Marshal(map[string]any{"query": c.query, "variables": map[string]any{"c": c.cursor}})
			cpu := cpuTime()
			for b.Loop() {
				if err := post(client, e.srv.URL+"/query", c.token, body); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "queries/s")
			reportCPU(b, cpu)
		})
	}
}

// seed stores n finished jobs of alice, one in ten public, from several
// goroutines, and returns the ID of one in the middle.
func (e *env) seed(b *testing.B, n int) int64 {
	var next, middle atomic.Int64
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for i := next.Add(1); i <= int64(n); i = next.Add(1) {
				vis := build.Unlisted
				if i%10 == 0 {
					vis = build.Public
				}
				j := &build.Job{OwnerID: e.alice.ID, Manifest: goodManifest, Image: "debian/bookworm", Arch: "amd64",
					Status: build.JobSuccess, Visibility: vis, Tags: []string{"proj", "main"},
					Tasks: []build.Task{{Name: "build", Status: build.TaskSuccess}, {Name: "test", Status: build.TaskSuccess}}}
				if err := e.store.CreateJob(context.Background(), j); err != nil {
					b.Error(err)
					return
				}
				if i == int64(n/2) {
					middle.Store(j.ID)
				}
			}
		})
	}
	wg.Wait()
	return middle.Load()
}

// post sends one GraphQL request and fails on any error in the answer.
func post(client *http.Client, url, token string, body []byte) error {
	req, _ := http.NewRequest("POST", url, bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || bytes.Contains(raw, []byte(`"errors"`)) {
		return fmt.Errorf("HTTP %d: %s", resp.StatusCode, raw)
	}
	return nil
}

// encodeTestCursor makes the cursor the API would hand out for the page
// that continues before id (the cursor is opaque to clients; benchmarks
// use it to jump to the middle of a long listing).
func encodeTestCursor(id int64) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(id, 10)))
}

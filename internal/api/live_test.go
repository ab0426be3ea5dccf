package api_test

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"builds/internal/api"
	"builds/internal/build"
	"builds/internal/lifecycle"
	"builds/internal/queue/local"
	"builds/internal/secretbox"
	"builds/internal/store"
	"builds/internal/store/sqlite"
	"builds/internal/submit"
)

// countingStore counts the job reads made through it.
type countingStore struct {
	store.Store
	jobReads atomic.Int64
}

func (s *countingStore) Job(ctx context.Context, id int64) (*build.Job, error) {
	s.jobReads.Add(1)
	return s.Store.Job(ctx, id)
}

// liveEnv is the API with job status streams pushed by a lifecycle.
type liveEnv struct {
	*env
	counted *countingStore
	life    *lifecycle.Lifecycle
}

func newLiveEnv(tb testing.TB) *liveEnv {
	tb.Helper()
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(tb.TempDir(), "builds.db"), secretbox.GenerateKey())
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	if err := db.Migrate(ctx); err != nil {
		tb.Fatal(err)
	}
	e := &liveEnv{env: newEnvStore(tb, db), counted: &countingStore{Store: db}}
	e.life = lifecycle.New(lifecycle.Options{Store: db, Queue: local.New(local.Options{})})
	e.svc = &submit.Service{Store: db, Life: e.life}
	e.srv.Config.Handler = api.New(api.Options{Store: e.counted, Submit: e.svc, Logs: fakeLogs{},
		Origin: "http://builds.test", Watch: e.life.Bus().WatchJob})
	return e
}

func (e *liveEnv) pendingJob(tb testing.TB) *build.Job {
	tb.Helper()
	j, err := e.svc.Submit(context.Background(), e.alice, submit.SubmitInput{Manifest: goodManifest})
	if err != nil {
		tb.Fatal(err)
	}
	return j
}

// openStatus opens a job's status stream as `builds submit --follow` does.
func (e *liveEnv) openStatus(ctx context.Context, tb testing.TB, id int64) *bufio.Scanner {
	tb.Helper()
	req, _ := http.NewRequestWithContext(ctx, "GET", fmt.Sprintf("%s/api/jobs/%d/events", e.srv.URL, id), nil)
	req.Header.Set("Authorization", "Bearer "+e.aliceTok)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { res.Body.Close() })
	if res.StatusCode != http.StatusOK {
		tb.Fatalf("status stream: %s", res.Status)
	}
	return bufio.NewScanner(res.Body)
}

func expectLine(tb testing.TB, sc *bufio.Scanner, want string) {
	tb.Helper()
	for sc.Scan() {
		if strings.Contains(sc.Text(), want) {
			return
		}
	}
	tb.Fatalf("stream ended before %q: %v", want, sc.Err())
}

func TestStatusStreamIsPushedAndIdleCostsNoQueries(t *testing.T) {
	e := newLiveEnv(t)
	j := e.pendingJob(t)
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	sc := e.openStatus(ctx, t, j.ID)
	expectLine(t, sc, `"status":"pending"`)
	before := e.counted.jobReads.Load()
	time.Sleep(time.Second)
	if n := e.counted.jobReads.Load() - before; n != 0 {
		t.Fatalf("an idle status stream read the job %d times in a second; want none", n)
	}
	if _, err := e.life.Start(ctx, j); err != nil {
		t.Fatal(err)
	}
	expectLine(t, sc, `"status":"queued"`)
	if _, err := e.life.Cancel(ctx, &build.Job{ID: j.ID, Status: build.JobQueued}); err != nil {
		t.Fatal(err)
	}
	expectLine(t, sc, "event: end")
}

func TestStatusStreamRefusesOthersPrivateJobs(t *testing.T) {
	e := newLiveEnv(t)
	j, err := e.svc.Submit(t.Context(), e.alice, submit.SubmitInput{Manifest: goodManifest, Visibility: build.Private})
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest("GET", fmt.Sprintf("%s/api/jobs/%d/events", e.srv.URL, j.ID), nil)
	req.Header.Set("Authorization", "Bearer "+e.bobTok)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusNotFound {
		t.Fatalf("bob reading alice's private job's stream: %s, want 404", res.Status)
	}
}

// BenchmarkStatusStreamLatency measures how long a status change takes to
// reach `builds submit --follow` through the API's status stream, from the
// lifecycle's write to the event. The target is under 250 ms.
func BenchmarkStatusStreamLatency(b *testing.B) {
	e := newLiveEnv(b)
	var total time.Duration
	for b.Loop() {
		b.StopTimer()
		j := e.pendingJob(b)
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		sc := e.openStatus(ctx, b, j.ID)
		expectLine(b, sc, `"status":"pending"`)
		b.StartTimer()
		start := time.Now()
		if _, err := e.life.Start(ctx, j); err != nil {
			b.Fatal(err)
		}
		expectLine(b, sc, `"status":"queued"`)
		total += time.Since(start)
		cancel()
	}
	b.ReportMetric(float64(total.Microseconds())/1000/float64(b.N), "ms/change")
}

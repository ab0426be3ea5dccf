package web_test

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"builds/internal/build"
	"builds/internal/httpx"
	"builds/internal/lifecycle"
	"builds/internal/logs"
	"builds/internal/queue/local"
	"builds/internal/secretbox"
	"builds/internal/store"
	"builds/internal/store/sqlite"
	"builds/internal/submit"
	"builds/internal/web"
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

// liveEnv is a web UI whose job pages are pushed by a lifecycle.
type liveEnv struct {
	srv   *httptest.Server
	st    *countingStore
	life  *lifecycle.Lifecycle
	svc   *submit.Service
	alice *build.User
}

func newLiveEnv(tb testing.TB, streams *httpx.Streams) *liveEnv {
	tb.Helper()
	ctx := context.Background()
	dir := tb.TempDir()
	db, err := sqlite.Open(ctx, filepath.Join(dir, "builds.db"), secretbox.GenerateKey())
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	if err := db.Migrate(ctx); err != nil {
		tb.Fatal(err)
	}
	ld, err := logs.Open(filepath.Join(dir, "logs"))
	if err != nil {
		tb.Fatal(err)
	}
	e := &liveEnv{st: &countingStore{Store: db}, alice: &build.User{Name: "alice", Email: "alice@example.org"}}
	if err := db.CreateUser(ctx, e.alice); err != nil {
		tb.Fatal(err)
	}
	e.life = lifecycle.New(lifecycle.Options{Store: db, Queue: local.New(local.Options{}), Logs: ld})
	e.svc = &submit.Service{Store: db, Life: e.life}
	h, err := web.New(web.Options{Store: e.st, Submit: e.svc, Logs: ld, Origin: "http://builds.test", Key: testKey,
		Watch: e.life.Bus().WatchJob, Streams: streams})
	if err != nil {
		tb.Fatal(err)
	}
	e.srv = httptest.NewServer(h)
	tb.Cleanup(e.srv.Close)
	return e
}

// pendingJob submits a public job without starting it.
func (e *liveEnv) pendingJob(tb testing.TB) *build.Job {
	tb.Helper()
	j, err := e.svc.Submit(context.Background(), e.alice, submit.SubmitInput{
		Manifest: "image: debian/stable\ntasks:\n  - build: make\n", Visibility: build.Public})
	if err != nil {
		tb.Fatal(err)
	}
	return j
}

// stream is an open job page event stream.
type stream struct {
	res *http.Response
	sc  *bufio.Scanner
}

func (e *liveEnv) open(ctx context.Context, tb testing.TB, id int64) *stream {
	tb.Helper()
	req, _ := http.NewRequestWithContext(ctx, "GET", fmt.Sprintf("%s/~alice/job/%d/events?setup=0", e.srv.URL, id), nil)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { res.Body.Close() })
	return &stream{res: res, sc: bufio.NewScanner(res.Body)}
}

// expect reads the stream until a line contains want.
func (s *stream) expect(tb testing.TB, want string) {
	tb.Helper()
	for s.sc.Scan() {
		if strings.Contains(s.sc.Text(), want) {
			return
		}
	}
	tb.Fatalf("stream ended before %q: %v", want, s.sc.Err())
}

// TestJobPageIsPushedAndIdleCostsNoQueries opens a job page's live stream
// and checks that, while nothing changes, it reads nothing from the
// database, and that a change reaches it.
func TestJobPageIsPushedAndIdleCostsNoQueries(t *testing.T) {
	e := newLiveEnv(t, nil)
	j := e.pendingJob(t)
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	s := e.open(ctx, t, j.ID)
	s.expect(t, `"status":"pending"`)
	time.Sleep(100 * time.Millisecond) // the first read after the watch began
	before := e.st.jobReads.Load()
	const idle = 2 * time.Second
	time.Sleep(idle)
	reads := e.st.jobReads.Load() - before
	t.Logf("job reads while idle: %d in %v (%.0f per minute)", reads, idle, float64(reads)*float64(time.Minute)/float64(idle))
	if reads != 0 {
		t.Fatalf("an idle job page read the job %d times in %v; want none", reads, idle)
	}
	if _, err := e.life.Start(ctx, j); err != nil {
		t.Fatal(err)
	}
	s.expect(t, `"status":"queued"`)
	if n := e.st.jobReads.Load() - before; n > 2 {
		t.Errorf("one change cost %d job reads; want at most 2", n)
	}
}

// TestJobPageStreamsAreCappedPerClient opens more streams than a client
// may hold and checks that the extra one is refused with a clear 429.
func TestJobPageStreamsAreCappedPerClient(t *testing.T) {
	e := newLiveEnv(t, &httpx.Streams{Max: 2})
	j := e.pendingJob(t)
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	for range 2 {
		e.open(ctx, t, j.ID).expect(t, `"status":"pending"`)
	}
	res, err := http.Get(fmt.Sprintf("%s/~alice/job/%d/events", e.srv.URL, j.ID))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body := make([]byte, 512)
	n, _ := res.Body.Read(body)
	if res.StatusCode != http.StatusTooManyRequests || !strings.Contains(string(body[:n]), "at most 2") {
		t.Fatalf("third stream: %s %q; want 429 saying the limit", res.Status, body[:n])
	}
}

// BenchmarkJobPageStatusLatency measures how long a status change takes to
// reach an open job page: from the lifecycle's write to the event on the
// page's stream. The target is under 250 ms.
func BenchmarkJobPageStatusLatency(b *testing.B) {
	e := newLiveEnv(b, nil)
	var total time.Duration
	for b.Loop() {
		b.StopTimer()
		j := e.pendingJob(b)
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		s := e.open(ctx, b, j.ID)
		s.expect(b, `"status":"pending"`)
		b.StartTimer()
		start := time.Now()
		if _, err := e.life.Start(ctx, j); err != nil {
			b.Fatal(err)
		}
		s.expect(b, `"status":"queued"`)
		total += time.Since(start)
		cancel()
	}
	b.ReportMetric(float64(total.Microseconds())/1000/float64(b.N), "ms/change")
}

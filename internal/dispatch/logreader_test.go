package dispatch_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"builds/internal/agent"
	"builds/internal/build"
	"builds/internal/dispatch"
	"builds/internal/logs"
	"builds/internal/wire"
)

// runnerNamedByAddr starts a runner's log server and an agent named by
// the server's address, as real runners are.
func runnerNamedByAddr(t *testing.T, p *plane) (*agent.Agent, *logs.Dir, *httptest.Server, string) {
	t.Helper()
	dir, err := logs.Open(t.TempDir())
	must(t, err)
	var a *agent.Agent
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		logs.NewHandler(dir, a.AllowLog).ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	name := srv.Listener.Addr().String()
	a, err = agent.NewAgent(goredis.NewClient(p.rdb.Options()), agent.AgentOptions{
		Queue: p.qopts, Name: name, Arches: []string{"amd64"}, Capacity: 1,
		LogURL: srv.URL + "/logs/", LogDir: dir.Root(), LogKey: wire.LogKey(networkKey),
	})
	must(t, err)
	return a, dir, srv, name
}

// follower collects what LogProxy.Follow hands over.
type follower struct {
	chunks chan string
	done   chan error
	got    string
}

func follow(ctx context.Context, proxy *dispatch.LogProxy, id int64, task string, offset int64) *follower {
	f := &follower{chunks: make(chan string, 100), done: make(chan error, 1)}
	go func() {
		f.done <- proxy.Follow(ctx, id, task, offset, func(p []byte) error {
			f.chunks <- string(p)
			return nil
		})
	}()
	return f
}

// waitFor waits until everything followed so far is want.
func (f *follower) waitFor(t *testing.T, want string) {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for f.got != want {
		select {
		case c := <-f.chunks:
			f.got += c
		case err := <-f.done:
			t.Fatalf("Follow returned %v with %q, want %q", err, f.got, want)
		case <-timeout:
			t.Fatalf("followed %q, want %q", f.got, want)
		}
	}
}

func wantTail(t *testing.T, proxy *dispatch.LogProxy, id int64, task string, n int64, want string, wantStart int64) {
	t.Helper()
	b, start, err := proxy.Tail(t.Context(), id, task, n)
	if err != nil || string(b) != want || start != wantStart {
		t.Fatalf("Tail(%q, %d) = %q at %d, %v; want %q at %d", task, n, b, start, err, want, wantStart)
	}
}

func TestLogProxyTailAndFollowFromRunner(t *testing.T) {
	p := newPlane(t)
	p.addSecret(t)
	ctx := t.Context()
	j := p.submit(t, build.Private)
	proxy, err := dispatch.NewLogProxy(dispatch.LogProxyOptions{
		Jobs: p.st, Allow: func(*http.Request, int64) bool { return false },
		LogKey: wire.LogKey(networkKey), Local: p.logs, Private: p.rdb,
	})
	must(t, err)
	if _, _, err := proxy.Tail(ctx, j.ID, "", 100); build.ErrorCode(err) != build.ENOTFOUND {
		t.Fatalf("Tail of a queued job's log: %v, want ENOTFOUND", err)
	}
	// A page opened while the job waits follows its log once it runs.
	f := follow(ctx, proxy, j.ID, "", 0)
	a, dir, runnerSrv, name := runnerNamedByAddr(t, p)
	takeOne(t, a, name)
	must(t, a.JobStatus(ctx, j.ID, build.JobRunning, name))
	p.waitJob(t, j.ID, build.JobRunning, 5*time.Second)
	jl := dir.Job(j.ID, nil)
	w, err := jl.Setup()
	must(t, err)
	w.Printf("booting")
	f.waitFor(t, "booting\n")
	wantTail(t, proxy, j.ID, "", 4, "ing\n", 4)
	wantTail(t, proxy, j.ID, "", 1<<20, "booting\n", 0)
	w.Printf("step two")
	f.waitFor(t, "booting\nstep two\n")
	wantTail(t, proxy, j.ID, "", 1<<20, "booting\nstep two\n", 0)

	// A later page follows from where its tail ended.
	g := follow(ctx, proxy, j.ID, "", int64(len("booting\n")))
	g.waitFor(t, "step two\n")
	if _, _, err := proxy.Tail(ctx, j.ID, "build", 100); build.ErrorCode(err) != build.ENOTFOUND {
		t.Fatalf("Tail of a task log not written yet: %v, want ENOTFOUND", err)
	}
	tw, err := jl.Task("build")
	must(t, err)
	tw.Write([]byte("a€b")) // the euro sign is bytes 1 to 3
	wantTail(t, proxy, j.ID, "build", 3, "b", 4)

	// The raw log, with a Range, through the same proxy.
	req := httptest.NewRequestWithContext(ctx, "GET", "/~alice/job/1/log", nil)
	req.Header.Set("Range", "bytes=-4")
	rec := httptest.NewRecorder()
	proxy.ServeLog(rec, req, j.ID, "")
	if rec.Code != http.StatusPartialContent || rec.Body.String() != "two\n" {
		t.Fatalf("ServeLog with a Range: %d %q", rec.Code, rec.Body.String())
	}

	// The runner completes the logs: both follows end.
	tw.Close()
	w.Close()
	jl.Close()
	for _, fl := range []*follower{f, g} {
		select {
		case err := <-fl.done:
			if err != nil {
				t.Fatalf("Follow of a complete log: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("Follow did not end with the log")
		}
	}

	// The runner is gone: the master's own copy is read.
	runnerSrv.Close()
	mw, _ := p.logs.Job(j.ID, nil).Setup()
	mw.Printf("runner lost")
	mw.Close()
	wantTail(t, proxy, j.ID, "", 1<<20, "runner lost\n", 0)
}

package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"builds/internal/api"
	"builds/internal/build"
	"builds/internal/httpx"
	"builds/internal/lifecycle"
	"builds/internal/logs"
	"builds/internal/queue/local"
	"builds/internal/store/sqlite"
	"builds/internal/submit"
)

// syncBuffer is an output written by one goroutine and read by another.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestFollowStreamOrdersLogs plays a job's life on a server with the
// status stream and checks what --follow prints, in order: the setup log,
// each task's header and output, then the closing lines.
func TestFollowStreamOrdersLogs(t *testing.T) {
	testFollowStream(t, false)
}

// TestFollowStreamEndsOnFailure is a job whose second task fails: the last
// task never runs and --follow still ends.
func TestFollowStreamEndsOnFailure(t *testing.T) {
	testFollowStream(t, true)
}

func testFollowStream(t *testing.T, fail bool) {
	ctx := t.Context()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "builds.db"), []byte("0123456789abcdef0123456789abcdef"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	d, err := logs.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	life := lifecycle.New(lifecycle.Options{Store: st, Queue: local.New(local.Options{}), Logs: d})
	svc := &submit.Service{Store: st, Life: life}
	mux := http.NewServeMux()
	apiHandler := api.New(api.Options{Store: st, Submit: svc, Origin: "http://builds.test", Watch: life.Bus().WatchJob})
	var streams atomic.Int64
	mux.Handle("/api/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/events") {
			streams.Add(1)
		}
		apiHandler.ServeHTTP(w, r)
	}))
	mux.Handle("/query", apiHandler)
	mux.Handle("/logs/", logs.NewHandler(d, func(*http.Request, int64) bool { return true }))
	srv := httptest.NewServer(mux)
	defer srv.Close()

	u := &build.User{Name: "alice", Email: "alice@example.org"}
	if err := st.CreateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	value, hash, _ := httpx.NewToken()
	grants, _ := build.ParseGrants("")
	if err := st.CreateToken(ctx, &build.Token{UserID: u.ID, Name: "t", Grants: grants}, hash); err != nil {
		t.Fatal(err)
	}
	j, err := svc.Submit(ctx, u, submit.SubmitInput{Manifest: "image: debian/stable\ntasks:\n  - one: a\n  - two: b\n  - three: c\n", Execute: true})
	if err != nil {
		t.Fatal(err)
	}
	c := &gqlClient{base: srv.URL, token: value, http: &http.Client{Timeout: time.Minute}}
	out := &syncBuffer{}
	result := make(chan string, 1)
	go func() {
		status, err := followJob(ctx, c, j.ID, out)
		if err != nil {
			t.Errorf("followJob: %v", err)
		}
		result <- status
	}()

	waitOutput := func(want string) {
		t.Helper()
		for deadline := time.Now().Add(20 * time.Second); !strings.Contains(out.String(), want); {
			if time.Now().After(deadline) {
				t.Fatalf("output lacks %q:\n%s", want, out.String())
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	jl := d.Job(j.ID, nil)
	setup, _ := jl.Setup()
	setup.Printf("booting")
	waitOutput("booting")
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(life.JobStatus(context.Background(), j.ID, build.JobRunning, "local"))
	final := build.JobSuccess
	for _, task := range []string{"one", "two"} {
		must(life.TaskStatus(ctx, j.ID, task, build.TaskRunning))
		w, _ := jl.Task(task)
		w.Printf("output of %s", task)
		waitOutput("output of " + task)
		if fail && task == "two" {
			// The runner reports the failure before it closes the log.
			must(life.TaskStatus(ctx, j.ID, task, build.TaskFailed))
			must(w.Close())
			final = build.JobFailed
			break
		}
		must(w.Close())
		must(life.TaskStatus(ctx, j.ID, task, build.TaskSuccess))
	}
	setup.Printf("closing line")
	setup.Close()
	must(life.JobStatus(ctx, j.ID, final, "local"))
	jl.Close()
	select {
	case status := <-result:
		if status != string(final) {
			t.Errorf("status %q, want %s", status, final)
		}
	case <-time.After(20 * time.Second):
		t.Fatalf("followJob did not return; output:\n%s", out.String())
	}
	got := out.String()
	order := []string{"booting", "==> task one", "output of one", "==> task two", "output of two", "closing line"}
	at := 0
	for _, want := range order {
		i := strings.Index(got[at:], want)
		if i < 0 {
			t.Fatalf("output lacks %q after position %d, or has it out of order:\n%s", want, at, got)
		}
		at += i + len(want)
	}
	if streams.Load() != 1 {
		t.Errorf("the status stream was opened %d times, want once (no polling)", streams.Load())
	}
	if strings.Count(got, "output of one") != 1 || strings.Count(got, "booting") != 1 {
		t.Errorf("output repeats itself:\n%s", got)
	}
}

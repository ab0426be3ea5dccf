package dispatch_test

import (
	"bufio"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"builds/internal/agent"
	"builds/internal/build"
	"builds/internal/dispatch"
	"builds/internal/logs"
	"builds/internal/wire"
)

// runnerLogs starts a runner's log server whose agent holds the next job.
func runnerLogs(t *testing.T, p *plane, name string) (*agent.Agent, *logs.Dir, *httptest.Server) {
	t.Helper()
	dir, err := logs.Open(t.TempDir())
	must(t, err)
	var a *agent.Agent
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		logs.NewHandler(dir, a.AllowLog).ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	a, err = agent.NewAgent(goredis.NewClient(p.rdb.Options()), agent.AgentOptions{
		Queue: p.qopts, Name: name, Arches: []string{"amd64"}, Capacity: 1,
		LogURL: srv.URL + "/logs/", LogDir: dir.Root(), LogKey: wire.LogKey(networkKey),
	})
	must(t, err)
	return a, dir, srv
}

func TestLogProxyChecksAccessAndStreams(t *testing.T) {
	p := newPlane(t)
	p.addSecret(t)
	ctx := t.Context()
	j := p.submit(t, build.Private)
	a, dir, runnerSrv := runnerLogs(t, p, "r1")
	takeOne(t, a, "r1")
	must(t, a.JobStatus(ctx, j.ID, build.JobRunning, "r1"))
	p.waitJob(t, j.ID, build.JobRunning, 5*time.Second)
	jl := dir.Job(j.ID, nil)
	w, err := jl.Setup()
	must(t, err)
	w.Printf("booting")

	// The runner refuses a private job's log without the master's token.
	if code := get(t, runnerSrv.URL+"/logs/"+itoa(j.ID)+"/log", nil).StatusCode; code != http.StatusNotFound {
		t.Fatalf("direct read of a private log: %d, want 404", code)
	}
	allowed := true
	proxy, err := dispatch.NewLogProxy(dispatch.LogProxyOptions{
		Jobs: p.st, Allow: func(*http.Request, int64) bool { return allowed },
		LogKey: wire.LogKey(networkKey), Local: p.logs, Private: p.rdb,
	})
	must(t, err)
	// The log address arrives as an event after the running status.
	for i := 0; proxy.LogBase(ctx, j.ID, "r1") != runnerSrv.URL+"/logs/"; i++ {
		if i > 200 {
			t.Fatal("the runner's log address never reached the master")
		}
		time.Sleep(10 * time.Millisecond)
	}
	master := httptest.NewServer(proxy)
	defer master.Close()
	url := master.URL + "/logs/" + itoa(j.ID) + "/log"
	if body := read(t, get(t, url, nil)); body != "booting\n" {
		t.Fatalf("proxied log = %q", body)
	}
	resp := get(t, url, http.Header{"Range": {"bytes=-4"}})
	if resp.StatusCode != http.StatusPartialContent || read(t, resp) != "ing\n" {
		t.Fatalf("range: %d", resp.StatusCode)
	}
	allowed = false
	if code := get(t, url, nil).StatusCode; code != http.StatusNotFound {
		t.Fatalf("refused by the master: %d, want 404", code)
	}
	allowed = true

	// Live follow through the proxy.
	resp = get(t, url+"?follow=1", nil)
	br := bufio.NewReader(resp.Body)
	line, _ := br.ReadString('\n')
	if line != "booting\n" {
		t.Fatalf("first followed line %q", line)
	}
	start := time.Now()
	w.Printf("step two")
	line, _ = br.ReadString('\n')
	if line != "step two\n" {
		t.Fatalf("followed line %q", line)
	}
	t.Logf("live line through the proxy after %v", time.Since(start))
	w.Close()
	jl.Close()
	rest, _ := io.ReadAll(br)
	resp.Body.Close()
	if len(rest) != 0 {
		t.Fatalf("trailing %q", rest)
	}

	// The runner is gone: the master's own copy is served.
	runnerSrv.Close()
	mw, _ := p.logs.Job(j.ID, nil).Setup()
	mw.Printf("master line")
	mw.Close()
	if body := read(t, get(t, url, nil)); !strings.Contains(body, "master line") {
		t.Fatalf("fallback body %q", body)
	}
}

func get(t *testing.T, url string, h http.Header) *http.Response {
	t.Helper()
	req, _ := http.NewRequestWithContext(t.Context(), "GET", url, nil)
	for k, v := range h {
		req.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(req)
	must(t, err)
	return resp
}

func read(t *testing.T, resp *http.Response) string {
	t.Helper()
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	must(t, err)
	return string(b)
}

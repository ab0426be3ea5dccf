package logs_test

import (
	"bufio"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"builds/internal/logs"
)

// serve starts an HTTP server for d that refuses job 666.
func serve(t *testing.T, d *logs.Dir) *httptest.Server {
	t.Helper()
	allow := func(r *http.Request, jobID int64) bool { return jobID != 666 }
	mux := http.NewServeMux()
	mux.Handle("/logs/", logs.NewHandler(d, allow))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

func get(t *testing.T, url string, header map[string]string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(b)
}

func writeLog(t *testing.T, d *logs.Dir, job int64, task, text string, closeIt bool) *logs.Writer {
	t.Helper()
	j := d.Job(job, nil)
	open := j.Setup
	if task != "" {
		open = func() (*logs.Writer, error) { return j.Task(task) }
	}
	w, err := open()
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte(text))
	if closeIt {
		w.Close()
	}
	return w
}

func TestHandlerRange(t *testing.T) {
	d := openDir(t)
	writeLog(t, d, 5, "", "0123456789", true)
	writeLog(t, d, 5, "build", "task output", false)
	srv := serve(t, d)
	tests := []struct {
		path, rng string
		status    int
		body      string
		complete  string
	}{
		{"/logs/5/log", "", 200, "0123456789", "true"},
		{"/logs/5/log", "bytes=2-4", 206, "234", "true"},
		{"/logs/5/log", "bytes=-3", 206, "789", "true"},
		{"/logs/5/build/log", "bytes=5-", 206, "output", "false"},
	}
	for _, tt := range tests {
		resp, body := get(t, srv.URL+tt.path, map[string]string{"Range": tt.rng})
		if resp.StatusCode != tt.status || body != tt.body {
			t.Errorf("%s %s: %d %q, want %d %q", tt.path, tt.rng, resp.StatusCode, body, tt.status, tt.body)
		}
		if got := resp.Header.Get("X-Log-Complete"); got != tt.complete {
			t.Errorf("%s: X-Log-Complete %q, want %q", tt.path, got, tt.complete)
		}
	}
}

func TestHandlerRefuses(t *testing.T) {
	d := openDir(t)
	writeLog(t, d, 5, "", "x", true)
	writeLog(t, d, 666, "", "private", true)
	srv := serve(t, d)
	for _, p := range []string{
		"/logs/666/log", "/logs/666/log?follow=1", "/logs/05/log", "/logs/-5/log", "/logs/+5/log",
		"/logs/x/log", "/logs/5/Build/log", "/logs/5/../log", "/logs/5/%2e%2e/log",
		"/logs/5/a/b/log", "/logs/5/log/log", "/logs/5", "/logs/5/", "/logs/5/nope/log",
		"/logs/99999999999999999999/log",
	} {
		resp, body := get(t, srv.URL+p, nil)
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s: %d %q, want 404", p, resp.StatusCode, body)
		}
	}
	// Straight to the handler, without the mux's path cleaning.
	h := logs.NewHandler(d, func(*http.Request, int64) bool { return true })
	for _, p := range []string{"/logs/5/../../etc/passwd", "/logs/../5/log", "/logs/5/./log", "/logs/5//log"} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "http://x"+p, nil))
		if rec.Code != http.StatusNotFound {
			t.Errorf("handler GET %s: %d, want 404", p, rec.Code)
		}
	}
}

func TestHandlerFollow(t *testing.T) {
	d := openDir(t)
	w := writeLog(t, d, 6, "test", "hello ", false)
	srv := serve(t, d)
	go func() {
		time.Sleep(50 * time.Millisecond)
		w.Write([]byte("world\n"))
		w.Close()
	}()
	resp, body := get(t, srv.URL+"/logs/6/test/log?follow=1&offset=2", nil)
	if resp.StatusCode != 200 || body != "llo world\n" {
		t.Fatalf("follow: %d %q", resp.StatusCode, body)
	}
	resp, _ = get(t, srv.URL+"/logs/6/test/log?follow=1&offset=-1", nil)
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("negative offset: %d, want 400", resp.StatusCode)
	}
}

type event struct{ id, name, data string }

func readEvents(t *testing.T, r io.Reader) []event {
	t.Helper()
	var evs []event
	var ev event
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "":
			evs = append(evs, ev)
			ev = event{}
		case strings.HasPrefix(line, "id: "):
			ev.id = line[4:]
		case strings.HasPrefix(line, "event: "):
			ev.name = line[7:]
		case strings.HasPrefix(line, "data: "):
			ev.data = line[6:]
		}
	}
	return evs
}

func TestHandlerEventStream(t *testing.T) {
	d := openDir(t)
	// "é" is split across two writes; the events must carry whole characters.
	w := writeLog(t, d, 7, "", "ab\r\x1b[31m\xc3", false)
	srv := serve(t, d)
	go func() {
		time.Sleep(50 * time.Millisecond)
		w.Write([]byte("\xa9\n"))
		w.Close()
	}()
	resp, body := get(t, srv.URL+"/logs/7/log", map[string]string{
		"Accept": "text/event-stream", "Last-Event-ID": "1"})
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("Content-Type %q", ct)
	}
	evs := readEvents(t, strings.NewReader(body))
	var text strings.Builder
	for _, ev := range evs[:len(evs)-1] {
		var s string
		if err := json.Unmarshal([]byte(ev.data), &s); err != nil {
			t.Fatalf("event data %q: %v", ev.data, err)
		}
		text.WriteString(s)
	}
	if text.String() != "b\r\x1b[31mé\n" {
		t.Errorf("streamed %q", text.String())
	}
	last := evs[len(evs)-1]
	if last.name != "end" || last.id != "11" {
		t.Errorf("last event %+v, want end at 11", last)
	}
}

func TestHandlerConcurrentFollowers(t *testing.T) {
	d := openDir(t)
	w := writeLog(t, d, 8, "", "", false)
	srv := serve(t, d)
	var wg sync.WaitGroup
	bodies := make([]string, 5)
	for i := range bodies {
		wg.Go(func() { _, bodies[i] = get(t, srv.URL+"/logs/8/log?follow=1", nil) })
	}
	var want strings.Builder
	for i := range 100 {
		line := strings.Repeat("=", i) + "\n"
		want.WriteString(line)
		w.Write([]byte(line))
	}
	w.Close()
	wg.Wait()
	for i, b := range bodies {
		if b != want.String() {
			t.Errorf("follower %d got %d bytes, want %d", i, len(b), want.Len())
		}
	}
}

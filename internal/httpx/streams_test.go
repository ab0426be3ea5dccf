package httpx_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"builds/internal/httpx"
)

func request(addr string) *http.Request {
	r := httptest.NewRequest("GET", "/logs/1/log?follow=1", nil)
	r.RemoteAddr = addr
	return r
}

func TestStreamsCapEachAddress(t *testing.T) {
	s := &httpx.Streams{Max: 2}
	var releases []func()
	for range 2 {
		release, ok := s.Acquire(httptest.NewRecorder(), request("127.0.0.1:1000"))
		if !ok {
			t.Fatal("a stream under the cap was refused")
		}
		releases = append(releases, release)
	}
	rec := httptest.NewRecorder()
	if _, ok := s.Acquire(rec, request("127.0.0.1:2000")); ok {
		t.Fatal("a third stream from one address was accepted")
	}
	if rec.Code != http.StatusTooManyRequests || !strings.Contains(rec.Body.String(), "at most 2") {
		t.Fatalf("refusal: %d %q; want 429 that names the cap", rec.Code, rec.Body)
	}
	if _, ok := s.Acquire(httptest.NewRecorder(), request("127.0.0.2:1000")); !ok {
		t.Fatal("another address was refused")
	}
	releases[0]()
	releases[0]() // twice is harmless
	if n := s.Open("127.0.0.1"); n != 1 {
		t.Fatalf("%d streams open after one release, want 1", n)
	}
	if _, ok := s.Acquire(httptest.NewRecorder(), request("127.0.0.1:3000")); !ok {
		t.Fatal("a stream was refused after another ended")
	}
}

func TestStreamsZeroCapsNothing(t *testing.T) {
	var s *httpx.Streams
	for range 100 {
		if _, ok := s.Acquire(httptest.NewRecorder(), request("127.0.0.1:1")); !ok {
			t.Fatal("a nil Streams refused a stream")
		}
	}
}

func TestLimitCountsOnlyStreams(t *testing.T) {
	s := &httpx.Streams{Max: 1}
	block := make(chan struct{})
	entered := make(chan struct{})
	h := s.Limit(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("follow") != "" {
			entered <- struct{}{}
			<-block
		}
	}), func(r *http.Request) bool { return r.URL.Query().Get("follow") != "" })
	go h.ServeHTTP(httptest.NewRecorder(), request("127.0.0.1:1"))
	<-entered
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, request("127.0.0.1:2"))
	if rec.Code != http.StatusTooManyRequests {
		t.Fatalf("second stream: %d, want 429", rec.Code)
	}
	plain := httptest.NewRequest("GET", "/logs/1/log", nil)
	plain.RemoteAddr = "127.0.0.1:3"
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, plain)
	if rec.Code != http.StatusOK {
		t.Fatalf("a plain read was refused: %d", rec.Code)
	}
	close(block)
}

package httpx

import (
	"fmt"
	"net"
	"net/http"
	"sync"
)

// Streams caps the live streams (log follows, job page event streams,
// status streams) each client address holds at once, so that one client
// cannot tie up the server with followers. A nil or zero Streams caps
// nothing; it is safe for concurrent use.
type Streams struct {
	Max int // per client address; <= 0 means no cap

	mu   sync.Mutex
	open map[string]int
}

// Acquire counts one more stream for r's client. When the client is at
// its cap it writes a 429 response that says so and returns ok false;
// otherwise the caller must call release when the stream ends.
func (s *Streams) Acquire(w http.ResponseWriter, r *http.Request) (release func(), ok bool) {
	if s == nil || s.Max <= 0 {
		return func() {}, true
	}
	limit := s.Max
	addr := clientAddr(r)
	s.mu.Lock()
	if s.open == nil {
		s.open = map[string]int{}
	}
	if s.open[addr] >= limit {
		s.mu.Unlock()
		w.Header().Set("Retry-After", "10")
		http.Error(w, fmt.Sprintf("too many live streams from your address: at most %d at once; close a job page or a 'builds submit --follow' and try again", limit),
			http.StatusTooManyRequests)
		return nil, false
	}
	s.open[addr]++
	s.mu.Unlock()
	var once sync.Once
	return func() { once.Do(func() { s.release(addr) }) }, true
}

func (s *Streams) release(addr string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.open[addr] <= 1 {
		delete(s.open, addr)
		return
	}
	s.open[addr]--
}

// Open returns how many streams addr's client holds.
func (s *Streams) Open(addr string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.open[addr]
}

// Limit wraps h so that the requests isStream picks count against the cap.
func (s *Streams) Limit(h http.Handler, isStream func(r *http.Request) bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !isStream(r) {
			h.ServeHTTP(w, r)
			return
		}
		release, ok := s.Acquire(w, r)
		if !ok {
			return
		}
		defer release()
		h.ServeHTTP(w, r)
	})
}

// clientAddr is the host part of the request's remote address: the
// address the connection came from. Forwarding headers are ignored, since
// a client sets them as it likes.
func clientAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

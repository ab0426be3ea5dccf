package web

import (
	"net"
	"net/http"
	"sync"
	"time"
)

// Sign-in throttling: after accountFailures wrong passwords for one account,
// or addressFailures from one address, within throttleWindow, further
// attempts are refused (429) until the oldest failure leaves the window.
// The address limit is higher because many people may share an address (a
// company's NAT, a reverse proxy in front of the service).
const (
	accountFailures = 5
	addressFailures = 20
	throttleWindow  = 15 * time.Minute
	// throttleKeys bounds the memory an attacker can make the limiter use
	// by trying many names or addresses; expired entries are dropped first.
	throttleKeys = 100_000
)

// throttle counts recent sign-in failures per key. It is kept in memory:
// with several masters each counts its own, so the limits multiply by
// their number. It is safe for concurrent use.
type throttle struct {
	mu       sync.Mutex
	failures map[string][]time.Time // oldest first, at most the limit
	now      func() time.Time
}

func newThrottle() *throttle {
	return &throttle{failures: map[string][]time.Time{}, now: time.Now}
}

// wait returns how long key must wait before another attempt, or 0.
func (t *throttle) wait(key string, limit int) time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	f := t.failures[key]
	if len(f) < limit {
		return 0
	}
	return max(f[0].Add(throttleWindow).Sub(t.now()), 0)
}

// fail records a failure for key, keeping the last limit of them.
func (t *throttle) fail(key string, limit int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	if len(t.failures) >= throttleKeys {
		t.prune(now)
	}
	f := append(t.failures[key], now)
	for len(f) > 0 && (len(f) > limit || now.Sub(f[0]) >= throttleWindow) {
		f = f[1:]
	}
	t.failures[key] = f
}

// reset forgets key's failures (a successful sign-in to that account).
func (t *throttle) reset(key string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.failures, key)
}

// prune drops keys whose last failure left the window; if that is not
// enough, it starts over, which is what happens anyway after the window.
func (t *throttle) prune(now time.Time) {
	for k, f := range t.failures {
		if now.Sub(f[len(f)-1]) >= throttleWindow {
			delete(t.failures, k)
		}
	}
	if len(t.failures) >= throttleKeys {
		clear(t.failures)
	}
}

// clientAddress is the key for the per-address limit: the peer's IP, or
// its /64 for IPv6, since one host usually holds a whole /64.
func clientAddress(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	ip := net.ParseIP(host)
	if ip == nil {
		return "addr:" + host
	}
	if ip.To4() == nil {
		ip = ip.Mask(net.CIDRMask(64, 128))
	}
	return "addr:" + ip.String()
}

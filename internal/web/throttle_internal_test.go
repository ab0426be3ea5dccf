package web

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// Failures age out of the window one by one, and a success resets only
// the account.
func TestThrottleWindow(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	th := newThrottle()
	th.now = func() time.Time { return now }
	for i := range 5 {
		if w := th.wait("user:a", 5); w != 0 {
			t.Fatalf("before failure %d: wait %v", i+1, w)
		}
		th.fail("user:a", 5)
		now = now.Add(time.Minute)
	}
	if w := th.wait("user:a", 5); w != 10*time.Minute {
		t.Errorf("after 5 failures over 5 minutes: wait %v, want 10m (until the first leaves the window)", w)
	}
	now = now.Add(10 * time.Minute)
	if w := th.wait("user:a", 5); w != 0 {
		t.Errorf("once the first failure left the window: wait %v", w)
	}
	th.fail("user:a", 5)
	if w := th.wait("user:a", 5); w == 0 {
		t.Error("a new failure while four are recent did not lock again")
	}
	th.reset("user:a")
	if w := th.wait("user:a", 5); w != 0 {
		t.Errorf("after reset: wait %v", w)
	}
}

func TestClientAddress(t *testing.T) {
	for in, want := range map[string]string{
		"192.0.2.7:5555":            "addr:192.0.2.7",
		"[2001:db8::1]:443":         "addr:2001:db8::",
		"[2001:db8::ffff:1234]:443": "addr:2001:db8::",
		"[2001:db8:0:1::1]:443":     "addr:2001:db8:0:1::",
	} {
		r := &http.Request{RemoteAddr: in}
		if got := clientAddress(r); got != want {
			t.Errorf("clientAddress(%q) = %q, want %q", in, got, want)
		}
	}
}

// Whatever return parameter comes in, the redirect stays on this site.
func FuzzLocalReturn(f *testing.F) {
	for _, s := range []string{"/", "/\t/evil.example", "//evil", "/\\evil", "https://evil", "/job/1?x=y", "/%2F/x", "/\u3000/x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		out := localReturn(in)
		if out != "/" && out != in {
			t.Fatalf("localReturn(%q) = %q: neither the input nor /", in, out)
		}
		u, err := url.Parse(out)
		if err != nil || u.Host != "" || u.Scheme != "" || !strings.HasPrefix(out, "/") || strings.HasPrefix(out, "//") {
			t.Fatalf("localReturn(%q) = %q leaves the site", in, out)
		}
		for _, c := range []byte(out) {
			if c <= ' ' || c >= 0x7f || c == '\\' {
				t.Fatalf("localReturn(%q) = %q keeps byte %q", in, out, c)
			}
		}
	})
}

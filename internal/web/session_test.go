package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"builds/internal/web"
)

// cookieOf returns c's session cookie, to replay it from another client.
func (c *client) cookieOf() *http.Cookie {
	u, _ := url.Parse(c.e.srv.URL)
	for _, ck := range c.c.Jar.Cookies(u) {
		if ck.Name == "builds_session" {
			return ck
		}
	}
	c.e.t.Fatal("no session cookie")
	return nil
}

// signedOut reports whether a page that needs a user sent the client to
// sign in.
func signedOut(res response) bool {
	return res.code == http.StatusSeeOther && strings.HasPrefix(res.hdr.Get("Location"), "/login")
}

// withCookie is an anonymous client that carries a copied cookie.
func (e *env) withCookie(ck *http.Cookie) *client {
	c := e.anon()
	u, _ := url.Parse(e.srv.URL)
	c.c.Jar.SetCookies(u, []*http.Cookie{ck})
	return c
}

func TestLogoutEndsTheSessionOnTheServer(t *testing.T) {
	e := newEnv(t)
	a := e.login("alice")
	stolen := a.cookieOf()
	if res := e.withCookie(stolen).get("/settings"); res.code != http.StatusOK {
		t.Fatalf("copied cookie before logout = %d, want 200", res.code)
	}
	if res := a.post("/settings", "/logout", url.Values{}); res.code != http.StatusSeeOther {
		t.Fatalf("logout = %d", res.code)
	}
	if res := e.withCookie(stolen).get("/settings"); !signedOut(res) {
		t.Errorf("cookie replayed after logout = %d, want the sign-in page", res.code)
	}
}

func TestPasswordChangeEndsOtherSessions(t *testing.T) {
	e := newEnv(t)
	laptop, phone := e.login("alice"), e.login("alice")
	bob := e.login("bob")
	wrong := laptop.post("/settings", "/settings/password", url.Values{"current": {"nope"}, "new": {"new password 1"}, "confirm": {"new password 1"}})
	if wrong.code != http.StatusBadRequest || !strings.Contains(wrong.body, "current password is wrong") {
		t.Fatalf("wrong current password = %d", wrong.code)
	}
	res := laptop.post("/settings", "/settings/password", url.Values{"current": {password}, "new": {"new password 1"}, "confirm": {"new password 1"}})
	if res.code != http.StatusOK || !strings.Contains(res.body, "Password changed") {
		t.Fatalf("change password = %d\n%s", res.code, res.body)
	}
	if res := laptop.get("/settings"); res.code != http.StatusOK {
		t.Errorf("the browser that changed the password was signed out: %d", res.code)
	}
	if res := phone.get("/settings"); !signedOut(res) {
		t.Errorf("other session after password change = %d, want the sign-in page", res.code)
	}
	if res := bob.get("/settings"); res.code != http.StatusOK {
		t.Errorf("another user's session ended: %d", res.code)
	}
	// A password set from the command line (straight into the store) ends
	// sessions too.
	h, _ := web.HashPassword("third password")
	if err := e.db.SetPassword(context.Background(), e.users["alice"].ID, h); err != nil {
		t.Fatal(err)
	}
	if res := laptop.get("/settings"); !signedOut(res) {
		t.Errorf("session after a password reset = %d, want the sign-in page", res.code)
	}
}

func TestSignOutEverywhereAndByAdmin(t *testing.T) {
	e := newEnv(t)
	a1, a2 := e.login("alice"), e.login("alice")
	if res := a1.post("/settings", "/settings/sessions/end", url.Values{}); res.code != http.StatusSeeOther {
		t.Fatalf("sign out everywhere = %d", res.code)
	}
	for i, c := range []*client{a1, a2} {
		if res := c.get("/settings"); !signedOut(res) {
			t.Errorf("session %d after sign out everywhere = %d, want 401", i, res.code)
		}
	}

	b := e.login("bob")
	if res := e.login("alice").post("/settings", "/admin/sessions/end", url.Values{"user": {"bob"}}); res.code != http.StatusNotFound {
		t.Errorf("non-admin ending sessions = %d, want 404", res.code)
	}
	if res := b.get("/settings"); res.code != http.StatusOK {
		t.Fatalf("bob signed out by a non-admin: %d", res.code)
	}
	res := e.login("root").post("/admin", "/admin/sessions/end", url.Values{"user": {"~bob"}})
	if res.code != http.StatusOK || !strings.Contains(res.body, "Ended 1 session(s) of ~bob") {
		t.Fatalf("admin ending sessions = %d\n%s", res.code, res.body)
	}
	if res := b.get("/settings"); !signedOut(res) {
		t.Errorf("bob's session after the admin ended it = %d, want the sign-in page", res.code)
	}
	if res := e.login("root").post("/admin", "/admin/sessions/end", url.Values{"user": {"nobody"}}); res.code != http.StatusNotFound || !strings.Contains(res.body, "no user ~nobody") {
		t.Errorf("unknown user = %d", res.code)
	}
}

// A login link works once, even when the service restarted in between.
func TestLoginLinkSingleUseAcrossRestarts(t *testing.T) {
	e := newEnv(t)
	link, err := web.LoginLink(testKey, e.srv.URL, e.users["alice"], 10*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	path := strings.TrimPrefix(link, e.srv.URL)
	tok, _ := url.ParseQuery(path[strings.Index(path, "?")+1:])
	c := e.anon()
	if res := c.post(path, "/login/link", url.Values{"t": {tok.Get("t")}}); res.code != http.StatusSeeOther {
		t.Fatalf("first use = %d", res.code)
	}
	if res := c.get("/settings"); res.code != http.StatusOK {
		t.Fatalf("not signed in by the link: %d", res.code)
	}
	// A new server process over the same database.
	h, err := web.New(web.Options{Store: e.db, Submit: e.submit, Logs: e.logs, Origin: "http://builds.test", Key: testKey})
	if err != nil {
		t.Fatal(err)
	}
	e.srv.Config.Handler = h
	again := e.anon()
	res := again.post(path, "/login/link", url.Values{"t": {tok.Get("t")}})
	if res.code == http.StatusSeeOther || !strings.Contains(res.body, "already used") {
		t.Errorf("second use after a restart = %d, want refused", res.code)
	}
	if res := again.get("/settings"); !signedOut(res) {
		t.Errorf("second use signed in: %d", res.code)
	}
}

func TestLoginThrottling(t *testing.T) {
	e := newEnv(t)
	c := e.anon()
	try := func(user, pw string) response {
		return c.post("/login", "/login", url.Values{"username": {user}, "password": {pw}})
	}
	for i := range 5 {
		if res := try("alice", "wrong"); res.code != http.StatusUnauthorized {
			t.Fatalf("failure %d = %d, want 401", i+1, res.code)
		}
	}
	// Even the right password is refused now, with when to try again.
	res := try("alice", password)
	if res.code != http.StatusTooManyRequests {
		t.Fatalf("6th attempt = %d, want 429", res.code)
	}
	mustContain(t, res.body, "Too many failed sign-ins", "Try again in 15 minutes")
	if s, _ := strconv.Atoi(res.hdr.Get("Retry-After")); s < 14*60 || s > 15*60 {
		t.Errorf("Retry-After = %q, want about 900", res.hdr.Get("Retry-After"))
	}
	// Another account from the same address still works...
	if res := try("bob", password); res.code != http.StatusSeeOther {
		t.Fatalf("bob after alice's lockout = %d, want 303", res.code)
	}
	// ...until the address itself has failed too often, whatever the names.
	for i := range 15 {
		try("nobody"+strconv.Itoa(i), "wrong")
	}
	if res := e.anon().post("/login", "/login", url.Values{"username": {"root"}, "password": {password}}); res.code != http.StatusTooManyRequests {
		t.Errorf("after 20 failures from one address = %d, want 429", res.code)
	}
}

func TestLoginReturnStaysOnSite(t *testing.T) {
	e := newEnv(t)
	tests := []struct{ raw, want string }{
		{"%2F%09%2Fevil.example", "/"},
		{"%2F%2Fevil.example", "/"},
		{"%2F%5Cevil.example", "/"},
		{"%2F%5C%2Fevil.example", "/"},
		{"https%3A%2F%2Fevil.example", "/"},
		{"javascript%3Aalert(1)", "/"},
		{"%2F%0A%2Fevil.example", "/"},
		{"%2F%0D%2Fevil.example", "/"},
		{"%20%2F%2Fevil.example", "/"},
		{"%2F%E3%80%80%2Fevil.example", "/"},
		{"evil.example", "/"},
		{"%2F~alice%2Fjob%2F3%3Fx%3D1", "/~alice/job/3?x=1"},
		{"%2Fsettings", "/settings"},
	}
	for _, tt := range tests {
		t.Run(tt.raw, func(t *testing.T) {
			c := e.anon()
			form := c.get("/login?return=" + tt.raw)
			if !strings.Contains(form.body, `name="return" value="`+strings.ReplaceAll(tt.want, "=", "&#61;")+`"`) &&
				!strings.Contains(form.body, `name="return" value="`+tt.want+`"`) {
				t.Errorf("login form keeps an unsafe return for %s", tt.raw)
			}
			ret, _ := url.QueryUnescape(tt.raw)
			res := c.post("/login", "/login", url.Values{"username": {"alice"}, "password": {password}, "return": {ret}})
			if loc := res.hdr.Get("Location"); res.code != http.StatusSeeOther || loc != tt.want {
				t.Errorf("return %q: %d to %q, want %q", ret, res.code, loc, tt.want)
			}
		})
	}
}

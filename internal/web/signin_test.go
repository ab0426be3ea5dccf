package web_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestSignInReturnsToThePageAsked follows an anonymous visitor sent to the
// login form from a signed-in page: after signing in they land back on it.
// A return address off the site is replaced by "/".
func TestSignInReturnsToThePageAsked(t *testing.T) {
	e := newEnv(t)
	c := e.anon()
	res := c.get("/settings")
	loc := res.hdr.Get("Location")
	if res.code != http.StatusSeeOther || loc != "/login?return="+url.QueryEscape("/settings") {
		t.Fatalf("anonymous /settings = %d to %q, want a redirect to the login form", res.code, loc)
	}
	form := c.get(loc)
	mustContain(t, form.body, `name="return" value="/settings"`)
	res = c.post(loc, "/login", url.Values{"username": {"alice"}, "password": {password}, "return": {"/settings"}})
	if res.code != http.StatusSeeOther || res.hdr.Get("Location") != "/settings" {
		t.Fatalf("login with return=/settings = %d to %q", res.code, res.hdr.Get("Location"))
	}
	if res := c.get("/settings"); res.code != http.StatusOK {
		t.Fatalf("/settings after signing in = %d", res.code)
	}

	for _, bad := range []string{"//evil.example/x", "https://evil.example/", `/\evil.example`, "javascript:alert(1)", "evil"} {
		c := e.anon()
		form := c.get("/login?return=" + url.QueryEscape(bad))
		if !strings.Contains(form.body, `name="return" value="/"`) {
			t.Errorf("login form with return=%q does not fall back to /", bad)
		}
		res := c.post("/login", "/login", url.Values{"username": {"alice"}, "password": {password}, "return": {bad}})
		if res.code != http.StatusSeeOther || res.hdr.Get("Location") != "/" {
			t.Errorf("login with return=%q = %d to %q, want /", bad, res.code, res.hdr.Get("Location"))
		}
	}
}

// TestTamperedSessionCookieSignsNobodyIn changes the user ID in alice's
// session cookie to bob's: the server must treat the visitor as anonymous.
func TestTamperedSessionCookieSignsNobodyIn(t *testing.T) {
	e := newEnv(t)
	c := e.login("alice")
	u, _ := url.Parse(e.srv.URL)
	var cookie *http.Cookie
	for _, ck := range c.c.Jar.Cookies(u) {
		if ck.Name == "builds_session" {
			cookie = ck
		}
	}
	if cookie == nil {
		t.Fatal("no session cookie after signing in")
	}
	alice, bob := formatInt(e.users["alice"].ID), formatInt(e.users["bob"].ID)
	if !strings.HasPrefix(cookie.Value, alice+":") {
		t.Fatalf("session cookie %q does not start with alice's ID", cookie.Value)
	}
	if res := c.get("/settings"); res.code != http.StatusOK || !strings.Contains(res.body, "alice") {
		t.Fatalf("alice's own cookie: %d", res.code)
	}
	forged := *cookie
	forged.Value = bob + strings.TrimPrefix(cookie.Value, alice)
	c.c.Jar.SetCookies(u, []*http.Cookie{&forged})
	res := c.get("/settings")
	if res.code != http.StatusSeeOther || !strings.HasPrefix(res.hdr.Get("Location"), "/login") {
		t.Errorf("forged cookie for bob: /settings = %d to %q, want the login form", res.code, res.hdr.Get("Location"))
	}
	if strings.Contains(res.body, "bob@example.org") {
		t.Error("the forged cookie showed bob's settings")
	}
}

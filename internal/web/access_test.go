package web_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"builds/internal/build"
)

func TestPrivateJobIsNotFoundForOthers(t *testing.T) {
	e := newEnv(t)
	j := e.job("alice", build.Private, "secretproj")
	page := fmt.Sprintf("/~alice/job/%d", j.ID)
	for _, p := range []string{page, page + "/status.json", page + "/log", page + "/build/log", page + "/manifest",
		page + "/events", fmt.Sprintf("/job/%d", j.ID)} {
		for name, c := range map[string]*client{"anonymous": e.anon(), "bob": e.login("bob")} {
			if res := c.get(p); res.code != http.StatusNotFound {
				t.Errorf("%s GET %s = %d, want 404", name, p, res.code)
			}
		}
	}
	if res := e.login("alice").get(page); res.code != 200 {
		t.Errorf("owner GET %s = %d", page, res.code)
	}
	for _, c := range []*client{e.anon(), e.login("bob")} {
		if body := c.get("/~alice").body; strings.Contains(body, "secretproj") {
			t.Error("a private job is listed for someone else")
		}
	}
}

func TestUnlistedJobVisibleByLinkOnly(t *testing.T) {
	e := newEnv(t)
	j := e.job("alice", build.Unlisted, "quiet")
	if res := e.anon().get(fmt.Sprintf("/~alice/job/%d", j.ID)); res.code != 200 {
		t.Errorf("unlisted job by link: %d", res.code)
	}
	if strings.Contains(e.anon().get("/~alice").body, "quiet") {
		t.Error("an unlisted job is listed for others")
	}
	if !strings.Contains(e.login("alice").get("/~alice").body, "quiet") {
		t.Error("the owner does not see her unlisted job in her list")
	}
}

func TestJobUnderWrongOwnerIsNotFound(t *testing.T) {
	e := newEnv(t)
	j := e.job("alice", build.Public)
	if res := e.anon().get(fmt.Sprintf("/~bob/job/%d", j.ID)); res.code != http.StatusNotFound {
		t.Errorf("job under the wrong owner: %d", res.code)
	}
	res := e.anon().get(fmt.Sprintf("/job/%d", j.ID))
	if res.code != http.StatusFound || res.hdr.Get("Location") != fmt.Sprintf("/~alice/job/%d", j.ID) {
		t.Errorf("/job/ID redirect: %d %s", res.code, res.hdr.Get("Location"))
	}
}

func TestCSRF(t *testing.T) {
	e := newEnv(t)
	j := e.job("alice", build.Public)
	a := e.login("alice")
	path := fmt.Sprintf("/cancel/%d", j.ID)
	if res := a.postRaw(path, url.Values{}); res.code != http.StatusForbidden {
		t.Errorf("POST without token = %d, want 403", res.code)
	}
	// A token from another session is worthless.
	b := e.login("bob")
	tok := csrfRE.FindStringSubmatch(b.get("/submit").body)[1]
	if res := a.postRaw(path, url.Values{"csrf": {htmlUnescape(tok)}}); res.code != http.StatusForbidden {
		t.Errorf("POST with another session's token = %d, want 403", res.code)
	}
	if got, _ := e.db.Job(context.Background(), j.ID); got.Status != build.JobQueued {
		t.Fatalf("job status %s after refused posts", got.Status)
	}
	if res := a.post(fmt.Sprintf("/~alice/job/%d", j.ID), path, url.Values{}); res.code != http.StatusSeeOther {
		t.Fatalf("cancel with token = %d\n%s", res.code, res.body)
	}
	if got, _ := e.db.Job(context.Background(), j.ID); got.Status != build.JobCancelled {
		t.Errorf("job status %s after cancel", got.Status)
	}
}

func TestOnlyOwnerCancels(t *testing.T) {
	e := newEnv(t)
	j := e.job("alice", build.Public)
	res := e.login("bob").post("/", fmt.Sprintf("/cancel/%d", j.ID), url.Values{})
	if res.code != http.StatusForbidden {
		t.Errorf("bob cancelling alice's job = %d, want 403", res.code)
	}
	if res := e.anon().post("/login", fmt.Sprintf("/cancel/%d", j.ID), url.Values{}); res.code != http.StatusUnauthorized {
		t.Errorf("anonymous cancel = %d, want 401", res.code)
	}
	if strings.Contains(e.login("bob").get(fmt.Sprintf("/~alice/job/%d", j.ID)).body, `id="cancel-form"`) {
		t.Error("the cancel button is shown to someone other than the owner")
	}
}

func TestSignedInPagesRedirectToLogin(t *testing.T) {
	e := newEnv(t)
	for _, p := range []string{"/submit", "/secrets", "/settings", "/resubmit/1"} {
		res := e.anon().get(p)
		if res.code != http.StatusSeeOther || !strings.HasPrefix(res.hdr.Get("Location"), "/login?return=") {
			t.Errorf("anonymous GET %s = %d %s, want a redirect to /login", p, res.code, res.hdr.Get("Location"))
		}
	}
}

func TestAdminOnlyForAdmins(t *testing.T) {
	e := newEnv(t)
	for _, c := range []*client{e.anon(), e.login("alice")} {
		if res := c.get("/admin"); res.code != http.StatusNotFound {
			t.Errorf("non-admin GET /admin = %d, want 404", res.code)
		}
	}
	res := e.login("root").get("/admin")
	if res.code != 200 {
		t.Fatalf("admin GET /admin = %d", res.code)
	}
	mustContain(t, res.body, "runner-1:8081", `id="queue-depth">3<`)
}

func TestLogout(t *testing.T) {
	e := newEnv(t)
	a := e.login("alice")
	if res := a.post("/", "/logout", url.Values{}); res.code != http.StatusSeeOther {
		t.Fatalf("logout = %d", res.code)
	}
	if body := a.get("/").body; strings.Contains(body, "log out ~alice") {
		t.Error("still signed in after logging out")
	}
}

func TestSessionCookieFlags(t *testing.T) {
	e := newEnv(t)
	req, _ := http.NewRequest("POST", e.srv.URL+"/login", nil)
	_ = req
	c := e.anon()
	page := c.get("/login")
	var found bool
	for _, line := range page.hdr.Values("Set-Cookie") {
		if strings.HasPrefix(line, "builds_session=") {
			found = true
			if !strings.Contains(line, "HttpOnly") || !strings.Contains(line, "SameSite=Lax") {
				t.Errorf("session cookie lacks flags: %s", line)
			}
		}
	}
	if !found {
		t.Error("the login page sets no session cookie for its CSRF token")
	}
}

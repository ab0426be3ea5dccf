package web_test

import (
	"net/http"
	"net/url"
	"testing"

	"builds/internal/build"
)

func TestLandingAndLogin(t *testing.T) {
	e := newEnv(t)
	c := e.anon()
	res := c.get("/")
	if res.code != 200 {
		t.Fatalf("GET / = %d", res.code)
	}
	mustContain(t, res.body, "Log in", "<main")
	bad := c.post("/login", "/login", url.Values{"username": {"alice"}, "password": {"wrong password"}})
	if bad.code != http.StatusUnauthorized {
		t.Errorf("wrong password: status %d, want 401", bad.code)
	}
	mustContain(t, bad.body, "Unknown user name or wrong password")
	a := e.login("alice")
	home := a.get("/")
	mustContain(t, home.body, "Your jobs", "log out ~alice")
}

func TestJobPageShowsLogAndTasks(t *testing.T) {
	e := newEnv(t)
	j := e.job("alice", build.Public, "proj", "main")
	w, err := e.logs.Job(j.ID, nil).Task("build")
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte("\x1b[32mok <script>\x1b[0m\nprogress 1\rprogress 2"))
	w.Close()
	res := e.anon().get("/~alice/job/" + itoa(j.ID))
	if res.code != 200 {
		t.Fatalf("status %d\n%s", res.code, res.body)
	}
	mustContain(t, res.body, `<span class="a-f2">ok &lt;script&gt;</span>`, `<span class="partial">progress 2</span>`,
		"debian/stable", "proj", "note of alice", `id="log-build"`, `id="log-test"`, "http-equiv=\"refresh\"")
}

func itoa(n int64) string { return formatInt(n) }

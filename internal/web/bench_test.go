package web_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"builds/internal/build"
)

// benchJobs is how many jobs the page benchmarks store first;
// BUILDS_BENCH_JOBS overrides it for quick runs.
func benchJobs() int {
	if n, err := strconv.Atoi(os.Getenv("BUILDS_BENCH_JOBS")); err == nil && n > 0 {
		return n
	}
	return 100_000
}

// fill stores n jobs for alice, with tags and mixed statuses, straight into
// the store (the submission service's checks are not what is measured).
func fill(b *testing.B, e *env, n int) *build.Job {
	b.Helper()
	ctx := context.Background()
	start := time.Now()
	var last *build.Job
	for i := range n {
		j := &build.Job{OwnerID: e.users["alice"].ID, Manifest: testManifest, Note: fmt.Sprintf("job %d", i),
			Tags: []string{"proj", []string{"main", "dev"}[i%2]}, Visibility: build.Public,
			Status: build.JobStatuses[3+i%4], Image: "debian/stable", Arch: "amd64",
			Tasks: []build.Task{{Name: "build", Status: build.TaskSuccess}, {Name: "test", Status: build.TaskSuccess}}}
		if err := e.db.CreateJob(ctx, j); err != nil {
			b.Fatal(err)
		}
		last = j
	}
	b.Logf("stored %d jobs in %v", n, time.Since(start).Round(time.Millisecond))
	return last
}

func benchGet(b *testing.B, c *client, path string) {
	b.Helper()
	b.ResetTimer()
	for b.Loop() {
		res := c.get(path)
		if res.code != http.StatusOK {
			b.Fatalf("GET %s = %d", path, res.code)
		}
	}
}

func BenchmarkPages(b *testing.B) {
	e := newEnv(b)
	last := fill(b, e, benchJobs())
	w, _ := e.logs.Job(last.ID, nil).Task("build")
	for i := range 2000 {
		fmt.Fprintf(w, "\x1b[32mline %d\x1b[0m of build output, with some text to make it realistic\n", i)
	}
	w.Close()
	alice := e.login("alice")
	anon := e.anon()
	b.Run("job", func(b *testing.B) { benchGet(b, anon, fmt.Sprintf("/~alice/job/%d", last.ID)) })
	b.Run("job-old", func(b *testing.B) { benchGet(b, anon, "/~alice/job/17") })
	b.Run("list-owner", func(b *testing.B) { benchGet(b, alice, "/~alice") })
	b.Run("list-public", func(b *testing.B) { benchGet(b, anon, "/~alice") })
	b.Run("list-tag", func(b *testing.B) { benchGet(b, anon, "/~alice/proj/dev") })
	b.Run("list-status", func(b *testing.B) { benchGet(b, anon, "/~alice?status=timeout") })
	b.Run("list-deep-page", func(b *testing.B) { benchGet(b, anon, "/~alice?before=50") })
	b.Run("dashboard", func(b *testing.B) { benchGet(b, alice, "/") })
	b.Run("badge", func(b *testing.B) { benchGet(b, anon, "/~alice/proj.svg") })
}

// BenchmarkLogLineToBrowser measures how long a line written to a job's
// log takes to appear on the job page open in Chromium. The figure
// includes the DevTools round trip that starts each wait, so the real
// latency is a little lower.
func BenchmarkLogLineToBrowser(b *testing.B) {
	e := newEnv(b)
	ctx := browser(b)
	j := e.job("alice", build.Public)
	e.db.SetJobStatus(context.Background(), j.ID, build.JobRunning, "r1")
	w, _ := e.logs.Job(j.ID, nil).Task("build")
	defer w.Close()
	run(b, ctx, chromedp.Navigate(fmt.Sprintf("%s/~alice/job/%d", e.srv.URL, j.ID)), waitText("#job-status", "running"))
	var total time.Duration
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		marker := fmt.Sprintf("marker-%d-end", i)
		js := fmt.Sprintf(`document.querySelector("#log-build pre").textContent.includes(%q)`, marker)
		start := time.Now()
		fmt.Fprintf(w, "%s\n", marker)
		if _, err := chromedp.Run(ctx, chromedp.Poll[chromedp.Void](js, chromedp.WithPollingMutation(), chromedp.WithPollingTimeout(5*time.Second))); err != nil {
			b.Fatal(err)
		}
		total += time.Since(start)
	}
	b.ReportMetric(float64(total.Microseconds())/float64(b.N)/1000, "ms/line")
}

package logs_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"builds/internal/logs"
	"builds/internal/untrusted"
)

func TestJobLogsLimitIsSharedByEveryLog(t *testing.T) {
	d, err := logs.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	j := d.Job(1, nil)
	exceeded := 0
	j.Limit(100, func() { exceeded++ })
	setup, _ := j.Setup()
	task, _ := j.Task("build")
	setup.Write([]byte(strings.Repeat("s", 60)))
	if n, err := task.Write([]byte(strings.Repeat("t", 60))); n != 60 || err != nil {
		t.Errorf("write past the limit = %d, %v; want the bytes reported written", n, err)
	}
	task.Write([]byte("more"))
	setup.Printf("the runner's own line")
	setup.Close()
	task.Close()
	read := func(p string) string {
		b, _ := os.ReadFile(filepath.Join(d.Root(), "1", p))
		return string(b)
	}
	notice := "This job's logs reached their limit of 100 B; further output is discarded and the job fails."
	if got := read("build/log"); got != strings.Repeat("t", 40)+logs.LimitNotice(100) || !strings.Contains(got, notice) {
		t.Errorf("task log = %q", got)
	}
	if got := read("log"); got != strings.Repeat("s", 60)+"the runner's own line\n" {
		t.Errorf("setup log = %q", got)
	}
	if exceeded != 1 {
		t.Errorf("onExceed called %d times, want once", exceeded)
	}
}

func TestLogsAreServedAsUntrustedText(t *testing.T) {
	d, err := logs.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	writeLog(t, d, 1, "", "<script>alert(1)</script>", true)
	srv := serve(t, d)
	for _, h := range []map[string]string{nil, {"Accept": "text/event-stream"}} {
		resp, _ := get(t, srv.URL+"/logs/1/log", h)
		for k, want := range map[string]string{
			"X-Content-Type-Options":  "nosniff",
			"Content-Security-Policy": untrusted.CSP,
		} {
			if got := resp.Header.Get(k); got != want {
				t.Errorf("%v: %s = %q, want %q", h, k, got, want)
			}
		}
		if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") && !strings.HasPrefix(ct, "text/event-stream") {
			t.Errorf("%v: Content-Type %q", h, ct)
		}
	}
}

func TestFormatBytes(t *testing.T) {
	for n, want := range map[int64]string{0: "0 B", 1000: "1000 B", 1024: "1 KiB", 1536: "1.5 KiB", 64 << 20: "64 MiB", 1 << 30: "1 GiB"} {
		if got := logs.FormatBytes(n); got != want {
			t.Errorf("FormatBytes(%d) = %q, want %q", n, got, want)
		}
	}
}

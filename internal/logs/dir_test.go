package logs_test

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"builds/internal/build"
	"builds/internal/logs"
)

func openDir(t *testing.T) *logs.Dir {
	t.Helper()
	d, err := logs.Open(filepath.Join(t.TempDir(), "logs"))
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestWritersLayoutAndRedaction(t *testing.T) {
	d := openDir(t)
	job := d.Job(42, [][]byte{[]byte("t0ps3cret")})
	setup, err := job.Setup()
	if err != nil {
		t.Fatal(err)
	}
	setup.Printf("[#%d] Booting image %s...", 42, "debian/bookworm")
	task, err := job.Task("build")
	if err != nil {
		t.Fatal(err)
	}
	task.Write([]byte("\x1b[1mtoken=t0ps"))
	task.Write([]byte("3cret\x1b[0m\r\n"))
	for _, w := range []interface{ Close() error }{setup, task} {
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
	}
	if got, want := readFile(t, filepath.Join(d.Root(), "42", "log")), "[#42] Booting image debian/bookworm...\n"; got != want {
		t.Errorf("setup log %q, want %q", got, want)
	}
	if got, want := readFile(t, filepath.Join(d.Root(), "42", "build", "log")), "\x1b[1mtoken=[redacted]\x1b[0m\r\n"; got != want {
		t.Errorf("task log %q, want %q", got, want)
	}
	if _, err := task.Write([]byte("late")); err == nil {
		t.Error("Write after Close succeeded")
	}
}

func TestPathRefusesBadNames(t *testing.T) {
	d := openDir(t)
	for _, task := range []string{"..", "../x", "a/b", "Build", "a.b", strings.Repeat("a", 129), "a\x00"} {
		if _, err := d.Path(1, task); build.ErrorCode(err) != build.EINVALID {
			t.Errorf("Path(1, %q): err %v, want EINVALID", task, err)
		}
		if _, err := d.Job(1, nil).Task(task); err == nil {
			t.Errorf("Task(%q) succeeded", task)
		}
	}
	if _, err := d.Path(0, ""); err == nil {
		t.Error("Path(0) succeeded")
	}
	if _, err := d.Path(1, strings.Repeat("a", 128)); err != nil {
		t.Errorf("128-character task name refused: %v", err)
	}
}

// TestTaskNamedLog checks that a task called "log" has a log of its own
// beside the job's setup log, written and served at /logs/<id>/log/log.
func TestTaskNamedLog(t *testing.T) {
	d := openDir(t)
	jl := d.Job(7, nil)
	setup, err := jl.Setup()
	if err != nil {
		t.Fatal(err)
	}
	setup.Printf("setup line")
	tw, err := jl.Task("log")
	if err != nil {
		t.Fatalf("Task(log): %v", err)
	}
	if _, err := tw.Write([]byte("task line\n")); err != nil {
		t.Fatal(err)
	}
	setup.Close()
	tw.Close()
	h := logs.NewHandler(d, func(*http.Request, int64) bool { return true })
	for path, want := range map[string]string{"/logs/7/log": "setup line\n", "/logs/7/log/log": "task line\n"} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
		if rec.Body.String() != want {
			t.Errorf("GET %s = %d %q, want %q", path, rec.Code, rec.Body.String(), want)
		}
	}
}

// follow collects what Follow sends until it returns.
func follow(ctx context.Context, d *logs.Dir, job int64, task string, off int64) (string, error) {
	var buf bytes.Buffer
	err := d.Follow(ctx, job, task, off, func(p []byte) error {
		buf.Write(p)
		return nil
	})
	return buf.String(), err
}

func TestFollowFromOffsetEndsWhenComplete(t *testing.T) {
	d := openDir(t)
	w, err := d.Job(7, nil).Task("test")
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte("0123456789"))
	type result struct {
		s   string
		err error
	}
	done := make(chan result)
	go func() {
		s, err := follow(t.Context(), d, 7, "test", 4)
		done <- result{s, err}
	}()
	time.Sleep(20 * time.Millisecond)
	w.Write([]byte("abc"))
	select {
	case r := <-done:
		t.Fatalf("Follow returned before the log was complete: %q, %v", r.s, r.err)
	case <-time.After(100 * time.Millisecond):
	}
	w.Close()
	r := <-done
	if r.err != nil || r.s != "456789abc" {
		t.Fatalf("Follow = %q, %v; want %q, nil", r.s, r.err, "456789abc")
	}
}

func TestFollowWaitsForMissingLogAndEndsOnJobClose(t *testing.T) {
	d := openDir(t)
	done := make(chan error)
	go func() {
		_, err := follow(t.Context(), d, 8, "never-ran", 0)
		done <- err
	}()
	time.Sleep(20 * time.Millisecond)
	if err := d.Job(8, nil).Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(time.Second):
		t.Fatal("Follow did not end after the job's logs were closed")
	}
}

func TestFollowEndsWithContext(t *testing.T) {
	d := openDir(t)
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Millisecond)
	defer cancel()
	if _, err := follow(ctx, d, 9, "", 0); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Follow = %v, want deadline exceeded", err)
	}
}

func TestConcurrentFollowers(t *testing.T) {
	d := openDir(t)
	w, err := d.Job(10, nil).Setup()
	if err != nil {
		t.Fatal(err)
	}
	var want strings.Builder
	const n = 8
	got := make([]string, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			s, err := follow(t.Context(), d, 10, "", 0)
			if err != nil {
				t.Error(err)
			}
			got[i] = s
		})
	}
	for i := range 200 {
		line := strings.Repeat("x", i%50) + "\n"
		want.WriteString(line)
		w.Write([]byte(line))
	}
	w.Close()
	wg.Wait()
	for i, s := range got {
		if s != want.String() {
			t.Errorf("follower %d got %d bytes, want %d", i, len(s), want.Len())
		}
	}
}

// A follower that shares no *Dir with the writer, as in another process,
// still sees data and the end of the log, by polling.
func TestFollowAcrossProcesses(t *testing.T) {
	writer := openDir(t)
	reader, err := logs.Open(writer.Root())
	if err != nil {
		t.Fatal(err)
	}
	w, err := writer.Job(11, nil).Task("t")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan string)
	go func() {
		s, err := follow(t.Context(), reader, 11, "t", 0)
		if err != nil {
			t.Error(err)
		}
		done <- s
	}()
	w.Write([]byte("first\n"))
	time.Sleep(10 * time.Millisecond)
	w.Write([]byte("second\n"))
	w.Close()
	select {
	case s := <-done:
		if s != "first\nsecond\n" {
			t.Fatalf("followed %q", s)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("cross-process follower did not end")
	}
}

func TestTail(t *testing.T) {
	d := openDir(t)
	w, _ := d.Job(12, nil).Setup()
	w.Write([]byte("abcdéf")) // é is two bytes
	w.Close()
	path, _ := d.Path(12, "")
	for _, tt := range []struct {
		n    int64
		want string
	}{{1, "f"}, {2, "f"}, {3, "éf"}, {100, "abcdéf"}} {
		got, err := logs.Tail(path, tt.n)
		if err != nil || string(got) != tt.want {
			t.Errorf("Tail(%d) = %q, %v; want %q", tt.n, got, err, tt.want)
		}
	}
	if _, err := logs.Tail(path+"x", 10); build.ErrorCode(err) != build.ENOTFOUND {
		t.Errorf("Tail of missing file: %v, want ENOTFOUND", err)
	}
}

func TestDirTailReportsStart(t *testing.T) {
	d := openDir(t)
	w, _ := d.Job(12, nil).Task("build")
	w.Write([]byte("abcdéf")) // é is bytes 4 and 5
	w.Close()
	for _, tt := range []struct {
		n, start int64
		want     string
	}{{2, 6, "f"}, {3, 4, "éf"}, {100, 0, "abcdéf"}} {
		got, start, err := d.Tail(t.Context(), 12, "build", tt.n)
		if err != nil || string(got) != tt.want || start != tt.start {
			t.Errorf("Tail(%d) = %q at %d, %v; want %q at %d", tt.n, got, start, err, tt.want, tt.start)
		}
	}
	if _, _, err := d.Tail(t.Context(), 12, "test", 10); build.ErrorCode(err) != build.ENOTFOUND {
		t.Errorf("Tail of a log not written: %v, want ENOTFOUND", err)
	}
}

package logs

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
)

// JobLogs writes the logs of one job, redacting the job's secrets.
type JobLogs struct {
	d      *Dir
	id     int64
	redac  *Redactor
	budget *budget // nil: no limit
}

// Job returns the logs of job jobID. Every byte written through its writers
// has the given secret values (and their base64 forms) replaced by
// Redacted; secrets may be nil.
func (d *Dir) Job(jobID int64, secrets [][]byte) *JobLogs {
	return &JobLogs{d: d, id: jobID, redac: NewRedactor(secrets)}
}

// Redactor returns the job's redactor, for text that leaves the runner by
// another way than a log (an error message in a status report, say).
func (j *JobLogs) Redactor() *Redactor { return j.redac }

// Setup opens the job's own log (boot, setup, clone output, trigger
// results) for appending.
func (j *JobLogs) Setup() (*Writer, error) { return j.open("") }

// Task opens the log of the named task for appending. The name must be a
// valid task name (see Dir.Path).
func (j *JobLogs) Task(name string) (*Writer, error) { return j.open(name) }

func (j *JobLogs) open(task string) (*Writer, error) {
	path, err := j.d.Path(j.id, task)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("open log: %w", err)
	}
	// A log reopened after completion (a retried job) grows again.
	if err := os.Remove(path + ".done"); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("open log: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open log: %w", err)
	}
	w := &Writer{f: f, path: path, d: j.d, jobID: j.id, note: j.d.acquire(j.id, true), budget: j.budget}
	w.red = j.redac.Writer(f)
	return w, nil
}

// Close marks every log of the job complete, including those never opened
// (tasks that did not run), so that their followers end. Call it once the
// job is terminal.
func (j *JobLogs) Close() error {
	path := j.d.jobDonePath(j.id)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("complete job logs: %w", err)
	}
	if err := os.WriteFile(path, nil, 0o644); err != nil {
		return fmt.Errorf("complete job logs: %w", err)
	}
	n := j.d.acquire(j.id, false)
	n.broadcast()
	j.d.release(j.id, false)
	return nil
}

// Writer appends to one log. Each Write reaches the file (and live
// followers) at once, except the few trailing bytes that might begin a
// secret, which wait for the next Write or Close. A Writer is safe for
// concurrent use.
type Writer struct {
	mu     sync.Mutex
	f      *os.File
	red    *RedactWriter
	path   string
	d      *Dir
	jobID  int64
	note   *notifier
	err    error // first write error, reported again by Close
	closed bool
	budget *budget // shared by the job's writers; nil: no limit
}

// Write redacts p and appends it to the log. Past the job's limit (see
// JobLogs.Limit) the bytes are discarded but reported written, so that
// whatever produces them is not stalled by an error.
func (w *Writer) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return 0, os.ErrClosed
	}
	if w.budget == nil {
		return w.write(p)
	}
	granted := w.budget.take(len(p))
	if granted > 0 {
		if _, err := w.write(p[:granted]); err != nil {
			return 0, err
		}
	}
	if granted < len(p) {
		w.budget.once.Do(func() {
			_, _ = w.write([]byte(LimitNotice(w.budget.max)))
			if w.budget.onExceed != nil {
				w.budget.onExceed()
			}
		})
	}
	return len(p), nil
}

// write appends p, uncounted; w.mu is held.
func (w *Writer) write(p []byte) (int, error) {
	n, err := w.red.Write(p)
	w.note.broadcast()
	if err != nil {
		w.err = firstErr(w.err, err)
		return n, fmt.Errorf("write log: %w", err)
	}
	return n, nil
}

// Printf writes one line formatted as by fmt.Sprintf, adding the newline if
// the format lacks it. A failed write is reported by Close.
func (w *Writer) Printf(format string, args ...any) {
	line := fmt.Sprintf(format, args...)
	if !strings.HasSuffix(line, "\n") {
		line += "\n"
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.closed {
		_, _ = w.write([]byte(line)) // the error is kept in w.err
	}
}

// Close writes the held-back tail, closes the file and marks the log
// complete so that its followers end. It returns the first error of any
// earlier Write or Printf, if there was one. Closing twice is a no-op.
func (w *Writer) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return nil
	}
	w.closed = true
	defer w.d.release(w.jobID, true)
	defer w.note.broadcast()
	err := firstErr(w.err, w.red.Flush())
	err = firstErr(err, w.f.Close())
	// Even a log cut short by an error will not grow again: mark it so.
	err = firstErr(err, os.WriteFile(w.path+".done", nil, 0o644))
	if err != nil {
		return fmt.Errorf("close log: %w", err)
	}
	return nil
}

// firstErr returns the first non-nil of a and b.
func firstErr(a, b error) error {
	if a != nil {
		return a
	}
	return b
}

package logs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"
	"unicode/utf8"

	"builds/internal/build"
)

// Follow calls fn with the bytes of a log (task "" for the job's own log)
// from offset on, in order, as they are written. It waits for a log that
// does not exist yet. It returns nil once the log is complete and fn has
// seen all of it, ctx.Err() if ctx ends first, and fn's error if fn fails.
// fn must not keep the slice it is given.
func (d *Dir) Follow(ctx context.Context, jobID int64, task string, offset int64, fn func([]byte) error) error {
	path, err := d.Path(jobID, task)
	if err != nil {
		return err
	}
	fl := &follower{d: d, jobID: jobID, path: path, offset: offset, fn: fn}
	return fl.run(ctx)
}

// follower is one reader of a growing log.
type follower struct {
	d      *Dir
	jobID  int64
	path   string
	offset int64
	fn     func([]byte) error
	// idle, when set, is called after idleAfter without data (a keep-alive
	// for HTTP streams that proxies would otherwise close).
	idle      func() error
	idleAfter time.Duration

	f   *os.File
	buf []byte
}

func (fl *follower) run(ctx context.Context) error {
	n := fl.d.acquire(fl.jobID, false)
	defer fl.d.release(fl.jobID, false)
	defer fl.close()
	timer := time.NewTimer(pollInterval)
	defer timer.Stop()
	lastData := time.Now()
	for {
		wake := n.wait() // before reading, so no write between is missed
		done := fl.d.complete(fl.jobID, fl.path)
		got, err := fl.drain()
		if err != nil || done {
			return err
		}
		if err := fl.keepAlive(got, &lastData); err != nil {
			return err
		}
		timer.Reset(fl.d.pollEvery(fl.jobID))
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-wake:
		case <-timer.C:
		}
	}
}

func (fl *follower) keepAlive(got bool, last *time.Time) error {
	now := time.Now()
	if got || fl.idle == nil {
		*last = now
		return nil
	}
	if now.Sub(*last) < fl.idleAfter {
		return nil
	}
	*last = now
	return fl.idle()
}

// drain hands fn everything from the offset to the current end of the file
// and reports whether there was anything.
func (fl *follower) drain() (bool, error) {
	if fl.f == nil {
		f, err := os.Open(fl.path)
		if errors.Is(err, os.ErrNotExist) {
			return false, nil
		}
		if err != nil {
			return false, fmt.Errorf("follow log: %w", err)
		}
		fl.f = f
		fl.buf = make([]byte, 64<<10)
	}
	got := false
	for {
		n, err := fl.f.ReadAt(fl.buf, fl.offset)
		if n > 0 {
			got = true
			fl.offset += int64(n)
			if err := fl.fn(fl.buf[:n]); err != nil {
				return got, err
			}
		}
		if errors.Is(err, io.EOF) || n == 0 {
			return got, nil
		}
		if err != nil {
			return got, fmt.Errorf("follow log: %w", err)
		}
	}
}

func (fl *follower) close() {
	if fl.f != nil {
		fl.f.Close()
	}
}

// Tail returns the last n bytes of the log file at path, or all of it when
// it is shorter, without a partial UTF-8 character at the start. A missing
// file is an ENOTFOUND error.
func Tail(path string, n int64) ([]byte, error) {
	b, _, err := tail(path, n)
	return b, err
}

// Tail returns the last n bytes of a job's log (task "" for the job's own
// log), as the function Tail does, and the offset in the log where they
// start.
func (d *Dir) Tail(ctx context.Context, jobID int64, task string, n int64) ([]byte, int64, error) {
	path, err := d.Path(jobID, task)
	if err != nil {
		return nil, 0, err
	}
	return tail(path, n)
}

func tail(path string, n int64) ([]byte, int64, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, 0, build.Errorf(build.ENOTFOUND, "log not found")
	}
	if err != nil {
		return nil, 0, fmt.Errorf("tail log: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, 0, fmt.Errorf("tail log: %w", err)
	}
	start := max(fi.Size()-n, 0)
	b := make([]byte, fi.Size()-start)
	k, err := f.ReadAt(b, start)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, 0, fmt.Errorf("tail log: %w", err)
	}
	b = b[:k]
	if start > 0 {
		cut := TrimPartialRune(b)
		b, start = b[cut:], start+int64(cut)
	}
	return b, start, nil
}

// TrimPartialRune returns how many bytes at the start of b, a piece cut
// out of a longer text, belong to a character that began before it.
func TrimPartialRune(b []byte) int {
	i := 0
	for i < utf8.UTFMax && i < len(b) && !utf8.RuneStart(b[i]) {
		i++
	}
	return i
}

// Package datalock keeps two builds processes off one data directory: the
// first takes an exclusive flock on the directory's lock file and holds it
// until it exits (however it exits: the kernel drops the lock with the
// process), and a second process refuses to start, naming the first.
package datalock

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// FileName is the lock file inside the data directory; it holds the pid of
// the process that has the lock.
const FileName = "lock"

// Lock is a held lock on a data directory.
type Lock struct {
	f *os.File
}

// Acquire locks dir (creating it if needed) for this process, or returns an
// error naming the process that holds it. what names the caller for the
// message, e.g. "builds serve".
func Acquire(dir, what string) (*Lock, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("create data directory: %w", err)
	}
	path := filepath.Join(dir, FileName)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open data directory lock: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		holder, _ := os.ReadFile(path)
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("data directory %s is in use by %s: stop that process first, or give this one another data directory (--data or [builds.sr.ht] data-dir)",
				dir, describe(strings.TrimSpace(string(holder))))
		}
		return nil, fmt.Errorf("lock data directory %s: %w", dir, err)
	}
	if err := f.Truncate(0); err == nil {
		_, _ = fmt.Fprintf(f, "%d %s\n", os.Getpid(), what)
	}
	return &Lock{f: f}, nil
}

// describe turns the lock file's "PID WHAT" into words.
func describe(holder string) string {
	pid, what, _ := strings.Cut(holder, " ")
	switch {
	case pid == "":
		return "another builds process"
	case what == "":
		return "another builds process (pid " + pid + ")"
	}
	return what + " (pid " + pid + ")"
}

// Release drops the lock. The lock is also dropped when the process ends.
func (l *Lock) Release() error {
	if l == nil || l.f == nil {
		return nil
	}
	err := l.f.Close()
	l.f = nil
	return err
}

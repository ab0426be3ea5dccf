package datalock_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"builds/internal/datalock"
)

// A second lock on the directory fails naming the holder; once released,
// the directory can be locked again.
func TestAcquireTwice(t *testing.T) {
	dir := t.TempDir()
	l, err := datalock.Acquire(dir, "builds serve")
	if err != nil {
		t.Fatal(err)
	}
	_, err = datalock.Acquire(dir, "builds runner")
	if err == nil {
		t.Fatal("second Acquire succeeded")
	}
	want := "in use by builds serve (pid " + strconv.Itoa(os.Getpid()) + ")"
	if !strings.Contains(err.Error(), want) {
		t.Errorf("error %q does not say %q", err, want)
	}
	if err := l.Release(); err != nil {
		t.Fatal(err)
	}
	l2, err := datalock.Acquire(dir, "builds runner")
	if err != nil {
		t.Fatalf("after release: %v", err)
	}
	l2.Release()
}

// The lock goes with a process that is killed: another process holds it
// (flock(1) on the same file, not forking), then is killed with SIGKILL.
func TestLockDroppedWithProcess(t *testing.T) {
	if _, err := exec.LookPath("flock"); err != nil {
		t.Skip("flock(1) is not installed")
	}
	dir := t.TempDir()
	cmd := exec.Command("flock", "--no-fork", "-x", filepath.Join(dir, datalock.FileName), "sleep", "60")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Wait until the other process holds it.
	deadline := time.Now().Add(10 * time.Second)
	for {
		l, err := datalock.Acquire(dir, "test")
		if err != nil {
			break
		}
		l.Release()
		if time.Now().After(deadline) {
			t.Fatal("flock(1) never took the lock")
		}
		time.Sleep(20 * time.Millisecond)
	}
	_ = cmd.Process.Kill()
	_ = cmd.Wait()
	l, err := datalock.Acquire(dir, "test")
	if err != nil {
		t.Fatalf("lock of a killed process still held: %v", err)
	}
	l.Release()
}

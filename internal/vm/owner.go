package vm

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
)

// ownerLockSuffix makes, from a state directory, the name of the file beside
// it that the process owning its VMs holds an exclusive flock on for as long
// as it lives. Each VM's
// watcher (started by the control script) waits for that lock and removes
// the VM as soon as the owner is gone, even after a kill -9.
const ownerLockSuffix = ".lock"

// owners holds the owner locks this process took, by state directory: a
// flock belongs to an open file, so two Controls of one process on the same
// directory must share it.
var owners struct {
	sync.Mutex
	files map[string]*os.File
}

// ownerLock takes (once per process) the exclusive lock on dir's owner
// lock file and returns its path. Another live process holding it is an
// error naming that process.
func ownerLock(dir string) (string, error) {
	path := filepath.Clean(dir) + ownerLockSuffix
	owners.Lock()
	defer owners.Unlock()
	if owners.files[path] != nil {
		return path, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("create vm state directory: %w", err)
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return "", fmt.Errorf("open vm owner lock: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		pid, _ := os.ReadFile(path)
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return "", fmt.Errorf("vm state directory %s belongs to another running process (pid %s): give each runner its own data directory", dir, strings.TrimSpace(string(pid)))
		}
		return "", fmt.Errorf("lock vm state directory: %w", err)
	}
	_ = f.Truncate(0)
	_, _ = f.WriteAt([]byte(fmt.Sprintf("%d\n", os.Getpid())), 0)
	if owners.files == nil {
		owners.files = map[string]*os.File{}
	}
	owners.files[path] = f
	return path, nil
}

// Recover takes ownership of the state directory and removes every VM a
// previous process left in it (qemu processes, containers labelled with the
// directory, network namespaces), so a restarted runner starts clean. It
// fails when another live process owns the directory.
func (c *Control) Recover(ctx context.Context) error {
	if _, err := ownerLock(c.stateDir()); err != nil {
		return err
	}
	out, err := c.run(ctx, "-", "cleanup-all")
	if err != nil {
		return fmt.Errorf("remove VMs left in %s: %w", c.stateDir(), err)
	}
	if out != "" {
		for _, l := range strings.Split(out, "\n") {
			slog.Info("vm recovery: "+strings.TrimPrefix(l, "control: "), "state", c.stateDir())
		}
	}
	return nil
}

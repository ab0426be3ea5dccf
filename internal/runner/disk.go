package runner

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"builds/internal/logs"
)

// diskRecheck is how often a runner whose disk is low looks again.
const diskRecheck = 10 * time.Second

// FreeBytes returns the bytes available to unprivileged users on the file
// system holding path. It is a variable so that tests can play a full disk.
var FreeBytes = func(path string) (int64, error) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(path, &st); err != nil {
		return 0, fmt.Errorf("check free space of %s: %w", path, err)
	}
	return int64(st.Bavail) * int64(st.Bsize), nil
}

// diskLow returns why the runner must not take a job now: the disk of its
// logs or of its artifacts has less than MinFreeBytes free. "" means it
// may.
func (r *Runner) diskLow() string {
	if r.MinFreeBytes <= 0 {
		return ""
	}
	for _, p := range []string{r.logsRoot(), r.ArtifactsDir} {
		if p == "" {
			continue
		}
		free, err := FreeBytes(existing(p))
		if err != nil {
			return err.Error()
		}
		if free < r.MinFreeBytes {
			return fmt.Sprintf("only %s free on the disk of %s, below the %s this runner keeps free (min-free-space); free some space or raise the disk",
				logs.FormatBytes(free), p, logs.FormatBytes(r.MinFreeBytes))
		}
	}
	return ""
}

// existing returns p, or its nearest ancestor that exists: a directory
// made on first use is on the disk of its parent until then.
func existing(p string) string {
	for {
		if _, err := os.Stat(p); err == nil || filepath.Dir(p) == p {
			return p
		}
		p = filepath.Dir(p)
	}
}

func (r *Runner) logsRoot() string {
	if r.Logs == nil {
		return ""
	}
	return r.Logs.Root()
}

// waitForDisk blocks while the disk is low, saying so once when it becomes
// low and once when it recovers. It returns false when ctx ends first.
func (r *Runner) waitForDisk(ctx context.Context) bool {
	for {
		reason := r.diskLow()
		if r.setFull(reason) {
			if reason != "" {
				slog.Warn("runner takes no jobs", "runner", r.Name, "reason", reason)
			} else {
				slog.Info("runner takes jobs again: enough free disk space", "runner", r.Name)
			}
			if r.OnFull != nil {
				r.OnFull(reason)
			}
		}
		if reason == "" {
			return true
		}
		sleep(ctx, diskRecheck)
		if ctx.Err() != nil {
			return false
		}
	}
}

// setFull records the current reason and reports whether it changed from
// empty to set or back.
func (r *Runner) setFull(reason string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	changed := (r.full == "") != (reason == "")
	r.full = reason
	return changed
}

// Full returns why the runner takes no jobs now, or "" when it takes them.
func (r *Runner) Full() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.full
}

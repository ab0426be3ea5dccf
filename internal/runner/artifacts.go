package runner

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"builds/internal/build"
	"builds/internal/guest"
	"builds/internal/logs"
)

// readArtifact copies the regular file "$1" to standard output, at most
// "$2" bytes. It refuses (exit 3) a symbolic link, which could point at a
// device or at a file outside what the build meant to keep, and (exit 4)
// anything that is not a regular file: a device, a FIFO, a directory.
const readArtifact = `if [ -L "$1" ]; then echo "it is a symbolic link" >&2; exit 3; fi
if [ ! -e "$1" ]; then echo "no such file" >&2; exit 4; fi
if [ ! -f "$1" ]; then echo "it is not a regular file" >&2; exit 4; fi
exec head -c "$2" -- "$1"`

// artifactLimits are what remains of a job's artifact caps.
type artifactLimits struct {
	each, total int64 // max bytes of one artifact; what all may still take
}

func (j *job) uploadArtifacts(ctx context.Context) error {
	if len(j.m.Artifacts) == 0 {
		return nil
	}
	if j.r.ArtifactsDir == "" {
		return errors.New("this runner does not store artifacts")
	}
	dir := filepath.Join(j.r.ArtifactsDir, strconv.FormatInt(j.id, 10))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("storing artifacts: %w", err)
	}
	lim := &artifactLimits{each: capOr(j.r.MaxArtifactBytes), total: capOr(j.r.MaxArtifactsBytes)}
	for _, p := range j.m.Artifacts {
		if err := j.artifact(ctx, dir, p, lim); err != nil {
			return err
		}
	}
	return nil
}

func capOr(n int64) int64 {
	if n <= 0 {
		return math.MaxInt64 - 1
	}
	return n
}

func (j *job) artifact(ctx context.Context, dir, p string, lim *artifactLimits) error {
	name := path.Base(p)
	var size int64
	err := j.step("Uploading artifact "+p, func() error {
		var err error
		size, err = j.copyArtifact(ctx, filepath.Join(dir, name), p, lim)
		return err
	})
	if err != nil {
		return fmt.Errorf("uploading artifact %s failed: %w", p, err)
	}
	lim.total -= size
	a := &build.Artifact{JobID: j.id, Path: p, Name: name, Size: size, Created: time.Now()}
	if j.r.ArtifactURL != nil {
		a.URL = j.r.ArtifactURL(j.id, name)
	}
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), reportTimeout)
	defer cancel()
	if err := j.r.Reporter.Artifact(rctx, a); err != nil {
		return fmt.Errorf("recording artifact %s: %w", name, err)
	}
	return nil
}

// copyArtifact copies the guest's file p to dst, reading one byte more
// than it may keep so that a file past a cap is told apart from one at
// it; the partial copy of a refused file is removed.
func (j *job) copyArtifact(ctx context.Context, dst, p string, lim *artifactLimits) (int64, error) {
	max := min(lim.each, lim.total)
	f, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return 0, err
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	cw := &cappedWriter{w: f, max: max, over: func() { cancel(errArtifactCap) }}
	var stderr limitedBuffer
	argv := []string{"sh", "-c", readArtifact, "sh", p, strconv.FormatInt(max+1, 10)}
	err = j.conn.Run(ctx, argv, cw, &guest.RunOptions{Stderr: &stderr})
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	switch {
	case cw.n > max:
		err = j.capError(lim, max)
	case err != nil:
		var ee *guest.ExitError
		if errors.As(err, &ee) && (ee.Code == 3 || ee.Code == 4) {
			err = fmt.Errorf("%s (artifacts must be regular files)", stderr.String())
		} else if stderr.Len() > 0 {
			err = fmt.Errorf("%w: %s", err, stderr.String())
		}
	}
	if err != nil {
		_ = os.Remove(dst)
		return 0, err
	}
	return cw.n, nil
}

var errArtifactCap = errors.New("the artifact passed its size limit")

// capError says which artifact cap a file passed.
func (j *job) capError(lim *artifactLimits, max int64) error {
	if lim.each <= lim.total {
		return fmt.Errorf("it is larger than the limit of %s per artifact (the runner's max-artifact-size)",
			logs.FormatBytes(max))
	}
	return fmt.Errorf("the job's artifacts together would pass their limit of %s (the runner's max-artifacts-size)",
		logs.FormatBytes(j.r.MaxArtifactsBytes))
}

// cappedWriter writes up to max bytes to w; past that it discards, and
// calls over once, so that the command producing the bytes is stopped.
type cappedWriter struct {
	w    io.Writer
	max  int64
	n    int64
	over func()
}

func (c *cappedWriter) Write(p []byte) (int, error) {
	room := c.max - c.n
	c.n += int64(len(p))
	if room > 0 {
		if _, err := c.w.Write(p[:min(room, int64(len(p)))]); err != nil {
			return 0, err
		}
	}
	if c.n > c.max {
		c.over() // cancelling twice is harmless
	}
	return len(p), nil
}

// limitedBuffer keeps the first 4 KiB written to it: enough for an error
// message, and no more whatever the guest sends.
type limitedBuffer struct{ b []byte }

func (l *limitedBuffer) Write(p []byte) (int, error) {
	if room := 4096 - len(l.b); room > 0 {
		l.b = append(l.b, p[:min(room, len(p))]...)
	}
	return len(p), nil
}

func (l *limitedBuffer) Len() int { return len(l.b) }

func (l *limitedBuffer) String() string { return strings.TrimSpace(string(l.b)) }

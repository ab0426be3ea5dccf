// Package inproc links a runner in the master's own process (single-host
// mode) to the job lifecycle: it is the runner's Reporter and JobLoader,
// and turns the runner's boot trace into VMBooted events. Remote runners
// use package agent instead.
package inproc

import (
	"context"
	"sync"
	"time"

	"builds/internal/build"
	"builds/internal/lifecycle"
	"builds/internal/runner"
)

// Link connects an in-process runner to a Lifecycle. Its methods are safe
// for concurrent use.
type Link struct {
	// MintToken, when set, mints the OAuth token exported as OAUTH2_TOKEN
	// for a job whose manifest has an oauth key and may use secrets. Set
	// it before the runner starts.
	MintToken func(ctx context.Context, j *build.Job, grants string) (string, error)

	l     *lifecycle.Lifecycle
	boots sync.Map // job ID -> when its VM booted
}

var (
	_ runner.Reporter  = (*Link)(nil)
	_ runner.JobLoader = (*Link)(nil)
)

// New returns the link of an in-process runner to l.
func New(l *lifecycle.Lifecycle) *Link { return &Link{l: l} }

// JobStatus implements runner.Reporter.
func (r *Link) JobStatus(ctx context.Context, jobID int64, s build.JobStatus, name string) error {
	return r.l.JobStatus(ctx, jobID, s, name)
}

// TaskStatus implements runner.Reporter.
func (r *Link) TaskStatus(ctx context.Context, jobID int64, task string, s build.TaskStatus) error {
	return r.l.TaskStatus(ctx, jobID, task, s)
}

// Artifact implements runner.Reporter.
func (r *Link) Artifact(ctx context.Context, a *build.Artifact) error {
	return r.l.Artifact(ctx, a)
}

// Load implements runner.JobLoader with Lifecycle.LoadWork.
func (r *Link) Load(ctx context.Context, jobID int64) (*runner.Work, error) {
	w, err := r.l.LoadWork(ctx, jobID)
	if err != nil {
		return nil, err
	}
	rw := &runner.Work{Manifest: w.Job.Manifest, Parsed: w.Manifest, Owner: w.Job.Owner, Secrets: w.Secrets}
	if w.Job.Secrets && w.Manifest != nil && w.Manifest.OAuth != "" && r.MintToken != nil {
		if rw.OAuthToken, err = r.MintToken(ctx, w.Job, w.Manifest.OAuth); err != nil {
			return nil, err
		}
	}
	return rw, nil
}

// Trace is the runner's Trace hook: the time from boot to SSH becomes a
// VMBooted event.
func (r *Link) Trace(id int64, ev runner.Event) {
	switch ev {
	case runner.EventBooted:
		r.boots.Store(id, time.Now())
	case runner.EventConnected:
		if t, ok := r.boots.LoadAndDelete(id); ok {
			r.l.Booted(id, time.Since(t.(time.Time)))
		}
	case runner.EventDone:
		r.boots.Delete(id)
	}
}

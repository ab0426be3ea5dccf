package lifecycle

import (
	"context"
	"sync"
	"time"

	"builds/internal/build"
	"builds/internal/runner"
)

// Local connects an in-process runner to the Lifecycle: it is the
// runner's Reporter and JobLoader, and its Trace turns the runner's boot
// events into VMBooted.
type Local struct {
	l     *Lifecycle
	boots sync.Map // job ID -> when its VM booted
}

var (
	_ runner.Reporter  = (*Local)(nil)
	_ runner.JobLoader = (*Local)(nil)
)

// Local returns the adapter for an in-process runner.
func (l *Lifecycle) Local() *Local { return &Local{l: l} }

// JobStatus implements runner.Reporter.
func (r *Local) JobStatus(ctx context.Context, jobID int64, s build.JobStatus, name string) error {
	return r.l.JobStatus(ctx, jobID, s, name)
}

// TaskStatus implements runner.Reporter.
func (r *Local) TaskStatus(ctx context.Context, jobID int64, task string, s build.TaskStatus) error {
	return r.l.TaskStatus(ctx, jobID, task, s)
}

// Artifact implements runner.Reporter.
func (r *Local) Artifact(ctx context.Context, a *build.Artifact) error {
	return r.l.Artifact(ctx, a)
}

// Load implements runner.JobLoader with LoadWork.
func (r *Local) Load(ctx context.Context, jobID int64) (*runner.Work, error) {
	w, err := LoadWork(ctx, r.l.opts.Store, jobID)
	if err != nil {
		return nil, err
	}
	return &runner.Work{Manifest: w.Job.Manifest, Parsed: w.Manifest, Owner: w.Job.Owner, Secrets: w.Secrets}, nil
}

// Trace is the runner's Trace hook: the time from boot to SSH becomes a
// VMBooted event.
func (r *Local) Trace(id int64, ev runner.Event) {
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

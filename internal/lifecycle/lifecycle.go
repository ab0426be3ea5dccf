// Package lifecycle owns a job's life on the master: every change of a
// job's or a task's status, every artifact record, the closing line of a
// job's log, recovery at start-up, lease expiry, cancel, start and enqueue
// go through a Lifecycle, in both modes (an in-process runner reporting
// directly, or remote runners whose signed reports package dispatch
// applies). The transition rules are the domain's (package build); the
// Lifecycle applies them through the store, then publishes each stored
// change on its Bus for in-process subscribers (the job page's live
// stream, the API's status stream, metrics).
//
// No other package calls the store's status setters.
package lifecycle

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"builds/internal/build"
	"builds/internal/logs"
	"builds/internal/queue"
	"builds/internal/store"
)

// Store is what a Lifecycle reads and writes.
type Store interface {
	CreateJob(ctx context.Context, j *build.Job) error
	Job(ctx context.Context, id int64) (*build.Job, error)
	SetJobStatus(ctx context.Context, id int64, to build.JobStatus, runner string) (*build.Job, error)
	SetTaskStatus(ctx context.Context, jobID int64, task string, to build.TaskStatus) error
	JobsByStatus(ctx context.Context, s build.JobStatus, limit int) ([]int64, error)
	AddArtifact(ctx context.Context, a *build.Artifact) error
	store.SecretReader
}

var _ Store = store.Store(nil)

// Options configure a Lifecycle.
type Options struct {
	Store Store
	// Queue takes queued jobs and gives back cancelled ones. It may be set
	// after New with SetQueue, before the first job is enqueued.
	Queue queue.Queue
	// Logs is the master's log directory, where closing lines are written
	// (why a job failed when its runner cannot say). May be nil.
	Logs *logs.Dir
	// OnCancel tells whichever runner holds a queued or running job that
	// it was cancelled. It must not block for long; it may be nil.
	OnCancel func(jobID int64)
	// Bus receives the events; a new one when nil.
	Bus    *Bus
	Logger *slog.Logger
}

// Lifecycle applies and publishes job changes. Its methods are safe for
// concurrent use.
type Lifecycle struct {
	opts Options
	bus  *Bus
	log  *slog.Logger
}

// New returns a Lifecycle.
func New(opts Options) *Lifecycle {
	l := &Lifecycle{opts: opts, bus: opts.Bus, log: opts.Logger}
	if l.bus == nil {
		l.bus = NewBus()
	}
	if l.log == nil {
		l.log = slog.Default()
	}
	return l
}

// Bus is where the Lifecycle publishes.
func (l *Lifecycle) Bus() *Bus { return l.bus }

// SetQueue sets the queue and the cancel hook, for wiring in which they
// are made after the Lifecycle. Call it before any job is enqueued.
func (l *Lifecycle) SetQueue(q queue.Queue, onCancel func(jobID int64)) {
	l.opts.Queue, l.opts.OnCancel = q, onCancel
}

// Queue is the queue jobs go to.
func (l *Lifecycle) Queue() queue.Queue { return l.opts.Queue }

func (l *Lifecycle) publishJob(kind Kind, j *build.Job) {
	l.bus.Publish(Event{Kind: kind, JobID: j.ID, Status: j.Status, Job: j, Runner: j.Runner})
}

// publishStatus publishes the event a job's new status makes.
func (l *Lifecycle) publishStatus(j *build.Job) {
	switch {
	case j.Status == build.JobQueued:
		l.publishJob(JobQueued, j)
	case j.Status == build.JobRunning:
		l.publishJob(JobStarted, j)
	case j.Status.Terminal():
		l.publishJob(JobEnded, j)
	}
}

// JobStatus moves a job to status to, recording runner when it is not
// empty, and publishes the change. Errors are the store's: ECONFLICT for a
// transition the rules forbid. It is a runner.Reporter method.
func (l *Lifecycle) JobStatus(ctx context.Context, id int64, to build.JobStatus, runner string) error {
	_, err := l.setJobStatus(ctx, id, to, runner)
	return err
}

func (l *Lifecycle) setJobStatus(ctx context.Context, id int64, to build.JobStatus, runner string) (*build.Job, error) {
	j, err := l.opts.Store.SetJobStatus(ctx, id, to, runner)
	if err != nil {
		return nil, err
	}
	l.publishStatus(j)
	return j, nil
}

// TaskStatus moves one task and publishes the change.
func (l *Lifecycle) TaskStatus(ctx context.Context, jobID int64, task string, to build.TaskStatus) error {
	if err := l.opts.Store.SetTaskStatus(ctx, jobID, task, to); err != nil {
		return err
	}
	l.bus.Publish(Event{Kind: TaskChanged, JobID: jobID, Task: task, TaskStatus: to})
	return nil
}

// Artifact records an artifact and publishes it.
func (l *Lifecycle) Artifact(ctx context.Context, a *build.Artifact) error {
	if err := l.opts.Store.AddArtifact(ctx, a); err != nil {
		return err
	}
	l.bus.Publish(Event{Kind: ArtifactAdded, JobID: a.JobID, Artifact: a})
	return nil
}

// Booted publishes that a job's VM answered SSH boot after it was started.
// Nothing is stored: the figure is for metrics.
func (l *Lifecycle) Booted(jobID int64, boot time.Duration) {
	l.bus.Publish(Event{Kind: VMBooted, JobID: jobID, Boot: boot})
}

// Fail ends a job that cannot go on as failed: it writes why as the last
// line of the master's copy of the job's log, ends every task that has
// not ended (running ones fail, pending ones are skipped), then fails the
// job. A job that has already ended is left alone (nil error).
func (l *Lifecycle) Fail(ctx context.Context, id int64, why string) error {
	j, err := l.opts.Store.Job(ctx, id)
	if err != nil {
		return fmt.Errorf("load job %d: %w", id, err)
	}
	if j.Status.Terminal() {
		return l.endTasks(ctx, j)
	}
	l.endLog(id, why)
	if err := l.endTasks(ctx, j); err != nil {
		return err
	}
	_, err = l.setJobStatus(ctx, id, build.JobFailed, "")
	if build.ErrorCode(err) == build.ECONFLICT {
		return nil // it ended meanwhile
	}
	if err != nil {
		return fmt.Errorf("fail job %d: %w", id, err)
	}
	return nil
}

// endTasks ends the tasks of j that have not ended: a running task fails,
// a pending one is skipped. A task that moved meanwhile is left as it is.
func (l *Lifecycle) endTasks(ctx context.Context, j *build.Job) error {
	for _, t := range j.Tasks {
		to := build.TaskSkipped
		switch t.Status {
		case build.TaskRunning:
			to = build.TaskFailed
		case build.TaskPending:
		default:
			continue
		}
		err := l.TaskStatus(ctx, j.ID, t.Name, to)
		if err != nil && build.ErrorCode(err) == build.EINTERNAL {
			return fmt.Errorf("end task %s of job %d: %w", t.Name, j.ID, err)
		}
	}
	return nil
}

// endLog appends a last line to the master's copy of a job's log and marks
// all its logs complete, so that live viewers stop waiting.
func (l *Lifecycle) endLog(jobID int64, line string) {
	if l.opts.Logs == nil {
		return
	}
	jl := l.opts.Logs.Job(jobID, nil)
	w, err := jl.Setup()
	if err != nil {
		l.log.Error("write the closing line of a job's log", "job", jobID, "err", err)
		return
	}
	w.Printf("%s", line)
	if err := w.Close(); err != nil {
		l.log.Error("write the closing line of a job's log", "job", jobID, "err", err)
	}
	if err := jl.Close(); err != nil {
		l.log.Error("complete a job's logs", "job", jobID, "err", err)
	}
}

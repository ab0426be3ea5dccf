package lifecycle

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"

	"builds/internal/build"
	"builds/internal/queue"
	"builds/internal/store"
)

// Create stores a new job (pending, or queued to be enqueued at once) and
// publishes JobCreated. A queued job still has to be given to Enqueue.
func (l *Lifecycle) Create(ctx context.Context, j *build.Job) error {
	if err := l.opts.Store.CreateJob(ctx, j); err != nil {
		return fmt.Errorf("store job: %w", err)
	}
	l.publishJob(JobCreated, j)
	return nil
}

// Enqueue hands a job stored as queued to the queue and publishes
// JobQueued. When the queue refuses it, the job fails so that it does not
// wait forever.
func (l *Lifecycle) Enqueue(ctx context.Context, j *build.Job) error {
	if err := l.enqueue(ctx, j); err != nil {
		if _, ferr := l.setJobStatus(context.WithoutCancel(ctx), j.ID, build.JobFailed, ""); ferr != nil {
			l.log.Error("fail a job the queue refused", "job", j.ID, "err", ferr)
		}
		return fmt.Errorf("queue job %d: %w", j.ID, err)
	}
	l.publishJob(JobQueued, j)
	return nil
}

func (l *Lifecycle) enqueue(ctx context.Context, j *build.Job) error {
	if l.opts.Queue == nil {
		return build.Errorf(build.EINTERNAL, "no queue is configured")
	}
	key, err := newKey()
	if err != nil {
		return err
	}
	it := queue.Item{JobID: j.ID, Arch: j.Arch, Image: j.Image, Key: key, Enqueued: store.Now()}
	return l.opts.Queue.Enqueue(ctx, it)
}

// newKey returns a random per-job key for the queue item.
func newKey() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("make job key: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// Start moves a pending job to queued and enqueues it. A job in any other
// status is build.ECONFLICT.
func (l *Lifecycle) Start(ctx context.Context, j *build.Job) (*build.Job, error) {
	if j.Status != build.JobPending {
		return nil, build.Errorf(build.ECONFLICT, "job %d is already %s; only pending jobs can be started", j.ID, j.Status)
	}
	updated, err := l.opts.Store.SetJobStatus(ctx, j.ID, build.JobQueued, "")
	if err != nil {
		return nil, fmt.Errorf("queue job %d: %w", j.ID, err)
	}
	if err := l.Enqueue(ctx, updated); err != nil {
		return nil, err
	}
	return updated, nil
}

// Cancel ends a pending, queued or running job as cancelled: a queued job
// is taken off the queue, the runner of a queued or running one is told
// (OnCancel), which ends its tasks. A job that has already ended is
// build.ECONFLICT.
func (l *Lifecycle) Cancel(ctx context.Context, j *build.Job) (*build.Job, error) {
	if j.Status.Terminal() {
		return nil, build.Errorf(build.ECONFLICT, "job %d has already ended (%s) and cannot be cancelled", j.ID, j.Status)
	}
	if j.Status == build.JobQueued && l.opts.Queue != nil {
		if err := l.opts.Queue.Remove(ctx, j.ID); err != nil {
			return nil, fmt.Errorf("remove job %d from the queue: %w", j.ID, err)
		}
	}
	updated, err := l.setJobStatus(ctx, j.ID, build.JobCancelled, "")
	if err != nil {
		return nil, fmt.Errorf("cancel job %d: %w", j.ID, err)
	}
	// A queued job may have been taken by a runner between our read and
	// the removal, so the runner is told about queued jobs too.
	if j.Status != build.JobPending && l.opts.OnCancel != nil {
		l.opts.OnCancel(j.ID)
	}
	return updated, nil
}

// RecoverLocal runs when the master starts with its in-process runner:
// jobs left running by a previous process can no longer finish, so they
// fail (their unfinished tasks end too); queued ones go back into the
// queue.
func (l *Lifecycle) RecoverLocal(ctx context.Context) error {
	running, err := l.opts.Store.JobsByStatus(ctx, build.JobRunning, 0)
	if err != nil {
		return fmt.Errorf("find running jobs: %w", err)
	}
	for _, id := range running {
		l.log.Warn("job was running when the service stopped; marking it failed", "job", id)
		if err := l.Fail(ctx, id, "The service stopped while this job ran; it cannot go on and is marked failed."); err != nil {
			return err
		}
	}
	queued, err := l.opts.Store.JobsByStatus(ctx, build.JobQueued, 0)
	if err != nil {
		return fmt.Errorf("find queued jobs: %w", err)
	}
	for _, id := range queued {
		j, err := l.opts.Store.Job(ctx, id)
		if err != nil {
			return fmt.Errorf("load queued job %d: %w", id, err)
		}
		if err := l.Requeue(ctx, j); err != nil {
			return err
		}
	}
	if len(running)+len(queued) > 0 {
		l.log.Info("recovered jobs", "failed", len(running), "requeued", len(queued))
	}
	return nil
}

// Requeue hands a job already stored (and published) as queued to the
// queue again, after the queue lost it (a restart).
func (l *Lifecycle) Requeue(ctx context.Context, j *build.Job) error {
	if err := l.enqueue(ctx, j); err != nil {
		return fmt.Errorf("requeue job %d: %w", j.ID, err)
	}
	return nil
}

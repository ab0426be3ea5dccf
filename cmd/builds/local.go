package main

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"builds/internal/build"
	"builds/internal/logs"
	"builds/internal/manifest"
	"builds/internal/metrics"
	"builds/internal/runner"
	"builds/internal/store"
)

// storeReporter applies an in-process runner's reports to the store; a
// remote runner's reports arrive as events instead.
type storeReporter struct {
	store   store.Jobs
	arts    store.Artifacts
	metrics *metrics.Metrics
	started *sync.Map // job ID -> when it started running, for the duration metric
	// ended, when set, is told about every job reported in a final
	// status, even one already final in the store (cancelled meanwhile).
	ended func(ctx context.Context, jobID int64)
}

var _ runner.Reporter = storeReporter{}

func (r storeReporter) JobStatus(ctx context.Context, jobID int64, s build.JobStatus, name string) error {
	if s.Terminal() && r.ended != nil {
		defer r.ended(context.WithoutCancel(ctx), jobID)
	}
	j, err := r.store.SetJobStatus(ctx, jobID, s, name)
	if err != nil {
		return err
	}
	switch {
	case s == build.JobRunning:
		r.started.Store(jobID, time.Now())
		r.metrics.Started(j.Created)
	case s.Terminal():
		if t, ok := r.started.LoadAndDelete(jobID); ok {
			r.metrics.Finished(s, time.Since(t.(time.Time)), true)
		} else {
			r.metrics.Finished(s, 0, false)
		}
	}
	return nil
}

func (r storeReporter) TaskStatus(ctx context.Context, jobID int64, task string, s build.TaskStatus) error {
	return r.store.SetTaskStatus(ctx, jobID, task, s)
}

func (r storeReporter) Artifact(ctx context.Context, a *build.Artifact) error {
	return r.arts.AddArtifact(ctx, a)
}

// storeLoader gives an in-process runner a job's manifest, owner and
// secrets straight from the store, and mints its OAuth token with mint
// when the manifest asks for one and secrets are enabled.
type storeLoader struct {
	store store.Store
	mint  func(ctx context.Context, j *build.Job, grants string) (string, error)
}

var _ runner.JobLoader = storeLoader{}

func (l storeLoader) Load(ctx context.Context, jobID int64) (*runner.Work, error) {
	j, err := l.store.Job(ctx, jobID)
	if err != nil {
		return nil, fmt.Errorf("load job: %w", err)
	}
	w := &runner.Work{Manifest: j.Manifest, Owner: j.Owner}
	if !j.Secrets {
		return w, nil
	}
	m, err := manifest.Parse([]byte(j.Manifest))
	if err != nil {
		return nil, fmt.Errorf("parse stored manifest: %w", err)
	}
	for _, ref := range m.Secrets {
		s, err := store.SecretByRef(ctx, l.store, j.OwnerID, ref)
		if err != nil {
			return nil, fmt.Errorf("secret %s: %w", ref, err)
		}
		w.Secrets = append(w.Secrets, *s)
	}
	if m.OAuth != "" && l.mint != nil {
		if w.OAuthToken, err = l.mint(ctx, j, m.OAuth); err != nil {
			return nil, err
		}
	}
	return w, nil
}

// recoverJobs runs when the master starts with its in-process runner: jobs
// left running by a previous process can no longer finish, so they fail;
// queued ones go back into the queue.
func recoverJobs(ctx context.Context, st store.Store, d *logs.Dir, enqueue func(*build.Job) error) error {
	running, err := st.JobsByStatus(ctx, build.JobRunning, 0)
	if err != nil {
		return fmt.Errorf("find running jobs: %w", err)
	}
	for _, id := range running {
		slog.Warn("job was running when the service stopped; marking it failed", "job", id)
		if _, err := st.SetJobStatus(ctx, id, build.JobFailed, ""); err != nil {
			return fmt.Errorf("fail job %d: %w", id, err)
		}
		endLog(d, id, "The service stopped while this job ran; it cannot go on and is marked failed.")
	}
	queued, err := st.JobsByStatus(ctx, build.JobQueued, 0)
	if err != nil {
		return fmt.Errorf("find queued jobs: %w", err)
	}
	for _, id := range queued {
		j, err := st.Job(ctx, id)
		if err != nil {
			return fmt.Errorf("load queued job %d: %w", id, err)
		}
		if err := enqueue(j); err != nil {
			return fmt.Errorf("requeue job %d: %w", id, err)
		}
	}
	if len(running)+len(queued) > 0 {
		slog.Info("recovered jobs", "failed", len(running), "requeued", len(queued))
	}
	return nil
}

// endLog appends a last line to a job's own log and marks all its logs
// complete, so that live viewers stop waiting.
func endLog(d *logs.Dir, jobID int64, line string) {
	jl := d.Job(jobID, nil)
	if w, err := jl.Setup(); err == nil {
		w.Printf("%s", line)
		w.Close()
	}
	jl.Close()
}

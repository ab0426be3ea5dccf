package events

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"builds/internal/build"
)

// reapLoop ends the started jobs whose runner stopped renewing its lease.
func (a *Applier) reapLoop(ctx context.Context) {
	t := time.NewTicker(max(a.opts.LeaseTime/4, 100*time.Millisecond))
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if err := a.Reap(ctx); err != nil && ctx.Err() == nil {
			slog.Warn("applier: end jobs of dead runners", "err", err)
		}
	}
}

// Reap ends, as failed, every started job whose lease has expired, with a
// line in the job's log (the master's copy) saying why.
func (a *Applier) Reap(ctx context.Context) error {
	expired, err := a.opts.Queue.Expired(ctx)
	if err != nil {
		return err
	}
	for _, e := range expired {
		if err := a.failExpired(ctx, e.JobID, e.Runner); err != nil {
			return err
		}
		if err := a.opts.Queue.Reaped(ctx, e.JobID); err != nil {
			return err
		}
	}
	return nil
}

func (a *Applier) failExpired(ctx context.Context, id int64, runner string) error {
	j, err := a.st.Job(ctx, id)
	if build.ErrorCode(err) == build.ENOTFOUND {
		return nil
	}
	if err != nil {
		return fmt.Errorf("load expired job %d: %w", id, err)
	}
	if j.Status.Terminal() {
		return nil
	}
	why := fmt.Sprintf("Runner %s stopped renewing its lease on this job (no heartbeat for %s): it is presumed dead and the job has failed.", runner, a.opts.LeaseTime)
	a.masterLog(id, why)
	for _, t := range j.Tasks {
		if t.Status == build.TaskRunning {
			if err := a.st.SetTaskStatus(ctx, id, t.Name, build.TaskFailed); err != nil && build.ErrorCode(err) == build.EINTERNAL {
				return fmt.Errorf("fail task %s of expired job %d: %w", t.Name, id, err)
			}
		}
	}
	j, err = a.st.SetJobStatus(ctx, id, build.JobFailed, "")
	if build.ErrorCode(err) == build.ECONFLICT {
		return nil // it ended meanwhile
	}
	if err != nil {
		return fmt.Errorf("fail expired job %d: %w", id, err)
	}
	slog.Warn("applier: job failed: its runner stopped renewing the lease", "job", id, "runner", runner)
	if a.opts.OnEnd != nil {
		a.opts.OnEnd(ctx, j)
	}
	return nil
}

// masterLog appends a line to the master's own copy of a job's log, which
// LogProxy serves when the runner cannot be reached.
func (a *Applier) masterLog(id int64, line string) {
	if a.opts.Logs == nil {
		return
	}
	jl := a.opts.Logs.Job(id, nil)
	w, err := jl.Setup()
	if err != nil {
		slog.Error("applier: write master log", "job", id, "err", err)
		return
	}
	w.Printf("%s", line)
	if err := w.Close(); err != nil {
		slog.Error("applier: write master log", "job", id, "err", err)
	}
	if err := jl.Close(); err != nil {
		slog.Error("applier: complete master log", "job", id, "err", err)
	}
}

package dispatch

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
	why := fmt.Sprintf("Runner %s stopped renewing its lease on this job (no heartbeat for %s): it is presumed dead and the job has failed.", runner, a.opts.LeaseTime)
	err := a.life.Fail(ctx, id, why)
	if build.ErrorCode(err) == build.ENOTFOUND {
		return nil
	}
	if err != nil {
		return fmt.Errorf("fail expired job %d: %w", id, err)
	}
	slog.Warn("applier: job lease expired", "job", id, "runner", runner)
	return nil
}

package agent

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"builds/internal/build"
	"builds/internal/runner"
	"builds/internal/wire"
)

// maxEvents caps the event stream should the master stop reading it.
const maxEvents = 1_000_000

// JobStatus reports a job's new status. The switch to running also marks
// the lease started (from then on, should this runner die, the master ends
// the job rather than handing it to another runner) and is refused when
// the job was cancelled or the lease lost.
func (a *Agent) JobStatus(ctx context.Context, jobID int64, status build.JobStatus, runnerName string) error {
	h := a.held(jobID)
	if h == nil {
		return build.Errorf(build.ECONFLICT, "runner %s no longer holds job %d", a.opts.Name, jobID)
	}
	if status == build.JobRunning {
		if err := a.start(ctx, h, jobID); err != nil {
			return err
		}
	}
	ev := &wire.Event{Kind: wire.KindJobStatus, Status: string(status)}
	if err := a.publish(ctx, h, jobID, ev); err != nil {
		return err
	}
	if status == build.JobRunning && a.opts.LogURL != "" {
		return a.publish(ctx, h, jobID, &wire.Event{Kind: wire.KindLogURL, URL: a.opts.LogURL})
	}
	return nil
}

func (a *Agent) start(ctx context.Context, h *heldJob, jobID int64) error {
	n, err := a.rdb.Exists(ctx, a.cancelKey(jobID)).Result()
	if err != nil {
		return fmt.Errorf("check job %d for a cancel: %w", jobID, err)
	}
	if n > 0 {
		return build.Errorf(build.ECONFLICT, "job %d was cancelled before it started", jobID)
	}
	return h.lease.Started(ctx)
}

// TaskStatus reports one task's new status.
func (a *Agent) TaskStatus(ctx context.Context, jobID int64, task string, status build.TaskStatus) error {
	h := a.held(jobID)
	if h == nil {
		return build.Errorf(build.ECONFLICT, "runner %s no longer holds job %d", a.opts.Name, jobID)
	}
	return a.publish(ctx, h, jobID, &wire.Event{Kind: wire.KindTaskStatus, Task: task, Status: string(status)})
}

// Artifact reports a file copied out of the guest.
func (a *Agent) Artifact(ctx context.Context, art *build.Artifact) error {
	h := a.held(art.JobID)
	if h == nil {
		return build.Errorf(build.ECONFLICT, "runner %s no longer holds job %d", a.opts.Name, art.JobID)
	}
	ev := &wire.Event{Kind: wire.KindArtifact, Path: art.Path, Name: art.Name, Size: art.Size, URL: art.URL}
	return a.publish(ctx, h, art.JobID, ev)
}

// publish numbers ev and appends it to the event stream, retrying while
// Redis is unreachable until ctx ends. A retried append may reach the
// stream twice; the master drops the second by its sequence number.
func (a *Agent) publish(ctx context.Context, h *heldJob, jobID int64, ev *wire.Event) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.seq++
	ev.Job, ev.Runner, ev.Seq, ev.Time = jobID, a.opts.Name, h.seq, time.Now().UTC()
	values, err := wire.Seal(ev, h.lease.Item().Key)
	if err != nil {
		return err
	}
	args := &goredis.XAddArgs{Stream: wire.EventStream(a.opts.Queue.Prefix), MaxLen: maxEvents, Approx: true, Values: values}
	for pause := 50 * time.Millisecond; ; pause = min(2*pause, 2*time.Second) {
		err := a.rdb.XAdd(ctx, args).Err()
		if err == nil {
			return nil
		}
		slog.Warn("agent: report failed; retrying", "job", jobID, "kind", ev.Kind, "err", err)
		select {
		case <-ctx.Done():
			return fmt.Errorf("report %s of job %d: %w", ev.Kind, jobID, err)
		case <-time.After(pause):
		}
	}
}

// Trace is the runner's Trace hook: the time from a VM's boot until its
// SSH answered is reported to the master (for its boot-time metric).
func (a *Agent) Trace(jobID int64, ev runner.Event) {
	switch ev {
	case runner.EventBooted:
		a.boots.Store(jobID, time.Now())
	case runner.EventConnected:
		t, ok := a.boots.LoadAndDelete(jobID)
		h := a.held(jobID)
		if !ok || h == nil {
			return
		}
		ms := time.Since(t.(time.Time)).Milliseconds()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := a.publish(ctx, h, jobID, &wire.Event{Kind: wire.KindBooted, BootMS: ms}); err != nil {
			slog.Warn("agent: report boot time", "job", jobID, "err", err)
		}
	case runner.EventDone:
		a.boots.Delete(jobID)
	}
}

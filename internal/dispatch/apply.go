package dispatch

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"builds/internal/build"
	"builds/internal/wire"
)

// keepPrivate is how long the master keeps per-job state in Redis.
const keepPrivate = 30 * 24 * time.Hour

// handle checks and applies one stream entry. Only errRetry asks for
// another try; a forged, stale or duplicate event is logged and dropped.
func (a *Applier) handle(ctx context.Context, m goredis.XMessage) error {
	ev, data, sum, err := wire.Decode(m.Values)
	if err != nil {
		slog.Warn("applier: dropping malformed event", "id", m.ID, "err", err)
		return nil
	}
	log := slog.With("job", ev.Job, "runner", ev.Runner, "seq", ev.Seq, "kind", ev.Kind)
	state, err := a.opts.Queue.State(ctx, ev.Job)
	if build.ErrorCode(err) == build.ENOTFOUND {
		log.Warn("applier: dropping event for a job the queue does not know")
		return nil
	}
	if err != nil {
		return errRetry{err}
	}
	if !wire.Verify(state.Item.Key, data, sum) {
		log.Warn("applier: dropping forged event: its MAC does not match the job's key")
		return nil
	}
	if state.Runner != ev.Runner {
		log.Warn("applier: dropping event from a runner that does not hold the job", "holder", state.Runner)
		return nil
	}
	fresh, err := a.fresh(ctx, ev)
	if err != nil || !fresh {
		return err
	}
	if err := a.apply(ctx, ev); err != nil {
		return err
	}
	return a.markApplied(ctx, ev)
}

func seqKey(prefix string, job int64) string { return prefix + "seq:" + strconv.FormatInt(job, 10) }

// fresh reports whether ev comes after the last event applied for its job
// from the same runner.
func (a *Applier) fresh(ctx context.Context, ev *wire.Event) (bool, error) {
	v, err := a.priv.Get(ctx, seqKey(a.opts.Prefix, ev.Job)).Result()
	if err == goredis.Nil {
		return true, nil
	}
	if err != nil {
		return false, errRetry{err}
	}
	runner, seq, _ := strings.Cut(v, " ")
	last, _ := strconv.ParseUint(seq, 10, 64)
	if runner == ev.Runner && ev.Seq <= last {
		slog.Debug("applier: dropping duplicate event", "job", ev.Job, "seq", ev.Seq)
		return false, nil
	}
	return true, nil
}

func (a *Applier) markApplied(ctx context.Context, ev *wire.Event) error {
	v := ev.Runner + " " + strconv.FormatUint(ev.Seq, 10)
	if err := a.priv.Set(ctx, seqKey(a.opts.Prefix, ev.Job), v, keepPrivate).Err(); err != nil {
		return errRetry{err}
	}
	return nil
}

// apply changes the job through the lifecycle. Domain errors (a transition the rules forbid,
// an unknown task) make the event a no-op; other errors are retried.
func (a *Applier) apply(ctx context.Context, ev *wire.Event) error {
	var err error
	switch ev.Kind {
	case wire.KindJobStatus:
		err = a.applyJobStatus(ctx, ev)
	case wire.KindTaskStatus:
		err = a.life.TaskStatus(ctx, ev.Job, ev.Task, build.TaskStatus(ev.Status))
	case wire.KindArtifact:
		err = a.life.Artifact(ctx, &build.Artifact{JobID: ev.Job, Path: ev.Path, Name: ev.Name, Size: ev.Size, URL: ev.URL})
	case wire.KindBooted:
		a.life.Booted(ev.Job, time.Duration(ev.BootMS)*time.Millisecond)
	case wire.KindLogURL:
		err = a.priv.Set(ctx, logURLKey(a.opts.Prefix, ev.Job), ev.URL, keepPrivate).Err()
	default:
		slog.Warn("applier: dropping event of unknown kind", "job", ev.Job, "kind", ev.Kind)
	}
	if err == nil {
		return nil
	}
	if code := build.ErrorCode(err); code != build.EINTERNAL {
		slog.Info("applier: event is a no-op", "job", ev.Job, "kind", ev.Kind, "status", ev.Status, "why", build.ErrorMessage(err))
		return nil
	}
	return errRetry{fmt.Errorf("apply %s of job %d: %w", ev.Kind, ev.Job, err)}
}

func logURLKey(prefix string, job int64) string {
	return prefix + "logurl:" + strconv.FormatInt(job, 10)
}

func (a *Applier) applyJobStatus(ctx context.Context, ev *wire.Event) error {
	to := build.JobStatus(ev.Status)
	runner := ""
	if to == build.JobRunning {
		runner = ev.Runner
	}
	err := a.life.JobStatus(ctx, ev.Job, to, runner)
	if err != nil {
		if to == build.JobRunning && build.ErrorCode(err) == build.ECONFLICT && a.opts.Cancel != nil {
			// The job ended (was cancelled) before the runner started it:
			// make sure the runner stops.
			if cerr := a.opts.Cancel(ctx, ev.Job); cerr != nil {
				slog.Error("applier: cancel a job that ended before it started", "job", ev.Job, "err", cerr)
			}
		}
		return err
	}
	return nil
}

package runner

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"time"

	"builds/internal/build"
	"builds/internal/guest"
	"builds/internal/logs"
	"builds/internal/manifest"
	"builds/internal/queue"
)

// job is the state of one job while it runs.
type job struct {
	r       *Runner
	id      int64
	item    queue.Item
	work    *Work
	m       *manifest.Manifest
	logs    *logs.JobLogs
	log     *logs.Writer // the job's own log
	vm      VM
	conn    *guest.Conn
	started time.Time
	// tasks holds each task's last reported status, in manifest order.
	tasks    []build.TaskStatus
	complete bool // a task called complete-build
	// stop ends the job early with a cause (a cap was reached, say).
	stop context.CancelCauseFunc
}

// reportTimeout bounds each status report, which is made even after the
// job's context ended.
const reportTimeout = 30 * time.Second

// runLease runs one leased job to its end, always leaving it terminal (when
// it could start at all) and its VM gone.
func (r *Runner) runLease(ctx context.Context, lease queue.Lease) {
	item := lease.Item()
	j := &job{r: r, id: item.JobID, item: item, started: time.Now()}
	r.trace(j.id, EventTaken)
	jobCtx, cancel := context.WithCancelCause(context.WithoutCancel(ctx))
	defer cancel(nil)
	j.stop = cancel
	stop := context.AfterFunc(ctx, func() { cancel(errRunnerStopped) })
	defer stop()
	r.track(j.id, cancel)
	defer r.untrack(j.id)
	stopBeat := r.heartbeat(jobCtx, lease, cancel)
	defer func() {
		stopBeat()
		dctx, dcancel := context.WithTimeout(context.WithoutCancel(ctx), reportTimeout)
		defer dcancel()
		if err := lease.Done(dctx); err != nil {
			slog.Error("release lease", "job", j.id, "err", err)
		}
	}()
	timeout := orDur(r.Timeout, 45*time.Minute)
	jobCtx, tcancel := context.WithTimeoutCause(jobCtx, timeout, errTimeout)
	defer tcancel()
	j.run(jobCtx, lease)
}

// heartbeat renews the lease until the returned function is called. When
// the lease is lost it stops the job through stopJob.
func (r *Runner) heartbeat(ctx context.Context, lease queue.Lease, stopJob context.CancelCauseFunc) func() {
	ctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(orDur(r.Heartbeat, 10*time.Second))
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			if r.renew(ctx, lease) {
				continue
			}
			stopJob(errLeaseLost)
			return
		}
	}()
	return func() { cancel(); <-done }
}

// renew renews the lease once; it returns false when the lease is lost.
func (r *Runner) renew(ctx context.Context, lease queue.Lease) bool {
	err := lease.Heartbeat(ctx)
	if err == nil || ctx.Err() != nil {
		return true
	}
	slog.Warn("renew lease", "job", lease.Item().JobID, "err", err)
	return r.LeaseLost == nil || !r.LeaseLost(err)
}

// run is the whole life of a job after it was taken.
func (j *job) run(ctx context.Context, lease queue.Lease) {
	if err := j.open(ctx, lease); err != nil {
		slog.Error("start job", "job", j.id, "runner", j.r.Name, "err", err)
		return
	}
	defer j.closeLogs()
	status := j.build(ctx)
	// Once the final status is out, Cancel no longer concerns this job.
	j.r.untrack(j.id)
	j.finish(ctx, status)
}

// open loads the job, opens its logs and marks it running. An error means
// the job cannot start here and is left as it is.
func (j *job) open(ctx context.Context, lease queue.Lease) error {
	if s, ok := lease.(Starter); ok {
		if err := s.Started(ctx); err != nil {
			return fmt.Errorf("mark lease started: %w", err)
		}
	}
	w, err := j.r.Jobs.Load(ctx, j.id)
	if err != nil {
		return j.abandon(ctx, fmt.Errorf("load job: %w", err))
	}
	j.work = w
	j.logs = j.r.Logs.Job(j.id, secretValues(w))
	j.logs.Limit(j.r.MaxLogBytes, func() { j.stop(errLogLimit) })
	if j.log, err = j.logs.Setup(); err != nil {
		return j.abandon(ctx, err)
	}
	if err := j.r.Reporter.JobStatus(ctx, j.id, build.JobRunning, j.r.Name); err != nil {
		j.log.Printf("Job could not start on runner %s: %s", j.r.Name, build.ErrorMessage(err))
		j.closeLogs()
		return fmt.Errorf("mark job running: %w", err)
	}
	return nil
}

// abandon ends a job that cannot even start here, so that it is not left
// queued with no lease: a job that no longer exists is just dropped, any
// other job is marked failed.
func (j *job) abandon(ctx context.Context, err error) error {
	if build.ErrorCode(err) == build.ENOTFOUND {
		return err
	}
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), reportTimeout)
	defer cancel()
	if rerr := j.r.Reporter.JobStatus(rctx, j.id, build.JobFailed, j.r.Name); rerr != nil {
		slog.Error("report job status", "job", j.id, "status", build.JobFailed, "err", rerr)
	}
	return err
}

// build runs every phase and returns the job's final status. Whatever
// happens, the VM is cleaned up before it returns.
func (j *job) build(ctx context.Context) (status build.JobStatus) {
	j.log.Printf("Job #%d on runner %s", j.id, j.r.Name)
	defer func() {
		if p := recover(); p != nil {
			slog.Error("job panicked", "job", j.id, "panic", p, "stack", string(debug.Stack()))
			j.log.Printf("Internal error in the runner; the job has failed.")
			status = build.JobFailed
		}
		j.cleanup(ctx)
	}()
	err := j.phases(ctx)
	return j.outcome(ctx, err)
}

// outcome turns the error that ended the phases into the final status and
// says why in the log.
func (j *job) outcome(ctx context.Context, err error) build.JobStatus {
	elapsed := fmtDur(time.Since(j.started))
	switch cause := context.Cause(ctx); {
	case errors.Is(cause, errCancelled):
		j.log.Printf("Job cancelled after %s.", elapsed)
		return build.JobCancelled
	case errors.Is(cause, errTimeout):
		j.log.Printf("Job timed out: it ran past the limit of %s.", orDur(j.r.Timeout, 45*time.Minute))
		return build.JobTimeout
	case errors.Is(cause, errRunnerStopped):
		j.log.Printf("The runner stopped during the job; the job has failed.")
		return build.JobFailed
	case errors.Is(cause, errLogLimit):
		j.log.Printf("Job failed after %s: its logs passed the limit of %s (the runner's max-log-size); print less, or write long output to a file and keep it as an artifact.",
			elapsed, logs.FormatBytes(j.r.MaxLogBytes))
		return build.JobFailed
	case errors.Is(cause, errLeaseLost):
		j.log.Printf("The runner lost touch with the queue and gave the job up; the job has failed.")
		return build.JobFailed
	case err != nil:
		j.log.Printf("Job failed after %s: %s", elapsed, err)
		return build.JobFailed
	case j.complete:
		j.log.Printf("complete-build was called: job succeeded after %s.", elapsed)
		return build.JobSuccess
	}
	j.log.Printf("Job succeeded after %s.", elapsed)
	return build.JobSuccess
}

// phases runs the build up to its last task and its artifacts. The
// returned error is fit for the job's log.
func (j *job) phases(ctx context.Context) error {
	m := j.work.Parsed
	if m == nil {
		var err error
		if m, err = manifest.Parse([]byte(j.work.Manifest)); err != nil {
			return fmt.Errorf("the manifest is not valid: %w", err)
		}
	}
	j.m = m
	j.tasks = make([]build.TaskStatus, len(m.Tasks))
	for i := range j.tasks {
		j.tasks[i] = build.TaskPending
	}
	steps := []func(context.Context) error{
		j.boot, j.connect, j.setup, j.addRepositories, j.installPackages,
		j.cloneSources, j.runTasks, j.uploadArtifacts,
	}
	for _, step := range steps {
		if err := step(ctx); err != nil {
			return err
		}
	}
	return nil
}

// finish reports the final status and hands the job to AfterJob.
func (j *job) finish(ctx context.Context, status build.JobStatus) {
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), reportTimeout)
	defer cancel()
	if err := j.r.Reporter.JobStatus(rctx, j.id, status, j.r.Name); err != nil {
		slog.Error("report job status", "job", j.id, "status", status, "err", err)
	}
	j.r.trace(j.id, EventDone)
	if j.r.AfterJob != nil {
		j.r.AfterJob(rctx, j.id, status)
	}
}

// cleanup closes the guest connection and removes the VM.
func (j *job) cleanup(ctx context.Context) {
	if j.conn != nil {
		_ = j.conn.Close()
	}
	if j.vm == nil {
		return
	}
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
	defer cancel()
	start := time.Now()
	if err := j.vm.Cleanup(cctx); err != nil {
		slog.Error("clean up vm", "job", j.id, "err", err)
		j.log.Printf("Cleaning up the VM failed; the runner's operator was told.")
		return
	}
	j.log.Printf("VM cleaned up (%s).", fmtDur(time.Since(start)))
}

func (j *job) closeLogs() {
	if err := j.log.Close(); err != nil {
		slog.Error("close job log", "job", j.id, "err", err)
	}
	if err := j.logs.Close(); err != nil {
		slog.Error("complete job logs", "job", j.id, "err", err)
	}
}

// setTask records and reports a task's new status.
func (j *job) setTask(ctx context.Context, i int, s build.TaskStatus) {
	j.tasks[i] = s
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), reportTimeout)
	defer cancel()
	if err := j.r.Reporter.TaskStatus(rctx, j.id, j.m.Tasks[i].Name, s); err != nil {
		slog.Error("report task status", "job", j.id, "task", j.m.Tasks[i].Name, "status", s, "err", err)
	}
}

// secretValues lists what must never appear in the job's logs.
func secretValues(w *Work) [][]byte {
	var vals [][]byte
	for _, s := range w.Secrets {
		vals = append(vals, s.Data)
	}
	if w.OAuthToken != "" {
		vals = append(vals, []byte(w.OAuthToken))
	}
	return append(vals, w.Redact...)
}

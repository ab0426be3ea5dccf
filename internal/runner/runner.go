// Package runner takes jobs from the queue and runs them: it boots a VM per
// job, drives the guest over one persistent SSH connection (package guest)
// through the phases of a build, writes the logs and reports every status
// change through a Reporter.
//
// A Runner never reaches the database: the job's manifest and secrets come
// from a JobLoader and statuses leave through a Reporter, so the same code
// serves the in-process runner of a single host and a remote one.
package runner

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"golang.org/x/crypto/ssh"

	"builds/internal/build"
	"builds/internal/logs"
	"builds/internal/manifest"
	"builds/internal/queue"
)

// Reporter receives the status changes of the jobs a runner runs. Calls for
// one job are made in order from one goroutine; calls for different jobs
// may be concurrent.
type Reporter interface {
	// JobStatus records a job's new status and the runner that set it.
	// An error on the switch to running means the job may not run (it was
	// cancelled meanwhile, say) and the runner drops it.
	JobStatus(ctx context.Context, jobID int64, status build.JobStatus, runner string) error
	// TaskStatus records one task's new status.
	TaskStatus(ctx context.Context, jobID int64, task string, status build.TaskStatus) error
	// Artifact records a file the runner copied out of the guest.
	Artifact(ctx context.Context, a *build.Artifact) error
}

// Work is what a runner needs to run a job beyond its queue item.
type Work struct {
	Manifest string // the YAML as submitted
	// Parsed is Manifest already parsed, when the loader has it; the
	// runner parses Manifest itself otherwise.
	Parsed *manifest.Manifest
	Owner  string // the owner's user name
	// Secrets are the job's secrets with their plaintext, in manifest
	// order; empty when secrets are disabled for the job.
	Secrets []build.Secret
	// OAuthToken, when not empty, is exported to tasks as OAUTH2_TOKEN
	// and redacted from the logs.
	OAuthToken string
	// Redact lists other values the job holds that must never appear in
	// its logs (tokens issued for the job, say); each is redacted in all
	// the forms secrets are.
	Redact [][]byte
}

// JobLoader loads the work of a job the runner took.
type JobLoader interface {
	Load(ctx context.Context, jobID int64) (*Work, error)
}

// VM is one booted guest.
type VM interface {
	// Addr is the host:port of the guest's SSH server.
	Addr() string
	// Cleanup stops the VM and removes its files; it may be called more
	// than once.
	Cleanup(ctx context.Context) error
}

// PackageManager is implemented by VMs that can add package repositories
// and install packages with their image's own tools (the control script's
// add-repo and install commands). Both return the tools' output.
type PackageManager interface {
	AddRepo(ctx context.Context, name, source string) (string, error)
	Install(ctx context.Context, pkgs ...string) (string, error)
}

// VMBooter boots VMs. Boot returns once the VM runs, not once its SSH
// server answers; when it fails or ctx ends nothing of the VM is left.
type VMBooter interface {
	Boot(ctx context.Context, image, arch string) (VM, error)
}

// Event names a point in a job's run, passed to Runner.Trace.
type Event string

// Events, in the order they happen.
const (
	EventTaken     Event = "taken"     // the lease was handed to the runner
	EventBooted    Event = "booted"    // the VM runs
	EventConnected Event = "connected" // the guest answered SSH
	EventTaskStart Event = "task"      // the first task is starting
	EventDone      Event = "done"      // the final status is reported
)

// Runner takes jobs from Source and runs up to Concurrency of them at once.
// Fill in the fields, then call Run; the fields must not change after.
type Runner struct {
	Name     string       // recorded on every job it runs
	Source   queue.Source // where jobs come from
	Reporter Reporter
	Jobs     JobLoader
	VM       VMBooter
	Logs     *logs.Dir
	// Signer is the runner's SSH key, the only one guests accept.
	Signer ssh.Signer
	// GuestUser is the account tasks run as; default "build", whose home
	// is GuestHome (default /home/build) and uid/gid 1000.
	GuestUser string
	GuestHome string
	// Arches the runner can boot; nil takes any.
	Arches      []string
	Concurrency int // default 1
	// Timeout bounds a whole job from the moment it is taken; default
	// 45 minutes. SetupTimeout bounds the wait for the guest's SSH server;
	// default 120 s.
	Timeout      time.Duration
	SetupTimeout time.Duration
	// Heartbeat is how often leases are renewed; default 10 s.
	Heartbeat time.Duration
	// LeaseLost, when set, tells whether a heartbeat error means the lease
	// is gone (the queue gave the job to someone else); the job is then
	// stopped at once. Other heartbeat errors are logged and retried.
	LeaseLost func(error) bool
	// CIName is exported as CI_NAME; default "sourcehut", which scripts
	// written for builds.sr.ht test for.
	CIName string
	// JobURL returns the job's web address, exported as JOB_URL.
	JobURL func(jobID int64) string
	// ArtifactsDir receives artifacts as <dir>/<job id>/<name>; when empty,
	// manifests that ask for artifacts fail. ArtifactURL, when set, gives
	// each artifact's download address.
	ArtifactsDir string
	ArtifactURL  func(jobID int64, name string) string
	// MaxLogBytes caps the output all of a job's logs may hold; past it
	// the output is discarded and the job fails. MaxArtifactBytes caps
	// each artifact and MaxArtifactsBytes all of a job's artifacts; an
	// artifact past either fails the job. Zero means no cap.
	MaxLogBytes       int64
	MaxArtifactBytes  int64
	MaxArtifactsBytes int64
	// MinFreeBytes is the free space the disks of Logs and ArtifactsDir
	// must keep: while either has less, the runner takes no job and says
	// why in its log and through Full. Zero disables the check.
	MinFreeBytes int64
	// OnFull, when set, is called when the runner stops taking jobs for
	// lack of disk space (with the reason) and when it takes them again
	// (with ""), for metrics and status pages.
	OnFull func(reason string)
	// AfterJob, when set, is called once a job's final status is reported
	// (for triggers), after its VM is cleaned up.
	AfterJob func(ctx context.Context, jobID int64, status build.JobStatus)
	// Trace, when set, is called at each Event of each job (metrics,
	// benchmarks). It must return quickly.
	Trace func(jobID int64, ev Event)

	mu      sync.Mutex
	running map[int64]context.CancelCauseFunc
	drain   context.CancelFunc
	drained bool
	full    string // why no job is taken now; see Full
}

// Causes of a job's end that are not a failure of the build itself.
var (
	errCancelled     = errors.New("the job was cancelled")
	errTimeout       = errors.New("the job ran past its time limit")
	errRunnerStopped = errors.New("the runner stopped")
	errLeaseLost     = errors.New("the runner lost the job's lease")
	errLogLimit      = errors.New("the job's logs passed their limit")
)

// Starter is implemented by leases that record when their job starts, so
// that a job that started is never handed to another runner.
type Starter interface {
	Started(ctx context.Context) error
}

// Run takes and runs jobs until Drain is called or ctx ends, then waits for
// the jobs it started. Ending ctx also ends the running jobs: each is marked
// failed with a line in its log saying the runner stopped, and its VM is
// cleaned up. Run returns nil after Drain and ctx's error otherwise.
func (r *Runner) Run(ctx context.Context) error {
	takeCtx, stop := context.WithCancel(ctx)
	defer stop()
	if !r.setDrain(stop) {
		return nil
	}
	slots := make(chan struct{}, max(r.Concurrency, 1))
	var wg sync.WaitGroup
	for {
		select {
		case slots <- struct{}{}:
		case <-takeCtx.Done():
		}
		if takeCtx.Err() != nil || !r.waitForDisk(takeCtx) {
			break
		}
		lease, err := r.Source.Take(takeCtx, r.Name, r.Arches)
		if err != nil {
			<-slots
			if takeCtx.Err() != nil {
				break
			}
			slog.Error("take job", "runner", r.Name, "err", err)
			sleep(takeCtx, time.Second)
			continue
		}
		wg.Go(func() {
			defer func() { <-slots }()
			r.runLease(ctx, lease)
		})
	}
	wg.Wait()
	return ctx.Err()
}

func (r *Runner) setDrain(stop context.CancelFunc) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.drained {
		return false
	}
	r.drain = stop
	return true
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

// Drain makes Run stop taking jobs; the running ones finish and then Run
// returns. It is safe to call at any time, more than once.
func (r *Runner) Drain() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.drained = true
	if r.drain != nil {
		r.drain()
	}
}

// Cancel cancels a job this runner is running: its VM is killed and it ends
// cancelled within seconds. It reports whether the job was running here.
func (r *Runner) Cancel(jobID int64) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	cancel, ok := r.running[jobID]
	if ok {
		cancel(errCancelled)
	}
	return ok
}

// Running returns the IDs of the jobs running now, in no order.
func (r *Runner) Running() []int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	ids := make([]int64, 0, len(r.running))
	for id := range r.running {
		ids = append(ids, id)
	}
	return ids
}

func (r *Runner) track(jobID int64, cancel context.CancelCauseFunc) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.running == nil {
		r.running = make(map[int64]context.CancelCauseFunc)
	}
	r.running[jobID] = cancel
}

func (r *Runner) untrack(jobID int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.running, jobID)
}

func (r *Runner) trace(jobID int64, ev Event) {
	if r.Trace != nil {
		r.Trace(jobID, ev)
	}
}

func (r *Runner) guestUser() string { return or(r.GuestUser, "build") }
func (r *Runner) guestHome() string { return or(r.GuestHome, "/home/build") }

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func orDur(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}

// fmtDur prints a duration the way the job log shows timings.
func fmtDur(d time.Duration) string {
	if d < time.Second {
		return fmt.Sprintf("%dms", d.Milliseconds())
	}
	return fmt.Sprintf("%.1fs", d.Seconds())
}

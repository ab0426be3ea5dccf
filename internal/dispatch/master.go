package dispatch

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"builds/internal/build"
	"builds/internal/lifecycle"
	"builds/internal/logs"
	rq "builds/internal/queue/redis"
	"builds/internal/secretbox"
	"builds/internal/store"
	"builds/internal/wire"
)

// MasterOptions configure the master's side of a distributed set-up.
type MasterOptions struct {
	NetworkKey []byte // [sr.ht] network-key, decoded
	Origin     string // the master's public URL, for JOB_URL
	LeaseTime  time.Duration
	Prefix     string
	// Life applies every change; its queue is set to the Redis queue.
	Life *lifecycle.Lifecycle
	// Logs is the master's log directory (lines it writes itself).
	Logs *logs.Dir
	// AllowLog is the master's access check for /logs/.
	AllowLog logs.AllowFunc
	// OAuthToken: see Payloads.OAuthToken.
	OAuthToken func(ctx context.Context, j *build.Job, grants string) (string, error)
}

// Master bundles the master's parts: give Queue to submit.Service,
// Canceller.OnCancel to its OnCancel hook, mount Logs at /logs/, run Run.
type Master struct {
	Queue     *rq.Queue
	Applier   *Applier
	Canceller *Canceller
	Logs      *LogProxy
	shared    goredis.UniversalClient
	st        store.Store
	life      *lifecycle.Lifecycle
	prefix    string
}

// NewMaster wires the master's side on the shared Redis (the queue) and
// the private one (nil to use the shared one).
func NewMaster(shared, private goredis.UniversalClient, st store.Store, opts MasterOptions) (*Master, error) {
	if opts.Life == nil {
		return nil, errors.New("dispatch: the lifecycle is required")
	}
	box, err := secretbox.New(opts.NetworkKey)
	if err != nil {
		return nil, fmt.Errorf("network key: %w", err)
	}
	payloads := &Payloads{Store: st, Origin: opts.Origin, OAuthToken: opts.OAuthToken}
	q, err := rq.New(shared, rq.Options{Box: box, Prefix: opts.Prefix, LeaseTime: opts.LeaseTime, Payload: payloads.Build})
	if err != nil {
		return nil, err
	}
	m := &Master{Queue: q, Canceller: NewCanceller(shared, opts.Prefix), shared: shared, st: st, life: opts.Life, prefix: wire.OrPrefix(opts.Prefix)}
	opts.Life.SetQueue(q, m.Canceller.OnCancel)
	m.Applier, err = NewApplier(shared, opts.Life, ApplierOptions{
		Queue: q, Prefix: opts.Prefix, LeaseTime: opts.LeaseTime, Private: private,
		Cancel: m.Canceller.Cancel,
	})
	if err != nil {
		return nil, err
	}
	if opts.AllowLog != nil {
		m.Logs, err = NewLogProxy(LogProxyOptions{
			Jobs: st, Allow: opts.AllowLog, LogKey: wire.LogKey(opts.NetworkKey),
			Local: opts.Logs, Private: orClient(private, shared), Prefix: opts.Prefix,
		})
	}
	return m, err
}

// Run recovers, then applies events and ends jobs of dead runners until
// ctx ends.
func (m *Master) Run(ctx context.Context) error {
	if err := m.Recover(ctx); err != nil {
		return err
	}
	return m.Applier.Run(ctx)
}

// Runners lists the live runners (for `builds runners` and the admin page).
func (m *Master) Runners(ctx context.Context) ([]RunnerInfo, error) {
	return Runners(ctx, m.shared, m.prefix)
}

// Recover reconciles the database with the queue when the master starts:
// a queued job the queue has no record of (Redis lost it) is queued again,
// and a running job the queue has no record of can never be reported on,
// so it fails. Running jobs the queue knows are left to their runners and,
// should those be dead, to the lease expiry.
func (m *Master) Recover(ctx context.Context) error {
	for _, s := range []build.JobStatus{build.JobQueued, build.JobRunning} {
		ids, err := m.st.JobsByStatus(ctx, s, 0)
		if err != nil {
			return fmt.Errorf("find %s jobs: %w", s, err)
		}
		for _, id := range ids {
			if err := m.recoverJob(ctx, id); err != nil {
				return err
			}
		}
	}
	return nil
}

func (m *Master) recoverJob(ctx context.Context, id int64) error {
	_, err := m.Queue.State(ctx, id)
	if build.ErrorCode(err) != build.ENOTFOUND {
		return err // known to the queue (nil), or Redis failed
	}
	j, err := m.st.Job(ctx, id)
	if err != nil {
		return fmt.Errorf("load job %d: %w", id, err)
	}
	switch j.Status {
	case build.JobQueued:
		slog.Warn("queued job missing from the queue; queueing it again", "job", id)
		return m.life.Requeue(ctx, j)
	case build.JobRunning:
		slog.Warn("running job missing from the queue; it cannot finish and fails", "job", id)
		return m.life.Fail(ctx, id, "The queue lost its record of this job (was Redis restarted without persistence?); it cannot finish and has failed.")
	}
	return nil
}

func orClient(c, def goredis.UniversalClient) goredis.UniversalClient {
	if c == nil {
		return def
	}
	return c
}

package dispatch

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"builds/internal/lifecycle"
	rq "builds/internal/queue/redis"
	"builds/internal/wire"
)

// ApplierOptions configure an Applier.
type ApplierOptions struct {
	Queue *rq.Queue // the master's side of the queue (job keys, expiries)
	// Prefix is the queue's key prefix; rq.DefaultPrefix when empty.
	Prefix string
	// LeaseTime is the queue's; it sets how often expiries are looked for.
	LeaseTime time.Duration
	// Private is the master's own Redis, for state runners must not
	// write (log addresses, sequence numbers). Nil uses the shared one.
	Private goredis.UniversalClient
	// Cancel tells runners to cancel a job; the Applier calls it when a
	// runner starts a job that ended meanwhile. May be nil.
	Cancel func(ctx context.Context, jobID int64) error
}

// Applier applies runners' events through the job lifecycle. Create it with
// NewApplier and call Run once.
type Applier struct {
	rdb    goredis.UniversalClient
	priv   goredis.UniversalClient
	life   *lifecycle.Lifecycle
	opts   ApplierOptions
	stream string
}

// consumerGroup and consumer name the master's reading of the events.
const (
	consumerGroup = "master"
	consumer      = "applier"
)

// retryFor bounds how long one event is retried while the store fails
// (a database restart, say) before it is dropped.
const retryFor = 5 * time.Minute

// NewApplier returns an Applier on the shared Redis rdb that applies
// events through life.
func NewApplier(rdb goredis.UniversalClient, life *lifecycle.Lifecycle, opts ApplierOptions) (*Applier, error) {
	if opts.Queue == nil {
		return nil, errors.New("applier: the queue is required")
	}
	opts.Prefix = wire.OrPrefix(opts.Prefix)
	if opts.LeaseTime <= 0 {
		opts.LeaseTime = rq.DefaultLeaseTime
	}
	priv := opts.Private
	if priv == nil {
		priv = rdb
	}
	return &Applier{rdb: rdb, priv: priv, life: life, opts: opts, stream: opts.Prefix + "events"}, nil
}

// Run applies events and ends expired jobs until ctx ends.
func (a *Applier) Run(ctx context.Context) error {
	go a.reapLoop(ctx)
	backlog := true // first the events read before a restart but not acked
	for ctx.Err() == nil {
		n, err := a.readOnce(ctx, backlog)
		if err != nil {
			if ctx.Err() != nil {
				break
			}
			slog.Warn("applier: read events", "err", err)
			sleep(ctx, time.Second)
			continue
		}
		if backlog && n == 0 {
			backlog = false
		}
	}
	return nil
}

// readOnce reads and applies one batch; it returns how many it read.
func (a *Applier) readOnce(ctx context.Context, backlog bool) (int, error) {
	id := ">"
	if backlog {
		id = "0"
	}
	res, err := a.rdb.XReadGroup(ctx, &goredis.XReadGroupArgs{
		Group: consumerGroup, Consumer: consumer, Streams: []string{a.stream, id}, Count: 100, Block: time.Second,
	}).Result()
	if errors.Is(err, goredis.Nil) {
		return 0, nil
	}
	if err != nil && strings.HasPrefix(err.Error(), "NOGROUP") {
		err = a.rdb.XGroupCreateMkStream(ctx, a.stream, consumerGroup, "0").Err()
		if err != nil && !strings.HasPrefix(err.Error(), "BUSYGROUP") {
			return 0, fmt.Errorf("create event group: %w", err)
		}
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	n := 0
	for _, st := range res {
		for _, m := range st.Messages {
			n++
			a.handleWithRetry(ctx, m)
			a.rdb.XAck(ctx, a.stream, consumerGroup, m.ID)
			a.rdb.XDel(ctx, a.stream, m.ID)
		}
	}
	return n, nil
}

// errRetry wraps errors after which the event should be applied again.
type errRetry struct{ err error }

func (e errRetry) Error() string { return e.err.Error() }

func (a *Applier) handleWithRetry(ctx context.Context, m goredis.XMessage) {
	deadline := time.Now().Add(retryFor)
	for pause := 100 * time.Millisecond; ; pause = min(2*pause, 5*time.Second) {
		err := a.handle(ctx, m)
		var r errRetry
		if !errors.As(err, &r) {
			return
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			slog.Error("applier: giving up on an event", "id", m.ID, "err", err)
			return
		}
		slog.Warn("applier: applying an event failed; retrying", "id", m.ID, "err", err)
		sleep(ctx, pause)
	}
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

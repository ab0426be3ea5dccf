package redis

import (
	"context"
	"fmt"

	"builds/internal/queue"
)

// Lease is one job handed to one runner. Its methods are safe for
// concurrent use.
type Lease struct {
	src     *Source
	runner  string
	stream  string
	entry   string
	item    queue.Item
	payload []byte
}

var _ queue.Lease = (*Lease)(nil)

// Item returns the queued job, with its per-job Key.
func (l *Lease) Item() queue.Item {
	return l.item
}

// Payload returns what the master's Payload hook added at enqueue (nil
// when there was none). The caller must not modify it.
func (l *Lease) Payload() []byte { return l.payload }

// Runner returns the name of the runner holding the lease.
func (l *Lease) Runner() string { return l.runner }

// Heartbeat renews the lease for another LeaseTime. It returns
// ErrLeaseLost when the lease had expired and was handed elsewhere.
func (l *Lease) Heartbeat(ctx context.Context) error {
	return l.run(ctx, "renew", func() (int, error) {
		return heartbeatScript.Run(ctx, l.src.rdb, l.keys(), group, l.runner, l.entry).Int()
	})
}

// Started renews the lease and records that the job has started: from now
// on, should the lease expire, the job is ended by the master instead of
// being handed to another runner. ErrLeaseLost as for Heartbeat.
func (l *Lease) Started(ctx context.Context) error {
	return l.run(ctx, "mark started", func() (int, error) {
		return startedScript.Run(ctx, l.src.rdb, l.keys(), group, l.runner, l.entry).Int()
	})
}

// Done ends the lease once the job is terminal. Calling it twice is not
// an error; ErrLeaseLost when another runner holds the job now.
func (l *Lease) Done(ctx context.Context) error {
	return l.run(ctx, "end", func() (int, error) {
		return doneScript.Run(ctx, l.src.rdb, l.keys(), group, l.runner, l.entry, int(keepDone.Seconds())).Int()
	})
}

func (l *Lease) keys() []string {
	return []string{l.stream, l.src.opts.JobKey(l.item.JobID)}
}

func (l *Lease) run(ctx context.Context, what string, f func() (int, error)) error {
	n, err := f()
	if err != nil {
		return fmt.Errorf("%s lease of job %d: %w", what, l.item.JobID, err)
	}
	if n == 0 {
		return fmt.Errorf("%s lease of job %d: %w", what, l.item.JobID, ErrLeaseLost)
	}
	return nil
}

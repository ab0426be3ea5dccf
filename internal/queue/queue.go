// Package queue hands queued jobs to runners. The local sub-package is the
// single-host queue backed by the database; redis is the distributed one.
// queuetest holds the conformance suite both pass.
package queue

import (
	"context"
	"time"
)

// Item is what a runner needs to know to take a job.
type Item struct {
	JobID int64
	Arch  string
	Image string
	// Key is a per-job secret issued at enqueue; the runner that took the
	// job proves with it that its reports concern a job it was given.
	Key      string
	Enqueued time.Time
}

// Queue is the master's side: it adds jobs and takes back ones that were
// cancelled before a runner took them.
type Queue interface {
	Enqueue(ctx context.Context, it Item) error
	// Remove drops a job that no runner has taken; it is not an error if the
	// job is not queued.
	Remove(ctx context.Context, jobID int64) error
}

// Lease is a job handed to one runner. The runner must call Heartbeat
// more often than the lease time, and Done once the job is terminal.
type Lease interface {
	Item() Item
	Heartbeat(ctx context.Context) error
	Done(ctx context.Context) error
}

// Source is the runner's side: it blocks until a job for one of arches is
// available or ctx ends.
type Source interface {
	Take(ctx context.Context, runner string, arches []string) (Lease, error)
}

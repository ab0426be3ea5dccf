// Package queue hands queued jobs to runners. The local sub-package is the
// in-memory single-host queue (the master enqueues again, at start, the jobs
// the database still has queued); redis is the distributed one. queuetest
// holds the conformance suite both pass.
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
	// Enqueue adds a job. Enqueueing a job that is already queued does not
	// queue it twice: it is handed out once.
	Enqueue(ctx context.Context, it Item) error
	// Remove drops a job that no runner has taken; it is not an error if the
	// job is not queued.
	Remove(ctx context.Context, jobID int64) error
}

// Lease is a job handed to one runner. The runner must call Heartbeat
// more often than the lease time, and Done once the job is terminal. Once a
// lease is lost (it expired and the job was handed elsewhere) Heartbeat and
// Done return an error and the runner must stop the job. Done twice is not
// an error.
type Lease interface {
	Item() Item
	Heartbeat(ctx context.Context) error
	Done(ctx context.Context) error
}

// Source is the runner's side: Take blocks until a job for one of arches is
// available, oldest first within an arch, or ctx ends (then it returns
// ctx.Err()). No job is handed to two runners at once.
type Source interface {
	Take(ctx context.Context, runner string, arches []string) (Lease, error)
}

package local

import (
	"context"
	"errors"
	"time"

	"builds/internal/queue"
)

// lease is a job handed to one runner. Its fields are guarded by q.mu.
type lease struct {
	q       *Queue
	e       *entry
	runner  string
	timer   *time.Timer // nil when leases never expire
	expires time.Time
	removed bool  // Remove was called: never queue the job again
	ended   error // nil while held; ErrLeaseLost or errDone after
}

var _ queue.Lease = (*lease)(nil)

var errDone = errors.New("lease already done")

// lease hands e to runner. The caller holds q.mu.
func (q *Queue) lease(e *entry, runner string) *lease {
	l := &lease{q: q, e: e, runner: runner}
	q.leased[e.item.JobID] = l
	if q.opts.LeaseTime > 0 {
		l.expires = time.Now().Add(q.opts.LeaseTime)
		l.timer = time.AfterFunc(q.opts.LeaseTime, l.expire)
	}
	return l
}

// Item returns the job.
func (l *lease) Item() queue.Item { return l.e.item }

// Heartbeat renews the lease for another LeaseTime. It returns ErrLeaseLost
// once the job went back to the queue.
func (l *lease) Heartbeat(ctx context.Context) error {
	l.q.mu.Lock()
	defer l.q.mu.Unlock()
	if l.ended != nil {
		return l.ended
	}
	if l.timer != nil {
		l.expires = time.Now().Add(l.q.opts.LeaseTime)
		l.timer.Reset(l.q.opts.LeaseTime)
	}
	return nil
}

// Done ends the lease once the job is terminal. Calling it twice is not an
// error; it returns ErrLeaseLost once the job went back to the queue.
func (l *lease) Done(ctx context.Context) error {
	l.q.mu.Lock()
	defer l.q.mu.Unlock()
	if errors.Is(l.ended, ErrLeaseLost) {
		return l.ended
	}
	l.end(errDone)
	return nil
}

// end releases the job with the given reason. The caller holds q.mu.
func (l *lease) end(reason error) {
	if l.ended != nil {
		return
	}
	l.ended = reason
	if l.timer != nil {
		l.timer.Stop()
	}
	if l.q.leased[l.e.item.JobID] == l {
		delete(l.q.leased, l.e.item.JobID)
	}
}

// lose ends a lease whose job is queued again. The caller holds q.mu.
func (l *lease) lose() { l.end(ErrLeaseLost) }

// giveBack ends the lease and queues its job again in its old place,
// unless it was removed meanwhile. The caller holds q.mu.
func (l *lease) giveBack() {
	if l.ended != nil {
		return
	}
	l.lose()
	if !l.removed {
		l.q.add(l.e)
	}
}

// expire runs when the lease time passes without a heartbeat. A heartbeat
// that raced with the timer firing wins.
func (l *lease) expire() {
	l.q.mu.Lock()
	defer l.q.mu.Unlock()
	if left := time.Until(l.expires); left > 0 && l.ended == nil {
		l.timer.Reset(left)
		return
	}
	l.giveBack()
}

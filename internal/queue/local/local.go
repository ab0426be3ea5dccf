// Package local is the in-process queue of a single host: the master and
// its runners share one Queue in memory. It keeps nothing on disk; after a
// restart the master enqueues again the jobs the database still has queued.
//
// Jobs are handed out first in, first out within an arch; a runner that
// asks for several arches gets the oldest job among them. A Take that is
// already waiting is handed a new job directly, without polling.
package local

import (
	"container/list"
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"builds/internal/build"
	"builds/internal/queue"
)

// ErrLeaseLost is returned by Heartbeat and Done when the lease expired and
// the job went back to the queue, or the job was enqueued again. The runner
// must stop the job.
var ErrLeaseLost = errors.New("lease lost: the job went back to the queue")

// Options configure a Queue.
type Options struct {
	// LeaseTime is how long a lease lasts without a heartbeat before its
	// job is handed to another runner. Zero means leases never expire,
	// which suits runners in the same process as the queue: they cannot die
	// without the queue.
	LeaseTime time.Duration
}

// Queue is both sides of the in-process queue. It is safe for concurrent
// use.
type Queue struct {
	opts    Options
	mu      sync.Mutex
	seq     uint64
	arches  map[string]*list.List   // arch -> *entry, oldest first
	queued  map[int64]*list.Element // job ID -> its element in arches
	leased  map[int64]*lease        // job ID -> the lease held on it
	waiters map[*waiter]struct{}    // blocked Takes
	order   []*waiter               // blocked Takes, longest waiting first
}

var (
	_ queue.Queue  = (*Queue)(nil)
	_ queue.Source = (*Queue)(nil)
)

// entry is a queued job; seq orders entries across arches.
type entry struct {
	item queue.Item
	seq  uint64
}

// waiter is a blocked Take. A job is leased to it the moment it is handed
// over, so that a Remove racing with the hand-over sees a taken job; the
// channel has room for that one lease.
type waiter struct {
	runner string
	arches []string
	ch     chan *lease
}

func (w *waiter) wants(arch string) bool {
	for _, a := range w.arches {
		if a == arch {
			return true
		}
	}
	return false
}

// New returns an empty queue.
func New(opts Options) *Queue {
	return &Queue{
		opts:    opts,
		arches:  map[string]*list.List{},
		queued:  map[int64]*list.Element{},
		leased:  map[int64]*lease{},
		waiters: map[*waiter]struct{}{},
	}
}

// Len returns the number of queued jobs (not counting leased ones).
func (q *Queue) Len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.queued)
}

// Enqueue adds a job for the runners of its arch. Enqueueing a job that is
// already queued replaces its item and keeps its place. Enqueueing a job a
// runner holds puts it back in the queue: the old lease is lost.
func (q *Queue) Enqueue(ctx context.Context, it queue.Item) error {
	if it.JobID < 1 || it.Arch == "" {
		return build.Errorf(build.EINVALID, "queue item needs a positive job ID and an arch (got %d, %q)", it.JobID, it.Arch)
	}
	if it.Enqueued.IsZero() {
		it.Enqueued = time.Now()
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	if el, ok := q.queued[it.JobID]; ok && el.Value.(*entry).item.Arch == it.Arch {
		el.Value.(*entry).item = it
		return nil
	}
	q.unqueue(it.JobID)
	if l := q.leased[it.JobID]; l != nil {
		l.lose()
	}
	q.seq++
	q.add(&entry{item: it, seq: q.seq})
	return nil
}

// add hands e to the longest-waiting Take that wants its arch, or else
// queues it in order of seq. The caller holds q.mu.
func (q *Queue) add(e *entry) {
	for i, w := range q.order {
		if w.wants(e.item.Arch) {
			q.order = append(q.order[:i], q.order[i+1:]...)
			delete(q.waiters, w)
			w.ch <- q.lease(e, w.runner)
			return
		}
	}
	l := q.arches[e.item.Arch]
	if l == nil {
		l = list.New()
		q.arches[e.item.Arch] = l
	}
	// New entries go last; only a job coming back from an expired lease
	// walks back to its place.
	mark := l.Back()
	for mark != nil && mark.Value.(*entry).seq > e.seq {
		mark = mark.Prev()
	}
	if mark == nil {
		q.queued[e.item.JobID] = l.PushFront(e)
	} else {
		q.queued[e.item.JobID] = l.InsertAfter(e, mark)
	}
}

// unqueue drops a queued job, if it is queued. The caller holds q.mu.
func (q *Queue) unqueue(jobID int64) {
	el, ok := q.queued[jobID]
	if !ok {
		return
	}
	delete(q.queued, jobID)
	q.arches[el.Value.(*entry).item.Arch].Remove(el)
}

// Remove drops a job no runner has taken. A job a runner holds is only
// marked, so that it does not come back to the queue if its lease expires.
// It is not an error if the job is unknown.
func (q *Queue) Remove(ctx context.Context, jobID int64) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.unqueue(jobID)
	if l := q.leased[jobID]; l != nil {
		l.removed = true
	}
	return nil
}

// Take blocks until a job for one of arches is handed to runner, or ctx
// ends; then it returns ctx's error.
func (q *Queue) Take(ctx context.Context, runner string, arches []string) (queue.Lease, error) {
	if len(arches) == 0 {
		return nil, build.Errorf(build.EINVALID, "runner %q takes no arch: name at least one", runner)
	}
	q.mu.Lock()
	if e := q.oldest(arches); e != nil {
		defer q.mu.Unlock()
		return q.lease(e, runner), nil
	}
	w := &waiter{runner: runner, arches: arches, ch: make(chan *lease, 1)}
	q.waiters[w] = struct{}{}
	q.order = append(q.order, w)
	q.mu.Unlock()
	select {
	case l := <-w.ch:
		return l, nil
	case <-ctx.Done():
		q.abandon(w)
		return nil, ctx.Err()
	}
}

// abandon withdraws a waiter whose context ended, giving back a job it was
// handed meanwhile.
func (q *Queue) abandon(w *waiter) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if _, ok := q.waiters[w]; ok {
		delete(q.waiters, w)
		for i, o := range q.order {
			if o == w {
				q.order = append(q.order[:i], q.order[i+1:]...)
				break
			}
		}
		return
	}
	(<-w.ch).giveBack() // it was handed a job before it could leave
}

// oldest pops the oldest entry among arches. The caller holds q.mu.
func (q *Queue) oldest(arches []string) *entry {
	var best *list.Element
	for _, a := range arches {
		l := q.arches[a]
		if l == nil || l.Len() == 0 {
			continue
		}
		if f := l.Front(); best == nil || f.Value.(*entry).seq < best.Value.(*entry).seq {
			best = f
		}
	}
	if best == nil {
		return nil
	}
	e := best.Value.(*entry)
	q.unqueue(e.item.JobID)
	return e
}

func (q *Queue) String() string { return fmt.Sprintf("local queue (%d queued)", q.Len()) }

package queuetest

import (
	"context"
	"sync"
	"testing"
	"time"

	"builds/internal/queue"
)

// OpenWithLease is like Open for a queue whose leases expire after
// leaseTime without a heartbeat.
type OpenWithLease func(tb testing.TB, leaseTime time.Duration) (queue.Queue, queue.Source)

// leaseTime is short so the suite is quick, and long enough for heartbeats
// to be on time on a busy machine.
const leaseTime = 500 * time.Millisecond

// RunLeaseExpiry checks the optional lease-expiry capability: a job whose
// runner stops heartbeating before starting it goes to another runner, the
// old lease reports an error, and heartbeats keep a lease alive.
func RunLeaseExpiry(t *testing.T, open OpenWithLease) {
	t.Run("ExpiredLeaseIsHandedOn", func(t *testing.T) {
		q, src := open(t, leaseTime)
		enqueue(t, q, item(1, "amd64"))
		dead := take(t, src, "dead", "amd64")
		start := time.Now()
		l := take(t, src, "alive", "amd64") // waits for the expiry
		if l.Item().JobID != 1 {
			t.Fatalf("took job %d, want 1", l.Item().JobID)
		}
		if waited := time.Since(start); waited < leaseTime*9/10 {
			t.Fatalf("job handed on after %v, before the lease time %v", waited, leaseTime)
		}
		if err := dead.Heartbeat(t.Context()); err == nil {
			t.Error("Heartbeat of an expired lease succeeded")
		}
		if err := dead.Done(t.Context()); err == nil {
			t.Error("Done of an expired lease succeeded")
		}
		done(t, l)
		takeNothing(t, src, "amd64")
	})
	t.Run("HeartbeatKeepsLease", func(t *testing.T) {
		q, src := open(t, leaseTime)
		enqueue(t, q, item(2, "amd64"))
		l := take(t, src, "r1", "amd64")
		stop, stopped := make(chan struct{}), make(chan struct{})
		go func() {
			defer close(stopped)
			heartbeat(t, l, stop)
		}()
		// The heartbeat goroutine must end before the subtest does, even
		// when a check below fails it.
		halt := sync.OnceFunc(func() { close(stop); <-stopped })
		defer halt()
		ctx, cancel := context.WithTimeout(t.Context(), 3*leaseTime)
		defer cancel()
		if other, err := src.Take(ctx, "r2", []string{"amd64"}); err == nil {
			t.Fatalf("job %d handed to a second runner while heartbeating", other.Item().JobID)
		}
		halt()
		done(t, l)
	})
	t.Run("RemovedJobDoesNotComeBack", func(t *testing.T) {
		q, src := open(t, leaseTime)
		enqueue(t, q, item(3, "amd64"))
		take(t, src, "dead", "amd64")
		if err := q.Remove(t.Context(), 3); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(t.Context(), 3*leaseTime)
		defer cancel()
		if l, err := src.Take(ctx, "r2", []string{"amd64"}); err == nil {
			t.Fatalf("removed job %d handed out again after its lease expired", l.Item().JobID)
		}
	})
}

func heartbeat(t *testing.T, l queue.Lease, stop <-chan struct{}) {
	tick := time.NewTicker(leaseTime / 5)
	defer tick.Stop()
	for {
		select {
		case <-stop:
			return
		case <-tick.C:
			if err := l.Heartbeat(t.Context()); err != nil {
				t.Errorf("Heartbeat: %v", err)
				return
			}
		}
	}
}

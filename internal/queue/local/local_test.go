package local_test

import (
	"testing"
	"time"

	"builds/internal/queue"
	"builds/internal/queue/local"
	"builds/internal/queue/queuetest"
)

func open(tb testing.TB) (queue.Queue, queue.Source) {
	q := local.New(local.Options{})
	return q, q
}

func TestConformance(t *testing.T) { queuetest.Run(t, open) }

func TestLeaseExpiry(t *testing.T) {
	queuetest.RunLeaseExpiry(t, func(tb testing.TB, d time.Duration) (queue.Queue, queue.Source) {
		q := local.New(local.Options{LeaseTime: d})
		return q, q
	})
}

// Without a lease time, a lease never expires however long the job runs.
func TestNoLeaseTimeNeverExpires(t *testing.T) {
	q := local.New(local.Options{})
	if err := q.Enqueue(t.Context(), queue.Item{JobID: 1, Arch: "amd64"}); err != nil {
		t.Fatal(err)
	}
	l, err := q.Take(t.Context(), "r", []string{"amd64"})
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond)
	if err := l.Heartbeat(t.Context()); err != nil {
		t.Fatalf("Heartbeat: %v", err)
	}
	if q.Len() != 0 {
		t.Fatalf("Len = %d with the only job taken", q.Len())
	}
}

func BenchmarkEnqueueToTake(b *testing.B) { queuetest.Benchmark(b, open) }

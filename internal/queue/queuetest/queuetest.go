// Package queuetest is the conformance suite every queue implementation
// passes. It checks only what the queue package promises, so that the
// in-process and the Redis queue can be swapped; capabilities not every
// queue has (lease expiry) have suites of their own.
package queuetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"builds/internal/queue"
)

// Open returns both sides of a new, empty queue; they may be one value.
// Queues made by successive calls must not share jobs.
type Open func(tb testing.TB) (queue.Queue, queue.Source)

// cancelWithin bounds how long a Take may take to notice its context ended.
// A Redis Take blocks in the server for up to a second at a time.
const cancelWithin = 3 * time.Second

// nothingWithin is how long a Take that must find nothing is given.
const nothingWithin = 200 * time.Millisecond

// Run runs the conformance suite.
func Run(t *testing.T, open Open) {
	tests := []struct {
		name string
		fn   func(*testing.T, queue.Queue, queue.Source)
	}{
		{"FIFO", testFIFO},
		{"ArchRouting", testArchRouting},
		{"TakeWaitsForEnqueue", testTakeWaits},
		{"TakeRespectsCancel", testTakeCancel},
		{"RemoveBeforeTake", testRemoveBeforeTake},
		{"RemoveAfterTake", testRemoveAfterTake},
		{"DuplicateEnqueue", testDuplicateEnqueue},
		{"DoneIsFinal", testDoneIsFinal},
		{"ConcurrentTakers", testConcurrentTakers},
		{"InvalidItem", testInvalidItem},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q, src := open(t)
			tt.fn(t, q, src)
		})
	}
}

func item(id int64, arch string) queue.Item {
	return queue.Item{JobID: id, Arch: arch, Image: "debian/bookworm",
		Key: fmt.Sprintf("key-%d", id), Enqueued: time.Now().UTC().Truncate(time.Millisecond)}
}

func enqueue(t *testing.T, q queue.Queue, items ...queue.Item) {
	t.Helper()
	for _, it := range items {
		if err := q.Enqueue(t.Context(), it); err != nil {
			t.Fatalf("Enqueue(%d): %v", it.JobID, err)
		}
	}
}

// take takes one job, failing the test if none comes within a few seconds.
func take(t *testing.T, src queue.Source, runner string, arches ...string) queue.Lease {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	l, err := src.Take(ctx, runner, arches)
	if err != nil {
		t.Fatalf("Take(%v): %v", arches, err)
	}
	return l
}

// takeNothing checks that no job for arches is handed out.
func takeNothing(t *testing.T, src queue.Source, arches ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), nothingWithin)
	defer cancel()
	l, err := src.Take(ctx, "idle-runner", arches)
	if err == nil {
		t.Fatalf("Take(%v) handed out job %d, want nothing", arches, l.Item().JobID)
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Take(%v) with nothing queued: %v, want the context's error", arches, err)
	}
}

func done(t *testing.T, l queue.Lease) {
	t.Helper()
	if err := l.Done(t.Context()); err != nil {
		t.Fatalf("Done(%d): %v", l.Item().JobID, err)
	}
}

func testFIFO(t *testing.T, q queue.Queue, src queue.Source) {
	var want []queue.Item
	for id := range int64(5) {
		want = append(want, item(100+id, "amd64"))
	}
	enqueue(t, q, want...)
	for _, w := range want {
		l := take(t, src, "r1", "amd64")
		got := l.Item()
		if got.JobID != w.JobID || got.Arch != w.Arch || got.Image != w.Image || got.Key != w.Key {
			t.Fatalf("took %+v, want %+v", got, w)
		}
		if !got.Enqueued.Equal(w.Enqueued) {
			t.Errorf("job %d: Enqueued %v, want %v", w.JobID, got.Enqueued, w.Enqueued)
		}
		done(t, l)
	}
	takeNothing(t, src, "amd64")
}

func testArchRouting(t *testing.T, q queue.Queue, src queue.Source) {
	enqueue(t, q, item(1, "arm64"), item(2, "amd64"), item(3, "arm64"), item(4, "riscv64"))
	if got := take(t, src, "x86", "amd64").Item(); got.JobID != 2 {
		t.Fatalf("amd64 runner took job %d (%s), want 2", got.JobID, got.Arch)
	}
	takeNothing(t, src, "amd64")
	takeNothing(t, src, "ppc64le")
	if got := take(t, src, "arm", "arm64").Item(); got.JobID != 1 {
		t.Fatalf("arm64 runner took job %d, want 1", got.JobID)
	}
	seen := map[int64]bool{}
	for range 2 {
		it := take(t, src, "multi", "riscv64", "arm64").Item()
		if it.Arch != "riscv64" && it.Arch != "arm64" {
			t.Fatalf("riscv64+arm64 runner took a %s job", it.Arch)
		}
		seen[it.JobID] = true
	}
	if !seen[3] || !seen[4] {
		t.Fatalf("riscv64+arm64 runner took %v, want jobs 3 and 4", seen)
	}
}

func testTakeWaits(t *testing.T, q queue.Queue, src queue.Source) {
	got := make(chan queue.Lease, 1)
	go func() {
		ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
		defer cancel()
		l, err := src.Take(ctx, "r1", []string{"amd64"})
		if err != nil {
			t.Errorf("waiting Take: %v", err)
		}
		got <- l
	}()
	time.Sleep(50 * time.Millisecond) // let it block
	enqueue(t, q, item(7, "amd64"))
	if l := <-got; l == nil || l.Item().JobID != 7 {
		t.Fatalf("waiting Take got %v, want job 7", l)
	}
}

func testTakeCancel(t *testing.T, q queue.Queue, src queue.Source) {
	ctx, cancel := context.WithCancel(t.Context())
	errc := make(chan error, 1)
	go func() {
		_, err := src.Take(ctx, "r1", []string{"amd64"})
		errc <- err
	}()
	time.Sleep(50 * time.Millisecond)
	cancel()
	select {
	case err := <-errc:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("cancelled Take: %v, want context.Canceled", err)
		}
	case <-time.After(cancelWithin):
		t.Fatalf("Take still blocked %v after its context was cancelled", cancelWithin)
	}
	// The abandoned Take must not swallow a job enqueued afterwards.
	enqueue(t, q, item(8, "amd64"))
	if got := take(t, src, "r2", "amd64").Item(); got.JobID != 8 {
		t.Fatalf("took job %d, want 8", got.JobID)
	}
}

func testRemoveBeforeTake(t *testing.T, q queue.Queue, src queue.Source) {
	enqueue(t, q, item(1, "amd64"), item(2, "amd64"), item(3, "amd64"))
	for _, id := range []int64{2, 1, 999} { // 999 was never queued
		if err := q.Remove(t.Context(), id); err != nil {
			t.Fatalf("Remove(%d): %v", id, err)
		}
	}
	if got := take(t, src, "r1", "amd64").Item(); got.JobID != 3 {
		t.Fatalf("took job %d, want 3", got.JobID)
	}
	takeNothing(t, src, "amd64")
}

func testRemoveAfterTake(t *testing.T, q queue.Queue, src queue.Source) {
	enqueue(t, q, item(1, "amd64"))
	l := take(t, src, "r1", "amd64")
	if err := q.Remove(t.Context(), 1); err != nil {
		t.Fatalf("Remove of a taken job: %v", err)
	}
	if err := l.Heartbeat(t.Context()); err != nil {
		t.Fatalf("Heartbeat after Remove: %v", err)
	}
	done(t, l)
	takeNothing(t, src, "amd64")
}

func testDuplicateEnqueue(t *testing.T, q queue.Queue, src queue.Source) {
	enqueue(t, q, item(1, "amd64"), item(1, "amd64"))
	l := take(t, src, "r1", "amd64")
	if l.Item().JobID != 1 {
		t.Fatalf("took job %d, want 1", l.Item().JobID)
	}
	takeNothing(t, src, "amd64")
}

func testDoneIsFinal(t *testing.T, q queue.Queue, src queue.Source) {
	enqueue(t, q, item(1, "amd64"))
	l := take(t, src, "r1", "amd64")
	if err := l.Heartbeat(t.Context()); err != nil {
		t.Fatalf("Heartbeat: %v", err)
	}
	done(t, l)
	if err := l.Done(t.Context()); err != nil {
		t.Fatalf("second Done: %v", err)
	}
	takeNothing(t, src, "amd64")
}

func testInvalidItem(t *testing.T, q queue.Queue, src queue.Source) {
	for _, it := range []queue.Item{item(0, "amd64"), item(1, "")} {
		if err := q.Enqueue(t.Context(), it); err == nil {
			t.Errorf("Enqueue(%+v) succeeded", it)
		}
	}
}

// testConcurrentTakers checks that no job is handed out twice and none is
// lost when many runners take at once.
func testConcurrentTakers(t *testing.T, q queue.Queue, src queue.Source) {
	const jobs, takers = 200, 8
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var mu sync.Mutex
	got := map[int64]string{}
	var wg sync.WaitGroup
	for r := range takers {
		runner := fmt.Sprintf("r%d", r)
		wg.Go(func() {
			for {
				l, err := src.Take(ctx, runner, []string{"amd64", "arm64"})
				if err != nil {
					return
				}
				mu.Lock()
				if prev, dup := got[l.Item().JobID]; dup {
					t.Errorf("job %d handed to %s and to %s", l.Item().JobID, prev, runner)
				}
				got[l.Item().JobID] = runner
				n := len(got)
				mu.Unlock()
				if err := l.Done(t.Context()); err != nil {
					t.Errorf("Done: %v", err)
				}
				if n == jobs {
					cancel()
				}
			}
		})
	}
	for id := range int64(jobs) {
		enqueue(t, q, item(id+1, []string{"amd64", "arm64"}[id%2]))
	}
	select {
	case <-ctx.Done():
	case <-time.After(30 * time.Second):
		cancel()
	}
	wg.Wait()
	if len(got) != jobs {
		t.Fatalf("%d of %d jobs taken", len(got), jobs)
	}
}

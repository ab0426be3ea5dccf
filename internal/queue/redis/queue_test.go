package redis_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"builds/internal/queue"
	rq "builds/internal/queue/redis"
	"builds/internal/secretbox"
	"builds/internal/testenv"
)

const testLease = 2 * time.Second

func newPair(t *testing.T, addr string) (*rq.Queue, *rq.Source, *goredis.Client) {
	t.Helper()
	box, err := secretbox.New(testKey)
	if err != nil {
		t.Fatal(err)
	}
	rdb := goredis.NewClient(&goredis.Options{Addr: addr})
	t.Cleanup(func() { rdb.Close() })
	opts := rq.Options{Box: box, LeaseTime: testLease, Payload: func(_ context.Context, it queue.Item) ([]byte, error) {
		return fmt.Appendf(nil, "payload of %d", it.JobID), nil
	}}
	q, err := rq.New(rdb, opts)
	if err != nil {
		t.Fatal(err)
	}
	src, err := rq.NewSource(rdb, opts)
	if err != nil {
		t.Fatal(err)
	}
	return q, src, rdb
}

var testKey = []byte("0123456789abcdef0123456789abcdef")

func item(id int64, arch string) queue.Item {
	return queue.Item{JobID: id, Arch: arch, Image: "debian/bookworm", Key: fmt.Sprintf("key-%d", id), Enqueued: time.Now().UTC()}
}

func take(t *testing.T, src *rq.Source, runner string, arches ...string) *rq.Lease {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	l, err := src.Take(ctx, runner, arches)
	if err != nil {
		t.Fatalf("take by %s: %v", runner, err)
	}
	return l.(*rq.Lease)
}

func noTake(t *testing.T, src *rq.Source, runner string, wait time.Duration, arches ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), wait)
	defer cancel()
	if l, err := src.Take(ctx, runner, arches); err == nil {
		t.Fatalf("take by %s got job %d, want none", runner, l.Item().JobID)
	}
}

func TestEnqueueTakePayloadAndArchRouting(t *testing.T) {
	q, src, _ := newPair(t, testenv.Redis(t))
	ctx := t.Context()
	if err := q.Enqueue(ctx, item(1, "arm64")); err != nil {
		t.Fatal(err)
	}
	if err := q.Enqueue(ctx, item(2, "amd64")); err != nil {
		t.Fatal(err)
	}
	l := take(t, src, "r1", "amd64")
	if got := l.Item(); got.JobID != 2 || got.Key != "key-2" || got.Arch != "amd64" {
		t.Fatalf("took %+v, want job 2 with its key", got)
	}
	if string(l.Payload()) != "payload of 2" {
		t.Fatalf("payload %q", l.Payload())
	}
	noTake(t, src, "r1", 300*time.Millisecond, "amd64")
	l2 := take(t, src, "r2", "amd64", "arm64")
	if l2.Item().JobID != 1 {
		t.Fatalf("took job %d, want 1", l2.Item().JobID)
	}
	for _, l := range []*rq.Lease{l, l2} {
		if err := l.Done(ctx); err != nil {
			t.Fatal(err)
		}
		if err := l.Done(ctx); err != nil {
			t.Fatalf("second Done: %v", err)
		}
	}
}

func TestUnstartedExpiredLeaseGoesToAnotherRunner(t *testing.T) {
	q, src, _ := newPair(t, testenv.Redis(t))
	ctx := t.Context()
	q.Enqueue(ctx, item(7, "amd64"))
	dead := take(t, src, "dead", "amd64")
	start := time.Now()
	l := take(t, src, "alive", "amd64")
	if l.Item().JobID != 7 || l.Item().Key != "key-7" {
		t.Fatalf("took %+v", l.Item())
	}
	if d := time.Since(start); d < testLease-100*time.Millisecond || d > testLease+2*time.Second {
		t.Fatalf("handed over after %v, want about %v", d, testLease)
	}
	if err := dead.Heartbeat(ctx); !errors.Is(err, rq.ErrLeaseLost) {
		t.Fatalf("dead runner's heartbeat: %v, want ErrLeaseLost", err)
	}
	if err := dead.Done(ctx); !errors.Is(err, rq.ErrLeaseLost) {
		t.Fatalf("dead runner's done: %v, want ErrLeaseLost", err)
	}
	if exp, err := q.Expired(ctx); err != nil || len(exp) != 0 {
		t.Fatalf("Expired = %v, %v; want none", exp, err)
	}
	if err := l.Done(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestStartedExpiredLeaseGoesToMaster(t *testing.T) {
	q, src, _ := newPair(t, testenv.Redis(t))
	ctx := t.Context()
	q.Enqueue(ctx, item(8, "amd64"))
	l := take(t, src, "dies", "amd64")
	if err := l.Started(ctx); err != nil {
		t.Fatal(err)
	}
	noTake(t, src, "other", testLease+time.Second, "amd64")
	exp, err := q.Expired(ctx)
	if err != nil || len(exp) != 1 || exp[0] != (rq.ExpiredJob{JobID: 8, Runner: "dies"}) {
		t.Fatalf("Expired = %+v, %v; want job 8 of runner dies", exp, err)
	}
	// Until the master confirms, the job is returned again.
	if exp, _ := q.Expired(ctx); len(exp) != 1 {
		t.Fatalf("second Expired = %+v, want job 8 again", exp)
	}
	st, err := q.State(ctx, 8)
	if err != nil || st.Runner != "dies" || !st.Started || st.Item.Key != "key-8" {
		t.Fatalf("State = %+v, %v", st, err)
	}
	if err := q.Reaped(ctx, 8); err != nil {
		t.Fatal(err)
	}
	if exp, _ := q.Expired(ctx); len(exp) != 0 {
		t.Fatalf("Expired after Reaped = %+v, want none", exp)
	}
	if err := l.Heartbeat(ctx); !errors.Is(err, rq.ErrLeaseLost) {
		t.Fatalf("heartbeat after expiry: %v", err)
	}
}

func TestHeartbeatKeepsLease(t *testing.T) {
	q, src, _ := newPair(t, testenv.Redis(t))
	ctx := t.Context()
	q.Enqueue(ctx, item(9, "amd64"))
	l := take(t, src, "busy", "amd64")
	var wg sync.WaitGroup
	wg.Go(func() { noTake(t, src, "other", 2*testLease, "amd64") })
	for range 8 {
		time.Sleep(testLease / 4)
		if err := l.Heartbeat(ctx); err != nil {
			t.Fatal(err)
		}
	}
	wg.Wait()
}

func TestRemove(t *testing.T) {
	q, src, _ := newPair(t, testenv.Redis(t))
	ctx := t.Context()
	q.Enqueue(ctx, item(1, "amd64"))
	q.Enqueue(ctx, item(2, "amd64"))
	if err := q.Remove(ctx, 1); err != nil {
		t.Fatal(err)
	}
	if err := q.Remove(ctx, 99); err != nil {
		t.Fatalf("removing an unknown job: %v", err)
	}
	l := take(t, src, "r", "amd64")
	if l.Item().JobID != 2 {
		t.Fatalf("took %d, want 2", l.Item().JobID)
	}
	// A taken job that is removed is not handed to anyone else when its
	// runner dies.
	q.Remove(ctx, 2)
	noTake(t, src, "r2", testLease+time.Second, "amd64")
}

func TestEnqueueTwiceKeepsOneEntry(t *testing.T) {
	q, src, _ := newPair(t, testenv.Redis(t))
	ctx := t.Context()
	q.Enqueue(ctx, item(3, "amd64"))
	q.Enqueue(ctx, item(3, "amd64"))
	take(t, src, "r", "amd64")
	noTake(t, src, "r", 300*time.Millisecond, "amd64")
}

func TestWrongNetworkKeyIsAnError(t *testing.T) {
	q, _, rdb := newPair(t, testenv.Redis(t))
	q.Enqueue(t.Context(), item(4, "amd64"))
	other, _ := secretbox.New([]byte("fedcba9876543210fedcba9876543210"))
	src, _ := rq.NewSource(rdb, rq.Options{Box: other, LeaseTime: testLease})
	// The deadline only keeps a broken Take from hanging the test: the
	// error must come from the payload, long before it.
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	l, err := src.Take(ctx, "r", []string{"amd64"})
	if err == nil {
		t.Fatalf("took job %d sealed with another key", l.Item().JobID)
	}
	if !errors.Is(err, rq.ErrUnsealable) || ctx.Err() != nil || !strings.Contains(err.Error(), "network key") {
		t.Fatalf("Take = %v (deadline passed: %v); want ErrUnsealable saying the network key is wrong", err, ctx.Err() != nil)
	}
}

func TestRedisRestartLosesNoQueuedJob(t *testing.T) {
	srv := testenv.StartRedis(t, testenv.RedisOptions{AppendOnly: true})
	q, src, _ := newPair(t, srv.Addr)
	ctx := t.Context()
	for i := range int64(20) {
		if err := q.Enqueue(ctx, item(i+1, "amd64")); err != nil {
			t.Fatal(err)
		}
	}
	first := take(t, src, "r", "amd64")
	srv.Kill(t) // a crash, not a clean shutdown
	srv.Start(t)
	seen := map[int64]bool{first.Item().JobID: true}
	if err := first.Done(ctx); err != nil {
		t.Fatalf("done after restart: %v", err)
	}
	for range 19 {
		l := take(t, src, "r", "amd64")
		if seen[l.Item().JobID] {
			t.Fatalf("job %d handed out twice", l.Item().JobID)
		}
		seen[l.Item().JobID] = true
		l.Done(ctx)
	}
	noTake(t, src, "r", 300*time.Millisecond, "amd64")
}

// A runner whose lease expired and was handed to another runner must not
// start the job: Started fails, and the job stays with the new holder,
// unstarted, so the job never runs twice.
func TestStartedOnReclaimedLeaseIsRefused(t *testing.T) {
	q, src, _ := newPair(t, testenv.Redis(t))
	ctx := t.Context()
	q.Enqueue(ctx, item(11, "amd64"))
	slow := take(t, src, "slow", "amd64")
	heir := take(t, src, "heir", "amd64") // after slow's lease expired
	if heir.Item().JobID != 11 {
		t.Fatalf("heir took job %d, want 11", heir.Item().JobID)
	}
	if err := slow.Started(ctx); !errors.Is(err, rq.ErrLeaseLost) {
		t.Fatalf("Started on a reclaimed lease: %v, want ErrLeaseLost", err)
	}
	st, err := q.State(ctx, 11)
	if err != nil || st.Runner != "heir" || st.Started {
		t.Fatalf("State = %+v, %v; want held by heir, not started", st, err)
	}
	if err := heir.Started(ctx); err != nil {
		t.Fatalf("heir's Started: %v", err)
	}
	if err := slow.Done(ctx); !errors.Is(err, rq.ErrLeaseLost) {
		t.Fatalf("slow's Done: %v, want ErrLeaseLost", err)
	}
	if st, _ := q.State(ctx, 11); st == nil || st.Runner != "heir" || !st.Started {
		t.Fatalf("State after heir started = %+v", st)
	}
}

// A lease that expired while nobody else took the job may still be
// started: the runner that holds it renews it, and from then on the job
// is never handed to another runner.
func TestStartedOnExpiredUnclaimedLease(t *testing.T) {
	q, src, rdb := newPair(t, testenv.Redis(t))
	ctx := t.Context()
	q.Enqueue(ctx, item(12, "amd64"))
	late := take(t, src, "late", "amd64")
	// Wait until Redis itself says the entry has been idle past the lease.
	waitIdle(t, rdb, testLease)
	if err := late.Started(ctx); err != nil {
		t.Fatalf("Started on an expired lease nobody reclaimed: %v", err)
	}
	noTake(t, src, "other", testLease+time.Second, "amd64")
	st, err := q.State(ctx, 12)
	if err != nil || st.Runner != "late" || !st.Started {
		t.Fatalf("State = %+v, %v; want started by late", st, err)
	}
}

// waitIdle waits until the queue's only pending entry has been idle for
// longer than d.
func waitIdle(t *testing.T, rdb *goredis.Client, d time.Duration) {
	t.Helper()
	deadline := time.Now().Add(d + 10*time.Second)
	for {
		keys := []string{rq.DefaultPrefix + "q:amd64"}
		for _, k := range keys {
			p, err := rdb.XPendingExt(t.Context(), &goredis.XPendingExtArgs{Stream: k, Group: "runners", Start: "-", End: "+", Count: 1}).Result()
			if err == nil && len(p) == 1 && p[0].Idle > d {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no queue entry idle for %v (streams %v)", d, keys)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

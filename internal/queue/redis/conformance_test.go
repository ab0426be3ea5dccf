package redis_test

import (
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"builds/internal/queue"
	"builds/internal/queue/queuetest"
	rq "builds/internal/queue/redis"
	"builds/internal/secretbox"
	"builds/internal/testenv"
)

var prefixes atomic.Int64

// opener returns queues on one Redis server, each under its own prefix.
func opener(addr string, lease time.Duration) func(tb testing.TB) (queue.Queue, queue.Source) {
	return func(tb testing.TB) (queue.Queue, queue.Source) {
		box, err := secretbox.New(testKey)
		if err != nil {
			tb.Fatal(err)
		}
		rdb := goredis.NewClient(&goredis.Options{Addr: addr})
		tb.Cleanup(func() { rdb.Close() })
		opts := rq.Options{Box: box, LeaseTime: lease, Prefix: fmt.Sprintf("t%d:", prefixes.Add(1))}
		q, err := rq.New(rdb, opts)
		if err != nil {
			tb.Fatal(err)
		}
		src, err := rq.NewSource(rdb, opts)
		if err != nil {
			tb.Fatal(err)
		}
		return q, src
	}
}

func TestConformance(t *testing.T) {
	queuetest.Run(t, opener(testenv.Redis(t), 0))
}

func TestLeaseExpiry(t *testing.T) {
	addr := testenv.Redis(t)
	queuetest.RunLeaseExpiry(t, func(tb testing.TB, d time.Duration) (queue.Queue, queue.Source) {
		return opener(addr, d)(tb)
	})
}

func BenchmarkEnqueueToTake(b *testing.B) {
	queuetest.Benchmark(b, opener(testenv.Redis(b), 0))
}

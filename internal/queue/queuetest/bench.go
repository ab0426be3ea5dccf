package queuetest

import (
	"testing"
	"time"
)

// Benchmark measures the latency from Enqueue to a waiting runner's Take
// returning the job on the bare queue, reported as "ms-enqueue-to-take".
// It is one part of a submission's way to a runner; the whole way, from a
// GraphQL submit to the runner starting the job, is measured by
// BenchmarkSubmitToRunnerStart in cmd/builds.
func Benchmark(b *testing.B, open Open) {
	q, src := open(b)
	ctx := b.Context()
	taken := make(chan time.Duration)
	start := make(chan time.Time, 1)
	go func() {
		for {
			l, err := src.Take(ctx, "bench", []string{"amd64"})
			if err != nil {
				return
			}
			t0 := <-start
			taken <- time.Since(t0)
			if err := l.Done(ctx); err != nil {
				b.Errorf("Done: %v", err)
			}
		}
	}()
	var total time.Duration
	var id int64
	for b.Loop() {
		id++
		time.Sleep(100 * time.Microsecond) // let the runner block in Take again
		start <- time.Now()
		if err := q.Enqueue(ctx, item(id, "amd64")); err != nil {
			b.Fatal(err)
		}
		total += <-taken
	}
	b.ReportMetric(float64(total.Microseconds())/1000/float64(b.N), "ms-enqueue-to-take")
}

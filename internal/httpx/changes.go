package httpx

import "time"

// WatchFunc returns a channel that receives a value whenever job jobID
// changes, and a function that ends the watch (lifecycle.Bus.WatchJob).
type WatchFunc func(jobID int64) (<-chan struct{}, func())

// Changes returns a channel that receives a value when job jobID may have
// changed, and a function that stops it. With watch set, values are pushed
// by the job's changes, plus one at once so that a change made before the
// watch began is not missed: a live view then reads the job only when it
// changed. Without watch, a ticker fires every poll.
func Changes(watch WatchFunc, jobID int64, poll time.Duration) (<-chan struct{}, func()) {
	out := make(chan struct{}, 1)
	done := make(chan struct{})
	if watch == nil {
		tick := time.NewTicker(poll)
		go forward(done, tick.C, out)
		return out, func() { tick.Stop(); close(done) }
	}
	ch, stop := watch(jobID)
	out <- struct{}{}
	go forward(done, ch, out)
	return out, func() { close(done); stop() }
}

// forward turns every value of in into at most one waiting value of out,
// until done closes or in does.
func forward[T any](done <-chan struct{}, in <-chan T, out chan<- struct{}) {
	for {
		select {
		case <-done:
			return
		case _, ok := <-in:
			if !ok {
				return
			}
		}
		select {
		case out <- struct{}{}:
		default:
		}
	}
}

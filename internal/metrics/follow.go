package metrics

import (
	"log/slog"
	"time"

	"builds/internal/lifecycle"
)

// followBuffer is large so that the metrics, which cannot re-read what
// they missed, fall behind only under extreme bursts.
const followBuffer = 4096

// Follow feeds the instruments from the events of bus, in both modes
// alike, until the returned function is called.
func (m *Metrics) Follow(bus *lifecycle.Bus) (stop func()) {
	sub := bus.Subscribe(followBuffer, nil)
	exited := make(chan struct{})
	go func() {
		defer close(exited)
		started := map[int64]time.Time{}
		queued := map[int64]bool{}
		for range sub.Ready() {
			evs, missed := sub.Next()
			if missed {
				slog.Warn("metrics fell behind the job events; some were not counted")
			}
			for i := range evs {
				m.apply(&evs[i], started, queued)
			}
		}
	}()
	return func() {
		sub.Close()
		<-exited
	}
}

// apply counts one event; started holds when running jobs started, queued
// the jobs counted as queued.
func (m *Metrics) apply(ev *lifecycle.Event, started map[int64]time.Time, queued map[int64]bool) {
	if ev.Kind == lifecycle.JobStarted || ev.Kind == lifecycle.JobEnded {
		if queued[ev.JobID] {
			delete(queued, ev.JobID)
			m.Dequeued()
		}
	}
	switch ev.Kind {
	case lifecycle.JobCreated:
		m.Submitted()
	case lifecycle.JobQueued:
		if !queued[ev.JobID] {
			queued[ev.JobID] = true
			m.Queued()
		}
	case lifecycle.JobStarted:
		started[ev.JobID] = ev.Time
		m.Started(ev.Job.Created)
	case lifecycle.VMBooted:
		m.Booted(ev.Boot)
	case lifecycle.JobEnded:
		t, ok := started[ev.JobID]
		delete(started, ev.JobID)
		var d time.Duration
		if ok {
			d = ev.Time.Sub(t)
		}
		m.Finished(ev.Status, d, ok)
	}
}

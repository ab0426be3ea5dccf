package lifecycle

import (
	"sync"
	"time"

	"builds/internal/build"
)

// Kind names what happened to a job.
type Kind string

// Event kinds, in the order a job that runs to the end produces them.
const (
	JobCreated    Kind = "job_created"    // stored; Job is the new job
	JobQueued     Kind = "job_queued"     // handed to the queue
	JobStarted    Kind = "job_started"    // a runner started it; Runner says which
	VMBooted      Kind = "vm_booted"      // its VM answered SSH after Boot
	TaskChanged   Kind = "task_changed"   // Task moved to TaskStatus
	ArtifactAdded Kind = "artifact_added" // Artifact was recorded
	JobEnded      Kind = "job_ended"      // it reached the terminal Status
)

// Event is one stored change of a job. Seq orders all events of a Bus; a
// job's events are published in the order their changes were stored.
type Event struct {
	Seq        uint64
	Kind       Kind
	JobID      int64
	Time       time.Time
	Status     build.JobStatus  // the job's status after the change (job kinds)
	Job        *build.Job       // the job as stored after the change (job kinds); do not modify
	Runner     string           // JobStarted
	Task       string           // TaskChanged
	TaskStatus build.TaskStatus // TaskChanged
	Artifact   *build.Artifact  // ArtifactAdded
	Boot       time.Duration    // VMBooted
}

// Bus hands events to in-process subscribers. Publishing never waits for
// a subscriber: each has a bounded buffer, and one that falls behind loses
// its buffered events and is told so (Subscription.Next's missed), after
// which it re-reads what it needs from the store, where every change was
// stored before it was published. A Bus is safe for concurrent use.
type Bus struct {
	mu   sync.Mutex
	seq  uint64
	subs map[*Subscription]struct{}
}

// NewBus returns a Bus with no subscribers.
func NewBus() *Bus { return &Bus{subs: map[*Subscription]struct{}{}} }

// DefaultBuffer is the events a subscription holds when asked for none.
const DefaultBuffer = 256

// Subscribe returns a subscription to the events that filter accepts (all
// when filter is nil), holding at most buffer of them (DefaultBuffer when
// buffer <= 0). filter runs on the publisher's goroutine: it must be fast
// and must not block. Close the subscription when done.
func (b *Bus) Subscribe(buffer int, filter func(*Event) bool) *Subscription {
	if buffer <= 0 {
		buffer = DefaultBuffer
	}
	s := &Subscription{bus: b, max: buffer, filter: filter, ready: make(chan struct{}, 1)}
	b.mu.Lock()
	b.subs[s] = struct{}{}
	b.mu.Unlock()
	return s
}

// Publish numbers ev and hands it to every subscriber whose filter accepts
// it. It never blocks on a subscriber.
func (b *Bus) Publish(ev Event) {
	if ev.Time.IsZero() {
		ev.Time = time.Now()
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.seq++
	ev.Seq = b.seq
	for s := range b.subs {
		if s.filter == nil || s.filter(&ev) {
			s.push(ev)
		}
	}
}

// Subscribers returns how many subscriptions are open.
func (b *Bus) Subscribers() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.subs)
}

// Subscription is one subscriber's queue of events. Wait on Ready, then
// take what arrived with Next. Its methods are safe for concurrent use.
type Subscription struct {
	bus    *Bus
	filter func(*Event) bool
	max    int
	ready  chan struct{}
	once   sync.Once

	mu     sync.Mutex
	buf    []Event
	missed bool
}

func (s *Subscription) push(ev Event) {
	s.mu.Lock()
	if len(s.buf) >= s.max {
		// Falling behind: drop what is buffered rather than block the
		// writer; the subscriber re-reads the store.
		s.buf, s.missed = s.buf[:0], true
	}
	s.buf = append(s.buf, ev)
	s.mu.Unlock()
	select {
	case s.ready <- struct{}{}:
	default:
	}
}

// Ready receives a value when events may be waiting for Next; it is
// closed by Close, so `for range sub.Ready()` ends with the subscription.
func (s *Subscription) Ready() <-chan struct{} { return s.ready }

// Next returns the events that arrived since the last call, oldest first.
// missed is true when events were dropped because the subscriber fell
// behind: the caller should re-read the state it tracks from the store.
func (s *Subscription) Next() (events []Event, missed bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	events, missed = s.buf, s.missed
	s.buf, s.missed = nil, false
	return events, missed
}

// Close ends the subscription: it receives no more events and Ready is
// closed. Calling it again does nothing.
func (s *Subscription) Close() {
	s.bus.mu.Lock()
	delete(s.bus.subs, s)
	s.bus.mu.Unlock()
	// Publish pushes under the bus's lock, so none is under way now.
	s.once.Do(func() { close(s.ready) })
}

// WatchJob returns a channel that receives a value whenever job jobID
// changes (or events were missed), and a function that stops the watch.
// It suits viewers that re-read the job on change: they hold no query open
// and make none while nothing changes.
func (b *Bus) WatchJob(jobID int64) (<-chan struct{}, func()) {
	s := b.Subscribe(8, func(ev *Event) bool { return ev.JobID == jobID })
	return s.ready, s.Close
}

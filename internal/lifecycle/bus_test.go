package lifecycle_test

import (
	"testing"

	"builds/internal/lifecycle"
)

func TestBusOrdersAndFilters(t *testing.T) {
	bus := lifecycle.NewBus()
	all := bus.Subscribe(0, nil)
	one := bus.Subscribe(0, func(ev *lifecycle.Event) bool { return ev.JobID == 2 })
	for id := int64(1); id <= 3; id++ {
		bus.Publish(lifecycle.Event{Kind: lifecycle.JobCreated, JobID: id})
	}
	evs, missed := all.Next()
	if missed || len(evs) != 3 || evs[0].Seq >= evs[1].Seq || evs[1].Seq >= evs[2].Seq {
		t.Fatalf("all: %+v missed %v; want 3 events in order", evs, missed)
	}
	evs, _ = one.Next()
	if len(evs) != 1 || evs[0].JobID != 2 {
		t.Fatalf("filtered: %+v; want job 2 only", evs)
	}
	if evs, _ := one.Next(); len(evs) != 0 {
		t.Fatalf("second Next: %+v; want nothing new", evs)
	}
}

func TestBusSlowSubscriberMissesAndIsTold(t *testing.T) {
	bus := lifecycle.NewBus()
	slow := bus.Subscribe(2, nil)
	for id := int64(1); id <= 5; id++ {
		bus.Publish(lifecycle.Event{Kind: lifecycle.JobCreated, JobID: id}) // must not block
	}
	evs, missed := slow.Next()
	if !missed || len(evs) == 0 || evs[len(evs)-1].JobID != 5 {
		t.Fatalf("got %+v missed %v; want the newest events and missed", evs, missed)
	}
	if _, missed := slow.Next(); missed {
		t.Fatal("missed is reported once")
	}
}

func TestBusCloseEndsReady(t *testing.T) {
	bus := lifecycle.NewBus()
	sub := bus.Subscribe(0, nil)
	sub.Close()
	sub.Close()
	bus.Publish(lifecycle.Event{Kind: lifecycle.JobCreated, JobID: 1})
	for range sub.Ready() {
	}
	if n := bus.Subscribers(); n != 0 {
		t.Fatalf("%d subscribers after Close", n)
	}
}

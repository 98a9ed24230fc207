package connset

import (
	"context"
	"testing"
	"time"
)

// TestSetWait: Wait returns 0 once the last session is removed, and the
// number left when its context ends first; Each sees every session.
func TestSetWait(t *testing.T) {
	var s Set[int]
	if n := s.Wait(context.Background()); n != 0 {
		t.Fatalf("empty set: Wait = %d, want 0", n)
	}
	s.Add(1)
	s.Add(2)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if n := s.Wait(ctx); n != 2 {
		t.Fatalf("Wait at the timeout = %d, want 2", n)
	}
	seen := 0
	s.Each(func(int) { seen++ })
	if seen != 2 || s.Len() != 2 {
		t.Fatalf("Each saw %d, Len %d, want 2", seen, s.Len())
	}
	done := make(chan int)
	go func() { done <- s.Wait(context.Background()) }()
	s.Remove(1)
	s.Remove(2)
	select {
	case n := <-done:
		if n != 0 {
			t.Fatalf("Wait = %d after the last Remove, want 0", n)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Wait did not return after the last Remove")
	}
}

// TestSlots: TakeSlot blocks when the slots are taken and gives up when
// the listener closes; GiveSlot frees one; nil slots never block.
func TestSlots(t *testing.T) {
	if !TakeSlot(nil, nil) {
		t.Fatal("nil slots: TakeSlot = false")
	}
	GiveSlot(nil)
	slots := make(chan struct{}, 1)
	closed := make(chan struct{})
	if !TakeSlot(slots, closed) {
		t.Fatal("free slot: TakeSlot = false")
	}
	close(closed)
	if TakeSlot(slots, closed) {
		t.Fatal("no slot and closed: TakeSlot = true")
	}
	GiveSlot(slots)
	if !TakeSlot(slots, make(chan struct{})) {
		t.Fatal("after GiveSlot: TakeSlot = false")
	}
}

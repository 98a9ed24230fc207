package connset

import (
	"context"
	"errors"
	"net"
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

// flakyListener fails its first Accept with a temporary error, then
// hands out conns, then reports itself closed.
type flakyListener struct {
	net.Listener
	failed bool
	conns  []net.Conn
}

func (l *flakyListener) Accept() (net.Conn, error) {
	if !l.failed {
		l.failed = true
		return nil, errors.New("accept4: too many open files")
	}
	if len(l.conns) == 0 {
		return nil, net.ErrClosed
	}
	c := l.conns[0]
	l.conns = l.conns[1:]
	return c, nil
}

// TestAccept: an accept error is reported and the loop goes on; each
// connection reaches handle holding a slot; a closed listener ends the
// loop with the slot it had taken given back.
func TestAccept(t *testing.T) {
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	ln := &flakyListener{conns: []net.Conn{a, b}}
	slots := make(chan struct{}, 2)
	var errs []error
	var got []net.Conn
	Accept(ln, slots, make(chan struct{}), func(err error) { errs = append(errs, err) }, func(c net.Conn) {
		if len(slots) != 1 {
			t.Errorf("handle: %d slots taken, want 1", len(slots))
		}
		got = append(got, c)
		GiveSlot(slots)
	})
	if len(errs) != 1 || len(got) != 2 || len(slots) != 0 {
		t.Fatalf("errors %v, %d conns handled, %d slots held; want 1, 2, 0", errs, len(got), len(slots))
	}
}

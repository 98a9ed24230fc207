// Package connset keeps the sessions a listening proxy runs (the stream
// and mail modules): the connection slots worker_connections shares among
// the listeners, and the set of live sessions a graceful stop waits for
// and a fast stop closes.
package connset

import (
	"context"
	"errors"
	"net"
	"sync"
	"time"
)

// TakeSlot waits for a slot of slots (worker_connections; nil: no cap);
// false means closed was closed first (the listener is going away).
func TakeSlot(slots chan struct{}, closed <-chan struct{}) bool {
	if slots == nil {
		return true
	}
	select {
	case slots <- struct{}{}:
		return true
	case <-closed:
		return false
	}
}

// GiveSlot returns a slot taken by TakeSlot.
func GiveSlot(slots chan struct{}) {
	if slots != nil {
		<-slots
	}
}

// Set is the sessions running now, safe for concurrent use. Its zero
// value is empty and ready.
type Set[T comparable] struct {
	mu   sync.Mutex // guards m and idle
	m    map[T]struct{}
	idle chan struct{} // closed and replaced when m becomes empty
}

// Add adds s to the set.
func (c *Set[T]) Add(s T) {
	c.mu.Lock()
	if c.m == nil {
		c.m = map[T]struct{}{}
	}
	c.m[s] = struct{}{}
	c.mu.Unlock()
}

// Remove removes s, waking Wait when it was the last.
func (c *Set[T]) Remove(s T) {
	c.mu.Lock()
	delete(c.m, s)
	if len(c.m) == 0 && c.idle != nil {
		close(c.idle)
		c.idle = nil
	}
	c.mu.Unlock()
}

// Len returns the number of sessions in the set.
func (c *Set[T]) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.m)
}

// Wait waits until the set is empty and returns 0, or until ctx is done
// and returns how many sessions were left then.
func (c *Set[T]) Wait(ctx context.Context) int {
	for {
		c.mu.Lock()
		n := len(c.m)
		if n > 0 && c.idle == nil {
			c.idle = make(chan struct{})
		}
		idle := c.idle
		c.mu.Unlock()
		if n == 0 {
			return 0
		}
		select {
		case <-idle:
		case <-ctx.Done():
			return n
		}
	}
}

// Each calls f for each session in the set, holding the set's lock: f
// must not Add or Remove (closing a session's connection is what it is
// for; the session removes itself later, from its own goroutine).
func (c *Set[T]) Each(f func(T)) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for s := range c.m {
		f(s)
	}
}

// Accept accepts connections on ln until it is closed (or closed is),
// taking a slot of slots before each Accept. handle takes each connection
// with its slot, which it must give back (at once, or when the session
// ends). An Accept error other than a closed listener (EMFILE and kin) is
// passed to failed, and the loop backs off as net/http's does, from 5 ms
// up to a second.
func Accept(ln net.Listener, slots chan struct{}, closed <-chan struct{}, failed func(error), handle func(net.Conn)) {
	var delay time.Duration
	for {
		if !TakeSlot(slots, closed) {
			return
		}
		c, err := ln.Accept()
		if err != nil {
			GiveSlot(slots)
			if errors.Is(err, net.ErrClosed) {
				return
			}
			delay = min(max(2*delay, 5*time.Millisecond), time.Second)
			failed(err)
			time.Sleep(delay)
			continue
		}
		delay = 0
		handle(c)
	}
}

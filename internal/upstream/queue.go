package upstream

import (
	"sync"
	"sync/atomic"
	"time"
)

// DefaultQueueTimeout is the timeout of "queue number" without timeout=.
const DefaultQueueTimeout = 60 * time.Second

// Queue is NGINX Plus's "queue number [timeout=time]": the requests that
// found no server to take them wait here, first come first served, until a
// server may take them or their timeout passes. Only the request at the
// head tries to pick; it is woken when a server of the pool is released or
// the pool's servers change, and it looks again every QueuePoll in case a
// server came back by time (fail_timeout) or by a health check.
//
// A Queue is safe for concurrent use.
type Queue struct {
	limit   int
	timeout time.Duration

	// mu guards waiters, the requests in the queue in arrival order.
	mu      sync.Mutex
	waiters []*Waiter
	// n is len(waiters), read without mu by Server.Release to skip the
	// lock when nobody waits.
	n atomic.Int64
	// overflows counts the requests Enter turned away because the queue
	// was full: own, or the pool's upstream's count, which outlives
	// reloads (SetQueue).
	overflows *atomic.Int64
}

// QueuePoll is how often the request at the head of a queue looks for a
// server without being woken.
const QueuePoll = 100 * time.Millisecond

// Waiter is one request in a Queue.
type Waiter struct {
	// C receives a value when the waiter became the head of the queue or,
	// at the head, when a server of the pool was released.
	C chan struct{}
}

// NewQueue returns a queue of at most limit requests that wait at most
// timeout (DefaultQueueTimeout when 0).
func NewQueue(limit int, timeout time.Duration) *Queue {
	if timeout <= 0 {
		timeout = DefaultQueueTimeout
	}
	return &Queue{limit: limit, timeout: timeout, overflows: new(atomic.Int64)}
}

// Limit returns the most requests the queue holds.
func (q *Queue) Limit() int { return q.limit }

// Timeout returns how long a request may wait.
func (q *Queue) Timeout() time.Duration { return q.timeout }

// Len returns the number of requests waiting now.
func (q *Queue) Len() int { return int(q.n.Load()) }

// Overflows returns the number of requests turned away because the queue
// was full (NGINX Plus's queue "overflows"). Requests that waited until
// the timeout do not count.
func (q *Queue) Overflows() int64 { return q.overflows.Load() }

// Enter puts a request at the end of the queue and returns its Waiter, or
// nil when the queue is full (counted in Overflows). A waiter that enters an empty queue is
// signalled at once. Every non-nil Waiter must Leave.
func (q *Queue) Enter() *Waiter {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.waiters) >= q.limit {
		q.overflows.Add(1)
		return nil
	}
	w := &Waiter{C: make(chan struct{}, 1)}
	q.waiters = append(q.waiters, w)
	q.n.Store(int64(len(q.waiters)))
	if len(q.waiters) == 1 {
		w.C <- struct{}{}
	}
	return w
}

// Head reports whether w is the first request in the queue.
func (q *Queue) Head(w *Waiter) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.waiters) > 0 && q.waiters[0] == w
}

// Leave takes w out of the queue and, if it was the head, wakes the next
// request.
func (q *Queue) Leave(w *Waiter) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for i, x := range q.waiters {
		if x != w {
			continue
		}
		q.waiters = append(q.waiters[:i], q.waiters[i+1:]...)
		q.n.Store(int64(len(q.waiters)))
		if i == 0 {
			q.wakeLocked()
		}
		return
	}
}

// Wake tells the request at the head of the queue that a server may have
// become free. It does nothing when the queue is empty.
func (q *Queue) Wake() {
	if q == nil || q.n.Load() == 0 {
		return
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	q.wakeLocked()
}

func (q *Queue) wakeLocked() {
	if len(q.waiters) == 0 {
		return
	}
	select {
	case q.waiters[0].C <- struct{}{}:
	default: // already signalled
	}
}

// SetQueue makes requests that find no server of p wait in q (nil: none).
// From then on q counts its overflows in p's upstream, so that the count
// goes on across reloads for an upstream whose name stays (the pools of
// one Registry share it), as the counters of its servers do. Call it
// before the pool is shared.
func (p *Pool) SetQueue(q *Queue) {
	p.queue = q
	if q != nil {
		q.overflows = &p.g.queueOverflows
	}
}

// Queue returns the pool's queue, or nil.
func (p *Pool) Queue() *Queue { return p.queue }

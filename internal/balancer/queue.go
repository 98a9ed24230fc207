package balancer

import (
	"context"
	"errors"
	"time"

	"fulcrum/internal/upstream"
)

// ErrQueueFull is returned by Attempt.Wait when the pool's queue holds its
// limit of requests already. Every pass answers 502.
var ErrQueueFull = errors.New("upstream queue is full")

// ErrQueueTimeout is returned by Attempt.Wait when no server could be
// selected within the queue's timeout, which bounds all the waits of a
// request together (its first attempt's and its retries'). Every pass
// answers 502.
var ErrQueueTimeout = errors.New("upstream queue timed out")

// Queued reports whether a request that starts now should wait in the
// pool's queue instead of picking: the pool has a queue and requests wait
// in it already (they come first), so a new request picks only through
// Wait, in its turn.
func (a *Attempt) Queued() bool {
	q := a.pool.Queue()
	return q != nil && q.Len() > 0
}

// Wait puts the request in the pool's queue ("queue number
// [timeout=time]") and returns the server it gets once it is at the head
// of the queue and a server may take it, as Next would. It returns
// ErrNoLiveUpstream when the pool has no queue, ErrQueueFull when the
// queue is full, ErrQueueTimeout once the request has waited the queue's
// timeout (all its waits together), and ctx's error when ctx ends first
// (the client went away). clock reads the time for each pick.
//
// Call it for the first attempt of a request only, after Next returned
// ErrNoLiveUpstream or when Queued says so: every pick from the queue
// starts again from the primary servers with an empty tried set. A retry
// waits through Retry, which keeps what the request tried.
func (a *Attempt) Wait(ctx context.Context, clock func() time.Time) (*upstream.Server, error) {
	return a.wait(ctx, clock, nil, time.Time{})
}

// mark is what a retry knew when it entered the queue: the tier it picked
// from, the servers it had tried there and the membership generation they
// index. Each pick from the queue starts from it again, as a pick that
// found no server may have moved the attempt to the backup tier.
type mark struct {
	backup bool
	gen    uint64
	tried  tried
}

// save records a's tier and tried set in m.
func (a *Attempt) save(m *mark) {
	m.backup, m.gen = a.backup, a.gen
	m.tried.copyFrom(&a.tried)
}

// restore puts back what save recorded in m; a change of the pool's
// membership since then makes the next pick forget the tried set, as it
// would have without the wait.
func (a *Attempt) restore(m *mark) {
	a.backup, a.gen = m.backup, m.gen
	a.tried.copyFrom(&m.tried)
}

// wait is Wait for a first attempt (m nil: each pick starts from the
// primaries with an empty tried set) or for a retry (each pick starts from
// m). The queue's timeout bounds the request's waits together (NGINX
// Plus: "If the queue is filled up, or the server to pass the request to
// cannot be selected within the time period specified in the timeout
// parameter, the 502 (Bad Gateway) error will be returned"): a wait lasts
// at most what the earlier ones left of it, and a request that has none
// left gets ErrQueueTimeout at once, without entering the queue. A
// non-zero until ends the wait with ErrQueueTimeout then, when it comes
// before.
func (a *Attempt) wait(ctx context.Context, clock func() time.Time, m *mark, until time.Time) (*upstream.Server, error) {
	q := a.pool.Queue()
	if q == nil {
		return nil, ErrNoLiveUpstream
	}
	d := q.Timeout() - a.queued
	if d <= 0 {
		return nil, ErrQueueTimeout
	}
	w := q.Enter()
	if w == nil {
		return nil, ErrQueueFull
	}
	defer q.Leave(w)
	entered := clock()
	defer func() { a.queued += clock().Sub(entered) }()
	if !until.IsZero() {
		d = min(d, until.Sub(entered))
	}
	timeout := time.NewTimer(d)
	defer timeout.Stop()
	poll := time.NewTicker(upstream.QueuePoll)
	defer poll.Stop()
	for {
		select {
		case <-w.C:
		case <-poll.C:
		case <-timeout.C:
			return nil, ErrQueueTimeout
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		if !q.Head(w) {
			continue
		}
		if m == nil {
			a.backup = false
			a.tried.clear()
		} else {
			a.restore(m)
		}
		if s, err := a.Next(clock()); err == nil {
			return s, nil
		}
	}
}

// ErrClientGone is returned by First when the request's context ended
// while it waited in the queue: the client went away (logged 499).
var ErrClientGone = errors.New("client went away while waiting in the upstream queue")

// First picks the server of a request's first attempt, for every kind of
// pass (NGINX Plus: "If an upstream server cannot be selected immediately
// while processing a request, the request will be placed into the
// queue"): Next at now, unless the pool has a queue and requests wait in
// it already, or Next finds no server; then the request waits (Wait).
// left is when the request left the queue, now when it did not wait: the
// attempt starts then, and left minus now is its $upstream_queue_time.
// Besides Next's and Wait's errors, it returns ErrClientGone when ctx
// ended while the request waited. ctx may have a nil Done channel
// (nothing to watch). clock reads the time.
func (a *Attempt) First(ctx context.Context, now time.Time, clock func() time.Time) (srv *upstream.Server, left time.Time, err error) {
	if !a.Queued() {
		srv, err = a.Next(now)
		if err == nil || a.pool.Queue() == nil || !errors.Is(err, ErrNoLiveUpstream) {
			return srv, now, err
		}
	}
	return a.queue(ctx, now, clock, nil, time.Time{})
}

// Retry picks the server of a retry (the passes' *_next_upstream): Next
// at now. A pool with a queue enters it whenever no server can be selected
// for the request (NGINX Plus: "If an upstream server cannot be selected
// immediately while processing a request, the request will be placed into
// the queue"), so a retry that finds no server it has not tried, or that
// finds requests waiting already, waits as First does, keeping the tier
// and the servers it tried. It waits at most what the request's earlier
// waits left of the queue's timeout, and not past until when until is not
// zero (the remaining *_next_upstream_timeout); either ends it with
// ErrQueueTimeout. left is when the request left the queue, now when
// it did not wait. The errors are First's.
func (a *Attempt) Retry(ctx context.Context, now time.Time, clock func() time.Time, until time.Time) (srv *upstream.Server, left time.Time, err error) {
	if a.pool.Queue() == nil {
		srv, err = a.Next(now)
		return srv, now, err
	}
	return a.retryQueued(ctx, now, clock, until)
}

// RetryDeadline is Retry's until for a request that started at start
// under a *_next_upstream_timeout of timeout: start plus timeout, or zero
// (no bound) when timeout is 0 (unlimited).
func RetryDeadline(start time.Time, timeout time.Duration) time.Time {
	if timeout <= 0 {
		return time.Time{}
	}
	return start.Add(timeout)
}

// retryQueued is Retry for a pool with a queue, kept out of Retry as queue
// is kept out of First.
//
//go:noinline
func (a *Attempt) retryQueued(ctx context.Context, now time.Time, clock func() time.Time, until time.Time) (*upstream.Server, time.Time, error) {
	var m mark
	a.save(&m)
	if !a.Queued() {
		if srv, err := a.Next(now); err == nil || !errors.Is(err, ErrNoLiveUpstream) {
			return srv, now, err
		}
	}
	return a.queue(ctx, now, clock, &m, until)
}

// queue is First's and Retry's wait (m and until as for wait), the rare
// path, kept out of First (and so out of the frames of the passes'
// per-request functions that inline First) so that its locals do not grow
// every request's stack.
//
//go:noinline
func (a *Attempt) queue(ctx context.Context, now time.Time, clock func() time.Time, m *mark, until time.Time) (*upstream.Server, time.Time, error) {
	if ctx == nil || ctx.Done() == nil {
		ctx = context.Background()
	}
	srv, err := a.wait(ctx, clock, m, until)
	left := clock()
	if errors.Is(err, ErrQueueFull) {
		left = now
	}
	if err != nil && ctx.Err() != nil {
		return nil, left, ErrClientGone
	}
	return srv, left, err
}

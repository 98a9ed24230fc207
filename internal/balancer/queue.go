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
// selected within the queue's timeout. Every pass answers 502.
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
// queue is full, ErrQueueTimeout after the queue's timeout, and ctx's
// error when ctx ends first (the client went away). clock reads the time
// for each pick.
//
// Call it for the first attempt of a request only, after Next returned
// ErrNoLiveUpstream or when Queued says so: every pick from the queue
// starts again from the primary servers with an empty tried set.
func (a *Attempt) Wait(ctx context.Context, clock func() time.Time) (*upstream.Server, error) {
	q := a.pool.Queue()
	if q == nil {
		return nil, ErrNoLiveUpstream
	}
	w := q.Enter()
	if w == nil {
		return nil, ErrQueueFull
	}
	defer q.Leave(w)
	timeout := time.NewTimer(q.Timeout())
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
		a.backup = false
		a.tried.clear()
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
	return a.queue(ctx, now, clock)
}

// queue is First's wait, the rare path, kept out of First (and so out of
// the frames of the passes' per-request functions that inline First) so
// that its locals do not grow every request's stack.
//
//go:noinline
func (a *Attempt) queue(ctx context.Context, now time.Time, clock func() time.Time) (*upstream.Server, time.Time, error) {
	if ctx == nil || ctx.Done() == nil {
		ctx = context.Background()
	}
	srv, err := a.Wait(ctx, clock)
	left := clock()
	if errors.Is(err, ErrQueueFull) {
		left = now
	}
	if err != nil && ctx.Err() != nil {
		return nil, left, ErrClientGone
	}
	return srv, left, err
}

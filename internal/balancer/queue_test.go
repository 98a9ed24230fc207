package balancer

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"fulcrum/internal/upstream"
)

// queued builds a pool of one server with max_conns=1, held busy, and a
// queue of limit requests waiting at most timeout; release frees the
// server.
func queued(t *testing.T, limit int, timeout time.Duration) (p *upstream.Pool, release func()) {
	t.Helper()
	p = newPool(t, srv("a:1", maxConns(1)))
	p.SetQueue(upstream.NewQueue(limit, timeout))
	return p, hold(t, p, map[string]int{"a:1": 1})
}

// waitResult is what one Wait returned.
type waitResult struct {
	id  int
	err error
}

// waitFor runs Wait for request id in a goroutine; its server is released
// at once, and the result is sent on out.
func waitFor(ctx context.Context, p *upstream.Pool, id int, out chan<- waitResult) {
	go func() {
		var a Attempt
		a.Reset(p, &RoundRobin{}, Input{})
		_, err := a.Wait(ctx, time.Now)
		if err == nil {
			a.Release(time.Now(), upstream.Success)
		}
		out <- waitResult{id, err}
	}()
}

// waiting polls until n requests wait in p's queue.
func waiting(t *testing.T, p *upstream.Pool, n int) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); p.Queue().Len() != n; {
		if time.Now().After(deadline) {
			t.Fatalf("%d waiting, want %d", p.Queue().Len(), n)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestWaitServedWhenFreed(t *testing.T) {
	p, release := queued(t, 1, 10*time.Second)
	out := make(chan waitResult, 2)
	waitFor(t.Context(), p, 1, out)
	waiting(t, p, 1)
	// The queue holds one: a second request is refused at once.
	var a Attempt
	a.Reset(p, &RoundRobin{}, Input{})
	if _, err := a.Wait(t.Context(), time.Now); !errors.Is(err, ErrQueueFull) {
		t.Fatalf("second request: %v, want ErrQueueFull", err)
	}
	release()
	if r := <-out; r.err != nil {
		t.Fatalf("queued request: %v", r.err)
	}
}

func TestWaitTimeout(t *testing.T) {
	p, release := queued(t, 1, 50*time.Millisecond)
	defer release()
	var a Attempt
	a.Reset(p, &RoundRobin{}, Input{})
	start := time.Now()
	_, err := a.Wait(t.Context(), time.Now)
	if !errors.Is(err, ErrQueueTimeout) {
		t.Fatalf("%v, want ErrQueueTimeout", err)
	}
	if el := time.Since(start); el < 50*time.Millisecond {
		t.Fatalf("gave up after %v, before the timeout", el)
	}
	if p.Queue().Len() != 0 {
		t.Fatal("the request stayed in the queue")
	}
}

func TestWaitClientGone(t *testing.T) {
	p, release := queued(t, 1, 10*time.Second)
	defer release()
	ctx, cancel := context.WithCancel(t.Context())
	out := make(chan waitResult, 1)
	waitFor(ctx, p, 1, out)
	waiting(t, p, 1)
	cancel()
	if r := <-out; !errors.Is(r.err, context.Canceled) {
		t.Fatalf("%v, want context.Canceled", r.err)
	}
}

// TestWaitOrder: requests leave the queue in the order they came. The
// order is taken when Wait returns, before the server is released to the
// next one (max_conns=1): the order of the goroutines' later sends on a
// channel is the scheduler's, not the queue's.
func TestWaitOrder(t *testing.T) {
	p, release := queued(t, 3, 10*time.Second)
	var (
		mu   sync.Mutex
		left []int
		done sync.WaitGroup
	)
	for id := range 3 {
		done.Go(func() {
			var a Attempt
			a.Reset(p, &RoundRobin{}, Input{})
			_, err := a.Wait(t.Context(), time.Now)
			if err != nil {
				t.Errorf("request %d: %v", id, err)
				return
			}
			mu.Lock()
			left = append(left, id)
			mu.Unlock()
			a.Release(time.Now(), upstream.Success)
		})
		waiting(t, p, id+1)
	}
	release()
	done.Wait()
	if len(left) != 3 || left[0] != 0 || left[1] != 1 || left[2] != 2 {
		t.Fatalf("requests left the queue in the order %v, want [0 1 2]", left)
	}
}

func TestWaitNoQueue(t *testing.T) {
	p := newPool(t, srv("a:1"))
	var a Attempt
	a.Reset(p, &RoundRobin{}, Input{})
	if _, err := a.Wait(t.Context(), time.Now); !errors.Is(err, ErrNoLiveUpstream) {
		t.Fatalf("%v, want ErrNoLiveUpstream", err)
	}
	if a.Queued() {
		t.Fatal("Queued without a queue")
	}
}

// TestFirst: the first attempt's pick of every pass. A free server is
// picked at now without waiting; with the server busy, a pool without a
// queue answers ErrNoLiveUpstream at once, one with a queue waits (left is
// when it left the queue, after now), a full queue answers ErrQueueFull
// with no wait, a timeout ErrQueueTimeout after it, and a context that
// ends while the request waits ErrClientGone.
func TestFirst(t *testing.T) {
	tests := []struct {
		name     string
		queue    bool
		busy     bool
		full     bool          // another request fills the queue
		timeout  time.Duration // the queue's
		cancel   bool          // the client goes away while it waits
		release  bool          // the server is freed while it waits
		want     error
		waitsFor time.Duration // at least
	}{
		{name: "free", queue: true, want: nil},
		{name: "busy, no queue", busy: true, want: ErrNoLiveUpstream},
		{name: "busy, queued, served", queue: true, busy: true, timeout: 10 * time.Second, release: true, want: nil, waitsFor: 20 * time.Millisecond},
		{name: "queue full", queue: true, busy: true, full: true, timeout: 10 * time.Second, want: ErrQueueFull},
		{name: "queue timeout", queue: true, busy: true, timeout: 50 * time.Millisecond, want: ErrQueueTimeout, waitsFor: 50 * time.Millisecond},
		{name: "client gone", queue: true, busy: true, timeout: 10 * time.Second, cancel: true, want: ErrClientGone, waitsFor: 20 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newPool(t, srv("a:1", maxConns(1)))
			if tt.queue {
				p.SetQueue(upstream.NewQueue(1, tt.timeout))
			}
			release := func() {}
			if tt.busy {
				release = hold(t, p, map[string]int{"a:1": 1})
			}
			var once sync.Once
			free := func() { once.Do(release) }
			defer free()
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			if tt.full {
				out := make(chan waitResult, 1)
				waitFor(ctx, p, 1, out)
				waiting(t, p, 1)
				defer func() { cancel(); <-out }()
			}
			if tt.cancel || tt.release {
				go func() {
					for deadline := time.Now().Add(5 * time.Second); p.Queue().Len() != 1 && time.Now().Before(deadline); {
						time.Sleep(time.Millisecond)
					}
					time.Sleep(20 * time.Millisecond)
					if tt.cancel {
						cancel()
					} else {
						free()
					}
				}()
			}
			var a Attempt
			a.Reset(p, &RoundRobin{}, Input{})
			now := time.Now()
			s, left, err := a.First(ctx, now, time.Now)
			if !errors.Is(err, tt.want) || (err == nil) != (s != nil) {
				t.Fatalf("First: %v, %v; want %v", s, err, tt.want)
			}
			if s != nil {
				defer a.Release(time.Now(), upstream.Success)
			}
			if waited := left.Sub(now); waited < tt.waitsFor || (tt.waitsFor == 0 && waited != 0) {
				t.Errorf("left the queue %v after now, want %v", waited, tt.waitsFor)
			}
		})
	}
}

// TestRetry: a retry's pick. With a busy and b failed, a pool without a
// queue answers ErrNoLiveUpstream at once; one with a queue waits until a
// is released and gets a, never b again, also when the pick that found no
// server moved on to a backup tier that has none either; the wait ends at
// until (the remaining *_next_upstream_timeout) when it comes before the
// queue's timeout; an untried free server is picked at once.
func TestRetry(t *testing.T) {
	tests := []struct {
		name     string
		queue    bool
		busy     bool
		backup   bool          // a backup server, down
		until    time.Duration // after now; 0: none
		release  bool          // a is freed while the retry waits
		want     error
		waitsFor time.Duration // at least
	}{
		{name: "free", queue: true},
		{name: "busy, no queue", busy: true, want: ErrNoLiveUpstream},
		{name: "busy, queued, served", queue: true, busy: true, release: true, waitsFor: 20 * time.Millisecond},
		{name: "busy, backup down, served", queue: true, busy: true, backup: true, release: true, waitsFor: 20 * time.Millisecond},
		{name: "until before the timeout", queue: true, busy: true, until: 50 * time.Millisecond, want: ErrQueueTimeout, waitsFor: 50 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			servers := []upstream.Settings{srv("a:1", maxConns(1)), srv("b:1", maxFails(0))}
			if tt.backup {
				servers = append(servers, srv("c:1", backup, down))
			}
			p := newPool(t, servers...)
			if tt.queue {
				p.SetQueue(upstream.NewQueue(1, 10*time.Second))
			}
			var a Attempt
			a.Reset(p, &RoundRobin{}, Input{})
			release := func() {}
			if tt.busy {
				release = hold(t, p, map[string]int{"a:1": 1})
			} else {
				// a is tried and fails first; b is left.
				if s, err := a.Next(time.Now()); err != nil || short(s) != "a" {
					t.Fatalf("first pick: %v, %v", s, err)
				}
				a.Release(time.Now(), upstream.Neutral)
			}
			var once sync.Once
			free := func() { once.Do(release) }
			defer free()
			want := "a"
			if tt.busy {
				if s, err := a.Next(time.Now()); err != nil || short(s) != "b" {
					t.Fatalf("first pick: %v, %v", s, err)
				}
				a.Release(time.Now(), upstream.Failure)
			} else {
				want = "b"
			}
			if tt.release {
				go func() {
					for deadline := time.Now().Add(5 * time.Second); p.Queue().Len() != 1 && time.Now().Before(deadline); {
						time.Sleep(time.Millisecond)
					}
					time.Sleep(20 * time.Millisecond)
					free()
				}()
			}
			now := time.Now()
			var until time.Time
			if tt.until > 0 {
				until = now.Add(tt.until)
			}
			s, left, err := a.Retry(t.Context(), now, time.Now, until)
			if !errors.Is(err, tt.want) || (err == nil) != (s != nil) {
				t.Fatalf("Retry: %v, %v; want %v", s, err, tt.want)
			}
			if s != nil {
				if short(s) != want {
					t.Errorf("retry got %s, want %s", short(s), want)
				}
				a.Release(time.Now(), upstream.Success)
			}
			waited := left.Sub(now)
			if waited < tt.waitsFor || (tt.waitsFor == 0 && waited != 0) || waited > 5*time.Second {
				t.Errorf("left the queue %v after now, want %v", waited, tt.waitsFor)
			}
			if tt.queue && p.Queue().Len() != 0 {
				t.Error("the request stayed in the queue")
			}
		})
	}
}

// TestQueueWaitBudget: the queue's timeout bounds all the waits of one
// request together (NGINX Plus: "the server to pass the request to cannot
// be selected within the time period specified in the timeout
// parameter"), not each wait. a and b (max_conns=1) are busy; the first
// attempt waits until b is freed, b fails, and the retry (a busy, b
// tried) waits only what is left of the timeout. A retry with nothing
// left times out at once without entering the queue, and one that finds
// a free server it has not tried still takes it at once.
func TestQueueWaitBudget(t *testing.T) {
	const timeout = 400 * time.Millisecond
	const firstWait = 150 * time.Millisecond
	p := newPool(t, srv("a:1", maxConns(1)), srv("b:1", maxConns(1), maxFails(0)))
	p.SetQueue(upstream.NewQueue(5, timeout))
	var once sync.Once
	releaseA := hold(t, p, map[string]int{"a:1": 1})
	freeA := func() { once.Do(releaseA) }
	defer freeA()
	releaseB := hold(t, p, map[string]int{"b:1": 1})
	go func() {
		for deadline := time.Now().Add(5 * time.Second); p.Queue().Len() != 1 && time.Now().Before(deadline); {
			time.Sleep(time.Millisecond)
		}
		time.Sleep(firstWait)
		releaseB()
	}()

	var a Attempt
	a.Reset(p, &RoundRobin{}, Input{})
	start := time.Now()
	s, left, err := a.First(t.Context(), start, time.Now)
	if err != nil || short(s) != "b" {
		t.Fatalf("First: %v, %v; want b", s, err)
	}
	first := left.Sub(start)
	if first < firstWait {
		t.Fatalf("First left the queue after %v, before b was freed", first)
	}
	a.Release(left, upstream.Failure)

	// The retry waits what the first wait left of the timeout.
	now := time.Now()
	s, left, err = a.Retry(t.Context(), now, time.Now, time.Time{})
	if !errors.Is(err, ErrQueueTimeout) || s != nil {
		t.Fatalf("Retry: %v, %v; want ErrQueueTimeout", s, err)
	}
	second := left.Sub(now)
	if total := first + second; total < timeout || total > timeout+100*time.Millisecond {
		t.Errorf("waited %v + %v = %v in all, want the timeout %v", first, second, total, timeout)
	}

	// Nothing left: no wait, and the queue is not entered.
	now = time.Now()
	s, left, err = a.Retry(t.Context(), now, time.Now, time.Time{})
	if !errors.Is(err, ErrQueueTimeout) || s != nil || left.Sub(now) > 20*time.Millisecond {
		t.Fatalf("Retry with the timeout spent: %v, %v after %v; want ErrQueueTimeout at once", s, err, left.Sub(now))
	}
	if p.Queue().Len() != 0 || p.Queue().Overflows() != 0 {
		t.Errorf("queue len %d, overflows %d; want 0, 0", p.Queue().Len(), p.Queue().Overflows())
	}

	// A free server it has not tried needs no wait.
	freeA()
	now = time.Now()
	s, left, err = a.Retry(t.Context(), now, time.Now, time.Time{})
	if err != nil || short(s) != "a" || !left.Equal(now) {
		t.Fatalf("Retry with a free: %v, %v, waited %v; want a at once", s, err, left.Sub(now))
	}
	a.Release(time.Now(), upstream.Success)
}

package upstream

import (
	"sync"
	"testing"
	"time"
)

// TestSample checks the moving average: the first sample sets it, each
// next one moves it by an eighth of the distance.
func TestSample(t *testing.T) {
	ms := time.Millisecond
	tests := []struct {
		name    string
		samples []time.Duration
		want    time.Duration
	}{
		{"first sets", []time.Duration{40 * ms}, 40 * ms},
		{"an eighth of the way", []time.Duration{40 * ms, 120 * ms}, 50 * ms},
		{"down as well", []time.Duration{40 * ms, 120 * ms, 10 * ms}, 50*ms - 5*ms},
		{"zero is a sample", []time.Duration{0}, 0},
		{"negative counts as zero", []time.Duration{-5 * ms}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := mustPool(t, server("a:1"), server("b:1"))
			s := p.Server(false, 0)
			if _, ok := s.AvgTime(MetricHeader); ok {
				t.Fatal("a fresh server has an average")
			}
			for _, d := range tt.samples {
				s.Sample(MetricHeader, d)
			}
			got, ok := s.AvgTime(MetricHeader)
			if !ok || got != tt.want {
				t.Fatalf("average %v (%v), want %v", got, ok, tt.want)
			}
			if _, ok := s.AvgTime(MetricLastByte); ok {
				t.Fatal("another metric has an average")
			}
			st := p.Snapshot(t0, nil)[0]
			if !st.HasAvgTime[MetricHeader] || st.AvgTimes[MetricHeader] != tt.want {
				t.Fatalf("status shows %v (%v), want %v", st.AvgTimes[MetricHeader], st.HasAvgTime[MetricHeader], tt.want)
			}
		})
	}
}

// TestPendingAge: the mean age of the incomplete requests, 0 without any.
func TestPendingAge(t *testing.T) {
	p := mustPool(t, server("a:1"), server("b:1"))
	s := p.Server(false, 0)
	v := View{pool: p, t: p.t.Load(), tier: p.t.Load().primary, now: at(time.Second)}
	if got := v.PendingAge(0); got != 0 {
		t.Fatalf("age %v without requests", got)
	}
	s.BeginPending(at(0))
	s.BeginPending(at(500 * time.Millisecond))
	if got := v.PendingAge(0); got != 750*time.Millisecond {
		t.Fatalf("age %v, want 750ms", got)
	}
	s.EndPending(at(0))
	if got := v.PendingAge(0); got != 500*time.Millisecond {
		t.Fatalf("age %v, want 500ms", got)
	}
	s.EndPending(at(500 * time.Millisecond))
	if got := v.PendingAge(0); got != 0 {
		t.Fatalf("age %v after the last end", got)
	}
}

// TestQueueOrder: requests leave in arrival order, a full queue refuses,
// and a release wakes the head.
func TestQueueOrder(t *testing.T) {
	p := mustPool(t, server("a:1", maxConns(1)), server("b:1"))
	q := NewQueue(2, 0)
	p.SetQueue(q)
	if q.Timeout() != DefaultQueueTimeout {
		t.Fatalf("timeout %v, want the default", q.Timeout())
	}
	w1, w2 := q.Enter(), q.Enter()
	if w1 == nil || w2 == nil {
		t.Fatal("queue of 2 refused one of 2 requests")
	}
	if w3 := q.Enter(); w3 != nil {
		t.Fatal("full queue took a third request")
	}
	select {
	case <-w1.C:
	default:
		t.Fatal("the first request was not woken on entering an empty queue")
	}
	if !q.Head(w1) || q.Head(w2) {
		t.Fatal("w1 is not the head")
	}
	s := p.Acquire(false, t0, firstUsable{})
	s.Release(t0, Success)
	select {
	case <-w1.C:
	default:
		t.Fatal("a release did not wake the head")
	}
	select {
	case <-w2.C:
		t.Fatal("a release woke a request behind the head")
	default:
	}
	q.Leave(w1)
	select {
	case <-w2.C:
	default:
		t.Fatal("the head's leaving did not wake the next")
	}
	if !q.Head(w2) || q.Len() != 1 {
		t.Fatalf("after leaving: head %v, len %d", q.Head(w2), q.Len())
	}
	q.Leave(w2)
	q.Wake() // an empty queue: nothing to do
}

// TestQueueConcurrent runs enter, wake and leave from many goroutines
// (under -race).
func TestQueueConcurrent(t *testing.T) {
	q := NewQueue(4, time.Second)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 200 {
				if w := q.Enter(); w != nil {
					q.Wake()
					q.Leave(w)
				}
			}
		})
	}
	wg.Wait()
	if q.Len() != 0 {
		t.Fatalf("%d left in the queue", q.Len())
	}
}

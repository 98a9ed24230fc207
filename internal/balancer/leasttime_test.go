package balancer

import (
	"testing"
	"time"

	"fulcrum/internal/upstream"
)

// feed gives each named primary of p one sample of m.
func feed(t testing.TB, p *upstream.Pool, m upstream.Metric, times map[string]time.Duration) {
	t.Helper()
	for i := 0; i < p.Len(false); i++ {
		s := p.Server(false, i)
		if d, ok := times[s.Name()]; ok {
			s.Sample(m, d)
		}
	}
}

func TestLeastTime(t *testing.T) {
	ms := time.Millisecond
	tests := []struct {
		name    string
		servers []upstream.Settings
		times   map[string]time.Duration // one header-time sample each
		active  map[string]int           // requests in flight before the picks
		n       int
		want    string
	}{
		{"the faster server", []upstream.Settings{srv("a:1"), srv("b:1")},
			map[string]time.Duration{"a:1": 50 * ms, "b:1": 5 * ms}, nil, 4, "b b b b"},
		// b: 5ms × 11 = 55 is above a: 50ms × 1.
		{"a busy fast server loses to an idle slow one", []upstream.Settings{srv("a:1"), srv("b:1")},
			map[string]time.Duration{"a:1": 50 * ms, "b:1": 5 * ms}, map[string]int{"b:1": 10}, 1, "a"},
		// a: 20ms / 4 = 5 per weight unit beats b: 10ms / 1.
		{"weights divide the score", []upstream.Settings{srv("a:1", weight(4)), srv("b:1")},
			map[string]time.Duration{"a:1": 20 * ms, "b:1": 10 * ms}, nil, 3, "a a a"},
		// 20ms × 2 / 2 equals 10ms × 2 / 1... with a idle: 20/2 = 10 = b's 10/1.
		{"equal scores: weighted round robin", []upstream.Settings{srv("a:1", weight(2)), srv("b:1")},
			map[string]time.Duration{"a:1": 20 * ms, "b:1": 10 * ms}, nil, 3, "a b a"},
		// c has no sample: it is estimated at the mean of a and b (20ms),
		// so it takes its turn with b (both 20ms) instead of never.
		{"a fresh server gets traffic", []upstream.Settings{srv("a:1"), srv("b:1"), srv("c:1")},
			map[string]time.Duration{"a:1": 30 * ms, "b:1": 10 * ms}, map[string]int{"b:1": 1}, 2, "b c"},
		{"no samples: least_conn", []upstream.Settings{srv("a:1"), srv("b:1"), srv("c:1")},
			nil, map[string]int{"a:1": 2, "c:1": 1}, 2, "b b"},
		{"down, max_conns and backup skipped", []upstream.Settings{srv("a:1", down), srv("b:1", maxConns(1)), srv("c:1"), srv("d:1", backup)},
			map[string]time.Duration{"a:1": 1 * ms, "b:1": 1 * ms, "c:1": 90 * ms, "d:1": 1 * ms}, map[string]int{"b:1": 1}, 2, "c c"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newPool(t, tt.servers...)
			feed(t, p, upstream.MetricHeader, tt.times)
			release := hold(t, p, tt.active)
			defer release()
			if got := picks(t, p, &LeastTime{Metric: upstream.MetricHeader}, Input{}, tt.n); got != tt.want {
				t.Fatalf("picks %q, want %q", got, tt.want)
			}
		})
	}
}

// TestLeastTimeMetric checks that the policy reads its own metric only.
func TestLeastTimeMetric(t *testing.T) {
	p := newPool(t, srv("a:1"), srv("b:1"))
	feed(t, p, upstream.MetricHeader, map[string]time.Duration{"a:1": time.Millisecond, "b:1": 50 * time.Millisecond})
	feed(t, p, upstream.MetricLastByte, map[string]time.Duration{"a:1": 90 * time.Millisecond, "b:1": 50 * time.Millisecond})
	if got := picks(t, p, &LeastTime{Metric: upstream.MetricHeader}, Input{}, 2); got != "a a" {
		t.Errorf("header: picks %q, want a a", got)
	}
	if got := picks(t, p, &LeastTime{Metric: upstream.MetricLastByte}, Input{}, 2); got != "b b" {
		t.Errorf("last_byte: picks %q, want b b", got)
	}
}

// TestLeastTimeInflight: a request in flight on a for 100 ms makes a look
// slower than its 10 ms average with inflight, not without.
func TestLeastTimeInflight(t *testing.T) {
	ms := time.Millisecond
	for _, tt := range []struct {
		inflight bool
		want     string
	}{{false, "a"}, {true, "b"}} {
		p := newPool(t, srv("a:1"), srv("b:1"))
		feed(t, p, upstream.MetricLastByte, map[string]time.Duration{"a:1": 10 * ms, "b:1": 30 * ms})
		pol := &LeastTime{Metric: upstream.MetricLastByte, Inflight: tt.inflight}
		var slow Attempt
		slow.Reset(p, pol, Input{})
		s, err := slow.Next(t0.Add(-100 * ms))
		if err != nil || short(s) != "a" {
			t.Fatalf("first pick %v %v, want a", s, err)
		}
		// a: max(10, 100) × 2 = 200 with inflight, 10 × 2 = 20 without; b: 30.
		if got := picks(t, p, pol, Input{}, 1); got != tt.want {
			t.Errorf("inflight %v: picks %q, want %q", tt.inflight, got, tt.want)
		}
		// The sample of the metric ends the request's incompleteness.
		slow.Sample(upstream.MetricLastByte, 10*ms)
		if got := picks(t, p, pol, Input{}, 1); got != "a" {
			t.Errorf("inflight %v after the sample: picks %q, want a", tt.inflight, got)
		}
		slow.Release(t0, upstream.Success)
		if age := p.Server(false, 0); age.Active() != 0 {
			t.Errorf("a still active: %d", age.Active())
		}
	}
}

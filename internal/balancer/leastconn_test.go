package balancer

import (
	"testing"

	"fulcrum/internal/upstream"
)

func TestLeastConn(t *testing.T) {
	tests := []struct {
		name    string
		servers []upstream.Settings
		active  map[string]int // requests in flight before the picks
		n       int
		want    string
	}{
		{"fewest active", []upstream.Settings{srv("a:1"), srv("b:1"), srv("c:1")},
			map[string]int{"a:1": 2, "b:1": 1, "c:1": 3}, 2, "b b"},
		// a: 3/2 = 1.5 per weight unit beats b: 2/1.
		{"relative to weight", []upstream.Settings{srv("a:1", weight(2)), srv("b:1")},
			map[string]int{"a:1": 3, "b:1": 2}, 1, "a"},
		// 2/2 equals 1/1: a tie, broken by weighted round robin (a first).
		{"equal ratios tie", []upstream.Settings{srv("a:1", weight(2)), srv("b:1")},
			map[string]int{"a:1": 2, "b:1": 1}, 3, "a b a"},
		{"idle servers: weighted round robin", []upstream.Settings{srv("a:1", weight(5)), srv("b:1"), srv("c:1")},
			nil, 7, "a a b a c a a"},
		{"ties only among the least loaded", []upstream.Settings{srv("a:1", weight(5)), srv("b:1", weight(2)), srv("c:1")},
			map[string]int{"a:1": 1}, 3, "b c b"},
		{"down and backup ignored", []upstream.Settings{srv("a:1", down), srv("b:1"), srv("c:1", backup)},
			map[string]int{"b:1": 5}, 2, "b b"},
		{"max_conns reached: next least", []upstream.Settings{srv("a:1", maxConns(1)), srv("b:1")},
			map[string]int{"a:1": 1, "b:1": 4}, 1, "b"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newPool(t, tt.servers...)
			release := hold(t, p, tt.active)
			defer release()
			if got := picks(t, p, &LeastConn{}, Input{}, tt.n); got != tt.want {
				t.Fatalf("picks %q, want %q", got, tt.want)
			}
		})
	}
}

func TestLeastConnBackupsAndSingle(t *testing.T) {
	t.Run("backups by least conn when primaries fail", func(t *testing.T) {
		p := newPool(t, srv("a:1"), srv("x:1", backup), srv("y:1", backup))
		failServer(t, p, "a:1")
		var a Attempt
		a.Reset(p, &LeastConn{}, Input{})
		held, _ := a.Next(t0) // x, now with one in flight
		var b Attempt
		b.Reset(p, &LeastConn{}, Input{})
		s, err := b.Next(t0)
		if err != nil || held.Name() != "x:1" || s.Name() != "y:1" {
			t.Fatalf("got %v then %v (%v), want x:1 then y:1", held.Name(), s, err)
		}
		a.Release(t0, upstream.Success)
		b.Release(t0, upstream.Success)
	})
	t.Run("single server is used despite failures", func(t *testing.T) {
		p := newPool(t, srv("a:1"))
		failServer(t, p, "a:1")
		if got := picks(t, p, &LeastConn{}, Input{}, 2); got != "a a" {
			t.Fatalf("picks %q, want %q", got, "a a")
		}
	})
}

package balancer

import (
	"testing"

	"fulcrum/internal/upstream"
)

func TestRoundRobinSequences(t *testing.T) {
	tests := []struct {
		name    string
		servers []upstream.Settings
		n       int
		want    string
	}{
		{"weights 5 1 1", []upstream.Settings{srv("a:1", weight(5)), srv("b:1"), srv("c:1")}, 14,
			"a a b a c a a a a b a c a a"},
		{"equal weights", []upstream.Settings{srv("a:1"), srv("b:1"), srv("c:1")}, 6,
			"a b c a b c"},
		{"weights 2 1", []upstream.Settings{srv("a:1", weight(2)), srv("b:1")}, 6,
			"a b a a b a"},
		{"down server skipped", []upstream.Settings{srv("a:1", weight(5)), srv("b:1", down), srv("c:1")}, 7,
			"a a a c a a a"},
		{"backup unused while primaries are usable", []upstream.Settings{srv("a:1"), srv("b:1"), srv("c:1", backup)}, 4,
			"a b a b"},
		{"all primaries down: backups by weight", []upstream.Settings{srv("a:1", down), srv("b:1", backup, weight(2)), srv("c:1", backup)}, 6,
			"b c b b c b"},
		{"single server", []upstream.Settings{srv("a:1")}, 3,
			"a a a"},
		{"single down server", []upstream.Settings{srv("a:1", down)}, 2,
			"- -"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := picks(t, newPool(t, tt.servers...), &RoundRobin{}, Input{}, tt.n); got != tt.want {
				t.Fatalf("picks %q, want %q", got, tt.want)
			}
		})
	}
}

func TestTriedSetNeverRepeats(t *testing.T) {
	tests := []struct {
		name    string
		servers []upstream.Settings
		want    string
	}{
		{"primaries once each", []upstream.Settings{srv("a:1", weight(5)), srv("b:1"), srv("c:1")}, "a b c -"},
		{"then backups once each", []upstream.Settings{srv("a:1"), srv("b:1"), srv("x:1", backup), srv("y:1", backup)}, "a b x y -"},
		{"down ones never", []upstream.Settings{srv("a:1"), srv("b:1", down), srv("c:1")}, "a c -"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var a Attempt
			p := newPool(t, tt.servers...)
			if got := walk(t, &a, p, &RoundRobin{}, Input{}, upstream.Neutral); got != tt.want {
				t.Fatalf("one request tried %q, want %q", got, tt.want)
			}
		})
	}
}

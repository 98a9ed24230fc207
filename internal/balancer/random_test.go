package balancer

import (
	"testing"

	"fulcrum/internal/upstream"
)

// seq is a Source replaying fixed values, then repeating the last.
type seq struct {
	vals []uint64
	i    int
}

func (s *seq) Uint64() uint64 {
	v := s.vals[min(s.i, len(s.vals)-1)]
	s.i++
	return v
}

func TestRandom(t *testing.T) {
	// Weights 1 2 1: x % 4 = 0 -> a, 1 or 2 -> b, 3 -> c.
	weighted := []upstream.Settings{srv("a:1"), srv("b:1", weight(2)), srv("c:1")}
	tests := []struct {
		name    string
		servers []upstream.Settings
		two     bool
		active  map[string]int
		draws   []uint64
		want    string
		ptries  int
	}{
		{"by weight", weighted, false, nil, []uint64{4, 5, 6, 7}, "a b b c", 0},
		{"unusable draw rejected", []upstream.Settings{srv("a:1"), srv("b:1", weight(2), down), srv("c:1")},
			false, nil, []uint64{1, 3}, "c", 1},
		{"two: fewer active wins", weighted, true, map[string]int{"a:1": 2}, []uint64{0, 3}, "c", 1},
		{"two: relative to weight", weighted, true, map[string]int{"a:1": 1, "b:1": 1}, []uint64{0, 1}, "b", 1},
		{"two: tie goes to the second draw", weighted, true, nil, []uint64{3, 0}, "a", 1},
		{"two: a repeated draw is rejected", weighted, true, nil, []uint64{0, 4, 3}, "c", 2},
		// b is down and every draw is b: 21 rejections, then round robin.
		{"round robin after 20 rejections", []upstream.Settings{srv("a:1"), srv("b:1", weight(2), down), srv("c:1")},
			false, nil, []uint64{1}, "a", 21},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newPool(t, tt.servers...)
			release := hold(t, p, tt.active)
			defer release()
			pol := &Random{Two: tt.two, Rand: &seq{vals: tt.draws}}
			var got string
			var a Attempt
			for i := range len(tt.want)/2 + 1 {
				a.Reset(p, pol, Input{})
				s, err := a.Next(t0)
				if err != nil {
					t.Fatal(err)
				}
				if i > 0 {
					got += " "
				}
				got += short(s)
				a.Release(t0, upstream.Success)
			}
			if got != tt.want || a.ptries != tt.ptries {
				t.Fatalf("picks %q with %d rejections in the last, want %q with %d", got, a.ptries, tt.want, tt.ptries)
			}
		})
	}
}

func TestRandomDefaultSourceFollowsWeights(t *testing.T) {
	p := newPool(t, srv("a:1"), srv("b:1", weight(3)))
	var a Attempt
	heavy := 0
	for range 10000 {
		a.Reset(p, &Random{}, Input{})
		s, _ := a.Next(t0)
		if short(s) == "b" {
			heavy++
		}
		a.Release(t0, upstream.Success)
	}
	if heavy < 7200 || heavy > 7800 {
		t.Fatalf("weight-3 server got %d of 10000, want about 7500", heavy)
	}
}

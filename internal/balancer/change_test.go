package balancer

import (
	"net/netip"
	"strconv"
	"strings"
	"testing"

	"fulcrum/internal/upstream"
)

// owners maps n keys to the short name of the server each goes to.
func owners(t *testing.T, p *upstream.Pool, pol Policy, n int) []string {
	t.Helper()
	out := make([]string, n)
	for i := range out {
		out[i] = picks(t, p, pol, Input{Key: "/k" + strconv.Itoa(i)}, 1)
	}
	return out
}

// TestConsistentHashRebuild: adding a server moves keys only to it, and
// removing it again moves them back, as a ring built from scratch would.
func TestConsistentHashRebuild(t *testing.T) {
	p := newPool(t, srv("10.0.0.1:80"), srv("10.0.0.2:80"), srv("10.0.0.3:80"))
	h := NewConsistentHash(p)
	before := owners(t, p, h, 300)
	st, err := p.Add(srv("10.0.0.4:80"), false, t0)
	if err != nil {
		t.Fatal(err)
	}
	after := owners(t, p, h, 300)
	moved := 0
	for i := range before {
		if before[i] != after[i] {
			moved++
			if after[i] != "10.0.0.4:80" {
				t.Fatalf("key %d moved from %s to %s, not to the new server", i, before[i], after[i])
			}
		}
	}
	if moved < 30 || moved > 150 {
		t.Fatalf("%d of 300 keys moved to the fourth server", moved)
	}
	// The same ring as a pool built with the four servers.
	fresh := newPool(t, srv("10.0.0.1:80"), srv("10.0.0.2:80"), srv("10.0.0.3:80"), srv("10.0.0.4:80"))
	if want := owners(t, fresh, NewConsistentHash(fresh), 300); strings.Join(want, " ") != strings.Join(after, " ") {
		t.Fatal("the rebuilt ring differs from a ring built with the four servers")
	}
	if err := p.Remove(st.ID); err != nil {
		t.Fatal(err)
	}
	if back := owners(t, p, h, 300); strings.Join(back, " ") != strings.Join(before, " ") {
		t.Fatal("removing the fourth server did not bring the keys back")
	}
}

// TestChangeKeepsPolicies: after an add and a remove, each method spreads
// requests over the servers of the new membership only.
func TestChangeKeepsPolicies(t *testing.T) {
	tests := []struct {
		name string
		pol  func(*upstream.Pool) Policy
	}{
		{"round robin", func(*upstream.Pool) Policy { return &RoundRobin{} }},
		{"least_conn", func(*upstream.Pool) Policy { return &LeastConn{} }},
		{"ip_hash", func(*upstream.Pool) Policy { return &IPHash{} }},
		{"hash", func(*upstream.Pool) Policy { return &Hash{} }},
		{"random", func(*upstream.Pool) Policy { return &Random{} }},
		{"random two", func(*upstream.Pool) Policy { return &Random{Two: true} }},
		{"consistent hash", func(p *upstream.Pool) Policy { return NewConsistentHash(p) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newPool(t, srv("a:1"), srv("b:1"))
			pol := tt.pol(p)
			if _, err := p.Add(srv("c:1", weight(3)), false, t0); err != nil {
				t.Fatal(err)
			}
			if err := p.Remove(0); err != nil {
				t.Fatal(err)
			}
			seen := map[string]int{}
			for i := range 400 {
				in := Input{Key: "/" + strconv.Itoa(i), ClientAddr: netip.MustParseAddr("10." + strconv.Itoa(i%250) + ".0.1")}
				seen[picks(t, p, pol, in, 1)]++
			}
			if seen["a"] != 0 || seen["b"] == 0 || seen["c"] == 0 || seen["-"] != 0 {
				t.Fatalf("picks after the change: %v", seen)
			}
		})
	}
}

// TestRoundRobinWeightsAfterAdd: smooth weighted round robin takes the
// added server's weight at once.
func TestRoundRobinWeightsAfterAdd(t *testing.T) {
	p := newPool(t, srv("a:1"), srv("b:1"))
	if got := picks(t, p, &RoundRobin{}, Input{}, 2); got != "a b" {
		t.Fatalf("before: %s", got)
	}
	if _, err := p.Add(srv("c:1", weight(2)), false, t0); err != nil {
		t.Fatal(err)
	}
	if got := picks(t, p, &RoundRobin{}, Input{}, 8); got != "c a b c c a b c" {
		t.Fatalf("after adding c weight 2: %s", got)
	}
}

// TestStickyRemovedServer: a sticky ID naming a removed server falls back
// to normal balancing.
func TestStickyRemovedServer(t *testing.T) {
	p := newPool(t, srv("a:1"), srv("b:1"))
	b := p.Server(false, 1)
	id := []byte(b.StickyID())
	if got := picks(t, p, &RoundRobin{}, Input{StickyID: id}, 3); got != "b b b" {
		t.Fatalf("sticky before: %s", got)
	}
	if err := p.Remove(b.ID()); err != nil {
		t.Fatal(err)
	}
	if got := picks(t, p, &RoundRobin{}, Input{StickyID: id}, 3); got != "a a a" {
		t.Fatalf("sticky to a removed server: %s", got)
	}
}

// TestRetryAcrossChange: a request whose membership changes between two
// attempts forgets its tried set (the indexes moved) and still ends.
func TestRetryAcrossChange(t *testing.T) {
	p := newPool(t, srv("a:1", maxFails(0)), srv("b:1", maxFails(0)))
	var a Attempt
	a.Reset(p, &RoundRobin{}, Input{})
	s, err := a.Next(t0)
	if err != nil || short(s) != "a" {
		t.Fatalf("first attempt: %v %v", s, err)
	}
	a.Release(t0, upstream.Failure)
	if err := p.Remove(0); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Add(srv("c:1"), false, t0); err != nil {
		t.Fatal(err)
	}
	s, err = a.Next(t0)
	if err != nil || short(s) == "a" {
		t.Fatalf("retry after the change: %v %v", s, err)
	}
	a.Release(t0, upstream.Success)
}

package balancer

import (
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"
	"time"

	"fulcrum/internal/upstream"
)

func slowStart(d time.Duration) func(*upstream.Settings) {
	return func(s *upstream.Settings) { s.SlowStart = d }
}

func route(r string) func(*upstream.Settings) { return func(s *upstream.Settings) { s.Route = r } }

// TestStickyID checks the IDs NGINX Plus documents: the hex MD5 of the
// address (a unix socket's path), or route=.
func TestStickyID(t *testing.T) {
	p := newPool(t, srv("10.0.0.1:80"), srv("unix:/run/a.sock"), srv("10.0.0.3:80", route("c")))
	sum := func(s string) string { h := md5.Sum([]byte(s)); return hex.EncodeToString(h[:]) }
	for i, want := range []string{sum("10.0.0.1:80"), sum("/run/a.sock"), "c"} {
		if got := p.Server(false, i).StickyID(); got != want {
			t.Errorf("server %d: id %q, want %q", i, got, want)
		}
	}
}

// TestStickyPick checks that a request's ID picks its server while that
// server is usable and untried, and that the policy picks otherwise.
func TestStickyPick(t *testing.T) {
	tests := []struct {
		name    string
		servers []upstream.Settings
		pol     Policy
		id      string
		fail    string // a server failed (max_fails 1) before the picks
		busy    bool   // server "b" holds max_conns=1 during the picks
		want    string
	}{
		{"no id: round robin", []upstream.Settings{srv("a"), srv("b"), srv("c")}, &RoundRobin{}, "", "", false, "a b c a"},
		{"id sticks", []upstream.Settings{srv("a"), srv("b", route("rb")), srv("c")}, &RoundRobin{}, "rb", "", false, "b b b b"},
		{"id sticks with least_conn", []upstream.Settings{srv("a"), srv("b", route("rb"))}, &LeastConn{}, "rb", "", false, "b b b"},
		{"id sticks with hash", []upstream.Settings{srv("a", route("ra")), srv("b")}, &IPHash{}, "ra", "", false, "a a a"},
		{"unknown id: policy", []upstream.Settings{srv("a"), srv("b")}, &RoundRobin{}, "nope", "", false, "a b a"},
		{"down: policy", []upstream.Settings{srv("a"), srv("b", route("rb"), down), srv("c")}, &RoundRobin{}, "rb", "", false, "a c a"},
		{"failed: policy", []upstream.Settings{srv("a"), srv("b", route("rb")), srv("c")}, &RoundRobin{}, "rb", "b", false, "a c a"},
		{"at max_conns: policy", []upstream.Settings{srv("a"), srv("b", route("rb"), maxConns(1))}, &RoundRobin{}, "rb", "", true, "a a"},
		{"backup tier", []upstream.Settings{srv("a", down), srv("b", backup), srv("c", backup, route("rc"))}, &RoundRobin{}, "rc", "", false, "c c"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newPool(t, tt.servers...)
			if tt.fail != "" {
				failByID(t, p, tt.fail)
			}
			if tt.busy {
				var hold Attempt
				hold.Reset(p, &RoundRobin{}, Input{StickyID: []byte("rb")})
				if s, err := hold.Next(t0); err != nil || short(s) != "b" {
					t.Fatalf("holding b: %v %v", s, err)
				}
				defer hold.Release(t0, upstream.Success)
			}
			if got := picks(t, p, tt.pol, Input{StickyID: []byte(tt.id)}, len(strings.Fields(tt.want))); got != tt.want {
				t.Errorf("picks %q, want %q", got, tt.want)
			}
		})
	}
}

// failByID makes one attempt fail on the named server.
func failByID(t *testing.T, p *upstream.Pool, name string) {
	t.Helper()
	for i := range p.Len(false) {
		s := p.Server(false, i)
		if short(s) != name {
			continue
		}
		var a Attempt
		a.Reset(p, &RoundRobin{}, Input{StickyID: []byte(s.StickyID())})
		got, err := a.Next(t0)
		if err != nil || got != s {
			t.Fatalf("picking %s: %v %v", name, got, err)
		}
		if !a.Release(t0, upstream.Failure) {
			t.Fatalf("%s not disabled", name)
		}
		return
	}
	t.Fatalf("no server %s", name)
}

// TestStickyRetry checks that a retry does not go back to the sticky server
// it tried and reports which pick was sticky.
func TestStickyRetry(t *testing.T) {
	p := newPool(t, srv("a"), srv("b", route("rb")), srv("c"))
	var a Attempt
	a.Reset(p, &RoundRobin{}, Input{StickyID: []byte("rb")})
	s, _ := a.Next(t0)
	if short(s) != "b" || !a.Sticky() {
		t.Fatalf("first pick %s sticky=%t", short(s), a.Sticky())
	}
	a.Release(t0, upstream.Failure)
	s, _ = a.Next(t0)
	if short(s) == "b" || a.Sticky() {
		t.Fatalf("retry picked %s sticky=%t", short(s), a.Sticky())
	}
	a.Release(t0, upstream.Success)
}

// share counts how many of n round robin picks at now go to the named server.
func share(t *testing.T, p *upstream.Pool, pol Policy, name string, now time.Time, n int) int {
	t.Helper()
	var a Attempt
	c := 0
	for range n {
		a.Reset(p, pol, Input{})
		s, err := a.Next(now)
		if err != nil {
			t.Fatal(err)
		}
		if short(s) == name {
			c++
		}
		a.Release(now, upstream.Success)
	}
	return c
}

// TestSlowStartAfterFailure checks the ramp after a server comes back from
// max_fails: its share of round robin picks grows from 0 to its weight's
// over slow_start, with a fake clock.
func TestSlowStartAfterFailure(t *testing.T) {
	p := newPool(t, srv("a"), srv("b", slowStart(100*time.Second)))
	failByID(t, p, "b") // out at t0 for fail_timeout (10s)
	back := t0.Add(11 * time.Second)
	// The probe: the first pick after the window goes to b.
	var a Attempt
	for {
		a.Reset(p, &RoundRobin{}, Input{})
		s, err := a.Next(back)
		if err != nil {
			t.Fatal(err)
		}
		a.Release(back, upstream.Success)
		if short(s) == "b" {
			break
		}
	}
	tests := []struct {
		after time.Duration
		want  int // of 110 picks
	}{
		{0, 0}, {10 * time.Second, 10}, {50 * time.Second, 36}, {100 * time.Second, 55}, {200 * time.Second, 55},
	}
	for _, tt := range tests {
		now := back.Add(tt.after)
		if got := share(t, p, &RoundRobin{}, "b", now, 110); got < tt.want-1 || got > tt.want+1 {
			t.Errorf("%v into the ramp: b got %d of 110, want %d±1", tt.after, got, tt.want)
		}
	}
	if st := p.Snapshot(back.Add(300*time.Second), nil)[1]; st.Ramping || st.EffectiveWeight != 1 || st.SlowStart != 100*time.Second {
		t.Errorf("status after the ramp %+v", st)
	}
}

// TestSlowStartLeastConn checks that least_conn compares ramped weights.
func TestSlowStartLeastConn(t *testing.T) {
	p := newPool(t, srv("a"), srv("b", slowStart(100*time.Second)))
	failByID(t, p, "b")
	back := t0.Add(11 * time.Second)
	var probe Attempt
	probe.Reset(p, &LeastConn{}, Input{StickyID: []byte(p.Server(false, 1).StickyID())})
	if s, _ := probe.Next(back); short(s) != "b" {
		t.Fatalf("probe went to %s", short(s))
	}
	probe.Release(back, upstream.Success)
	// Hold 5 requests on a and 1 on b: at 10% of its ramp b has 1 per 0.1
	// weight (10) against a's 5 per 1, so a wins; after the ramp b wins.
	var held []*Attempt
	hold := func(name string, now time.Time) {
		h := &Attempt{}
		h.Reset(p, &RoundRobin{}, Input{StickyID: []byte(idOf(p, name))})
		if s, _ := h.Next(now); short(s) != name {
			t.Fatalf("hold %s got %s", name, short(s))
		}
		held = append(held, h)
	}
	for range 5 {
		hold("a", back)
	}
	hold("b", back)
	for _, c := range []struct {
		after time.Duration
		want  string
	}{{10 * time.Second, "a"}, {150 * time.Second, "b"}} {
		var a Attempt
		now := back.Add(c.after)
		a.Reset(p, &LeastConn{}, Input{})
		s, _ := a.Next(now)
		if short(s) != c.want {
			t.Errorf("%v into the ramp: least_conn picked %s, want %s", c.after, short(s), c.want)
		}
		a.Release(now, upstream.Success)
	}
	for _, h := range held {
		h.Release(back, upstream.Success)
	}
}

func idOf(p *upstream.Pool, name string) string {
	for i := range p.Len(false) {
		if short(p.Server(false, i)) == name {
			return p.Server(false, i).StickyID()
		}
	}
	return ""
}

// TestSlowStartReload checks ramps started by a reload: a server added to a
// running upstream, and one whose down flag goes, ramp; one that stays does
// not; a first build starts none.
func TestSlowStartReload(t *testing.T) {
	now := t0
	reg := upstream.NewRegistryClock(func() time.Time { return now })
	ss := slowStart(100 * time.Second)
	first, err := reg.Pool("u", []upstream.Settings{srv("a", ss), srv("b", ss, down)})
	if err != nil {
		t.Fatal(err)
	}
	if got := share(t, first, &RoundRobin{}, "a", now, 10); got != 10 {
		t.Errorf("first build: a got %d of 10", got)
	}
	now = t0.Add(time.Hour)
	next, err := reg.Pool("u", []upstream.Settings{srv("a", ss), srv("b", ss), srv("c", ss)})
	if err != nil {
		t.Fatal(err)
	}
	got := make([]string, 0, 3)
	for _, st := range next.Snapshot(now.Add(50*time.Second), nil) {
		got = append(got, fmt.Sprintf("%s:%t:%d", st.Name, st.Ramping, st.EffectiveWeight))
	}
	if want := "a:false:1 b:true:0 c:true:0"; strings.Join(got, " ") != want {
		t.Errorf("after reload %s, want %s", strings.Join(got, " "), want)
	}
	// Half way, b and c have half a's weight each: a gets half the picks.
	if got := share(t, next, &RoundRobin{}, "a", now.Add(50*time.Second), 100); got != 50 {
		t.Errorf("half way: a got %d of 100, want 50", got)
	}
}

// TestSlowStartSingle checks that a single server ignores slow_start.
func TestSlowStartSingle(t *testing.T) {
	p := newPool(t, srv("a", slowStart(time.Minute), maxFails(1)))
	var a Attempt
	a.Reset(p, &RoundRobin{}, Input{})
	s, _ := a.Next(t0)
	a.Release(t0, upstream.Failure)
	if st := p.Snapshot(t0, nil)[0]; st.Ramping || s == nil {
		t.Errorf("single server ramping: %+v", st)
	}
}

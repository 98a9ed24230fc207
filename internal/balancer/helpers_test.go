package balancer

import (
	"strings"
	"testing"
	"time"

	"fulcrum/internal/upstream"
)

// t0 is an arbitrary start time; tests pass times explicitly.
var t0 = time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC)

// srv returns nginx-default settings for a server called name (a "unix:"
// name is a unix socket), changed by opts.
func srv(name string, opts ...func(*upstream.Settings)) upstream.Settings {
	s := upstream.NewSettings(upstream.NetworkTCP, name)
	if path, ok := strings.CutPrefix(name, "unix:"); ok {
		s = upstream.NewSettings(upstream.NetworkUnix, path)
	}
	for _, o := range opts {
		o(&s)
	}
	return s
}

func weight(n int) func(*upstream.Settings)   { return func(s *upstream.Settings) { s.Weight = n } }
func maxFails(n int) func(*upstream.Settings) { return func(s *upstream.Settings) { s.MaxFails = n } }
func maxConns(n int) func(*upstream.Settings) { return func(s *upstream.Settings) { s.MaxConns = n } }
func backup(s *upstream.Settings)             { s.Backup = true }
func down(s *upstream.Settings)               { s.Down = true }

// newPool builds a pool or fails the test.
func newPool(t testing.TB, servers ...upstream.Settings) *upstream.Pool {
	t.Helper()
	p, err := upstream.NewPool("backend", servers)
	if err != nil {
		t.Fatalf("NewPool: %v", err)
	}
	return p
}

// short is a server's name without a ":1" port, for readable sequences.
func short(s *upstream.Server) string { return strings.TrimSuffix(s.Name(), ":1") }

// picks makes n requests of one attempt each, released with Success, and
// returns the short names picked, space-separated ("-" for none).
func picks(t testing.TB, p *upstream.Pool, pol Policy, in Input, n int) string {
	t.Helper()
	var a Attempt
	out := make([]string, 0, n)
	for range n {
		a.Reset(p, pol, in)
		s, err := a.Next(t0)
		if err != nil {
			out = append(out, "-")
			continue
		}
		out = append(out, short(s))
		a.Release(t0, upstream.Success)
	}
	return strings.Join(out, " ")
}

// walk makes one request that retries while it can, releasing every
// attempt with o, and returns the short names tried ("-" marks
// ErrNoLiveUpstream).
func walk(t testing.TB, a *Attempt, p *upstream.Pool, pol Policy, in Input, o upstream.Outcome) string {
	t.Helper()
	a.Reset(p, pol, in)
	var out []string
	for range 1000 {
		s, err := a.Next(t0)
		if err != nil {
			return strings.Join(append(out, "-"), " ")
		}
		out = append(out, short(s))
		a.Release(t0, o)
	}
	t.Fatal("walk did not end")
	return ""
}

// fail makes one request to server name fail (via a RoundRobin attempt
// that lands on it) so that it becomes unavailable.
func failServer(t testing.TB, p *upstream.Pool, name string) {
	t.Helper()
	for i := 0; i < p.Len(false); i++ {
		if s := p.Server(false, i); s.Name() == name {
			c := upstreamChooser(i)
			got := p.Acquire(false, t0, c)
			got.Release(t0, upstream.Failure)
			return
		}
	}
	t.Fatalf("no primary %q", name)
}

// upstreamChooser always chooses one index.
type upstreamChooser int

func (c upstreamChooser) Choose(upstream.View) int { return int(c) }

// hold puts n requests in flight on each named primary and returns a
// function that releases them.
func hold(t testing.TB, p *upstream.Pool, counts map[string]int) (release func()) {
	t.Helper()
	var held []*upstream.Server
	for i := 0; i < p.Len(false); i++ {
		for range counts[p.Server(false, i).Name()] {
			held = append(held, p.Acquire(false, t0, upstreamChooser(i)))
		}
	}
	return func() {
		for _, s := range held {
			s.Release(t0, upstream.Success)
		}
	}
}

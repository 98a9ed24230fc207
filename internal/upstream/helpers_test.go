package upstream

import (
	"testing"
	"time"
)

// t0 is an arbitrary start time for timelines.
var t0 = time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC)

// at returns t0 + d.
func at(d time.Duration) time.Time { return t0.Add(d) }

// firstUsable picks the first usable server of the tier: the simplest
// chooser that still obeys passive health and max_conns.
type firstUsable struct{}

func (firstUsable) Choose(v View) int {
	for i := 0; i < v.Len(); i++ {
		if v.Usable(i) {
			return i
		}
	}
	return -1
}

// swrr is nginx's ngx_http_upstream_get_peer without a tried set.
type swrr struct{}

func (swrr) Choose(v View) int {
	best, total := -1, 0
	for i := 0; i < v.Len(); i++ {
		if !v.Usable(i) {
			continue
		}
		total += v.Credit(i)
		if best < 0 || v.Current(i) > v.Current(best) {
			best = i
		}
	}
	if best >= 0 {
		v.Debit(best, total)
	}
	return best
}

// server returns NewSettings("tcp", addr) changed by opts.
func server(addr string, opts ...func(*Settings)) Settings {
	s := NewSettings(NetworkTCP, addr)
	for _, o := range opts {
		o(&s)
	}
	return s
}

func weight(n int) func(*Settings)   { return func(s *Settings) { s.Weight = n } }
func maxFails(n int) func(*Settings) { return func(s *Settings) { s.MaxFails = n } }
func maxConns(n int) func(*Settings) { return func(s *Settings) { s.MaxConns = n } }
func backup(s *Settings)             { s.Backup = true }
func down(s *Settings)               { s.Down = true }
func failTimeout(d time.Duration) func(*Settings) {
	return func(s *Settings) { s.FailTimeout = d }
}

// mustPool builds a lone pool or fails the test.
func mustPool(t testing.TB, servers ...Settings) *Pool {
	t.Helper()
	p, err := NewPool("backend", servers)
	if err != nil {
		t.Fatalf("NewPool: %v", err)
	}
	return p
}

// status returns the status of the server named name in p.
func status(t testing.TB, p *Pool, now time.Time, name string) ServerStatus {
	t.Helper()
	for _, s := range p.Snapshot(now, nil) {
		if s.Name == name {
			return s
		}
	}
	t.Fatalf("no server %q in pool", name)
	return ServerStatus{}
}

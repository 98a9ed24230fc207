package balancer

import (
	"net/netip"
	"strconv"
	"sync"
	"testing"
	"time"

	"fulcrum/internal/upstream"
)

// policyCase is one method on a pool of its own, for the tests and
// benchmarks that run every method.
type policyCase struct {
	name string
	pol  func(*upstream.Pool) Policy
}

var allPolicies = []policyCase{
	{"round_robin", func(*upstream.Pool) Policy { return &RoundRobin{} }},
	{"least_conn", func(*upstream.Pool) Policy { return &LeastConn{} }},
	{"ip_hash", func(*upstream.Pool) Policy { return &IPHash{} }},
	{"hash", func(*upstream.Pool) Policy { return &Hash{} }},
	{"hash_consistent", func(p *upstream.Pool) Policy { return NewConsistentHash(p) }},
	{"random", func(*upstream.Pool) Policy { return &Random{} }},
	{"random_two", func(*upstream.Pool) Policy { return &Random{Two: true} }},
	{"least_time", func(*upstream.Pool) Policy { return &LeastTime{Metric: upstream.MetricHeader} }},
	{"least_time_inflight", func(*upstream.Pool) Policy { return &LeastTime{Metric: upstream.MetricLastByte, Inflight: true} }},
}

// eightServers is a mixed pool: weights, a down server, a max_conns
// limit and two backups.
func eightServers() []upstream.Settings {
	return []upstream.Settings{
		srv("10.0.0.1:80", weight(3)), srv("10.0.0.2:80"), srv("10.0.0.3:80", maxFails(3)),
		srv("10.0.0.4:80", down), srv("10.0.0.5:80", weight(2), maxConns(4)), srv("10.0.0.6:80"),
		srv("10.0.1.1:80", backup), srv("10.0.1.2:80", backup),
	}
}

// TestConcurrentRequests hammers every method from many goroutines with
// failures, retries and time moving on, then checks that every in-flight
// count is back to zero. Run with -race.
func TestConcurrentRequests(t *testing.T) {
	for _, pc := range allPolicies {
		t.Run(pc.name, func(t *testing.T) {
			p := newPool(t, eightServers()...)
			pol := pc.pol(p)
			var wg sync.WaitGroup
			for g := range 8 {
				wg.Go(func() { hammer(p, pol, g, 500) })
			}
			wg.Wait()
			for _, st := range p.Snapshot(t0, nil) {
				if st.Active != 0 {
					t.Errorf("%s: %d still active", st.Name, st.Active)
				}
			}
		})
	}
}

// hammer makes n requests, each retried while it fails and has tries.
func hammer(p *upstream.Pool, pol Policy, g, n int) {
	var a Attempt
	for i := range n {
		now := t0.Add(time.Duration(i) * 100 * time.Millisecond)
		in := Input{
			Key:        "/item/" + strconv.Itoa(i%50),
			ClientAddr: netip.AddrFrom4([4]byte{10, byte(g), byte(i), 1}),
			MaxTries:   3,
		}
		a.Reset(p, pol, in)
		for {
			if _, err := a.Next(now); err != nil {
				break
			}
			o := upstream.Outcome((i + g) % 3)
			a.Release(now, o)
			if o != upstream.Failure || a.Tries() == 0 {
				break
			}
		}
	}
}

// TestPickAllocs enforces zero allocations per request for every method.
func TestPickAllocs(t *testing.T) {
	for _, pc := range allPolicies {
		t.Run(pc.name, func(t *testing.T) {
			p := newPool(t, eightServers()...)
			pol := pc.pol(p)
			var a Attempt
			in := Input{Key: "/index.html", ClientAddr: netip.MustParseAddr("192.0.2.7")}
			allocs := testing.AllocsPerRun(1000, func() { onePick(&a, p, pol, in) })
			if allocs != 0 {
				t.Fatalf("%v allocations per pick, want 0", allocs)
			}
		})
	}
}

// onePick is one request of one attempt.
func onePick(a *Attempt, p *upstream.Pool, pol Policy, in Input) {
	a.Reset(p, pol, in)
	if _, err := a.Next(t0); err == nil {
		a.Release(t0, upstream.Success)
	}
}

// BenchmarkPick is Reset + Next + Release for each method on an
// eight-server pool.
func BenchmarkPick(b *testing.B) {
	for _, pc := range allPolicies {
		b.Run(pc.name, func(b *testing.B) {
			p := newPool(b, eightServers()...)
			pol := pc.pol(p)
			var a Attempt
			in := Input{Key: "/index.html", ClientAddr: netip.MustParseAddr("192.0.2.7")}
			b.ReportAllocs()
			for b.Loop() {
				onePick(&a, p, pol, in)
			}
		})
	}
}

package balancer_test

import (
	"errors"
	"fmt"
	"net/netip"
	"time"

	"fulcrum/internal/balancer"
	"fulcrum/internal/upstream"
)

// The per-request flow of the proxy: pick, try, release with the outcome,
// retry on failure while tries remain.
func Example() {
	reg := upstream.NewRegistry() // owned by the daemon
	pool, _ := reg.Pool("backend", []upstream.Settings{
		upstream.NewSettings("tcp", "127.0.0.1:5001"),
		upstream.NewSettings("tcp", "127.0.0.1:5002"),
	})
	policy := &balancer.RoundRobin{} // built once per snapshot with the pool

	var a balancer.Attempt // reused per connection
	a.Reset(pool, policy, balancer.Input{ClientAddr: netip.MustParseAddr("192.0.2.1")})
	for {
		now := time.Now()
		srv, err := a.Next(now)
		if errors.Is(err, balancer.ErrNoLiveUpstream) {
			fmt.Println("502: no live upstreams")
			return
		}
		fmt.Println("try", srv.Addr())
		outcome := upstream.Failure // pretend every connect fails
		if a.Release(now, outcome) {
			fmt.Println("upstream server temporarily disabled")
		}
		if outcome != upstream.Failure || a.Tries() == 0 {
			return
		}
	}
	// Output:
	// try 127.0.0.1:5001
	// upstream server temporarily disabled
	// try 127.0.0.1:5002
	// upstream server temporarily disabled
}

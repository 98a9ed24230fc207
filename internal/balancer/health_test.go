package balancer

import (
	"net/netip"
	"strconv"
	"testing"

	"fulcrum/internal/upstream"
)

// TestEveryMethodSkipsUnhealthy: a server an active health check failed is
// never picked by any method, whatever the key or client, and comes back
// once the check passes it.
func TestEveryMethodSkipsUnhealthy(t *testing.T) {
	for _, pc := range allPolicies {
		t.Run(pc.name, func(t *testing.T) {
			p := newPool(t, srv("10.0.0.1:80"), srv("10.0.0.2:80"), srv("10.0.0.3:80"))
			p.AttachChecks(map[string]upstream.CheckPolicy{"c": {}})
			sick := p.Server(false, 1)
			sick.ReportCheck("c", t0, false)
			pol := pc.pol(p)
			picked := func() map[string]bool {
				seen := map[string]bool{}
				var a Attempt
				for i := range 200 {
					a.Reset(p, pol, Input{Key: "k" + strconv.Itoa(i), ClientAddr: netip.AddrFrom4([4]byte{10, 1, byte(i), 7})})
					s, err := a.Next(t0)
					if err != nil {
						t.Fatal(err)
					}
					seen[s.Name()] = true
					a.Release(t0, upstream.Success)
				}
				return seen
			}
			if seen := picked(); seen[sick.Name()] {
				t.Fatalf("unhealthy %s picked: %v", sick.Name(), seen)
			}
			sick.ReportCheck("c", t0, true)
			if seen := picked(); !seen[sick.Name()] {
				t.Fatalf("%s not picked after it became healthy: %v", sick.Name(), seen)
			}
		})
	}
}

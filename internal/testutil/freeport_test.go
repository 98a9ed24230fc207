package testutil

import (
	"net"
	"strconv"
	"testing"
)

// TestFreePorts: the ports are distinct, free (a listener binds each) and
// below the kernel's ephemeral range, where the tests' outgoing connections
// cannot take them.
func TestFreePorts(t *testing.T) {
	low := ephemeralLow()
	ports := FreePorts(t, 5)
	seen := map[int]bool{}
	for _, p := range ports {
		if seen[p] {
			t.Errorf("port %d twice in %v", p, ports)
		}
		seen[p] = true
		if low > 11000 && p >= low {
			t.Errorf("port %d is in the ephemeral range (from %d)", p, low)
		}
		l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(p)))
		if err != nil {
			t.Errorf("port %d is not free: %v", p, err)
			continue
		}
		l.Close()
	}
}

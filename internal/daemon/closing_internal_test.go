package daemon

import (
	"net"
	"testing"
)

// TestLingerSlot checks the bound on lingering connections: at most half
// of worker_connections linger, none once three quarters of the slots are
// taken, and a slot given back can be taken again.
func TestLingerSlot(t *testing.T) {
	lim := newConnLimiter(8)
	c := &limitedConn{lim: lim}
	s := &httpServer{}
	take := func(n int) {
		for range n {
			lim.slots <- struct{}{}
		}
	}
	take(4) // the lingering connections' own slots
	for i := range 4 {
		if !s.lingerSlot(c) {
			t.Fatalf("lingering connection %d refused", i+1)
		}
	}
	if s.lingerSlot(c) {
		t.Error("a fifth of 8 lingers")
	}
	s.lingering.Add(-1)
	if !s.lingerSlot(c) {
		t.Error("a slot given back was not taken again")
	}
	s.lingering.Add(-2)
	take(3) // 7 of 8 taken
	if s.lingerSlot(c) {
		t.Error("lingers with 7 of 8 slots taken")
	}
	if !(&httpServer{}).lingerSlot(&net.TCPConn{}) {
		t.Error("a connection without a limiter may linger")
	}
}

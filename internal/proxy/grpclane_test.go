package proxy

import (
	"net/http"
	"testing"
)

// TestGRPCLanes: a request takes the lowest lane no other request holds,
// freed lanes are taken again, and a server with no request in flight
// holds no memory.
func TestGRPCLanes(t *testing.T) {
	l := newGRPCLanes()
	a, b := &http.Transport{}, &http.Transport{}
	steps := []struct {
		take   bool
		client *http.Transport
		addr   string
		lane   int
	}{
		{true, a, "s1", 0},
		{true, a, "s1", 1},
		{true, a, "s2", 0},
		{true, b, "s1", 0},
		{true, a, "s1", 2},
		{false, a, "s1", 1},
		{true, a, "s1", 1},
		{false, a, "s1", 0},
		{false, a, "s1", 1},
		{false, a, "s1", 2},
		{false, a, "s2", 0},
		{false, b, "s1", 0},
	}
	for i, s := range steps {
		if !s.take {
			l.free(s.client, s.addr, s.lane)
			continue
		}
		if got := l.take(s.client, s.addr); got != s.lane {
			t.Errorf("step %d: lane %d, want %d", i, got, s.lane)
		}
	}
	if len(l.busy) != 0 {
		t.Errorf("all lanes free, %d keys left", len(l.busy))
	}
	if h0, h1 := grpcLaneHost("127.0.0.1:1", 0), grpcLaneHost("127.0.0.1:1", 1); h0 != "127.0.0.1:1" || h1 == h0 || h1 == grpcLaneHost("127.0.0.1:2", 1) {
		t.Errorf("lane hosts %q %q", h0, h1)
	}
}

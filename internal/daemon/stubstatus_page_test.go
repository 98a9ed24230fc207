package daemon

import (
	"testing"

	"fulcrum/internal/vars"
)

// TestStatusPage checks the page byte for byte against nginx 1.22's, whose
// lines end with a space before the newline.
func TestStatusPage(t *testing.T) {
	tests := []struct {
		c    statusCounts
		want string
	}{
		{statusCounts{accepted: 10, handled: 10, requests: 25, ConnectionCounts: vars.ConnectionCounts{Active: 2, Writing: 1, Waiting: 1}},
			"Active connections: 2 \nserver accepts handled requests\n 10 10 25 \nReading: 0 Writing: 1 Waiting: 1 \n"},
		{statusCounts{accepted: 16630948, handled: 16630948, requests: 31070465, ConnectionCounts: vars.ConnectionCounts{Active: 291, Reading: 6, Writing: 179, Waiting: 106}},
			"Active connections: 291 \nserver accepts handled requests\n 16630948 16630948 31070465 \nReading: 6 Writing: 179 Waiting: 106 \n"},
		{statusCounts{}, "Active connections: 0 \nserver accepts handled requests\n 0 0 0 \nReading: 0 Writing: 0 Waiting: 0 \n"},
	}
	for _, tt := range tests {
		if got := string(appendStatus(nil, tt.c)); got != tt.want {
			t.Errorf("page\n%q\nwant\n%q", got, tt.want)
		}
	}
}

// TestConnStatsCounts checks the states derived from the counters after a
// sequence of engine steps.
func TestConnStatsCounts(t *testing.T) {
	var s connStats
	for range 4 {
		s.accept()
		s.handle()
	}
	s.accept() // accepted while stopping: not handled
	s.requestStarted()
	s.headRead() // Writing
	s.requestStarted()
	s.headRead()
	s.requestFinished() // back to Waiting
	s.requestStarted()  // Reading
	s.handshake(1)      // a TLS handshake: Active only
	s.close()
	got := s.counts()
	want := statusCounts{accepted: 5, handled: 4, requests: 3, ConnectionCounts: vars.ConnectionCounts{Active: 3, Reading: 1, Writing: 1, Waiting: 0}}
	if got != want {
		t.Errorf("counts %+v, want %+v", got, want)
	}
	if c := s.ConnectionCounts(); c != want.ConnectionCounts {
		t.Errorf("ConnectionCounts %+v, want %+v", c, want.ConnectionCounts)
	}
	var none *connStats // a server made without counters counts nothing
	none.accept()
	none.requestFinished()
}

// TestConnStatsNoAllocs: the engine's steps allocate nothing.
func TestConnStatsNoAllocs(t *testing.T) {
	var s connStats
	if n := testing.AllocsPerRun(100, func() {
		s.requestStarted()
		s.headRead()
		s.requestFinished()
		_ = s.ConnectionCounts()
	}); n != 0 {
		t.Errorf("%v allocations per request", n)
	}
}

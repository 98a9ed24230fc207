package admin

import (
	"encoding/json"
	"testing"
	"time"

	"fulcrum/internal/upstream"
)

// fullStatus is a server with every field the API shows set: backup,
// max_conns, a route, draining, times of every metric, a health check.
func fullStatus() upstream.ServerStatus {
	s := upstream.ServerStatus{
		ID: 3, Network: upstream.NetworkUnix, Addr: "/run/app.sock", Name: "unix:/run/app.sock", Backup: true,
		Weight: 5, MaxConns: 7, MaxFails: 2, FailTimeout: 1500 * time.Millisecond, SlowStart: 30 * time.Second,
		Route: "r1", Draining: true, Active: 4, Requests: 11, Sent: 1200, Received: 3400, Failures: 2, Unavail: 1,
		Codes:    map[int]int64{200: 9, 503: 2},
		Downtime: 2500 * time.Millisecond, DownStart: time.Date(2026, 1, 2, 3, 4, 5, 600e6, time.UTC),
		Selected: time.Date(2026, 1, 2, 3, 4, 6, 0, time.UTC),
		Health:   upstream.HealthChecking,
	}
	s.Responses.Class2xx, s.Responses.Class5xx = 9, 2
	s.HealthChecks.Checks, s.HealthChecks.Fails, s.HealthChecks.Unhealthy = 3, 1, 1
	for m, d := range []time.Duration{3 * time.Millisecond, 12 * time.Millisecond, 40 * time.Millisecond} {
		s.AvgTimes[m], s.HasAvgTime[m] = d, true
	}
	return s
}

// TestJSONPinned pins the API's http and stream upstream and server
// objects byte for byte, with every field set and with none.
func TestJSONPinned(t *testing.T) {
	s := fullStatus()
	u := Upstream{Name: "app", Zone: "z", Servers: []upstream.ServerStatus{s, {Weight: 1}}, Queue: upstream.NewQueue(4, time.Second)}
	tests := []struct {
		name string
		v    any
		want string
	}{
		{"http upstream", upstreamOf(&u), `{"peers":[{"id":3,"server":"unix:/run/app.sock","name":"unix:/run/app.sock","backup":true,"weight":5,"state":"checking","active":4,"max_conns":7,"requests":11,"responses":{"1xx":0,"2xx":9,"3xx":0,"4xx":0,"5xx":2,"codes":{"200":9,"503":2},"total":11},"sent":1200,"received":3400,"fails":2,"unavail":1,"health_checks":{"checks":3,"fails":1,"unhealthy":1,"last_passed":false},"downtime":2500,"downstart":"2026-01-02T03:04:05.600Z","selected":"2026-01-02T03:04:06.000Z","header_time":12,"response_time":40},{"id":0,"server":"","name":"","backup":false,"weight":1,"state":"up","active":0,"requests":0,"responses":{"1xx":0,"2xx":0,"3xx":0,"4xx":0,"5xx":0,"codes":{},"total":0},"sent":0,"received":0,"fails":0,"unavail":0,"downtime":0}],"zombies":0,"zone":"z","queue":{"size":0,"max_size":4,"overflows":0}}`},
		{"stream upstream", streamUpstreamOf(&u), `{"peers":[{"id":3,"server":"unix:/run/app.sock","name":"unix:/run/app.sock","backup":true,"weight":5,"state":"checking","active":4,"max_conns":7,"connections":11,"sent":1200,"received":3400,"fails":2,"unavail":1,"health_checks":{"checks":3,"fails":1,"unhealthy":1,"last_passed":false},"downtime":2500,"downstart":"2026-01-02T03:04:05.600Z","selected":"2026-01-02T03:04:06.000Z","connect_time":3,"first_byte_time":12,"response_time":40},{"id":0,"server":"","name":"","backup":false,"weight":1,"state":"up","active":0,"connections":0,"sent":0,"received":0,"fails":0,"unavail":0,"downtime":0}],"zombies":0,"zone":"z"}`},
		{"http server", serverOf(&s), `{"id":3,"server":"unix:/run/app.sock","weight":5,"max_conns":7,"max_fails":2,"fail_timeout":"1500ms","slow_start":"30s","route":"r1","backup":true,"down":false,"drain":true}`},
		{"stream server", streamServerOf(&s), `{"id":3,"server":"unix:/run/app.sock","weight":5,"max_conns":7,"max_fails":2,"fail_timeout":"1500ms","slow_start":"30s","backup":true,"down":false}`},
		{"empty http upstream", upstreamOf(&Upstream{}), `{"peers":[],"zombies":0}`},
		{"empty stream upstream", streamUpstreamOf(&Upstream{}), `{"peers":[],"zombies":0}`},
	}
	for _, tt := range tests {
		b, err := json.Marshal(tt.v)
		if err != nil {
			t.Fatal(err)
		}
		if string(b) != tt.want {
			t.Errorf("%s:\n got %s\nwant %s", tt.name, b, tt.want)
		}
	}
}

// TestPeersAgree: an http peer and a stream peer of the same server show
// every field they share with the same value, requests as connections,
// and differ only in NGINX Plus's per-protocol fields.
func TestPeersAgree(t *testing.T) {
	for _, s := range []upstream.ServerStatus{fullStatus(), {}} {
		u := Upstream{Servers: []upstream.ServerStatus{s}}
		var h, st struct{ Peers []map[string]json.RawMessage }
		for _, c := range []struct{ v, dst any }{{upstreamOf(&u), &h}, {streamUpstreamOf(&u), &st}} {
			b, err := json.Marshal(c.v)
			if err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(b, c.dst); err != nil {
				t.Fatal(err)
			}
		}
		hp, sp := h.Peers[0], st.Peers[0]
		only := map[string]bool{"requests": true, "responses": true, "header_time": true, "connections": true, "connect_time": true, "first_byte_time": true}
		for k, v := range hp {
			if only[k] {
				continue
			}
			if w, ok := sp[k]; !ok || string(w) != string(v) {
				t.Errorf("%q: http %s, stream %s", k, v, w)
			}
		}
		for k := range sp {
			if _, ok := hp[k]; !ok && !only[k] {
				t.Errorf("%q only in the stream peer", k)
			}
		}
		if string(hp["requests"]) != string(sp["connections"]) {
			t.Errorf("requests %s, connections %s", hp["requests"], sp["connections"])
		}
	}
}

// TestJSONAllocs: building and encoding the objects allocates no more
// than it did when the http and stream encoders were separate code (37,
// 30, 6 and 6 with Go 1.26); the stream upstream's went down to 19, as a
// stream peer no longer builds an http peer's responses first.
func TestJSONAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	s := fullStatus()
	u := Upstream{Name: "app", Zone: "z", Servers: []upstream.ServerStatus{s, s, {Weight: 1}}, Queue: upstream.NewQueue(4, time.Second)}
	tests := []struct {
		name string
		max  float64
		f    func()
	}{
		{"http upstream", 37, func() { json.Marshal(upstreamOf(&u)) }},
		{"stream upstream", 19, func() { json.Marshal(streamUpstreamOf(&u)) }},
		{"http server", 6, func() { json.Marshal(serverOf(&s)) }},
		{"stream server", 6, func() { json.Marshal(streamServerOf(&s)) }},
	}
	for _, tt := range tests {
		if n := testing.AllocsPerRun(50, tt.f); n > tt.max {
			t.Errorf("%s: %v allocations, want at most %v", tt.name, n, tt.max)
		}
	}
}

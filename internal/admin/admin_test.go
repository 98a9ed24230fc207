package admin

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"fulcrum/internal/upstream"
)

func TestParseTime(t *testing.T) {
	tests := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"10", 10 * time.Second, true},
		{"10s", 10 * time.Second, true},
		{"500ms", 500 * time.Millisecond, true},
		{"1m30s", 90 * time.Second, true},
		{"0", 0, true},
		{"-1", 0, false},
		{"-1s", 0, false},
		{"soon", 0, false},
		{"", 0, false},
	}
	for _, tt := range tests {
		got, ok := parseTime(tt.in)
		if ok != tt.ok || ok && got != tt.want {
			t.Errorf("parseTime(%q) = %v, %t; want %v, %t", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

func TestDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{0: "0s", 10 * time.Second: "10s", 1500 * time.Millisecond: "1500ms", time.Minute: "60s"} {
		if got := duration(d); got != want {
			t.Errorf("duration(%v) = %q, want %q", d, got, want)
		}
	}
}

func TestState(t *testing.T) {
	tests := []struct {
		s    upstream.ServerStatus
		want string
	}{
		{upstream.ServerStatus{}, "up"},
		{upstream.ServerStatus{Down: true, Draining: true}, "down"},
		{upstream.ServerStatus{Draining: true, Unavailable: true}, "draining"},
		{upstream.ServerStatus{Unavailable: true}, "unavail"},
		{upstream.ServerStatus{Health: upstream.HealthUnhealthy, Draining: true}, "unhealthy"},
		{upstream.ServerStatus{Health: upstream.HealthChecking}, "checking"},
		{upstream.ServerStatus{Health: upstream.HealthHealthy}, "up"},
		{upstream.ServerStatus{Down: true, Health: upstream.HealthUnhealthy}, "down"},
	}
	for _, tt := range tests {
		if got := State(&tt.s); got != tt.want {
			t.Errorf("State(%+v) = %q, want %q", tt.s, got, tt.want)
		}
	}
}

// TestMetricsLabels checks label escaping, unix addresses and the "#2" of
// an address listed twice.
func TestMetricsLabels(t *testing.T) {
	ups := []Upstream{{Name: `we"ird\name`, Servers: []upstream.ServerStatus{
		{Network: "tcp", Addr: "10.0.0.1:80", Requests: 1},
		{Network: "tcp", Addr: "10.0.0.1:80", Requests: 2},
		{Network: "unix", Addr: "/run/app.sock", Requests: 3},
	}}}
	out := string(AppendMetrics(nil, Process{Generation: 2}, Counts{}, ups))
	for _, want := range []string{
		"fulcrum_generation 2\n",
		`fulcrum_upstream_server_requests_total{upstream="we\"ird\\name",server="10.0.0.1:80"} 1` + "\n",
		`fulcrum_upstream_server_requests_total{upstream="we\"ird\\name",server="10.0.0.1:80#2"} 2` + "\n",
		`fulcrum_upstream_server_requests_total{upstream="we\"ird\\name",server="unix:/run/app.sock"} 3` + "\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("no %q in\n%s", want, out)
		}
	}
}

// TestPeerAverageTimes: the average times show in whole milliseconds once
// a server has a sample, and not before.
func TestPeerAverageTimes(t *testing.T) {
	var s upstream.ServerStatus
	s.AvgTimes[upstream.MetricHeader], s.HasAvgTime[upstream.MetricHeader] = 12500*time.Microsecond, true
	s.AvgTimes[upstream.MetricLastByte], s.HasAvgTime[upstream.MetricLastByte] = 40*time.Millisecond, true
	tests := []struct {
		name string
		v    any
		want []string
		not  []string
	}{
		{"http", peer(&s), []string{`"header_time":12`, `"response_time":40`}, nil},
		{"http without samples", peer(&upstream.ServerStatus{}), nil, []string{"header_time", "response_time"}},
		{"stream", streamUpstreamOf(&Upstream{Servers: []upstream.ServerStatus{s}}), []string{`"first_byte_time":12`, `"response_time":40`}, []string{"connect_time"}},
	}
	for _, tt := range tests {
		b, err := json.Marshal(tt.v)
		if err != nil {
			t.Fatal(err)
		}
		for _, w := range tt.want {
			if !strings.Contains(string(b), w) {
				t.Errorf("%s: %s lacks %s", tt.name, b, w)
			}
		}
		for _, n := range tt.not {
			if strings.Contains(string(b), n) {
				t.Errorf("%s: %s has %s", tt.name, b, n)
			}
		}
	}
}

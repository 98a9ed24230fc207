package config

import (
	"testing"
	"time"
)

func TestParseSize(t *testing.T) {
	tests := []struct {
		in     string
		size   int64 // parseSize; -1 means an error
		offset int64 // parseOffset; -1 means an error
	}{
		{"0", 0, 0},
		{"512", 512, 512},
		{"8k", 8 << 10, 8 << 10},
		{"8K", 8 << 10, 8 << 10},
		{"1m", 1 << 20, 1 << 20},
		{"1M", 1 << 20, 1 << 20},
		{"1g", -1, 1 << 30},
		{"2G", -1, 2 << 30},
		{"", -1, -1},
		{"k", -1, -1},
		{"abc", -1, -1},
		{"1.5m", -1, -1},
		{"-1", -1, -1},
		{"+1", -1, -1},
		{"1 k", -1, -1},
		{"1kb", -1, -1},
		{"1t", -1, -1},
		{"99999999999999999999", -1, -1},
		{"9007199254740992k", -1, -1}, // overflows int64 once scaled
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			check := func(name string, got int64, err error, want int64) {
				t.Helper()
				if want < 0 {
					if err == nil {
						t.Errorf("%s(%q) = %d, want an error", name, tt.in, got)
					}
					return
				}
				if err != nil || got != want {
					t.Errorf("%s(%q) = %d, %v; want %d", name, tt.in, got, err, want)
				}
			}
			n, err := parseSize(tt.in)
			check("parseSize", n, err, tt.size)
			n, err = parseOffset(tt.in)
			check("parseOffset", n, err, tt.offset)
		})
	}
}

func TestParseTime(t *testing.T) {
	const bad = time.Duration(-1)
	tests := []struct {
		in   string
		msec time.Duration // parseTime(in, false)
		sec  time.Duration // parseTime(in, true)
	}{
		{"30", 30 * time.Second, 30 * time.Second},
		{"0", 0, 0},
		{"500ms", 500 * time.Millisecond, bad},
		{"30s", 30 * time.Second, 30 * time.Second},
		{"5m", 5 * time.Minute, 5 * time.Minute},
		{"1h", time.Hour, time.Hour},
		{"1d", 24 * time.Hour, 24 * time.Hour},
		{"1w", 7 * 24 * time.Hour, 7 * 24 * time.Hour},
		{"1M", bad, 30 * 24 * time.Hour},
		{"1y", bad, 365 * 24 * time.Hour},
		{"1m30s", 90 * time.Second, 90 * time.Second},
		{"1m 30s", 90 * time.Second, 90 * time.Second},
		{"1m30", 90 * time.Second, 90 * time.Second},
		{"1h30m", 90 * time.Minute, 90 * time.Minute},
		{"1s500ms", 1500 * time.Millisecond, bad},
		{"1y2M3w4d5h6m7s", bad, (365+60+21+4)*24*time.Hour + 5*time.Hour + 6*time.Minute + 7*time.Second},
		{"30 ", 30 * time.Second, 30 * time.Second},
		{"1 2", 3 * time.Second, 3 * time.Second},
		{"1 2s", bad, bad},
		{"30s1m", bad, bad},
		{"1d1w", bad, bad},
		{"1m1m", bad, bad},
		{"1H", bad, bad},
		{"1S", bad, bad},
		{"abc", bad, bad},
		{"", bad, bad},
		{"s", bad, bad},
		{" ", bad, bad},
		{"-1", bad, bad},
		{"1.5s", bad, bad},
		{"25d", 25 * 24 * time.Hour, 25 * 24 * time.Hour},
		{"2147484s", 2147484 * time.Second, 2147484 * time.Second},
		{"106751d", 106751 * 24 * time.Hour, 106751 * 24 * time.Hour},
		{"106752d", bad, bad}, // longer than a time.Duration (nginx takes it)
		{"292y", bad, 292 * 365 * 24 * time.Hour},
		{"293y", bad, bad},
		{"9223372036854775807ms", bad, bad},
		{"9223372036854775808", bad, bad}, // overflows int64, as in nginx
		{"99999999999999", bad, bad},      // 3 million years
		{"2147483647ms", 2147483647 * time.Millisecond, bad},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			for _, sec := range []bool{false, true} {
				want := tt.msec
				if sec {
					want = tt.sec
				}
				got, err := parseTime(tt.in, sec)
				if want == bad {
					if err == nil {
						t.Errorf("parseTime(%q, sec=%t) = %v, want an error", tt.in, sec, got)
					}
					continue
				}
				if err != nil || got != want {
					t.Errorf("parseTime(%q, sec=%t) = %v, %v; want %v", tt.in, sec, got, err, want)
				}
			}
		})
	}
}

func TestParseFlagAndNumber(t *testing.T) {
	flags := []struct {
		in   string
		want bool
		ok   bool
	}{
		{"on", true, true}, {"ON", true, true}, {"Off", false, true}, {"off", false, true},
		{"yes", false, false}, {"1", false, false}, {"", false, false},
	}
	for _, tt := range flags {
		got, err := parseFlag(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("parseFlag(%q) = %t, %v", tt.in, got, err)
		}
	}
	numbers := []struct {
		in   string
		want int64
		ok   bool
	}{
		{"0", 0, true}, {"1024", 1024, true}, {"007", 7, true},
		{"9223372036854775807", 1<<63 - 1, true}, {"9223372036854775808", 0, false},
		{"-1", 0, false}, {"+1", 0, false}, {"1k", 0, false}, {"", 0, false}, {" 1", 0, false},
	}
	for _, tt := range numbers {
		got, err := parseNumber(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("parseNumber(%q) = %d, %v", tt.in, got, err)
		}
	}
}

func TestSuggest(t *testing.T) {
	tests := []struct {
		word, want string
	}{
		{"proxy_pas", "proxy_pass"},
		{"proxy_psas", "proxy_pass"}, // transposition
		{"proxy_read_timout", "proxy_read_timeout"},
		{"lisen", "listen"},
		{"server_nmae", "server_name"},
		{"worker_connection", "worker_connections"},
		{"upstraem", "upstream"},
		{"rot", "root"},
		{"xyz", ""},
		{"completely_unknown_thing", ""},
		{"proxy_pass", ""}, // a known name suggests nothing else
	}
	for _, tt := range tests {
		if got := suggest(tt.word, directiveNames, nil); got != tt.want {
			t.Errorf("suggest(%q) = %q, want %q", tt.word, got, tt.want)
		}
	}
}

func TestEditDistance(t *testing.T) {
	tests := []struct {
		a, b string
		want int
	}{
		{"", "", 0}, {"a", "", 1}, {"", "abc", 3}, {"abc", "abc", 0},
		{"abc", "acb", 1}, {"kitten", "sitting", 3}, {"ca", "abc", 3},
	}
	for _, tt := range tests {
		if got := editDistance(tt.a, tt.b); got != tt.want {
			t.Errorf("editDistance(%q, %q) = %d, want %d", tt.a, tt.b, got, tt.want)
		}
		if got := editDistance(tt.b, tt.a); got != tt.want {
			t.Errorf("editDistance(%q, %q) = %d, want %d", tt.b, tt.a, got, tt.want)
		}
	}
}

package integration

import (
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// TestCollectorHeadroomFollowsLiveHeap: fulcrum sizes the garbage
// collector's headroom to its live heap (internal/gctune). A map of 150,000
// entries keeps over 10 MiB of configuration live, so the percentage
// (fulcrum_go_gc_percent) drops below Go's default 100; with GOGC in the
// environment fulcrum leaves it to that setting.
func TestCollectorHeadroomFollowsLiveHeap(t *testing.T) {
	t.Parallel() // its cases run in parallel too; the whole waits beside the other parallel tests, not before them
	var conf strings.Builder
	conf.WriteString("events {}\nhttp {\n    access_log off;\n    map $uri $entry {\n        default none;\n")
	// strconv, not fmt: 150,000 Fprintf calls take seconds under -race.
	for i := range 150000 {
		n := strconv.Itoa(i)
		conf.WriteString("        /key/" + n + " value-" + n + ";\n")
	}
	conf.WriteString(`    }
    server {
        listen 127.0.0.1:0;
        location = /metrics { metrics; }
        location / { return 200 "$entry\n"; }
    }
}
`)
	percent := regexp.MustCompile(`(?m)^fulcrum_go_gc_percent (\d+)$`)
	tests := []struct {
		name string
		env  []string
		want func(int) bool
		says string
	}{
		{"tuned", []string{"GOGC=", "GOMEMLIMIT="}, func(p int) bool { return p >= 10 && p < 100 }, "between 10 and 99"},
		{"GOGC in the environment", []string{"GOGC=100"}, func(p int) bool { return p == 100 }, "100"},
		{"GOGC=30", []string{"GOGC=30"}, func(p int) bool { return p == 30 }, "30"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel() // each case is its own process, loading for seconds
			in := startFulcrumEnv(t, conf.String(), 1, tt.env)
			client := newClient()
			if code, body := get(t, client, in.url(0)+"/key/149999"); code != 200 || body != "value-149999\n" {
				t.Fatalf("GET /key/149999: %d %q", code, body)
			}
			var last string
			waitFor(t, "fulcrum_go_gc_percent "+tt.says, func() bool {
				code, body := get(t, client, in.url(0)+"/metrics")
				m := percent.FindStringSubmatch(body)
				if code != 200 || m == nil {
					t.Fatalf("metrics: %d, no fulcrum_go_gc_percent in\n%s", code, body)
				}
				last = m[1]
				p, _ := strconv.Atoi(m[1])
				return tt.want(p)
			})
			t.Logf("fulcrum_go_gc_percent %s", last)
		})
	}
}

package vars

import (
	"net/netip"
	"testing"
	"time"
)

// benchState is a typical proxied request as the net/http engine would
// describe it: a canonical header map and one upstream attempt.
func benchState() *State {
	st := &State{}
	st.Method = "GET"
	st.RequestURI = "/api/v1/items?page=2"
	st.Path = "/api/v1/items"
	st.Args = "page=2"
	st.Host = "Shop.Example.com"
	st.Scheme = "http"
	st.Proto = "HTTP/1.1"
	st.RequestLine = "GET /api/v1/items?page=2 HTTP/1.1"
	st.Header = HeaderMap{
		"Host":            {"Shop.Example.com"},
		"User-Agent":      {"Mozilla/5.0 (X11; Linux x86_64) Firefox/130.0"},
		"Referer":         {"https://shop.example.com/"},
		"Accept":          {"*/*"},
		"X-Forwarded-For": {"203.0.113.9"},
	}
	st.Remote = netip.MustParseAddrPort("198.51.100.23:50412")
	st.Local = netip.MustParseAddrPort("10.0.0.1:80")
	st.Start = fixedNow.Add(-3 * time.Millisecond)
	st.ServerName = "shop.example.com"
	st.Status = 200
	st.BodyBytesSent = 5120
	a := st.StartAttempt(netip.MustParseAddrPort("10.0.1.7:8080"), "")
	a.Status, a.ResponseTime = 200, 2*time.Millisecond
	return st
}

var benchTemplates = []struct {
	name, src string
	escaped   bool
}{
	{"proxy_set_header/Host", "$host", false},
	{"proxy_set_header/X-Forwarded-For", "$proxy_add_x_forwarded_for", false},
	{"proxy_set_header/X-Forwarded-Host", "$host:$server_port", false},
	{"access_log/combined", combinedFormat, true},
	{"access_log/upstream", `$remote_addr "$request" $status $request_time $upstream_addr $upstream_status $upstream_response_time`, true},
}

func BenchmarkAppend(b *testing.B) {
	c := &Compiler{Now: fixedClock}
	for _, bt := range benchTemplates {
		tpl, err := c.Compile(bt.src)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(bt.name, func(b *testing.B) {
			st := benchState()
			buf := make([]byte, 0, 512)
			b.ReportAllocs()
			for b.Loop() {
				if bt.escaped {
					buf = tpl.AppendEscaped(buf[:0], st, EscapeDefault)
				} else {
					buf = tpl.Append(buf[:0], st)
				}
			}
		})
	}
}

// TestAppendDoesNotAllocate holds the hot path to its promise: evaluating
// into a reused buffer with a warm State allocates nothing.
func TestAppendDoesNotAllocate(t *testing.T) {
	c := &Compiler{Now: time.Now, Hostname: "lb", PID: 1}
	src := combinedFormat + ` $host:$server_port $proxy_add_x_forwarded_for $request_time $msec ` +
		`$time_iso8601 $upstream_addr $upstream_status $upstream_response_time $upstream_connect_time ` +
		`$arg_page $cookie_x $http_accept $remote_port $request_id $scheme $uri $args $is_args $pid`
	tpl, err := c.Compile(src)
	if err != nil {
		t.Fatal(err)
	}
	st := benchState()
	st.Header.(HeaderMap)["User-Agent"] = []string{"needs \"escaping\""}
	buf := tpl.AppendEscaped(nil, st, EscapeDefault) // warm the buffers
	for _, esc := range []Escape{EscapeDefault, EscapeJSON, EscapeNone} {
		allocs := testing.AllocsPerRun(100, func() {
			buf = tpl.AppendEscaped(buf[:0], st, esc)
			buf = tpl.Append(buf[:0], st)
		})
		if allocs != 0 {
			t.Errorf("escape=%s: %.1f allocations per evaluation, want 0", esc, allocs)
		}
	}
}

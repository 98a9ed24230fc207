package vars_test

import (
	"fmt"
	"net/netip"
	"time"

	"fulcrum/internal/vars"
)

// The proxy compiles its templates at load time, fills a pooled State per
// request, and evaluates into reused buffers.
func Example() {
	c := &vars.Compiler{
		Hostname: "lb1",
		Now: func() time.Time {
			return time.Date(2026, 11, 25, 1, 24, 22, 0, time.UTC)
		},
	}
	xff, _ := c.Compile("$proxy_add_x_forwarded_for")
	logLine, _ := c.Compile(`$remote_addr "$request" $status $upstream_addr $upstream_status "$http_referer"`)

	var st vars.State // normally from a sync.Pool
	// The engine fills the request view once the request head is read.
	st.Method, st.RequestURI, st.Proto = "GET", "/api?id=7", "HTTP/1.1"
	st.Path, st.Args, st.Host = "/api", "id=7", "shop.example:8080"
	st.Header = vars.HeaderMap{"X-Forwarded-For": {"203.0.113.9"}} // e.g. vars.HeaderMap(req.Header)
	st.Remote = netip.MustParseAddrPort("198.51.100.23:50412")
	st.Start = c.Now()

	// The proxy records each upstream attempt.
	a := st.StartAttempt(netip.MustParseAddrPort("10.0.1.7:8080"), "")
	a.Status = 502
	b := st.StartAttempt(netip.MustParseAddrPort("10.0.1.8:8080"), "")
	b.Status = 200
	st.Status = 200

	buf := xff.Append(nil, &st)
	fmt.Printf("X-Forwarded-For: %s\n", buf)
	buf = logLine.AppendEscaped(buf[:0], &st, vars.EscapeDefault)
	fmt.Printf("%s\n", buf)

	st.Reset() // back to the pool
	// Output:
	// X-Forwarded-For: 203.0.113.9, 198.51.100.23
	// 198.51.100.23 "GET /api?id=7 HTTP/1.1" 200 10.0.1.7:8080, 10.0.1.8:8080 502, 200 "-"
}

package daemon_test

import (
	"bufio"
	"net"
	"regexp"
	"strconv"
	"testing"
	"time"
)

// TestConnectionTimeVariable: $connection_time is the seconds, to the
// millisecond, since the connection was accepted, as nginx 1.19.10 added
// it (recorded with nginx 1.22.1: three keep-alive requests 0.3 s apart
// gave 0.000, 0.300 and 0.606), while $request_time starts again with
// each request. nginx-tests' http_keepalive.t logs it.
func TestConnectionTimeVariable(t *testing.T) {
	dir := t.TempDir()
	addr := startDaemon(t, dir, `
    access_log off;
    keepalive_requests 1000000; # the loop below may take thousands
    server {
        listen 127.0.0.1:0;
        location / { return 200 "c=$connection_time r=$request_time n=$connection_requests\n"; }
    }`)
	start := time.Now()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	br := bufio.NewReader(c)
	re := regexp.MustCompile(`^c=(\d+\.\d{3}) r=(\d+\.\d{3}) n=(\d+)\n$`)
	// Poll on one connection until it is 50 ms old: each answer's
	// connection time grows, never past the time since the dial, while
	// each request's own time stays under it.
	last := -1.0
	for n := 1; ; n++ {
		_, body := roundTrip(t, c, br, "GET / HTTP/1.1\r\nHost: a\r\n\r\n")
		m := re.FindStringSubmatch(body)
		if m == nil {
			t.Fatalf("request %d: %q, want c=S.mmm r=S.mmm n=%d", n, body, n)
		}
		ct, _ := strconv.ParseFloat(m[1], 64)
		rt, _ := strconv.ParseFloat(m[2], 64)
		if m[3] != strconv.Itoa(n) {
			t.Fatalf("request %d: $connection_requests %s", n, m[3])
		}
		if n == 1 && ct > 0.5 {
			t.Fatalf("first request: $connection_time %v, want about 0", ct)
		}
		if ct < last || ct > time.Since(start).Seconds()+0.001 {
			t.Fatalf("request %d: $connection_time %v after %v, %v since the dial", n, ct, last, time.Since(start))
		}
		last = ct
		if ct >= 0.05 {
			if rt >= ct {
				t.Fatalf("request %d: $request_time %v is not below $connection_time %v", n, rt, ct)
			}
			return
		}
	}
}

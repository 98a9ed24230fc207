package daemon_test

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"fulcrum/internal/testutil"
)

// listenSamePort starts one HTTP backend per loopback address, all on one
// port (a name's addresses share the port of its server line); each
// answers its address.
func listenSamePort(t *testing.T, ips ...string) string {
	t.Helper()
	for attempt := 0; attempt < 20; attempt++ {
		first, err := net.Listen("tcp", ips[0]+":0")
		if err != nil {
			t.Fatal(err)
		}
		port := strconv.Itoa(first.Addr().(*net.TCPAddr).Port)
		lns := []net.Listener{first}
		for _, ip := range ips[1:] {
			ln, err := net.Listen("tcp", net.JoinHostPort(ip, port))
			if err != nil {
				break // the port is taken there: try another
			}
			lns = append(lns, ln)
		}
		if len(lns) < len(ips) {
			for _, ln := range lns {
				ln.Close()
			}
			continue
		}
		for i, ln := range lns {
			srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				io.WriteString(w, ips[i])
			})}
			go srv.Serve(ln)
			t.Cleanup(func() { srv.Close() })
		}
		return port
	}
	t.Fatal("no port free on every address")
	return ""
}

// TestUpstreamResolve runs an upstream whose server is a name marked
// resolve, against a DNS server the test controls: the name's addresses are
// looked up again at the resolver's valid= interval, and requests follow
// them as they change, with no reload.
func TestUpstreamResolve(t *testing.T) {
	t.Parallel() // mostly waiting; its own daemon, ports and files
	dns := testutil.StartDNSServer(t)
	dns.Set("app.test", "127.0.0.2")
	port := listenSamePort(t, "127.0.0.2", "127.0.0.3")
	addr, _ := runConfig(t, t.TempDir(), fmt.Sprintf(`events {}
http {
    access_log off;
    upstream app {
        zone app 64k;
        resolver %s valid=1s ipv6=off;
        server app.test:%s resolve;
    }
    server { listen 127.0.0.1:0; location / { proxy_pass http://app; } }
}`, dns.Addr, port))
	client := &http.Client{Timeout: 5 * time.Second}
	answers := func(n int) map[string]int {
		t.Helper()
		seen := map[string]int{}
		for range n {
			resp, err := client.Get("http://" + addr + "/")
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			seen[fmt.Sprintf("%d %s", resp.StatusCode, body)]++
		}
		return seen
	}
	waitFor := func(what string, cond func(map[string]int) bool) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		var last map[string]int
		for {
			if last = answers(4); cond(last) {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: the last requests were answered %v", what, last)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	waitFor("one address", func(m map[string]int) bool { return m["200 127.0.0.2"] == 4 })
	dns.Set("app.test", "127.0.0.2", "127.0.0.3")
	waitFor("a second address", func(m map[string]int) bool { return m["200 127.0.0.2"] == 2 && m["200 127.0.0.3"] == 2 })
	dns.Set("app.test", "127.0.0.3")
	waitFor("the first address gone", func(m map[string]int) bool { return m["200 127.0.0.3"] == 4 })
}

// TestProxyPassVariablesResolver: a proxy_pass with variables whose value
// names a host is resolved with the location's resolver, as nginx does
// (without one it is nginx's "no resolver defined to resolve"); a name the
// resolver does not know is a 502 and nginx's log line.
func TestProxyPassVariablesResolver(t *testing.T) {
	dns := testutil.StartDNSServer(t)
	dns.Set("app.test", "127.0.0.2")
	port := listenSamePort(t, "127.0.0.2")
	dir := t.TempDir()
	addr, _ := runConfig(t, dir, fmt.Sprintf(`error_log %s/error.log info;
events {}
http {
    access_log off;
    server {
        listen 127.0.0.1:0;
        location /r/ { resolver %s valid=60s; proxy_pass http://$arg_host:%s; }
        location /n/ { proxy_pass http://$arg_host:%s; }
    }
}`, dir, dns.Addr, port, port))
	client := &http.Client{Timeout: 5 * time.Second}
	tests := []struct {
		path, want string
		code       int
	}{
		{"/r/?host=app.test", "127.0.0.2", 200},
		{"/r/?host=APP.test", "127.0.0.2", 200},
		{"/r/?host=127.0.0.2", "127.0.0.2", 200},
		{"/r/?host=missing.test", "", 502},
		{"/n/?host=app.test", "", 502},
	}
	for _, tt := range tests {
		resp, err := client.Get("http://" + addr + tt.path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tt.code || (tt.want != "" && string(body) != tt.want) {
			t.Errorf("%s: %d %q, want %d %q", tt.path, resp.StatusCode, body, tt.code, tt.want)
		}
	}
	// The answer is cached for valid=: a second request asks no one.
	n := dns.Queries()
	resp, err := client.Get("http://" + addr + "/r/?host=app.test")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if dns.Queries() != n {
		t.Errorf("the DNS server was asked again within valid=: %d then %d queries", n, dns.Queries())
	}
	for _, line := range []string{"error missing.test could not be resolved (3: Host not found)", "error no resolver defined to resolve app.test, client"} {
		waitForLog(t, filepath.Join(dir, "error.log"), line)
	}
}

// TestResolveTTL: without valid=, an answer is used for its TTL: an
// upstream's resolve name with a TTL of 0 follows DNS about every second,
// one with an hour's TTL is not asked again, and proxy_pass with variables
// keeps a long-lived answer and asks again for one whose TTL ran out.
func TestResolveTTL(t *testing.T) {
	t.Parallel() // mostly waiting; its own daemon, ports and files
	dns := testutil.StartDNSServer(t)
	dns.SetTTL("fast.test", 0, "127.0.0.2")
	dns.SetTTL("slow.test", 3600, "127.0.0.2")
	port := listenSamePort(t, "127.0.0.2", "127.0.0.3")
	addr, _ := runConfig(t, t.TempDir(), fmt.Sprintf(`events {}
http {
    access_log off;
    resolver %[1]s ipv6=off;
    upstream fast { zone fast 64k; server fast.test:%[2]s resolve; }
    upstream slow { zone slow 64k; server slow.test:%[2]s resolve; }
    server {
        listen 127.0.0.1:0;
        location /fast { proxy_pass http://fast; }
        location /slow { proxy_pass http://slow; }
        location /var/ { proxy_pass http://$arg_host:%[2]s; }
    }
}`, dns.Addr, port))
	client := &http.Client{Timeout: 5 * time.Second}
	get := func(path string) string {
		t.Helper()
		resp, err := client.Get("http://" + addr + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return fmt.Sprintf("%d %s", resp.StatusCode, body)
	}
	waitFor := func(what string, cond func() bool) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for !cond() {
			if time.Now().After(deadline) {
				t.Fatalf("%s: not within 10s", what)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	waitFor("the first answers", func() bool { return get("/fast") == "200 127.0.0.2" && get("/slow") == "200 127.0.0.2" })
	for _, host := range []string{"slow.test", "fast.test"} {
		if got := get("/var/?host=" + host); got != "200 127.0.0.2" {
			t.Fatalf("proxy_pass with variables to %s: %s", host, got)
		}
	}
	slowAsked := dns.QueriesFor("slow.test")
	dns.SetTTL("fast.test", 0, "127.0.0.3")
	dns.SetTTL("slow.test", 3600, "127.0.0.3")
	waitFor("fast.test's new address", func() bool { return get("/fast") == "200 127.0.0.3" })
	waitFor("fast.test's new address for proxy_pass with variables", func() bool { return get("/var/?host=fast.test") == "200 127.0.0.3" })
	if got := get("/slow"); got != "200 127.0.0.2" {
		t.Errorf("slow.test's upstream answered %s, want the first address for the hour of its TTL", got)
	}
	if got := get("/var/?host=slow.test"); got != "200 127.0.0.2" {
		t.Errorf("proxy_pass with variables answered %s for slow.test, want the cached first address", got)
	}
	if n := dns.QueriesFor("slow.test"); n != slowAsked {
		t.Errorf("slow.test asked %d times, then %d: its answers are valid for an hour", slowAsked, n)
	}
}

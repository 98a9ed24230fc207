package daemon_test

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
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

// TestResolverIncludedPerLocation: every place a resolver directive is read
// has its own answers, an included file's line once per include, as nginx
// makes one resolver per directive it reads; the levels that inherit one
// share it. SWAG's samples write "include resolver.conf;" in each location:
// nginx 1.22.1 asked DNS once per location that included it (three here; the
// nested location inherits its parent's) and once for the server's line its
// two locations inherit (recorded in the realworld sweep).
func TestResolverIncludedPerLocation(t *testing.T) {
	dns := testutil.StartDNSServer(t)
	dns.Set("inherited.test", "127.0.0.2")
	dns.Set("included.test", "127.0.0.2")
	port := listenSamePort(t, "127.0.0.2")
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "resolver.conf"), []byte("resolver "+dns.Addr+" valid=60s ipv6=off;\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	addr, _ := runConfig(t, dir, fmt.Sprintf(`error_log %[1]s/error.log info;
events {}
http {
    access_log off;
    server {
        listen 127.0.0.1:0;
        resolver %[2]s valid=60s ipv6=off;
        location /inh1/ { proxy_pass http://$arg_h:%[3]s; }
        location /inh2/ { proxy_pass http://$arg_h:%[3]s; }
        location /inc1/ { include %[1]s/resolver.conf; proxy_pass http://$arg_h:%[3]s; }
        location /inc2/ { include %[1]s/resolver.conf; proxy_pass http://$arg_h:%[3]s; }
        location /inc3/ { include %[1]s/resolver.conf; proxy_pass http://$arg_h:%[3]s;
            location /inc3/nested/ { proxy_pass http://$arg_h:%[3]s; }
        }
    }
}`, dir, dns.Addr, port))
	client := &http.Client{Timeout: 5 * time.Second}
	for _, path := range []string{"/inh1/?h=inherited.test", "/inh2/?h=inherited.test", "/inh1/?h=inherited.test",
		"/inc1/?h=included.test", "/inc2/?h=included.test", "/inc1/?h=included.test",
		"/inc3/?h=included.test", "/inc3/nested/?h=included.test"} {
		resp, err := client.Get("http://" + addr + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || string(body) != "127.0.0.2" {
			t.Errorf("%s: %d %q", path, resp.StatusCode, body)
		}
	}
	if got := dns.QueriesFor("inherited.test"); got != 1 {
		t.Errorf("the server's resolver, inherited by two locations, asked DNS %d times, want 1", got)
	}
	if got := dns.QueriesFor("included.test"); got != 3 {
		t.Errorf("resolver.conf, included in three locations, asked DNS %d times, want 3 (one per include, as nginx)", got)
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

// TestResolverContainerPatterns runs what Docker and Kubernetes
// configurations do with "resolver 127.0.0.11; proxy_pass http://$app:8080;",
// as nginx 1.22.1 answers them (recorded): the locations under one resolver
// directive share its answers (a name asked by two locations, or as "APP"
// and "app.", is one lookup); the error line of a resolved name's server
// says its address (upstream: "http://127.0.0.2:PORT/..."); and a resolver
// where nothing listens (127.0.0.11 outside Docker) is no answer: nginx's
// "recv() failed (111: Connection refused) while resolving" line, then,
// after resolver_timeout, a 502 and "could not be resolved (110: Operation
// timed out)".
func TestResolverContainerPatterns(t *testing.T) {
	t.Parallel() // mostly waiting for resolver_timeout; its own daemon, ports and files
	dns := testutil.StartDNSServer(t)
	dns.SetTTL("app.test", 3600, "127.0.0.2")
	port := listenSamePort(t, "127.0.0.2")
	dead := closedAddr(t, "tcp", "127.0.0.2:0")
	refused := closedAddr(t, "udp", "127.0.0.1:0")
	refused6 := closedAddr(t, "udp", "127.0.0.1:0")
	refusedFirst := closedAddr(t, "udp", "127.0.0.1:0")
	_, deadPort, _ := net.SplitHostPort(dead)
	dir := t.TempDir()
	addr, _ := runConfig(t, dir, fmt.Sprintf(`error_log %s/error.log info;
events {}
http {
    access_log off;
    server {
        listen 127.0.0.1:0;
        resolver %s valid=60s ipv6=off;
        location /a/ { proxy_pass http://$arg_host:%s; }
        location /b/ { proxy_pass http://$arg_host:%s; }
        location /down/ { proxy_pass http://$arg_host:%s; }
        location /refused/ { resolver %s ipv6=off; resolver_timeout 1s; proxy_pass http://$arg_host:%s; }
        location /refused6/ { resolver %s; resolver_timeout 1s; proxy_pass http://$arg_host:%s; }
        location /second/ { resolver %s %s ipv6=off; proxy_pass http://$arg_host:%s; }
    }
}`, dir, dns.Addr, port, port, deadPort, refused, port, refused6, port, refusedFirst, dns.Addr, port))
	client := &http.Client{Timeout: 10 * time.Second}
	get := func(path string) (int, string) {
		t.Helper()
		resp, err := client.Get("http://" + addr + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}
	if code, body := get("/a/?host=app.test"); code != 200 || body != "127.0.0.2" {
		t.Fatalf("/a/: %d %q", code, body)
	}
	n := dns.Queries()
	for _, path := range []string{"/b/?host=app.test", "/a/?host=APP.test", "/b/?host=app.test."} {
		if code, body := get(path); code != 200 || body != "127.0.0.2" {
			t.Errorf("%s: %d %q", path, code, body)
		}
	}
	if got := dns.Queries(); got != n {
		t.Errorf("the locations of one resolver asked DNS again for app.test: %d then %d queries", n, got)
	}
	if code, _ := get("/down/?host=app.test"); code != 502 {
		t.Errorf("/down/: %d, want 502", code)
	}
	start := time.Now()
	if code, _ := get("/refused/?host=app.test"); code != 502 {
		t.Errorf("/refused/: %d, want 502", code)
	}
	if took := time.Since(start); took < 900*time.Millisecond {
		t.Errorf("/refused/ answered after %v, before resolver_timeout (1s)", took)
	}
	if code, _ := get("/refused6/?host=app6.test"); code != 502 {
		t.Errorf("/refused6/: %d, want 502", code)
	}
	if code, body := get("/second/?host=app.test"); code != 200 || body != "127.0.0.2" {
		t.Errorf("/second/ (the first DNS server refuses): %d %q", code, body)
	}
	logPath := filepath.Join(dir, "error.log")
	waitForLog(t, logPath, fmt.Sprintf(`error connect() failed (111: Connection refused) while connecting to upstream, client: 127.0.0.1, server: , request: "GET /down/?host=app.test HTTP/1.1", upstream: "http://%s/down/?host=app.test"`, dead))
	waitForLog(t, logPath, "error app.test could not be resolved (110: Operation timed out), client")
	waitForLog(t, logPath, "error app6.test could not be resolved (110: Operation timed out), client")
	// The resolver's own lines, without a request, came before: one for
	// the A query alone, two for A and AAAA, as nginx's.
	b, _ := os.ReadFile(logPath)
	for _, tt := range []struct {
		line string
		n    int
	}{
		{fmt.Sprintf("recv() failed (111: Connection refused) while resolving, resolver: %s\n", refused), 1},
		{fmt.Sprintf("send() failed (111: Connection refused) while resolving, resolver: %s\n", refused6), 2},
		{fmt.Sprintf("recv() failed (111: Connection refused) while resolving, resolver: %s\n", refusedFirst), 1},
	} {
		if got := len(regexp.MustCompile(`\[error\] \d+#\d+: `+regexp.QuoteMeta(tt.line)).FindAll(b, -1)); got != tt.n {
			t.Errorf("error log has %d lines %q, want %d:\n%s", got, tt.line, tt.n, b)
		}
	}
}

// closedAddr returns an address on network ("tcp" or "udp") at addr where
// nothing listens any more.
func closedAddr(t *testing.T, network, addr string) string {
	t.Helper()
	if network == "udp" {
		pc, err := net.ListenPacket(network, addr)
		if err != nil {
			t.Fatal(err)
		}
		defer pc.Close()
		return pc.LocalAddr().String()
	}
	ln, err := net.Listen(network, addr)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// TestAuthRequestUnresolvedService: an auth_request whose service's name
// does not resolve (its container stopped) answers 500, and nginx 1.22.1
// logs "auth request unexpected status: 502 while sending to client"
// (recorded): the failed resolution finalized the subrequest's upstream.
func TestAuthRequestUnresolvedService(t *testing.T) {
	dns := testutil.StartDNSServer(t)
	dir := t.TempDir()
	addr, _ := runConfig(t, dir, fmt.Sprintf(`error_log %s/error.log info;
events {}
http {
    access_log off;
    server {
        listen 127.0.0.1:0;
        resolver %s ipv6=off;
        location = /auth { internal; set $auth auth-svc.test:9; proxy_pass http://$auth/validate; }
        location /api/ { auth_request /auth; proxy_pass http://127.0.0.1:9; }
    }
}`, dir, dns.Addr))
	resp, err := (&http.Client{Timeout: 5 * time.Second}).Get("http://" + addr + "/api/x")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 500 {
		t.Errorf("status %d, want 500", resp.StatusCode)
	}
	logPath := filepath.Join(dir, "error.log")
	waitForLog(t, logPath, "error auth-svc.test could not be resolved (3: Host not found), client: 127.0.0.1")
	waitForLog(t, logPath, "error auth request unexpected status: 502 while sending to client, client: 127.0.0.1")
}

// TestProxyPassResolvedRepeats: an address a DNS answer lists twice is two
// servers of the group a proxy_pass with variables makes of the answer, as
// nginx's resolver keeps repeated records and makes a peer of each.
// Recorded with nginx 1.22.1 ("set $h app.test; proxy_pass
// http://$h:PORT;"): A records 127.0.0.1, 127.0.0.1, 127.0.0.2 sent 404 of
// 600 requests to 127.0.0.1 and 196 to 127.0.0.2; with 127.0.0.3 (refusing)
// twice and 127.0.0.2, a request that started at 127.0.0.3 logged
// $upstream_addr "127.0.0.3:PORT, 127.0.0.3:PORT, 127.0.0.2:PORT". fulcrum
// merged the repeats: one request in two to each address, and one refusal.
func TestProxyPassResolvedRepeats(t *testing.T) {
	dns := testutil.StartDNSServer(t)
	dns.SetTTL("app.test", 300, "127.0.0.2", "127.0.0.2", "127.0.0.3")
	dns.SetTTL("down.test", 300, "127.0.0.4", "127.0.0.3", "127.0.0.4")
	port := listenSamePort(t, "127.0.0.2", "127.0.0.3")
	dir := t.TempDir()
	logPath := filepath.Join(dir, "access.log")
	addr, _ := runConfig(t, dir, fmt.Sprintf(`error_log %[1]s/error.log info;
events {}
http {
    log_format ua '$request_uri $status $upstream_addr';
    access_log %[2]s ua buffer=0;
    resolver %[3]s valid=60s ipv6=off;
    server {
        listen 127.0.0.1:0;
        location / { proxy_pass http://$arg_host:%[4]s; }
    }
}`, dir, logPath, dns.Addr, port))
	client := &http.Client{Timeout: 5 * time.Second}
	got := map[string]int{}
	for range 6 {
		resp, err := client.Get("http://" + addr + "/?host=app.test")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		got[string(body)]++
	}
	if got["127.0.0.2"] != 4 || got["127.0.0.3"] != 2 {
		t.Errorf("6 requests reached %v, want 127.0.0.2 4 times (listed twice) and 127.0.0.3 twice", got)
	}
	// The group is 127.0.0.3, 127.0.0.4, 127.0.0.4: the first request goes
	// to 127.0.0.3, the second tries the two 127.0.0.4 in turn.
	for i := range 2 {
		resp, err := client.Get("http://" + addr + "/?host=down.test&n=" + strconv.Itoa(i))
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || string(body) != "127.0.0.3" {
			t.Errorf("down.test #%d: %d %q, want 200 from 127.0.0.3", i, resp.StatusCode, body)
		}
	}
	p := ":" + port
	waitLogged(t, logPath, "/?host=down.test&n=1 200 127.0.0.4"+p+", 127.0.0.4"+p+", 127.0.0.3"+p)
}

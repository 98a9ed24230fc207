package daemon_test

import (
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"fulcrum/internal/testutil"
)

// leakConf is a configuration that holds as many per-configuration
// resources as fit one file: keepalive upstream pools, an upstream host
// resolved by a resolver read from an included file, active health
// checks, a proxy cache zone (its manager and loader), limit_req and
// limit_conn zones, a keyval zone, buffered access logs with flush=,
// syslog targets, certificates named with variables, and stream and mail
// servers (each with error_log files and syslog targets). %[1]s is the prefix, %[2]s the backend, %[3]s the syslog
// address, %[4]s the backend's port, %[5]s the auth_http address, %[6]s,
// %[7]s and %[8]s the HTTPS, stream and mail addresses; %[9]s is a
// suffix for every name and file, so that a reload between two suffixes
// drops every zone, pool, log and syslog target and makes new ones.
const leakConf = `pid %[1]s/fulcrum.pid;
error_log %[1]s/error.log notice;
error_log syslog:server=%[3]s,nohostname,tag=e%[9]s warn;
events {}
http {
    log_format f '$remote_addr $status $request_time';
    access_log %[1]s/access%[9]s.log f buffer=4k flush=1s;
    access_log syslog:server=%[3]s,nohostname,tag=h%[9]s f;
    limit_req_zone $binary_remote_addr zone=rl%[9]s:1m rate=10000r/s;
    limit_conn_zone $binary_remote_addr zone=cl%[9]s:1m;
    keyval_zone zone=kv%[9]s:64k;
    keyval $arg_k $kv zone=kv%[9]s;
    proxy_cache_path %[1]s/cache%[9]s keys_zone=c%[9]s:1m;
    upstream app%[9]s { zone app%[9]s 64k; server %[2]s; keepalive 4; }
    upstream dyn%[9]s {
        zone dyn%[9]s 64k;
        include %[1]s/resolver.conf;
        server localhost:%[4]s resolve;
    }
    server {
        listen 127.0.0.1:0;
        error_log %[1]s/server%[9]s.log warn;
        include %[1]s/resolver.conf;
        location / {
            proxy_pass http://app%[9]s;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            limit_req zone=rl%[9]s burst=100;
            limit_conn cl%[9]s 10;
            health_check interval=100ms;
        }
        location /c/ { proxy_pass http://app%[9]s; proxy_cache c%[9]s; proxy_cache_valid 200 1m; }
        location /d/ { proxy_pass http://dyn%[9]s; health_check interval=100ms; }
        location /v/ { set $h localhost; proxy_pass http://$h:%[4]s; }
        location /kv { return 200 "kv=$kv\n"; }
    }
    server {
        listen %[6]s ssl;
        ssl_certificate     %[1]s/certs/$ssl_server_name.pem;
        ssl_certificate_key %[1]s/certs/$ssl_server_name.key;
        location / { proxy_pass http://app%[9]s; proxy_http_version 1.1; proxy_set_header Connection ""; }
    }
}
stream {
    log_format s "$remote_addr $status";
    upstream sapp%[9]s { server %[2]s; }
    server { listen %[7]s; proxy_pass sapp%[9]s; access_log %[1]s/stream%[9]s.log s buffer=4k flush=1s; error_log syslog:server=%[3]s,tag=s%[9]s info; }
}
mail {
    auth_http %[5]s/auth;
    server { listen %[8]s; protocol smtp; error_log syslog:server=%[3]s,tag=mail%[9]s; error_log %[1]s/mail%[9]s.log info; }
}
`

// leakDaemon starts the daemon on leakConf and returns its addresses
// (HTTP, HTTPS, stream, mail), its signals and the error log's path.
func leakDaemon(t *testing.T) (addrs []string, sigs chan<- os.Signal, errLog string, variant func(suffix string)) {
	t.Helper()
	fx := testutil.NewLeakFixture(t)
	backend, auth, sl, dir := fx.Backend, fx.Auth, fx.Syslog, fx.Dir
	_, port, _ := net.SplitHostPort(backend.Listener.Addr().String())
	more := testutil.FreeAddrs(t, 3)
	conf := func(suffix string) string {
		return fmt.Sprintf(leakConf, dir, backend.Listener.Addr(), sl.Addr, port, auth.URL, more[0], more[1], more[2], suffix)
	}
	addr, sigs := runConfig(t, dir, conf("a"))
	variant = func(suffix string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, "fulcrum.conf"), []byte(conf(suffix)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return append([]string{addr}, more...), sigs, filepath.Join(dir, "error.log"), variant
}

// leakTraffic sends a few requests of each kind to the daemon: plain
// HTTP (addrs[0]), HTTPS with a certificate named by $ssl_server_name
// (addrs[1]), a stream session (addrs[2]) and an SMTP greeting (addrs[3]).
func leakTraffic(t *testing.T, addrs []string) {
	t.Helper()
	tr := &http.Transport{DisableKeepAlives: true, TLSClientConfig: &tls.Config{InsecureSkipVerify: true, ServerName: "localhost"}}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 5 * time.Second}
	for _, u := range []string{"http://" + addrs[0] + "/a", "http://" + addrs[0] + "/c/x", "http://" + addrs[0] + "/d/y", "http://" + addrs[0] + "/v/z", "http://" + addrs[0] + "/kv?k=1", "https://" + addrs[1] + "/s"} {
		resp, err := client.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("%s: %d", u, resp.StatusCode)
		}
	}
	for i, a := range addrs[2:4] {
		c, err := net.DialTimeout("tcp", a, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(5 * time.Second))
		if i == 0 {
			io.WriteString(c, "GET /stream HTTP/1.0\r\n\r\n")
		} else {
			io.WriteString(c, "QUIT\r\n")
		}
		if b, err := io.ReadAll(c); err != nil || len(b) == 0 {
			t.Fatalf("%s: %q, %v", a, b, err)
		}
		c.Close()
	}
}

// logLines counts the lines of path that contain s.
func logLines(t *testing.T, path, s string) int {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return strings.Count(string(b), s)
}

// settled polls count until it is at most limit, or the deadline passes,
// and returns the last count.
func settled(limit int, d time.Duration, count func() int) int {
	deadline := time.Now().Add(d)
	for {
		runtime.GC()
		n := count()
		if n <= limit || time.Now().After(deadline) {
			return n
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// openFDs counts the process's open file descriptors.
func openFDs() int {
	ents, _ := os.ReadDir("/proc/self/fd")
	return len(ents)
}

// fdList names the process's open file descriptors, for a failure.
func fdList() string {
	var b strings.Builder
	ents, _ := os.ReadDir("/proc/self/fd")
	for _, e := range ents {
		l, _ := os.Readlink("/proc/self/fd/" + e.Name())
		fmt.Fprintf(&b, "fd %s -> %s\n", e.Name(), l)
	}
	return b.String()
}

// TestReloadLeaksNothing: every reload retires the old configuration,
// and what it ran or held (health checks, resolvers, cache managers,
// pools, stream and mail logs and syslog peers) ends with it, once its
// last request or session ended. Each reload renames every zone, pool,
// log file and syslog tag, so that nothing is kept by name. After warm-up
// reloads, many more leave the goroutine and descriptor counts where they
// were. The stream's access log files and its error logs' syslog sockets,
// and the mail servers' error_log files, were kept for the process's
// life, and the http error logs a reload replaced for a minute: one more
// of each per reload.
func TestReloadLeaksNothing(t *testing.T) {
	if _, err := os.Stat("/proc/self/fd"); err != nil {
		t.Skip("no /proc/self/fd")
	}
	addrs, sigs, errLog, variant := leakDaemon(t)
	reloads := 0
	reload := func() {
		t.Helper()
		reloads++
		variant(fmt.Sprint(reloads))
		sigs <- syscall.SIGHUP
		deadline := time.Now().Add(10 * time.Second)
		for logLines(t, errLog, "reconfiguring: done") < reloads {
			if time.Now().After(deadline) {
				buf := make([]byte, 1<<20)
				t.Fatalf("reload %d not done within 10s\n%s", reloads, buf[:runtime.Stack(buf, true)])
			}
			time.Sleep(5 * time.Millisecond)
		}
		leakTraffic(t, addrs)
	}
	leakTraffic(t, addrs)
	for range 3 {
		reload()
	}
	g0 := settled(0, 300*time.Millisecond, runtime.NumGoroutine)
	fd0 := settled(0, 300*time.Millisecond, openFDs)
	const n = 60
	for range n {
		reload()
	}
	// A goroutine or a descriptor per reload would add n; a few more are
	// allowed for a check, a lookup or a connection that happens to be
	// open at the count.
	g1 := settled(g0+5, 5*time.Second, runtime.NumGoroutine)
	fd1 := settled(fd0+5, 5*time.Second, openFDs)
	t.Logf("after 3 reloads: %d goroutines, %d fds; after %d more: %d, %d", g0, fd0, n, g1, fd1)
	if g1 > g0+5 {
		buf := make([]byte, 1<<20)
		t.Errorf("goroutines: %d after 3 reloads, %d after %d more\n%s", g0, g1, n, buf[:runtime.Stack(buf, true)])
	}
	if fd1 > fd0+5 {
		t.Errorf("open descriptors: %d after 3 reloads, %d after %d more\n%s", fd0, fd1, n, fdList())
	}
}

// TestRefusedReloadsLeakNothing: a reload refused late, when the mail
// block cannot bind its address after the http logs and the stream block
// took the new configuration (which is then put back), leaves no file of
// the configuration it refused open: 40 refused reloads, each naming new
// files, end with the descriptors 5 of them left. Before, each kept the
// refused configuration's stream access and error log files open.
func TestRefusedReloadsLeakNothing(t *testing.T) {
	if _, err := os.Stat("/proc/self/fd"); err != nil {
		t.Skip("no /proc/self/fd")
	}
	dir := t.TempDir()
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	conf := func(suffix, mailAddr string) string {
		return fmt.Sprintf(`pid %[1]s/fulcrum.pid;
error_log %[1]s/error.log notice;
http { access_log off; server { listen 127.0.0.1:0; error_log %[1]s/srv%[2]s.log warn; return 200; } }
stream { log_format s "$status"; server { listen 127.0.0.1:0; return x; access_log %[1]s/st%[2]s.log s; error_log %[1]s/se%[2]s.log; } }
mail { auth_http 127.0.0.1:9/a; server { listen %[3]s; protocol smtp; error_log %[1]s/m%[2]s.log; } }
`, dir, suffix, mailAddr)
	}
	_, sigs := runConfig(t, dir, conf("0", "127.0.0.1:0"))
	errLog := filepath.Join(dir, "error.log")
	fd0 := 0
	for i := 1; i <= 40; i++ {
		if err := os.WriteFile(filepath.Join(dir, "fulcrum.conf"), []byte(conf(fmt.Sprint(i), busy.Addr().String())), 0o644); err != nil {
			t.Fatal(err)
		}
		sigs <- syscall.SIGHUP
		deadline := time.Now().Add(10 * time.Second)
		for logLines(t, errLog, "the running configuration stays in force") < i {
			if time.Now().After(deadline) {
				t.Fatalf("reload %d not refused within 10s", i)
			}
			time.Sleep(5 * time.Millisecond)
		}
		if i == 5 {
			fd0 = settled(0, 300*time.Millisecond, openFDs)
		}
	}
	if fd1 := settled(fd0+3, 5*time.Second, openFDs); fd1 > fd0+3 {
		t.Errorf("open descriptors: %d after 5 refused reloads, %d after 35 more\n%s", fd0, fd1, fdList())
	}
}

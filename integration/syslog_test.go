package integration

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"regexp"
	"syscall"
	"testing"
	"time"

	"fulcrum/internal/testutil"
)

// syslogHeader is the header nginx 1.22.1 writes (recorded with a UDP
// listener): the priority, the local time as "Dec  7 09:41:45", the
// hostname (none with nohostname) and the tag.
const syslogTime = `[A-Z][a-z]{2} [ 1-3][0-9] [0-9]{2}:[0-9]{2}:[0-9]{2}`

// TestSyslogTargets sends access_log and error_log lines of every kind of
// level to syslog receivers and checks each datagram against the format
// nginx 1.22.1 sends (recorded), timestamp and hostname by pattern: the
// main error_log, an http access_log over a unix datagram socket, a
// location's access_log with facility/severity/tag/nohostname, a
// location's error_log, an "if in location" access_log, and a stream
// server's access_log and error_log.
func TestSyslogTargets(t *testing.T) {
	t.Parallel()
	udp, unix := testutil.NewSyslogUDP(t), testutil.NewSyslogUnix(t)
	in := startFulcrum(t, fmt.Sprintf(`
error_log syslog:server=%[1]s,tag=main notice;
events {}
http {
    access_log syslog:server=%[2]s;
    server {
        listen 127.0.0.1:0;
        location /t { access_log syslog:server=%[1]s,facility=daemon,severity=warn,tag=abc_1,nohostname; return 200 ok; }
        location /e { error_log syslog:server=%[1]s,tag=err warn; access_log off; }
        location /if { if ($arg_x) { access_log syslog:server=%[1]s,tag=ifloc; } return 200 ok; }
    }
}
stream {
    log_format s "$remote_addr $status";
    server {
        listen 127.0.0.1:0;
        access_log syslog:server=%[1]s,tag=st,facility=local0 s;
        error_log syslog:server=%[1]s,tag=sterr info;
        return x;
    }
}`, udp.Target(), unix.Target()), 2)
	client := newClient()
	host := `[a-z0-9.-]+`
	// check takes the next datagram of srv holding pick and matches it
	check := func(srv *testutil.SyslogServer, pick, re string) {
		t.Helper()
		what := pick
		got := srv.RecvMatch(t, regexp.MustCompile(regexp.QuoteMeta(pick)))
		if !regexp.MustCompile("^" + re + "$").MatchString(got) {
			t.Errorf("%s:\n got %q\nwant %s", what, got, re)
		}
	}
	// the main error log: fulcrum's start lines at notice
	check(udp, " main: ", `<189>`+syslogTime+` `+host+` main: \d{4}/\d\d/\d\d \d\d:\d\d:\d\d \[notice\] \d+#0: .*`)

	get(t, client, in.url(0)+"/x")
	check(unix, "GET /x", `<190>`+syslogTime+` `+host+` nginx: 127\.0\.0\.1 - - \[[^]]+\] "GET /x HTTP/1\.1" 404 \d+ "-" "Go-http-client/1\.1"`)
	get(t, client, in.url(0)+"/t")
	check(udp, "GET /t", `<28>`+syslogTime+` abc_1: 127\.0\.0\.1 - - \[[^]]+\] "GET /t HTTP/1\.1" 200 2 "-" "Go-http-client/1\.1"`)
	get(t, client, in.url(0)+"/e")
	check(udp, " err: ", `<187>`+syslogTime+` `+host+` err: \d{4}/\d\d/\d\d \d\d:\d\d:\d\d \[error\] \d+#0: \*\d+ open\(\) "[^"]+/html/e" failed \(2: No such file or directory\), client: 127\.0\.0\.1, server: , request: "GET /e HTTP/1\.1", host: "127\.0\.0\.1:\d+"`)
	get(t, client, in.url(0)+"/if?x=1")
	check(udp, "GET /if", `<190>`+syslogTime+` `+host+` ifloc: 127\.0\.0\.1 - - \[[^]]+\] "GET /if\?x=1 HTTP/1\.1" 200 2 "-" "Go-http-client/1\.1"`)

	c, err := net.Dial("tcp", in.listening()[1])
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := io.ReadAll(c); string(b) != "x" {
		t.Errorf("stream answer %q", b)
	}
	c.Close()
	check(udp, " sterr: ", `<190>`+syslogTime+` `+host+` sterr: \d{4}/\d\d/\d\d \d\d:\d\d:\d\d \[info\] \d+#0: \*\d+ client 127\.0\.0\.1:\d+ connected to 127\.0\.0\.1:\d+`)
	check(udp, " st: ", `<134>`+syslogTime+` `+host+` st: 127\.0\.0\.1 200`)
}

// TestSyslogReloadSwitchesTarget: a reload that moves access_log and a
// server's error_log to another syslog server: the new configuration's
// lines go to the new one, none to the old (its sockets close once the
// old configuration's requests are done).
func TestSyslogReloadSwitchesTarget(t *testing.T) {
	t.Parallel()
	a, b := testutil.NewSyslogUDP(t), testutil.NewSyslogUDP(t)
	conf := func(srv *testutil.SyslogServer, body string) string {
		return fmt.Sprintf(`
events {}
http {
    log_format t "$request_uri";
    server {
        listen 127.0.0.1:0;
        access_log syslog:server=%[1]s,tag=t,nohostname t;
        error_log syslog:server=%[1]s,tag=e,nohostname;
        location / { return 200 %[2]s; }
        location /missing { }
    }
}`, srv.Target(), body)
	}
	in := startFulcrum(t, conf(a, "old"), 1)
	client := newClient()
	get(t, client, in.url(0)+"/before")
	if got := a.Recv(t); !regexp.MustCompile(`^<190>` + syslogTime + ` t: /before$`).MatchString(got) {
		t.Fatalf("before the reload: %q", got)
	}
	in.rewrite(conf(b, "new"))
	in.signal(syscall.SIGHUP)
	waitFor(t, "the new configuration to answer", func() bool {
		_, body := get(t, client, in.url(0)+"/")
		return body == "new"
	})
	get(t, client, in.url(0)+"/after")
	if got := b.RecvMatch(t, regexp.MustCompile(`/after$`)); !regexp.MustCompile(`^<190>` + syslogTime + ` t: /after$`).MatchString(got) {
		t.Errorf("after the reload: %q", got)
	}
	get(t, client, in.url(0)+"/missing")
	if got := b.RecvMatch(t, regexp.MustCompile(` e: `)); !regexp.MustCompile(`^<187>` + syslogTime + ` e: .* \[error\] .*/html/missing" failed`).MatchString(got) {
		t.Errorf("error_log after the reload: %q", got)
	}
	// the old target got nothing of the new configuration's: a marker
	// sent now is the next datagram after the old configuration's "/"s
	m, err := net.Dial("udp", a.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if _, err := m.Write([]byte("marker")); err != nil {
		t.Fatal(err)
	}
	for {
		got := a.Recv(t)
		if got == "marker" {
			break
		}
		if regexp.MustCompile(`/after$|/missing`).MatchString(got) {
			t.Fatalf("the old target got a new line: %q", got)
		}
	}
}

// TestSyslogMissingSocket: access_log and error_log to a unix socket that
// does not exist: the request is answered at once, and the error log gets
// nginx 1.22.1's lines (recorded): `connect() failed (2: No such file or
// directory)` at alert without the request, then `send() to syslog failed
// while logging request` at warn with it, for each request (it retries).
// A location's error_log target that fails logs only the alert.
func TestSyslogMissingSocket(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	missing := filepath.Join(dir, "missing.sock")
	in := startFulcrum(t, `
events {}
http {
    access_log syslog:server=unix:`+missing+`;
    server {
        listen 127.0.0.1:0;
        location / { return 200 ok; }
        location /e { error_log syslog:server=unix:`+missing+`; access_log off; }
    }
}`, 1)
	client := &http.Client{Timeout: 5 * time.Second}
	for i := range 2 {
		start := time.Now()
		if code, _ := get(t, client, in.url(0)+"/"); code != 200 {
			t.Fatalf("request %d: %d", i, code)
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("request %d took %v", i, d)
		}
	}
	alert := regexp.MustCompile(`\[alert\] \d+#0: connect\(\) failed \(2: No such file or directory\)$`)
	warn := regexp.MustCompile(`\[warn\] \d+#0: \*\d+ send\(\) to syslog failed while logging request, client: 127\.0\.0\.1, server: , request: "GET / HTTP/1\.1", host: "127\.0\.0\.1:\d+"$`)
	count := func(re *regexp.Regexp) int {
		n := 0
		for _, l := range in.logLines() {
			if re.MatchString(l) {
				n++
			}
		}
		return n
	}
	waitFor(t, "two alerts and two warnings", func() bool { return count(alert) == 2 && count(warn) == 2 })
	get(t, client, in.url(0)+"/e")
	waitFor(t, "the location error_log's alert", func() bool { return count(alert) == 3 })
	if count(warn) != 2 {
		t.Errorf("a failed error_log target logged a warning")
	}
}

// TestSyslogConfigTest: `fulcrum -t` accepts syslog: targets everywhere
// nginx does (it refused them before).
func TestSyslogConfigTest(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "fulcrum.conf")
	writeFiles(t, dir, map[string]string{"fulcrum.conf": `
error_log syslog:server=127.0.0.1:5514,facility=local6,tag=fulcrum;
error_log memory:1m;
events {}
http {
    access_log syslog:server=unix:/dev/log,severity=notice combined;
    error_log syslog:server=[::1]:514 warn;
    server { listen 127.0.0.1:0; location / { error_log syslog:server=localhost,nohostname info; } }
}
stream {
    log_format s "$remote_addr";
    error_log syslog:server=127.0.0.1;
    server { listen 127.0.0.1:0; access_log syslog:server=127.0.0.1 s; error_log syslog:server=127.0.0.1:515 info; return x; }
}
mail {
    auth_http 127.0.0.1:9/auth;
    error_log syslog:server=127.0.0.1;
    server { listen 127.0.0.1:0; protocol smtp; error_log syslog:server=127.0.0.1,tag=mail; }
}`})
	r := runFulcrum(t, "-t", "-p", dir, "-c", path)
	if r.code != 0 {
		t.Fatalf("fulcrum -t: exit %d: %s", r.code, r.stderr)
	}
}

// TestSyslogStreamErrorLogFailure: a stream server's error_log to a
// missing unix socket: its failure goes to the main error log, as nginx
// logs it to its cycle's log, and the session is served.
func TestSyslogStreamErrorLogFailure(t *testing.T) {
	t.Parallel()
	missing := filepath.Join(t.TempDir(), "missing.sock")
	in := startFulcrum(t, `
events {}
stream {
    server {
        listen 127.0.0.1:0;
        error_log syslog:server=unix:`+missing+` info;
        return x;
    }
}`, 1)
	c, err := net.Dial("tcp", in.listening()[0])
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := io.ReadAll(c); string(b) != "x" {
		t.Errorf("stream answer %q", b)
	}
	c.Close()
	waitFor(t, "the alert in the main error log", func() bool {
		return in.logged("[alert]") && in.logged("connect() failed (2: No such file or directory)")
	})
}

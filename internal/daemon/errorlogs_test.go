package daemon_test

import (
	"bufio"
	"fmt"
	"fulcrum/internal/testutil"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// logMessages returns the messages of the error log at path: each line
// without its time, level prefix and process ids, and with the connection
// number dropped, so lines compare with nginx's.
func logMessages(t *testing.T, path string) []string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	prefix := regexp.MustCompile(`^\S+ \S+ \[(\w+)\] \d+#\d+: (\*\d+ )?`)
	var out []string
	for _, l := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		if m := prefix.FindStringSubmatch(l); m != nil && m[1] != "notice" {
			out = append(out, "["+m[1]+"] "+l[len(m[0]):])
		}
	}
	return out
}

// TestErrorLogLevels: error_log in http, server and location blocks, as
// nginx 1.22.1 wrote the same exchanges (recorded on raw sockets): a
// request's lines go to the error_log of the location that serves it
// (inherited from its server, else from http, else the main context's; an
// internal redirect moves on to the next location's; every target at its
// own level), the lines about a connection before its first request to
// its address's default server's, and those after a request to the
// level that served it. The main context's log gets none of them.
func TestErrorLogLevels(t *testing.T) {
	dir := t.TempDir()
	www := filepath.Join(dir, "www")
	if err := os.Mkdir(www, 0o755); err != nil {
		t.Fatal(err)
	}
	addr := testutil.FreeAddr(t)
	p := func(name string) string { return filepath.Join(dir, name+".log") }
	startDaemonLevel(t, dir, "info", fmt.Sprintf(`
    access_log off;
    error_log %[3]s info;
    client_header_timeout 1s;
    server {
        listen %[1]s;
        server_name one;
        root %[2]s;
        error_log %[4]s info;
        location /loc/ { error_log %[5]s info; error_log %[6]s warn; }
        location /crit/ { error_log %[7]s crit; }
        location /up/ { error_log %[8]s info; proxy_pass http://127.0.0.1:1; }
        location /red/ { error_log %[9]s info; error_page 404 /loc/x404; }
        location /nested/ { error_log %[10]s info; location /nested/in/ { } }
    }
    server {
        listen %[1]s;
        server_name two;
        root %[2]s;
    }`, addr, www, p("http"), p("srv1"), p("loc"), p("loc2"), p("crit"), p("up"), p("red"), p("nest")))

	send := func(raw string) {
		c := dialTCP(t, addr)
		_ = c.SetDeadline(time.Now().Add(5 * time.Second))
		if _, err := c.Write([]byte(raw)); err != nil {
			t.Fatal(err)
		}
		awaitClose(t, c)
	}
	send("GET /missing HTTP/1.0\r\nHost: one\r\n\r\n")
	send("GET /loc/missing HTTP/1.0\r\nHost: one\r\n\r\n")
	send("GET /crit/missing HTTP/1.0\r\nHost: one\r\n\r\n")
	send("GET /up/x HTTP/1.0\r\nHost: one\r\n\r\n")
	send("GET /missing2 HTTP/1.0\r\nHost: two\r\n\r\n")
	send("GET /red/missing HTTP/1.0\r\nHost: one\r\n\r\n")
	send("GET /nested/in/missing HTTP/1.0\r\nHost: one\r\n\r\n")
	send("GET /x HTTP/1.1\r\n\r\n")
	send("GET /x HTTP/1.1\r\nHost: two\r\nHost: two\r\n\r\n")
	// A kept connection reset after its answer: the line goes to the
	// level that served the request.
	c := dialTCP(t, addr)
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	br := bufio.NewReader(c)
	if resp, _ := roundTrip(t, c, br, "GET /loc/ka HTTP/1.1\r\nHost: one\r\n\r\n"); resp.StatusCode != 404 {
		t.Fatalf("status %d, want 404", resp.StatusCode)
	}
	reset(c)
	waitLog(t, p("loc"), "closed keepalive connection")
	// A connection that sends nothing: its address's default server's.
	idle := dialTCP(t, addr)
	_ = idle.SetDeadline(time.Now().Add(5 * time.Second))
	awaitClose(t, idle)
	waitLog(t, p("srv1"), "while waiting for request")

	notFound := func(path, server, req, host string) string {
		return fmt.Sprintf(`[error] open() "%s" failed (2: No such file or directory), client: 127.0.0.1, server: %s, request: "%s", host: "%s"`,
			filepath.Join(www, path), server, req, host)
	}
	want := map[string][]string{
		"error": nil,
		"http": {
			notFound("missing2", "two", "GET /missing2 HTTP/1.0", "two"),
			`[info] client sent duplicate host header: "Host: two", previous value: "Host: two" while reading client request headers, client: 127.0.0.1, server: two, request: "GET /x HTTP/1.1", host: "two"`,
		},
		"srv1": {
			notFound("missing", "one", "GET /missing HTTP/1.0", "one"),
			`[info] client sent HTTP/1.1 request without "Host" header while reading client request headers, client: 127.0.0.1, server: one, request: "GET /x HTTP/1.1"`,
			"[info] client timed out (110: Connection timed out) while waiting for request, client: 127.0.0.1, server: " + addr,
		},
		"loc": {
			notFound("loc/missing", "one", "GET /loc/missing HTTP/1.0", "one"),
			notFound("loc/x404", "one", "GET /red/missing HTTP/1.0", "one"),
			notFound("loc/ka", "one", "GET /loc/ka HTTP/1.1", "one"),
			"[info] client 127.0.0.1 closed keepalive connection (104: Connection reset by peer)",
		},
		"loc2": {
			notFound("loc/missing", "one", "GET /loc/missing HTTP/1.0", "one"),
			notFound("loc/x404", "one", "GET /red/missing HTTP/1.0", "one"),
			notFound("loc/ka", "one", "GET /loc/ka HTTP/1.1", "one"),
		},
		"crit": nil,
		"up": {
			`[error] connect() failed (111: Connection refused) while connecting to upstream, client: 127.0.0.1, server: one, request: "GET /up/x HTTP/1.0", upstream: "http://127.0.0.1:1/up/x", host: "one"`,
		},
		"red":  {notFound("red/missing", "one", "GET /red/missing HTTP/1.0", "one")},
		"nest": {notFound("nested/in/missing", "one", "GET /nested/in/missing HTTP/1.0", "one")},
	}
	for name, lines := range want {
		got := logMessages(t, p(name))
		if strings.Join(got, "\n") != strings.Join(lines, "\n") {
			t.Errorf("%s.log:\n%s\nwant:\n%s", name, strings.Join(got, "\n"), strings.Join(lines, "\n"))
		}
	}
}

// TestErrorLogLevelsReopenAndReload: a location's error_log is reopened by
// SIGUSR1 with the main one (logrotate moved it), a reload whose location
// log cannot be opened is refused with nginx's open() line and keeps the
// running one, and a reload that names another file moves the lines there.
func TestErrorLogLevelsReopenAndReload(t *testing.T) {
	dir := t.TempDir()
	www := filepath.Join(dir, "www")
	if err := os.Mkdir(www, 0o755); err != nil {
		t.Fatal(err)
	}
	mainLog, aLog, bLog := filepath.Join(dir, "error.log"), filepath.Join(dir, "a.log"), filepath.Join(dir, "b.log")
	conf := func(locLog string) string {
		return fmt.Sprintf("pid %s/fulcrum.pid;\nerror_log %s info;\nhttp { access_log off; server { listen 127.0.0.1:0; root %s;\n"+
			"location /a/ { error_log %s; } } }\n", dir, mainLog, www, locLog)
	}
	addr, sigs := runConfig(t, dir, conf(aLog))
	write := func(text string) {
		if err := os.WriteFile(filepath.Join(dir, "fulcrum.conf"), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	get := func(path string) {
		t.Helper()
		resp, err := http.Get("http://" + addr + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound {
			t.Fatalf("GET %s: %d, want 404", path, resp.StatusCode)
		}
	}
	get("/a/one")
	waitLog(t, aLog, `/a/one" failed`)

	if err := os.Rename(aLog, aLog+".1"); err != nil {
		t.Fatal(err)
	}
	sigs <- syscall.SIGUSR1
	waitLog(t, mainLog, "reopening logs")
	get("/a/two")
	waitLog(t, aLog, `/a/two" failed`)

	write(conf(filepath.Join(dir, "missing", "x.log")))
	sigs <- syscall.SIGHUP
	waitLog(t, mainLog, `open() "`+filepath.Join(dir, "missing", "x.log")+`" failed (2: No such file or directory)`)
	get("/a/three")
	waitLog(t, aLog, `/a/three" failed`)

	write(conf(bLog))
	sigs <- syscall.SIGHUP
	waitLog(t, mainLog, "reconfiguring: done")
	get("/a/four")
	waitLog(t, bLog, `/a/four" failed`)

	for path, want := range map[string]string{aLog + ".1": "/a/one", aLog: "/a/two /a/three", bLog: "/a/four", mainLog: ""} {
		var got []string
		for _, m := range logMessages(t, path) {
			if i := strings.Index(m, `request: "GET `); i >= 0 {
				got = append(got, strings.Fields(m[i+len(`request: "GET `):])[0])
			}
		}
		if strings.Join(got, " ") != want {
			t.Errorf("%s has the requests %q, want %q", filepath.Base(path), got, want)
		}
	}
}

// TestEngineLinesFollowMainErrorLogReload: the lines of the listener's own
// parts (here Go's HTTP/2 server on a prior-knowledge h2c address, which
// logs a client's protocol error at info: a WINDOW_UPDATE frame before
// the SETTINGS frame) go to the main error_log in
// force: after a reload that names another file, to that file. They went
// on to the file the listener started with, which a minute after the
// reload was closed and the lines lost.
func TestEngineLinesFollowMainErrorLogReload(t *testing.T) {
	dir := t.TempDir()
	first, second := filepath.Join(dir, "first.log"), filepath.Join(dir, "second.log")
	addr := testutil.FreeAddr(t)
	conf := func(log string) string {
		return fmt.Sprintf("pid %s/fulcrum.pid;\nerror_log %s info;\nhttp { access_log off; server { listen %s http2; return 200 ok; } }\n", dir, log, addr)
	}
	_, sigs := runConfig(t, dir, conf(first))
	if err := os.WriteFile(filepath.Join(dir, "fulcrum.conf"), []byte(conf(second)), 0o644); err != nil {
		t.Fatal(err)
	}
	sigs <- syscall.SIGHUP
	waitLog(t, second, "reconfiguring: done")
	c := dialTCP(t, addr)
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Write([]byte("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x04\x08\x00\x00\x00\x00\x00\x00\x00\x00\x00")); err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, c) // the server's GOAWAY, then its close or reset
	waitLog(t, second, "http2: server connection error from 127.0.0.1:")
	if data, _ := os.ReadFile(first); strings.Contains(string(data), "http2:") {
		t.Errorf("first.log has the line:\n%s", data)
	}
}

// TestFailedReloadKeepsErrorLogs: a reload whose error logs open but whose
// configuration then fails to build (an unknown variable) is refused in the
// running configuration's error log, as nginx's master logs it to the old
// cycle's (recorded with nginx 1.22.1: the emerg line in the old file), and the running configuration goes on logging where it did:
// the logs it uses are not taken out of use (they were closed a minute
// later, and its lines lost).
func TestFailedReloadKeepsErrorLogs(t *testing.T) {
	dir := t.TempDir()
	www := filepath.Join(dir, "www")
	if err := os.Mkdir(www, 0o755); err != nil {
		t.Fatal(err)
	}
	mainA, mainB, locA, locB := filepath.Join(dir, "a.log"), filepath.Join(dir, "b.log"), filepath.Join(dir, "la.log"), filepath.Join(dir, "lb.log")
	conf := func(mainLog, locLog, extra string) string {
		return fmt.Sprintf("pid %s/fulcrum.pid;\nerror_log %s info;\nhttp { access_log off; server { listen 127.0.0.1:0; root %s;\n"+
			"location /l/ { error_log %s; } %s } }\n", dir, mainLog, www, locLog, extra)
	}
	addr, sigs := runConfig(t, dir, conf(mainA, locA, ""))
	if err := os.WriteFile(filepath.Join(dir, "fulcrum.conf"), []byte(conf(mainB, locB, `location /x { return 200 $no_such_variable; }`)), 0o644); err != nil {
		t.Fatal(err)
	}
	sigs <- syscall.SIGHUP
	waitLog(t, mainA, `unknown "no_such_variable" variable`)
	for _, path := range []string{"/missing", "/l/missing"} {
		resp, err := http.Get("http://" + addr + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	waitLog(t, mainA, `/missing" failed`)
	waitLog(t, locA, `/l/missing" failed`)
	for _, path := range []string{mainB, locB} {
		if data, _ := os.ReadFile(path); strings.Contains(string(data), "[emerg]") || strings.Contains(string(data), "failed") {
			t.Errorf("%s has lines of the refused reload or the running configuration:\n%s", filepath.Base(path), data)
		}
	}
}

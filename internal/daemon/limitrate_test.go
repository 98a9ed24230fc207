package daemon_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/fcgi"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// The sizes of the limit_rate tests. A paced response goes out a write at a
// time (up to a second's worth), each followed by a pause for what it sent,
// as nginx sends a buffer and pauses: a 96 KiB file at 64 KiB a second goes
// in three 32 KiB writes, at 0, 0.5 and 1 s, in fulcrum as in nginx (both
// measured over loopback: 0.008, 0.515, 1.021 s for nginx 1.22.1, 0.004,
// 0.506, 1.007 s for fulcrum). At 128 KiB a second the same file takes half
// a second (a proxied one up to three quarters: the last piece read may be
// small). The bounds are generous: a paced transfer takes at least paced
// and at most slow; one at full speed less than fast. A paced transfer
// cannot be quicker than its pauses, so fast sits just under paced: an
// unpaced one on a loaded machine under -race took up to 296 ms.
const (
	rateBody = 96 << 10
	paced    = 450 * time.Millisecond
	slow     = 3 * time.Second
	fast     = 440 * time.Millisecond
)

// rateBackend answers with a rateBody body (rateApp), over HTTP.
func rateBackend(t *testing.T) string {
	t.Helper()
	b := httptest.NewServer(http.HandlerFunc(rateApp))
	t.Cleanup(b.Close)
	return b.Listener.Addr().String()
}

// rateFastCGI is rateBackend as a FastCGI application.
func rateFastCGI(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go fcgi.Serve(ln, http.HandlerFunc(rateApp))
	t.Cleanup(func() { ln.Close() })
	return ln.Addr().String()
}

// rateApp answers with a rateBody body, with X-Accel-Limit-Rate set to the
// request's "r" argument and X-Accel-Buffering to its "b" argument when it
// has them.
func rateApp(w http.ResponseWriter, r *http.Request) {
	body := strings.Repeat("b", rateBody)
	q := r.URL.Query()
	if v, ok := q["r"]; ok {
		w.Header().Set("X-Accel-Limit-Rate", v[0])
	}
	if v, ok := q["b"]; ok {
		w.Header().Set("X-Accel-Buffering", v[0])
	}
	w.Header().Set("Content-Length", fmt.Sprint(len(body)))
	io.WriteString(w, body)
}

// timedGet is one GET's answer: its status, the X-LR field, the body's
// length, and how long after the request the first want bytes of the body
// and the whole of it had come.
type timedGet struct {
	status      int
	lr          string
	n           int
	first, full time.Duration
}

// getTimed sends GET target on conn (reading its answer with br) and times
// the answer. It may run on its own goroutine: failures are t.Error.
func getTimed(t *testing.T, conn net.Conn, br *bufio.Reader, target string, want int) timedGet {
	t.Helper()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	start := time.Now()
	if _, err := fmt.Fprintf(conn, "GET %s HTTP/1.1\r\nHost: t\r\n\r\n", target); err != nil {
		t.Error(err)
		return timedGet{}
	}
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Errorf("%s: %v", target, err)
		return timedGet{}
	}
	defer resp.Body.Close()
	got := timedGet{status: resp.StatusCode, lr: resp.Header.Get("X-LR")}
	if want > 0 {
		n, err := io.ReadFull(resp.Body, make([]byte, want))
		got.n, got.first = n, time.Since(start)
		if err != nil {
			t.Errorf("%s: the first %d bytes: %v", target, want, err)
			return got
		}
	}
	rest, err := io.Copy(io.Discard, resp.Body)
	got.n += int(rest)
	got.full = time.Since(start)
	if err != nil {
		t.Errorf("%s: %v after %d bytes", target, err, got.n)
	}
	return got
}

// TestLimitRate measures, over loopback, responses that limit_rate,
// limit_rate_after, "set $limit_rate", an upstream's X-Accel-Limit-Rate
// and proxy_limit_rate pace, and those they must leave at full speed. Every
// case's pace or lack of one is what nginx 1.22.1 did with the same
// configuration (nginx measured with curl on loopback).
func TestLimitRate(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "big"), []byte(strings.Repeat("a", rateBody)), 0o644); err != nil {
		t.Fatal(err)
	}
	be := rateBackend(t)
	addr := startDaemon(t, dir, fmt.Sprintf(`
    log_format lr "$request_uri lr=$limit_rate";
    access_log %[1]s/access.log lr buffer=0;
    server {
        listen 127.0.0.1:0;
        root %[1]s;
        location = /none { try_files /big =404; }
        location = /rate { limit_rate 128k; add_header X-LR $limit_rate; try_files /big =404; }
        location = /zero { limit_rate 0; try_files /big =404; }
        location = /allfree { limit_rate 128k; limit_rate_after 128k; try_files /big =404; }
        location = /set { set $limit_rate 128k; add_header X-LR $limit_rate; try_files /big =404; }
        location = /setbad { limit_rate 128k; set $limit_rate abc; try_files /big =404; }
        location = /setzero { limit_rate 128k; set $limit_rate 0; try_files /big =404; }
        location = /var { limit_rate $arg_r; try_files /big =404; }
        location = /big { if ($arg_slow) { limit_rate 128k; } }
        location /p/ { proxy_pass http://%[2]s; }
        location /q/ { limit_rate 128k; proxy_pass http://%[2]s; }
        location /ign/ { proxy_ignore_headers X-Accel-Limit-Rate; proxy_pass http://%[2]s; }
        location /unb/ { limit_rate 128k; proxy_buffering off; proxy_pass http://%[2]s; }
        location /plr/ { proxy_limit_rate 128k; proxy_pass http://%[2]s; }
        location /plrunb/ { proxy_limit_rate 128k; proxy_buffering off; proxy_pass http://%[2]s; }
    }`, dir, be))
	tests := []rateCase{
		{target: "/none", log: "lr=0"},
		{target: "/rate", paced: true, lr: "0", log: "lr=131072"}, // 0 until the first bytes go, as in nginx
		{target: "/zero", log: "lr=0"},
		{target: "/allfree", log: "lr=131072"}, // 128k + the first second's 128k cover 96k
		{target: "/set", paced: true, lr: "131072", log: "lr=131072"},
		{target: "/setbad", paced: true, log: "lr=131072"}, // "invalid $limit_rate": the location's stays
		{target: "/setzero", log: "lr=0"},
		{target: "/var?r=128k", paced: true, log: "lr=131072"},
		{target: "/var?r=", log: "lr=0"}, // "invalid size": no limit
		{target: "/big?slow=1", paced: true, log: "lr=131072"},
		{target: "/big", log: "lr=0"},
		{target: "/p/x?r=131072", paced: true, log: "lr=131072"},
		{target: "/p/x?r=128k", log: "lr=0"}, // no units: nginx's ngx_atoi refuses it
		{target: "/p/x?r=-1", log: "lr=0"},
		{target: "/q/x?r=128k", paced: true, log: "lr=131072"}, // refused: the location's stays
		{target: "/q/x?r=0", log: "lr=0"},                      // 0 lifts the location's
		{target: "/q/x", paced: true, log: "lr=131072"},
		{target: "/ign/x?r=131072", log: "lr=0"},
		{target: "/unb/x?r=131072", log: "lr=0"}, // unbuffered: never paced
		{target: "/plr/x", paced: true, log: "lr=0"},
		{target: "/plrunb/x", log: "lr=0"},
	}
	checkRates(t, addr, dir, tests)
	errLog := filepath.Join(dir, "error.log")
	waitForLog(t, errLog, `error invalid $limit_rate "abc", client: 127.0.0.1`)
	waitForLog(t, errLog, `error invalid size "" while sending response to client`)
}

// rateCase is a request of a limit_rate test (checkRates): whether its
// answer is paced, the X-LR field (as add_header sees $limit_rate) and its
// access log line's "lr=$limit_rate".
type rateCase struct {
	target string
	paced  bool
	lr     string
	log    string
}

// checkRates sends the requests of tests to addr at once, each on its own
// connection (the paced ones take their time side by side), checks each
// answer's pace and X-LR field, and then the lines of dir/access.log.
func checkRates(t *testing.T, addr, dir string, tests []rateCase) {
	t.Helper()
	answers := make([]timedGet, len(tests))
	var wg sync.WaitGroup
	for i, tt := range tests {
		wg.Go(func() {
			conn, err := net.Dial("tcp", addr)
			if err != nil {
				t.Error(err)
				return
			}
			defer conn.Close()
			answers[i] = getTimed(t, conn, bufio.NewReader(conn), tt.target, 0)
		})
	}
	wg.Wait()
	t.Run("requests", func(t *testing.T) {
		for i, tt := range tests {
			t.Run(tt.target, func(t *testing.T) {
				got := answers[i]
				if got.status != 200 || got.n != rateBody {
					t.Fatalf("status %d with %d bytes, want 200 with %d", got.status, got.n, rateBody)
				}
				if tt.paced && (got.full < paced || got.full > slow) {
					t.Errorf("took %v, want a paced transfer (%v to %v)", got.full, paced, slow)
				}
				if !tt.paced && got.full > fast {
					t.Errorf("took %v, want full speed (under %v)", got.full, fast)
				}
				if got.lr != tt.lr {
					t.Errorf("X-LR %q, want %q", got.lr, tt.lr)
				}
			})
		}
	})
	t.Run("access log", func(t *testing.T) {
		// A line is written when its request ends, which may be after the
		// client has read the whole answer: poll.
		deadline := time.Now().Add(2 * time.Second)
		for {
			b, _ := os.ReadFile(filepath.Join(dir, "access.log"))
			var missing []string
			for _, tt := range tests {
				if want := tt.target + " " + tt.log; !strings.Contains(string(b), want+"\n") {
					missing = append(missing, want)
				}
			}
			if len(missing) == 0 {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("no lines %q in the access log:\n%s", missing, b)
			}
			time.Sleep(5 * time.Millisecond)
		}
	})
}

// TestLimitRateAccelBuffering: a response read unbuffered (*_buffering off,
// or the upstream's X-Accel-Buffering: no) is paced neither by limit_rate,
// nor by an X-Accel-Limit-Rate, nor by proxy_limit_rate
// (fastcgi_limit_rate), and $limit_rate is 0; X-Accel-Buffering: yes makes
// a response buffered, and paced, under *_buffering off; *_ignore_headers
// X-Accel-Buffering leaves *_buffering alone. A FastCGI application's
// X-Accel-Limit-Rate paces as an upstream's does. Each case's pace or lack
// of one is what nginx 1.22.1 did with the same configuration (measured on
// loopback with a Python client, an HTTP backend and a FastCGI application
// sending X-Accel-Buffering and X-Accel-Limit-Rate).
func TestLimitRateAccelBuffering(t *testing.T) {
	dir := t.TempDir()
	be, app := rateBackend(t), rateFastCGI(t)
	addr := startDaemon(t, dir, fmt.Sprintf(`
    log_format lr "$request_uri lr=$limit_rate";
    access_log %[1]s/access.log lr buffer=0;
    fastcgi_param REQUEST_METHOD $request_method;
    fastcgi_param SERVER_PROTOCOL $server_protocol;
    fastcgi_param REQUEST_URI $request_uri;
    server {
        listen 127.0.0.1:0;
        location /p/ { proxy_pass http://%[2]s; }
        location /q/ { limit_rate 128k; proxy_pass http://%[2]s; }
        location /unb/ { limit_rate 128k; proxy_buffering off; proxy_pass http://%[2]s; }
        location /unbign/ { limit_rate 128k; proxy_buffering off; proxy_ignore_headers X-Accel-Buffering; proxy_pass http://%[2]s; }
        location /plr/ { proxy_limit_rate 128k; proxy_pass http://%[2]s; }
        location /plrunb/ { proxy_limit_rate 128k; proxy_buffering off; proxy_pass http://%[2]s; }
        location /f/ { fastcgi_pass %[3]s; }
        location /fq/ { limit_rate 128k; fastcgi_pass %[3]s; }
        location /fign/ { fastcgi_ignore_headers X-Accel-Limit-Rate; fastcgi_pass %[3]s; }
        location /funb/ { limit_rate 128k; fastcgi_buffering off; fastcgi_pass %[3]s; }
        location /funbign/ { limit_rate 128k; fastcgi_buffering off; fastcgi_ignore_headers X-Accel-Buffering; fastcgi_pass %[3]s; }
        location /flr/ { fastcgi_limit_rate 128k; fastcgi_pass %[3]s; }
        location /flrunb/ { fastcgi_limit_rate 128k; fastcgi_buffering off; fastcgi_pass %[3]s; }
    }`, dir, be, app))
	checkRates(t, addr, dir, []rateCase{
		{target: "/unb/x?b=yes", paced: true, log: "lr=131072"}, // X-Accel-Buffering turns buffering on
		{target: "/unbign/x?b=yes", log: "lr=0"},                // unless ignored
		{target: "/q/x?b=no", log: "lr=0"},                      // and off: no limit_rate
		{target: "/p/x?r=131072&b=no", log: "lr=0"},             // nor X-Accel-Limit-Rate
		{target: "/plr/x?b=no", log: "lr=0"},                    // nor proxy_limit_rate
		{target: "/plrunb/x?b=yes", paced: true, log: "lr=0"},
		{target: "/f/x?r=131072", paced: true, log: "lr=131072"},
		{target: "/f/x?r=131072&b=no", log: "lr=0"},
		{target: "/fq/x?b=no", log: "lr=0"},
		{target: "/fign/x?r=131072", log: "lr=0"},
		{target: "/funb/x", log: "lr=0"},
		{target: "/funb/x?b=yes", paced: true, log: "lr=131072"},
		{target: "/funbign/x?b=yes", log: "lr=0"},
		{target: "/flr/x?b=no", log: "lr=0"},
		{target: "/flrunb/x?b=yes", paced: true, log: "lr=0"},
	})
}

// TestLimitRateAfter: limit_rate_after lets the first bytes through at full
// speed, and the pace starts after them: of 192 KiB at 128 KiB/s after
// 96 KiB, the first 96 KiB come at once, the other three 32 KiB writes at
// a quarter of a second from each other.
func TestLimitRateAfter(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "huge"), []byte(strings.Repeat("a", 192<<10)), 0o644); err != nil {
		t.Fatal(err)
	}
	addr := startDaemon(t, dir, fmt.Sprintf(`
    access_log off;
    server {
        listen 127.0.0.1:0;
        root %s;
        location = /after { limit_rate 128k; limit_rate_after 96k; try_files /huge =404; }
    }`, dir))
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	got := getTimed(t, conn, bufio.NewReader(conn), "/after", 96<<10)
	if got.n != 192<<10 {
		t.Fatalf("%d bytes, want %d", got.n, 192<<10)
	}
	if got.first > fast {
		t.Errorf("the first 96 KiB took %v, want full speed (under %v)", got.first, fast)
	}
	if got.full < paced || got.full > slow {
		t.Errorf("the whole body took %v, want a paced transfer (%v to %v)", got.full, paced, slow)
	}
}

// TestLimitRateKeepAlive: the limit is per request. A later request on a
// kept-alive connection gets its first bytes at once and is paced from its
// own start, not slowed by what the earlier ones sent; a request without a
// limit after paced ones goes at full speed.
func TestLimitRateKeepAlive(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "big"), []byte(strings.Repeat("a", rateBody)), 0o644); err != nil {
		t.Fatal(err)
	}
	addr := startDaemon(t, dir, fmt.Sprintf(`
    access_log off;
    server {
        listen 127.0.0.1:0;
        root %s;
        location = /rate { limit_rate 128k; try_files /big =404; }
        location = /var { set $limit_rate 128k; try_files /big =404; }
        location = /none { try_files /big =404; }
    }`, dir))
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	br := bufio.NewReader(conn)
	for i, target := range []string{"/rate", "/var", "/none"} {
		got := getTimed(t, conn, br, target, 16<<10)
		if got.n != rateBody {
			t.Fatalf("request %d: %d bytes, want %d", i, got.n, rateBody)
		}
		if got.first > fast {
			t.Errorf("request %d (%s): the first 16 KiB took %v, want them at once", i, target, got.first)
		}
		limited := target != "/none"
		if limited && (got.full < paced || got.full > slow) {
			t.Errorf("request %d (%s) took %v, want a paced transfer (%v to %v)", i, target, got.full, paced, slow)
		}
		if !limited && got.full > fast {
			t.Errorf("request %d (%s) took %v, want full speed", i, target, got.full)
		}
	}
}

// TestLimitRateUnknownVariable: a limit_rate or limit_rate_after value
// with a variable nginx does not know fails the configuration, with the
// file and line, as nginx -t says: unknown "x" variable.
func TestLimitRateUnknownVariable(t *testing.T) {
	tests := []struct{ name, conf, want string }{
		{"limit_rate", "limit_rate $nosuch;", `unknown "nosuch" variable in `},
		{"limit_rate_after", "location / { limit_rate_after ${nosuch}k; }", `unknown "nosuch" variable in `},
		{"in if", "location / { if ($arg_x) { limit_rate $nosuch; } }", `unknown "nosuch" variable in `},
		{"known", "limit_rate $arg_r; location / { limit_rate_after ${arg_a}k; }", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { checkServerLine(t, tt.conf, tt.want) })
	}
}

// TestLimitRateClientGone: a client that closes its connection during a
// pause ends the paced response at once; nothing waits for the rest of the
// pace. The request is logged with the bytes that went out.
func TestLimitRateClientGone(t *testing.T) {
	t.Parallel() // its own daemon and backends; waits on timers, no upper time bound
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "big"), []byte(strings.Repeat("a", 1<<20)), 0o644); err != nil {
		t.Fatal(err)
	}
	be := rateBackend(t)
	addr := startDaemon(t, dir, fmt.Sprintf(`
    log_format gone "$request_uri $status $bytes_sent";
    access_log %[1]s/access.log gone buffer=0;
    server {
        listen 127.0.0.1:0;
        root %[1]s;
        location = /big { limit_rate 16k; }
        location /plr/ { proxy_limit_rate 16k; proxy_pass http://%[2]s; }
    }`, dir, be))
	for _, target := range []string{"/big", "/plr/x"} {
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(conn, "GET %s HTTP/1.1\r\nHost: t\r\n\r\n", target)
		if _, err := io.ReadFull(conn, make([]byte, 8<<10)); err != nil {
			t.Fatal(err)
		}
		conn.Close()
	}
	// The whole file would take a minute; the lines come within the abort
	// check's interval (500 ms) and a pause.
	deadline := time.Now().Add(5 * time.Second)
	for {
		b, _ := os.ReadFile(filepath.Join(dir, "access.log"))
		if strings.Contains(string(b), "/big ") && strings.Contains(string(b), "/plr/x ") {
			for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
				var uri string
				var status, sent int
				if _, err := fmt.Sscanf(line, "%s %d %d", &uri, &status, &sent); err != nil || sent >= rateBody {
					t.Errorf("line %q: want fewer than %d bytes sent", line, rateBody)
				}
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no lines for both requests within 5s:\n%s", b)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

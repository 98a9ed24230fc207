package daemon_test

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
)

// statusBackend answers /s/NNN with status NNN and the body "upstream NNN\n"
// (none for ?empty), X-Up, and X-Conn: how many connections it had accepted
// when the request came. A 401 has two challenges; /s/acc503 is a 503 with an X-Accel-Redirect to /s/200.
func statusBackend(t *testing.T) string {
	t.Helper()
	var conns atomic.Int64
	b := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("X-Up", "yes")
		h.Set("X-Conn", strconv.FormatInt(conns.Load(), 10))
		name := strings.TrimPrefix(r.URL.Path, "/s/")
		if name == "acc503" {
			h.Set("X-Accel-Redirect", "/s/200")
			name = "503"
		}
		code, err := strconv.Atoi(name)
		if err != nil {
			code = http.StatusOK
		}
		if code == http.StatusUnauthorized {
			h["Www-Authenticate"] = []string{`Basic realm="be"`, "Bearer"}
		}
		body := "upstream " + name + "\n"
		if r.URL.RawQuery == "empty" {
			body = ""
		}
		h.Set("Content-Length", strconv.Itoa(len(body)))
		w.WriteHeader(code)
		io.WriteString(w, body)
	}))
	b.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	b.Start()
	t.Cleanup(b.Close)
	return b.Listener.Addr().String()
}

// interceptCase is a request and what its answer must be: status, body (or
// a part of it), and header fields ("" for a field that must be absent;
// "Connection: close" is checked as the client's resp.Close).
type interceptCase struct {
	method, target string
	status         int
	body           string
	bodyPart       bool // body is a part of the answer's body, not all of it
	fields         map[string]string
}

// TestProxyInterceptErrors checks proxy_intercept_errors on against an
// upstream's statuses: an error_page of the location answers those it has
// one for (a URI, =code, = with a named location, a URL), others pass
// through; off, and a location whose own error_page list replaces the
// inherited one, pass them. Every expectation is nginx 1.22.1's answer to the
// same configuration (curl -si against both), and so are the access log's
// $status and $upstream_status.
func TestProxyInterceptErrors(t *testing.T) {
	dir := t.TempDir()
	backend := statusBackend(t)
	addr := startDaemon(t, dir, fmt.Sprintf(`
    log_format t '$request_method $request_uri s=$status us=$upstream_status up=$upstream_http_x_up';
    access_log %[1]s/t.log t buffer=0;
    proxy_intercept_errors on;
    server {
        listen 127.0.0.1:0;
        error_page 503 /maint.html;
        error_page 404 = @fb;
        error_page 418 =200 /maint.html;
        error_page 401 302 /maint.html;
        error_page 410 http://example.com/gone;
        error_page 429 =301 http://example.com/slow;
        location = /maint.html { return 200 "maintenance page\n"; }
        location @fb { return 200 "fallback $uri\n"; }
        location /x/ { proxy_pass http://%[2]s/s/; }
        location /off/ { proxy_intercept_errors off; proxy_pass http://%[2]s/s/; }
        location /own/ { error_page 500 /maint.html; proxy_pass http://%[2]s/s/; }
        location /rec/ { error_page 503 = @p; proxy_pass http://%[2]s/s/; }
        location @p { rewrite ^ /s/503 break; proxy_pass http://%[2]s; }
    }`, dir, backend))
	maint := "maintenance page\n"
	tests := []interceptCase{
		// an error_page with a URI: the upstream's fields are not passed
		{"GET", "/x/503", 503, maint, false, map[string]string{"X-Up": "", "X-Conn": "", "Content-Type": "text/html", "Connection": "keep-alive"}},
		{"POST", "/x/503", 503, maint, false, nil},
		{"HEAD", "/x/503", 503, "", false, map[string]string{"Content-Length": "17"}},
		{"GET", "/x/418", 200, maint, false, nil},
		{"GET", "/x/302", 302, maint, false, map[string]string{"Location": ""}},
		// a 401 keeps the upstream's first challenge only
		{"GET", "/x/401", 401, maint, false, map[string]string{"Www-Authenticate": `Basic realm="be"`}},
		// "=" with a named location: the target's status
		{"GET", "/x/404?a=1", 200, "fallback /x/404\n", false, nil},
		// a URL: 302, or the redirect =code names
		{"GET", "/x/410", 302, "<title>302 Found</title>", true, map[string]string{"Location": "http://example.com/gone"}},
		{"GET", "/x/429", 301, "<title>301 Moved Permanently</title>", true, map[string]string{"Location": "http://example.com/slow"}},
		// interception comes before an X-Accel-Redirect
		{"GET", "/x/acc503", 503, maint, false, nil},
		// no error_page for the status: passed as it is
		{"GET", "/x/500", 500, "upstream 500\n", false, map[string]string{"X-Up": "yes"}},
		{"GET", "/x/200", 200, "upstream 200\n", false, nil},
		// proxy_intercept_errors off
		{"GET", "/off/503", 503, "upstream 503\n", false, map[string]string{"X-Up": "yes"}},
		// the location's own list replaces the server's
		// as for fulcrum's own 500, the client connection ends
		{"GET", "/own/500", 500, maint, false, map[string]string{"Connection": "close"}},
		{"GET", "/own/503", 503, "upstream 503\n", false, nil},
		// in an error page's location a second one is not followed: the
		// plain page, with the status
		{"GET", "/rec/503", 503, "<title>503 Service Temporarily Unavailable</title>", true, map[string]string{"X-Up": ""}},
	}
	checkIntercepted(t, addr, tests)
	log := filepath.Join(dir, "t.log")
	waitLogged(t, log, "GET /x/503 s=503 us=503 up=yes")
	waitLogged(t, log, "GET /x/404?a=1 s=200 us=404 up=yes")
	waitLogged(t, log, "GET /x/410 s=302 us=410 up=yes")
	waitLogged(t, log, "GET /x/418 s=200 us=418 up=yes")
	// a second proxying's attempts follow " : "
	waitLogged(t, log, "GET /rec/503 s=503 us=503 : 503 up=yes")
}

// checkIntercepted sends each case's request to addr and checks its answer.
func checkIntercepted(t *testing.T, addr string, tests []interceptCase) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.target, func(t *testing.T) {
			req, err := http.NewRequest(tt.method, "http://"+addr+tt.target, strings.NewReader(""))
			if err != nil {
				t.Fatal(err)
			}
			resp, err := noRedirects.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d, want %d (body %q)", resp.StatusCode, tt.status, body)
			}
			if tt.bodyPart && !strings.Contains(string(body), tt.body) || !tt.bodyPart && string(body) != tt.body {
				t.Errorf("body %q, want %q", body, tt.body)
			}
			for name, want := range tt.fields {
				if name == "Connection" && want == "close" { // the client takes that field
					if !resp.Close {
						t.Errorf("the connection stays open, want Connection: close")
					}
					continue
				}
				if got := strings.Join(resp.Header.Values(name), ", "); got != want {
					t.Errorf("%s: %q, want %q", name, got, want)
				}
			}
		})
	}
}

// TestProxyInterceptErrorsUpstreamKeepalive: an intercepted response's body
// is not read, so its connection is closed, unless it had none
// (Content-Length: 0, a HEAD request): then it is reused, as in nginx 1.22.1
// (u->keepalive), which a backend counting its connections showed. The error
// page shows the connection's number ($upstream_http_x_conn): it is
// answered after the proxy gave the connection back or closed it.
func TestProxyInterceptErrorsUpstreamKeepalive(t *testing.T) {
	dir := t.TempDir()
	backend := statusBackend(t)
	addr := startDaemon(t, dir, fmt.Sprintf(`
    access_log off;
    server {
        listen 127.0.0.1:0;
        proxy_intercept_errors on;
        error_page 503 /maint.html;
        location = /maint.html { return 200 "maint conn=$upstream_http_x_conn\n"; }
        location /x/ { proxy_pass http://%[1]s/s/; }
    }`, backend))
	page := func(conn int) string { return fmt.Sprintf("maint conn=%d\n", conn) }
	checkIntercepted(t, addr, []interceptCase{
		{"GET", "/x/503?empty", 503, page(1), false, nil},
		{"GET", "/x/503?empty", 503, page(1), false, nil}, // no body: reused
		{"GET", "/x/503", 503, page(1), false, nil},       // a body: closed
		{"GET", "/x/503?empty", 503, page(2), false, nil},
		{"HEAD", "/x/503", 503, "", false, nil}, // HEAD: no body, reused
		{"GET", "/x/503?empty", 503, page(2), false, nil},
	})
}

// TestProxyInterceptErrorsAfterRetries: proxy_next_upstream decides before
// interception (an upstream 502 goes to the next server, and only the last
// answer is intercepted), and passive health counts the attempts as it does
// without interception: the retried server is disabled, the intercepted last
// one is not. Every answer and log line is nginx 1.22.1's for the same
// configuration.
func TestProxyInterceptErrorsAfterRetries(t *testing.T) {
	dir := t.TempDir()
	answer := func(code int, body string) string {
		b := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(code)
			io.WriteString(w, body)
		}))
		t.Cleanup(b.Close)
		return b.Listener.Addr().String()
	}
	bad1, bad2, good := answer(502, "bad\n"), answer(502, "bad\n"), answer(200, "good\n")
	addr := startDaemon(t, dir, fmt.Sprintf(`
    log_format t '$request_uri s=$status us=$upstream_status ua=$upstream_addr';
    access_log %[1]s/t.log t buffer=0;
    upstream two { server %[2]s; server %[4]s; }
    upstream bad { server %[2]s; server %[3]s; }
    server {
        listen 127.0.0.1:0;
        proxy_intercept_errors on;
        error_page 502 /maint.html;
        location = /maint.html { return 200 "maint\n"; }
        location /retry/ { proxy_next_upstream error timeout http_502; proxy_pass http://two; }
        location /bad/ { proxy_next_upstream error timeout http_502; proxy_pass http://bad; }
        location /noretry/ { proxy_next_upstream error timeout; proxy_pass http://bad; }
    }`, dir, bad1, bad2, good))
	checkIntercepted(t, addr, []interceptCase{
		{"GET", "/retry/a", 200, "good\n", false, nil},
		{"GET", "/retry/b", 200, "good\n", false, nil},
		{"GET", "/bad/a", 502, "maint\n", false, nil},
		{"GET", "/noretry/a", 502, "maint\n", false, nil},
	})
	log := filepath.Join(dir, "t.log")
	waitLogged(t, log, "/retry/a s=200 us=502, 200 ua="+bad1+", "+good)
	waitLogged(t, log, "/retry/b s=200 us=200 ua="+good) // the first server failed once: disabled
	waitLogged(t, log, "/bad/a s=502 us=502, 502 ua="+bad1+", "+bad2)
	// bad2's intercepted 502 (the last try) did not count as a failure
	waitLogged(t, log, "/noretry/a s=502 us=502 ua="+bad2)
}

package daemon_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"fulcrum/internal/testutil"
)

// requestLog records the requests a test backend got, as
// "METHOD URI body=... x-foo=...".
type requestLog struct {
	mu   sync.Mutex
	seen []string
}

func (l *requestLog) add(r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	l.mu.Lock()
	defer l.mu.Unlock()
	l.seen = append(l.seen, fmt.Sprintf("%s %s body=%s x-foo=%s", r.Method, r.RequestURI, b, r.Header.Get("X-Foo")))
}

// since returns the requests from index i on.
func (l *requestLog) since(i int) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.seen[min(i, len(l.seen)):])
}

// postActionConf: the locations of nginx 1.22.1's answers compared by
// hand (what the accounting backend %[2]s got for each request); %[1]s is
// the main backend, %[3]s the directory.
const postActionConf = `
    log_format pa '$request_uri $status $uri $upstream_status';
    access_log %[3]s/access.log pa buffer=0;
    server {
        listen 127.0.0.1:0;
        location /n/ { proxy_pass http://%[1]s; post_action @acct; }
        location /u/ { proxy_pass http://%[1]s; post_action /acct; }
        location /in/ {
            post_action @acct;
            location /in/off/ { proxy_pass http://%[1]s; post_action off; }
            location /in/keep/ { proxy_pass http://%[1]s; }
        }
        location /auth/ { auth_request /authsub; proxy_pass http://%[1]s; }
        location = /authsub { proxy_pass http://%[1]s; post_action @acct; }
        location /ret/ { return 200 "returned\n"; post_action @acct; }
        location /err/ { proxy_pass http://%[1]s; proxy_intercept_errors on; error_page 404 = @fallback; post_action /acct; }
        location @fallback { return 200 "fallback\n"; post_action @acct; }
        location /if/ { proxy_pass http://%[1]s; if ($arg_pa) { post_action @acct; } }
        location @acct { proxy_pass http://%[2]s; }
        location /acct { internal; proxy_pass http://%[2]s; }
        location = /marker { return 204; post_action @acct; }
    }
`

// startPostAction starts a daemon with postActionConf and returns its
// address, the accounting backend's log and the directory.
func startPostAction(t *testing.T) (string, *requestLog, string) {
	t.Helper()
	main := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		if strings.Contains(r.URL.Path, "notfound") {
			w.WriteHeader(http.StatusNotFound)
		}
		fmt.Fprintf(w, "main %s\n", r.RequestURI)
	}))
	t.Cleanup(main.Close)
	acct := &requestLog{}
	ab := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		acct.add(r)
		w.WriteHeader(http.StatusTeapot) // not the status the client gets or the log shows
	}))
	t.Cleanup(ab.Close)
	dir := t.TempDir()
	addr := startDaemon(t, dir, fmt.Sprintf(postActionConf, main.Listener.Addr(), ab.Listener.Addr(), dir))
	return addr, acct, dir
}

// TestPostAction: after the response, the main request goes on to the
// post_action URI or named location with its method, arguments (for a named
// location), header fields and body; the answer is dropped. Checked
// against nginx 1.22.1 with the same locations: the accounting backend got
// the same requests, except for "post_action off", which nginx 1.22 takes
// for a named location "off" it cannot find. Each request is followed, on
// the same connection, by a marker whose post action tells that the
// request's own is done.
func TestPostAction(t *testing.T) {
	addr, acct, dir := startPostAction(t)
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxConnsPerHost: 1}}
	tests := []struct {
		method, target, body string
		status               int
		want                 []string // what the accounting backend got
	}{
		{"GET", "/n/x?a=1", "", 200, []string{"GET /n/x?a=1 body= x-foo=bar"}},
		{"POST", "/n/p?b=2", "hello", 200, []string{"POST /n/p?b=2 body=hello x-foo=bar"}},
		{"HEAD", "/n/h", "", 200, []string{"HEAD /n/h body= x-foo=bar"}},
		{"GET", "/u/y?c=3", "", 200, []string{"GET /acct body= x-foo=bar"}},
		{"GET", "/in/off/q", "", 200, nil},
		{"GET", "/in/keep/q", "", 200, []string{"GET /in/keep/q body= x-foo=bar"}},
		{"GET", "/auth/a", "", 200, nil}, // a subrequest's post_action does not run
		{"GET", "/ret/r", "", 200, []string{"GET /ret/r body= x-foo=bar"}},
		{"GET", "/err/notfound", "", 200, []string{"GET /err/notfound body= x-foo=bar"}}, // the last location's
		{"GET", "/if/i?pa=1", "", 200, []string{"GET /if/i?pa=1 body= x-foo=bar"}},
		{"GET", "/if/i", "", 200, nil},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.target, func(t *testing.T) {
			from := len(acct.since(0))
			var body io.Reader
			if tt.body != "" {
				body = strings.NewReader(tt.body)
			}
			req, _ := http.NewRequest(tt.method, "http://"+addr+tt.target, body)
			req.Header.Set("X-Foo", "bar")
			resp, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d, want %d", resp.StatusCode, tt.status)
			}
			if resp, err = client.Get("http://" + addr + "/marker"); err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			marker := "GET /marker body= x-foo="
			var got []string
			waitFor(t, func() bool {
				got = acct.since(from)
				return slices.Contains(got, marker)
			})
			got = slices.DeleteFunc(got, func(s string) bool { return s == marker })
			if !slices.Equal(got, tt.want) {
				t.Errorf("the accounting backend got %q, want %q", got, tt.want)
			}
		})
	}
	// The one log line has the post action's status, URI and upstream
	// after the main request's, as nginx 1.22.1 writes it (its post action
	// is the main request sent on internally).
	waitFor(t, func() bool {
		b, _ := os.ReadFile(filepath.Join(dir, "access.log"))
		return strings.Contains(string(b), "/u/y?c=3 418 /acct 200 : 418\n")
	})
}

// TestPostActionConnection: the client has its whole response before the
// post action runs; the connection's next request waits for the post
// action, which is bounded by its location's proxy timeouts and ends at
// the head of its answer (nginx's is header only); it runs when the client
// went away too. nginx 1.22.1 behaves the same: a keep-alive request after
// one whose post action took 1 s was answered after 1 s.
func TestPostActionConnection(t *testing.T) {
	t.Parallel() // its own daemon and backends; waits on timers, no upper time bound
	var mu sync.Mutex
	arrived := map[string]time.Time{} // when each backend request came
	mark := func(what string) {
		mu.Lock()
		arrived[what] = time.Now()
		mu.Unlock()
	}
	at := func(what string) (time.Time, bool) {
		mu.Lock()
		defer mu.Unlock()
		t, ok := arrived[what]
		return t, ok
	}
	release := make(chan struct{})
	main := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mark("main " + r.RequestURI)
		if r.URL.Path == "/gone/x" {
			<-release
		}
		fmt.Fprintf(w, "main %s\n", r.RequestURI)
	}))
	t.Cleanup(main.Close)
	t.Cleanup(func() { close(release) }) // before main.Close, which waits for its handlers
	// stuck reads a request and never answers; head answers the head of a
	// response and keeps the body's end for ever.
	hold := func(name string, answer string) string {
		return testutil.RawBackend(t, func(c net.Conn) {
			line, _ := bufio.NewReader(c).ReadString('\n')
			mark(name + " " + strings.Fields(line + " x x")[1])
			io.WriteString(c, answer)
			<-release
		})
	}
	stuck := hold("stuck", "")
	head := hold("head", "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npart")
	acct := &requestLog{}
	ab := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { acct.add(r) }))
	t.Cleanup(ab.Close)
	dir := t.TempDir()
	addr := startDaemon(t, dir, fmt.Sprintf(`
    server {
        listen 127.0.0.1:0;
        location /stuck/ { proxy_pass http://%[1]s; post_action @stuck; }
        location @stuck { proxy_pass http://%[2]s; proxy_read_timeout 200ms; }
        location /head/ { proxy_pass http://%[1]s; post_action @head; }
        location @head { proxy_pass http://%[3]s; }
        location /gone/ { proxy_pass http://%[1]s; post_action @acct; }
        location @acct { proxy_pass http://%[4]s; }
    }`, main.Listener.Addr(), stuck, head, ab.Listener.Addr()))

	t.Run("the next request waits, bounded by the read timeout", func(t *testing.T) {
		c, br := dialKeepAlive(t, addr)
		keepAliveGet(t, c, br, "/stuck/1") // answered although its post action never is
		waitFor(t, func() bool { _, ok := at("stuck /stuck/1"); return ok })
		start, _ := at("stuck /stuck/1")
		keepAliveGet(t, c, br, "/stuck/2")
		next, _ := at("main /stuck/2")
		if d := next.Sub(start); d < 200*time.Millisecond {
			t.Errorf("the next request reached the backend %v after the post action started, before its 200ms read timeout", d)
		}
	})
	t.Run("the post action ends at the head of its answer", func(t *testing.T) {
		c, br := dialKeepAlive(t, addr)
		keepAliveGet(t, c, br, "/head/1")
		// Reading the post action's body would hold this one for 60 s
		// (proxy_read_timeout), past the connection's 10 s deadline.
		keepAliveGet(t, c, br, "/head/2")
		if _, ok := at("head /head/1"); !ok {
			t.Error("the post action did not reach its backend")
		}
	})
	t.Run("it runs when the client went away", func(t *testing.T) {
		c, _ := dialKeepAlive(t, addr)
		fmt.Fprintf(c, "GET /gone/x HTTP/1.1\r\nHost: t\r\n\r\n")
		waitFor(t, func() bool { _, ok := at("main /gone/x"); return ok })
		c.Close()
		waitFor(t, func() bool { return slices.Contains(acct.since(0), "GET /gone/x body= x-foo=") })
	})
}

// dialKeepAlive opens a connection to addr that the test closes.
func dialKeepAlive(t *testing.T, addr string) (net.Conn, *bufio.Reader) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(10 * time.Second))
	return c, bufio.NewReader(c)
}

// keepAliveGet sends a GET of target on c and reads its whole answer, which
// must be the main backend's 200.
func keepAliveGet(t *testing.T, c net.Conn, br *bufio.Reader, target string) {
	t.Helper()
	fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: t\r\n\r\n", target)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("%s: %v", target, err)
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != 200 || string(b) != "main "+target+"\n" {
		t.Fatalf("%s: %d %q %v", target, resp.StatusCode, b, err)
	}
}

// TestPostActionLogLine checks the access log line of a request with a
// post_action as nginx 1.22.1 wrote it (recorded with the same locations):
// one line, by the access_log of the location the post action reached,
// with the main request's $request_uri and $body_bytes_sent, the post
// action's $uri (a named location keeps the main request's), its
// upstream status after the main request's (" : "), and its $status,
// unless the main request answered with an error of its own (its 404
// stays).
func TestPostActionLogLine(t *testing.T) {
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.Contains(r.URL.Path, "s503") {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
		io.WriteString(w, "ok\n")
	}))
	t.Cleanup(backend.Close)
	dir := t.TempDir()
	b := backend.Listener.Addr().String()
	addr := startDaemon(t, dir, strings.NewReplacer("DIR", dir, "B1", b).Replace(`
    log_format t '$request_uri $status $uri $upstream_status $body_bytes_sent';
    access_log DIR/access.log t buffer=0;
    server {
        listen 127.0.0.1:0;
        location /main { post_action /pa; return 200 "main\n"; }
        location /mainp { post_action /pa; proxy_pass http://B1; }
        location /named { post_action @pa; return 200 "named\n"; }
        location /m503 { post_action /p503; return 200 "m\n"; }
        location /m404 { post_action /pa; return 404; }
        location /ns503 { post_action @p503; return 200 "n\n"; }
        location /pa { proxy_pass http://B1; }
        location @pa { proxy_pass http://B1; }
        location /p503 { access_log DIR/pa.log t buffer=0; proxy_pass http://B1/s503; }
        location @p503 { access_log DIR/pa.log t buffer=0; proxy_pass http://B1; }
    }`))
	tests := []struct{ uri, log, line string }{
		{"/main?a=1", "access.log", "/main?a=1 200 /pa 200 5"},
		{"/mainp?b=2", "access.log", "/mainp?b=2 200 /pa 200 : 200 3"},
		{"/named?c=3", "access.log", "/named?c=3 200 /named 200 6"},
		{"/m503?d=4", "pa.log", "/m503?d=4 503 /p503 503 2"},
		{"/m404?e=5", "access.log", "/m404?e=5 404 /pa 200 "},
		{"/ns503?f=6", "pa.log", "/ns503?f=6 503 /ns503 503 2"},
	}
	for _, tc := range tests {
		resp, err := http.Get("http://" + addr + tc.uri)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	for _, tc := range tests {
		waitFor(t, func() bool {
			b, _ := os.ReadFile(filepath.Join(dir, tc.log))
			return strings.Contains("\n"+string(b), "\n"+tc.line)
		})
	}
	// One line per request: six in all.
	waitFor(t, func() bool {
		a, _ := os.ReadFile(filepath.Join(dir, "access.log"))
		p, _ := os.ReadFile(filepath.Join(dir, "pa.log"))
		return strings.Count(string(a)+string(p), "\n") == len(tests)
	})
}

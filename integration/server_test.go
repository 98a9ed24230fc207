package integration

import (
	"bufio"
	"context"
	"fmt"
	"fulcrum/internal/testutil"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// instance is a running fulcrum process.
type instance struct {
	t      testing.TB
	cmd    *exec.Cmd
	dir    string
	conf   string
	mu     sync.Mutex // guards log
	log    []string   // stderr lines
	addrs  []string   // addresses fulcrum reported listening on, in order
	exited chan struct{}
}

var listeningLine = regexp.MustCompile(`listening on (\S+)`)

// startFulcrum writes conf (with %DIR% replaced by a temp dir) and runs fulcrum on
// it until the test ends. Configs listen on 127.0.0.1:0; the bound addresses are
// read from fulcrum's "listening on" log lines.
func startFulcrum(t testing.TB, conf string, wantListeners int) *instance {
	t.Helper()
	return startFulcrumEnv(t, conf, wantListeners, nil)
}

// startFulcrumEnv is startFulcrum with env added to fulcrum's environment
// (KEY=VALUE; a later one wins over the test's own).
func startFulcrumEnv(t testing.TB, conf string, wantListeners int, env []string) *instance {
	t.Helper()
	dir := t.TempDir()
	conf = strings.ReplaceAll(conf, "%DIR%", dir)
	path := filepath.Join(dir, "fulcrum.conf")
	if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	in := &instance{t: t, dir: dir, conf: path, exited: make(chan struct{})}
	cmd := exec.Command(fulcrumBin, "-p", dir, "-c", path, "-e", "stderr", "-g", "error_log stderr info;")
	if env != nil {
		cmd.Env = append(os.Environ(), env...)
	}
	in.run("fulcrum", cmd)
	waitFor(t, "fulcrum to listen", func() bool { return len(in.listening()) >= wantListeners })
	return in
}

// run starts cmd as the instance's process, its stderr read as the log
// (readLog), and stops it with SIGTERM (SIGKILL after 5 s) when the test
// ends, printing the log of a failed test under name.
func (in *instance) run(name string, cmd *exec.Cmd) {
	t := in.t
	t.Helper()
	in.cmd = cmd
	stderr, err := in.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := in.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go in.readLog(stderr)
	t.Cleanup(func() {
		in.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-in.exited:
		case <-time.After(5 * time.Second):
			in.cmd.Process.Kill()
			<-in.exited
		}
		if t.Failed() {
			t.Logf("%s log:\n%s", name, strings.Join(in.logLines(), "\n"))
		}
	})
}

func (in *instance) readLog(r io.Reader) {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line := sc.Text()
		in.mu.Lock()
		in.log = append(in.log, line)
		if m := listeningLine.FindStringSubmatch(line); m != nil {
			in.addrs = append(in.addrs, m[1])
		}
		in.mu.Unlock()
	}
	in.cmd.Wait()
	close(in.exited)
}

// listening returns the addresses fulcrum reported binding, in order.
func (in *instance) listening() []string {
	in.mu.Lock()
	defer in.mu.Unlock()
	return append([]string(nil), in.addrs...)
}

// logLines returns the error log so far.
func (in *instance) logLines() []string {
	in.mu.Lock()
	defer in.mu.Unlock()
	return append([]string(nil), in.log...)
}

// logged reports whether a log line contains s.
func (in *instance) logged(s string) bool {
	for _, l := range in.logLines() {
		if strings.Contains(l, s) {
			return true
		}
	}
	return false
}

// url returns http://ADDR for the i-th listener.
func (in *instance) url(i int) string { return "http://" + in.listening()[i] }

// backend is a named test backend that answers "NAME METHOD URI" and echoes the
// request headers it got, one "name: value" line each (sorted, lower-case).
type backend struct {
	name string
	srv  *httptest.Server
	mu   sync.Mutex // guards hits
	hits int
}

func startBackend(t *testing.T, name string) *backend {
	t.Helper()
	b := &backend{name: name}
	b.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b.mu.Lock()
		b.hits++
		b.mu.Unlock()
		body, _ := io.ReadAll(r.Body)
		var lines []string
		for k, vs := range r.Header {
			lines = append(lines, strings.ToLower(k)+": "+strings.Join(vs, ", "))
		}
		lines = append(lines, "host: "+r.Host)
		sort.Strings(lines)
		fmt.Fprintf(w, "%s %s %s\n%s\nbody: %s\n", name, r.Method, r.RequestURI, strings.Join(lines, "\n"), body)
	}))
	t.Cleanup(b.srv.Close)
	return b
}

// hitCount returns how many requests the backend got.
func (b *backend) hitCount() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.hits
}

// addr is the backend's host:port.
func (b *backend) addr() string { return strings.TrimPrefix(b.srv.URL, "http://") }

// get sends a GET and returns status and body; a transport error fails the test.
func get(t *testing.T, client *http.Client, url string, headers ...string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		if strings.EqualFold(headers[i], "Host") {
			req.Host = headers[i+1]
			continue
		}
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// firstLine returns the first line of s.
func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}

// newClient returns an HTTP client that does not follow redirects.
func newClient() *http.Client {
	return &http.Client{
		Timeout:       10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Transport:     &http.Transport{Proxy: nil, MaxIdleConnsPerHost: 16},
	}
}

// TestReturnClosesWithoutAnswer: "return 444;" closes the connection without
// a byte of answer, as nginx does, and so do "return 408;" and "return 499;"
// and an error_page that leads to one of them; the access log still has the
// status. With text, 444 is an ordinary answer, and an empty "return 200;"
// carries default_type's Content-Type (expected values from nginx 1.22).
func TestReturnClosesWithoutAnswer(t *testing.T) {
	t.Parallel() // its own process, backends and temp dir; no upper time bound
	in := startFulcrum(t, `
events {}
http {
    log_format st '$request_uri $status $bytes_sent';
    access_log %DIR%/access.log st flush=50ms;
    server {
        listen 127.0.0.1:0;
        error_page 404 = /close;
        location /close { return 444; }
        location /close-text { return 444 "text"; }
        location /timeout { return 408; }
        location /gone { return 499; }
        location /empty { return 200; }
    }
}`, 1)
	tests := []struct {
		uri    string
		closes bool
		head   string // the answer's status line and Content-Type, when there is one
		status string // as logged
	}{
		{"/close", true, "", "444"},
		{"/close-text", false, "HTTP/1.1 444 |text/plain", "444"},
		{"/timeout", true, "", "408"},
		{"/gone", true, "", "499"},
		{"/missing", true, "", "444"}, // error_page 404 = /close
		{"/empty", false, "HTTP/1.1 200 OK|text/plain", "200"},
	}
	for i, tt := range tests {
		c, err := net.Dial("tcp", in.listening()[0])
		if err != nil {
			t.Fatal(err)
		}
		_ = c.SetDeadline(time.Now().Add(5 * time.Second))
		if _, err := io.WriteString(c, "GET "+tt.uri+" HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
			t.Fatal(err)
		}
		if tt.closes {
			got, err := io.ReadAll(c)
			if err != nil || len(got) != 0 {
				t.Errorf("%s: got %q (%v), want the connection closed without an answer", tt.uri, got, err)
			}
		} else {
			resp, err := http.ReadResponse(bufio.NewReader(c), nil)
			if err != nil {
				t.Fatalf("%s: %v", tt.uri, err)
			}
			resp.Body.Close()
			status, ctype, _ := strings.Cut(tt.head, "|")
			if got := resp.Proto + " " + resp.Status; got != status || resp.Header.Get("Content-Type") != ctype {
				t.Errorf("%s: %q with Content-Type %q, want %q with %q", tt.uri, got, resp.Header.Get("Content-Type"), status, ctype)
			}
		}
		c.Close()
		lines := waitLines(t, filepath.Join(in.dir, "access.log"), i+1)
		f := strings.Fields(lines[i])
		if len(f) != 3 || f[0] != tt.uri || f[1] != tt.status || (tt.closes && f[2] != "0") {
			t.Errorf("log line %q: want %s %s and, when closed, 0 bytes", lines[i], tt.uri, tt.status)
		}
	}
}

// TestRefusedHeadSignature: the engine's own answer to a head it refuses
// carries the Server field and page signature of the listener's default
// server, server_tokens included, as nginx's does.
func TestRefusedHeadSignature(t *testing.T) {
	t.Parallel() // its own process (or signal helper) and temp dir; no upper time bound
	for _, tt := range []struct{ tokens, want string }{
		{"", "fulcrum/"},   // server_tokens on by default: with the version
		{"off", "fulcrum"}, // the name alone
	} {
		directive := ""
		if tt.tokens != "" {
			directive = "server_tokens " + tt.tokens + ";"
		}
		in := startFulcrum(t, `
events {}
http {
    `+directive+`
    server { listen 127.0.0.1:0; location / { return 200 "ok"; } }
}`, 1)
		c, err := net.Dial("tcp", in.listening()[0])
		if err != nil {
			t.Fatal(err)
		}
		_ = c.SetDeadline(time.Now().Add(5 * time.Second))
		io.WriteString(c, "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n")
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		c.Close()
		server := resp.Header.Get("Server")
		exact := !strings.HasSuffix(tt.want, "/")
		if resp.StatusCode != 400 || (exact && server != tt.want) || (!exact && !strings.HasPrefix(server, tt.want)) ||
			!strings.Contains(string(body), "<center>"+server+"</center>") {
			t.Errorf("server_tokens %q: status %d, Server %q, page %q; want 400 signed %s", tt.tokens, resp.StatusCode, server, body, tt.want)
		}
	}
}

// TestServerLevelServesUnmatched: a request no location matches is served
// with the server block's own configuration, as nginx does: its return (the
// classic "redirect everything to https" server has no location at all), or
// its root, index and try_files; error_page targets with no location too.
// (fulcrum used to answer 404 to all of them.)
func TestServerLevelServesUnmatched(t *testing.T) {
	root := t.TempDir()
	writeFiles(t, root, map[string]string{"index.html": "home", "a.txt": "file a", "fallback.html": "fallback", "404.html": "custom 404"})
	in := startFulcrum(t, fmt.Sprintf(`
events {}
http {
    server { listen 127.0.0.1:0; return 301 https://$host$request_uri; }
    server { listen 127.0.0.2:0; root %[1]s; }
    server {
        listen 127.0.0.3:0;
        root %[1]s;
        error_page 404 /404.html;
        location /api/ { return 200 "api"; }
    }
    server { listen 127.0.0.4:0; root %[1]s; try_files $uri /fallback.html; }
}`, root), 4)
	client := newClient()
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	addr := func(i int) string { return in.urlOn(fmt.Sprintf("127.0.0.%d", i+1)) }
	tests := []struct {
		url      string
		code     int
		body     string // exact, unless empty
		location string
	}{
		{addr(0) + "/some/path?q=1", 301, "", "https://127.0.0.1/some/path?q=1"}, // $host: no port
		{addr(1) + "/", 200, "home", ""},
		{addr(1) + "/a.txt", 200, "file a", ""},
		{addr(1) + "/missing", 404, "", ""},
		{addr(2) + "/api/x", 200, "api", ""},
		{addr(2) + "/a.txt", 200, "file a", ""},
		{addr(2) + "/missing", 404, "custom 404", ""},
		{addr(3) + "/a.txt", 200, "file a", ""},
		{addr(3) + "/nothing/here", 200, "fallback", ""},
	}
	for _, tt := range tests {
		resp, err := client.Get(tt.url)
		if err != nil {
			t.Fatal(err)
		}
		body := readAll(resp)
		if resp.StatusCode != tt.code || tt.body != "" && body != tt.body || resp.Header.Get("Location") != tt.location {
			t.Errorf("GET %s: %d %q Location %q, want %d %q %q", tt.url, resp.StatusCode, body,
				resp.Header.Get("Location"), tt.code, tt.body, tt.location)
		}
	}
}

// TestRealIPFromUnixSocket: "set_real_ip_from unix:" trusts clients on a
// unix socket (a local proxy in front), whose X-Real-IP becomes
// $remote_addr ("unix:" without one, as nginx prints it); a TCP client's
// header is ignored.
func TestRealIPFromUnixSocket(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "front.sock")
	in := startFulcrum(t, `
events {}
http {
    set_real_ip_from unix:;
    server {
        listen unix:`+sock+`;
        listen 127.0.0.1:0;
        location / { return 200 "$remote_addr"; }
    }
}`, 2)
	unixClient := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "unix", sock)
	}}}
	req, _ := http.NewRequest("GET", "http://local/", nil)
	req.Header.Set("X-Real-IP", "203.0.113.7")
	resp, err := unixClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if body := readAll(resp); body != "203.0.113.7" {
		t.Errorf("over the unix socket: $remote_addr %q, want the header's 203.0.113.7", body)
	}
	resp, err = unixClient.Get("http://local/")
	if err != nil {
		t.Fatal(err)
	}
	if body := readAll(resp); body != "unix:" {
		t.Errorf("over the unix socket without the header: $remote_addr %q, want nginx's unix:", body)
	}
	if _, body := get(t, newClient(), in.urlOn("127.0.0.1")+"/", "X-Real-IP", "203.0.113.7"); body != "127.0.0.1" {
		t.Errorf("over TCP: $remote_addr %q, want the peer 127.0.0.1", body)
	}
}

// TestHeadFieldOrderAsNginx: the order of the fields in fulcrum's heads is
// nginx 1.22's for the same configuration: its header filter's fields first
// (Server, Date, Content-Type, Content-Length, Last-Modified and Location of
// its own answers, Transfer-Encoding, Connection), then the rest, the range
// filter's Accept-Ranges last; an upstream's fields keep the upstream's order.
func TestHeadFieldOrderAsNginx(t *testing.T) {
	root := t.TempDir()
	writeFiles(t, root, map[string]string{"f.txt": "hi\n", "d/index.html": "i"})
	backend := testutil.RawBackend(t, func(c net.Conn) {
		br := bufio.NewReader(c)
		for {
			req, err := http.ReadRequest(br)
			if err != nil {
				return
			}
			io.Copy(io.Discard, req.Body)
			io.WriteString(c, "HTTP/1.1 200 OK\r\nX-B: 1\r\nTransfer-Encoding: chunked\r\nLast-Modified: Tue, 02 Jan 2024 03:04:05 GMT\r\nContent-Type: text/plain\r\n\r\n2\r\nok\r\n0\r\n\r\n")
		}
	})
	in := startFulcrum(t, `
events {}
http {
    access_log off;
    server {
        listen 127.0.0.1:0;
        root `+root+`;
        add_header X-Add a;
        location /r { return 302 /x; }
        location /p { proxy_pass http://`+backend+`; }
    }
}`, 1)
	tests := []struct{ path, want string }{
		{"/f.txt", "Server Date Content-Type Content-Length Last-Modified Connection ETag X-Add Accept-Ranges"},
		{"/d", "Server Date Content-Type Content-Length Location Connection X-Add"},
		{"/r", "Server Date Content-Type Content-Length Location Connection X-Add"},
		{"/p", "Server Date Content-Type Transfer-Encoding Connection X-B Last-Modified X-Add"},
	}
	for _, tt := range tests {
		_, fields, _ := rawGet(t, in.listening()[0], tt.path, "")
		var names []string
		for _, f := range fields {
			name, _, _ := strings.Cut(f, ":")
			names = append(names, name)
		}
		// rawGet asks to close, so Connection says close; the order is what counts.
		if got := strings.Join(names, " "); got != tt.want {
			t.Errorf("%s: fields %q\n want %q", tt.path, got, tt.want)
		}
	}
}

package daemon_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"

	"fulcrum/internal/testutil"
)

// h2Site writes a certificate for a.test into dir and returns its
// ssl_certificate lines and a pool that trusts it.
func h2Site(t *testing.T, dir string) (string, *x509.CertPool) {
	t.Helper()
	cert, key := testutil.WriteCert(t, dir, "a", testutil.ECDSA, "a.test")
	pem, err := os.ReadFile(cert)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	return fmt.Sprintf("ssl_certificate %s; ssl_certificate_key %s;", cert, key), pool
}

// h2Client is an HTTP/2-capable client that reaches addr for any host
// (a.test, as the certificate says), or one that offers only HTTP/1.1
// when h1only.
func h2Client(t *testing.T, addr string, pool *x509.CertPool, h1only bool) *http.Client {
	t.Helper()
	tr := &http.Transport{
		TLSClientConfig:   &tls.Config{RootCAs: pool, ServerName: "a.test"},
		ForceAttemptHTTP2: !h1only,
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "tcp", addr)
		},
	}
	if h1only {
		tr.TLSNextProto = map[string]func(string, *tls.Conn) http.RoundTripper{}
	}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 5 * time.Second}
}

// get sends a request and returns the response and its body.
func h2Do(t *testing.T, c *http.Client, method, url, body string, header ...string) (*http.Response, string) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: body: %v", method, url, err)
	}
	return resp, string(b)
}

// h2Backend echoes what it got, and answers with the hop-by-hop fields an
// HTTP/1.1 upstream sends, which must not reach an HTTP/2 client.
func h2Backend(t *testing.T) string {
	t.Helper()
	b := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		w.Header().Set("Keep-Alive", "timeout=5")
		w.Header().Set("X-Up", "1")
		if r.URL.Path == "/chunked" {
			w.WriteHeader(200)
			w.(http.Flusher).Flush() // chunked: Transfer-Encoding upstream
		}
		fmt.Fprintf(w, "%s %s %s ua=%s body=%s", r.Method, r.RequestURI, r.Proto, r.Header.Get("User-Agent"), body)
	}))
	t.Cleanup(b.Close)
	return b.Listener.Addr().String()
}

const h2LogFormat = `log_format h2 '$request|$server_protocol|$http2|$status|$connection|$connection_requests|$body_bytes_sent';`

// TestHTTP2Proxy sends requests over HTTP/2 through the whole request
// path: a proxied GET and POST to a real HTTP/1.1 backend, error pages,
// 413, 444, add_header; and checks the access log as nginx 1.22 writes it
// for HTTP/2 (checked with nginx 1.22.1 and curl --http2: "GET /a?x=1
// HTTP/2.0|HTTP/2.0|h2|200", no hop-by-hop field in the response).
func TestHTTP2Proxy(t *testing.T) {
	dir := t.TempDir()
	certs, pool := h2Site(t, dir)
	back := h2Backend(t)
	logPath := filepath.Join(dir, "h2.log")
	addr := startDaemon(t, dir, fmt.Sprintf(`%s
    server { listen 127.0.0.1:0 ssl http2; server_name a.test; %s
        access_log %s h2 buffer=0;
        client_max_body_size 10;
        add_header X-Added yes;
        location / { proxy_pass http://%s; }
        location /e { return 404; }
        location /d { return 444; }
        location /ep { error_page 404 /page; return 404; }
        location = /page { return 200 "page $server_protocol\n"; }
    }`, h2LogFormat, certs, logPath, back))
	c := h2Client(t, addr, pool, false)
	base := "https://a.test"
	tests := []struct {
		name, method, path, body string
		status                   int
		wantBody, logLine        string
	}{
		{"proxied get", "GET", "/a?x=1", "", 200, "GET /a?x=1 HTTP/1.1 ua=h2test body=", "GET /a?x=1 HTTP/2.0|HTTP/2.0|h2|200|"},
		{"proxied post", "POST", "/p", "hello", 200, "POST /p HTTP/1.1 ua=h2test body=hello", "POST /p HTTP/2.0|HTTP/2.0|h2|200|"},
		{"chunked upstream", "GET", "/chunked", "", 200, "GET /chunked HTTP/1.1", "GET /chunked HTTP/2.0|HTTP/2.0|h2|200|"},
		{"error page", "GET", "/e", "", 404, "<center><h1>404 Not Found</h1></center>", "GET /e HTTP/2.0|HTTP/2.0|h2|404|"},
		{"error_page redirect", "GET", "/ep", "", 404, "page HTTP/2.0\n", "GET /ep HTTP/2.0|HTTP/2.0|h2|404|"},
		{"body too large", "POST", "/p", "0123456789abc", 413, "413 Request Entity Too Large", "POST /p HTTP/2.0|HTTP/2.0|h2|413|"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := h2Do(t, c, tt.method, base+tt.path, tt.body, "User-Agent", "h2test")
			if resp.ProtoMajor != 2 {
				t.Fatalf("protocol %s, want HTTP/2.0", resp.Proto)
			}
			if resp.StatusCode != tt.status || !strings.Contains(body, strings.ReplaceAll(tt.wantBody, `\n`, "\n")) {
				t.Errorf("got %d %q, want %d %q", resp.StatusCode, body, tt.status, tt.wantBody)
			}
			for _, f := range []string{"Connection", "Keep-Alive", "Transfer-Encoding", "Upgrade"} {
				if v, ok := resp.Header[f]; ok {
					t.Errorf("%s: %q sent over HTTP/2", f, v)
				}
			}
			if !strings.HasPrefix(resp.Header.Get("Server"), "fulcrum") {
				t.Errorf("Server %q", resp.Header.Get("Server"))
			}
			if tt.status == 200 && resp.Header.Get("X-Added") != "yes" {
				t.Errorf("add_header missing: %v", resp.Header)
			}
			waitLogged(t, logPath, tt.logLine)
		})
	}
	t.Run("444 resets the stream", func(t *testing.T) {
		resp, err := c.Get(base + "/d")
		if err == nil {
			resp.Body.Close()
			t.Fatalf("got %d, want a reset stream", resp.StatusCode)
		}
		waitLogged(t, logPath, "GET /d HTTP/2.0|HTTP/2.0|h2|444|")
	})
}

// TestHTTP2ConcurrentStreams sends several requests at once on one
// connection: the backend answers only when all of them have arrived, so
// they must be in flight together; the access log shows one connection
// and its request count.
func TestHTTP2ConcurrentStreams(t *testing.T) {
	t.Parallel() // mostly waiting; its own daemon, ports and files
	const n = 5
	var mu sync.Mutex
	arrived := 0
	all := make(chan struct{})
	b := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		if arrived++; arrived == n {
			close(all)
		}
		mu.Unlock()
		select {
		case <-all:
		case <-time.After(3 * time.Second):
			http.Error(w, "alone", 500)
			return
		}
		io.WriteString(w, "together")
	}))
	defer b.Close()
	dir := t.TempDir()
	certs, pool := h2Site(t, dir)
	logPath := filepath.Join(dir, "h2.log")
	addr := startDaemon(t, dir, fmt.Sprintf(`%s
    server { listen 127.0.0.1:0 ssl http2; %s access_log %s h2 buffer=0; http2_max_concurrent_streams 8;
        location / { proxy_pass http://%s; } }`, h2LogFormat, certs, logPath, b.Listener.Addr()))
	c := h2Client(t, addr, pool, false)
	c.Transport.(*http.Transport).MaxConnsPerHost = 1
	// One request first, so that the others find the connection open.
	if resp, _ := h2Do(t, c, "GET", "https://a.test/first", ""); resp.StatusCode != 500 {
		t.Fatalf("first: %d", resp.StatusCode)
	}
	mu.Lock()
	arrived = 0
	mu.Unlock()
	var wg sync.WaitGroup
	errs := make(chan string, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := c.Get(fmt.Sprintf("https://a.test/s%d", i))
			if err != nil {
				errs <- err.Error()
				return
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.ProtoMajor != 2 || string(body) != "together" {
				errs <- fmt.Sprintf("%s %d %q", resp.Proto, resp.StatusCode, body)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	logged := waitLines(t, logPath, n+1)
	conn := strings.Split(logged[0], "|")[4]
	for i, line := range logged {
		f := strings.Split(line, "|")
		if f[4] != conn {
			t.Errorf("line %d on connection %s, want %s: %s", i, f[4], conn, line)
		}
	}
	if f := strings.Split(logged[n], "|"); len(f) < 6 {
		t.Fatalf("log line %q", logged[n])
	}
}

// waitLines waits until path has n lines and returns them.
func waitLines(t *testing.T, path string, n int) []string {
	t.Helper()
	deadline := time.Now().Add(3 * time.Second)
	for {
		data, _ := os.ReadFile(path)
		lines := strings.Split(strings.TrimSpace(string(data)), "\n")
		if len(lines) >= n && lines[0] != "" {
			return lines
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d lines, want %d:\n%s", len(lines), n, data)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestHTTP2Negotiation checks which protocol ALPN picks: h2 on an
// address with "listen ... http2" for every server on it, or for a server
// with "http2 on" (nginx 1.25's rule: the parameter for the address, or
// the directive of the server the SNI name chose); http/1.1 for a client
// that does not offer h2, and on an address without either.
func TestHTTP2Negotiation(t *testing.T) {
	dir := t.TempDir()
	a, pool := h2Site(t, dir)
	cb, kb := testutil.WriteCert(t, dir, "b", testutil.ECDSA, "b.test")
	pemB, _ := os.ReadFile(cb)
	pool.AppendCertsFromPEM(pemB)
	tests := []struct {
		name, conf string
		sni        string
		h1only     bool
		want       string
	}{
		{"listen http2", "server { listen 127.0.0.1:0 ssl http2; server_name a.test; %[1]s location / { return 200 $server_protocol; } }", "a.test", false, "h2"},
		{"client without h2", "server { listen 127.0.0.1:0 ssl http2; server_name a.test; %[1]s location / { return 200 $server_protocol; } }", "a.test", true, "http/1.1"},
		{"no http2", "server { listen 127.0.0.1:0 ssl; server_name a.test; %[1]s location / { return 200 $server_protocol; } }", "a.test", false, "http/1.1"},
		{"http2 off", "server { listen 127.0.0.1:0 ssl; http2 off; server_name a.test; %[1]s location / { return 200 $server_protocol; } }", "a.test", false, "http/1.1"},
		{"http2 on", "server { listen 127.0.0.1:0 ssl; http2 on; server_name a.test; %[1]s location / { return 200 $server_protocol; } }", "a.test", false, "h2"},
		{"listen http2 on another server of the address", "server { listen 127.0.0.1:0 ssl; server_name a.test; %[1]s location / { return 200 a; } } server { listen 127.0.0.1:0 ssl http2; server_name b.test; %[2]s }", "a.test", false, "h2"},
		{"http2 on of the SNI server", "server { listen 127.0.0.1:0 ssl; server_name a.test; %[1]s location / { return 200 a; } } server { listen 127.0.0.1:0 ssl; http2 on; server_name b.test; %[2]s }", "b.test", false, "h2"},
		{"http2 on of another server", "server { listen 127.0.0.1:0 ssl; server_name a.test; %[1]s location / { return 200 a; } } server { listen 127.0.0.1:0 ssl; http2 on; server_name b.test; %[2]s }", "a.test", false, "http/1.1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sub := t.TempDir()
			addr := startDaemon(t, sub, fmt.Sprintf(tt.conf, a, fmt.Sprintf("ssl_certificate %s; ssl_certificate_key %s;", cb, kb)))
			protos := []string{"h2", "http/1.1"}
			if tt.h1only {
				protos = protos[1:]
			}
			c, err := tls.Dial("tcp", addr, &tls.Config{RootCAs: pool, ServerName: tt.sni, NextProtos: protos})
			if err != nil {
				t.Fatal(err)
			}
			c.Close()
			if got := c.ConnectionState().NegotiatedProtocol; got != tt.want {
				t.Errorf("ALPN chose %q, want %q", got, tt.want)
			}
			if tt.sni != "a.test" {
				return
			}
			resp, body := h2Do(t, h2Client(t, addr, pool, tt.h1only), "GET", "https://a.test/", "")
			wantProto := map[string]string{"h2": "HTTP/2.0", "http/1.1": "HTTP/1.1"}[tt.want]
			if resp.Proto != wantProto || resp.StatusCode != 200 {
				t.Errorf("got %s %d %q, want %s", resp.Proto, resp.StatusCode, body, wantProto)
			}
			if body != "a" && body != wantProto {
				t.Errorf("$server_protocol %q, want %s", body, wantProto)
			}
		})
	}
}

// TestHTTP2HeaderLimits checks large_client_header_buffers on HTTP/2 as
// nginx 1.22 applies it (checked with "large_client_header_buffers 4 1k"
// and curl --http2): a field whose literal (Huffman-coded when that is
// shorter) is over one buffer, or a list over all of them, ends the
// connection and logs "000" with no request line; 1100 bytes of "a"
// (Huffman: 688) pass, as in nginx.
func TestHTTP2HeaderLimits(t *testing.T) {
	dir := t.TempDir()
	certs, pool := h2Site(t, dir)
	logPath := filepath.Join(dir, "h2.log")
	addr := startDaemonLevel(t, dir, "info", fmt.Sprintf(`%s
    server { listen 127.0.0.1:0 ssl http2; %s access_log %s h2 buffer=0; large_client_header_buffers 4 1k;
        location / { return 200 ok; } }`, h2LogFormat, certs, logPath))
	big := func(c byte, n int) string { return strings.Repeat(string(c), n) }
	tests := []struct {
		name   string
		fields []string
		ok     bool
		logged string
	}{
		{"compressible field", []string{"X-Big", big('a', 1100)}, true, "GET /0 HTTP/2.0|HTTP/2.0|h2|200|"},
		{"field too large", []string{"X-Big", big('}', 1100)}, false, "client sent too large header field while processing HTTP/2 connection"},
		{"four fields fit", []string{"X-1", big('a', 900), "X-2", big('a', 900), "X-3", big('a', 900), "X-4", big('a', 900)}, true, "GET /2 HTTP/2.0|HTTP/2.0|h2|200|"},
		{"list too large", []string{"X-1", big('a', 900), "X-2", big('a', 900), "X-3", big('a', 900), "X-4", big('a', 900), "X-5", big('a', 900)}, false, "client sent too large header while processing HTTP/2 connection"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := h2Client(t, addr, pool, false)
			req, _ := http.NewRequest("GET", fmt.Sprintf("https://a.test/%d", i), nil)
			for j := 0; j < len(tt.fields); j += 2 {
				req.Header.Set(tt.fields[j], tt.fields[j+1])
			}
			resp, err := c.Do(req)
			if err == nil {
				resp.Body.Close()
			}
			if tt.ok != (err == nil && resp.StatusCode == 200) {
				t.Fatalf("ok %v: %v %v", tt.ok, resp, err)
			}
			if err == nil {
				t.Logf("status %d", resp.StatusCode)
			}
			if tt.ok {
				waitLogged(t, logPath, tt.logged)
				return
			}
			waitLogged(t, filepath.Join(dir, "error.log"), tt.logged)
			waitLogged(t, logPath, "-|HTTP/2.0|h2|000|")
		})
	}
}

// TestHTTP2GracefulStop stops the daemon (SIGQUIT) while a stream waits
// for its upstream: the stream's response arrives whole, and an idle
// HTTP/2 connection gets GOAWAY.
func TestHTTP2GracefulStop(t *testing.T) {
	got, release := make(chan struct{}), make(chan struct{})
	b := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			close(got)
			<-release
		}
		io.WriteString(w, "done "+r.URL.Path)
	}))
	defer b.Close()
	var once sync.Once
	unblock := func() { once.Do(func() { close(release) }) }
	defer unblock() // before b.Close, which waits for its handlers
	dir := t.TempDir()
	certs, pool := h2Site(t, dir)
	path := filepath.Join(dir, "fulcrum.conf")
	conf := fmt.Sprintf("pid %[1]s/fulcrum.pid;\nerror_log %[1]s/error.log;\nhttp { server { listen 127.0.0.1:0 ssl http2; %[2]s location / { proxy_pass http://%[3]s; } } }\n", dir, certs, b.Listener.Addr())
	if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	addr, sigs := runConfigFile(t, path)

	idle := dialH2(t, addr, pool)
	c := h2Client(t, addr, pool, false)
	type result struct {
		proto, body string
		err         error
	}
	res := make(chan result, 1)
	go func() {
		resp, err := c.Get("https://a.test/slow")
		if err != nil {
			res <- result{err: err}
			return
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		res <- result{resp.Proto, string(body), err}
	}()
	select {
	case <-got:
	case <-time.After(5 * time.Second):
		t.Fatal("the request did not reach the backend")
	}
	sigs <- syscall.SIGQUIT
	idle.waitGoAway(t)
	unblock()
	select {
	case r := <-res:
		if r.err != nil || r.proto != "HTTP/2.0" || r.body != "done /slow" {
			t.Errorf("in-flight stream: %s %q %v", r.proto, r.body, r.err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the in-flight stream did not finish")
	}
}

// rawH2 is a bare HTTP/2 client connection, to watch frames.
type rawH2 struct {
	c  *tls.Conn
	fr *http2.Framer
}

// dialH2 opens an HTTP/2 connection and exchanges the prefaces.
func dialH2(t *testing.T, addr string, pool *x509.CertPool) *rawH2 {
	t.Helper()
	c, err := tls.Dial("tcp", addr, &tls.Config{RootCAs: pool, ServerName: "a.test", NextProtos: []string{"h2"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if _, err := io.WriteString(c, http2.ClientPreface); err != nil {
		t.Fatal(err)
	}
	fr := http2.NewFramer(c, c)
	if err := fr.WriteSettings(); err != nil {
		t.Fatal(err)
	}
	// The server's SETTINGS: its HTTP/2 server has the connection.
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	f, err := fr.ReadFrame()
	if err != nil {
		t.Fatal(err)
	}
	if sf, ok := f.(*http2.SettingsFrame); !ok || sf.IsAck() {
		t.Fatalf("first frame %v, want SETTINGS", f)
	}
	_ = fr.WriteSettingsAck()
	return &rawH2{c: c, fr: fr}
}

// waitGoAway reads frames until GOAWAY, within a deadline.
func (r *rawH2) waitGoAway(t *testing.T) {
	t.Helper()
	_ = r.c.SetReadDeadline(time.Now().Add(5 * time.Second))
	for {
		f, err := r.fr.ReadFrame()
		if err != nil {
			t.Fatalf("no GOAWAY: %v", err)
		}
		if ga, ok := f.(*http2.GoAwayFrame); ok {
			if ga.ErrCode != http2.ErrCodeNo {
				t.Errorf("GOAWAY %v", ga.ErrCode)
			}
			return
		}
		if sf, ok := f.(*http2.SettingsFrame); ok && !sf.IsAck() {
			_ = r.fr.WriteSettingsAck()
		}
	}
}

// TestHTTP2KeepaliveRequests checks keepalive_requests on HTTP/2 (nginx
// 1.19.7+ uses it instead of http2_max_requests): the response of the
// last stream allowed comes with GOAWAY, and the client's next request
// goes on a new connection (nginx 1.22.1, keepalive_requests 2, curl
// --http2 with three URLs: GOAWAY NO_ERROR after the second stream,
// $connection_requests 1, 2, then 1 on a new connection).
func TestHTTP2KeepaliveRequests(t *testing.T) {
	dir := t.TempDir()
	certs, pool := h2Site(t, dir)
	addr := startDaemon(t, dir, fmt.Sprintf(`
    server { listen 127.0.0.1:0 ssl http2; %s keepalive_requests 2;
        location / { return 200 "$connection $connection_requests"; } }`, certs))
	c := h2Client(t, addr, pool, false)
	var got []string
	for i := 0; i < 3; i++ {
		resp, body := h2Do(t, c, "GET", "https://a.test/", "")
		if resp.ProtoMajor != 2 {
			t.Fatalf("protocol %s", resp.Proto)
		}
		got = append(got, body)
	}
	first := strings.Fields(got[0])
	second := strings.Fields(got[1])
	third := strings.Fields(got[2])
	if first[1] != "1" || second[1] != "2" || second[0] != first[0] {
		t.Errorf("first two on one connection: %q", got)
	}
	if third[0] == first[0] || third[1] != "1" {
		t.Errorf("third not on a new connection: %q", got)
	}
}

// TestHTTP2Reload reloads (SIGHUP) while a stream waits for its upstream:
// the stream finishes whole, an idle HTTP/2 connection gets GOAWAY (as
// nginx's old workers send it), and the client's next request is served
// by the new configuration on a new connection.
func TestHTTP2Reload(t *testing.T) {
	got, release := make(chan struct{}), make(chan struct{})
	b := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(got)
		<-release
		io.WriteString(w, "slow done")
	}))
	defer b.Close()
	var once sync.Once
	unblock := func() { once.Do(func() { close(release) }) }
	defer unblock() // before b.Close, which waits for its handlers
	dir := t.TempDir()
	certs, pool := h2Site(t, dir)
	path := filepath.Join(dir, "fulcrum.conf")
	write := func(v string) {
		conf := fmt.Sprintf("pid %[1]s/fulcrum.pid;\nerror_log %[1]s/error.log;\nhttp { server { listen 127.0.0.1:0 ssl http2; %[2]s location /slow { proxy_pass http://%[3]s; } location = /v { return 200 \"%[4]s $connection\"; } } }\n", dir, certs, b.Listener.Addr(), v)
		if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("one")
	addr, sigs := runConfigFile(t, path)
	idle := dialH2(t, addr, pool)
	c := h2Client(t, addr, pool, false)
	_, before := h2Do(t, c, "GET", "https://a.test/v", "")
	res := make(chan string, 1)
	go func() {
		resp, err := c.Get("https://a.test/slow")
		if err != nil {
			res <- err.Error()
			return
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		res <- resp.Proto + " " + string(body)
	}()
	select {
	case <-got:
	case <-time.After(5 * time.Second):
		t.Fatal("the request did not reach the backend")
	}
	write("two")
	sigs <- syscall.SIGHUP
	idle.waitGoAway(t)
	// The new configuration answers at once. The client moves to a new
	// connection once it has read its busy connection's GOAWAY, which the
	// reload sends to every connection, not necessarily before the next
	// request leaves: poll for the move.
	for deadline := time.Now().Add(5 * time.Second); ; {
		_, after := h2Do(t, c, "GET", "https://a.test/v", "")
		if !strings.HasPrefix(after, "two ") {
			t.Fatalf("after the reload %q: want the new configuration", after)
		}
		if strings.Fields(after)[1] != strings.Fields(before)[1] {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after the reload %q, before %q: the client never moved to a new connection (no GOAWAY on the busy one)", after, before)
		}
		time.Sleep(10 * time.Millisecond)
	}
	unblock()
	select {
	case r := <-res:
		if r != "HTTP/2.0 slow done" {
			t.Errorf("in-flight stream: %q", r)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the in-flight stream did not finish")
	}
}

// TestHTTP2PlainRequest sends plain HTTP to an address that offers HTTP/2:
// nginx's 400 "The plain HTTP request was sent to HTTPS port", as on any
// ssl address.
func TestHTTP2PlainRequest(t *testing.T) {
	dir := t.TempDir()
	certs, _ := h2Site(t, dir)
	addr := startDaemon(t, dir, fmt.Sprintf(`server { listen 127.0.0.1:0 ssl http2; %s location / { return 200 ok; } }`, certs))
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(3 * time.Second))
	io.WriteString(c, "GET / HTTP/1.1\r\nHost: a.test\r\n\r\n")
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 400 || !strings.Contains(string(body), "The plain HTTP request was sent to HTTPS port") {
		t.Errorf("got %d %q", resp.StatusCode, body)
	}
}

// TestHTTP2LimitRate paces an HTTP/2 response as nginx paces each request:
// 64 KiB at 32 KiB a second take about a second (the first second's worth
// goes at once), without the limit they do not wait.
func TestHTTP2LimitRate(t *testing.T) {
	payload := strings.Repeat("x", 64<<10)
	b := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, payload)
	}))
	defer b.Close()
	dir := t.TempDir()
	certs, pool := h2Site(t, dir)
	addr := startDaemon(t, dir, fmt.Sprintf(`server { listen 127.0.0.1:0 ssl http2; %s
        location /slow { limit_rate 32k; proxy_pass http://%s; }
        location /fast { proxy_pass http://%s; } }`, certs, b.Listener.Addr(), b.Listener.Addr()))
	c := h2Client(t, addr, pool, false)
	tests := []struct {
		path     string
		min, max time.Duration
	}{
		{"/fast", 0, 700 * time.Millisecond},
		{"/slow", 900 * time.Millisecond, 4 * time.Second},
	}
	for _, tt := range tests {
		start := time.Now()
		resp, body := h2Do(t, c, "GET", "https://a.test"+tt.path, "")
		took := time.Since(start)
		if resp.ProtoMajor != 2 || len(body) != len(payload) {
			t.Fatalf("%s: %s, %d bytes", tt.path, resp.Proto, len(body))
		}
		if took < tt.min || took > tt.max {
			t.Errorf("%s took %v, want %v to %v", tt.path, took, tt.min, tt.max)
		}
	}
}

// TestHTTP2NoHost sends a request with neither :authority nor Host: 400,
// logged as nginx 1.22.1 logs it ("client sent HTTP/1.1 request without
// "Host" header", checked with a raw HTTP/2 client).
func TestHTTP2NoHost(t *testing.T) {
	dir := t.TempDir()
	certs, pool := h2Site(t, dir)
	logPath := filepath.Join(dir, "h2.log")
	addr := startDaemonLevel(t, dir, "info", fmt.Sprintf(`%s server { listen 127.0.0.1:0 ssl http2; %s access_log %s h2 buffer=0; location / { return 200 ok; } }`, h2LogFormat, certs, logPath))
	r := dialH2(t, addr, pool)
	var buf bytes.Buffer
	enc := hpack.NewEncoder(&buf)
	for _, kv := range [][2]string{{":method", "GET"}, {":scheme", "https"}, {":path", "/r"}} {
		_ = enc.WriteField(hpack.HeaderField{Name: kv[0], Value: kv[1]})
	}
	if err := r.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: buf.Bytes(), EndStream: true, EndHeaders: true}); err != nil {
		t.Fatal(err)
	}
	dec := hpack.NewDecoder(4096, nil)
	for {
		f, err := r.fr.ReadFrame()
		if err != nil {
			t.Fatal(err)
		}
		if h, ok := f.(*http2.HeadersFrame); ok {
			fields, _ := dec.DecodeFull(h.HeaderBlockFragment())
			if len(fields) == 0 || fields[0].Name != ":status" || fields[0].Value != "400" {
				t.Errorf("response %v, want 400", fields)
			}
			break
		}
	}
	waitLogged(t, filepath.Join(dir, "error.log"), `client sent HTTP/1.1 request without "Host" header while reading client request headers`, `request: "GET /r HTTP/2.0"`)
	waitLogged(t, logPath, "GET /r HTTP/2.0|HTTP/2.0|h2|400|")
}

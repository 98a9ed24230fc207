package daemon_test

import (
	"bufio"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"fulcrum/internal/testutil"
)

// tlsSites writes certificates for a.test (ECDSA) and b.test (RSA) into dir
// and returns the ssl_certificate lines of each.
func tlsSites(t *testing.T, dir string) (a, b string) {
	t.Helper()
	ca, ka := testutil.WriteCert(t, dir, "a", testutil.ECDSA, "a.test")
	cb, kb := testutil.WriteCert(t, dir, "b", testutil.RSA, "b.test")
	return fmt.Sprintf("ssl_certificate %s; ssl_certificate_key %s;", ca, ka),
		fmt.Sprintf("ssl_certificate %s; ssl_certificate_key %s;", cb, kb)
}

// dialTLS connects to addr with SNI name (none when empty) and returns the
// connection and the common name of the certificate the server sent.
func dialTLS(t *testing.T, addr, name string) (*tls.Conn, string) {
	t.Helper()
	d := &net.Dialer{Timeout: 2 * time.Second}
	c, err := tls.DialWithDialer(d, "tcp", addr, &tls.Config{ServerName: name, InsecureSkipVerify: true, NextProtos: []string{"http/1.1"}})
	if err != nil {
		t.Fatalf("handshake with %q: %v", name, err)
	}
	t.Cleanup(func() { c.Close() })
	_ = c.SetDeadline(time.Now().Add(3 * time.Second))
	return c, c.ConnectionState().PeerCertificates[0].Subject.CommonName
}

// roundTrip writes raw on c and reads one response.
func roundTrip(t *testing.T, c net.Conn, br *bufio.Reader, raw string) (*http.Response, string) {
	t.Helper()
	if _, err := io.WriteString(c, raw); err != nil {
		t.Fatal(err)
	}
	return readResponse(t, br)
}

func readResponse(t *testing.T, br *bufio.Reader) (*http.Response, string) {
	t.Helper()
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(body)
}

const tlsVarsBody = `"$server_name $scheme $https $ssl_protocol $ssl_cipher [$ssl_server_name]\n"`

func TestTLSServerNameAndVariables(t *testing.T) {
	dir := t.TempDir()
	a, b := tlsSites(t, dir)
	addr := startDaemon(t, dir, fmt.Sprintf(`
    server { listen 127.0.0.1:0 ssl; server_name a.test; %s
        location / { return 200 %s; }
        location /r { return 302 /x; }
    }
    server { listen 127.0.0.1:0 ssl; server_name b.test; %s ssl_protocols TLSv1.2;
        location / { return 200 %s; }
    }
    server { listen 127.0.0.1:0 ssl; server_name c.test; location / { return 200 "c\n"; } }`, a, tlsVarsBody, b, tlsVarsBody))
	tests := []struct {
		sni, host, wantCert, wantBody string
	}{
		{"a.test", "a.test", "a.test", "a.test https on TLSv1.3 TLS_"},
		{"b.test", "b.test", "b.test", "b.test https on TLSv1.3 TLS_"},      // the default server's protocols, as nginx
		{"", "a.test", "a.test", "a.test https on TLSv1.3 TLS_"},            // no SNI: the default server's
		{"c.test", "c.test", "a.test", "c\n"},                               // no certificate of its own: the default's
		{"nowhere.test", "b.test", "a.test", "b.test https on TLSv1.3 TLS"}, // Host still routes; the default server's protocols apply
	}
	for _, tt := range tests {
		t.Run(tt.sni+"/"+tt.host, func(t *testing.T) {
			c, cn := dialTLS(t, addr, tt.sni)
			if cn != tt.wantCert {
				t.Errorf("certificate %q, want %q", cn, tt.wantCert)
			}
			if p := c.ConnectionState().NegotiatedProtocol; p != "http/1.1" {
				t.Errorf("ALPN %q", p)
			}
			resp, body := roundTrip(t, c, bufio.NewReader(c), "GET / HTTP/1.1\r\nHost: "+tt.host+"\r\n\r\n")
			if resp.StatusCode != 200 || !strings.HasPrefix(body, tt.wantBody) {
				t.Errorf("got %d %q, want %q...", resp.StatusCode, body, tt.wantBody)
			}
			if tt.wantBody != "c\n" && !strings.HasSuffix(body, "["+tt.sni+"]\n") {
				t.Errorf("$ssl_server_name: %q", body)
			}
		})
	}
	t.Run("absolute redirect", func(t *testing.T) {
		c, _ := dialTLS(t, addr, "a.test")
		resp, _ := roundTrip(t, c, bufio.NewReader(c), "GET /r HTTP/1.1\r\nHost: a.test\r\n\r\n")
		_, port, _ := net.SplitHostPort(addr)
		if loc := resp.Header.Get("Location"); loc != "https://a.test:"+port+"/x" {
			t.Errorf("Location %q", loc)
		}
	})
}

// TestTLSCertificatePerClient gives one server an ECDSA and an RSA
// certificate: a client that takes ECDSA gets the first, one limited to
// RSA suites the second.
func TestTLSCertificatePerClient(t *testing.T) {
	dir := t.TempDir()
	ce, ke := testutil.WriteCert(t, dir, "ecdsa", testutil.ECDSA, "ecdsa.test")
	cr, kr := testutil.WriteCert(t, dir, "rsa", testutil.RSA, "rsa.test")
	addr := startDaemon(t, dir, fmt.Sprintf(`server { listen 127.0.0.1:0 ssl;
        ssl_certificate %s; ssl_certificate_key %s; ssl_certificate %s; ssl_certificate_key %s;
        return 200 ok; }`, ce, ke, cr, kr))
	if _, cn := dialTLS(t, addr, ""); cn != "ecdsa.test" {
		t.Errorf("a default client got %q", cn)
	}
	c, err := tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true, MaxVersion: tls.VersionTLS12,
		CipherSuites: []uint16{tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if cn := c.ConnectionState().PeerCertificates[0].Subject.CommonName; cn != "rsa.test" {
		t.Errorf("an RSA-only client got %q", cn)
	}
}

func TestTLSPlainRequestAndHandshakeFailures(t *testing.T) {
	dir := t.TempDir()
	a, _ := tlsSites(t, dir)
	log := filepath.Join(dir, "error.log")
	addr, _ := runConfig(t, dir, fmt.Sprintf(`pid %s/f.pid;
error_log %s info;
http {
    client_header_timeout 300ms;
    server { listen 127.0.0.1:0 ssl; server_name a.test; %s location / { return 200 "$scheme [$https]\n"; } }
    server { listen 127.0.0.1:0 ssl; server_name redirect.test; error_page 497 https://$host$request_uri; }
    server { listen 127.0.0.1:0 ssl; server_name page.test; error_page 497 /p; location = /p { return 200 "p\n"; } }
    server { listen 127.0.0.1:0 ssl; server_name ok.test; error_page 497 = /p; location = /p { return 200 "p\n"; } }
}`, dir, log, a))

	t.Run("plain HTTP gets 400", func(t *testing.T) {
		c, err := net.DialTimeout("tcp", addr, 2*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(3 * time.Second))
		resp, body := roundTrip(t, c, bufio.NewReader(c), "GET /p HTTP/1.1\r\nHost: a.test\r\n\r\n")
		if resp.StatusCode != 400 || !resp.Close ||
			!strings.Contains(body, "<title>400 The plain HTTP request was sent to HTTPS port</title>") {
			t.Errorf("got %d %v %q", resp.StatusCode, resp.Header, body)
		}
		waitLogged(t, log, "[info]", "client sent plain HTTP request to HTTPS port while reading client request headers", `request: "GET /p HTTP/1.1"`)
	})
	t.Run("error_page 497", func(t *testing.T) {
		c, err := net.DialTimeout("tcp", addr, 2*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(3 * time.Second))
		resp, _ := roundTrip(t, c, bufio.NewReader(c), "GET /q?x=1 HTTP/1.1\r\nHost: redirect.test\r\n\r\n")
		if resp.StatusCode != 302 || resp.Header.Get("Location") != "https://redirect.test/q?x=1" {
			t.Errorf("got %d %v", resp.StatusCode, resp.Header)
		}
	})
	// An error_page URI is served; without "=" it answers 400, as nginx's
	// error_page makes "=400" of 497 (checked with nginx 1.22.1); the
	// connection closes either way.
	for host, want := range map[string]int{"page.test": 400, "ok.test": 200} {
		t.Run("error_page 497 URI "+host, func(t *testing.T) {
			c, err := net.DialTimeout("tcp", addr, 2*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			_ = c.SetDeadline(time.Now().Add(3 * time.Second))
			resp, body := roundTrip(t, c, bufio.NewReader(c), "GET /q HTTP/1.1\r\nHost: "+host+"\r\n\r\n")
			if resp.StatusCode != want || body != "p\n" || !resp.Close {
				t.Errorf("got %d %q close=%t, want %d \"p\\n\" and close", resp.StatusCode, body, resp.Close, want)
			}
		})
	}
	t.Run("handshake times out", func(t *testing.T) {
		c, err := net.DialTimeout("tcp", addr, 2*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		start := time.Now()
		_, _ = c.Write([]byte{0x16, 0x03, 0x01}) // a record header, then nothing
		_ = c.SetReadDeadline(time.Now().Add(3 * time.Second))
		if n, err := c.Read(make([]byte, 1)); err != io.EOF && !isReset(err) {
			t.Fatalf("read %d, %v: want the connection closed", n, err)
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("closed after %v", d)
		}
		waitLogged(t, log, "[info]", "client timed out while SSL handshaking, client: 127.0.0.1, server: 127.0.0.1:")
	})
	t.Run("bad handshake", func(t *testing.T) {
		c, err := net.DialTimeout("tcp", addr, 2*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		tc := tls.Client(c, &tls.Config{ServerName: "a.test", MinVersion: tls.VersionTLS10, MaxVersion: tls.VersionTLS11, InsecureSkipVerify: true})
		_ = tc.SetDeadline(time.Now().Add(3 * time.Second))
		if err := tc.Handshake(); err == nil {
			t.Fatal("a TLS 1.1 handshake succeeded")
		}
		waitLogged(t, log, "[info]", "SSL_do_handshake() failed (", "while SSL handshaking")
	})
}

func isReset(err error) bool {
	return err != nil && (strings.Contains(err.Error(), "reset") || errorsIs(err, syscall.ECONNRESET))
}

func errorsIs(err error, target error) bool {
	for err != nil {
		if err == target {
			return true
		}
		u, ok := err.(interface{ Unwrap() error })
		if !ok {
			return false
		}
		err = u.Unwrap()
	}
	return false
}

func TestTLSConnectionReuse(t *testing.T) {
	dir := t.TempDir()
	a, _ := tlsSites(t, dir)
	backend := testutil.RawBackend(t, func(c net.Conn) {
		br := bufio.NewReader(c)
		req, err := http.ReadRequest(br)
		if err != nil {
			return
		}
		if req.Header.Get("Upgrade") == "" {
			body, _ := io.ReadAll(req.Body)
			fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s", len(body)+5, "body:"+string(body))
			return
		}
		_, _ = io.WriteString(c, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n")
		_, _ = io.Copy(c, br) // echo
	})
	addr := startDaemon(t, dir, fmt.Sprintf(`
    server { listen 127.0.0.1:0 ssl; server_name a.test; %s
        location / { return 200 "n=$connection_requests\n"; }
        location /close { return 444; }
        location /missing { root %s; }
        location /up { proxy_pass http://%s; }
    }`, a, dir, backend))
	c, _ := dialTLS(t, addr, "a.test")
	br := bufio.NewReader(c)

	// keep-alive, then two pipelined requests
	for i := 1; i <= 2; i++ {
		if _, body := roundTrip(t, c, br, "GET / HTTP/1.1\r\nHost: a.test\r\n\r\n"); body != fmt.Sprintf("n=%d\n", i) {
			t.Fatalf("request %d: %q", i, body)
		}
	}
	if _, err := io.WriteString(c, "GET / HTTP/1.1\r\nHost: a.test\r\n\r\nGET / HTTP/1.1\r\nHost: a.test\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	for i := 3; i <= 4; i++ {
		if _, body := readResponse(t, br); body != fmt.Sprintf("n=%d\n", i) {
			t.Fatalf("pipelined request %d: %q", i, body)
		}
	}
	// a request body, proxied; an error page
	if resp, body := roundTrip(t, c, br, "POST /up HTTP/1.1\r\nHost: a.test\r\nContent-Length: 5\r\n\r\nhello"); resp.StatusCode != 200 || body != "body:hello" {
		t.Fatalf("POST: %d %q", resp.StatusCode, body)
	}
	if resp, body := roundTrip(t, c, br, "GET /missing/x HTTP/1.1\r\nHost: a.test\r\n\r\n"); resp.StatusCode != 404 || !strings.Contains(body, "404 Not Found") {
		t.Fatalf("404: %d %q", resp.StatusCode, body)
	}
	// return 444 closes the connection without an answer
	if _, err := io.WriteString(c, "GET /close HTTP/1.1\r\nHost: a.test\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	if n, err := br.Read(make([]byte, 1)); err == nil {
		t.Fatalf("444: read %d bytes", n)
	}

	// an upgrade: bytes both ways over TLS
	u, _ := dialTLS(t, addr, "a.test")
	ubr := bufio.NewReader(u)
	resp, err := func() (*http.Response, error) {
		_, _ = io.WriteString(u, "GET /up/ws HTTP/1.1\r\nHost: a.test\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n")
		return http.ReadResponse(ubr, nil)
	}()
	if err != nil || resp.StatusCode != 101 {
		t.Fatalf("upgrade: %v %v", resp, err)
	}
	_, _ = io.WriteString(u, "ping")
	got := make([]byte, 4)
	if _, err := io.ReadFull(ubr, got); err != nil || string(got) != "ping" {
		t.Fatalf("echo %q %v", got, err)
	}
}

func TestTLSReloadSwapsCertificate(t *testing.T) {
	dir := t.TempDir()
	cert, key := testutil.WriteCert(t, dir, "site", testutil.ECDSA, "one.test")
	path := filepath.Join(dir, "fulcrum.conf")
	conf := fmt.Sprintf("pid %[1]s/f.pid;\nerror_log %[1]s/error.log info;\nhttp {\n access_log off;\n server { listen 127.0.0.1:0 ssl; ssl_certificate %[2]s; ssl_certificate_key %[3]s; return 200 ok; }\n}\n", dir, cert, key)
	if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	addr, sigs := runConfigFile(t, path)
	servedName := func() string {
		_, cn := dialTLS(t, addr, "")
		return cn
	}
	if cn := servedName(); cn != "one.test" {
		t.Fatalf("first certificate %q", cn)
	}
	// a new certificate in the same files, then SIGHUP
	testutil.WriteCert(t, dir, "site", testutil.ECDSA, "two.test")
	sigs <- syscall.SIGHUP
	waitFor(t, func() bool { return reconfigured(dir) == 1 })
	if cn := servedName(); cn != "two.test" {
		t.Fatalf("after the reload: %q", cn)
	}
	// a broken certificate: the reload fails, the one in use stays
	if err := os.WriteFile(cert, []byte("not a certificate\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	sigs <- syscall.SIGHUP
	waitLogged(t, filepath.Join(dir, "error.log"), "cannot load certificate")
	if cn := servedName(); cn != "two.test" {
		t.Fatalf("after a failed reload: %q", cn)
	}
}

// waitFor polls cond for up to 3 seconds.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(3 * time.Second); !cond(); {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 3s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestTLSRejectHandshake: ssl_reject_handshake refuses the handshakes whose
// SNI name selects its server, or that fall to it as the address's default
// (no name, an unknown name), with the unrecognized_name alert and an info
// line, as nginx 1.22.1 answered the same configuration; a default server
// that rejects needs no certificate, and a server with a certificate of its
// own still serves its name.
func TestTLSRejectHandshake(t *testing.T) {
	dir := t.TempDir()
	a, b := tlsSites(t, dir)
	log := filepath.Join(dir, "error.log")
	addr, _ := runConfig(t, dir, fmt.Sprintf(`pid %s/f.pid;
error_log %s info;
http {
    server { listen 127.0.0.1:0 ssl default_server; ssl_reject_handshake on; return 200 "default\n"; }
    server { listen 127.0.0.1:0 ssl; server_name a.test; %s return 200 "a\n"; }
    server { listen 127.0.0.1:0 ssl; server_name b.test; %s ssl_reject_handshake on; return 200 "b\n"; }
}`, dir, log, a, b))
	tests := []struct {
		sni      string
		rejected bool
	}{
		{"a.test", false},
		{"b.test", true}, // its own certificate, refused all the same
		{"c.test", true}, // no server of its own: the default's
		{"", true},       // no name: the default's
	}
	for _, tt := range tests {
		t.Run("sni "+tt.sni, func(t *testing.T) {
			d := &net.Dialer{Timeout: 2 * time.Second}
			c, err := tls.DialWithDialer(d, "tcp", addr, &tls.Config{ServerName: tt.sni, InsecureSkipVerify: true})
			if !tt.rejected {
				if err != nil {
					t.Fatalf("handshake: %v", err)
				}
				defer c.Close()
				_ = c.SetDeadline(time.Now().Add(3 * time.Second))
				if _, body := roundTrip(t, c, bufio.NewReader(c), "GET / HTTP/1.1\r\nHost: a.test\r\n\r\n"); body != "a\n" {
					t.Errorf("body %q, want a", body)
				}
				return
			}
			if err == nil {
				c.Close()
				t.Fatal("the handshake succeeded")
			}
			if !strings.Contains(err.Error(), "unrecognized name") {
				t.Errorf("handshake error %q, want the unrecognized_name alert", err)
			}
		})
	}
	waitLogged(t, log, "[info]", "handshake rejected while SSL handshaking, client: 127.0.0.1, server: 127.0.0.1:")
}

// TestTLSRefusedHeadVariables checks the access log line of a head refused
// over TLS (a field line over large_client_header_buffers, a bad Host): as
// nginx 1.22.1 logs its 400 (recorded: `"GET /x HTTP/1.1" 400 p=TLSv1.2
// s=https h=on c=ECDHE-... sn=a.example.com`), $scheme, $https and the
// $ssl_* variables describe the connection's TLS; a plain head on the same
// server's plain address still logs http.
func TestTLSRefusedHeadVariables(t *testing.T) {
	dir := t.TempDir()
	a, _ := tlsSites(t, dir)
	plain := testutil.FreeAddr(t)
	logPath := filepath.Join(dir, "access.log")
	addr := startDaemon(t, dir, fmt.Sprintf(`
    log_format tls '"$request" $status $scheme [$https] $ssl_protocol [$ssl_server_name]';
    server { listen 127.0.0.1:0 ssl; listen %s; server_name a.test; %s
        access_log %s tls;
        location / { return 200 "ok\n"; }
    }`, plain, a, logPath))
	big := strings.Repeat("a", 9000)
	tests := []struct {
		name, sni, raw, want string
	}{
		{"too long header line", "a.test", "GET /x HTTP/1.1\r\nHost: a.test\r\nX-Big: " + big + "\r\n\r\n", `"GET /x HTTP/1.1" 431 https [on] TLSv1.3 [a.test]`},
		{"bad host, no SNI", "", "GET /bad HTTP/1.1\r\nHost: a b\r\n\r\n", `"GET /bad HTTP/1.1" 400 https [on] TLSv1.3 [-]`},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, _ := dialTLS(t, addr, tt.sni)
			roundTrip(t, c, bufio.NewReader(c), tt.raw)
			if got := waitLogLines(t, logPath, i+1)[i]; got != tt.want {
				t.Errorf("logged %q, want %q", got, tt.want)
			}
		})
	}
	t.Run("plain", func(t *testing.T) {
		c, err := net.DialTimeout("tcp", plain, 2*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(3 * time.Second))
		roundTrip(t, c, bufio.NewReader(c), "GET /z HTTP/1.1\r\nHost: a.test\r\nX-Big: "+big+"\r\n\r\n")
		if got, want := waitLogLines(t, logPath, 3)[2], `"GET /z HTTP/1.1" 431 http [] - [-]`; got != want {
			t.Errorf("logged %q, want %q", got, want)
		}
	})
}

// TestTLSConnectionEndLines checks the info lines of a TLS connection that
// ends before or inside its first head, as nginx 1.22.1 wrote them
// (recorded with Python clients closing with SO_LINGER 0): under TLS a reset
// reads as a close (ngx_ssl_handle_recv), so "client closed connection while
// waiting for request" and "client prematurely closed connection", not
// "recv() failed (104: ...)"; an HTTP/2 connection gone before its preface
// writes nothing (Go's server logged "http2: server: error reading
// preface"); the keep-alive wait keeps its "(104: ...)".
func TestTLSConnectionEndLines(t *testing.T) {
	dir := t.TempDir()
	a, _ := tlsSites(t, dir)
	addr := startDaemonLevel(t, dir, "info", fmt.Sprintf(`
    access_log off;
    server { listen 127.0.0.1:0 ssl http2; server_name a.test; %s
        location / { return 200 "ok\n"; }
    }`, a))
	logPath := filepath.Join(dir, "error.log")
	// dial makes a TLS 1.2 connection offering proto: its full handshake
	// ends with the server's Finished, so the server is through it when
	// the client is.
	dial := func(t *testing.T, proto string) (*tls.Conn, *net.TCPConn) {
		t.Helper()
		raw := dialTCP(t, addr)
		_ = raw.SetDeadline(time.Now().Add(5 * time.Second))
		c := tls.Client(raw, &tls.Config{InsecureSkipVerify: true, MaxVersion: tls.VersionTLS12, NextProtos: []string{proto}})
		if err := c.Handshake(); err != nil {
			t.Fatal(err)
		}
		return c, raw
	}
	// sendReset writes data, waits a moment (nothing tells the client when
	// the server has read it; a reset drops what it has not) and resets.
	sendReset := func(t *testing.T, proto, data string) {
		c, raw := dial(t, proto)
		if data != "" {
			io.WriteString(c, data)
			time.Sleep(100 * time.Millisecond)
		}
		reset(raw)
	}
	waiting := "client closed connection while waiting for request, client: 127.0.0.1, server: " + addr
	tests := []struct {
		name string
		run  func(t *testing.T)
		want []string
	}{
		{"reset before a request", func(t *testing.T) { sendReset(t, "http/1.1", "") }, []string{waiting}},
		{"reset in the request line", func(t *testing.T) { sendReset(t, "http/1.1", "GET /cu") },
			[]string{`client prematurely closed connection while reading client request line, client: 127.0.0.1, server: a.test, request: "GET /cu"`}},
		{"reset in the fields", func(t *testing.T) { sendReset(t, "http/1.1", "GET /cut HTTP/1.1\r\nHost: a\r\n") },
			[]string{`client prematurely closed connection while reading client request headers, client: 127.0.0.1, server: a.test, request: "GET /cut HTTP/1.1", host: "a"`}},
		{"reset after a keep-alive response", func(t *testing.T) {
			c, raw := dial(t, "http/1.1")
			roundTrip(t, c, bufio.NewReader(c), "GET / HTTP/1.1\r\nHost: a\r\n\r\n")
			reset(raw)
		}, []string{"client 127.0.0.1 closed keepalive connection (104: Connection reset by peer)"}},
		{"HTTP/2 reset before the preface, then a close before a request", func(t *testing.T) {
			sendReset(t, "h2", "")
			c, _ := dial(t, "http/1.1")
			c.Close()
		}, []string{waiting}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := logSize(logPath)
			tt.run(t)
			got := waitNewLines(t, logPath, before, len(tt.want))
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("logged:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}

// TestTLSMisdirectedRequest checks nginx 1.22.1's 421 (recorded with curl
// --resolve): a request whose Host names another server than the one the
// connection's SNI chose is refused when the Host's server verifies client
// certificates (its verification was never made: the SNI server's rules
// were), with "client attempted to request the server name different from
// the one that was negotiated" at info; a Host whose server does not
// verify, an SNI no server_name matched, or no SNI at all are served.
func TestTLSMisdirectedRequest(t *testing.T) {
	dir := t.TempDir()
	a, b := tlsSites(t, dir)
	ca, _ := testutil.WriteCert(t, dir, "ca", testutil.ECDSA, "ca.test")
	addr := startDaemonLevel(t, dir, "info", fmt.Sprintf(`
    access_log off;
    server { listen 127.0.0.1:0 ssl http2; server_name a.test; %s
        location / { return 200 "a\n"; }
    }
    server { listen 127.0.0.1:0 ssl http2; server_name b.test b2.test; %s
        ssl_client_certificate %s; ssl_verify_client optional;
        location / { return 200 "b $ssl_client_verify\n"; }
    }`, a, b, ca))
	tests := []struct {
		sni, host string
		status    int
	}{
		{"a.test", "b.test", 421},
		{"a.test", "B.test:443", 421},
		{"b.test", "b2.test", 421}, // another name of the same server, as nginx compares names
		{"b.test", "a.test", 200},
		{"b.test", "b.test", 200},
		{"", "b.test", 200},
		{"c.test", "b.test", 200}, // no server_name matched the SNI
	}
	logPath := filepath.Join(dir, "error.log")
	refused := 0
	for _, tt := range tests {
		t.Run(tt.sni+"/"+tt.host, func(t *testing.T) {
			c, _ := dialTLS(t, addr, tt.sni)
			resp, _ := roundTrip(t, c, bufio.NewReader(c), "GET / HTTP/1.1\r\nHost: "+tt.host+"\r\n\r\n")
			if resp.StatusCode != tt.status {
				t.Errorf("status %d, want %d", resp.StatusCode, tt.status)
			}
			if tt.status == 421 {
				refused++
				waitLogCount(t, logPath, "client attempted to request the server name different from the one that was negotiated while reading client request headers, client: 127.0.0.1", refused)
			}
		})
	}
}

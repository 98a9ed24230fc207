package fastcgi

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"io"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"fulcrum/internal/balancer"
	"fulcrum/internal/config"
	"fulcrum/internal/errlog"
	"fulcrum/internal/testutil"
	"fulcrum/internal/upstream"
	"fulcrum/internal/vars"
)

// newSUWSGIHandler builds the handler of "uwsgi_pass suwsgi://ADDR" with
// the uwsgi_ssl_* settings ssl, logging to the returned buffer.
func newSUWSGIHandler(t *testing.T, addr string, ssl config.ProxySSL) (*Handler, *testutil.SyncBuffer) {
	t.Helper()
	pool, err := upstream.NewPool(addr, []upstream.Settings{{Addr: addr, Weight: 1, MaxFails: 1, FailTimeout: 10 * time.Second}})
	if err != nil {
		t.Fatal(err)
	}
	logs := &testutil.SyncBuffer{}
	log, err := errlog.New(errlog.Options{Targets: []errlog.Target{{Path: errlog.StderrPath, Level: errlog.Warn}}, Stderr: logs})
	if err != nil {
		t.Fatal(err)
	}
	set := settings()
	set.SSL = ssl
	set.Pass = &config.FastCGIPass{Address: addr, TLS: true}
	loc := &config.Location{Path: "/", Settings: &config.Settings{UWSGI: set}}
	h, err := New(Options{Protocol: UWSGI, Location: loc, Pool: pool, Policy: &balancer.RoundRobin{}, Compiler: &vars.Compiler{}, Log: log})
	if err != nil {
		t.Fatal(err)
	}
	return h, logs
}

// defaultSSL are the uwsgi_ssl_* defaults.
func defaultSSL() config.ProxySSL {
	return config.ProxySSL{VerifyDepth: 1, MinVersion: tls.VersionTLS12, MaxVersion: tls.VersionTLS13, SessionReuse: true}
}

// TestSUWSGI: "uwsgi_pass suwsgi://" speaks uwsgi over TLS, as nginx
// 1.22.1 does (recorded against a TLS uwsgi server): no SNI by default,
// the uwsgi_ssl_name with uwsgi_ssl_server_name on, the session resumed
// by the next request's new connection unless uwsgi_ssl_session_reuse is
// off, and uwsgi_ssl_verify checks the chain and the name.
func TestSUWSGI(t *testing.T) {
	ca := testutil.NewCA(t, "uwsgi CA")
	addr, _ := testutil.SUWSGIBackend(t, ca)
	roots := x509.NewCertPool()
	roots.AddCert(ca.Cert)
	tests := []struct {
		name   string
		ssl    func(*config.ProxySSL)
		first  string
		second string
	}{
		{"defaults", func(*config.ProxySSL) {}, "sni= resumed=false uri=/a", "sni= resumed=true uri=/a"},
		{"server name", func(s *config.ProxySSL) { s.ServerName, s.Name = true, "backend.test" },
			"sni=backend.test resumed=false uri=/a", "sni=backend.test resumed=true uri=/a"},
		{"no session reuse", func(s *config.ProxySSL) { s.SessionReuse = false }, "sni= resumed=false uri=/a", "sni= resumed=false uri=/a"},
		{"verified", func(s *config.ProxySSL) { s.Verify, s.Roots, s.Name = true, roots, "backend.test" },
			"sni= resumed=false uri=/a", "sni= resumed=true uri=/a"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ssl := defaultSSL()
			tc.ssl(&ssl)
			h, logs := newSUWSGIHandler(t, addr, ssl)
			for i, want := range []string{tc.first, tc.second} {
				w := do(h, "GET", "/a", "")
				if w.Code != 200 || w.Body.String() != want {
					t.Errorf("request %d: %d %q, want 200 %q", i+1, w.Code, w.Body, want)
				}
			}
			if logs.String() != "" {
				t.Errorf("logged %q", logs)
			}
		})
	}
}

// TestSUWSGINameVariables: a uwsgi_ssl_name with variables is evaluated
// for each handshake, without its port, for SNI and verification, and a
// session is resumed only for the name it was made for (nginx 1.22.1, with
// proxy_ssl_name, recorded: a session made for a.test was not resumed
// with SNI b.test).
func TestSUWSGINameVariables(t *testing.T) {
	ca := testutil.NewCA(t, "uwsgi CA")
	addr, _ := testutil.SUWSGIBackend(t, ca)
	roots := x509.NewCertPool()
	roots.AddCert(ca.Cert)
	ssl := defaultSSL()
	ssl.ServerName, ssl.NameTemplate = true, "$arg_n"
	h, logs := newSUWSGIHandler(t, addr, ssl)
	for i, st := range []struct{ n, want string }{
		{"x.test", "sni=x.test resumed=false"},
		{"x.test:8443", "sni=x.test resumed=true"},
		{"y.test", "sni=y.test resumed=false"},
		{"x.test", "sni=x.test resumed=true"},
		{"", "sni= resumed=false"},
	} {
		w := do(h, "GET", "/a?n="+st.n, "")
		if w.Code != 200 || !strings.HasPrefix(w.Body.String(), st.want+" ") {
			t.Errorf("request %d (n=%q): %d %q, want 200 %q", i+1, st.n, w.Code, w.Body, st.want)
		}
	}
	if logs.String() != "" {
		t.Errorf("logged %q", logs)
	}
	ssl.Verify, ssl.Roots = true, roots
	h, logs = newSUWSGIHandler(t, addr, ssl)
	if w := do(h, "GET", "/a?n=backend.test", ""); w.Code != 200 {
		t.Errorf("verified name: %d %q", w.Code, w.Body)
	}
	if w := do(h, "GET", "/a?n=", ""); w.Code != 502 || !strings.Contains(logs.String(), `upstream SSL certificate does not match "" while SSL handshaking to upstream`) {
		t.Errorf("empty name: %d, logged %q", w.Code, logs)
	}
}

// TestSUWSGIHandshakeFailures: a failed handshake is a 502 logged as nginx
// 1.22.1 logs it (recorded), with the suwsgi:// upstream: a certificate
// that does not match the name, one that no trusted CA signs, a plain
// server that answers, one that closes; a plain server that says nothing
// is a 504 once uwsgi_connect_timeout runs out.
func TestSUWSGIHandshakeFailures(t *testing.T) {
	ca, other := testutil.NewCA(t, "uwsgi CA"), testutil.NewCA(t, "other CA")
	addr, _ := testutil.SUWSGIBackend(t, ca)
	roots, otherRoots := x509.NewCertPool(), x509.NewCertPool()
	roots.AddCert(ca.Cert)
	otherRoots.AddCert(other.Cert)
	plain := testutil.RawBackend(t, func(c net.Conn) {
		c.Read(make([]byte, 10))
		io.WriteString(c, "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
	})
	closing := testutil.RawBackend(t, func(c net.Conn) { c.Read(make([]byte, 4096)) }) // reads the ClientHello, closes
	silent := testutil.RawBackend(t, func(c net.Conn) { io.Copy(io.Discard, c) })
	tests := []struct {
		name, addr string
		ssl        func(*config.ProxySSL)
		status     int
		logged     string
	}{
		{"name mismatch", addr, func(s *config.ProxySSL) { s.Verify, s.Roots = true, roots }, 502,
			`upstream SSL certificate does not match "127.0.0.1" while SSL handshaking to upstream, request: "GET /a HTTP/1.1", upstream: "suwsgi://` + addr + `"`},
		{"untrusted", addr, func(s *config.ProxySSL) { s.Verify, s.Roots, s.Name = true, otherRoots, "backend.test" }, 502,
			`upstream SSL certificate verify error: (21:unable to verify the first certificate) while SSL handshaking to upstream, request: "GET /a HTTP/1.1", upstream: "suwsgi://` + addr + `"`},
		{"plain server", plain, func(*config.ProxySSL) {}, 502,
			`SSL_do_handshake() failed (tls: first record does not look like a TLS handshake) while SSL handshaking to upstream, request: "GET /a HTTP/1.1", upstream: "suwsgi://` + plain + `"`},
		{"closed", closing, func(*config.ProxySSL) {}, 502, `peer closed connection in SSL handshake while SSL handshaking to upstream, request: "GET /a HTTP/1.1", upstream: "suwsgi://` + closing + `"`},
		{"silent", silent, func(*config.ProxySSL) {}, 504, `upstream timed out (110: Connection timed out) while SSL handshaking to upstream`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ssl := defaultSSL()
			tc.ssl(&ssl)
			h, logs := newSUWSGIHandler(t, tc.addr, ssl)
			h.set.ConnectTimeout = 200 * time.Millisecond
			w := do(h, "GET", "/a", "")
			if w.Code != tc.status {
				t.Errorf("status %d, want %d", w.Code, tc.status)
			}
			if !strings.Contains(logs.String(), "[error] ") || !strings.Contains(logs.String(), tc.logged) {
				t.Errorf("logged %q\nwant %q", logs, tc.logged)
			}
		})
	}
}

// TestSUWSGIClientCertificate: uwsgi_ssl_certificate is presented to a
// suwsgi:// server that asks for one.
func TestSUWSGIClientCertificate(t *testing.T) {
	serverCA, clientCA := testutil.NewCA(t, "server CA"), testutil.NewCA(t, "client CA")
	certPEM, keyPEM := serverCA.Issue(t, testutil.Leaf{Subject: pkix.Name{CommonName: "backend.test"}, DNSNames: []string{"backend.test"}})
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	clients := x509.NewCertPool()
	clients.AddCert(clientCA.Cert)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	testutil.Serve(t, tls.NewListener(ln, &tls.Config{Certificates: []tls.Certificate{pair}, ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: clients}), func(c net.Conn) {
		tc := c.(*tls.Conn)
		if tc.Handshake() != nil {
			return
		}
		_, _, _ = testutil.ReadUWSGI(bufio.NewReader(c))
		fmt.Fprintf(c, "HTTP/1.1 200 OK\r\n\r\ncn=%s", tc.ConnectionState().PeerCertificates[0].Subject.CommonName)
	})
	clientPEM, clientKey := clientCA.Issue(t, testutil.Leaf{Subject: pkix.Name{CommonName: "fulcrum"}})
	clientPair, err := tls.X509KeyPair(clientPEM, clientKey)
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	for _, tc := range []struct {
		name   string
		cert   *config.Certificate
		status int
		body   string
	}{
		{"with", &config.Certificate{Pair: clientPair}, 200, "cn=fulcrum"},
		{"without", nil, 502, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ssl := defaultSSL()
			ssl.Certificate = tc.cert
			h, _ := newSUWSGIHandler(t, addr, ssl)
			if w := do(h, "GET", "/", ""); w.Code != tc.status || (tc.status == 200 && w.Body.String() != tc.body) {
				t.Errorf("%d %q, want %d %q", w.Code, w.Body, tc.status, tc.body)
			}
		})
	}
}

// TestSUWSGIConnectionsNotKept: a suwsgi:// request never reuses a
// connection, so a second, unasked response that the server wrote in the
// same TLS record as its answer cannot reach the next request. nginx
// 1.22.1 never keeps a uwsgi connection, keepalive in the upstream block
// or not (the uwsgi module never sets u->keepalive); recorded with
// "upstream s { server ...; keepalive 4; }" and "uwsgi_pass suwsgi://s"
// against a TLS uwsgi server that keeps its connections: each request had
// a new connection and its own answer, and where the server wrote a stray
// response after its answer, the warning that it sent more than its
// Content-Length. Were uwsgi connections ever kept, a reuse would have to
// look at the bytes crypto/tls already decrypted (as the proxy's aliveTLS
// does), not only at the socket (sock.Pending).
func TestSUWSGIConnectionsNotKept(t *testing.T) {
	for _, tc := range []struct {
		name     string
		stray    string // written after each answer, in the same write
		warnings int
	}{
		{"clean answers", "", 0},
		{"stray response", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nbogus", 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			addr := keptSUWSGIBackend(t, tc.stray)
			h, logs := newKeptSUWSGIHandler(t, addr)
			for i, want := range []string{"conn1 req1", "conn2 req2", "conn3 req3"} {
				if w := do(h, "GET", "/", ""); w.Code != 200 || w.Body.String() != want {
					t.Errorf("request %d: %d %q, want 200 %q", i+1, w.Code, w.Body, want)
				}
			}
			const extra = `upstream sent more data than specified in "Content-Length" header while reading upstream`
			if n := strings.Count(logs.String(), extra); n != tc.warnings {
				t.Errorf("%d warnings %q in %q, want %d", n, extra, logs, tc.warnings)
			}
		})
	}
}

// keptSUWSGIBackend starts a TLS uwsgi server that keeps its connections
// and answers each request with "connN reqM" (its connection's and the
// request's numbers, from 1) and stray, in one write.
func keptSUWSGIBackend(t *testing.T, stray string) string {
	t.Helper()
	ca := testutil.NewCA(t, "uwsgi CA")
	certPEM, keyPEM := ca.Issue(t, testutil.Leaf{Subject: pkix.Name{CommonName: "backend.test"}})
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var conns, reqs atomic.Int64
	testutil.Serve(t, tls.NewListener(ln, &tls.Config{Certificates: []tls.Certificate{pair}}), func(c net.Conn) {
		conn := conns.Add(1)
		br := bufio.NewReader(c)
		for {
			if _, _, err := testutil.ReadUWSGI(br); err != nil {
				return
			}
			body := fmt.Sprintf("conn%d req%d", conn, reqs.Add(1))
			fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s%s", len(body), body, stray)
		}
	})
	return ln.Addr().String()
}

// newKeptSUWSGIHandler builds the handler of "uwsgi_pass suwsgi://addr"
// in an upstream block with "keepalive 4", logging warnings to the
// returned buffer.
func newKeptSUWSGIHandler(t *testing.T, addr string) (*Handler, *testutil.SyncBuffer) {
	t.Helper()
	pool, err := upstream.NewPool("s", []upstream.Settings{{Addr: addr, Weight: 1, MaxFails: 1, FailTimeout: 10 * time.Second}})
	if err != nil {
		t.Fatal(err)
	}
	logs := &testutil.SyncBuffer{}
	log, err := errlog.New(errlog.Options{Targets: []errlog.Target{{Path: errlog.StderrPath, Level: errlog.Warn}}, Stderr: logs})
	if err != nil {
		t.Fatal(err)
	}
	set := settings()
	set.SSL = defaultSSL()
	set.Pass = &config.FastCGIPass{Address: addr, TLS: true}
	set.KeepConn = true // FastCGI's: uwsgi keeps nothing even so
	loc := &config.Location{Path: "/", Settings: &config.Settings{UWSGI: set}}
	h, err := New(Options{Protocol: UWSGI, Location: loc, Pool: pool, Policy: &balancer.RoundRobin{}, Idle: idleConns(t, 4), Compiler: &vars.Compiler{}, Log: log})
	if err != nil {
		t.Fatal(err)
	}
	return h, logs
}

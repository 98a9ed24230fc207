package stream

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"fulcrum/internal/config"
	"fulcrum/internal/errlog"
	"fulcrum/internal/testutil"
)

// tlsUpstream is a TLS upstream server that answers each line with "NAME
// sni=SNI resumed=BOOL certs=N LINE": what it saw of the handshake.
type tlsUpstream struct {
	name string
	ln   net.Listener
	// handshakes counts the completed handshakes.
	handshakes atomic.Int32
	// first is the first line read in the clear before the handshake,
	// with clearFirst set (the PROXY protocol header).
	clearFirst bool
	first      atomic.Value
}

// startTLSUpstream starts a tlsUpstream with the certificate chain and key given.
func startTLSUpstream(t *testing.T, name string, certPEM, keyPEM []byte, clearFirst bool) *tlsUpstream {
	t.Helper()
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	b := &tlsUpstream{name: name, ln: ln, clearFirst: clearFirst}
	cfg := &tls.Config{Certificates: []tls.Certificate{pair}, ClientAuth: tls.RequestClientCert}
	testutil.Serve(t, ln, func(c net.Conn) { b.serve(c, cfg) })
	return b
}

func (b *tlsUpstream) serve(c net.Conn, cfg *tls.Config) {
	defer c.Close()
	if b.clearFirst {
		line, err := readLine(c)
		if err != nil {
			return
		}
		b.first.Store(line)
	}
	tc := tls.Server(c, cfg)
	_ = tc.SetDeadline(time.Now().Add(10 * time.Second))
	if err := tc.Handshake(); err != nil {
		return
	}
	b.handshakes.Add(1)
	cs := tc.ConnectionState()
	r := bufio.NewReader(tc)
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		fmt.Fprintf(tc, "%s sni=%s resumed=%t certs=%d %s", b.name, cs.ServerName, cs.DidResume, len(cs.PeerCertificates), line)
	}
}

// readLine reads one line byte by byte (nothing past it: the TLS
// handshake follows).
func readLine(c net.Conn) (string, error) {
	var line []byte
	b := make([]byte, 1)
	for {
		if _, err := c.Read(b); err != nil {
			return "", err
		}
		line = append(line, b[0])
		if b[0] == '\n' {
			return string(line), nil
		}
	}
}

func (b *tlsUpstream) addr() string { return b.ln.Addr().String() }

// startSilent starts a TCP server that accepts and never answers.
func startSilent(t *testing.T) string {
	t.Helper()
	return testutil.RawBackend(t, func(c net.Conn) {
		_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
		buf := make([]byte, 512)
		for {
			if _, err := c.Read(buf); err != nil {
				return
			}
		}
	})
}

// upstreamPKI is the certificates of the upstream TLS tests, written to
// dir: ca.pem (the CA that signs "good" servers' certificates), other.pem
// (another CA), client.pem and client.key (a client certificate),
// revoked.crl (ca's list that revokes the good certificate) and clean.crl
// (ca's list that revokes none).
type upstreamPKI struct {
	ca, other           *testutil.CA
	goodCert, goodKey   []byte // for backend.test, signed by ca
	wrongCert, wrongKey []byte // for backend.test, signed by other
}

func newUpstreamPKI(t *testing.T, dir string) *upstreamPKI {
	t.Helper()
	p := &upstreamPKI{ca: testutil.NewCA(t, "upstream CA"), other: testutil.NewCA(t, "other CA")}
	server := testutil.Leaf{DNSNames: []string{"backend.test"}, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	p.goodCert, p.goodKey = p.ca.Issue(t, server)
	p.wrongCert, p.wrongKey = p.other.Issue(t, server)
	clientCert, clientKey := p.ca.Issue(t, testutil.Leaf{})
	blk, _ := pem.Decode(p.goodCert)
	leaf, err := x509.ParseCertificate(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	revoked := p.ca.CRL(t, now.Add(-time.Hour), now.Add(time.Hour), leaf.SerialNumber)
	clean := p.ca.CRL(t, now.Add(-time.Hour), now.Add(time.Hour))
	for name, data := range map[string][]byte{"ca.pem": p.ca.PEM, "other.pem": p.other.PEM, "client.pem": clientCert, "client.key": clientKey,
		"revoked.crl": revoked, "clean.crl": clean} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return p
}

// startWithLog runs a Proxy on cfg with its main error log at info in
// logFile.
func startWithLog(t *testing.T, cfg *config.Stream, logFile string) string {
	t.Helper()
	log, err := errlog.New(errlog.Options{Targets: []errlog.Target{{Path: logFile, Level: errlog.Info}}})
	if err != nil {
		t.Fatal(err)
	}
	p := New(Options{ErrorLog: func() *errlog.Logger { return log }})
	addrs, err := p.Apply(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	return addrs[0].String()
}

// loggedAt reports whether log has a line at level ("error", "warn", ...)
// with text after its "PID#TID: ".
func loggedAt(log, level, text string) bool {
	for _, l := range strings.Split(log, "\n") {
		if strings.Contains(l, " ["+level+"] ") && strings.Contains(l, ": "+text) {
			return true
		}
	}
	return false
}

// TestUpstreamTLS proxies to TLS upstream servers with proxy_ssl: the
// handshake's SNI, verification (a failed one is a failed attempt: the
// next server is tried), client certificates, and the error log's lines,
// as nginx 1.22.1 writes them.
func TestUpstreamTLS(t *testing.T) {
	dir := t.TempDir()
	pki := newUpstreamPKI(t, dir)
	good := startTLSUpstream(t, "good", pki.goodCert, pki.goodKey, false)
	wrong := startTLSUpstream(t, "wrong", pki.wrongCert, pki.wrongKey, false)
	// closer reads the ClientHello record and closes.
	closer := testutil.RawBackend(t, func(c net.Conn) {
		_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
		header := make([]byte, 5)
		if _, err := io.ReadFull(c, header); err != nil {
			return
		}
		_, _ = io.ReadFull(c, make([]byte, int(header[3])<<8|int(header[4])))
	})
	// plain is a server that greets in the clear.
	plain := testutil.RawBackend(t, func(c net.Conn) { fmt.Fprintf(c, "220 plain server ready\r\n") })
	tests := []struct {
		name     string
		servers  []string // the upstream's servers
		upName   string   // the upstream block's name
		settings string   // the server's proxy_ssl_* directives
		want     string   // the answer to "hello"
		logged   []string // "LEVEL text": lines the error log must have
	}{
		{name: "proxy_ssl on", servers: []string{good.addr()}, settings: "proxy_ssl on;",
			want: "good sni= resumed=false certs=0 hello", logged: []string{"info *1 proxy 127.0.0.1:"}},
		{name: "verify with the right CA", servers: []string{good.addr()},
			settings: "proxy_ssl on; proxy_ssl_verify on; proxy_ssl_trusted_certificate %DIR%/ca.pem; proxy_ssl_name backend.test;",
			want:     "good sni= resumed=false certs=0 hello"},
		{name: "verify: a wrong CA fails over to the next server", servers: []string{wrong.addr(), good.addr()},
			settings: "proxy_ssl on; proxy_ssl_verify on; proxy_ssl_trusted_certificate %DIR%/ca.pem; proxy_ssl_name backend.test;",
			want:     "good sni= resumed=false certs=0 hello",
			logged: []string{
				`error *1 upstream SSL certificate verify error: (21:unable to verify the first certificate) while SSL handshaking to upstream, client: 127.0.0.1, server: 127.0.0.1:`,
				`warn *1 upstream server temporarily disabled while SSL handshaking to upstream, client: 127.0.0.1, server: 127.0.0.1:`,
			}},
		{name: "verify: a name that does not match", servers: []string{good.addr()},
			settings: "proxy_ssl on; proxy_ssl_verify on; proxy_ssl_trusted_certificate %DIR%/ca.pem; proxy_ssl_name wrong.test;",
			want:     "EOF",
			logged:   []string{`error *1 upstream SSL certificate does not match "wrong.test" while SSL handshaking to upstream`}},
		{name: "verify: the default name is the upstream's", servers: []string{good.addr()}, upName: "backend.test",
			settings: "proxy_ssl on; proxy_ssl_verify on; proxy_ssl_trusted_certificate %DIR%/ca.pem;",
			want:     "good sni= resumed=false certs=0 hello"},
		{name: "verify: a current CRL that does not revoke", servers: []string{good.addr()},
			settings: "proxy_ssl on; proxy_ssl_verify on; proxy_ssl_trusted_certificate %DIR%/ca.pem; proxy_ssl_name backend.test; proxy_ssl_crl %DIR%/clean.crl;",
			want:     "good sni= resumed=false certs=0 hello"},
		{name: "verify: a revoked certificate", servers: []string{good.addr()},
			settings: "proxy_ssl on; proxy_ssl_verify on; proxy_ssl_trusted_certificate %DIR%/ca.pem; proxy_ssl_name backend.test; proxy_ssl_crl %DIR%/revoked.crl;",
			want:     "EOF",
			logged:   []string{"error *1 upstream SSL certificate verify error: (23:certificate revoked) while SSL handshaking to upstream"}},
		{name: "not a TLS server fails over", servers: []string{plain, good.addr()}, settings: "proxy_ssl on;",
			want:   "good sni= resumed=false certs=0 hello",
			logged: []string{"error *1 SSL_do_handshake() failed (", "warn *1 upstream server temporarily disabled while SSL handshaking to upstream"}},
		{name: "a server that closes fails over", servers: []string{closer, good.addr()}, settings: "proxy_ssl on;",
			want: "good sni= resumed=false certs=0 hello",
			logged: []string{
				"error *1 peer closed connection in SSL handshake while SSL handshaking to upstream, client: 127.0.0.1",
				"warn *1 upstream server temporarily disabled while SSL handshaking to upstream",
			}},
		{name: "SNI with proxy_ssl_server_name: the upstream's name", servers: []string{good.addr()}, upName: "backend.test",
			settings: "proxy_ssl on; proxy_ssl_server_name on;",
			want:     "good sni=backend.test resumed=false certs=0 hello"},
		{name: "SNI with proxy_ssl_name and variables, port stripped", servers: []string{good.addr()},
			settings: "proxy_ssl on; proxy_ssl_server_name on; proxy_ssl_name x$server_port.test:443;",
			want:     "good sni=x%PORT%.test resumed=false certs=0 hello"},
		{name: "no SNI for an IP address", servers: []string{good.addr()}, upName: "implicit",
			settings: "proxy_ssl on; proxy_ssl_server_name on;",
			want:     "good sni= resumed=false certs=0 hello"},
		{name: "no SNI without proxy_ssl_server_name", servers: []string{good.addr()}, upName: "backend.test",
			settings: "proxy_ssl on; proxy_ssl_name other.test;",
			want:     "good sni= resumed=false certs=0 hello"},
		{name: "client certificate", servers: []string{good.addr()},
			settings: "proxy_ssl on; proxy_ssl_certificate %DIR%/client.pem; proxy_ssl_certificate_key %DIR%/client.key;",
			want:     "good sni= resumed=false certs=1 hello"},
		{name: "inherited from the stream level", servers: []string{good.addr()}, upName: "backend.test",
			settings: "", // written at the stream level below
			want:     "good sni=backend.test resumed=false certs=0 hello"},
		{name: "proxy_ssl off at the server", servers: []string{startEcho(t, "clear").addr()},
			settings: "proxy_ssl off;",
			want:     "clear hello"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sub := filepath.Join(dir, fmt.Sprint(i))
			if err := os.MkdirAll(sub, 0o755); err != nil {
				t.Fatal(err)
			}
			var conf strings.Builder
			conf.WriteString("proxy_ssl_server_name on; proxy_ssl on;\n") // the stream level's, for the inheritance case
			pass := tt.upName
			switch tt.upName {
			case "":
				pass = "u"
				fallthrough
			default:
				fmt.Fprintf(&conf, "upstream %s {\n", pass)
				for _, s := range tt.servers {
					fmt.Fprintf(&conf, "    server %s;\n", s)
				}
				conf.WriteString("}\n")
			case "implicit":
				pass = tt.servers[0]
			}
			settings := tt.settings
			if settings != "" && !strings.Contains(settings, "proxy_ssl_server_name") {
				settings += " proxy_ssl_server_name off;"
			}
			fmt.Fprintf(&conf, "server { listen 127.0.0.1:0; proxy_pass %s; proxy_connect_timeout 5s; %s }\n", pass, strings.ReplaceAll(settings, "%DIR%", dir))
			logFile := filepath.Join(sub, "error.log")
			addr := startWithLog(t, load(t, sub, conf.String()), logFile)
			_, port, _ := net.SplitHostPort(addr)
			want := strings.ReplaceAll(tt.want, "%PORT%", port)
			if got := dial(t, addr).ask(t, "hello"); got != want {
				t.Errorf("answer %q, want %q", got, want)
			}
			t.Cleanup(func() {
				if t.Failed() {
					t.Log(readFile(t, logFile))
				}
			})
			for _, line := range tt.logged {
				level, text, _ := strings.Cut(line, " ")
				waitFor(t, "error log line "+line, func() bool { return loggedAt(readFile(t, logFile), level, text) })
			}
		})
	}
}

// TestUpstreamTLSSessionReuse: with proxy_ssl_session_reuse on (the
// default) a second session to a server resumes the first one's TLS
// session; off, it does not.
func TestUpstreamTLSSessionReuse(t *testing.T) {
	dir := t.TempDir()
	pki := newUpstreamPKI(t, dir)
	for _, tt := range []struct {
		setting string
		second  string
	}{
		{"", "good sni= resumed=true certs=0 2"},
		{"proxy_ssl_session_reuse on;", "good sni= resumed=true certs=0 2"},
		{"proxy_ssl_session_reuse off;", "good sni= resumed=false certs=0 2"},
	} {
		t.Run(tt.setting, func(t *testing.T) {
			good := startTLSUpstream(t, "good", pki.goodCert, pki.goodKey, false)
			cfg := load(t, t.TempDir(), "server { listen 127.0.0.1:0; proxy_pass "+good.addr()+"; proxy_ssl on; "+tt.setting+" }")
			_, addr := start(t, cfg)
			if got, want := dial(t, addr).ask(t, "1"), "good sni= resumed=false certs=0 1"; got != want {
				t.Fatalf("first session: %q, want %q", got, want)
			}
			if got := dial(t, addr).ask(t, "2"); got != tt.second {
				t.Errorf("second session: %q, want %q", got, tt.second)
			}
		})
	}
}

// TestUpstreamTLSSessionsPerServer: a session learned from one server is
// not offered to another of the same upstream (nginx keeps one per
// server); each resumes its own.
func TestUpstreamTLSSessionsPerServer(t *testing.T) {
	dir := t.TempDir()
	pki := newUpstreamPKI(t, dir)
	a := startTLSUpstream(t, "a", pki.goodCert, pki.goodKey, false)
	b := startTLSUpstream(t, "b", pki.goodCert, pki.goodKey, false)
	cfg := load(t, dir, "upstream u { server "+a.addr()+"; server "+b.addr()+"; }\n"+
		"server { listen 127.0.0.1:0; proxy_pass u; proxy_ssl on; proxy_ssl_server_name on; proxy_ssl_name backend.test; }")
	_, addr := start(t, cfg)
	var got []string
	for i := range 4 {
		got = append(got, dial(t, addr).ask(t, fmt.Sprint(i)))
	}
	want := []string{
		"a sni=backend.test resumed=false certs=0 0", "b sni=backend.test resumed=false certs=0 1",
		"a sni=backend.test resumed=true certs=0 2", "b sni=backend.test resumed=true certs=0 3",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("answers\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestUpstreamTLSHandshakeTimeout: proxy_connect_timeout bounds the
// handshake (nginx sets its connect timer anew for it); a server that
// accepts and never answers is a failed attempt, and the next server
// serves the session. nginx logs only the warning for it.
func TestUpstreamTLSHandshakeTimeout(t *testing.T) {
	dir := t.TempDir()
	pki := newUpstreamPKI(t, dir)
	good := startTLSUpstream(t, "good", pki.goodCert, pki.goodKey, false)
	silent := startSilent(t)
	logFile := filepath.Join(dir, "error.log")
	cfg := load(t, dir, "upstream u { server "+silent+"; server "+good.addr()+"; }\n"+
		"server { listen 127.0.0.1:0; proxy_pass u; proxy_ssl on; proxy_connect_timeout 300ms; }")
	addr := startWithLog(t, cfg, logFile)
	began := time.Now()
	if got, want := dial(t, addr).ask(t, "hello"), "good sni= resumed=false certs=0 hello"; got != want {
		t.Errorf("answer %q, want %q", got, want)
	}
	if d := time.Since(began); d < 300*time.Millisecond || d > 5*time.Second {
		t.Errorf("the session took %v, want the 300ms timeout and a little", d)
	}
	line := `*1 upstream server temporarily disabled while SSL handshaking to upstream, client: 127.0.0.1, server: 127.0.0.1:`
	waitFor(t, "the warning", func() bool { return loggedAt(readFile(t, logFile), "warn", line) })
	if log := readFile(t, logFile); strings.Contains(log, "[error]") {
		t.Errorf("error lines logged, nginx logs none:\n%s", log)
	}
}

// TestUpstreamTLSProxyProtocol: with proxy_protocol on, the PROXY header
// goes in the clear before the handshake, as nginx sends it, and not again
// inside TLS.
func TestUpstreamTLSProxyProtocol(t *testing.T) {
	dir := t.TempDir()
	pki := newUpstreamPKI(t, dir)
	good := startTLSUpstream(t, "good", pki.goodCert, pki.goodKey, true)
	cfg := load(t, dir, "server { listen 127.0.0.1:0; proxy_pass "+good.addr()+"; proxy_ssl on; proxy_protocol on; }")
	_, addr := start(t, cfg)
	cl := dial(t, addr)
	if got, want := cl.ask(t, "hello"), "good sni= resumed=false certs=0 hello"; got != want {
		t.Errorf("answer %q, want %q (the PROXY line must not come inside TLS)", got, want)
	}
	first, _ := good.first.Load().(string)
	if want := "PROXY TCP4 127.0.0.1 127.0.0.1 "; !strings.HasPrefix(first, want) {
		t.Errorf("clear first line %q, want %q...", first, want)
	}
}

// TestUpstreamTLSUDP: a UDP session ignores proxy_ssl, as nginx does (its
// handshake is for SOCK_STREAM upstream connections only).
func TestUpstreamTLSUDP(t *testing.T) {
	echo := startUDPEcho(t, "u")
	cfg := load(t, t.TempDir(), "server { listen 127.0.0.1:0 udp; proxy_pass "+echo+"; proxy_ssl on; proxy_responses 1; }")
	_, addr := start(t, cfg)
	c, err := net.Dial("udp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.Write([]byte("ping")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 100)
	n, err := c.Read(buf)
	if err != nil {
		t.Fatal(err)
	}
	if got := string(buf[:n]); !strings.HasPrefix(got, "u ") {
		t.Errorf("answer %q, want the UDP server's, in the clear", got)
	}
}

// TestUpstreamTLSCheck: fulcrum -t's checks of proxy_ssl's settings, with
// file and line, and nginx's rule that they are checked only where
// proxy_ssl is on.
func TestUpstreamTLSCheck(t *testing.T) {
	dir := t.TempDir()
	newUpstreamPKI(t, dir)
	if err := os.WriteFile(filepath.Join(dir, "junk.pem"), []byte("not a certificate\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, body, want string // want "" means it loads
	}{
		{"verify without trusted certificates", "proxy_ssl on;\nproxy_ssl_verify on;",
			"no proxy_ssl_trusted_certificate for proxy_ssl_verify in " + dir + "/f.conf:6"},
		{"certificate without key", "proxy_ssl on;\nproxy_ssl_certificate %DIR%/client.pem;",
			`no "proxy_ssl_certificate_key" is defined for certificate "` + dir + `/client.pem" in ` + dir + "/f.conf:6"},
		{"missing certificate", "proxy_ssl on;\nproxy_ssl_certificate %DIR%/none.pem;\nproxy_ssl_certificate_key %DIR%/client.key;",
			`cannot load certificate "` + dir + `/none.pem": BIO_new_file() failed (SSL: error:80000002:system library::No such file or directory:calling fopen(` + dir + "/none.pem" + `, r) error:10000080:BIO routines::no such file) in ` + dir + "/f.conf:6"},
		{"missing trusted certificate", "proxy_ssl on;\nproxy_ssl_verify on;\nproxy_ssl_trusted_certificate %DIR%/none.pem;",
			`SSL_CTX_load_verify_locations("` + dir + `/none.pem") failed (SSL: error:80000002:system library::No such file or directory:calling fopen(` + dir + "/none.pem" + `, r) error:10000080:BIO routines::no such file error:05880002:x509 certificate routines::system lib) in ` + dir + "/f.conf:7"},
		{"trusted certificate without certificates", "proxy_ssl on;\nproxy_ssl_verify on;\nproxy_ssl_trusted_certificate %DIR%/junk.pem;",
			`no certificates in "` + dir + `/junk.pem" in ` + dir + "/f.conf:7"},
		{"missing crl", "proxy_ssl on;\nproxy_ssl_verify on;\nproxy_ssl_trusted_certificate %DIR%/ca.pem;\nproxy_ssl_crl %DIR%/none.crl;",
			`X509_LOOKUP_load_file("` + dir + `/none.crl") failed (SSL: error:80000002:system library::No such file or directory:calling fopen(` + dir + "/none.crl" + `, r) error:10000080:BIO routines::no such file error:05880002:x509 certificate routines::system lib) in ` + dir + "/f.conf:8"},
		{"unknown variable in proxy_ssl_name", "proxy_ssl on;\nproxy_ssl_name $host;",
			`unknown "host" variable in ` + dir + "/f.conf:6"},
		{"ciphers", "proxy_ssl on;\nproxy_ssl_ciphers aNULL;", `no cipher match in "proxy_ssl_ciphers aNULL" in ` + dir + "/f.conf:6"},
		// nginx loads and checks nothing of these where proxy_ssl is off.
		{"missing files with proxy_ssl off", "proxy_ssl_verify on;\nproxy_ssl_trusted_certificate %DIR%/none.pem;\nproxy_ssl_certificate %DIR%/none.pem;\nproxy_ssl_crl %DIR%/none.crl;\nproxy_ssl_ciphers FOO;", ""},
		{"trusted certificate unread without verify", "proxy_ssl on;\nproxy_ssl_trusted_certificate %DIR%/none.pem;\nproxy_ssl_crl %DIR%/none.crl;", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := "events {}\nstream {\n  server {\n    listen 127.0.0.1:0; proxy_pass 127.0.0.1:1;\n" + strings.ReplaceAll(tt.body, "%DIR%", dir) + "\n  }\n}\n"
			path := filepath.Join(dir, "f.conf")
			if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
				t.Fatal(err)
			}
			cfg, err := config.Load(path, config.LoadOptions{Prefix: dir})
			if err == nil {
				err = Check(cfg.Stream)
			}
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("error %v, want none", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("error %v, want %q", err, tt.want)
			}
		})
	}
}

// TestUpstreamTLSStopDuringHandshake: a stop ends a session whose
// upstream handshake is in progress at once, not after
// proxy_connect_timeout, and does not count it as the server's failure.
func TestUpstreamTLSStopDuringHandshake(t *testing.T) {
	accepted := make(chan struct{}, 1)
	silent := testutil.RawBackend(t, func(c net.Conn) {
		accepted <- struct{}{}
		_ = c.SetReadDeadline(time.Now().Add(20 * time.Second))
		buf := make([]byte, 512)
		for {
			if _, err := c.Read(buf); err != nil {
				return
			}
		}
	})
	cfg := load(t, t.TempDir(), "upstream u { server "+silent+"; }\nserver { listen 127.0.0.1:0; proxy_pass u; proxy_ssl on; proxy_connect_timeout 60s; }")
	p, addr := start(t, cfg)
	cl := dial(t, addr)
	select {
	case <-accepted:
	case <-time.After(10 * time.Second):
		t.Fatal("the upstream server got no connection")
	}
	began := time.Now()
	p.Close()
	waitFor(t, "the session to end", func() bool { return p.Sessions() == 0 })
	if d := time.Since(began); d > 5*time.Second {
		t.Errorf("the session ended %v after the stop", d)
	}
	if got := cl.ask(t, "x"); got != "EOF" {
		t.Errorf("client got %q, want the connection closed", got)
	}
	if st := p.Upstreams(time.Now())[0].Servers[0]; st.Failures != 0 || st.Fails != 0 {
		t.Errorf("server failures %d, fails %d, want none: the stop is not its failure", st.Failures, st.Fails)
	}
}

// TestUpstreamTLSPasswordFile: an encrypted proxy_ssl_certificate_key is
// opened with proxy_ssl_password_file's passphrases and the certificate
// presented; without the file the configuration does not load.
func TestUpstreamTLSPasswordFile(t *testing.T) {
	if _, err := exec.LookPath("openssl"); err != nil {
		t.Skip("no openssl to encrypt a key")
	}
	dir := t.TempDir()
	pki := newUpstreamPKI(t, dir)
	if out, err := exec.Command("openssl", "pkey", "-in", filepath.Join(dir, "client.key"), "-aes256", "-passout", "pass:s3cret",
		"-out", filepath.Join(dir, "client-enc.key")).CombinedOutput(); err != nil {
		t.Fatalf("openssl: %v %s", err, out)
	}
	if err := os.WriteFile(filepath.Join(dir, "passwords"), []byte("wrong\ns3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	good := startTLSUpstream(t, "good", pki.goodCert, pki.goodKey, false)
	certs := "proxy_ssl on; proxy_ssl_certificate " + dir + "/client.pem; proxy_ssl_certificate_key " + dir + "/client-enc.key;"
	cfg := load(t, dir, "proxy_ssl_password_file "+dir+"/passwords;\nserver { listen 127.0.0.1:0; proxy_pass "+good.addr()+"; "+certs+" }")
	_, addr := start(t, cfg)
	if got, want := dial(t, addr).ask(t, "hello"), "good sni= resumed=false certs=1 hello"; got != want {
		t.Errorf("answer %q, want %q", got, want)
	}

	path := filepath.Join(dir, "nopw.conf")
	src := "events {}\nstream {\n    server { listen 127.0.0.1:0; proxy_pass " + good.addr() + ";\n" + certs + "\n    }\n}\n"
	if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := config.Load(path, config.LoadOptions{Prefix: dir})
	if want := `cannot load certificate key "` + dir + `/client-enc.key"`; err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), path+":4") {
		t.Errorf("error %v, want %q at %s:4", err, want, path)
	}
}

// TestUpstreamTLSPassVariables: with variables in proxy_pass, the default
// proxy_ssl_name is the host of the session's value, as nginx's
// u->ssl_name (checked with nginx 1.22.1: "set $up backend.test; proxy_pass
// $up;" sends SNI backend.test): SNI sends it and proxy_ssl_verify checks
// it; an address sends none.
func TestUpstreamTLSPassVariables(t *testing.T) {
	dir := t.TempDir()
	pki := newUpstreamPKI(t, dir)
	good := startTLSUpstream(t, "good", pki.goodCert, pki.goodKey, false)
	verify := " proxy_ssl_verify on; proxy_ssl_trusted_certificate " + dir + "/ca.pem;"
	for _, tt := range []struct{ name, value, settings, want string }{
		{"an upstream's name", "backend.test", "", "good sni=backend.test resumed=false certs=0 hello"},
		{"an upstream's name, verified", "backend.test", verify, "good sni=backend.test resumed=false certs=0 hello"},
		{"an address", good.addr(), "", "good sni= resumed=false certs=0 hello"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cfg := load(t, t.TempDir(), "upstream backend.test { server "+good.addr()+"; }\n"+
				"server { listen 127.0.0.1:0; set $up "+tt.value+"; proxy_pass $up; proxy_ssl on; proxy_ssl_server_name on;"+tt.settings+" }")
			_, addr := start(t, cfg)
			if got := dial(t, addr).ask(t, "hello"); got != tt.want {
				t.Errorf("answer %q, want %q", got, tt.want)
			}
		})
	}
}

package stream

import (
	"crypto/tls"
	"crypto/x509/pkix"
	"fmt"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"fulcrum/internal/config"
	"fulcrum/internal/testutil"
)

// tlsAsk connects to addr with cfg, sends "x" and returns the answer line:
// "EOF" when the session closed, "handshake: ..." when the handshake
// failed. The connection is closed before it returns.
func tlsAsk(addr string, cfg *tls.Config) string {
	c, err := tls.Dial("tcp", addr, cfg)
	if err != nil {
		return "handshake: " + err.Error()
	}
	defer c.Close()
	return askConn(c, "x")
}

// sendCert makes a client configuration that sends pair (none when nil)
// to any certificate request, whatever CAs it names.
func sendCert(t *testing.T, certPEM, keyPEM []byte) *tls.Config {
	t.Helper()
	cfg := &tls.Config{InsecureSkipVerify: true}
	pair := &tls.Certificate{}
	if certPEM != nil {
		p, err := tls.X509KeyPair(certPEM, keyPEM)
		if err != nil {
			t.Fatal(err)
		}
		pair = &p
	}
	cfg.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return pair, nil }
	return cfg
}

// TestVerifyClient checks ssl_verify_client in stream as nginx 1.22.1
// answered the same clients: the handshake completes, then a refused
// client's session closes with nothing proxied, $status 500 and nginx's
// info line; the $ssl_client_* variables tell what came.
func TestVerifyClient(t *testing.T) {
	a := startEcho(t, "a")
	ca := testutil.NewCA(t, "Test CA")
	goodCert, goodKey := ca.Issue(t, testutil.Leaf{Subject: pkix.Name{CommonName: "client1", Organization: []string{"Acme"}}, Serial: big.NewInt(0x1234)})
	revokedCert, revokedKey := ca.Issue(t, testutil.Leaf{Subject: pkix.Name{CommonName: "gone"}, Serial: big.NewInt(7)})
	selfCert, selfKey := (&testutil.CA{}).Issue(t, testutil.Leaf{Subject: pkix.Name{CommonName: "selfie"}})
	dir := t.TempDir()
	writeCert(t, dir)
	os.WriteFile(filepath.Join(dir, "ca.pem"), ca.PEM, 0o644)
	os.WriteFile(filepath.Join(dir, "ca.crl"), ca.CRL(t, time.Now().Add(-time.Hour), time.Now().Add(time.Hour), big.NewInt(7)), 0o644)
	type cert struct{ c, k []byte }
	none, good, self, revoked := cert{}, cert{goodCert, goodKey}, cert{selfCert, selfKey}, cert{revokedCert, revokedKey}
	const verifyErr = "client SSL certificate verify error: "
	tests := []struct {
		name, mode string
		cert       cert
		want, log  string // the answer; $status $ssl_client_verify "$ssl_client_s_dn" "$ssl_client_i_dn" $ssl_client_serial
		errLine    string
	}{
		{"on, none", "on", none, "EOF", `500 NONE "-" "-" -`, "client sent no required SSL certificate while SSL handshaking, client: 127.0.0.1, server: 127.0.0.1:"},
		{"on, good", "on", good, "a x", `200 SUCCESS "CN=client1,O=Acme" "CN=Test CA" 1234`, ""},
		{"on, self-signed", "on", self, "EOF", `500 FAILED:self-signed certificate "CN=selfie" "CN=selfie" SERIAL`, verifyErr + "(18:self-signed certificate) while SSL handshaking"},
		{"on, revoked", "on", revoked, "EOF", `500 FAILED:certificate revoked "CN=gone" "CN=Test CA" 07`, verifyErr + "(23:certificate revoked) while SSL handshaking"},
		{"optional, none", "optional", none, "a x", `200 NONE "-" "-" -`, ""},
		{"optional, self-signed", "optional", self, "EOF", `500 FAILED:self-signed certificate "CN=selfie" "CN=selfie" SERIAL`, verifyErr + "(18:self-signed certificate)"},
		{"optional_no_ca, self-signed", "optional_no_ca", self, "a x", `200 FAILED:self-signed certificate "CN=selfie" "CN=selfie" SERIAL`, ""},
		{"off, a certificate offered", "off", good, "a x", `200 NONE "-" "-" -`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sub := t.TempDir()
			p, addr := start(t, load(t, sub, fmt.Sprintf(`
log_format f '$status $ssl_client_verify "$ssl_client_s_dn" "$ssl_client_i_dn" $ssl_client_serial';
server { listen 127.0.0.1:0 ssl; ssl_certificate %[1]s/cert.pem; ssl_certificate_key %[1]s/key.pem;
         ssl_verify_client %[2]s; ssl_client_certificate %[1]s/ca.pem; ssl_crl %[1]s/ca.crl;
         proxy_pass %[3]s; access_log %%DIR%%/s.log f; error_log %%DIR%%/err.log info; }`, dir, tt.mode, a.addr())))
			if got := tlsAsk(addr, sendCert(t, tt.cert.c, tt.cert.k)); got != tt.want {
				t.Errorf("answer %q, want %q", got, tt.want)
			}
			path := filepath.Join(sub, "s.log")
			waitFor(t, "the log line", func() bool { return readFile(t, path) != "" && p.Sessions() == 0 })
			want := tt.log + "\n"
			if strings.Contains(want, "SERIAL") {
				want = strings.Replace(want, "SERIAL", "", 1)
				if got := readFile(t, path); !strings.HasPrefix(got, want[:len(want)-1]) {
					t.Errorf("log %q, want %q and a serial", got, want)
				}
			} else if got := readFile(t, path); got != want {
				t.Errorf("log %q, want %q", got, want)
			}
			errLog := readFile(t, filepath.Join(sub, "err.log"))
			if tt.errLine != "" && !strings.Contains(errLog, tt.errLine) {
				t.Errorf("error log %q lacks %q", errLog, tt.errLine)
			}
			if tt.errLine == "" && strings.Contains(errLog, "certificate") {
				t.Errorf("error log %q: a session let in logged a refusal", errLog)
			}
		})
	}
}

// TestStreamTLSSettings checks ssl_alpn, ssl_ecdh_curve and the TLS
// variables through real handshakes; the ALPN answers are nginx 1.22.1's
// for the same offers, and so is a failed handshake's $ssl_protocol (one
// that failed in crypto/tls's GetConfigForClient, before the version was
// chosen, has none).
func TestStreamTLSSettings(t *testing.T) {
	a := startEcho(t, "a")
	dir := t.TempDir()
	writeCert(t, dir)
	tests := []struct {
		name, conf string
		client     *tls.Config
		want, log  string // log: $status $ssl_protocol $ssl_server_name $ssl_alpn_protocol $ssl_session_reused
	}{
		{"alpn, the server's preference", "ssl_alpn foo bar;", &tls.Config{NextProtos: []string{"bar", "foo"}, ServerName: "s.test"},
			"a x", "200 TLSv1.3 s.test foo .\n"},
		{"alpn, none offered", "ssl_alpn foo bar;", &tls.Config{}, "a x", "200 TLSv1.3 - - .\n"},
		{"alpn, no overlap", "ssl_alpn foo;", &tls.Config{NextProtos: []string{"x"}}, "handshake", "500 TLSv1.3 - - .\n"},
		{"alpn h2, a client with http/1.1", "ssl_alpn h2;", &tls.Config{NextProtos: []string{"http/1.1"}}, "handshake", "500 - - - -\n"},
		{"no ssl_alpn, a client with one", "", &tls.Config{NextProtos: []string{"x"}}, "a x", "200 TLSv1.3 - - .\n"},
		{"curve the client has", "ssl_ecdh_curve secp384r1;", &tls.Config{CurvePreferences: []tls.CurveID{tls.CurveP384}}, "a x", "200 TLSv1.3 - - .\n"},
		{"curve the client lacks", "ssl_ecdh_curve secp384r1;", &tls.Config{CurvePreferences: []tls.CurveID{tls.X25519}}, "handshake", "500 TLSv1.3 - - .\n"},
		{"TLS 1.2", "ssl_protocols TLSv1.2;", &tls.Config{}, "a x", "200 TLSv1.2 - - .\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sub := t.TempDir()
			p, addr := start(t, load(t, sub, fmt.Sprintf(`
log_format f '$status $ssl_protocol $ssl_server_name $ssl_alpn_protocol $ssl_session_reused';
server { listen 127.0.0.1:0 ssl; ssl_certificate %[1]s/cert.pem; ssl_certificate_key %[1]s/key.pem; %[2]s
         proxy_pass %[3]s; access_log %%DIR%%/s.log f; }`, dir, tt.conf, a.addr())))
			tt.client.InsecureSkipVerify = true
			got := tlsAsk(addr, tt.client)
			if strings.HasPrefix(got, "handshake") {
				got = "handshake"
			}
			if got != tt.want {
				t.Errorf("answer %q, want %q", got, tt.want)
			}
			path := filepath.Join(sub, "s.log")
			waitFor(t, "the log line", func() bool { return readFile(t, path) != "" && p.Sessions() == 0 })
			if got := readFile(t, path); got != tt.log {
				t.Errorf("log %q, want %q", got, tt.log)
			}
		})
	}
}

// TestSessionTickets checks ssl_session_tickets and ssl_session_ticket_key:
// a client resumes on a second server with the same key file
// ($ssl_session_reused "r"), not on one with its own keys, and never with
// tickets off.
func TestSessionTickets(t *testing.T) {
	a := startEcho(t, "a")
	dir := t.TempDir()
	writeCert(t, dir)
	os.WriteFile(filepath.Join(dir, "k1"), []byte(strings.Repeat("1", 80)), 0o600)
	os.WriteFile(filepath.Join(dir, "k2"), []byte(strings.Repeat("2", 48)), 0o600)
	tests := []struct {
		name, first, second string
		want                string // $ssl_session_reused of the two sessions
	}{
		{"the same key file", "ssl_session_ticket_key %[1]s/k1;", "ssl_session_ticket_key %[1]s/k1;", ". r"},
		{"other key files", "ssl_session_ticket_key %[1]s/k1;", "ssl_session_ticket_key %[1]s/k2;", ". ."},
		{"keys of their own", "", "", ". ."},
		{"tickets off", "ssl_session_ticket_key %[1]s/k1; ssl_session_tickets off;", "ssl_session_ticket_key %[1]s/k1; ssl_session_tickets off;", ". ."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sub := t.TempDir()
			p := New(Options{})
			t.Cleanup(p.Close)
			addrs, err := p.Apply(load(t, sub, fmt.Sprintf(`
log_format f '$ssl_session_reused';
ssl_certificate %[1]s/cert.pem; ssl_certificate_key %[1]s/key.pem;
server { listen 127.0.0.1:0 ssl; `+tt.first+` proxy_pass %[2]s; access_log %%DIR%%/s.log f; }
server { listen 127.0.0.1:0 ssl; `+tt.second+` proxy_pass %[2]s; access_log %%DIR%%/s.log f; }`, dir, a.addr())))
			if err != nil {
				t.Fatal(err)
			}
			client := &tls.Config{InsecureSkipVerify: true, ServerName: "localhost", ClientSessionCache: tls.NewLRUClientSessionCache(4)}
			path := filepath.Join(sub, "s.log")
			for i, addr := range addrs {
				if got := tlsAsk(addr.String(), client); got != "a x" {
					t.Fatalf("session %d: %q", i, got)
				}
				waitFor(t, "the log line", func() bool { return strings.Count(readFile(t, path), "\n") == i+1 })
			}
			if got := strings.Join(strings.Fields(readFile(t, path)), " "); got != tt.want {
				t.Errorf("reused %q, want %q", got, tt.want)
			}
		})
	}
}

// TestStreamPasswordFile loads an encrypted key with ssl_password_file and
// terminates TLS with it.
func TestStreamPasswordFile(t *testing.T) {
	if _, err := exec.LookPath("openssl"); err != nil {
		t.Skip("no openssl")
	}
	a := startEcho(t, "a")
	dir := t.TempDir()
	writeCert(t, dir)
	out, err := exec.Command("openssl", "pkey", "-aes256", "-in", filepath.Join(dir, "key.pem"), "-passout", "pass:s3cret").Output()
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "enc.key"), out, 0o600)
	os.WriteFile(filepath.Join(dir, "pass"), []byte("wrong\ns3cret\n"), 0o600)
	_, addr := start(t, load(t, dir, fmt.Sprintf(`
server { listen 127.0.0.1:0 ssl; ssl_certificate %%DIR%%/cert.pem; ssl_certificate_key %%DIR%%/enc.key;
         ssl_password_file %%DIR%%/pass; proxy_pass %s; }`, a.addr())))
	if got := tlsAsk(addr, &tls.Config{InsecureSkipVerify: true}); got != "a x" {
		t.Errorf("answer %q", got)
	}
}

// TestStreamTLSConfigErrors checks the load-time errors of the stream TLS
// and preread directives and variables: nginx's words (nginx 1.22.1's for
// the duplicate variable), the file and line.
func TestStreamTLSConfigErrors(t *testing.T) {
	dir := t.TempDir()
	writeCert(t, dir)
	pair := "ssl_certificate %DIR%/cert.pem; ssl_certificate_key %DIR%/key.pem;"
	tests := []struct {
		name, body, want string
	}{
		{"verify without a CA file", "server { listen 127.0.0.1:0 ssl; " + pair + "\nssl_verify_client on; return x; }",
			"no ssl_client_certificate for ssl_verify_client in %DIR%/f.conf:4"},
		{"a bad verify mode", "server { listen 127.0.0.1:0; ssl_verify_client maybe; return x; }", `invalid value "maybe"`},
		{"a missing CA file", "server { listen 127.0.0.1:0 ssl; " + pair + "\nssl_verify_client on; ssl_client_certificate %DIR%/nope.pem; return x; }",
			`SSL_CTX_load_verify_locations("%DIR%/nope.pem") failed (SSL: error:80000002:system library::No such file or directory:calling fopen(%DIR%/nope.pem, r)`},
		{"a protocol too long", "server { listen 127.0.0.1:0 ssl; " + pair + "\nssl_alpn " + strings.Repeat("a", 256) + "; return x; }",
			`"ssl_alpn" directive protocol too long in %DIR%/f.conf:4`},
		{"a bad preread flag", "server { listen 127.0.0.1:0; ssl_preread maybe; return x; }", `invalid value "maybe"`},
		{"a bad preread timeout", "server { listen 127.0.0.1:0; preread_timeout soon; return x; }", `"preread_timeout" directive invalid value`},
		{"a map of a preread variable", "map $remote_port $ssl_preread_server_name { default x; }\nserver { listen 127.0.0.1:0; return x; }",
			`the duplicate "ssl_preread_server_name" variable in %DIR%/f.conf:3`},
		{"an encrypted key without its password", "server { listen 127.0.0.1:0 ssl; ssl_certificate %DIR%/cert.pem; ssl_certificate_key %DIR%/enc.key; return x; }",
			"it is encrypted and no password file is given"},
	}
	enc := "-----BEGIN ENCRYPTED PRIVATE KEY-----\nMIIBvTBXBgkqhkiG9w0BBQ0wSjApBgkqhkiG9w0BBQwwHAQI\n-----END ENCRYPTED PRIVATE KEY-----\n"
	os.WriteFile(filepath.Join(dir, "enc.key"), []byte(enc), 0o600)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(dir, "f.conf")
			src := "events {}\nstream {\n" + strings.ReplaceAll(tt.body, "%DIR%", dir) + "\n}\n"
			os.WriteFile(path, []byte(src), 0o644)
			cfg, err := config.Load(path, config.LoadOptions{Prefix: dir})
			if err == nil {
				err = Check(cfg.Stream) // the variables are compiled here, as for fulcrum -t
			}
			want := strings.ReplaceAll(tt.want, "%DIR%", dir)
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("error %v, want %q", err, want)
			}
		})
	}
}

// TestStreamTLSHandshakeVariables checks $ssl_curve, $ssl_curves and
// $ssl_ciphers, formatted as the http side's (nginx 1.22.1 with OpenSSL
// 3.0): OpenSSL's names in the client's order, "0x" and hex for a suite
// OpenSSL does not know, "-" for the groups of a resumed TLS 1.2 session.
func TestStreamTLSHandshakeVariables(t *testing.T) {
	a := startEcho(t, "a")
	dir := t.TempDir()
	writeCert(t, dir)
	sub := t.TempDir()
	p, addr := start(t, load(t, sub, fmt.Sprintf(`
log_format f '$ssl_curve $ssl_curves $ssl_ciphers';
server { listen 127.0.0.1:0 ssl; ssl_certificate %[1]s/cert.pem; ssl_certificate_key %[1]s/key.pem;
         proxy_pass %[2]s; access_log %%DIR%%/s.log f; }`, dir, a.addr())))
	client := &tls.Config{InsecureSkipVerify: true, MaxVersion: tls.VersionTLS12, ClientSessionCache: tls.NewLRUClientSessionCache(2),
		CipherSuites: []uint16{tls.TLS_RSA_WITH_3DES_EDE_CBC_SHA, tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, tls.TLS_RSA_WITH_RC4_128_SHA}}
	const ciphers = "ECDHE-ECDSA-AES128-GCM-SHA256:0x000a:0x0005"
	want := ""
	for i, line := range []string{
		"X25519 X25519:prime256v1:secp384r1:secp521r1 " + ciphers + "\n",
		"X25519 - " + ciphers + "\n", // resumed
	} {
		if got := tlsAsk(addr, client); got != "a x" {
			t.Fatalf("session %d: answer %q", i, got)
		}
		want += line
		path := filepath.Join(sub, "s.log")
		waitFor(t, "the log line", func() bool {
			return readFile(t, path) == want || p.Sessions() == 0 && readFile(t, path) != "" && strings.Count(readFile(t, path), "\n") > i
		})
		if got := readFile(t, path); got != want {
			t.Fatalf("log %q, want %q", got, want)
		}
	}
}

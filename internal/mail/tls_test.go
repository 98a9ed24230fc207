package mail

import (
	"crypto/sha1"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"fulcrum/internal/config"
	"fulcrum/internal/testutil"
)

// certLines writes a server certificate and returns the ssl_certificate
// lines naming it.
func certLines(t *testing.T) string {
	t.Helper()
	cert, key := testutil.WriteCert(t, t.TempDir(), "srv", testutil.ECDSA, "localhost")
	return fmt.Sprintf("ssl_certificate %s; ssl_certificate_key %s;\n", cert, key)
}

// startTLSClient turns c's connection into a TLS client connection.
func (c *client) startTLS(cfg *tls.Config) *tls.Conn {
	c.t.Helper()
	if cfg == nil {
		cfg = &tls.Config{InsecureSkipVerify: true}
	}
	tc := tls.Client(c.c, cfg)
	if err := tc.Handshake(); err != nil {
		c.t.Fatalf("handshake: %v", err)
	}
	c.c = tc
	return tc
}

// tlsStep marks the place of a dialogue where the client starts TLS.
const tlsStep = "\x00TLS"

// runTLS plays steps on c, starting TLS at each tlsStep.
func (c *client) runTLS(steps []step) {
	c.t.Helper()
	for _, s := range steps {
		if s.send == tlsStep {
			c.startTLS(nil)
			continue
		}
		c.run([]step{s})
	}
}

// plainAuth is the AUTH PLAIN argument of login and pass.
func plainAuth(login, pass string) string {
	return base64.StdEncoding.EncodeToString([]byte("\x00" + login + "\x00" + pass))
}

// TestMailSTARTTLSDialogues plays the dialogues recorded from nginx 1.22.1
// (libnginx-mod-mail) with starttls on and only: the capability lists
// before and after TLS, the go-ahead replies, a login before TLS refused
// with only, STARTTLS refused once over TLS, and the login after it. The
// auth_http server refuses "nowait" without a wait, as the recording's.
func TestMailSTARTTLSDialogues(t *testing.T) {
	auth := startAuth(t, nil)
	certs := certLines(t)
	tests := []struct {
		name, server string
		steps        []step
	}{
		{"imap on", "protocol imap; starttls on;", []step{
			{"", "* OK IMAP4 ready\r\n"},
			{"a0 CAPABILITY\r\n", "* CAPABILITY IMAP4 IMAP4rev1 UIDPLUS AUTH=PLAIN STARTTLS\r\na0 OK completed\r\n"},
			{"a3 STARTTLS\r\n", "a3 OK completed\r\n"},
			{tlsStep, ""},
			{"a4 CAPABILITY\r\n", "* CAPABILITY IMAP4 IMAP4rev1 UIDPLUS AUTH=PLAIN\r\na4 OK completed\r\n"},
			{"a6 STARTTLS\r\n", "a6 BAD invalid command\r\n"},
			{"a5 LOGIN nowait p\r\n", "a5 NO Invalid login\r\n"},
		}},
		{"imap only", "protocol imap; starttls only;", []step{
			{"", "* OK IMAP4 ready\r\n"},
			{"a0 CAPABILITY\r\n", "* CAPABILITY IMAP4 IMAP4rev1 UIDPLUS STARTTLS LOGINDISABLED\r\na0 OK completed\r\n"},
			{"a1 LOGIN u p\r\n", "a1 BAD invalid command\r\n"},
			{"a2 AUTHENTICATE PLAIN AHUAcA==\r\n", "a2 BAD invalid command\r\n"},
			{"a3 STARTTLS\r\n", "a3 OK completed\r\n"},
			{tlsStep, ""},
			{"a4 CAPABILITY\r\n", "* CAPABILITY IMAP4 IMAP4rev1 UIDPLUS AUTH=PLAIN\r\na4 OK completed\r\n"},
			{"a5 LOGIN nowait p\r\n", "a5 NO Invalid login\r\n"},
		}},
		{"pop3 on", "protocol pop3; starttls on;", []step{
			{"", "+OK POP3 ready\r\n"},
			{"CAPA\r\n", "+OK Capability list follows\r\nTOP\r\nUSER\r\nUIDL\r\nSASL PLAIN LOGIN\r\nSTLS\r\n.\r\n"},
			{"STLS\r\n", "+OK\r\n"},
			{tlsStep, ""},
			{"CAPA\r\n", "+OK Capability list follows\r\nTOP\r\nUSER\r\nUIDL\r\nSASL PLAIN LOGIN\r\n.\r\n"},
			{"STLS\r\n", "-ERR invalid command\r\n"},
			{"USER nowait\r\n", "+OK\r\n"},
			{"PASS p\r\n", "-ERR Invalid login\r\n"},
		}},
		{"pop3 only", "protocol pop3; starttls only;", []step{
			{"", "+OK POP3 ready\r\n"},
			{"CAPA\r\n", "+OK Capability list follows\r\nTOP\r\nUIDL\r\nSTLS\r\n.\r\n"},
			{"USER u\r\n", "-ERR invalid command\r\n"},
			{"AUTH\r\n", "-ERR invalid command\r\n"},
			{"APOP u d\r\n", "-ERR invalid command\r\n"},
			{"STLS\r\n", "+OK\r\n"},
			{tlsStep, ""},
			{"CAPA\r\n", "+OK Capability list follows\r\nTOP\r\nUSER\r\nUIDL\r\nSASL PLAIN LOGIN\r\n.\r\n"},
			{"USER nowait\r\n", "+OK\r\n"},
			{"PASS p\r\n", "-ERR Invalid login\r\n"},
		}},
		{"smtp on", "protocol smtp; starttls on;", []step{
			{"", "220 vm ESMTP ready\r\n"},
			{"EHLO x\r\n", "250-vm\r\n250-AUTH PLAIN LOGIN\r\n250 STARTTLS\r\n"},
			{"MAIL FROM:<a@b>\r\n", "530 5.7.1 Authentication required\r\n"},
			{"STARTTLS\r\n", "220 2.0.0 Start TLS\r\n"},
			{tlsStep, ""},
			{"EHLO y\r\n", "250-vm\r\n250 AUTH PLAIN LOGIN\r\n"},
			{"STARTTLS\r\n", "500 5.5.1 Invalid command\r\n"},
			{"AUTH PLAIN " + plainAuth("nowait", "p") + "\r\n", "535 5.7.0 Invalid login\r\n"},
		}},
		{"smtp only", "protocol smtp; starttls only;", []step{
			{"", "220 vm ESMTP ready\r\n"},
			{"EHLO x\r\n", "250-vm\r\n250 STARTTLS\r\n"},
			{"AUTH PLAIN AHUAcA==\r\n", "500 5.5.1 Invalid command\r\n"},
			{"MAIL FROM:<a@b>\r\n", "530 5.7.1 Authentication required\r\n"},
			{"STARTTLS\r\n", "220 2.0.0 Start TLS\r\n"},
			{tlsStep, ""},
			{"EHLO y\r\n", "250-vm\r\n250 AUTH PLAIN LOGIN\r\n"},
			{"AUTH PLAIN " + plainAuth("nowait", "p") + "\r\n", "535 5.7.0 Invalid login\r\n"},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, addrs := start(t, load(t, "auth_http "+auth.addr+";\n"+certs+"server { listen 127.0.0.1:0; "+tt.server+" }"))
			dial(t, addrs[0]).runTLS(tt.steps)
		})
	}
}

// TestMailSTARTTLSDiscardsPipelined: a command sent in the same packet
// as STARTTLS is discarded with the plain-text buffer, not run once TLS
// is up (STARTTLS command injection, CVE-2011-0411), as nginx 1.22.1
// does: the first reply over TLS is the next command's.
func TestMailSTARTTLSDiscardsPipelined(t *testing.T) {
	auth := startAuth(t, nil)
	certs := certLines(t)
	tests := []struct {
		name, server string
		steps        []step
	}{
		{"imap", "protocol imap; starttls on;", []step{
			{"", "* OK IMAP4 ready\r\n"},
			{"a3 STARTTLS\r\na4 CAPABILITY\r\n", "a3 OK completed\r\n"},
			{tlsStep, ""},
			{"a5 NOOP\r\n", "a5 OK completed\r\n"},
		}},
		{"pop3", "protocol pop3; starttls on;", []step{
			{"", "+OK POP3 ready\r\n"},
			{"STLS\r\nCAPA\r\n", "+OK\r\n"},
			{tlsStep, ""},
			{"NOOP\r\n", "+OK\r\n"},
		}},
		{"smtp", "protocol smtp; starttls on;", []step{
			{"", "220 vm ESMTP ready\r\n"},
			{"STARTTLS\r\nRSET\r\n", "220 2.0.0 Start TLS\r\n"},
			{tlsStep, ""},
			{"HELO z\r\n", "250 vm\r\n"},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, addrs := start(t, load(t, "auth_http "+auth.addr+";\n"+certs+"server { listen 127.0.0.1:0; "+tt.server+" }"))
			dial(t, addrs[0]).runTLS(tt.steps)
		})
	}
}

// TestMailImplicitTLS logs in over "listen ... ssl" for each protocol and
// is relayed to the backend; the auth_http request carries Auth-SSL,
// Auth-SSL-Protocol and Auth-SSL-Cipher after Client-IP (and
// Client-Host), as nginx 1.22.1's. STARTTLS over TLS is refused.
func TestMailImplicitTLS(t *testing.T) {
	backends := map[string]*fakeBackend{"imap": startBackend(t, "imap", ""), "pop3": startBackend(t, "pop3", ""), "smtp": startBackend(t, "smtp", "")}
	auth := startAuth(t, map[string]string{"imap": backends["imap"].addr, "pop3": backends["pop3"].addr, "smtp": backends["smtp"].addr})
	certs := certLines(t)
	tests := []struct {
		protocol string
		steps    []step
		client   string // the request's client lines
	}{
		{"imap", []step{
			{"", "* OK IMAP4 ready\r\n"},
			{"a1 STARTTLS\r\n", "a1 BAD invalid command\r\n"},
			{"a2 LOGIN joe pw\r\n", "a2 OK done\r\n"},
		}, "Client-IP: 127.0.0.1\r\n"},
		{"pop3", []step{
			{"", "+OK POP3 ready\r\n"},
			{"STLS\r\n", "-ERR invalid command\r\n"},
			{"USER joe\r\n", "+OK\r\n"},
			{"PASS pw\r\n", "+OK\r\n"},
		}, "Client-IP: 127.0.0.1\r\n"},
		{"smtp", []step{
			{"", "220 vm ESMTP ready\r\n"},
			{"EHLO x\r\n", "250-vm\r\n250 AUTH PLAIN LOGIN\r\n"},
			{"STARTTLS\r\n", "500 5.5.1 Invalid command\r\n"},
			{"AUTH PLAIN " + plainAuth("joe", "pw") + "\r\n", "235 2.0.0 OK\r\n"},
		}, "Client-IP: 127.0.0.1\r\nClient-Host: [UNAVAILABLE]\r\n"},
	}
	for i, tt := range tests {
		t.Run(tt.protocol, func(t *testing.T) {
			_, addrs := start(t, load(t, "auth_http "+auth.addr+";\n"+certs+"server { listen 127.0.0.1:0 ssl; protocol "+tt.protocol+"; }"))
			c := dial(t, addrs[0])
			st := c.startTLS(nil).ConnectionState()
			c.run(tt.steps)
			req := auth.requests.waitFor(t, i+1)[i]
			want := tt.client + "Auth-SSL: on\r\nAuth-SSL-Protocol: " + config.ProtocolName(st.Version) + "\r\nAuth-SSL-Cipher: " + config.CipherName(st.CipherSuite) + "\r\n\r\n"
			if !strings.HasSuffix(req, want) || !strings.Contains(req, "Auth-User: joe\r\n") {
				t.Errorf("auth_http request\n%s\nwant it to end with\n%s", req, want)
			}
		})
	}
}

// TestMailClientCertHeaders: with ssl_verify_client the auth_http request
// has the verdict and the certificate's subject, issuer, serial and
// SHA-1 fingerprint, and with auth_http_pass_client_cert the PEM,
// escaped, as nginx 1.22.1 sends them (recorded: "Auth-SSL-Verify:
// SUCCESS", "Auth-SSL-Subject: O=Example,CN=alice", "Auth-SSL-Issuer:
// CN=Test CA", "Auth-SSL-Serial: 1234", a lower-case hex fingerprint and
// "Auth-SSL-Cert: -----BEGIN%20CERTIFICATE-----%0A..."); without a
// certificate only "Auth-SSL-Verify: NONE"; under "ssl_verify_client on"
// a client without one, or with one that does not verify, gets nginx's
// "* BYE No required SSL certificate" or "* BYE SSL certificate error"
// and is closed.
func TestMailClientCertHeaders(t *testing.T) {
	auth := startAuth(t, map[string]string{"imap": startBackend(t, "imap", "").addr})
	ca := testutil.NewCA(t, "Test CA")
	dir := t.TempDir()
	caFile := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(caFile, ca.PEM, 0o644); err != nil {
		t.Fatal(err)
	}
	certPEM, keyPEM := ca.Issue(t, testutil.Leaf{Subject: pkix.Name{CommonName: "alice", Organization: []string{"Example"}}, Serial: big.NewInt(0x1234)})
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(certPEM)
	leaf, _ := x509.ParseCertificate(block.Bytes)
	sum := sha1.Sum(leaf.Raw)
	leafPEM := string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: leaf.Raw}))
	// Go writes O before CN in the subject (openssl -subj "/CN=alice/O=Example"
	// wrote CN first, hence nginx's "O=Example,CN=alice"): RFC 2253 order
	// reverses the certificate's.
	escaped := strings.NewReplacer(" ", "%20", "\n", "%0A").Replace(leafPEM)
	certs := certLines(t)
	body := "auth_http " + auth.addr + ";\n" + certs + "ssl_client_certificate " + caFile + ";\n" +
		"server { listen 127.0.0.1:0 ssl; protocol imap; ssl_verify_client optional; auth_http_pass_client_cert on; }\n" +
		"server { listen 127.0.0.1:0 ssl; protocol imap; ssl_verify_client on; }\n"
	_, addrs := start(t, load(t, body))

	c := dial(t, addrs[0])
	st := c.startTLS(&tls.Config{InsecureSkipVerify: true, Certificates: []tls.Certificate{pair}}).ConnectionState()
	c.run([]step{{"", "* OK IMAP4 ready\r\n"}, {"a1 LOGIN joe pw\r\n", "a1 OK done\r\n"}})
	req := auth.requests.waitFor(t, 1)[0]
	want := "Client-IP: 127.0.0.1\r\nAuth-SSL: on\r\nAuth-SSL-Protocol: " + config.ProtocolName(st.Version) + "\r\nAuth-SSL-Cipher: " + config.CipherName(st.CipherSuite) + "\r\n" +
		"Auth-SSL-Verify: SUCCESS\r\nAuth-SSL-Subject: CN=alice,O=Example\r\nAuth-SSL-Issuer: CN=Test CA\r\nAuth-SSL-Serial: 1234\r\n" +
		"Auth-SSL-Fingerprint: " + hex.EncodeToString(sum[:]) + "\r\nAuth-SSL-Cert: " + escaped + "\r\n\r\n"
	if !strings.HasSuffix(req, want) {
		t.Errorf("auth_http request\n%q\nwant it to end with\n%q", req, want)
	}

	c = dial(t, addrs[0])
	c.startTLS(nil)
	c.run([]step{{"", "* OK IMAP4 ready\r\n"}, {"a1 LOGIN joe pw\r\n", "a1 OK done\r\n"}})
	if req := auth.requests.waitFor(t, 2)[1]; !strings.HasSuffix(req, "Auth-SSL-Verify: NONE\r\n\r\n") {
		t.Errorf("auth_http request without a certificate\n%s", req)
	}

	c = dial(t, addrs[1])
	c.startTLS(nil)
	c.expect("* BYE No required SSL certificate\r\n")
	c.expectEOF()

	self, selfKey := testutil.SelfSigned(t, testutil.ECDSA, "mallory")
	bad, err := tls.X509KeyPair(self, selfKey)
	if err != nil {
		t.Fatal(err)
	}
	c = dial(t, addrs[1])
	c.startTLS(&tls.Config{InsecureSkipVerify: true, GetClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
		return &bad, nil // sent although its issuer is not among the CAs the server names
	}})
	c.expect("* BYE SSL certificate error\r\n")
	c.expectEOF()
}

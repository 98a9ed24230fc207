package upstreamtls

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"fulcrum/internal/config"
	"fulcrum/internal/testutil"
)

// serverInfo is what a test server saw of a handshake.
type serverInfo struct {
	sni     string
	resumed bool
}

// startServer starts a TLS server on 127.0.0.1:0 with the certificate
// chain and key given; each completed handshake's SNI and resumption go
// to the returned channel. It reads until the client closes, so that the
// client gets its session ticket.
func startServer(t *testing.T, certPEM, keyPEM []byte) (string, <-chan serverInfo) {
	t.Helper()
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	cfg := &tls.Config{Certificates: []tls.Certificate{pair}}
	seen := make(chan serverInfo, 16)
	addr := testutil.RawBackend(t, func(c net.Conn) {
		tc := tls.Server(c, cfg)
		_ = tc.SetDeadline(time.Now().Add(10 * time.Second))
		if tc.Handshake() != nil {
			return
		}
		cs := tc.ConnectionState()
		seen <- serverInfo{cs.ServerName, cs.DidResume}
		_, _ = tc.Write([]byte("x"))
		buf := make([]byte, 16)
		for {
			if _, err := tc.Read(buf); err != nil {
				return
			}
		}
	})
	return addr, seen
}

// handshake connects to addr and runs c's handshake with name; on success
// it reads the server's byte (which brings the TLS 1.3 session ticket)
// and closes.
func handshake(t *testing.T, c *Client, addr, name string, sessions tls.ClientSessionCache) error {
	t.Helper()
	return handshakeAs(t, c, addr, name, false, sessions)
}

// handshakeAs is handshake, with HandshakeNamed when named.
func handshakeAs(t *testing.T, c *Client, addr, name string, named bool, sessions tls.ClientSessionCache) error {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	hs := c.Handshake
	if named {
		hs = c.HandshakeNamed
	}
	tc, err := hs(context.Background(), conn, name, 5*time.Second, sessions)
	if err != nil {
		return err
	}
	defer tc.Close()
	_ = tc.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := tc.Read(make([]byte, 1)); err != nil {
		t.Fatal(err)
	}
	return nil
}

// TestHandshake: the name a handshake is given replaces the client's for
// SNI and verification, and verification failures are worded with
// OpenSSL's codes as nginx logs them.
func TestHandshake(t *testing.T) {
	ca := testutil.NewCA(t, "CA")
	inter := ca.Intermediate(t, "intermediate")
	server := testutil.Leaf{DNSNames: []string{"a.test"}, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	leafCert, leafKey := ca.Issue(t, server)
	chainCert, chainKey := inter.Issue(t, server, inter)
	selfCert, selfKey := testutil.SelfSigned(t, testutil.ECDSA, "a.test")
	// A certificate with a common name and no subjectAltName, as
	// openssl req makes one: OpenSSL's X509_check_host falls back to the
	// name (nginx-tests' proxy_ssl_verify.t, verify cn, nginx 1.22.1).
	cnCert, cnKey := ca.Issue(t, testutil.Leaf{Subject: pkix.Name{CommonName: "a.test"}, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}})
	roots := x509.NewCertPool()
	roots.AddCert(ca.Cert)
	otherRoots := x509.NewCertPool()
	otherRoots.AddCert(testutil.NewCA(t, "other").Cert)
	base := config.ProxySSL{ServerName: true, VerifyDepth: 1, MinVersion: tls.VersionTLS12, MaxVersion: tls.VersionTLS13}
	tests := []struct {
		name           string
		cert, key      []byte
		verify         bool
		roots          *x509.CertPool
		depthZero      bool   // proxy_ssl_verify_depth 0, else 1
		handshakeName  string // "": the client's, "a.test"
		named          bool   // HandshakeNamed: handshakeName even when empty
		staticName     string // proxy_ssl_name
		wantSNI, wantE string
	}{
		{name: "default name", cert: leafCert, key: leafKey, verify: true, roots: roots, wantSNI: "a.test"},
		{name: "name given replaces SNI and checked name", cert: leafCert, key: leafKey, verify: true, roots: roots,
			handshakeName: "b.test", wantE: `upstream SSL certificate does not match "b.test"`},
		{name: "name given, no verification", cert: leafCert, key: leafKey, handshakeName: "b.test", wantSNI: "b.test"},
		{name: "empty name named: no SNI", cert: leafCert, key: leafKey, named: true, wantSNI: ""},
		{name: "empty name named matches no certificate", cert: leafCert, key: leafKey, verify: true, roots: roots,
			named: true, wantE: `upstream SSL certificate does not match ""`},
		{name: "name named", cert: leafCert, key: leafKey, verify: true, roots: roots, named: true, handshakeName: "a.test", wantSNI: "a.test"},
		{name: "unknown CA, one certificate sent", cert: leafCert, key: leafKey, verify: true, roots: otherRoots,
			wantE: "upstream SSL certificate verify error: (21:unable to verify the first certificate)"},
		{name: "unknown CA, a chain sent", cert: chainCert, key: chainKey, verify: true, roots: otherRoots,
			wantE: "upstream SSL certificate verify error: (20:unable to get local issuer certificate)"},
		{name: "self-signed", cert: selfCert, key: selfKey, verify: true, roots: roots,
			wantE: "upstream SSL certificate verify error: (18:self-signed certificate)"},
		{name: "common name, no subjectAltName", cert: cnCert, key: cnKey, verify: true, roots: roots, wantSNI: "a.test"},
		{name: "common name, another name", cert: cnCert, key: cnKey, verify: true, roots: roots, handshakeName: "b.test",
			wantE: `upstream SSL certificate does not match "b.test"`},
		{name: "subjectAltName, the common name is not read", cert: leafCert, key: leafKey, verify: true, roots: roots,
			staticName: "b.test", wantE: `upstream SSL certificate does not match "b.test"`},
		// nginx strips a port from the name, also a static proxy_ssl_name's
		// (nginx-tests' proxy_ssl_name.t, no port in name, nginx 1.22.1).
		{name: "static name with a port", cert: leafCert, key: leafKey, verify: true, roots: roots, staticName: "a.test:123", wantSNI: "a.test"},
		{name: "chain within the depth", cert: chainCert, key: chainKey, verify: true, roots: roots, wantSNI: "a.test"},
		{name: "chain too long", cert: chainCert, key: chainKey, verify: true, roots: roots, depthZero: true,
			wantE: "upstream SSL certificate verify error: (22:certificate chain too long)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			addr, seen := startServer(t, tt.cert, tt.key)
			s := base
			s.Verify, s.Roots, s.Name = tt.verify, tt.roots, tt.staticName
			if tt.depthZero {
				s.VerifyDepth = 0
			}
			err := handshakeAs(t, New(s, "a.test"), addr, tt.handshakeName, tt.named, nil)
			if tt.wantE != "" {
				var he *HandshakeError
				if !errors.As(err, &he) || !strings.HasPrefix(he.Reason(), tt.wantE) {
					t.Fatalf("error %v, want a HandshakeError %q", err, tt.wantE)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := <-seen; got.sni != tt.wantSNI {
				t.Errorf("SNI %q, want %q", got.sni, tt.wantSNI)
			}
		})
	}
}

// TestPerServer: sessions are resumed from the server that made them only,
// where crypto/tls alone keys them by the SNI name the servers share.
func TestPerServer(t *testing.T) {
	cert, key := testutil.SelfSigned(t, testutil.ECDSA, "a.test")
	a, seenA := startServer(t, cert, key)
	b, seenB := startServer(t, cert, key)
	c := New(config.ProxySSL{ServerName: true, SessionReuse: true, MinVersion: tls.VersionTLS12, MaxVersion: tls.VersionTLS13}, "a.test")
	cache := tls.NewLRUClientSessionCache(0)
	steps := []struct {
		addr    string
		seen    <-chan serverInfo
		resumed bool
	}{{a, seenA, false}, {b, seenB, false}, {a, seenA, true}, {b, seenB, true}}
	for i, st := range steps {
		if err := handshake(t, c, st.addr, "", PerServer(cache, st.addr)); err != nil {
			t.Fatal(err)
		}
		if got := <-st.seen; got.resumed != st.resumed {
			t.Errorf("handshake %d: resumed %t, want %t", i+1, got.resumed, st.resumed)
		}
	}
}

// TestPerName: with PerName, a session is offered only for the name it
// was made for, even without SNI (where crypto/tls alone keys sessions by
// the server's address).
func TestPerName(t *testing.T) {
	cert, key := testutil.SelfSigned(t, testutil.ECDSA, "a.test")
	addr, seen := startServer(t, cert, key)
	c := New(config.ProxySSL{SessionReuse: true, MinVersion: tls.VersionTLS12, MaxVersion: tls.VersionTLS13}, "a.test")
	cache := tls.NewLRUClientSessionCache(0)
	steps := []struct {
		name    string
		resumed bool
	}{{"a.test", false}, {"a.test", true}, {"b.test", false}, {"", false}, {"b.test", true}, {"", true}}
	for i, st := range steps {
		if err := handshakeAs(t, c, addr, st.name, true, PerName(cache, st.name)); err != nil {
			t.Fatal(err)
		}
		if got := <-seen; got.resumed != st.resumed {
			t.Errorf("handshake %d (%q): resumed %t, want %t", i+1, st.name, got.resumed, st.resumed)
		}
	}
}

// TestNameWithoutPort: a port is dropped as nginx drops it from
// proxy_ssl_name's value; an IPv6 address keeps its brackets.
func TestNameWithoutPort(t *testing.T) {
	for in, want := range map[string]string{"a.test": "a.test", "a.test:8443": "a.test", "": "", "[::1]:443": "[::1]", "[::1]": "[::1]", "%5B::1%5D": "%5B"} {
		if got := NameWithoutPort(in); got != want {
			t.Errorf("NameWithoutPort(%q) = %q, want %q", in, got, want)
		}
	}
}

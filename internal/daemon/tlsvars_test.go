package daemon_test

import (
	"bufio"
	"crypto/tls"
	"fmt"
	"net"
	"testing"
	"time"
)

// TestTLSHandshakeVariables checks $ssl_alpn_protocol, $ssl_session_reused,
// $ssl_curve, $ssl_curves, $ssl_ciphers and $ssl_early_data against what
// nginx 1.22.1 (OpenSSL 3.0) logged for the same Go clients: suites and
// groups by OpenSSL's names, in the client's order, "0x" and hex for a
// suite OpenSSL does not know, no groups for a resumed TLS 1.2 session.
// Where nginx's OpenSSL does not know X25519MLKEM768 (it logged "0x11ec"
// and chose X25519), fulcrum names it and Go's TLS chooses it.
func TestTLSHandshakeVariables(t *testing.T) {
	dir := t.TempDir()
	_, rsa := tlsSites(t, dir)
	addr := startDaemon(t, dir, fmt.Sprintf(`
    server { listen 127.0.0.1:0 ssl; %s
        location / { return 200 "alpn=$ssl_alpn_protocol reused=$ssl_session_reused curve=$ssl_curve curves=$ssl_curves early=$ssl_early_data ciphers=$ssl_ciphers\n"; }
    }`, rsa))
	tls12 := func() *tls.Config {
		return &tls.Config{InsecureSkipVerify: true, MaxVersion: tls.VersionTLS12,
			CipherSuites: []uint16{tls.TLS_RSA_WITH_3DES_EDE_CBC_SHA, tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, tls.TLS_RSA_WITH_RC4_128_SHA}}
	}
	const (
		ciphers12 = "ECDHE-RSA-AES128-GCM-SHA256:0x000a:0x0005" // nginx's, for tls12's suites
		curves12  = "X25519:prime256v1:secp384r1:secp521r1"     // Go's client, TLS 1.2
		ciphers13 = "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:ECDHE-ECDSA-AES128-SHA:ECDHE-RSA-AES128-SHA:ECDHE-ECDSA-AES256-SHA:ECDHE-RSA-AES256-SHA:TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256"
	)
	tests := []struct {
		name   string
		config func() *tls.Config
		resume bool // a second connection resumes the first one's session
		want   string
	}{
		{"TLS 1.2, unknown suites", tls12, false,
			"alpn= reused=. curve=X25519 curves=" + curves12 + " early= ciphers=" + ciphers12},
		{"TLS 1.2 resumed: no groups", tls12, true,
			"alpn= reused=r curve=X25519 curves= early= ciphers=" + ciphers12},
		{"TLS 1.3, ALPN, hybrid group", func() *tls.Config {
			return &tls.Config{InsecureSkipVerify: true, NextProtos: []string{"http/1.1"},
				CurvePreferences: []tls.CurveID{tls.X25519MLKEM768, tls.X25519, tls.CurveP256}}
		}, false, "alpn=http/1.1 reused=. curve=X25519MLKEM768 curves=X25519MLKEM768:X25519:prime256v1 early= ciphers=" + ciphers13},
		{"TLS 1.3 resumed: groups kept", func() *tls.Config {
			return &tls.Config{InsecureSkipVerify: true, CurvePreferences: []tls.CurveID{tls.CurveP384, tls.X25519}}
		}, true, "alpn= reused=r curve=X25519 curves=X25519:secp384r1 early= ciphers=" + ciphers13}, // Go's client sends its own order
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := tt.config()
			cfg.ClientSessionCache = tls.NewLRUClientSessionCache(4)
			body := tlsGet(t, addr, cfg)
			if tt.resume {
				body = tlsGet(t, addr, cfg)
			}
			if body != tt.want+"\n" {
				t.Errorf("got  %q\nwant %q", body, tt.want+"\n")
			}
		})
	}
}

// tlsGet makes one request on a new TLS connection with cfg and returns the
// response's body; reading the whole response also takes in a TLS 1.3
// session ticket.
func tlsGet(t *testing.T, addr string, cfg *tls.Config) string {
	t.Helper()
	c, err := tls.DialWithDialer(&net.Dialer{Timeout: 2 * time.Second}, "tcp", addr, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(3 * time.Second))
	_, body := roundTrip(t, c, bufio.NewReader(c), "GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
	return body
}

// TestTLSSigalg checks $ssl_sigalg (nginx 1.29.3): the scheme the server
// signed a new session's handshake with, by its IANA name; not found ("-"
// in a log, empty here) for a resumed session, as nginx documents
// ("available only for new sessions"), and for TLS 1.2's RSA key exchange,
// which signs nothing. $ssl_client_sigalg is never found: crypto/tls does
// not tell it.
func TestTLSSigalg(t *testing.T) {
	dir := t.TempDir()
	_, rsa := tlsSites(t, dir)
	addr := startDaemon(t, dir, fmt.Sprintf(`
    server { listen 127.0.0.1:0 ssl; %s ssl_ciphers ECDHE-RSA-AES128-GCM-SHA256:AES128-GCM-SHA256;
        location / { return 200 "[$ssl_sigalg][$ssl_client_sigalg]"; }
    }`, rsa))
	tests := []struct {
		name   string
		config *tls.Config
		resume bool
		want   string
	}{
		{"TLS 1.3", &tls.Config{}, false, "[rsa_pss_rsae_sha256][]"},
		{"TLS 1.3 resumed", &tls.Config{}, true, "[][]"},
		{"TLS 1.2 ECDHE", &tls.Config{MaxVersion: tls.VersionTLS12}, false, "[rsa_pss_rsae_sha256][]"},
		{"TLS 1.2 RSA key exchange", &tls.Config{MaxVersion: tls.VersionTLS12, CipherSuites: []uint16{tls.TLS_RSA_WITH_AES_128_GCM_SHA256}}, false, "[][]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := tt.config
			cfg.InsecureSkipVerify = true
			cfg.ClientSessionCache = tls.NewLRUClientSessionCache(4)
			body := tlsGet(t, addr, cfg)
			if tt.resume {
				body = tlsGet(t, addr, cfg)
			}
			if body != tt.want {
				t.Errorf("got %q, want %q", body, tt.want)
			}
		})
	}
}

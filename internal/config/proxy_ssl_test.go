package config

import (
	"crypto/tls"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"fulcrum/internal/testutil"
)

func TestProxySSL(t *testing.T) {
	dir := t.TempDir()
	caFile, _ := testutil.WriteCert(t, dir, "ca", testutil.ECDSA, "ca.test")
	certFile, keyFile := testutil.WriteCert(t, dir, "client", testutil.ECDSA, "client.test")
	crlFile := filepath.Join(dir, "crl.pem")
	if err := os.WriteFile(crlFile, testutil.NewCA(t, "CA").CRL(t, time.Now(), time.Now().Add(time.Hour)), 0o644); err != nil {
		t.Fatal(err)
	}
	def := ProxySSL{VerifyDepth: 1, MinVersion: tls.VersionTLS12, MaxVersion: tls.VersionTLS13, SessionReuse: true}
	tests := []struct {
		name, http, loc string
		check           func(t *testing.T, got ProxySSL, pass *ProxyPass)
	}{
		{"defaults", "", "", func(t *testing.T, got ProxySSL, pass *ProxyPass) {
			if fmt.Sprint(got) != fmt.Sprint(def) {
				t.Errorf("got %s, want %s", got, def)
			}
			if pass.Scheme != "https" || pass.Upstream.Servers[0].Addr != "127.0.0.1:443" {
				t.Errorf("proxy_pass: scheme %q, server %s (want https, port 443)", pass.Scheme, pass.Upstream.Servers[0].Addr)
			}
		}},
		{"inherited from http", "proxy_ssl_server_name on; proxy_ssl_name up.test; proxy_ssl_session_reuse off;", "",
			func(t *testing.T, got ProxySSL, _ *ProxyPass) {
				if !got.ServerName || got.Name != "up.test" || got.SessionReuse {
					t.Errorf("got %s", got)
				}
			}},
		{"location overrides", "proxy_ssl_server_name on;", "proxy_ssl_server_name off; proxy_ssl_name $proxy_host;",
			func(t *testing.T, got ProxySSL, _ *ProxyPass) {
				if got.ServerName || got.Name != "" {
					t.Errorf("got %s", got)
				}
			}},
		{"name with variables, inherited", "proxy_ssl_name $host.up;", "",
			func(t *testing.T, got ProxySSL, _ *ProxyPass) {
				if got.Name != "" || got.NameTemplate != "$host.up" || got.NamePos.Line != 1 {
					t.Errorf("got %s at %v", got, got.NamePos)
				}
			}},
		{"plain name overrides a name with variables", "proxy_ssl_name $host;", "proxy_ssl_name up.test;",
			func(t *testing.T, got ProxySSL, _ *ProxyPass) {
				if got.Name != "up.test" || got.NameTemplate != "" {
					t.Errorf("got %s", got)
				}
			}},
		{"verify", "proxy_ssl_trusted_certificate " + caFile + ";", "proxy_ssl_verify on; proxy_ssl_verify_depth 3;",
			func(t *testing.T, got ProxySSL, _ *ProxyPass) {
				if !got.Verify || got.VerifyDepth != 3 || got.Roots == nil || got.TrustedCertificate != caFile {
					t.Errorf("got %s", got)
				}
			}},
		{"crl", "proxy_ssl_trusted_certificate " + caFile + "; proxy_ssl_crl " + crlFile + ";", "proxy_ssl_verify on;",
			func(t *testing.T, got ProxySSL, _ *ProxyPass) {
				if got.CRL != crlFile || len(got.CRLs) != 1 {
					t.Errorf("got %s (%d lists)", got, len(got.CRLs))
				}
			}},
		{"crl without verify is not loaded", "proxy_ssl_crl " + crlFile + ";", "",
			func(t *testing.T, got ProxySSL, _ *ProxyPass) {
				if got.CRL != "" || got.CRLs != nil {
					t.Errorf("got %s", got)
				}
			}},
		{"protocols and ciphers", "proxy_ssl_protocols TLSv1 TLSv1.1 TLSv1.2;", "proxy_ssl_ciphers ECDHE-RSA-AES128-GCM-SHA256;",
			func(t *testing.T, got ProxySSL, _ *ProxyPass) {
				if got.MinVersion != tls.VersionTLS10 || got.MaxVersion != tls.VersionTLS12 ||
					!slices.Equal(got.CipherSuites, []uint16{tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256}) {
					t.Errorf("got %s", got)
				}
			}},
		{"client certificate, key at another level", "proxy_ssl_certificate " + certFile + ";", "proxy_ssl_certificate_key " + keyFile + ";",
			func(t *testing.T, got ProxySSL, _ *ProxyPass) {
				if got.Certificate == nil || got.Certificate.KeyFile != keyFile || got.Certificate.Pair.PrivateKey == nil {
					t.Errorf("got %s", got)
				}
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := mustLoad(t, fmt.Sprintf("http { %s server { location / { %s proxy_pass https://127.0.0.1; } } }", tc.http, tc.loc))
			loc := cfg.HTTP.Servers[0].Locations[0]
			tc.check(t, loc.Settings.ProxySSL, loc.Settings.ProxyPass)
		})
	}
}

// TestProxySSLVerifyPlainHTTP: nginx checks proxy_ssl_verify's trusted
// certificate only where a proxy_pass https:// uses it, and proxy_ssl_crl
// only where proxy_ssl_verify is on too (checked with nginx 1.22.1: a file
// that is no CRL passes -t without proxy_ssl_verify).
func TestProxySSLVerifyPlainHTTP(t *testing.T) {
	mustLoad(t, "http { proxy_ssl_verify on; server { location / { proxy_pass http://127.0.0.1; } } }")
	mustLoad(t, "http { proxy_ssl_crl /nonexistent.pem; server { location / { proxy_pass https://127.0.0.1; } } }")
	dir := t.TempDir()
	caFile, _ := testutil.WriteCert(t, dir, "ca", testutil.ECDSA, "ca.test")
	_, err := loadText(t, "http { proxy_ssl_verify on; proxy_ssl_trusted_certificate "+caFile+"; proxy_ssl_crl "+caFile+"; server { location / { proxy_pass https://127.0.0.1; } } }")
	if err == nil || !strings.Contains(err.Error(), `no CRL in "`+caFile+`"`) {
		t.Errorf("got %v", err)
	}
}

// TestProxySSLCertificateVariables: nginx 1.21 loads a proxy_ssl_certificate
// whose name (or whose key's) has variables per handshake: both values are
// kept as written, with the password file's passphrases read at load; the
// key is still required (nginx: no "proxy_ssl_certificate_key" is defined).
func TestProxySSLCertificateVariables(t *testing.T) {
	dir := t.TempDir()
	pw := filepath.Join(dir, "pw")
	if err := os.WriteFile(pw, []byte("one\ntwo\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := mustLoad(t, "http { server { location / { proxy_ssl_certificate /$ssl_server_name.pem; proxy_ssl_certificate_key /x.key; proxy_ssl_password_file "+pw+"; proxy_pass https://127.0.0.1; } } }")
	c := cfg.HTTP.Servers[0].Locations[0].Settings.ProxySSL.Certificate
	if c == nil || c.CertTemplate != "/$ssl_server_name.pem" || c.KeyTemplate != "/x.key" || c.CertFile != "" || len(c.Passwords) != 2 || c.Dir == "" {
		t.Errorf("got %+v", c)
	}
	cfg = mustLoad(t, "http { server { location / { proxy_ssl_certificate /x.pem; proxy_ssl_certificate_key data:$http_x_key; proxy_pass https://127.0.0.1; } } }")
	if c := cfg.HTTP.Servers[0].Locations[0].Settings.ProxySSL.Certificate; c == nil || c.CertTemplate != "/x.pem" || c.KeyTemplate != "data:$http_x_key" {
		t.Errorf("got %+v", c)
	}
	_, err := loadText(t, "http { server { location / { proxy_ssl_certificate $c; proxy_pass https://127.0.0.1; } } }")
	if want := `no "proxy_ssl_certificate_key" is defined for certificate "$c" in nginx.conf:1`; err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("got %v, want %q", err, want)
	}
	mustLoad(t, "http { server { location / { proxy_ssl_certificate /$ssl_server_name.pem; proxy_ssl_certificate_key /x.key; proxy_pass http://127.0.0.1; } } }")
}

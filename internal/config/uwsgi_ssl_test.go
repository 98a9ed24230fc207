package config

import (
	"crypto/tls"
	"fmt"
	"strings"
	"testing"

	"fulcrum/internal/testutil"
)

// TestUWSGISSLErrors: "uwsgi_pass suwsgi://" and a uwsgi_pass with
// variables are checked as nginx 1.22.1 checks them (nginx -t, recorded):
// uwsgi_ssl_verify needs uwsgi_ssl_trusted_certificate, a client
// certificate needs its key; a plain uwsgi_pass is not checked.
func TestUWSGISSLErrors(t *testing.T) {
	tests := []struct {
		name, loc, want string
	}{
		{"verify without trusted certificates", "uwsgi_ssl_verify on; uwsgi_pass suwsgi://127.0.0.1:1;", `no uwsgi_ssl_trusted_certificate for uwsgi_ssl_verify in nginx.conf:1`},
		{"variables and verify", "uwsgi_ssl_verify on; uwsgi_pass $arg_u;", `no uwsgi_ssl_trusted_certificate for uwsgi_ssl_verify in nginx.conf:1`},
		{"certificate without its key", "uwsgi_ssl_certificate /x.pem; uwsgi_pass suwsgi://127.0.0.1:1;", `no "uwsgi_ssl_certificate_key" is defined for certificate "/x.pem" in nginx.conf:1`},
		{"proxy_ssl_certificate_key is not uwsgi's", "uwsgi_ssl_certificate /x.pem; proxy_ssl_certificate_key /x.key; uwsgi_pass suwsgi://127.0.0.1:1;", `no "uwsgi_ssl_certificate_key" is defined for certificate "/x.pem" in nginx.conf:1`},
		{"no port", "uwsgi_pass suwsgi://127.0.0.1;", `no port in upstream "127.0.0.1" in nginx.conf:1`},
		{"other scheme", "uwsgi_pass https://127.0.0.1:1;", `invalid host in upstream "https://127.0.0.1:1" in nginx.conf:1`},
		{"protocols", "uwsgi_ssl_protocols TLSv9; uwsgi_pass suwsgi://127.0.0.1:1;", `invalid value "TLSv9" in nginx.conf:1`},
		{"verify depth", "uwsgi_ssl_verify_depth x; uwsgi_pass suwsgi://127.0.0.1:1;", `"uwsgi_ssl_verify_depth" directive invalid number in nginx.conf:1`},
		{"missing trusted file", "uwsgi_ssl_trusted_certificate /nonexistent.pem; uwsgi_pass suwsgi://127.0.0.1:1;", `SSL_CTX_load_verify_locations("/nonexistent.pem") failed (SSL: error:80000002:system library::No such file or directory:calling fopen(/nonexistent.pem, r) error:10000080:BIO routines::no such file error:05880002:x509 certificate routines::system lib)`},
		{"missing crl with verify", "uwsgi_ssl_verify on; uwsgi_ssl_trusted_certificate CA; uwsgi_ssl_crl /nonexistent.pem; uwsgi_pass suwsgi://127.0.0.1:1;", `X509_LOOKUP_load_file("/nonexistent.pem") failed (SSL: error:80000002:system library::No such file or directory:calling fopen(/nonexistent.pem, r) error:10000080:BIO routines::no such file error:05880002:x509 certificate routines::system lib) in nginx.conf:1`},
		{"duplicate", "uwsgi_ssl_verify on; uwsgi_ssl_verify off;", `"uwsgi_ssl_verify" directive is duplicate in nginx.conf:1`},
	}
	caFile, _ := testutil.WriteCert(t, t.TempDir(), "ca", testutil.ECDSA, "ca.test")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			loc := strings.ReplaceAll(tt.loc, " CA;", " "+caFile+";")
			_, err := loadText(t, "http { server { location / { "+loc+" } } }")
			if err == nil {
				t.Fatalf("want error %q", tt.want)
			}
			if got := err.Error(); !strings.HasPrefix(got, tt.want) {
				t.Errorf("got  %q\nwant %q...", got, tt.want)
			}
		})
	}
	// A plain uwsgi_pass does not use them, and nginx does not check them.
	mustLoad(t, "http { server { location / { uwsgi_ssl_verify on; uwsgi_ssl_certificate /x.pem; uwsgi_pass 127.0.0.1:1; } } }")
}

// TestUWSGISSLSettings: suwsgi:// is read as TLS with the uwsgi_ssl_*
// settings, inherited from http and server as the proxy_ssl_* ones are and
// kept apart from them.
func TestUWSGISSLSettings(t *testing.T) {
	caFile, _ := testutil.WriteCert(t, t.TempDir(), "ca", testutil.ECDSA, "ca.test")
	cfg := mustLoad(t, fmt.Sprintf(`http {
		upstream app { server 127.0.0.1:1; }
		uwsgi_ssl_server_name on;
		uwsgi_ssl_trusted_certificate %s;
		server {
			uwsgi_ssl_name app.test;
			location /a { uwsgi_ssl_verify on; uwsgi_ssl_verify_depth 3; uwsgi_ssl_protocols TLSv1.3; uwsgi_ssl_session_reuse off; uwsgi_pass suwsgi://app; }
			location /b { uwsgi_ssl_name b.test; uwsgi_ssl_ciphers ECDHE-RSA-AES128-GCM-SHA256; uwsgi_pass SUWSGI://127.0.0.1:3031; }
			location /c { uwsgi_pass uwsgi://127.0.0.1:3031; }
			location /d { uwsgi_pass suwsgi://$arg_u; }
		}
	}`, caFile))
	locs := cfg.HTTP.Servers[0].Locations
	a, b, c, d := locs[0].Settings, locs[1].Settings, locs[2].Settings, locs[3].Settings
	if p := a.UWSGI.Pass; p == nil || !p.TLS || p.Address != "app" || p.Upstream == nil {
		t.Errorf("a: pass %+v", p)
	}
	if s := a.UWSGI.SSL; !s.ServerName || s.Name != "app.test" || !s.Verify || s.VerifyDepth != 3 || s.Roots == nil ||
		s.MinVersion != tls.VersionTLS13 || s.MaxVersion != tls.VersionTLS13 || s.SessionReuse {
		t.Errorf("a: ssl %s", s)
	}
	if a.ProxySSL.ServerName || a.ProxySSL.Verify || a.GRPC.SSL.Verify {
		t.Errorf("a: proxy_ssl or grpc_ssl changed: %s, %s", a.ProxySSL, a.GRPC.SSL)
	}
	if p := b.UWSGI.Pass; p == nil || !p.TLS || p.Address != "127.0.0.1:3031" {
		t.Errorf("b: pass %+v", p)
	}
	if s := b.UWSGI.SSL; s.Name != "b.test" || s.Verify || len(s.CipherSuites) != 1 || !s.SessionReuse || s.MinVersion != tls.VersionTLS12 {
		t.Errorf("b: ssl %s", s)
	}
	if p := c.UWSGI.Pass; p == nil || p.TLS || p.Address != "127.0.0.1:3031" {
		t.Errorf("c: pass %+v", p)
	}
	if p := d.UWSGI.Pass; p == nil || p.TLS || !p.HasVariables || p.Address != "suwsgi://$arg_u" {
		t.Errorf("d: pass %+v (the value's scheme decides)", p)
	}
	if s := c.UWSGI.SSL; !s.ServerName || s.Name != "app.test" || s.TrustedCertificate == "" {
		t.Errorf("c: inherited ssl %s", s)
	}
}

// TestUWSGISSLClientCertificate: uwsgi_ssl_certificate and its key are
// inherited each on its own (http -> server), loaded where suwsgi:// uses
// them, and kept apart from the proxy_ssl_* ones.
func TestUWSGISSLClientCertificate(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile := testutil.WriteCert(t, dir, "client", testutil.ECDSA, "client.test")
	cfg := mustLoad(t, fmt.Sprintf(`http {
		uwsgi_ssl_certificate %s;
		server {
			uwsgi_ssl_certificate_key %s;
			location /tls { uwsgi_pass suwsgi://127.0.0.1:3031; }
			location /plain { uwsgi_pass 127.0.0.1:3031; }
		}
	}`, certFile, keyFile))
	locs := cfg.HTTP.Servers[0].Locations
	if c := locs[0].Settings.UWSGI.SSL.Certificate; c == nil || c.KeyFile != keyFile || len(c.Pair.Certificate) == 0 {
		t.Errorf("tls: certificate %+v, want the pair loaded", c)
	}
	if c := locs[1].Settings.UWSGI.SSL.Certificate; c == nil || len(c.Pair.Certificate) != 0 {
		t.Errorf("plain: certificate %+v, want it recorded, not loaded", c)
	}
	if locs[0].Settings.ProxySSL.Certificate != nil {
		t.Errorf("proxy_ssl_certificate set: %+v", locs[0].Settings.ProxySSL.Certificate)
	}
}

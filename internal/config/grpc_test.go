package config

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"fulcrum/internal/testutil"
)

// TestGRPCPassErrors: grpc_pass and the grpc_* directives are refused with
// nginx 1.22.1's messages (checked with nginx -t).
func TestGRPCPassErrors(t *testing.T) {
	caFile, _ := testutil.WriteCert(t, t.TempDir(), "ca", testutil.ECDSA, "ca.test")
	tests := []struct {
		name, loc, want string
	}{
		{"other scheme", "grpc_pass http://127.0.0.1:5;", `invalid host in upstream "http://127.0.0.1:5" in nginx.conf:1`},
		{"URI part", "grpc_pass grpc://127.0.0.1:5/path;", `invalid host in upstream "127.0.0.1:5/path" in nginx.conf:1`},
		{"no port", "grpc_pass grpc://127.0.0.1;", `no port in upstream "127.0.0.1" in nginx.conf:1`},
		{"bad port", "grpc_pass grpc://127.0.0.1:99999;", `invalid port in upstream "127.0.0.1:99999" in nginx.conf:1`},
		{"upstream with a port", "grpc_pass grpc://up:5;", `upstream "up" may not have port 5 in nginx.conf:1`},
		{"duplicate", "grpc_pass 127.0.0.1:5; grpc_pass 127.0.0.1:6;", `"grpc_pass" directive is duplicate in nginx.conf:1`},
		{"variables and verify without trusted certificates", "grpc_pass $host; grpc_ssl_verify on;", `no grpc_ssl_trusted_certificate for grpc_ssl_verify in nginx.conf:1`},
		{"verify without trusted certificates", "grpc_pass grpcs://127.0.0.1:5; grpc_ssl_verify on;", `no grpc_ssl_trusted_certificate for grpc_ssl_verify in nginx.conf:1`},
		{"bad timeout", "grpc_pass 127.0.0.1:5; grpc_read_timeout abc;", `"grpc_read_timeout" directive invalid value in nginx.conf:1`},
		{"next upstream value", "grpc_pass 127.0.0.1:5; grpc_next_upstream bogus;", `invalid value "bogus" in nginx.conf:1, use one of: error, timeout`},
		{"off with others", "grpc_pass 127.0.0.1:5; grpc_next_upstream off error;", `"grpc_next_upstream off" cannot be combined with other values in nginx.conf:1`},
		{"client certificate without its key", "grpc_pass grpcs://127.0.0.1:5; grpc_ssl_certificate /x.pem;", `no "grpc_ssl_certificate_key" is defined for certificate "/x.pem" in nginx.conf:1`},
		{"proxy_ssl_certificate_key is not grpc's", "grpc_pass grpcs://127.0.0.1:5; grpc_ssl_certificate /x.pem; proxy_ssl_certificate_key /x.key;", `no "grpc_ssl_certificate_key" is defined for certificate "/x.pem" in nginx.conf:1`},
		{"missing certificate file", "grpc_pass grpcs://127.0.0.1:5; grpc_ssl_certificate /nonexistent.pem; grpc_ssl_certificate_key /nonexistent.key;", `cannot load certificate "/nonexistent.pem": BIO_new_file() failed (SSL: error:80000002:system library::No such file or directory:calling fopen(/nonexistent.pem, r) error:10000080:BIO routines::no such file) in nginx.conf:1`},
		{"variables in the certificate without a key", "grpc_pass grpcs://127.0.0.1:5; grpc_ssl_certificate /$host.pem;", `no "grpc_ssl_certificate_key" is defined for certificate`},
		{"duplicate certificate", "grpc_ssl_certificate /x.pem; grpc_ssl_certificate /x.pem;", `"grpc_ssl_certificate" directive is duplicate in nginx.conf:1`},
		{"duplicate password file", "grpc_ssl_password_file /x; grpc_ssl_password_file /x;", `"grpc_ssl_password_file" directive is duplicate in nginx.conf:1`},
		{"duplicate crl", "grpc_ssl_crl /x; grpc_ssl_crl /x;", `"grpc_ssl_crl" directive is duplicate in nginx.conf:1`},
		{"key arguments", "grpc_ssl_certificate_key a b;", `invalid number of arguments in "grpc_ssl_certificate_key" directive in nginx.conf:1`},
		{"missing crl with verify", "grpc_pass grpcs://127.0.0.1:5; grpc_ssl_verify on; grpc_ssl_trusted_certificate CA; grpc_ssl_crl /nonexistent.pem;", `X509_LOOKUP_load_file("/nonexistent.pem") failed (SSL: error:80000002:system library::No such file or directory:calling fopen(/nonexistent.pem, r) error:10000080:BIO routines::no such file error:05880002:x509 certificate routines::system lib) in nginx.conf:1`},
		{"in server", "", `"grpc_pass" directive is not allowed here in nginx.conf:1`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := fmt.Sprintf("http { upstream up { server 127.0.0.1:1; } server { location / { %s } } }", strings.ReplaceAll(tt.loc, " CA;", " "+caFile+";"))
			if tt.loc == "" {
				src = "http { server { grpc_pass 127.0.0.1:5; } }"
			}
			_, err := loadText(t, src)
			if err == nil {
				t.Fatalf("want error %q", tt.want)
			}
			if got := err.Error(); !strings.HasPrefix(got, tt.want) {
				t.Errorf("got  %q\nwant %q...", got, tt.want)
			}
		})
	}
}

func TestGRPCSettings(t *testing.T) {
	dir := t.TempDir()
	caFile, _ := testutil.WriteCert(t, dir, "ca", testutil.ECDSA, "ca.test")
	tests := []struct {
		name, http, loc string
		check           func(t *testing.T, set *Settings)
	}{
		{"defaults", "", "grpc_pass 127.0.0.1:50051;", func(t *testing.T, set *Settings) {
			p, g := set.GRPCPass, set.GRPC
			if p.TLS || p.Host != "127.0.0.1:50051" || p.Upstream.Servers[0].Addr != "127.0.0.1:50051" {
				t.Errorf("grpc_pass: %+v", p)
			}
			if g.ConnectTimeout != time.Minute || g.ReadTimeout != time.Minute || g.NextUpstream != NextError|NextTimeout || g.InterceptErrors || g.SocketKeepalive {
				t.Errorf("settings: %+v", g)
			}
		}},
		{"variables", "", "grpc_pass grpcs://$host:5;", func(t *testing.T, set *Settings) {
			if p := set.GRPCPass; !p.HasVariables || !p.TLS || p.Upstream != nil || p.URL != "grpcs://$host:5" {
				t.Errorf("grpc_pass: %+v", p)
			}
		}},
		{"variables with the scheme", "", "grpc_pass $b;", func(t *testing.T, set *Settings) {
			if p := set.GRPCPass; !p.HasVariables || p.TLS || p.Upstream != nil {
				t.Errorf("grpc_pass: %+v", p)
			}
		}},
		{"grpcs and an upstream block", "", "grpc_pass grpcs://up;", func(t *testing.T, set *Settings) {
			if p := set.GRPCPass; !p.TLS || p.Host != "up" || p.Upstream.Name != "up" {
				t.Errorf("grpc_pass: %+v", p)
			}
		}},
		{"inherited and overridden", "grpc_set_header X-A a; grpc_read_timeout 5s; grpc_hide_header X-H; grpc_ssl_server_name on; grpc_ssl_name n.test;",
			"grpc_pass grpc://127.0.0.1:1; grpc_read_timeout 1h; grpc_next_upstream error http_503 non_idempotent; grpc_next_upstream_tries 2; grpc_next_upstream_timeout 3s; grpc_intercept_errors on; grpc_socket_keepalive on; grpc_pass_header Server;",
			func(t *testing.T, set *Settings) {
				g := set.GRPC
				if len(g.SetHeaders) != 1 || g.SetHeaders[0].Name != "X-A" || g.ReadTimeout != time.Hour || fmt.Sprint(g.HideHeaders) != "[X-H]" || fmt.Sprint(g.PassHeaders) != "[Server]" {
					t.Errorf("settings: %+v", g)
				}
				if g.NextUpstream != NextError|NextHTTP503|NextNonIdempotent || g.NextUpstreamTries != 2 || g.NextUpstreamTimeout != 3*time.Second || !g.InterceptErrors || !g.SocketKeepalive {
					t.Errorf("retries: %+v", g)
				}
				if !g.SSL.ServerName || g.SSL.Name != "n.test" {
					t.Errorf("ssl: %s", g.SSL)
				}
			}},
		{"verify", "grpc_ssl_trusted_certificate " + caFile + ";", "grpc_pass grpcs://127.0.0.1:1; grpc_ssl_verify on; grpc_ssl_verify_depth 3; grpc_ssl_protocols TLSv1.3;",
			func(t *testing.T, set *Settings) {
				if s := set.GRPC.SSL; !s.Verify || s.VerifyDepth != 3 || s.Roots == nil || s.MinVersion != s.MaxVersion {
					t.Errorf("ssl: %s", s)
				}
				if set.ProxySSL.Verify || set.ProxySSL.Roots != nil {
					t.Errorf("proxy_ssl changed: %s", set.ProxySSL)
				}
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := mustLoad(t, fmt.Sprintf("http { upstream up { server 127.0.0.1:1; } %s server { location / { %s } } }", tc.http, tc.loc))
			tc.check(t, cfg.HTTP.Servers[0].Locations[0].Settings)
		})
	}
}

// TestGRPCSSLClientCertificate: grpc_ssl_certificate, _key, _password_file
// and grpc_ssl_crl are inherited each on its own (http -> server ->
// location), loaded only where a grpc_pass grpcs:// uses them (the CRL only
// with grpc_ssl_verify on), and kept apart from the proxy_ssl_* ones, as in
// nginx 1.22.1 (checked with nginx -t: a missing certificate or CRL file
// passes where it is not used).
func TestGRPCSSLClientCertificate(t *testing.T) {
	dir := t.TempDir()
	caFile, _ := testutil.WriteCert(t, dir, "ca", testutil.ECDSA, "ca.test")
	certFile, keyFile := testutil.WriteCert(t, dir, "client", testutil.ECDSA, "client.test")
	encCert, encKey := encryptedKey(t, dir, "s3cret")
	pwFile := filepath.Join(dir, "pw")
	if err := os.WriteFile(pwFile, []byte("wrong\ns3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	crlFile := filepath.Join(dir, "crl.pem")
	if err := os.WriteFile(crlFile, testutil.NewCA(t, "CA").CRL(t, time.Now(), time.Now().Add(time.Hour)), 0o644); err != nil {
		t.Fatal(err)
	}
	verify := "grpc_ssl_verify on; grpc_ssl_trusted_certificate " + caFile + "; "
	tests := []struct {
		name, http, server, loc string
		check                   func(t *testing.T, s ProxySSL)
	}{
		{"cert at http, key at server", "grpc_ssl_certificate " + certFile + ";", "grpc_ssl_certificate_key " + keyFile + ";", "grpc_pass grpcs://127.0.0.1:1;",
			func(t *testing.T, s ProxySSL) {
				if c := s.Certificate; c == nil || c.CertFile != certFile || c.KeyFile != keyFile || c.Pair.PrivateKey == nil {
					t.Errorf("got %s", s)
				}
			}},
		{"encrypted key, password file from http", "grpc_ssl_password_file " + pwFile + ";", "", "grpc_pass grpcs://127.0.0.1:1; grpc_ssl_certificate " + encCert + "; grpc_ssl_certificate_key " + encKey + ";",
			func(t *testing.T, s ProxySSL) {
				if c := s.Certificate; c == nil || c.PasswordFile != pwFile || c.Pair.PrivateKey == nil {
					t.Errorf("got %s", s)
				}
			}},
		{"location overrides the certificate", "grpc_ssl_certificate /nonexistent.pem; grpc_ssl_certificate_key " + keyFile + ";", "", "grpc_pass grpcs://127.0.0.1:1; grpc_ssl_certificate " + certFile + ";",
			func(t *testing.T, s ProxySSL) {
				if c := s.Certificate; c == nil || c.CertFile != certFile || c.Pair.PrivateKey == nil {
					t.Errorf("got %s", s)
				}
			}},
		{"not loaded for grpc://", "grpc_ssl_certificate /nonexistent.pem; grpc_ssl_crl /nonexistent.crl;", "", verify + "grpc_pass grpc://127.0.0.1:1;",
			func(t *testing.T, s ProxySSL) {
				if c := s.Certificate; c == nil || c.Pair.Certificate != nil || s.CRLs != nil {
					t.Errorf("got %s", s)
				}
			}},
		{"crl with verify", "grpc_ssl_crl " + crlFile + ";", verify, "grpc_pass grpcs://127.0.0.1:1;",
			func(t *testing.T, s ProxySSL) {
				if s.CRL != crlFile || len(s.CRLs) != 1 {
					t.Errorf("got %s (%d lists)", s, len(s.CRLs))
				}
			}},
		{"crl without verify is not loaded", "grpc_ssl_crl /nonexistent.crl;", "", "grpc_pass grpcs://127.0.0.1:1;",
			func(t *testing.T, s ProxySSL) {
				if s.CRL != "" || s.CRLs != nil {
					t.Errorf("got %s", s)
				}
			}},
		{"proxy_ssl_* do not apply", "proxy_ssl_certificate " + certFile + "; proxy_ssl_certificate_key " + keyFile + "; proxy_ssl_crl " + crlFile + ";", verify, "grpc_pass grpcs://127.0.0.1:1;",
			func(t *testing.T, s ProxySSL) {
				if s.Certificate != nil || s.CRLs != nil {
					t.Errorf("got %s", s)
				}
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := mustLoad(t, fmt.Sprintf("http { %s server { %s location / { %s } } }", tc.http, tc.server, tc.loc))
			tc.check(t, cfg.HTTP.Servers[0].Locations[0].Settings.GRPC.SSL)
		})
	}
}

// TestGRPCSSLKeyErrors: an encrypted grpc_ssl_certificate_key without
// grpc_ssl_password_file, or without the right passphrase in it, fails the
// load at the key's line.
func TestGRPCSSLKeyErrors(t *testing.T) {
	dir := t.TempDir()
	cert, key := encryptedKey(t, dir, "s3cret")
	bad := filepath.Join(dir, "bad")
	if err := os.WriteFile(bad, []byte("wrong\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	pair := "grpc_ssl_certificate " + cert + ";\ngrpc_ssl_certificate_key " + key + ";\n"
	tests := []struct{ name, loc, want, hint string }{
		{"no password file", pair, `cannot load certificate key "` + key + `": it is encrypted and no password file is given in nginx.conf:6`, "add grpc_ssl_password_file"},
		{"wrong passphrase", pair + "grpc_ssl_password_file " + bad + ";\n", `cannot load certificate key "` + key + `": no passphrase in "` + bad + `" decrypts it in nginx.conf:6`, "tried in order"},
		{"missing password file", pair + "grpc_ssl_password_file " + dir + "/nope;\n", `open() "` + dir + `/nope" failed (2: No such file or directory) in nginx.conf:7`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := loadText(t, "http {\n server {\n  location / {\n   grpc_pass grpcs://127.0.0.1:1;\n"+tt.loc+"  }\n }\n}\n")
			if err == nil || !strings.HasPrefix(err.Error(), tt.want) || !strings.Contains(err.Error(), tt.hint) {
				t.Errorf("got  %v\nwant %q (hint %q)", err, tt.want, tt.hint)
			}
		})
	}
}

// TestProxySSLIdentity: the identity that pools and gRPC clients are kept
// by changes when a reload reads a changed client certificate, trusted
// certificate or CRL file under the same name, and only then.
func TestProxySSLIdentity(t *testing.T) {
	dir := t.TempDir()
	caFile, _ := testutil.WriteCert(t, dir, "ca", testutil.ECDSA, "ca.test")
	certFile, keyFile := testutil.WriteCert(t, dir, "client", testutil.ECDSA, "client.test")
	crlFile := filepath.Join(dir, "crl.pem")
	ca := testutil.NewCA(t, "CA")
	writeCRL := func() {
		if err := os.WriteFile(crlFile, ca.CRL(t, time.Now(), time.Now().Add(time.Hour)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	writeCRL()
	src := fmt.Sprintf("http { server { location / { grpc_pass grpcs://127.0.0.1:1; grpc_ssl_verify on; grpc_ssl_trusted_certificate %s; grpc_ssl_crl %s; grpc_ssl_certificate %s; grpc_ssl_certificate_key %s; } } }", caFile, crlFile, certFile, keyFile)
	identity := func() string {
		return mustLoad(t, src).HTTP.Servers[0].Locations[0].Settings.GRPC.SSL.Identity()
	}
	first := identity()
	if again := identity(); again != first {
		t.Fatalf("unchanged files: %q then %q", first, again)
	}
	changes := []struct {
		name   string
		change func()
	}{
		{"crl", writeCRL},
		{"client certificate", func() { testutil.WriteCert(t, dir, "client", testutil.ECDSA, "client.test") }},
		{"trusted certificate", func() { testutil.WriteCert(t, dir, "ca", testutil.ECDSA, "ca.test") }},
	}
	prev := first
	for _, c := range changes {
		c.change()
		if now := identity(); now == prev {
			t.Errorf("%s changed, identity did not: %q", c.name, now)
		} else {
			prev = now
		}
	}
}

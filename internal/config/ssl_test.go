package config

import (
	"bytes"
	"crypto/sha256"
	"crypto/tls"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"fulcrum/internal/testutil"
)

// tlsFiles writes an ECDSA pair for a.test and another for b.test into a
// temporary directory.
func tlsFiles(t *testing.T) (dir, certA, keyA, certB, keyB string) {
	t.Helper()
	dir = t.TempDir()
	certA, keyA = testutil.WriteCert(t, dir, "a", testutil.ECDSA, "a.test")
	certB, keyB = testutil.WriteCert(t, dir, "b", testutil.ECDSA, "b.test")
	return dir, certA, keyA, certB, keyB
}

func TestTLSServers(t *testing.T) {
	_, certA, keyA, certB, keyB := tlsFiles(t)
	cfg := mustLoad(t, fmt.Sprintf(`http {
    ssl_certificate %s;
    ssl_certificate_key %s;
    server { listen 443 ssl; server_name a.test; }
    server {
        listen 443;
        server_name b.test;
        ssl_certificate %s;
        ssl_certificate_key %s;
        ssl_certificate %s;
        ssl_certificate_key %s;
        ssl_protocols TLSv1.3;
        ssl_session_tickets off;
        ssl_ecdh_curve X25519:prime256v1;
    }
    server { listen 8080; }
}`, certA, keyA, certB, keyB, certA, keyA))
	a, b, plain := cfg.HTTP.Servers[0], cfg.HTTP.Servers[1], cfg.HTTP.Servers[2]
	if !a.Listens[0].SSL || b.Listens[0].SSL || plain.Listens[0].SSL {
		t.Errorf("ssl flags: %v %v %v", a.Listens[0].SSL, b.Listens[0].SSL, plain.Listens[0].SSL)
	}
	if a.TLS == nil || len(a.TLS.Certificates) != 1 || a.TLS.Certificates[0].CertFile != certA {
		t.Fatalf("a inherits http's pair: %+v", a.TLS)
	}
	if a.TLS.MinVersion != tls.VersionTLS12 || a.TLS.MaxVersion != tls.VersionTLS13 || !a.TLS.SessionTickets || a.TLS.CipherSuites != nil {
		t.Errorf("a's defaults: %s", a.TLS)
	}
	if len(b.TLS.Certificates) != 2 || b.TLS.Certificates[1].CertFile != certA || b.TLS.MinVersion != tls.VersionTLS13 ||
		b.TLS.SessionTickets || !slices.Equal(b.TLS.Curves, []tls.CurveID{tls.X25519, tls.CurveP256}) {
		t.Errorf("b: %s", b.TLS)
	}
	if plain.TLS == nil { // http's certificate is inherited by every server, as in nginx
		t.Errorf("plain server: no inherited TLS")
	}
}

func TestTLSErrors(t *testing.T) {
	dir, certA, keyA, _, keyB := tlsFiles(t)
	notPEM := filepath.Join(dir, "not.pem")
	if err := os.WriteFile(notPEM, []byte("hello\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	pair := func(c, k string) string { return fmt.Sprintf("ssl_certificate %s; ssl_certificate_key %s;", c, k) }
	k40 := filepath.Join(dir, "k40")
	if err := os.WriteFile(k40, make([]byte, 40), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct{ name, server, want string }{
		{"no certificate", "listen 443 ssl;", `no "ssl_certificate" is defined for the "listen ... ssl" directive in nginx.conf:2`},
		{"no key", "listen 443 ssl; ssl_certificate " + certA + ";", `no "ssl_certificate_key" is defined for certificate "` + certA + `" in nginx.conf:3`},
		{"missing file", "listen 443 ssl; " + pair(dir+"/nope.pem", keyA), `cannot load certificate "` + dir + `/nope.pem": BIO_new_file() failed (SSL: error:80000002:system library::No such file or directory:calling fopen(` + dir + "/nope.pem" + `, r) error:10000080:BIO routines::no such file) in nginx.conf:3`},
		{"missing key", "listen 443 ssl; " + pair(certA, dir+"/nope.key"), `cannot load certificate key "` + dir + `/nope.key": BIO_new_file() failed (SSL: error:80000002:system library::No such file or directory:calling fopen(` + dir + "/nope.key" + `, r) error:10000080:BIO routines::no such file) in nginx.conf:3`},
		{"bad PEM", "listen 443 ssl; " + pair(notPEM, keyA), `cannot load certificate "` + notPEM + `" with key "` + keyA + `": tls: failed to find any PEM data in certificate input in nginx.conf:3, both files must be PEM`},
		{"key mismatch", "listen 443 ssl; " + pair(certA, keyB), `cannot load certificate "` + certA + `" with key "` + keyB + `": tls: private key does not match public key in nginx.conf:3, the key is not the certificate's`},
		{"protocol gap", "ssl_protocols TLSv1 TLSv1.2;", `fulcrum's TLS takes a range of versions, "ssl_protocols" has a gap in nginx.conf:3`},
		{"bad protocol", "ssl_protocols TLSv2;", `invalid value "TLSv2" in nginx.conf:3`}, // nginx's bitmask slot, recorded
		{"only SSLv3", "ssl_protocols SSLv3;", `no TLS version in "ssl_protocols" in nginx.conf:3`},
		{"no cipher", "ssl_ciphers aNULL:RC4;", `no cipher match in "ssl_ciphers aNULL:RC4" in nginx.conf:3`},
		// nginx 1.22.1 (recorded): SSL_CTX_set_cipher_list(...) failed
		// (SSL: error:0A000118:SSL routines::invalid command).
		{"BoringSSL group", `ssl_ciphers "[ECDHE-ECDSA-AES128-GCM-SHA256|ECDHE-ECDSA-CHACHA20-POLY1305]:ECDHE+AES128";`, `SSL_CTX_set_cipher_list("[ECDHE-ECDSA-AES128-GCM-SHA256|ECDHE-ECDSA-CHACHA20-POLY1305]:ECDHE+AES128") failed (SSL: error:0A000118:SSL routines::invalid command) in nginx.conf:3, "[A|B]" groups of equal preference are BoringSSL's`},
		{"wildcard", `ssl_ciphers "ECDHE+AESGCM:AES*";`, `SSL_CTX_set_cipher_list("ECDHE+AESGCM:AES*") failed (SSL: error:0A000118:SSL routines::invalid command) in nginx.conf:3, OpenSSL`},
		{"bar after a name", `ssl_ciphers "ECDHE-RSA-AES128-GCM-SHA256|AES128-SHA";`, `SSL_CTX_set_cipher_list("ECDHE-RSA-AES128-GCM-SHA256|AES128-SHA") failed (SSL: error:0A000118:SSL routines::invalid command)`},
		{"unknown @", `ssl_ciphers "HIGH:@FOO";`, `SSL_CTX_set_cipher_list("HIGH:@FOO") failed (SSL: error:0A000118:SSL routines::invalid command)`},
		// A name that is no OpenSSL group fails a list that has others
		// (recorded with nginx 1.22.1 and OpenSSL 3.0).
		{"curve OpenSSL lacks", "listen 443 ssl; " + pair(certA, keyA) + " ssl_ecdh_curve prime256v1:nosuch;", `SSL_CTX_set1_curves_list("prime256v1:nosuch") failed (SSL: error:0A080106:SSL routines::passed invalid argument:group 'nosuch' cannot be set) in nginx.conf:3`},
		{"no curve", "ssl_ecdh_curve X448;", `no curve fulcrum knows in "ssl_ecdh_curve X448" in nginx.conf:3`},
		// nginx 1.22 says this (without a place) for "on" and "optional";
		// ssl_trusted_certificate alone does not do (checked with nginx 1.22.1).
		{"verify client without CA", "listen 443 ssl; " + pair(certA, keyA) + " ssl_verify_client on;", `no ssl_client_certificate for ssl_verify_client in nginx.conf:3`},
		{"optional without CA", "listen 443 ssl; " + pair(certA, keyA) + " ssl_trusted_certificate " + certA + "; ssl_verify_client optional;", `no ssl_client_certificate for ssl_verify_client in nginx.conf:3`},
		{"bad verify mode", "ssl_verify_client yes;", `invalid value "yes" in nginx.conf:3`},
		{"bad depth", "ssl_verify_depth one;", `"ssl_verify_depth" directive invalid number in nginx.conf:3`},
		{"missing CA file", "ssl_client_certificate " + dir + "/nope.pem;", `SSL_CTX_load_verify_locations("` + dir + `/nope.pem") failed (SSL: error:80000002:system library::No such file or directory:calling fopen(` + dir + "/nope.pem" + `, r) error:10000080:BIO routines::no such file error:05880002:x509 certificate routines::system lib) in nginx.conf:3`},
		{"CA file without certificates", "ssl_client_certificate " + notPEM + ";", `no certificates in "` + notPEM + `" in nginx.conf:3`},
		// nginx loads ssl_crl with or without ssl_verify_client; it says
		// X509_LOOKUP_load_file("...") failed (...: no such file / no
		// certificate or crl found).
		{"missing CRL", "ssl_crl " + dir + "/nope.pem;", `X509_LOOKUP_load_file("` + dir + `/nope.pem") failed (SSL: error:80000002:system library::No such file or directory:calling fopen(` + dir + "/nope.pem" + `, r) error:10000080:BIO routines::no such file error:05880002:x509 certificate routines::system lib) in nginx.conf:3`},
		{"CRL file without CRLs", "ssl_crl " + certA + ";", `no CRL in "` + certA + `" in nginx.conf:3`},
		// nginx 1.22.1 -t said these (the first two without a place).
		{"ssl_ocsp with optional_no_ca", "listen 443 ssl; " + pair(certA, keyA) + " ssl_verify_client optional_no_ca; ssl_ocsp on;", `"ssl_ocsp" is incompatible with "ssl_verify_client optional_no_ca" in nginx.conf:3`},
		{"responder not http", "ssl_ocsp_responder ftp://x;", `invalid URL prefix in OCSP responder "ftp://x" in "ssl_ocsp_responder" in nginx.conf:3`},
		{"responder without host", "ssl_ocsp_responder http://;", `invalid URL prefix in OCSP responder "http://" in "ssl_ocsp_responder" in nginx.conf:3`},
		{"ocsp cache not shared", "ssl_ocsp_cache one:1m;", `invalid OCSP cache "one:1m" in nginx.conf:3`},
		{"ocsp cache without size", "ssl_ocsp_cache shared:one;", `invalid OCSP cache "shared:one" in nginx.conf:3`},
		{"ocsp cache bad size", "ssl_ocsp_cache shared:one:lots;", `invalid OCSP cache "shared:one:lots" in nginx.conf:3`},
		{"ocsp cache too small", "ssl_ocsp_cache shared:one:1k;", `OCSP cache "shared:one:1k" is too small in nginx.conf:3`},
		{"bad ssl_ocsp", "ssl_ocsp yes;", `invalid value "yes" in nginx.conf:3`},
		{"ticket key of 40 bytes", pair(certA, keyA) + " ssl_session_ticket_key " + k40 + ";", `"` + k40 + `" must be 48 or 80 bytes in nginx.conf:3`},
		// nginx 1.22.1 (recorded): BIO_new_file("...") failed (... No such file or directory ...).
		{"missing dhparam", "listen 443 ssl; " + pair(certA, keyA) + " ssl_dhparam " + dir + "/nope.pem;", `BIO_new_file("` + dir + `/nope.pem") failed (SSL: error:80000002:system library::No such file or directory:calling fopen(` + dir + "/nope.pem" + `, r) error:10000080:BIO routines::no such file) in nginx.conf:3`},
		// nginx 1.22.1 -t (recorded; it names the http block's last line).
		{"missing ticket key", pair(certA, keyA) + " ssl_session_ticket_key " + dir + "/nope;", `open() "` + dir + `/nope" failed (2: No such file or directory) in nginx.conf:3, check the path`},
		{"ticket key a directory", pair(certA, keyA) + " ssl_session_ticket_key " + dir + ";", `"` + dir + `" must be 48 or 80 bytes in nginx.conf:3`},
		{"missing ticket key, rejecting handshakes", "ssl_reject_handshake on; ssl_session_ticket_key " + dir + "/nope;", `open() "` + dir + `/nope" failed (2: No such file or directory) in nginx.conf:3`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := loadText(t, "http {\n    server {\n        "+tt.server+"\n    }\n}\n")
			if err == nil {
				t.Fatalf("want error %q", tt.want)
			}
			if got := err.Error(); !strings.HasPrefix(got, tt.want) {
				t.Errorf("got  %q\nwant %q...", got, tt.want)
			}
		})
	}
}

// TestRejectHandshake: ssl_reject_handshake is inherited from http and
// turned off per server; a default server that rejects handshakes needs no
// certificate, as nginx 1.22.1's -t accepted, and "ssl on" with it neither.
func TestRejectHandshake(t *testing.T) {
	_, certA, keyA, _, _ := tlsFiles(t)
	cfg := mustLoad(t, fmt.Sprintf(`http {
    ssl_reject_handshake on;
    server { listen 443 ssl default_server; }
    server { listen 443 ssl; server_name a.test; ssl_certificate %s; ssl_certificate_key %s; ssl_reject_handshake off; }
    server { listen 8443; ssl on; }
}`, certA, keyA))
	for i, want := range []bool{true, false, true} {
		if got := cfg.HTTP.Servers[i].TLS; got == nil || got.RejectHandshake != want {
			t.Errorf("server %d: %v, want RejectHandshake %t", i, got, want)
		}
	}
	if _, err := loadText(t, "http {\n    server {\n        listen 443 ssl; ssl_reject_handshake off;\n    }\n}\n"); err == nil ||
		!strings.Contains(err.Error(), `no "ssl_certificate" is defined for the "listen ... ssl" directive`) {
		t.Errorf("off without a certificate: %v, want nginx's error", err)
	}
}

// TestTicketKeys: ssl_session_ticket_key files of 48 and 80 bytes, in
// order, each key the SHA-256 of its file; the nearest level's list wins.
func TestTicketKeys(t *testing.T) {
	dir := t.TempDir()
	k48, k80 := bytes.Repeat([]byte{1}, 48), bytes.Repeat([]byte{2}, 80)
	f48, f80 := filepath.Join(dir, "k48"), filepath.Join(dir, "k80")
	for f, b := range map[string][]byte{f48: k48, f80: k80} {
		if err := os.WriteFile(f, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	_, certA, keyA, _, _ := tlsFiles(t)
	cfg := mustLoad(t, "http { ssl_certificate "+certA+"; ssl_certificate_key "+keyA+"; ssl_session_ticket_key "+f48+"; server { ssl_session_ticket_key "+f80+"; ssl_session_ticket_key "+f48+"; } server { } }")
	got := cfg.HTTP.Servers[0].TLS.TicketKeys
	if len(got) != 2 || got[0].File != f80 || got[0].Key != sha256.Sum256(k80) || got[1].Key != sha256.Sum256(k48) {
		t.Errorf("server: %+v", got)
	}
	if got := cfg.HTTP.Servers[1].TLS.TicketKeys; len(got) != 1 || got[0].File != f48 {
		t.Errorf("inherited: %+v", got)
	}
}

func TestTLSProtocols(t *testing.T) {
	tests := []struct {
		args   string
		lo, hi uint16
		warn   string
	}{
		{"TLSv1.2 TLSv1.3", tls.VersionTLS12, tls.VersionTLS13, ""},
		{"TLSv1 TLSv1.1 TLSv1.2 TLSv1.3", tls.VersionTLS10, tls.VersionTLS13, ""},
		{"TLSv1.2", tls.VersionTLS12, tls.VersionTLS12, ""},
		{"TLSv1.3", tls.VersionTLS13, tls.VersionTLS13, ""},
		{"SSLv3 TLSv1 TLSv1.1 TLSv1.2", tls.VersionTLS10, tls.VersionTLS12, `"SSLv3" in "ssl_protocols" is ignored`},
		// nginx 1.22.1's bitmask slot (recorded): names without case, and the
		// lines of one level add up, a name given again warned about (Debian's
		// http-level line with a snippet's included after it).
		{"TLSv1.2 TLSV1.3", tls.VersionTLS12, tls.VersionTLS13, ""},
		{"TLSv1.2; ssl_protocols TLSv1.3", tls.VersionTLS12, tls.VersionTLS13, ""},
		{"TLSv1 TLSv1.1 TLSv1.2 TLSv1.3; ssl_protocols TLSv1.2 TLSv1.3", tls.VersionTLS10, tls.VersionTLS13, `duplicate value "TLSv1.2"` + "\n" + `duplicate value "TLSv1.3"`},
	}
	for _, tt := range tests {
		t.Run(tt.args, func(t *testing.T) {
			cfg := mustLoad(t, "http { server { ssl_protocols "+tt.args+"; } }")
			got := cfg.HTTP.Servers[0].TLS
			if got.MinVersion != tt.lo || got.MaxVersion != tt.hi {
				t.Errorf("got %#x-%#x, want %#x-%#x", got.MinVersion, got.MaxVersion, tt.lo, tt.hi)
			}
			if w := warningsText(cfg); !strings.Contains(w, tt.warn) || (tt.warn == "" && w != "") {
				t.Errorf("warnings %q, want %q", w, tt.warn)
			}
		})
	}
}

func warningsText(cfg *Config) string {
	var out []string
	for _, w := range cfg.Warnings {
		out = append(out, w.Msg)
	}
	return strings.Join(out, "\n")
}

func TestTLSCiphers(t *testing.T) {
	names := func(ids []uint16) string {
		var out []string
		for _, id := range ids {
			out = append(out, CipherName(id))
		}
		return strings.Join(out, ":")
	}
	ecdheGCM := "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384"
	tests := []struct{ list, want, warn string }{
		{"HIGH:!aNULL:!MD5", names(ids(tls12Suites())), ""},
		{"ECDHE+AESGCM", ecdheGCM, ""},
		{"ECDHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-CHACHA20-POLY1305", "ECDHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-CHACHA20-POLY1305", ""},
		{"ECDHE+AESGCM:ECDHE+CHACHA20:!ECDSA", "ECDHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-RSA-CHACHA20-POLY1305", ""},
		{"AESGCM:-kRSA:+AES256:@STRENGTH", ecdheGCM, ""},
		{"!ECDSA:ECDHE+AES256+SHA384", "ECDHE-RSA-AES256-GCM-SHA384", ""},
		{"DHE-RSA-AES128-GCM-SHA256 ECDHE-RSA-AES256-GCM-SHA384", "ECDHE-RSA-AES256-GCM-SHA384", `ciphers DHE-RSA-AES128-GCM-SHA256 in "ssl_ciphers" are ignored`},
		{"kRSA+SHA1", "AES128-SHA:AES256-SHA", ""},
		// OpenSSL 3 ignores an item whose name it does not know, whatever
		// follows it (recorded with nginx 1.22.1: TLS 1.3 names, "x_y", "A/B").
		{"TLS_AES_128_GCM_SHA256:ECDHE+AESGCM", ecdheGCM, ""},
		{"ECDHE+AESGCM:A/B", ecdheGCM, `ciphers A/B in "ssl_ciphers" are ignored`},
		{"ECDHE+AESGCM;!ECDSA", "ECDHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-AES256-GCM-SHA384", ""}, // ";" separates, as in OpenSSL
	}
	for _, tt := range tests {
		t.Run(tt.list, func(t *testing.T) {
			cfg := mustLoad(t, `http { server { ssl_ciphers "`+tt.list+`"; } }`)
			if got := names(cfg.HTTP.Servers[0].TLS.CipherSuites); got != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
			if w := warningsText(cfg); !strings.Contains(w, tt.warn) || (tt.warn == "" && w != "") {
				t.Errorf("warnings %q, want %q", w, tt.warn)
			}
		})
	}
}

func ids(cs []CipherSuite) []uint16 {
	var out []uint16
	for _, c := range cs {
		out = append(out, c.ID)
	}
	return out
}

func TestCipherNames(t *testing.T) {
	for _, c := range CipherSuites {
		if tls.CipherSuiteName(c.ID) == fmt.Sprintf("0x%04X", c.ID) {
			t.Errorf("%s: Go does not know %#x", c.OpenSSL, c.ID)
		}
	}
	if got := CipherName(tls.TLS_AES_128_GCM_SHA256); got != "TLS_AES_128_GCM_SHA256" {
		t.Errorf("TLS 1.3 name %q", got)
	}
}

func TestTLSClientAuth(t *testing.T) {
	_, certA, keyA, certB, _ := tlsFiles(t)
	pair := fmt.Sprintf("ssl_certificate %s; ssl_certificate_key %s;", certA, keyA)
	tests := []struct {
		name, http, server string
		want               ClientVerify
		depth              int
		client, trusted    string
	}{
		{"default", "", "", VerifyOff, 1, "", ""},
		{"on", "ssl_client_certificate " + certA + ";", "ssl_verify_client on;", VerifyOn, 1, certA, ""},
		{"optional, depth", "", "ssl_client_certificate " + certA + "; ssl_verify_client optional; ssl_verify_depth 3;", VerifyOptional, 3, certA, ""},
		// optional_no_ca needs no CA file at all (nginx 1.22.1 loads it).
		{"optional_no_ca", "", "ssl_verify_client optional_no_ca;", VerifyOptionalNoCA, 1, "", ""},
		{"inherited, trusted", "ssl_verify_client on; ssl_verify_depth 0; ssl_client_certificate " + certA + ";", "ssl_trusted_certificate " + certB + ";", VerifyOn, 0, certA, certB},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := mustLoad(t, "http { "+pair+" "+tt.http+" server { listen 443 ssl; "+tt.server+" } }")
			a := cfg.HTTP.Servers[0].TLS.ClientAuth
			if a.Verify != tt.want || a.Depth != tt.depth || a.ClientCertificate != tt.client || a.TrustedCertificate != tt.trusted {
				t.Errorf("got %s", a)
			}
			if tt.client != "" && len(a.ClientCAs) != 1 {
				t.Errorf("client CAs: %d", len(a.ClientCAs))
			}
			if tt.trusted != "" && len(a.TrustedCAs) != 1 {
				t.Errorf("trusted CAs: %d", len(a.TrustedCAs))
			}
		})
	}
	ocsp := mustLoad(t, "http { "+pair+" ssl_ocsp_cache shared:o:32k; server { listen 443 ssl; ssl_client_certificate "+certA+"; ssl_verify_client on; ssl_ocsp leaf; ssl_ocsp_responder http://127.0.0.1:8080/o; } server { listen 443 ssl; ssl_ocsp on; ssl_ocsp_cache off; } }")
	if a := ocsp.HTTP.Servers[0].TLS.ClientAuth; a.OCSP != OCSPLeaf || a.OCSPResponder != "http://127.0.0.1:8080/o" || a.OCSPCache == nil || *a.OCSPCache != (OCSPCache{Name: "o", Size: 32768}) {
		t.Errorf("ssl_ocsp leaf: %s", a)
	}
	if a := ocsp.HTTP.Servers[1].TLS.ClientAuth; a.OCSP != OCSPOn || a.OCSPResponder != "" || a.OCSPCache != nil {
		t.Errorf("ssl_ocsp on, cache off: %s", a)
	}
	// A server without "listen ... ssl" is not checked, as in nginx: the
	// http level's ssl_verify_client on needs no CA file there.
	cfg := mustLoad(t, "http { ssl_verify_client on; server { listen 8080; } }")
	if got := cfg.HTTP.Servers[0].TLS.ClientAuth.Verify; got != VerifyOn {
		t.Errorf("plain server: %s", got)
	}
}

// TestTicketKeyUnreadable: a key file fulcrum's user may not read is nginx
// 1.22.1's "open() ... failed (13: Permission denied)" (recorded with nginx
// -t run as nobody; it exits 1). Root reads any file: skipped as root.
func TestTicketKeyUnreadable(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("root reads the file anyway")
	}
	file := filepath.Join(t.TempDir(), "ticket.key")
	if err := os.WriteFile(file, make([]byte, 80), 0o000); err != nil {
		t.Fatal(err)
	}
	_, certA, keyA, _, _ := tlsFiles(t)
	_, err := loadText(t, fmt.Sprintf("http {\n    server {\n        ssl_certificate %s; ssl_certificate_key %s; ssl_session_ticket_key %s;\n    }\n}\n", certA, keyA, file))
	want := `open() "` + file + `" failed (13: Permission denied) in nginx.conf:3, fulcrum reads the file`
	if err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Errorf("got %v, want %q...", err, want)
	}
}

// TestTicketKeyUnread: nginx 1.22.1 reads ssl_session_ticket_key files when
// it sets up a server's TLS, so a server without certificates (nor
// ssl_reject_handshake) never opens them: nginx -t took a plain server
// naming a missing file (recorded).
func TestTicketKeyUnread(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "nope.key")
	cfg := mustLoad(t, "http {\n    server {\n        listen 8080;\n        ssl_session_ticket_key "+missing+";\n    }\n}\n")
	if tls := cfg.HTTP.Servers[0].TLS; tls != nil && len(tls.TicketKeys) > 0 {
		t.Errorf("keys %v, want none read", tls.TicketKeys)
	}
}

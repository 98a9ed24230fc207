package config

import (
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"fulcrum/internal/testutil"
)

// TestStapling checks which certificates staple, and nginx 1.22.1's
// warnings for the ones it ignores (checked with nginx -t): no issuer in the
// certificate file nor in ssl_trusted_certificate, no OCSP URL in the
// certificate, a responder that is not http://.
func TestStapling(t *testing.T) {
	dir := t.TempDir()
	ca := testutil.NewCA(t, "CA")
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	issue := func(name string, ocspURL ...string) (chain, alone, key string) {
		certPEM, keyPEM := ca.Issue(t, testutil.Leaf{Subject: pkix.Name{CommonName: name}, DNSNames: []string{name},
			ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, OCSPServer: ocspURL})
		return write(name+"-chain.pem", append(append([]byte(nil), certPEM...), ca.PEM...)), write(name+".pem", certPEM), write(name+".key", keyPEM)
	}
	chain, alone, key := issue("a.test", "http://127.0.0.1:9/ocsp")
	noURL, _, noURLKey := issue("b.test")
	caFile := write("ca.pem", ca.PEM)
	resp := write("resp.der", []byte{0x30, 0x03, 0x0a, 0x01, 0x00}) // OCSPResponse{successful}, no bytes
	pair := func(c, k string) string { return fmt.Sprintf("ssl_certificate %s; ssl_certificate_key %s; ", c, k) }
	tests := []struct {
		name, server string
		responder    string // the Staple's, "" for none
		file         bool
		warn         string
	}{
		{"issuer in the file", pair(chain, key) + "ssl_stapling on;", "http://127.0.0.1:9/ocsp", false, ""},
		{"issuer in ssl_trusted_certificate", pair(alone, key) + "ssl_stapling on; ssl_trusted_certificate " + caFile + ";", "http://127.0.0.1:9/ocsp", false, ""},
		{"no issuer", pair(alone, key) + "ssl_stapling on;", "", false,
			`"ssl_stapling" ignored, issuer certificate not found for certificate "` + alone + `"`},
		{"no URL", pair(noURL, noURLKey) + "ssl_stapling on;", "", false,
			`"ssl_stapling" ignored, no OCSP responder URL in the certificate "` + noURL + `"`},
		{"responder given", pair(noURL, noURLKey) + "ssl_stapling on; ssl_stapling_responder http://127.0.0.1:8/;", "http://127.0.0.1:8/", false, ""},
		{"https responder", pair(chain, key) + "ssl_stapling on; ssl_stapling_responder https://127.0.0.1:8/;", "", false,
			`"ssl_stapling" ignored, invalid URL prefix in OCSP responder "https://127.0.0.1:8/" in the certificate "` + chain + `"`},
		{"file, no issuer needed", pair(alone, key) + "ssl_stapling on; ssl_stapling_file " + resp + ";", "", true, ""},
		{"off", pair(chain, key) + "ssl_stapling off; ssl_stapling_file " + dir + "/nope;", "", false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := mustLoad(t, "http { server { listen 443 ssl; "+tt.server+" } }")
			st := cfg.HTTP.Servers[0].TLS.Certificates[0].Staple
			switch {
			case tt.responder != "" && (st == nil || st.Responder != tt.responder || st.Issuer == nil || !st.Issuer.Equal(ca.Cert)):
				t.Errorf("staple %+v, want responder %s and the issuer", st, tt.responder)
			case tt.file && (st == nil || len(st.Response) != 5):
				t.Errorf("staple %+v, want the file's response", st)
			case tt.responder == "" && !tt.file && st != nil:
				t.Errorf("staple %+v, want none", st)
			}
			if w := warningsText(cfg); w != tt.warn {
				t.Errorf("warnings %q, want %q", w, tt.warn)
			}
		})
	}
}

// TestStaplingWarningPerServer: nginx sets up each server's TLS on its own
// and warns about an ignored ssl_stapling once per server that has a
// certificate, even when every server takes it from one line (an http-level
// one, or a file each includes, as SWAG's ssl.conf): nginx 1.22.1 -t wrote the
// warning three times for an http-level ssl_stapling on with servers a, b
// (listen ssl) and plain (no ssl, the http-level certificate inherited), none
// for c (ssl_stapling off), and twice for two servers that include the file.
func TestStaplingWarningPerServer(t *testing.T) {
	dir := t.TempDir()
	ca := testutil.NewCA(t, "CA")
	certPEM, keyPEM := ca.Issue(t, testutil.Leaf{Subject: pkix.Name{CommonName: "a.test"}, DNSNames: []string{"a.test"},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}})
	cert, key, inc := filepath.Join(dir, "a.pem"), filepath.Join(dir, "a.key"), filepath.Join(dir, "ssl.conf")
	pair := fmt.Sprintf("ssl_certificate %s; ssl_certificate_key %s; ssl_stapling on;", cert, key)
	for p, data := range map[string]string{cert: string(certPEM), key: string(keyPEM), inc: pair} {
		if err := os.WriteFile(p, []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	warn := `"ssl_stapling" ignored, issuer certificate not found for certificate "` + cert + `"`
	tests := []struct {
		name, src string
		n         int
	}{
		{"http level", "http { " + pair + " server { listen 443 ssl; server_name a; } server { listen 443 ssl; server_name b; } " +
			"server { listen 80; server_name plain; } server { listen 8443 ssl; server_name c; ssl_stapling off; } }", 3},
		{"included", "http { server { listen 443 ssl; server_name a; include " + inc + "; } server { listen 443 ssl; server_name b; include " + inc + "; } }", 2},
		{"one server", "http { server { listen 443 ssl; " + pair + " } }", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := mustLoad(t, tt.src)
			if got := strings.Count(warningsText(cfg), warn); got != tt.n {
				t.Errorf("the warning came %d times, want %d (one per server):\n%s", got, tt.n, warningsText(cfg))
			}
		})
	}
}

// TestStaplingFileErrors: ssl_stapling_file must exist and be a DER OCSP
// response (nginx: BIO_new_file() / d2i_OCSP_RESPONSE_bio() failed).
func TestStaplingFileErrors(t *testing.T) {
	dir, certA, keyA, _, _ := tlsFiles(t)
	tests := []struct{ name, file, want string }{
		{"missing", dir + "/nope.der", `BIO_new_file("` + dir + `/nope.der") failed (SSL: error:80000002:system library::No such file or directory:calling fopen(` + dir + "/nope.der" + `, rb) error:10000080:BIO routines::no such file) in nginx.conf:1`},
		{"PEM, not DER", certA, `cannot load OCSP response "` + certA + `": asn1: structure error`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := loadText(t, fmt.Sprintf("http { server { listen 443 ssl; ssl_certificate %s; ssl_certificate_key %s; ssl_stapling on; ssl_stapling_file %s; } }", certA, keyA, tt.file))
			if err == nil || !strings.HasPrefix(err.Error(), tt.want) {
				t.Errorf("got %v\nwant %q...", err, tt.want)
			}
		})
	}
}

package config

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCertificateVariables checks ssl_certificate and ssl_certificate_key
// with variables (nginx 1.15.9) in http and stream: every pair of the
// level is then loaded per handshake (the values are kept as written and
// no file is read at load, so a missing one is no error), the password
// file is read at load, and ssl_stapling staples nothing, as nginx 1.22.1
// -t took them (recorded). The mail block takes "$" literally.
func TestCertificateVariables(t *testing.T) {
	dir, certA, keyA, _, _ := tlsFiles(t)
	pw := filepath.Join(dir, "pw")
	if err := os.WriteFile(pw, []byte("one\ntwo\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	type pair struct{ cert, key string }
	tests := []struct {
		name, conf string
		want       []pair
		passwords  int
	}{
		{"http server", `http { server { listen 443 ssl; ssl_certificate /c/$ssl_server_name.crt; ssl_certificate_key /c/$ssl_server_name.key; } }`,
			[]pair{{"/c/$ssl_server_name.crt", "/c/$ssl_server_name.key"}}, 0},
		// A static pair beside one with variables is loaded per
		// handshake too (ngx_http_ssl_compile_certificates).
		{"mixed", fmt.Sprintf(`http { server { listen 443 ssl; ssl_certificate %s; ssl_certificate_key %s; ssl_certificate $host.crt; ssl_certificate_key $host.key; } }`, certA, keyA),
			[]pair{{certA, keyA}, {"$host.crt", "$host.key"}}, 0},
		{"variables in the key only", fmt.Sprintf(`http { server { listen 443 ssl; ssl_certificate %s; ssl_certificate_key /k/$ssl_server_name.key; } }`, certA),
			[]pair{{certA, "/k/$ssl_server_name.key"}}, 0},
		{"inherited from http, with a password file and stapling", fmt.Sprintf(`http { ssl_password_file %s; ssl_stapling on; ssl_certificate data:$x; ssl_certificate_key data:$x; server { listen 443 ssl; } }`, pw),
			[]pair{{"data:$x", "data:$x"}}, 2},
		{"more keys than certificates", `http { server { listen 443 ssl; ssl_certificate $ssl_server_name.crt; ssl_certificate_key a.key; ssl_certificate_key b.key; } }`,
			[]pair{{"$ssl_server_name.crt", "a.key"}}, 0},
		{"stream", `stream { server { listen 127.0.0.1:5000 ssl; ssl_certificate /s/$ssl_server_name.crt; ssl_certificate_key /s/$ssl_server_name.key; return x; } }`,
			[]pair{{"/s/$ssl_server_name.crt", "/s/$ssl_server_name.key"}}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := mustLoad(t, tt.conf)
			var tl *TLS
			if cfg.Stream != nil {
				tl = cfg.Stream.Servers[0].TLS
			} else {
				tl = cfg.HTTP.Servers[0].TLS
			}
			if !tl.Dynamic() || len(tl.Certificates) != len(tt.want) {
				t.Fatalf("certificates: %s", tl)
			}
			for i, w := range tt.want {
				c := tl.Certificates[i]
				if c.CertTemplate != w.cert || c.KeyTemplate != w.key || c.CertFile != "" || len(c.Pair.Certificate) != 0 || c.Staple != nil {
					t.Errorf("%d: %q %q file %q", i, c.CertTemplate, c.KeyTemplate, c.CertFile)
				}
				if len(c.Passwords) != tt.passwords || c.Dir == "" {
					t.Errorf("%d: passwords %q dir %q", i, c.Passwords, c.Dir)
				}
			}
			if tl.Stapling != nil {
				t.Errorf("stapling: %+v", tl.Stapling)
			}
		})
	}
}

// TestCertificateVariablesErrors checks nginx 1.22.1's -t errors (recorded)
// for certificates with variables and the count of keys, which nginx
// checks before it reads any file, naming the last certificate.
func TestCertificateVariablesErrors(t *testing.T) {
	dir := t.TempDir()
	tests := []struct{ name, conf, want string }{
		{"no key", `http { server { listen 443 ssl; ssl_certificate $ssl_server_name.crt; } }`,
			`no "ssl_certificate_key" is defined for certificate "$ssl_server_name.crt" in nginx.conf:1`},
		{"fewer keys names the last", `http { server { listen 443 ssl; ssl_certificate a.crt;
ssl_certificate b.crt;
ssl_certificate c.crt; ssl_certificate_key a.key; } }`,
			`no "ssl_certificate_key" is defined for certificate "c.crt" in nginx.conf:3`},
		{"missing password file", `http { server { listen 443 ssl; ssl_certificate $ssl_server_name.crt; ssl_certificate_key a.key; ssl_password_file ` + dir + `/nope; } }`,
			`open() "` + dir + `/nope" failed (2: No such file or directory) in nginx.conf:1`},
		// nginx 1.22.1 reads the file at parse time, whether a key needs
		// it or not (recorded).
		{"missing password file, no certificate", `http { server { listen 80; ssl_password_file ` + dir + `/nope; } }`,
			`open() "` + dir + `/nope" failed (2: No such file or directory) in nginx.conf:1`},
		{"stream: missing password file, no certificate", `stream { server { listen 127.0.0.1:5000; ssl_password_file ` + dir + `/nope; return x; } }`,
			`open() "` + dir + `/nope" failed (2: No such file or directory) in nginx.conf:1`},
		{"stream: no key", `stream { server { listen 127.0.0.1:5000 ssl; ssl_certificate $ssl_server_name.crt; return x; } }`,
			`no "ssl_certificate_key" is defined for the "listen ... ssl" directive in nginx.conf:1`},
		{"stream: fewer keys", `stream { server { ssl_certificate_key a.key;
listen 127.0.0.1:5000 ssl;
ssl_certificate a.crt; ssl_certificate b.crt; return x; } }`,
			`no "ssl_certificate_key" is defined for certificate "b.crt" and the "listen ... ssl" directive in nginx.conf:2`},
		{"mail: fewer keys", `mail { server_name x; auth_http 127.0.0.1:1; server { listen 127.0.0.1:5000 ssl; protocol smtp; ssl_certificate a.crt; ssl_certificate b.crt; ssl_certificate_key a.key; } }`,
			`no "ssl_certificate_key" is defined for certificate "b.crt" and the "listen ... ssl" directive in nginx.conf:1`},
		{"mail: starttls without a key", `mail { server_name x; auth_http 127.0.0.1:1; server { listen 127.0.0.1:5000; protocol smtp; starttls on; ssl_certificate a.crt; } }`,
			`no "ssl_certificate_key" is defined for the "starttls" directive in nginx.conf:1`},
		// nginx 1.22.1's mail module has no variables: the name is a file's.
		{"mail: $ is literal", `mail { server_name x; auth_http 127.0.0.1:1; server { listen 127.0.0.1:5000 ssl; protocol smtp; ssl_certificate ` + dir + `/$ssl_server_name.crt; ssl_certificate_key a.key; } }`,
			`cannot load certificate "` + dir + `/$ssl_server_name.crt": BIO_new_file() failed`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := loadText(t, tt.conf)
			if err == nil {
				t.Fatalf("want error %q", tt.want)
			}
			if got := err.Error(); !strings.HasPrefix(got, tt.want) {
				t.Errorf("got  %q\nwant %q...", got, tt.want)
			}
		})
	}
}

// TestCertificatesOnlyWithTLS checks that a stream or mail server that
// does not speak TLS reads no certificate, as nginx 1.22.1's stream and
// mail modules (recorded: -t took missing files and too few keys there),
// while an http server reads its own in any case.
func TestCertificatesOnlyWithTLS(t *testing.T) {
	const files = "ssl_certificate /nope/a.crt; ssl_certificate /nope/b.crt; ssl_certificate_key /nope/a.key;"
	cfg := mustLoad(t, `stream { server { listen 127.0.0.1:5000; `+files+` return x; } }
mail { server_name x; auth_http 127.0.0.1:1; server { listen 127.0.0.1:5001; protocol smtp; `+files+` } }`)
	if tl := cfg.Stream.Servers[0].TLS; tl == nil || len(tl.Certificates) != 0 {
		t.Errorf("stream: %v", tl)
	}
	if tl := cfg.Mail.Servers[0].TLS; tl == nil || len(tl.Certificates) != 0 {
		t.Errorf("mail: %v", tl)
	}
	_, err := loadText(t, `http { server { listen 80; `+files+` } }`)
	if err == nil || !strings.HasPrefix(err.Error(), `no "ssl_certificate_key" is defined for certificate "/nope/b.crt"`) {
		t.Errorf("http: %v", err)
	}
}

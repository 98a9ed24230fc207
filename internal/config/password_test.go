package config

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"fulcrum/internal/testutil"
)

// encryptedKey writes an ECDSA pair for a.test whose key openssl encrypts
// (PKCS#8, AES-256, OpenSSL 3's default) with passphrase.
func encryptedKey(t *testing.T, dir, passphrase string) (cert, key string) {
	t.Helper()
	if _, err := exec.LookPath("openssl"); err != nil {
		t.Skip("no openssl to encrypt a key")
	}
	cert, plain := testutil.WriteCert(t, dir, "enc", testutil.ECDSA, "a.test")
	key = filepath.Join(dir, "enc-aes.key")
	if out, err := exec.Command("openssl", "pkey", "-in", plain, "-aes256", "-passout", "pass:"+passphrase, "-out", key).CombinedOutput(); err != nil {
		t.Fatalf("openssl: %v %s", err, out)
	}
	return cert, key
}

// TestPasswordFile loads encrypted keys with ssl_password_file and
// proxy_ssl_password_file. The file's reading is nginx 1.22.1's, checked
// with nginx -t: one passphrase a line, tried in order; "\r\n" ends a line
// as "\n" does; empty lines are skipped; a trailing space or tab is part of
// the passphrase.
func TestPasswordFile(t *testing.T) {
	dir := t.TempDir()
	cert, key := encryptedKey(t, dir, "s3cret")
	pw := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	first, later, crlf := pw("first", "s3cret\n"), pw("later", "wrong\n\nother\ns3cret"), pw("crlf", "s3cret\r\n")
	space, tab, empty := pw("space", "s3cret \n"), pw("tab", "s3cret\t\n"), pw("empty", "")
	pair := fmt.Sprintf("ssl_certificate %s; ssl_certificate_key %s;", cert, key)
	tests := []struct {
		name, http, server string
		err                string // "" when it loads
	}{
		{"first line", "", pair + " ssl_password_file " + first + ";", ""},
		{"tried in order", "", pair + " ssl_password_file " + later + ";", ""},
		{"CRLF", "", pair + " ssl_password_file " + crlf + ";", ""},
		{"inherited from http", "ssl_password_file " + later + ";", pair, ""},
		{"trailing space counts", "", pair + " ssl_password_file " + space + ";", `cannot load certificate key "` + key + `": no passphrase in "` + space + `" decrypts it in nginx.conf:3`},
		{"trailing tab counts", "", pair + " ssl_password_file " + tab + ";", "no passphrase in"},
		{"empty file", "", pair + " ssl_password_file " + empty + ";", "no passphrase in"},
		{"no password file", "", pair, `cannot load certificate key "` + key + `": it is encrypted and no password file is given in nginx.conf:3`},
		{"missing password file", "", pair + " ssl_password_file " + dir + "/nope;", `open() "` + dir + `/nope" failed (2: No such file or directory) in nginx.conf:3`},
		{"proxy", "", "location / { proxy_ssl_certificate " + cert + "; proxy_ssl_certificate_key " + key + "; proxy_ssl_password_file " + later + "; proxy_pass https://127.0.0.1; }", ""},
		{"proxy without a password file", "", "location / { proxy_ssl_certificate " + cert + "; proxy_ssl_certificate_key " + key + "; proxy_pass https://127.0.0.1; }", "it is encrypted and no password file is given"},
		{"proxy, not https: not loaded", "", "location / { proxy_ssl_certificate " + cert + "; proxy_ssl_certificate_key " + key + "; proxy_pass http://127.0.0.1; }", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := loadText(t, "http {\n    "+tt.http+" server {\n        listen 443; "+tt.server+"\n    }\n}\n")
			if tt.err == "" {
				if err != nil {
					t.Fatal(err)
				}
				s := cfg.HTTP.Servers[0]
				if strings.HasPrefix(tt.server, "ssl_") && (len(s.TLS.Certificates) != 1 || s.TLS.Certificates[0].Pair.PrivateKey == nil) {
					t.Errorf("no key loaded: %s", s.TLS)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("got %v\nwant %q", err, tt.err)
			}
		})
	}
}

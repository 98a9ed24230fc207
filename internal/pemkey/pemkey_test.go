package pemkey_test

import (
	"crypto/tls"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"fulcrum/internal/pemkey"
	"fulcrum/internal/testutil"
)

// TestDecryptOpenSSL decrypts keys that openssl encrypts, in the formats it
// writes, with the right passphrase among others and with none that fits.
func TestDecryptOpenSSL(t *testing.T) {
	if _, err := exec.LookPath("openssl"); err != nil {
		t.Skip("no openssl")
	}
	dir := t.TempDir()
	certFile, keyFile := testutil.WriteCert(t, dir, "srv", testutil.RSA, "a.test")
	certPEM, _ := os.ReadFile(certFile)
	tests := []struct {
		name string
		args []string // openssl arguments that read keyFile and write to stdout
		err  string   // "" when it decrypts
	}{
		{"pkcs8 aes256 (openssl 3's default)", []string{"pkey", "-aes256"}, ""},
		{"pkcs8 aes128, sha512 prf", []string{"pkcs8", "-topk8", "-v2", "aes-128-cbc", "-v2prf", "hmacWithSHA512"}, ""},
		{"pkcs8 3des, sha1 prf", []string{"pkcs8", "-topk8", "-v2", "des3", "-v2prf", "hmacWithSHA1"}, ""},
		{"pkcs8 aes192 scrypt", []string{"pkcs8", "-topk8", "-v2", "aes-192-cbc", "-scrypt"}, ""},
		{"legacy aes128", []string{"rsa", "-aes128", "-traditional"}, ""},
		{"legacy 3des", []string{"rsa", "-des3", "-traditional"}, ""},
		{"pkcs12 pbe", []string{"pkcs8", "-topk8", "-v1", "PBE-SHA1-3DES"}, "not supported"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append(append([]string(nil), tt.args...), "-in", keyFile, "-passout", "pass:s3cret")
			enc, err := exec.Command("openssl", args...).Output()
			if err != nil {
				t.Skipf("openssl %v: %v", args, err)
			}
			if !pemkey.Encrypted(enc) {
				t.Fatalf("not seen as encrypted: %s", enc)
			}
			if _, err := pemkey.Decrypt(enc, nil); !errors.Is(err, pemkey.ErrEncrypted) {
				t.Errorf("no passphrase: %v", err)
			}
			if _, err := pemkey.Decrypt(enc, [][]byte{[]byte("wrong"), []byte("s3cret ")}); err == nil ||
				tt.err == "" && !errors.Is(err, pemkey.ErrWrongPassphrase) {
				t.Errorf("wrong passphrases: %v", err)
			}
			plain, err := pemkey.Decrypt(enc, [][]byte{[]byte("wrong"), []byte(""), []byte("s3cret")})
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("got %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if _, err := tls.X509KeyPair(certPEM, plain); err != nil {
				t.Errorf("decrypted key does not load: %v", err)
			}
		})
	}
	t.Run("plain key unchanged", func(t *testing.T) {
		key, _ := os.ReadFile(filepath.Join(dir, "srv.key"))
		if pemkey.Encrypted(key) {
			t.Error("plain key seen as encrypted")
		}
		if got, err := pemkey.Decrypt(key, nil); err != nil || string(got) != string(key) {
			t.Errorf("got %v", err)
		}
	})
}

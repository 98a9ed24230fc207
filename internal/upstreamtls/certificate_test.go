package upstreamtls

import (
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"fulcrum/internal/testutil"
)

// TestLoadCertificate: a client certificate named with variables is loaded
// as nginx 1.21's ngx_ssl_connection_certificate loads it: relative names
// against the prefix, "data:" values, an encrypted key with the password
// file's passphrases, and nginx 1.22.1's words when it does not load
// (recorded with OpenSSL 3).
func TestLoadCertificate(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile := testutil.WriteCert(t, dir, "alpha", testutil.ECDSA, "alpha")
	_, otherKey := testutil.WriteCert(t, dir, "beta", testutil.ECDSA, "beta")
	certPEM, _ := os.ReadFile(certFile)
	keyPEM, _ := os.ReadFile(keyFile)
	blk, _ := pem.Decode(keyPEM)
	// The legacy encryption OpenSSL 1.0 wrote (deprecated in Go, read by
	// nginx and pemkey).
	enc, err := x509.EncryptPEMBlock(rand.Reader, blk.Type, blk.Bytes, []byte("right"), x509.PEMCipherAES128) //nolint:staticcheck
	if err != nil {
		t.Fatal(err)
	}
	encFile := filepath.Join(dir, "enc.key")
	if err := os.WriteFile(encFile, pem.EncodeToMemory(enc), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, cert, key string
		passwords       [][]byte
		err             string // a prefix of the error; "" loads
	}{
		{"absolute names", certFile, keyFile, nil, ""},
		{"relative names", "alpha.pem", "alpha.key", nil, ""},
		{"data:", "data:" + string(certPEM), "data:" + string(keyPEM), nil, ""},
		{"encrypted key", certFile, encFile, [][]byte{[]byte("wrong"), []byte("right")}, ""},
		{"encrypted key without passphrases", certFile, encFile, nil, `cannot load certificate key "` + encFile + `": PEM_read_bio_PrivateKey() failed (`},
		{"missing certificate", "none.pem", keyFile, nil,
			`cannot load certificate "` + dir + `/none.pem": BIO_new_file() failed (SSL: error:80000002:system library::No such file or directory:calling fopen(` + dir + `/none.pem, r) error:10000080:BIO routines::no such file)`},
		{"missing key", certFile, "none.key", nil, `cannot load certificate key "` + dir + `/none.key": BIO_new_file() failed (`},
		{"key that does not match", certFile, otherKey, nil,
			`SSL_use_PrivateKey("` + otherKey + `") failed (SSL: error:05800074:x509 certificate routines::key values mismatch)`},
		{"data: that is no PEM", "data:x", keyFile, nil,
			`cannot load certificate "data:x": PEM_read_bio_X509_AUX() failed (SSL: error:0480006C:PEM routines::no start line:Expecting: TRUSTED CERTIFICATE)`},
		{"empty key: the prefix", certFile, "", nil,
			`cannot load certificate key "` + dir + `/": PEM_read_bio_PrivateKey() failed (SSL: error:1E08010C:DECODER routines::unsupported:No supported data to decode. Input type: PEM)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pair, err := LoadCertificate(tt.cert, tt.key, dir, tt.passwords)
			switch {
			case tt.err == "" && (err != nil || pair.Leaf == nil || pair.Leaf.Subject.CommonName != "alpha"):
				t.Errorf("got %v, %v; want alpha's pair", pair, err)
			case tt.err != "" && (err == nil || !strings.HasPrefix(err.Error(), tt.err)):
				t.Errorf("got %v\nwant %q...", err, tt.err)
			}
		})
	}
}

package vars

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"math/big"
	"net"
	"testing"
	"time"

	"fulcrum/internal/testutil"
)

// ed25519Cert is a self-signed Ed25519 certificate (testutil makes ECDSA
// and RSA ones).
func ed25519Cert(t *testing.T) tls.Certificate {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), DNSNames: []string{"s.test"}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, pub, priv)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: priv}
}

// handshakeSigalg runs a handshake against a server with cert wrapped by
// RecordSignature and returns what it recorded.
func handshakeSigalg(t *testing.T, cert tls.Certificate, client *tls.Config) string {
	t.Helper()
	var name string
	srv := &tls.Config{GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) {
		return RecordSignature(&cert, &name), nil
	}, CipherSuites: client.CipherSuites}
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	done := make(chan error, 1)
	go func() { done <- tls.Client(b, client).Handshake() }()
	if err := tls.Server(a, srv).Handshake(); err != nil {
		t.Fatalf("server handshake: %v", err)
	}
	if err := <-done; err != nil {
		t.Fatalf("client handshake: %v", err)
	}
	return name
}

// TestRecordSignature checks $ssl_sigalg's value from real handshakes: the
// scheme by its IANA name for TLS 1.3 and 1.2, RSA keys with PSS or
// PSS, none for TLS 1.2's RSA key exchange
// (nothing is signed, and the key still decrypts).
func TestRecordSignature(t *testing.T) {
	pair := func(kind testutil.KeyType) tls.Certificate {
		c, k := testutil.SelfSigned(t, kind, "s.test")
		p, err := tls.X509KeyPair(c, k)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	ec, rs, ed := pair(testutil.ECDSA), pair(testutil.RSA), ed25519Cert(t)
	tls12 := func(c *tls.Config) *tls.Config { c.MaxVersion = tls.VersionTLS12; return c }
	tests := []struct {
		name   string
		cert   tls.Certificate
		client *tls.Config
		want   string
	}{
		{"ECDSA P-256, TLS 1.3", ec, &tls.Config{}, "ecdsa_secp256r1_sha256"},
		{"ECDSA P-256, TLS 1.2", ec, tls12(&tls.Config{}), "ecdsa_secp256r1_sha256"},
		{"RSA, TLS 1.3", rs, &tls.Config{}, "rsa_pss_rsae_sha256"},
		{"RSA, TLS 1.2 RSA key exchange", rs, tls12(&tls.Config{CipherSuites: []uint16{tls.TLS_RSA_WITH_AES_128_GCM_SHA256}}), ""},
		{"Ed25519, TLS 1.3", ed, &tls.Config{}, "ed25519"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.client.InsecureSkipVerify = true
			tt.client.ServerName = "s.test"
			if got := handshakeSigalg(t, tt.cert, tt.client); got != tt.want {
				t.Errorf("recorded %q, want %q", got, tt.want)
			}
		})
	}
}

// TestSignatureSchemeName checks the names of the schemes crypto/tls signs
// with (RFC 8446 section 4.2.3, IANA's TLS SignatureScheme registry).
func TestSignatureSchemeName(t *testing.T) {
	rk := &rsa.PublicKey{N: big.NewInt(1), E: 3}
	ek := &ecdsa.PublicKey{Curve: elliptic.P384()}
	tests := []struct {
		pub  crypto.PublicKey
		opts crypto.SignerOpts
		want string
	}{
		{rk, &rsa.PSSOptions{Hash: crypto.SHA384}, "rsa_pss_rsae_sha384"},
		{rk, &rsa.PSSOptions{Hash: crypto.SHA512}, "rsa_pss_rsae_sha512"},
		{rk, crypto.SHA256, "rsa_pkcs1_sha256"},
		{rk, crypto.SHA1, "rsa_pkcs1_sha1"},
		{rk, crypto.MD5SHA1, ""}, // TLS 1.0 and 1.1
		{ek, crypto.SHA384, "ecdsa_secp384r1_sha384"},
		{ek, crypto.SHA512, "ecdsa_secp521r1_sha512"},
		{ek, crypto.SHA1, "ecdsa_sha1"},
		{ed25519.PublicKey(make([]byte, 32)), crypto.Hash(0), "ed25519"},
	}
	for _, tt := range tests {
		if got := SignatureSchemeName(tt.pub, tt.opts); got != tt.want {
			t.Errorf("%T %v: %q, want %q", tt.pub, tt.opts, got, tt.want)
		}
	}
}

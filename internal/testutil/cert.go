package testutil

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// KeyType is the kind of key a test certificate has.
type KeyType int

// The key types: ECDSA P-256 (fast to make) and RSA 2048.
const (
	ECDSA KeyType = iota
	RSA
)

// SelfSigned makes a self-signed certificate for names (DNS names, or IP
// addresses), valid from an hour ago for a day, and returns the certificate and
// its key as PEM. Tests make their own so that nothing checked in expires.
func SelfSigned(t testing.TB, kind KeyType, names ...string) (certPEM, keyPEM []byte) {
	t.Helper()
	var key crypto.Signer
	var err error
	if kind == RSA {
		key, err = rsa.GenerateKey(rand.Reader, 2048)
	} else {
		key, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	}
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: names[0]},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	for _, n := range names {
		if ip := net.ParseIP(n); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, n)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})
}

// WriteCert writes a SelfSigned certificate and key into dir as base.pem and
// base.key and returns their paths.
func WriteCert(t testing.TB, dir, base string, kind KeyType, names ...string) (certFile, keyFile string) {
	t.Helper()
	certPEM, keyPEM := SelfSigned(t, kind, names...)
	certFile, keyFile = filepath.Join(dir, base+".pem"), filepath.Join(dir, base+".key")
	if err := os.WriteFile(certFile, certPEM, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, keyPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile
}

// CA is a test certificate authority: a self-signed root, or an
// intermediate that another CA signed.
type CA struct {
	Cert *x509.Certificate
	Key  crypto.Signer
	// PEM is Cert in PEM.
	PEM []byte
}

// NewCA makes a self-signed root CA named cn, valid from an hour ago for a
// day.
func NewCA(t testing.TB, cn string) *CA {
	t.Helper()
	return makeCA(t, nil, cn)
}

// Intermediate makes a CA named cn that ca signs.
func (ca *CA) Intermediate(t testing.TB, cn string) *CA {
	t.Helper()
	return makeCA(t, ca, cn)
}

func makeCA(t testing.TB, parent *CA, cn string) *CA {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(time.Now().UnixNano()),
		Subject:               pkix.Name{CommonName: cn},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	signer, signerKey := tmpl, crypto.Signer(key)
	if parent != nil {
		signer, signerKey = parent.Cert, parent.Key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, signer, key.Public(), signerKey)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return &CA{Cert: cert, Key: key, PEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}
}

// Leaf describes a certificate for CA.Issue. Zero fields take defaults: a
// serial from the clock, valid from an hour ago for a day, clientAuth
// usage.
type Leaf struct {
	Subject             pkix.Name
	Serial              *big.Int
	NotBefore, NotAfter time.Time
	ExtKeyUsage         []x509.ExtKeyUsage
	// DNSNames are the names of a server certificate.
	DNSNames []string
	// OCSPServer is the authority information access's OCSP URLs.
	OCSPServer []string
}

// Issue makes a certificate that ca signs (a zero CA: a self-signed one) and
// returns it and its key as PEM; the certificate PEM is followed by the
// PEM of chain (ca's intermediates, for the client to send).
func (ca *CA) Issue(t testing.TB, l Leaf, chain ...*CA) (certPEM, keyPEM []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: l.Serial, Subject: l.Subject, NotBefore: l.NotBefore, NotAfter: l.NotAfter,
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: l.ExtKeyUsage,
		DNSNames: l.DNSNames, OCSPServer: l.OCSPServer,
	}
	if tmpl.SerialNumber == nil {
		tmpl.SerialNumber = big.NewInt(time.Now().UnixNano())
	}
	if tmpl.NotBefore.IsZero() {
		tmpl.NotBefore = time.Now().Add(-time.Hour)
	}
	if tmpl.NotAfter.IsZero() {
		tmpl.NotAfter = time.Now().Add(24 * time.Hour)
	}
	if tmpl.ExtKeyUsage == nil {
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
	}
	signer, signerKey := ca.Cert, ca.Key
	if ca.Key == nil { // a zero CA: self-signed
		signer, signerKey = tmpl, key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, signer, key.Public(), signerKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	for _, c := range chain {
		certPEM = append(certPEM, c.PEM...)
	}
	return certPEM, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})
}

// CRL makes a revocation list that ca signs, valid from thisUpdate to
// nextUpdate (zero: none), revoking the certificates with the serials, and
// returns it as PEM (as openssl ca -gencrl writes it).
func (ca *CA) CRL(t testing.TB, thisUpdate, nextUpdate time.Time, serials ...*big.Int) []byte {
	t.Helper()
	tmpl := &x509.RevocationList{Number: big.NewInt(time.Now().UnixNano()), ThisUpdate: thisUpdate, NextUpdate: nextUpdate}
	for _, s := range serials {
		tmpl.RevokedCertificateEntries = append(tmpl.RevokedCertificateEntries, x509.RevocationListEntry{SerialNumber: s, RevocationTime: thisUpdate})
	}
	der, err := x509.CreateRevocationList(rand.Reader, tmpl, ca.Cert, ca.Key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "X509 CRL", Bytes: der})
}

// CRLv1 makes a version 1 revocation list (no version field, no
// extensions), as openssl ca -gencrl writes one when its configuration has
// no crl_extensions, signed by ca (ECDSA with SHA-256), valid from
// thisUpdate to nextUpdate, revoking the certificates with the serials; it
// returns the PEM. Go's x509 makes only version 2 lists.
func (ca *CA) CRLv1(t testing.TB, thisUpdate, nextUpdate time.Time, serials ...*big.Int) []byte {
	t.Helper()
	type revoked struct {
		Serial *big.Int
		Time   time.Time
	}
	type tbsList struct {
		Signature  pkix.AlgorithmIdentifier
		Issuer     asn1.RawValue
		ThisUpdate time.Time
		NextUpdate time.Time `asn1:"optional"`
		Revoked    []revoked `asn1:"optional"`
	}
	alg := pkix.AlgorithmIdentifier{Algorithm: asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 2}}
	tbs := tbsList{Signature: alg, Issuer: asn1.RawValue{FullBytes: ca.Cert.RawSubject}, ThisUpdate: thisUpdate.UTC(), NextUpdate: nextUpdate.UTC()}
	for _, s := range serials {
		tbs.Revoked = append(tbs.Revoked, revoked{s, thisUpdate.UTC()})
	}
	tbsDER, err := asn1.Marshal(tbs)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(tbsDER)
	sig, err := ca.Key.Sign(rand.Reader, sum[:], crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	der, err := asn1.Marshal(struct {
		TBS       asn1.RawValue
		Algorithm pkix.AlgorithmIdentifier
		Signature asn1.BitString
	}{asn1.RawValue{FullBytes: tbsDER}, alg, asn1.BitString{Bytes: sig, BitLength: 8 * len(sig)}})
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "X509 CRL", Bytes: der})
}

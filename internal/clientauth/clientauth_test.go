package clientauth_test

import (
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"testing"
	"time"

	"fulcrum/internal/clientauth"
	"fulcrum/internal/config"
	"fulcrum/internal/testutil"
)

// parse returns the certificates of a PEM chain.
func parse(t *testing.T, data []byte) []*x509.Certificate {
	t.Helper()
	var out []*x509.Certificate
	for {
		var b *pem.Block
		b, data = pem.Decode(data)
		if b == nil {
			return out
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, c)
	}
}

// TestVerifyReasons checks the codes and reasons against what nginx 1.22.1
// with OpenSSL 3.0 logged ("client SSL certificate verify error: (N:...)")
// and put in $ssl_client_verify for the same shapes of chain, made with
// openssl x509 -req: a client signed by the root, by an intermediate (sent
// or in the CA file), by an unknown CA (alone, or with that CA's
// self-signed certificate in the chain), self-signed, expired, with
// serverAuth only, and over ssl_verify_depth.
func TestVerifyReasons(t *testing.T) {
	root := testutil.NewCA(t, "Test Root CA")
	inter := root.Intermediate(t, "Test Intermediate")
	other := testutil.NewCA(t, "Other CA")
	now := time.Now()
	leaf := func(ca *testutil.CA, l testutil.Leaf, chain ...*testutil.CA) []*x509.Certificate {
		c, _ := ca.Issue(t, l, chain...)
		return parse(t, c)
	}
	cn := func(n string) testutil.Leaf { return testutil.Leaf{Subject: pkix.Name{CommonName: n}} }
	expired := testutil.Leaf{Subject: pkix.Name{CommonName: "old"}, NotBefore: now.Add(-48 * time.Hour), NotAfter: now.Add(-24 * time.Hour)}
	future := testutil.Leaf{Subject: pkix.Name{CommonName: "new"}, NotBefore: now.Add(time.Hour), NotAfter: now.Add(48 * time.Hour)}
	serverOnly := testutil.Leaf{Subject: pkix.Name{CommonName: "srv"}, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	rootOnly := config.ClientAuth{Verify: config.VerifyOn, Depth: 1, ClientCAs: []*x509.Certificate{root.Cert}}
	both := config.ClientAuth{Verify: config.VerifyOn, Depth: 1, ClientCAs: []*x509.Certificate{root.Cert, inter.Cert}}
	depth0 := both
	depth0.Depth = 0
	depth0Root := rootOnly
	depth0Root.Depth = 0
	none := config.ClientAuth{Verify: config.VerifyOptionalNoCA, Depth: 1}
	trusted := config.ClientAuth{Verify: config.VerifyOn, Depth: 1, TrustedCAs: []*x509.Certificate{root.Cert}}
	tests := []struct {
		name     string
		auth     config.ClientAuth
		chain    []*x509.Certificate
		code     int
		variable string
		issuer   bool // optional_no_ca accepts it
	}{
		{"signed by the root", rootOnly, leaf(root, cn("alice")), 0, "SUCCESS", false},
		{"intermediate sent", rootOnly, leaf(inter, cn("bob"), inter), 0, "SUCCESS", false},
		{"intermediate in the CA file", both, leaf(inter, cn("bob")), 0, "SUCCESS", false},
		{"ssl_trusted_certificate", trusted, leaf(root, cn("alice")), 0, "SUCCESS", false},
		{"intermediate missing", rootOnly, leaf(inter, cn("bob")), 21, "FAILED:unable to verify the first certificate", true},
		{"unknown CA", rootOnly, leaf(other, cn("mallory")), 21, "FAILED:unable to verify the first certificate", true},
		{"unknown CA, its root sent", rootOnly, leaf(other, cn("mallory"), other), 19, "FAILED:self-signed certificate in certificate chain", true},
		{"self-signed", rootOnly, leaf(&testutil.CA{}, cn("selfie")), 18, "FAILED:self-signed certificate", true},
		{"no CA file, intermediate sent", none, leaf(inter, cn("bob"), inter), 20, "FAILED:unable to get local issuer certificate", true},
		{"expired", rootOnly, leaf(root, expired), 10, "FAILED:certificate has expired", false},
		{"expired and unknown CA: time wins", none, leaf(root, expired), 10, "FAILED:certificate has expired", false},
		{"not yet valid", rootOnly, leaf(root, future), 9, "FAILED:certificate is not yet valid", false},
		{"serverAuth only", rootOnly, leaf(root, serverOnly), 26, "FAILED:unsuitable certificate purpose", false},
		{"serverAuth only, unknown CA", none, leaf(root, serverOnly), 21, "FAILED:unable to verify the first certificate", true},
		{"depth 0, directly under the root", depth0, leaf(root, cn("alice")), 0, "SUCCESS", false},
		{"depth 0, intermediate from the file", depth0, leaf(inter, cn("bob")), 2, "FAILED:unable to get issuer certificate", true},
		{"depth 0, intermediate sent", depth0Root, leaf(inter, cn("bob"), inter), 20, "FAILED:unable to get local issuer certificate", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := clientauth.New(tt.auth).Verify(tt.chain, now)
			if r.Code != tt.code || r.Variable() != tt.variable || r.OK() != (tt.code == 0) {
				t.Errorf("got %d %q, want %d %q", r.Code, r.Variable(), tt.code, tt.variable)
			}
			if r.IssuerOnly() != tt.issuer {
				t.Errorf("IssuerOnly %t, want %t", r.IssuerOnly(), tt.issuer)
			}
		})
	}
}

// TestNames: only ssl_client_certificate's CAs are named in the handshake.
func TestNames(t *testing.T) {
	a, b := testutil.NewCA(t, "A"), testutil.NewCA(t, "B")
	v := clientauth.New(config.ClientAuth{Verify: config.VerifyOn, Depth: 1, ClientCAs: []*x509.Certificate{a.Cert}, TrustedCAs: []*x509.Certificate{b.Cert}})
	//lint:ignore SA1019 Subjects is what crypto/tls sends
	if got := v.Names.Subjects(); len(got) != 1 || string(got[0]) != string(a.Cert.RawSubject) {
		t.Errorf("names: %q", got)
	}
	if v := clientauth.New(config.ClientAuth{Verify: config.VerifyOptionalNoCA}); v.Names != nil {
		t.Errorf("no file, names %v", v.Names)
	}
}

// crls parses PEM revocation lists.
func crls(t *testing.T, pems ...[]byte) []*x509.RevocationList {
	t.Helper()
	var out []*x509.RevocationList
	for _, p := range pems {
		b, _ := pem.Decode(p)
		l, err := x509.ParseRevocationList(b.Bytes)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, l)
	}
	return out
}

// TestCRL checks ssl_crl against what nginx 1.22.1 with OpenSSL 3.0 put in
// $ssl_client_verify (and logged) for CRLs made with openssl ca -gencrl: a
// revoked client (23), an out-of-date CRL, which hides the revocation (12 and
// 11), and a client of a trusted CA without a CRL in the file (3). Every CA
// below the root needs its CRL too (X509_V_FLAG_CRL_CHECK_ALL).
func TestCRL(t *testing.T) {
	root := testutil.NewCA(t, "Test Root CA")
	inter := root.Intermediate(t, "Test Intermediate")
	other := testutil.NewCA(t, "Other CA")
	now := time.Now()
	good, revoked, otherSerial := big.NewInt(1001), big.NewInt(1002), big.NewInt(1003)
	leaf := func(ca *testutil.CA, serial *big.Int, chain ...*testutil.CA) []*x509.Certificate {
		c, _ := ca.Issue(t, testutil.Leaf{Subject: pkix.Name{CommonName: "c"}, Serial: serial}, chain...)
		return parse(t, c)
	}
	current := root.CRL(t, now.Add(-time.Hour), now.Add(time.Hour), revoked)
	expired := root.CRL(t, now.Add(-2*time.Hour), now.Add(-time.Hour), revoked)
	future := root.CRL(t, now.Add(time.Hour), now.Add(2*time.Hour), revoked)
	impostor := testutil.NewCA(t, "Test Root CA") // the root's name, another key
	badSignature := impostor.CRL(t, now.Add(-time.Hour), now.Add(time.Hour))
	interCRL := inter.CRL(t, now.Add(-time.Hour), now.Add(time.Hour), revoked)
	interRevoked := root.CRL(t, now.Add(-time.Hour), now.Add(time.Hour), inter.Cert.SerialNumber)
	otherCRL := other.CRL(t, now.Add(-time.Hour), now.Add(time.Hour))
	auth := func(lists ...[]byte) config.ClientAuth {
		return config.ClientAuth{Verify: config.VerifyOn, Depth: 2, ClientCAs: []*x509.Certificate{root.Cert, other.Cert}, CRL: "crl.pem", CRLs: crls(t, lists...)}
	}
	tests := []struct {
		name     string
		auth     config.ClientAuth
		chain    []*x509.Certificate
		variable string
	}{
		{"not revoked", auth(current), leaf(root, good), "SUCCESS"},
		{"revoked", auth(current), leaf(root, revoked), "FAILED:certificate revoked"},
		{"CRL signed by another key", auth(badSignature), leaf(root, good), "FAILED:CRL signature failure"},
		{"expired CRL", auth(expired), leaf(root, good), "FAILED:CRL has expired"},
		{"expired CRL hides the revocation", auth(expired), leaf(root, revoked), "FAILED:CRL has expired"},
		{"CRL not yet valid", auth(future), leaf(root, good), "FAILED:CRL is not yet valid"},
		{"no CRL from the issuer", auth(current), leaf(other, otherSerial), "FAILED:unable to get certificate CRL"},
		{"intermediate's CRL missing", auth(current), leaf(inter, good, inter), "FAILED:unable to get certificate CRL"},
		{"both CRLs", auth(current, interCRL), leaf(inter, good, inter), "SUCCESS"},
		{"revoked by the intermediate", auth(current, interCRL), leaf(inter, revoked, inter), "FAILED:certificate revoked"},
		{"intermediate revoked", auth(interRevoked, interCRL), leaf(inter, good, inter), "FAILED:certificate revoked"},
		{"each CA's own CRL", auth(current, otherCRL), leaf(other, otherSerial), "SUCCESS"},
		{"no ssl_crl", config.ClientAuth{Verify: config.VerifyOn, Depth: 1, ClientCAs: []*x509.Certificate{root.Cert}}, leaf(root, revoked), "SUCCESS"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := clientauth.New(tt.auth).Verify(tt.chain, now).Variable(); got != tt.variable {
				t.Errorf("got %q, want %q", got, tt.variable)
			}
		})
	}
}

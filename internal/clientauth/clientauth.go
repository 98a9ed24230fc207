// Package clientauth verifies TLS client certificates the way nginx's
// ssl_verify_client does with OpenSSL: against the CAs of
// ssl_client_certificate and ssl_trusted_certificate, with at most
// ssl_verify_depth intermediates, for the client-auth purpose, against the
// revocation lists of ssl_crl, and with
// OpenSSL's error codes and reasons, which nginx logs and puts in
// $ssl_client_verify. The handshake only collects the certificate; the
// verdict (495, 496 or on) is the request's, as in nginx.
package clientauth

import (
	"bytes"
	"crypto/x509"
	"errors"
	"time"

	"fulcrum/internal/config"
	"fulcrum/internal/revocation"
)

// Verifier checks client certificates for one server's ssl_verify_client.
// It is immutable and safe for concurrent use.
type Verifier struct {
	// Mode is ssl_verify_client.
	Mode config.ClientVerify
	// Names holds ssl_client_certificate's CAs, whose subjects the
	// handshake sends with its certificate request; nil without the file.
	Names *x509.CertPool
	depth int
	// roots are the self-signed certificates of both files, inter the
	// others (OpenSSL trusts a chain only when it ends in a self-signed
	// certificate of its store; the others help build it).
	roots, inter *x509.CertPool
	store        []*x509.Certificate // every certificate of both files
	// crls is ssl_crl's lists; nil without it.
	crls *revocation.Lists
}

// New makes the verifier of a server's settings.
func New(a config.ClientAuth) *Verifier {
	v := &Verifier{Mode: a.Verify, depth: a.Depth, roots: x509.NewCertPool(), inter: x509.NewCertPool()}
	if len(a.CRLs) > 0 {
		v.crls = revocation.New(a.CRLs)
	}
	if len(a.ClientCAs) > 0 {
		v.Names = x509.NewCertPool()
		for _, c := range a.ClientCAs {
			v.Names.AddCert(c)
		}
	}
	for _, c := range append(append([]*x509.Certificate(nil), a.ClientCAs...), a.TrustedCAs...) {
		v.store = append(v.store, c)
		if selfIssued(c) {
			v.roots.AddCert(c)
		} else {
			v.inter.AddCert(c)
		}
	}
	return v
}

// Result is the outcome of a verification: OpenSSL's X509_V_* code (0 is
// X509_V_OK) and its reason as OpenSSL 3 words it.
type Result struct {
	Code   int
	Reason string
	// OCSP is ssl_ocsp's refusal of a certificate that verified (Code
	// 0), in nginx's words ("certificate revoked", "certificate status
	// unknown", "certificate status request failed"); "" when ssl_ocsp
	// is off or every answer was good.
	OCSP string
}

// OK reports whether the certificate verified and no OCSP answer refused
// it.
func (r Result) OK() bool { return r.Code == 0 && r.OCSP == "" }

// IssuerOnly reports whether the only fault is an issuer that is not
// trusted, which ssl_verify_client optional_no_ca accepts (nginx's
// ngx_ssl_verify_error_optional).
func (r Result) IssuerOnly() bool {
	switch r.Code {
	case codeIssuer, codeSelfSigned, codeSelfSignedInChain, codeLocalIssuer, codeLeafSignature:
		return true
	}
	return false
}

// Variable is $ssl_client_verify for a client that sent a certificate:
// "SUCCESS" or "FAILED:" and the reason.
func (r Result) Variable() string {
	switch {
	case r.OK():
		return "SUCCESS"
	case r.Code == 0:
		return "FAILED:" + r.OCSP
	}
	return "FAILED:" + r.Reason
}

// OpenSSL's verify codes that fulcrum reports.
const (
	codeIssuer            = 2  // X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT
	codeSignature         = 7  // X509_V_ERR_CERT_SIGNATURE_FAILURE
	codeNotYetValid       = 9  // X509_V_ERR_CERT_NOT_YET_VALID
	codeExpired           = 10 // X509_V_ERR_CERT_HAS_EXPIRED
	codeSelfSigned        = 18 // X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT
	codeSelfSignedInChain = 19 // X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN
	codeLocalIssuer       = 20 // X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY
	codeLeafSignature     = 21 // X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE
	codeInvalidCA         = 24 // X509_V_ERR_INVALID_CA
	codePurpose           = 26 // X509_V_ERR_INVALID_PURPOSE
)

var reasons = map[int]string{
	codeIssuer:            "unable to get issuer certificate",
	codeSignature:         "certificate signature failure",
	codeNotYetValid:       "certificate is not yet valid",
	codeExpired:           "certificate has expired",
	codeSelfSigned:        "self-signed certificate",
	codeSelfSignedInChain: "self-signed certificate in certificate chain",
	codeLocalIssuer:       "unable to get local issuer certificate",
	codeLeafSignature:     "unable to verify the first certificate",
	codeInvalidCA:         "invalid CA certificate",
	codePurpose:           "unsuitable certificate purpose",
}

func result(code int) Result {
	if r := revocation.Reason(code); r != "" {
		return Result{Code: code, Reason: r}
	}
	return Result{Code: code, Reason: reasons[code]}
}

// Verify checks the chain a client sent (its certificate first) at now.
// Where a certificate has several faults, the one OpenSSL reports wins, as
// checked against nginx 1.22.1 with OpenSSL 3.0: the validity period (its
// last check) before anything else; the purpose only for a chain that
// reaches a trusted root (an unknown issuer with the wrong purpose is the
// issuer's fault, which optional_no_ca accepts).
func (v *Verifier) Verify(sent []*x509.Certificate, now time.Time) Result {
	res, _ := v.VerifyChain(sent, now)
	return res
}

// VerifyChain is Verify that also returns the chain that verified, from
// the client's certificate to the trusted root (OpenSSL's
// SSL_get0_verified_chain, which ssl_ocsp asks about); nil when the
// certificate did not verify.
func (v *Verifier) VerifyChain(sent []*x509.Certificate, now time.Time) (Result, []*x509.Certificate) {
	leaf := sent[0]
	switch {
	case now.Before(leaf.NotBefore):
		return result(codeNotYetValid), nil
	case now.After(leaf.NotAfter):
		return result(codeExpired), nil
	}
	inter := v.inter.Clone()
	for _, c := range sent[1:] {
		inter.AddCert(c)
	}
	chains, err := leaf.Verify(x509.VerifyOptions{
		Roots: v.roots, Intermediates: inter, CurrentTime: now,
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	})
	if err == nil {
		return v.checkDepth(chains, now)
	}
	return v.failure(err, sent), nil
}

// failure words a failed x509 verification as OpenSSL's code.
func (v *Verifier) failure(err error, sent []*x509.Certificate) Result {
	var ci x509.CertificateInvalidError
	var ua x509.UnknownAuthorityError
	switch {
	case errors.As(err, &ci):
		switch ci.Reason {
		case x509.Expired:
			return result(codeExpired)
		case x509.IncompatibleUsage:
			return result(codePurpose)
		case x509.NotAuthorizedToSign, x509.CANotAuthorizedForThisName, x509.CANotAuthorizedForExtKeyUsage:
			return result(codeInvalidCA)
		}
	case errors.As(err, &ua):
		return v.issuerFault(sent)
	}
	return result(codeSignature)
}

// checkDepth passes when one of the chains has at most depth certificates
// between the client's and the trusted root. Otherwise OpenSSL stops
// building at the limit and reports the last certificate it took: one of
// its store has no issuer it may use (2), one the client sent has none in
// the store (20). A chain within the depth is then checked against ssl_crl's
// lists, if any (revocation.Lists.Check), and returned when it passes.
func (v *Verifier) checkDepth(chains [][]*x509.Certificate, now time.Time) (Result, []*x509.Certificate) {
	shortest := chains[0]
	for _, c := range chains {
		if len(c)-2 <= v.depth {
			if res := result(v.crls.Check(c, now)); !res.OK() {
				return res, nil
			}
			return Result{}, c
		}
		if len(c) < len(shortest) {
			shortest = c
		}
	}
	if last := shortest[v.depth+1]; v.inStore(last) {
		return result(codeIssuer), nil
	}
	return result(codeLocalIssuer), nil
}

// issuerFault words a chain that reaches no trusted root the way OpenSSL's
// chain building does, looking in the store first (its "trusted first"):
// a self-signed certificate that is not trusted (18 for the client's own,
// 19 further up), a last certificate from the store (2), the client's
// certificate alone (21), or a certificate it sent without its issuer in
// the store (20).
func (v *Verifier) issuerFault(sent []*x509.Certificate) Result {
	cur, n, fromStore := sent[0], 1, false
	for range 32 {
		if selfIssued(cur) {
			if n == 1 {
				return result(codeSelfSigned)
			}
			return result(codeSelfSignedInChain)
		}
		if is := issuerIn(v.store, cur); is != nil {
			cur, fromStore = is, true
		} else if is := issuerIn(sent[1:], cur); is != nil {
			cur, fromStore = is, false
		} else {
			break
		}
		n++
	}
	switch {
	case fromStore:
		return result(codeIssuer)
	case n == 1:
		return result(codeLeafSignature)
	}
	return result(codeLocalIssuer)
}

func (v *Verifier) inStore(c *x509.Certificate) bool {
	for _, s := range v.store {
		if s.Equal(c) {
			return true
		}
	}
	return false
}

// issuerIn returns the certificate of list that issued c, or nil.
func issuerIn(list []*x509.Certificate, c *x509.Certificate) *x509.Certificate {
	for _, is := range list {
		if bytes.Equal(is.RawSubject, c.RawIssuer) && c.CheckSignatureFrom(is) == nil {
			return is
		}
	}
	return nil
}

// selfIssued reports whether c names itself as its issuer.
func selfIssued(c *x509.Certificate) bool {
	return bytes.Equal(c.RawSubject, c.RawIssuer)
}

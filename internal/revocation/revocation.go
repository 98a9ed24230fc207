// Package revocation checks certificate chains against certificate
// revocation lists the way OpenSSL does for nginx's ssl_crl and
// proxy_ssl_crl, which turn on X509_V_FLAG_CRL_CHECK and
// X509_V_FLAG_CRL_CHECK_ALL: every certificate of a verified chain but the
// trusted root needs a current CRL from its issuer, and must not be on it.
// The outcome is OpenSSL's verify code and reason, which nginx logs and puts
// in $ssl_client_verify.
package revocation

import (
	"bytes"
	"crypto/x509"
	"time"
)

// OpenSSL's X509_V_ERR_* codes for revocation, and their reasons as
// OpenSSL 3 words them.
const (
	CodeNoCRL        = 3  // X509_V_ERR_UNABLE_TO_GET_CRL
	CodeCRLSignature = 8  // X509_V_ERR_CRL_SIGNATURE_FAILURE
	CodeNotYetValid  = 11 // X509_V_ERR_CRL_NOT_YET_VALID
	CodeExpired      = 12 // X509_V_ERR_CRL_HAS_EXPIRED
	CodeRevoked      = 23 // X509_V_ERR_CERT_REVOKED
)

var reasons = map[int]string{
	CodeNoCRL:        "unable to get certificate CRL",
	CodeCRLSignature: "CRL signature failure",
	CodeNotYetValid:  "CRL is not yet valid",
	CodeExpired:      "CRL has expired",
	CodeRevoked:      "certificate revoked",
}

// Reason is OpenSSL's wording of code, "" for a code not of this package.
func Reason(code int) string { return reasons[code] }

// Lists are the revocation lists of one ssl_crl or proxy_ssl_crl file. It is
// immutable and safe for concurrent use; a nil *Lists checks nothing.
type Lists struct {
	crls []*x509.RevocationList
	// revoked holds, per list, the serial numbers it revokes (as the
	// bytes of their big.Int), for a lookup without a scan.
	revoked []map[string]bool
}

// New makes the lists of crls (parsed by the caller, in file order).
func New(crls []*x509.RevocationList) *Lists {
	l := &Lists{crls: crls, revoked: make([]map[string]bool, len(crls))}
	for i, c := range crls {
		m := make(map[string]bool, len(c.RevokedCertificateEntries))
		for _, e := range c.RevokedCertificateEntries {
			m[string(e.SerialNumber.Bytes())] = true
		}
		l.revoked[i] = m
	}
	return l
}

// Check checks chain, a verified chain from the peer's certificate to the
// trusted root, at now. It returns 0 when every certificate below the root
// has a current CRL from its issuer that does not revoke it; otherwise the
// code of the last fault, checking from the peer's certificate up, as
// OpenSSL leaves it when nginx's verify callback lets verification go on.
// A CRL that is out of date hides what it says about the certificate
// (OpenSSL 3.0 reports the date, checked against nginx 1.22.1).
func (l *Lists) Check(chain []*x509.Certificate, now time.Time) int {
	if l == nil {
		return 0
	}
	code := 0
	for i := 0; i+1 < len(chain); i++ {
		if c := l.checkOne(chain[i], chain[i+1], now); c != 0 {
			code = c
		}
	}
	if n := len(chain); n > 0 && !bytes.Equal(chain[n-1].RawSubject, chain[n-1].RawIssuer) {
		// The chain ends in a trusted certificate that is not self-signed:
		// its issuer is unknown, so is its CRL.
		if c := l.checkOne(chain[n-1], nil, now); c != 0 {
			code = c
		}
	}
	return code
}

// checkOne checks cert, issued by issuer (nil: unknown), against the lists.
func (l *Lists) checkOne(cert, issuer *x509.Certificate, now time.Time) int {
	badSignature := false
	for i, crl := range l.crls {
		if !bytes.Equal(crl.RawIssuer, cert.RawIssuer) {
			continue
		}
		if issuer == nil || crl.CheckSignatureFrom(issuer) != nil {
			badSignature = true
			continue
		}
		switch {
		case now.Before(crl.ThisUpdate):
			return CodeNotYetValid
		case !crl.NextUpdate.IsZero() && now.After(crl.NextUpdate):
			return CodeExpired
		case l.revoked[i][string(cert.SerialNumber.Bytes())]:
			return CodeRevoked
		}
		return 0
	}
	if badSignature {
		return CodeCRLSignature
	}
	return CodeNoCRL
}

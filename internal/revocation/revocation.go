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
	"encoding/asn1"
	"fmt"
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

// Parse parses one DER revocation list, version 2 or version 1. OpenSSL
// (so nginx's ssl_crl) takes both, and openssl ca -gencrl writes a version 1
// list when its configuration names no crl_extensions; Go's
// x509.ParseRevocationList takes version 2 only. A version 1 list is parsed
// as the version 2 list with the same fields, whose raw bytes (and so the
// signature check, against RawTBSRevocationList) are then the original's.
func Parse(der []byte) (*x509.RevocationList, error) {
	crl, err := x509.ParseRevocationList(der)
	if err == nil {
		return crl, nil
	}
	v2, tbs, ok := asVersion2(der)
	if !ok {
		return nil, err
	}
	crl, err2 := x509.ParseRevocationList(v2)
	if err2 != nil {
		return nil, fmt.Errorf("version 1 list: %w", err2)
	}
	crl.Raw = der
	crl.RawTBSRevocationList = tbs
	return crl, nil
}

// asVersion2 rewrites der, a CertificateList whose TBSCertList has no
// version (version 1), with "version INTEGER 1" (v2) as the TBS's first
// field. It also returns the original TBS's bytes; ok is false for anything
// else.
func asVersion2(der []byte) (v2, tbs []byte, ok bool) {
	var list struct {
		TBS       asn1.RawValue
		Algorithm asn1.RawValue
		Signature asn1.RawValue
	}
	if rest, err := asn1.Unmarshal(der, &list); err != nil || len(rest) != 0 {
		return nil, nil, false
	}
	if list.TBS.Class != asn1.ClassUniversal || list.TBS.Tag != asn1.TagSequence {
		return nil, nil, false
	}
	var first asn1.RawValue
	if _, err := asn1.Unmarshal(list.TBS.Bytes, &first); err != nil || first.Class == asn1.ClassUniversal && first.Tag == asn1.TagInteger {
		return nil, nil, false // empty, or it has a version already
	}
	newTBS, err := asn1.Marshal(asn1.RawValue{Class: asn1.ClassUniversal, Tag: asn1.TagSequence, IsCompound: true,
		Bytes: append([]byte{asn1.TagInteger, 1, 1}, list.TBS.Bytes...)})
	if err != nil {
		return nil, nil, false
	}
	body := append(append(newTBS, list.Algorithm.FullBytes...), list.Signature.FullBytes...)
	v2, err = asn1.Marshal(asn1.RawValue{Class: asn1.ClassUniversal, Tag: asn1.TagSequence, IsCompound: true, Bytes: body})
	if err != nil {
		return nil, nil, false
	}
	return v2, list.TBS.FullBytes, true
}

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

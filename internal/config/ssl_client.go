package config

import (
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"net/url"
	"os"
	"strconv"
	"strings"

	"fulcrum/internal/revocation"
)

// ClientVerify is ssl_verify_client: whether the handshake asks for a client
// certificate and what a request gets when there is none or it does not
// verify.
type ClientVerify uint8

// The ssl_verify_client modes, as nginx numbers them (sscf->verify).
const (
	// VerifyOff asks for no certificate (the default).
	VerifyOff ClientVerify = iota
	// VerifyOn requires a certificate that verifies: none is 496, a bad
	// one 495.
	VerifyOn
	// VerifyOptional asks for one; none is fine, a bad one is 495.
	VerifyOptional
	// VerifyOptionalNoCA asks for one and accepts it when its only fault is
	// an issuer that is not trusted (self-signed, unknown CA); other
	// faults (expired, wrong purpose) are still 495.
	VerifyOptionalNoCA
)

// verifyModes are ssl_verify_client's values in ClientVerify's order.
var verifyModes = []string{"off", "on", "optional", "optional_no_ca"}

// String is the mode as written in the configuration.
func (v ClientVerify) String() string {
	if int(v) < len(verifyModes) {
		return verifyModes[v]
	}
	return "ClientVerify(" + strconv.Itoa(int(v)) + ")"
}

// ClientAuth is a server's client-certificate settings (ssl_verify_client,
// ssl_client_certificate, ssl_trusted_certificate, ssl_verify_depth), with
// the CA files loaded.
type ClientAuth struct {
	// Verify is ssl_verify_client (VerifyOff: the rest is unused).
	Verify ClientVerify
	// Depth is ssl_verify_depth (default 1): the most intermediate CA
	// certificates between the client's and a trusted root.
	Depth int
	// ClientCertificate is ssl_client_certificate's file and ClientCAs its
	// certificates: trusted for verification, and their subjects are the
	// CA names the handshake sends with its certificate request.
	ClientCertificate string
	ClientCAs         []*x509.Certificate
	// TrustedCertificate is ssl_trusted_certificate's file and TrustedCAs
	// its certificates: trusted for verification, never sent.
	TrustedCertificate string
	TrustedCAs         []*x509.Certificate
	// CRL is ssl_crl's file and CRLs its revocation lists: with them a
	// client certificate (and every CA certificate of its chain below the
	// root) needs a current list from its issuer that does not revoke it.
	// Empty when not written.
	CRL  string
	CRLs []*x509.RevocationList
	// OCSP is ssl_ocsp: whether a certificate that verified is also
	// checked with OCSP responders, and which of its chain.
	OCSP OCSPMode
	// OCSPResponder is ssl_ocsp_responder's http:// URL; empty: each
	// certificate's own (the first OCSP URL of its authority information
	// access).
	OCSPResponder string
	// OCSPCache is ssl_ocsp_cache's zone; nil when off (each connection
	// asks the responders).
	OCSPCache *OCSPCache
}

// OCSPMode is ssl_ocsp.
type OCSPMode uint8

// The ssl_ocsp values.
const (
	// OCSPOff asks no responder (the default).
	OCSPOff OCSPMode = iota
	// OCSPOn asks about every certificate of the verified chain but the
	// trusted root.
	OCSPOn
	// OCSPLeaf asks about the client's own certificate only.
	OCSPLeaf
)

// ocspModes are ssl_ocsp's values in OCSPMode's order.
var ocspModes = []string{"off", "on", "leaf"}

// String is the mode as written in the configuration.
func (m OCSPMode) String() string {
	if int(m) < len(ocspModes) {
		return ocspModes[m]
	}
	return "OCSPMode(" + strconv.Itoa(int(m)) + ")"
}

// OCSPCache is an ssl_ocsp_cache zone: servers that name the same zone
// share its answers.
type OCSPCache struct {
	Name string
	// Size is the zone's size in bytes, at least minOCSPCache.
	Size int64
}

// minOCSPCache is the smallest ssl_ocsp_cache nginx takes: eight pages
// of 4 KiB (ngx_http_ssl_ocsp_cache's 8 * ngx_pagesize).
const minOCSPCache = 8 * 4096

// clientAuthNames are the directives buildClientAuth reads.
var clientAuthNames = []string{"ssl_verify_client", "ssl_client_certificate", "ssl_trusted_certificate", "ssl_verify_depth", "ssl_crl", "ssl_ocsp", "ssl_ocsp_responder", "ssl_ocsp_cache"}

// buildClientAuth reads the client-certificate settings of server level sc
// into t. ssl says the server listens with "ssl": only there does nginx
// check that ssl_verify_client has its CA file.
func (b *builder) buildClientAuth(sc *scope, t *TLS, ssl bool) error {
	a := &t.ClientAuth
	a.Depth = 1
	if dirs, _ := sc.nearest("ssl_verify_depth"); len(dirs) > 0 {
		a.Depth, _ = strconv.Atoi(dirs[0].Args[0]) // kindNumber checked it
	}
	var err error
	if dirs, _ := sc.nearest("ssl_client_certificate"); len(dirs) > 0 {
		if a.ClientCertificate, a.ClientCAs, err = b.loadCAs(dirs[0]); err != nil {
			return err
		}
	}
	if dirs, _ := sc.nearest("ssl_trusted_certificate"); len(dirs) > 0 {
		if a.TrustedCertificate, a.TrustedCAs, err = b.loadCAs(dirs[0]); err != nil {
			return err
		}
	}
	// nginx loads ssl_crl whether or not ssl_verify_client is on
	// (ngx_http_ssl_merge_srv_conf calls ngx_ssl_crl either way).
	if dirs, _ := sc.nearest("ssl_crl"); len(dirs) > 0 {
		if a.CRL, a.CRLs, err = b.loadCRL(dirs[0]); err != nil {
			return err
		}
	}
	if err := b.buildOCSP(sc, a); err != nil {
		return err
	}
	dirs, _ := sc.nearest("ssl_verify_client")
	if len(dirs) == 0 {
		return nil
	}
	for i, m := range verifyModes {
		if m == dirs[0].Args[0] { // kindEnum checked it
			a.Verify = ClientVerify(i)
		}
	}
	if on, _ := sc.nearest("ssl_ocsp"); ssl && a.OCSP != OCSPOff && a.Verify == VerifyOptionalNoCA {
		return hintf(on[0].Pos, "use ssl_verify_client on or optional: OCSP needs a certificate whose issuer is trusted",
			`"ssl_ocsp" is incompatible with "ssl_verify_client optional_no_ca"`)
	}
	// nginx 1.22's check (ngx_http_ssl_merge_srv_conf): only
	// optional_no_ca goes without ssl_client_certificate;
	// ssl_trusted_certificate alone is not enough.
	if ssl && a.Verify != VerifyOff && a.Verify != VerifyOptionalNoCA && a.ClientCertificate == "" {
		return hintf(dirs[0].Pos, "add ssl_client_certificate with the CA certificates that sign the clients' certificates",
			"no ssl_client_certificate for ssl_verify_client")
	}
	return nil
}

// buildOCSP reads ssl_ocsp, ssl_ocsp_responder and ssl_ocsp_cache of
// server level sc into a, refusing what nginx refuses: a responder that
// is not an http:// URL with a host, a cache that is not
// "shared:name:size" or is smaller than eight pages.
func (b *builder) buildOCSP(sc *scope, a *ClientAuth) error {
	if dirs, _ := sc.nearest("ssl_ocsp"); len(dirs) > 0 {
		for i, m := range ocspModes {
			if m == dirs[0].Args[0] { // kindEnum checked it
				a.OCSP = OCSPMode(i)
			}
		}
	}
	if dirs, _ := sc.nearest("ssl_ocsp_responder"); len(dirs) > 0 {
		r := dirs[0].Args[0]
		if u, err := url.Parse(r); err != nil || !strings.EqualFold(u.Scheme, "http") || u.Host == "" {
			return hintf(dirs[0].Pos, "the responder is an http:// URL such as http://ocsp.example.com/",
				`invalid URL prefix in OCSP responder "%s" in "ssl_ocsp_responder"`, r)
		}
		a.OCSPResponder = r
	}
	dirs, _ := sc.nearest("ssl_ocsp_cache")
	if len(dirs) == 0 || dirs[0].Args[0] == "off" {
		return nil
	}
	c, err := parseOCSPCache(dirs[0])
	a.OCSPCache = c
	return err
}

// parseOCSPCache reads ssl_ocsp_cache shared:name:size as nginx's
// ngx_http_ssl_ocsp_cache does.
func parseOCSPCache(d *Directive) (*OCSPCache, error) {
	v := d.Args[0]
	const hint = "write ssl_ocsp_cache off or shared:NAME:SIZE, such as shared:ocsp:1m"
	rest, ok := strings.CutPrefix(v, "shared:")
	name, size, ok2 := strings.Cut(rest, ":")
	if !ok || !ok2 || name == "" {
		return nil, hintf(d.Pos, hint, `invalid OCSP cache "%s"`, v)
	}
	n, err := parseSize(size)
	if err != nil || n < 0 {
		return nil, hintf(d.Pos, hint, `invalid OCSP cache "%s"`, v)
	}
	if n < minOCSPCache {
		return nil, hintf(d.Pos, "an OCSP cache needs at least 32k", `OCSP cache "%s" is too small`, v)
	}
	return &OCSPCache{Name: name, Size: n}, nil
}

// loadCAs reads a PEM file of CA certificates (ssl_client_certificate,
// ssl_trusted_certificate), once per file and load.
func (b *builder) loadCAs(d *Directive) (string, []*x509.Certificate, error) {
	file := b.path(d.Args[0])
	if certs, ok := b.caFiles[file]; ok {
		return file, certs, nil
	}
	data, err := os.ReadFile(file)
	if err != nil {
		if msg, ok := opensslOpenError(err, file, "r", true); ok {
			return "", nil, hintf(d.Pos, fileHint(err), `SSL_CTX_load_verify_locations("%s") failed (%s)`, file, msg)
		}
		return "", nil, hintf(d.Pos, fileHint(err), `cannot load "%s": %v`, file, unwrapPath(err))
	}
	var certs []*x509.Certificate
	for len(data) > 0 {
		var blk *pem.Block
		blk, data = pem.Decode(data)
		if blk == nil {
			break
		}
		if blk.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(blk.Bytes)
		if err != nil {
			return "", nil, hintf(d.Pos, "the file must hold PEM certificates (-----BEGIN CERTIFICATE-----)", `cannot load "%s": %v`, file, err)
		}
		certs = append(certs, c)
	}
	if len(certs) == 0 {
		return "", nil, hintf(d.Pos, "the file must hold PEM certificates (-----BEGIN CERTIFICATE-----)", `no certificates in "%s"`, file)
	}
	if b.caFiles == nil {
		b.caFiles = map[string][]*x509.Certificate{}
	}
	b.caFiles[file] = certs
	return file, certs, nil
}

// loadCRL reads a PEM file of certificate revocation lists (ssl_crl,
// proxy_ssl_crl), once per file and load. Like OpenSSL's
// X509_load_crl_file, it wants at least one "X509 CRL" block.
func (b *builder) loadCRL(d *Directive) (string, []*x509.RevocationList, error) {
	file := b.path(d.Args[0])
	if crls, ok := b.crlFiles[file]; ok {
		return file, crls, nil
	}
	data, err := os.ReadFile(file)
	if err != nil {
		if msg, ok := opensslOpenError(err, file, "r", true); ok {
			return "", nil, hintf(d.Pos, fileHint(err), `X509_LOOKUP_load_file("%s") failed (%s)`, file, msg)
		}
		return "", nil, hintf(d.Pos, fileHint(err), `cannot load CRL "%s": %v`, file, unwrapPath(err))
	}
	const hint = "the file must hold PEM revocation lists (-----BEGIN X509 CRL-----), such as openssl ca -gencrl writes"
	var crls []*x509.RevocationList
	for len(data) > 0 {
		var blk *pem.Block
		blk, data = pem.Decode(data)
		if blk == nil {
			break
		}
		if blk.Type != "X509 CRL" {
			continue
		}
		crl, err := revocation.Parse(blk.Bytes)
		if err != nil {
			return "", nil, hintf(d.Pos, hint, `cannot load CRL "%s": %v`, file, err)
		}
		crls = append(crls, crl)
	}
	if len(crls) == 0 {
		return "", nil, hintf(d.Pos, hint, `no CRL in "%s"`, file)
	}
	if b.crlFiles == nil {
		b.crlFiles = map[string][]*x509.RevocationList{}
	}
	b.crlFiles[file] = crls
	return file, crls, nil
}

// String describes the settings for dumps.
func (a ClientAuth) String() string {
	out := fmt.Sprintf("verify_client=%s depth=%d client_certificate=%q trusted=%q", a.Verify, a.Depth, a.ClientCertificate, a.TrustedCertificate)
	if a.CRL != "" {
		out += fmt.Sprintf(" crl=%q", a.CRL)
	}
	if a.OCSP != OCSPOff {
		out += fmt.Sprintf(" ocsp=%s responder=%q", a.OCSP, a.OCSPResponder)
		if c := a.OCSPCache; c != nil {
			out += fmt.Sprintf(" ocsp_cache=%s:%d", c.Name, c.Size)
		}
	}
	return out
}

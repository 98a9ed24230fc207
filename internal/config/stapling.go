package config

import (
	"bytes"
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"net/url"
	"os"
)

// Stapling is a server's OCSP stapling (ssl_stapling on and its
// directives).
type Stapling struct {
	// Verify is ssl_stapling_verify: a fetched response must be signed by
	// the certificate's issuer (or a responder it delegated to).
	Verify bool
	// Responder is ssl_stapling_responder's URL; empty: each
	// certificate's own (its authority information access).
	Responder string
	// File is ssl_stapling_file, and Response its DER response, stapled
	// as it is to every certificate of the server; empty when not written.
	File     string
	Response []byte
}

// Staple is what one certificate needs to staple OCSP responses: nil on
// a Certificate whose stapling is off or was ignored with nginx's warning.
type Staple struct {
	// Leaf is the certificate and Issuer its issuer, found in the
	// certificate file's chain, else in ssl_trusted_certificate or
	// ssl_client_certificate (nginx's ngx_ssl_stapling_issuer); nil
	// with a Response from ssl_stapling_file.
	Leaf, Issuer *x509.Certificate
	// Responder is the URL fetched: ssl_stapling_responder, else the
	// certificate's first OCSP URL. Empty with a Response.
	Responder string
	// Response is ssl_stapling_file's response.
	Response []byte
	// Verify is ssl_stapling_verify.
	Verify bool
}

// staplingNames are the directives buildStapling reads.
var staplingNames = []string{"ssl_stapling", "ssl_stapling_verify", "ssl_stapling_responder", "ssl_stapling_file"}

// buildStapling reads the stapling settings of server level sc into t and
// gives each certificate its Staple, warning as nginx 1.22 does about the
// ones it ignores. nginx checks this only for servers with certificates.
func (b *builder) buildStapling(sc *scope, t *TLS) error {
	on, _ := sc.nearest("ssl_stapling")
	if len(on) == 0 || len(t.Certificates) == 0 || t.Dynamic() {
		// Certificates loaded per handshake staple nothing: nginx
		// 1.22.1's ngx_ssl_stapling finds none in the server's context
		// (recorded: nginx -t takes ssl_stapling on with them, silently).
		return nil
	}
	if v, _ := parseFlag(on[0].Args[0]); !v { // argsFlag checked it
		return nil
	}
	st := &Stapling{}
	if dirs, _ := sc.nearest("ssl_stapling_verify"); len(dirs) > 0 {
		st.Verify, _ = parseFlag(dirs[0].Args[0])
	}
	if dirs, _ := sc.nearest("ssl_stapling_responder"); len(dirs) > 0 {
		st.Responder = dirs[0].Args[0]
	}
	if dirs, _ := sc.nearest("ssl_stapling_file"); len(dirs) > 0 {
		var err error
		if st.File, st.Response, err = b.loadOCSPResponse(dirs[0]); err != nil {
			return err
		}
	}
	t.Stapling = st
	for i := range t.Certificates {
		t.Certificates[i].Staple = b.staple(on[0].Pos, &t.Certificates[i], t, st)
	}
	return nil
}

// staple finds one certificate's issuer and responder; nil, with nginx's
// warning, when stapling cannot work for it. nginx warns once per server
// (each sets up its own TLS), whatever line ssl_stapling came from, so the
// warnings are not merged (warnEach); buildStapling runs once per server.
func (b *builder) staple(pos Pos, c *Certificate, t *TLS, st *Stapling) *Staple {
	if st.Response != nil {
		return &Staple{Response: st.Response}
	}
	leaf := c.Pair.Leaf
	issuer := findIssuer(leaf, c.Pair.Certificate[1:], t.ClientAuth)
	if leaf == nil || issuer == nil {
		b.warnEach(pos, "put the issuer's certificate after the server's in the ssl_certificate file, or in ssl_trusted_certificate",
			`"ssl_stapling" ignored, issuer certificate not found for certificate "%s"`, c.CertFile)
		return nil
	}
	responder := st.Responder
	if responder == "" {
		if len(leaf.OCSPServer) == 0 {
			b.warnEach(pos, "name the responder with ssl_stapling_responder, or staple a response with ssl_stapling_file",
				`"ssl_stapling" ignored, no OCSP responder URL in the certificate "%s"`, c.CertFile)
			return nil
		}
		responder = leaf.OCSPServer[0]
	}
	if u, err := url.Parse(responder); err != nil || u.Scheme != "http" || u.Host == "" {
		b.warnEach(pos, "the responder must be an http:// URL, as in nginx",
			`"ssl_stapling" ignored, invalid URL prefix in OCSP responder "%s" in the certificate "%s"`, responder, c.CertFile)
		return nil
	}
	return &Staple{Leaf: leaf, Issuer: issuer, Responder: responder, Verify: st.Verify}
}

// findIssuer returns the certificate that issued leaf among chain (DER, the
// rest of the certificate file), else among the CA files' certificates.
func findIssuer(leaf *x509.Certificate, chain [][]byte, a ClientAuth) *x509.Certificate {
	if leaf == nil {
		return nil
	}
	var cands []*x509.Certificate
	for _, der := range chain {
		if c, err := x509.ParseCertificate(der); err == nil {
			cands = append(cands, c)
		}
	}
	cands = append(append(cands, a.TrustedCAs...), a.ClientCAs...)
	for _, c := range cands {
		if bytes.Equal(c.RawSubject, leaf.RawIssuer) && leaf.CheckSignatureFrom(c) == nil {
			return c
		}
	}
	return nil
}

// loadOCSPResponse reads ssl_stapling_file, a DER OCSP response (as
// openssl ocsp -respout writes it), and checks that it is one, as nginx's
// d2i_OCSP_RESPONSE_bio does.
func (b *builder) loadOCSPResponse(d *Directive) (string, []byte, error) {
	file := b.path(d.Args[0])
	data, err := os.ReadFile(file)
	if err != nil {
		if msg, ok := opensslOpenError(err, file, "rb", false); ok {
			return "", nil, hintf(d.Pos, fileHint(err), `BIO_new_file("%s") failed (%s)`, file, msg)
		}
		return "", nil, hintf(d.Pos, fileHint(err), `cannot load OCSP response "%s": %v`, file, unwrapPath(err))
	}
	// RFC 6960's OCSPResponse, read as far as nginx's d2i does: the status
	// and the response bytes, whose content the handshake sends as it is.
	var resp struct {
		Status asn1.Enumerated
		Bytes  asn1.RawValue `asn1:"explicit,tag:0,optional"`
	}
	if rest, err := asn1.Unmarshal(data, &resp); err != nil || len(rest) > 0 {
		if err == nil {
			err = errors.New("trailing data")
		}
		return "", nil, hintf(d.Pos, "the file must be a DER OCSP response, such as openssl ocsp -respout writes",
			`cannot load OCSP response "%s": %v`, file, err)
	}
	return file, data, nil
}

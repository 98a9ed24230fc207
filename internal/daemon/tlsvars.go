package daemon

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"

	"fulcrum/internal/certcache"
	"fulcrum/internal/config"
	"fulcrum/internal/router"
	"fulcrum/internal/upstreamtls"
	"fulcrum/internal/vars"
)

// Certificates named with variables (nginx 1.15.9's ssl_certificate
// $ssl_server_name.crt): nginx's ngx_http_ssl_certificate evaluates every
// ssl_certificate and ssl_certificate_key of the server the handshake's
// SNI name chose, in a request made for the purpose (handshakeState), and
// loads each pair. fulcrum loads them through the
// snapshot's certificate cache (package certcache), which reads a file
// again only when it has changed.

// dynCerts are one server's certificates loaded per handshake.
type dynCerts struct {
	// src are the server's certificates as configured, with CertTemplate
	// and KeyTemplate; certs and keys their compiled values.
	src         []config.Certificate
	certs, keys []*vars.Template
	dir         string
	passwords   [][]byte
	pw          string // passwords joined, for the cache's key
	cache       *certcache.Cache
}

// newDynCerts records t's certificates for compileCertificates.
func newDynCerts(t *config.TLS, cache *certcache.Cache) *dynCerts {
	c0 := t.Certificates[0]
	return &dynCerts{src: t.Certificates, dir: c0.Dir, passwords: c0.Passwords, pw: certcache.Passwords(c0.Passwords), cache: cache}
}

// compile compiles the values with the snapshot's compiler: an unknown
// variable is nginx's error at the directive's line.
func (d *dynCerts) compile(comp *vars.Compiler) error {
	for _, c := range d.src {
		ct, err := comp.Compile(c.CertTemplate)
		if err != nil {
			return fmt.Errorf("%w in %s", err, c.Pos)
		}
		kt, err := comp.Compile(c.KeyTemplate)
		if err != nil {
			return fmt.Errorf("%w in %s", err, c.KeyPos())
		}
		d.certs, d.keys = append(d.certs, ct), append(d.keys, kt)
	}
	return nil
}

// compileCertificates compiles the certificates named with variables,
// once every variable is declared.
func (s *snapshot) compileCertificates(comp *vars.Compiler) error {
	for _, d := range s.dynCerts {
		if err := d.compile(comp); err != nil {
			return err
		}
	}
	return nil
}

// load returns the certificates of one handshake whose SNI name chose srv
// on an address with TLS settings t: every pair is loaded, in order, a
// later pair replacing an earlier one of its key type (certcache.ByKind).
// A pair that does not load fails the handshake with its error
// (*upstreamtls.CertificateError, nginx's words).
func (d *dynCerts) load(hello *tls.ClientHelloInfo, srv *router.Server, t *config.TLS) ([]tls.Certificate, error) {
	st := handshakeState(hello, srv, t)
	out := make([]tls.Certificate, 0, len(d.certs))
	for i := range d.certs {
		cert := upstreamtls.FullName(d.certs[i].String(st), d.dir)
		key := upstreamtls.FullName(d.keys[i].String(st), d.dir)
		pair, err := d.cache.Get(cert, key, d.passwords, d.pw)
		if err != nil {
			return nil, err
		}
		out = certcache.ByKind(out, pair)
	}
	return out, nil
}

// handshakeState is what the variables see during a handshake, as nginx's
// request made for ngx_http_ssl_certificate (recorded with nginx 1.22.1):
// the connection's addresses and number, the SNI name ($ssl_server_name),
// the version agreed ($ssl_protocol; t is the address's settings), no
// cipher yet ($ssl_cipher "(NONE)"), and the chosen server's name.
func handshakeState(hello *tls.ClientHelloInfo, srv *router.Server, t *config.TLS) *vars.State {
	st := &vars.State{}
	st.Scheme = "https"
	st.TLS = &vars.TLS{ServerName: hello.ServerName, Cipher: "(NONE)",
		Protocol: config.ProtocolName(config.HelloVersion(hello.SupportedVersions, t.MinVersion, t.MaxVersion))}
	if pc, ok := hello.Conn.(*prefixConn); ok {
		st.Conn = pc.id
	}
	if c := hello.Conn; c != nil {
		if a, ok := c.RemoteAddr().(*net.TCPAddr); ok {
			st.Remote = a.AddrPort()
		}
		if a, ok := c.LocalAddr().(*net.TCPAddr); ok {
			st.Local = a.AddrPort()
		}
	}
	if srv != nil {
		st.ServerName = primaryName(srv.Config)
	}
	return st
}

// certError is the failure to load a certificate named with variables,
// which nginx logs at error before the handshake's own line.
func certError(err error) (*upstreamtls.CertificateError, bool) {
	var ce *upstreamtls.CertificateError
	ok := errors.As(err, &ce)
	return ce, ok
}

// errCertCallback is OpenSSL's reason for a handshake whose certificate
// callback failed, which nginx logs at info after the callback's line.
var errCertCallback = errors.New("SSL: error:0A000179:SSL routines::cert cb error")

package stream

import (
	"crypto/tls"
	"errors"

	"fulcrum/internal/certcache"
	"fulcrum/internal/config"
	"fulcrum/internal/errlog"
	"fulcrum/internal/upstreamtls"
)

// dynCerts are a server's certificates named with variables (nginx
// 1.15.9's ssl_certificate $ssl_server_name.crt): nginx's
// ngx_stream_ssl_certificate evaluates every ssl_certificate and
// ssl_certificate_key with the session's variables at each handshake and
// loads each pair; fulcrum loads them through the table's certificate
// cache (package certcache), which reads a file again only when it has
// changed.
type dynCerts struct {
	certs, keys []*template
	dir         string
	passwords   [][]byte
	pw          string // passwords joined, for the cache's key
	cache       *certcache.Cache
	// minVersion and maxVersion are the server's ssl_protocols, which
	// $ssl_protocol's value during the handshake is chosen with.
	minVersion, maxVersion uint16
}

// compileDynCerts compiles t's certificates, which are named with
// variables; an unknown one is nginx's error at the directive's line.
func compileDynCerts(c *compiler, t *config.TLS) (*dynCerts, error) {
	if c.certs == nil {
		c.certs = certcache.New(0, func(cert, key string, pw [][]byte) (*tls.Certificate, error) {
			return upstreamtls.LoadCertificate(cert, key, "/", pw)
		})
	}
	c0 := t.Certificates[0]
	d := &dynCerts{dir: c0.Dir, passwords: c0.Passwords, pw: certcache.Passwords(c0.Passwords), cache: c.certs,
		minVersion: t.MinVersion, maxVersion: t.MaxVersion}
	for _, cert := range t.Certificates {
		ct, err := c.compile(cert.CertTemplate)
		if err != nil {
			return nil, at(err, cert.Pos)
		}
		kt, err := c.compile(cert.KeyTemplate)
		if err != nil {
			return nil, at(err, cert.KeyPos())
		}
		d.certs, d.keys = append(d.certs, ct), append(d.keys, kt)
	}
	return d, nil
}

// getCertificate is the handshake's GetCertificate: the pairs are
// evaluated with the session's variables ($ssl_server_name is the hello's
// name meanwhile) and loaded in order, a later pair replacing an earlier
// one of its key type as OpenSSL's SSL_use_certificate does; crypto/tls
// then takes the first the client supports. A pair that does not load
// fails the handshake, logged as nginx logs it (logCertError).
func (d *dynCerts) getCertificate(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
	hc, _ := hello.Conn.(*helloConn)
	if hc == nil || hc.sess == nil {
		return nil, errors.New("no session for the handshake")
	}
	s := hc.sess
	prev := s.ssl
	// What nginx 1.22.1's certificate callback sees (recorded): the SNI
	// name, the version agreed, no cipher yet.
	s.ssl = &sslState{serverName: hello.ServerName, cipher: "(NONE)",
		protocol: config.ProtocolName(config.HelloVersion(hello.SupportedVersions, d.minVersion, d.maxVersion))}
	defer func() { s.ssl = prev }()
	var pairs []tls.Certificate
	for i := range d.certs {
		cert := upstreamtls.FullName(string(d.certs[i].appendValue(nil, s)), d.dir)
		key := upstreamtls.FullName(string(d.keys[i].appendValue(nil, s)), d.dir)
		pair, err := d.cache.Get(cert, key, d.passwords, d.pw)
		if err != nil {
			s.logPlain(errlog.Error, err.Error()+" while SSL handshaking"+s.peers())
			return nil, errCertCallback
		}
		pairs = certcache.ByKind(pairs, pair)
	}
	return &pairs[pick(pairs, hello)], nil
}

// errCertCallback is OpenSSL's reason for a handshake whose certificate
// callback failed, which nginx logs at info after the callback's line.
var errCertCallback = errors.New("SSL: error:0A000179:SSL routines::cert cb error")

// Package upstreamtls is the TLS client side of fulcrum's connections to
// upstream servers: the settings of nginx's proxy_ssl_* directives (http
// and stream) and grpc_ssl_* ones, read by package config into a
// config.ProxySSL, made once into a [Client] that runs handshakes on fresh
// connections. Verification follows OpenSSL's rules as nginx applies them
// (proxy_ssl_verify, proxy_ssl_verify_depth, proxy_ssl_crl), and its errors
// word the failure as nginx logs it.
package upstreamtls

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"fulcrum/internal/config"
	"fulcrum/internal/revocation"
)

// Client is how a level speaks TLS to its upstream servers: the client
// configuration, made once at load from the proxy_ssl_* settings. It is
// immutable and safe for concurrent use.
type Client struct {
	cfg *tls.Config
	// name is proxy_ssl_name, or the upstream's host: what the certificate
	// is checked against (with proxy_ssl_verify) and SNI sends (with
	// proxy_ssl_server_name).
	name string
	// sni is proxy_ssl_server_name.
	sni bool
	// reuse is proxy_ssl_session_reuse: handshakes use the caller's
	// session cache.
	reuse bool
	// verify is set with proxy_ssl_verify: the chain's check, for a
	// handshake with a name other than name.
	verify *chainCheck
	// key is a description of the settings and of the files they loaded
	// (config.ProxySSL.Identity): equal across reloads that keep them,
	// different when a reload read a changed certificate, trust or
	// revocation file. ident is the settings' part of it.
	key, ident string
	// certDir and passwords load a client certificate named with
	// variables (ForCertificate): the directory relative names are taken
	// against, and the passphrases of an encrypted key.
	certDir   string
	passwords [][]byte
}

// chainCheck is what proxy_ssl_verify checks a chain against.
type chainCheck struct {
	roots *x509.CertPool
	crls  *revocation.Lists // nil: no proxy_ssl_crl
	depth int
}

// New makes the TLS client of a level with settings s that proxies to host
// (the upstream's host, without its port), the name used when s names none.
func New(s config.ProxySSL, host string) *Client {
	// nginx strips a port from the name (ngx_http_upstream_ssl_name), a
	// static proxy_ssl_name's too; one with variables is the caller's.
	name := s.Name
	if !strings.Contains(name, "$") {
		name = NameWithoutPort(name)
	}
	if name == "" {
		name = host
	}
	c := &Client{name: name, sni: s.ServerName, reuse: s.SessionReuse, ident: s.Identity()}
	c.key = clientKey(name, c.ident)
	c.cfg = &tls.Config{
		MinVersion:   s.MinVersion,
		MaxVersion:   s.MaxVersion,
		CipherSuites: s.CipherSuites,
		// Verification, when on, is VerifyConnection's: the name it checks
		// need not be the one SNI sends (none without
		// proxy_ssl_server_name), which crypto/tls's own check ties together.
		InsecureSkipVerify: true,
	}
	if s.KeyLog != nil {
		// proxy_ssl_key_log: Clone (WithName, WithALPN) keeps it, so the
		// per-request clients of a pass with variables log too.
		c.cfg.KeyLogWriter = s.KeyLog
	}
	if s.ServerName {
		// crypto/tls sends no IP address in SNI, as nginx does not either.
		c.cfg.ServerName = name
	}
	if s.Verify {
		c.verify = &chainCheck{roots: s.Roots, depth: s.VerifyDepth}
		if len(s.CRLs) > 0 {
			c.verify.crls = revocation.New(s.CRLs)
		}
		c.cfg.VerifyConnection = c.verify.verifier(name)
	}
	if cert := s.Certificate; cert != nil && cert.CertTemplate != "" {
		// Loaded for each handshake (ForCertificate).
		c.certDir, c.passwords = cert.Dir, cert.Passwords
	} else if cert != nil {
		pair := &cert.Pair
		// Sent whatever CAs the server names, as OpenSSL does with nginx's
		// proxy_ssl_certificate.
		c.cfg.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return pair, nil }
	}
	return c
}

// clientKey is the Key of a client with name and settings ident.
func clientKey(name, ident string) string { return "https name=" + name + " " + ident }

// WithName returns a copy of c whose handshakes use name, even when empty
// (as HandshakeNamed): the client of one value of a grpc_ssl_name with
// variables.
func (c *Client) WithName(name string) *Client {
	d := *c
	d.name, d.key = name, clientKey(name, c.ident)
	d.cfg = c.cfg.Clone()
	if c.sni {
		d.cfg.ServerName = name
	}
	if c.verify != nil {
		d.cfg.VerifyConnection = c.verify.verifier(name)
	}
	return &d
}

// WithALPN returns a copy of c that offers protos with ALPN (grpc_pass
// grpcs:// offers "h2").
func (c *Client) WithALPN(protos ...string) *Client {
	d := *c
	d.cfg = c.cfg.Clone()
	d.cfg.NextProtos = protos
	return &d
}

// Config returns the client configuration handshakes with the default name
// use (active health checks use it); the caller must not change it.
func (c *Client) Config() *tls.Config { return c.cfg }

// Name is the name the certificate is checked against and SNI sends when a
// handshake names none.
func (c *Client) Name() string { return c.name }

// Key tells connections made with these settings from plain ones and from
// those of other settings (connection pools key by it).
func (c *Client) Key() string { return c.key }

// SessionReuse reports proxy_ssl_session_reuse.
func (c *Client) SessionReuse() bool { return c.reuse }

// Handshake runs the TLS client handshake on conn, a fresh connection,
// bounded by timeout (0: none; nginx bounds it by proxy_connect_timeout)
// and ctx. name, when not empty, replaces the client's name for this
// handshake (a proxy_ssl_name with variables). sessions is the cache that
// sessions are resumed from and saved to with proxy_ssl_session_reuse on;
// crypto/tls keys it by the SNI name or, without one, the server's address.
// It returns the *tls.Conn over conn. conn is closed when the handshake
// fails; the error is then a *HandshakeError.
func (c *Client) Handshake(ctx context.Context, conn net.Conn, name string, timeout time.Duration, sessions tls.ClientSessionCache) (net.Conn, error) {
	if name == "" {
		name = c.name
	}
	return c.HandshakeNamed(ctx, conn, name, timeout, sessions)
}

// HandshakeNamed is Handshake with name as the handshake's name even when
// it is empty: a proxy_ssl_name with variables whose value is empty sends
// no SNI and, with proxy_ssl_verify, matches no certificate, as in nginx
// (its log says: upstream SSL certificate does not match "").
func (c *Client) HandshakeNamed(ctx context.Context, conn net.Conn, name string, timeout time.Duration, sessions tls.ClientSessionCache) (net.Conn, error) {
	cfg := c.cfg
	if name != c.name || (c.reuse && sessions != nil) {
		cfg = cfg.Clone()
	}
	if name != c.name {
		if c.sni {
			cfg.ServerName = name
		}
		if c.verify != nil {
			cfg.VerifyConnection = c.verify.verifier(name)
		}
	}
	if c.reuse && sessions != nil {
		cfg.ClientSessionCache = sessions
	}
	tc := tls.Client(conn, cfg)
	if timeout > 0 {
		_ = conn.SetDeadline(time.Now().Add(timeout))
	}
	if err := tc.HandshakeContext(ctx); err != nil {
		conn.Close()
		return nil, &HandshakeError{Err: err}
	}
	_ = conn.SetDeadline(time.Time{}) // the exchange sets its own, lazily, from none
	return tc, nil
}

// NameWithoutPort drops a ":port" from a TLS name, as nginx does with
// proxy_ssl_name's value (which may come from $proxy_host or $http_host);
// a bracketed IPv6 address keeps its brackets.
func NameWithoutPort(name string) string {
	from := 0
	if strings.HasPrefix(name, "[") {
		if end := strings.IndexByte(name, ']'); end >= 0 {
			from = end
		}
	}
	if i := strings.IndexByte(name[from:], ':'); i >= 0 {
		return name[:from+i]
	}
	return name
}

// HandshakeError is a failed TLS handshake with an upstream server. Err is
// a *VerifyError when proxy_ssl_verify refused the server's certificate.
type HandshakeError struct{ Err error }

func (e *HandshakeError) Error() string { return "TLS handshake with upstream: " + e.Err.Error() }
func (e *HandshakeError) Unwrap() error { return e.Err }

// Reason words the failure as nginx's error log does (without the
// " while SSL handshaking to upstream" context): the verify error, or
// "SSL_do_handshake() failed (...)".
func (e *HandshakeError) Reason() string {
	var ve *VerifyError
	if errors.As(e.Err, &ve) {
		return ve.Error()
	}
	return fmt.Sprintf("SSL_do_handshake() failed (%v)", e.Err)
}

// VerifyError is an upstream certificate that failed proxy_ssl_verify.
type VerifyError struct {
	Err error
	// Name is set, and Mismatch true, when the certificate does not match
	// it (an empty name, from a proxy_ssl_name with variables, matches
	// none).
	Name     string
	Mismatch bool
	// sent is the number of certificates the server sent.
	sent int
}

func (e *VerifyError) Error() string {
	if e.Mismatch {
		return fmt.Sprintf("upstream SSL certificate does not match \"%s\"", e.Name)
	}
	return fmt.Sprintf("upstream SSL certificate verify error: (%s)", opensslVerifyReason(e.Err, e.sent))
}

func (e *VerifyError) Unwrap() error { return e.Err }

// revokedError is a chain that proxy_ssl_crl's lists refuse: OpenSSL's code.
type revokedError int

func (e revokedError) Error() string {
	return fmt.Sprintf("%d:%s", int(e), revocation.Reason(int(e)))
}

// errChainTooLong is a chain longer than proxy_ssl_verify_depth allows.
var errChainTooLong = errors.New("certificate chain too long")

// verifier checks the upstream's chain against the roots, with at most
// depth intermediate certificates, then against the revocation lists, then
// its name, as nginx's proxy_ssl_verify does.
func (v *chainCheck) verifier(name string) func(tls.ConnectionState) error {
	return func(cs tls.ConnectionState) error {
		if len(cs.PeerCertificates) == 0 {
			return &VerifyError{Err: errors.New("no certificate")}
		}
		leaf := cs.PeerCertificates[0]
		opts := x509.VerifyOptions{Roots: v.roots, Intermediates: x509.NewCertPool()}
		for _, c := range cs.PeerCertificates[1:] {
			opts.Intermediates.AddCert(c)
		}
		chains, err := leaf.Verify(opts)
		if err != nil {
			return &VerifyError{Err: err, sent: len(cs.PeerCertificates)}
		}
		chain := withinDepth(chains, v.depth)
		if chain == nil {
			return &VerifyError{Err: errChainTooLong}
		}
		if code := v.crls.Check(chain, time.Now()); code != 0 {
			return &VerifyError{Err: revokedError(code)}
		}
		if err := verifyName(leaf, name); err != nil {
			return &VerifyError{Err: err, Name: name, Mismatch: true}
		}
		return nil
	}
}

// verifyName checks that leaf is valid for name as OpenSSL's X509_check_host
// does with nginx's flags (none): by the DNS names of its subjectAltName
// or, when it has none, by its subject's common name, which Go's
// VerifyHostname no longer reads. Wildcards match as in the DNS names.
func verifyName(leaf *x509.Certificate, name string) error {
	err := leaf.VerifyHostname(name)
	if err == nil || len(leaf.DNSNames) > 0 || leaf.Subject.CommonName == "" {
		return err
	}
	byCN := *leaf
	byCN.DNSNames = []string{leaf.Subject.CommonName}
	if byCN.VerifyHostname(name) == nil {
		return nil
	}
	return err
}

// withinDepth returns the first chain with at most depth certificates
// between the upstream's and the trusted one (OpenSSL's verify depth: neither
// the leaf nor the trust anchor counts), nil when there is none.
func withinDepth(chains [][]*x509.Certificate, depth int) []*x509.Certificate {
	for _, c := range chains {
		if len(c)-2 <= depth {
			return c
		}
	}
	return nil
}

// opensslVerifyReason words a verification error as OpenSSL's code and
// reason, which nginx logs; sent is the number of certificates the server
// sent: OpenSSL says 21 when the issuer of the only one is unknown, 20
// when that of the last of several is.
func opensslVerifyReason(err error, sent int) string {
	var ua x509.UnknownAuthorityError
	var ci x509.CertificateInvalidError
	var re revokedError
	switch {
	case errors.As(err, &re):
		return re.Error()
	case errors.As(err, &ua):
		if c := ua.Cert; c != nil && bytes.Equal(c.RawIssuer, c.RawSubject) {
			return "18:self-signed certificate"
		}
		if sent == 1 {
			return "21:unable to verify the first certificate"
		}
		return "20:unable to get local issuer certificate"
	case errors.As(err, &ci) && ci.Reason == x509.Expired:
		return "10:certificate has expired"
	case errors.Is(err, errChainTooLong):
		return "22:certificate chain too long"
	}
	return err.Error()
}

// keyedCache is a session cache whose keys are prefixed with one server's
// address.
type keyedCache struct {
	cache  tls.ClientSessionCache
	prefix string
}

// PerServer returns a view of cache whose sessions are those of the server
// at addr only: nginx keeps each upstream server's session apart, where
// crypto/tls keys a session by the SNI name, which the servers of one
// upstream share.
func PerServer(cache tls.ClientSessionCache, addr string) tls.ClientSessionCache {
	return keyedCache{cache: cache, prefix: addr + "|"}
}

// PerName returns a view of cache whose sessions are those made for the
// TLS name given only: with a proxy_ssl_name with variables, a session
// made for one name is not offered for another, with or without SNI.
func PerName(cache tls.ClientSessionCache, name string) tls.ClientSessionCache {
	return keyedCache{cache: cache, prefix: "name=" + name + "|"}
}

func (k keyedCache) Get(key string) (*tls.ClientSessionState, bool) {
	return k.cache.Get(k.prefix + key)
}

func (k keyedCache) Put(key string, cs *tls.ClientSessionState) {
	k.cache.Put(k.prefix+key, cs)
}

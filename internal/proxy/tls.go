package proxy

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"time"

	"fulcrum/internal/config"
	"fulcrum/internal/revocation"
)

// upstreamTLS is how a location speaks TLS to its upstreams (proxy_pass
// https://): the client configuration, made once at load from the
// proxy_ssl_* settings.
type upstreamTLS struct {
	cfg *tls.Config
	// name is proxy_ssl_name, or the proxy_pass host: what the certificate
	// is checked against (with proxy_ssl_verify) and SNI sends (with
	// proxy_ssl_server_name).
	name string
	// reuse is proxy_ssl_session_reuse: handshakes use the connection
	// pool's session cache.
	reuse bool
	// key tells the pooled connections made with these settings from plain
	// ones and from those of other settings: a description of the settings
	// and of the files they loaded (config.ProxySSL.Identity), equal across
	// reloads that keep them, so that warm connections stay usable (as
	// plain ones do), and different when a reload read a changed
	// certificate, trust or revocation file.
	key string
}

// newUpstreamTLS makes the TLS client settings of a location that proxies
// to host (the proxy_pass host, without its port) with settings s.
func newUpstreamTLS(s config.ProxySSL, host string) *upstreamTLS {
	name := s.Name
	if name == "" {
		name = host
	}
	u := &upstreamTLS{name: name, reuse: s.SessionReuse,
		key: "https name=" + name + " " + s.Identity()}
	u.cfg = &tls.Config{
		MinVersion:   s.MinVersion,
		MaxVersion:   s.MaxVersion,
		CipherSuites: s.CipherSuites,
		// Verification, when on, is VerifyConnection's: the name it checks
		// need not be the one SNI sends (none without
		// proxy_ssl_server_name), which crypto/tls's own check ties together.
		InsecureSkipVerify: true,
	}
	if s.ServerName {
		// crypto/tls sends no IP address in SNI, as nginx does not either.
		u.cfg.ServerName = name
	}
	if s.Verify {
		var crls *revocation.Lists
		if len(s.CRLs) > 0 {
			crls = revocation.New(s.CRLs)
		}
		u.cfg.VerifyConnection = verifier(s.Roots, crls, name, s.VerifyDepth)
	}
	if c := s.Certificate; c != nil {
		pair := &c.Pair
		// Sent whatever CAs the server names, as OpenSSL does with nginx's
		// proxy_ssl_certificate.
		u.cfg.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return pair, nil }
	}
	return u
}

// verifyError is an upstream certificate that failed proxy_ssl_verify.
type verifyError struct {
	err  error
	name string // set when the certificate does not match the name
}

func (e *verifyError) Error() string {
	if e.name != "" {
		return fmt.Sprintf("upstream SSL certificate does not match \"%s\"", e.name)
	}
	return fmt.Sprintf("upstream SSL certificate verify error: (%s)", opensslVerifyReason(e.err))
}

func (e *verifyError) Unwrap() error { return e.err }

// revokedError is a chain that proxy_ssl_crl's lists refuse: OpenSSL's code.
type revokedError int

func (e revokedError) Error() string {
	return fmt.Sprintf("%d:%s", int(e), revocation.Reason(int(e)))
}

// verifier checks the upstream's chain against roots, with at most depth
// intermediate certificates, then against crls (proxy_ssl_crl; nil: none),
// then its name, as nginx's proxy_ssl_verify does.
func verifier(roots *x509.CertPool, crls *revocation.Lists, name string, depth int) func(tls.ConnectionState) error {
	return func(cs tls.ConnectionState) error {
		if len(cs.PeerCertificates) == 0 {
			return &verifyError{err: errors.New("no certificate")}
		}
		leaf := cs.PeerCertificates[0]
		opts := x509.VerifyOptions{Roots: roots, Intermediates: x509.NewCertPool()}
		for _, c := range cs.PeerCertificates[1:] {
			opts.Intermediates.AddCert(c)
		}
		chains, err := leaf.Verify(opts)
		if err != nil {
			return &verifyError{err: err}
		}
		chain := withinDepth(chains, depth)
		if chain == nil {
			return &verifyError{err: errors.New("certificate chain too long")}
		}
		if code := crls.Check(chain, time.Now()); code != 0 {
			return &verifyError{err: revokedError(code)}
		}
		if err := leaf.VerifyHostname(name); err != nil {
			return &verifyError{err: err, name: name}
		}
		return nil
	}
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
// reason, which nginx logs.
func opensslVerifyReason(err error) string {
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
		return "20:unable to get local issuer certificate"
	case errors.As(err, &ci) && ci.Reason == x509.Expired:
		return "10:certificate has expired"
	case err != nil && err.Error() == "certificate chain too long":
		return "22:certificate chain too long"
	}
	return err.Error()
}

// handshakeError is a failed TLS handshake with an upstream.
type handshakeError struct{ err error }

func (e *handshakeError) Error() string { return "TLS handshake with upstream: " + e.err.Error() }
func (e *handshakeError) Unwrap() error { return e.err }

// handshake runs the TLS client handshake on c, a fresh connection, bounded
// by timeout (proxy_connect_timeout, which nginx also applies to its
// handshake) and ctx; sessions is the pool's session cache. c is closed when
// the handshake fails.
func (u *upstreamTLS) handshake(ctx context.Context, c net.Conn, timeout time.Duration, sessions tls.ClientSessionCache) (net.Conn, error) {
	cfg := u.cfg
	if u.reuse {
		cfg = cfg.Clone()
		cfg.ClientSessionCache = sessions
	}
	tc := tls.Client(c, cfg)
	if timeout > 0 {
		_ = c.SetDeadline(time.Now().Add(timeout))
	}
	if err := tc.HandshakeContext(ctx); err != nil {
		c.Close()
		return nil, &handshakeError{err: err}
	}
	_ = c.SetDeadline(time.Time{}) // the exchange sets its own, lazily, from none
	return tc, nil
}

// handshakeFailure words a failed handshake as nginx's error log does; false
// when err is none.
func handshakeFailure(err error) (*failure, bool) {
	var he *handshakeError
	if !errors.As(err, &he) {
		return nil, false
	}
	const while = " while SSL handshaking to upstream"
	var ve *verifyError
	switch {
	case isTimeout(err):
		return &failure{cond: config.NextTimeout, status: 504, msg: "upstream timed out (110: Connection timed out)" + while}, true
	case errors.As(err, &ve):
		return &failure{cond: config.NextError, status: 502, msg: ve.Error() + while}, true
	}
	return &failure{cond: config.NextError, status: 502, msg: fmt.Sprintf("SSL_do_handshake() failed (%v)", he.err) + while}, true
}

// TLSClientConfig returns the TLS client settings a location with settings
// s uses towards host (the proxy_pass host, without its port): SNI,
// verification, protocols, ciphers and client certificate, as for proxied
// requests. The active health checks of such a location use it.
func TLSClientConfig(s config.ProxySSL, host string) *tls.Config {
	return newUpstreamTLS(s, host).cfg
}

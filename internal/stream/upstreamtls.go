package stream

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"syscall"

	"fulcrum/internal/config"
	"fulcrum/internal/errlog"
	"fulcrum/internal/upstreamtls"
)

// upstreamTLS is a server's proxy_ssl: the TLS client of its upstream
// connections (ngx_stream_proxy_module's proxy_ssl_* directives).
type upstreamTLS struct {
	client *upstreamtls.Client
	// name is proxy_ssl_name when it has variables, evaluated per session;
	// nil means the client's own name (proxy_ssl_name without variables,
	// or the proxy_pass host).
	name *template
	// cert and key are proxy_ssl_certificate and proxy_ssl_certificate_key
	// when either has variables, evaluated per session; nil otherwise.
	cert, key *template
	// sessions are the TLS sessions of the server's upstream connections,
	// kept per upstream server as nginx keeps them (proxy_ssl_session_reuse).
	sessions tls.ClientSessionCache
}

// newUpstreamTLS makes the proxy_ssl client of sc, whose ProxySSL is set,
// compiling proxy_ssl_name's variables with c and opening its
// proxy_ssl_key_log file in fs.
func newUpstreamTLS(c *compiler, sc *config.StreamServer, fs *files) (*upstreamTLS, error) {
	ps := *sc.ProxySSL
	if ps.KeyLog != nil {
		// The stream block keeps its own files (the configuration's
		// KeyLogFile is the http snapshot's to attach): a copy is
		// attached to the stream's file of the same path.
		f, err := fs.openKeyLog(ps.KeyLog.Path)
		if err != nil {
			return nil, fmt.Errorf("cannot open upstream TLS key log file: %w in %s", err, ps.KeyLog.Pos)
		}
		kl := &config.KeyLogFile{Path: ps.KeyLog.Path, Pos: ps.KeyLog.Pos}
		kl.Attach(f)
		ps.KeyLog = kl
	}
	u := &upstreamTLS{sessions: tls.NewLRUClientSessionCache(0)}
	if strings.Contains(ps.Name, "$") {
		t, err := c.compile(ps.Name)
		if err != nil {
			return nil, at(err, sc.ProxySSLNamePos)
		}
		u.name, ps.Name = t, ""
	} else {
		ps.Name = upstreamtls.NameWithoutPort(ps.Name)
	}
	if cert := ps.Certificate; cert != nil && cert.CertTemplate != "" {
		var err error
		if u.cert, err = c.compile(cert.CertTemplate); err != nil {
			return nil, at(err, cert.Pos)
		}
		if u.key, err = c.compile(cert.KeyTemplate); err != nil {
			return nil, at(err, cert.KeyPos())
		}
	}
	// The default name is the proxy_pass host: the upstream block's name,
	// or the host of a host:port; with variables in proxy_pass, the
	// session's value's (handshakeUpstream).
	host := ""
	if sc.Upstream != nil {
		host = upstreamtls.NameWithoutPort(sc.Upstream.Name)
	}
	u.client = upstreamtls.New(ps, host)
	return u, nil
}

// handshakeUpstream runs proxy_ssl's handshake on c, a fresh connection to
// the server at addr, within proxy_connect_timeout (nginx sets its connect
// timer anew for the handshake); nil means it failed: c is closed and the
// failure logged as nginx logs it. certFailed says the failure was a
// client certificate named with variables that did not load.
func (s *session) handshakeUpstream(c net.Conn, addr string) (_ net.Conn, certFailed bool) {
	ut := s.srv.upstream
	name := ""
	switch {
	case ut.name != nil:
		name = upstreamtls.NameWithoutPort(string(ut.name.appendValue(nil, s)))
	case s.srv.pass != nil:
		// nginx's u->ssl_name: the host proxy_pass's value named.
		name = upstreamtls.NameWithoutPort(s.passValue)
	}
	client, sessions := ut.client, upstreamtls.PerServer(ut.sessions, addr)
	if ut.cert != nil {
		var err error
		if client, sessions, err = ut.withCert(client, sessions, s); err != nil {
			c.Close()
			s.log(errlog.Error, err.Error()+" while connecting to upstream")
			return nil, true
		}
	}
	if !s.hold(c) {
		c.Close()
		return nil, false
	}
	tc, err := client.Handshake(context.Background(), c, name, s.srv.cfg.ConnectTimeout, sessions)
	if err == nil {
		return tc, false
	}
	s.hold(nil)
	if s.isDone() {
		return nil, false // aborted (a stop): not the server's failure
	}
	const while = " while SSL handshaking to upstream"
	var he *upstreamtls.HandshakeError
	var ve *upstreamtls.VerifyError
	switch {
	case isTimeout(err):
		// nginx 1.22.1 logs nothing for it above debug; the server's
		// failure is logged (warn) as any.
		s.log(errlog.Debug, "upstream timed out (110: Connection timed out)"+while)
	case errors.As(err, &ve):
		s.log(errlog.Error, ve.Error()+while)
	case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
		s.log(errlog.Error, "peer closed connection in SSL handshake"+while)
	case errors.Is(err, syscall.ECONNRESET):
		s.log(errlog.Error, "peer closed connection in SSL handshake ("+errlog.Errno(err)+")"+while)
	case errors.As(err, &he):
		s.log(errlog.Error, he.Reason()+while)
	default:
		s.log(errlog.Error, err.Error()+while)
	}
	return nil, false
}

// withCert returns the client and session cache of a handshake of session
// s with the client certificate of a proxy_ssl_certificate with variables:
// loaded from its values, as nginx 1.22.1 does once the connection is
// made, and with the sessions made with that certificate only (nginx
// resumes one made with another, whose identity the server then sees).
// An empty certificate value sends none.
func (ut *upstreamTLS) withCert(client *upstreamtls.Client, sessions tls.ClientSessionCache, s *session) (*upstreamtls.Client, tls.ClientSessionCache, error) {
	cert := string(ut.cert.appendValue(nil, s))
	if cert == "" {
		return client, sessions, nil
	}
	key := string(ut.key.appendValue(nil, s))
	c, err := client.ForCertificate(cert, key)
	if err != nil {
		return nil, nil, err
	}
	return c, upstreamtls.PerCertificate(sessions, cert+"\x00"+key), nil
}

// hold makes c the upstream connection that end closes, so that a stop
// does not wait for a handshake in progress; false means the session is
// already ending.
func (s *session) hold(c net.Conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.up = c
	return !s.isDone()
}

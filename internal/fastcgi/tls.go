package fastcgi

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"syscall"

	"fulcrum/internal/config"
	"fulcrum/internal/errlog"
	"fulcrum/internal/upstream"
	"fulcrum/internal/upstreamtls"
)

// uwsgiTLS makes the TLS clients of a uwsgi location with settings set
// ("uwsgi_pass suwsgi://", ngx_http_uwsgi_module): static for a pass
// without variables that names suwsgi://, dynamic (its name given per
// handshake) for one with variables, whose value's scheme decides per
// request. Both are nil for a plain uwsgi_pass, and for the other
// protocols.
func uwsgiTLS(set *config.FastCGI, variables bool) (static, dynamic *upstreamtls.Client) {
	switch p := set.Pass; {
	case variables:
		return nil, upstreamtls.New(set.SSL, "")
	case p != nil && p.TLS:
		return upstreamtls.New(set.SSL, passHost(p.Address)), nil
	}
	return nil, nil
}

// passHost is the host of a pass's address, the default uwsgi_ssl_name
// (nginx's u->ssl_name): an upstream block's name, or the address without
// its port; "localhost" for a UNIX socket, as nginx's URL parser names it.
func passHost(addr string) string {
	if len(addr) >= 5 && strings.EqualFold(addr[:5], "unix:") {
		return "localhost"
	}
	return upstreamtls.NameWithoutPort(addr)
}

// handshake runs the TLS handshake of a suwsgi:// request on c, a fresh
// connection to srv, within uwsgi_connect_timeout (nginx's connect timer
// covers it), resuming the sessions the handler keeps per server
// (uwsgi_ssl_session_reuse). A uwsgi_ssl_name with variables is evaluated
// for each handshake, as nginx does, and its sessions are kept per name
// too. A uwsgi_ssl_certificate with variables is loaded for each
// handshake, and its sessions kept per certificate (nginx resumes one made
// with another certificate). c is closed when it fails; the error is then
// an *upstreamtls.HandshakeError, or an *upstreamtls.CertificateError for
// a certificate that did not load.
func (h *Handler) handshake(ctx context.Context, req *request, c net.Conn, srv *upstream.Server) (net.Conn, error) {
	client, sessions := req.tls, upstreamtls.PerServer(h.sessions, srv.Addr())
	if h.sslCert != nil {
		if cert := h.sslCert.String(req.st); cert != "" { // else none, and nginx does not look at the key
			key := h.sslKey.String(req.st)
			var err error
			if client, err = client.ForCertificate(cert, key); err != nil {
				c.Close()
				return nil, err
			}
			sessions = upstreamtls.PerCertificate(sessions, cert+"\x00"+key)
		}
	}
	if h.sslName != nil {
		name := upstreamtls.NameWithoutPort(h.sslName.String(req.st))
		return client.HandshakeNamed(ctx, c, name, h.set.ConnectTimeout, upstreamtls.PerName(sessions, name))
	}
	return client.Handshake(ctx, c, req.sslName, h.set.ConnectTimeout, sessions)
}

// certFailed reports a uwsgi_ssl_certificate with variables that did not
// load (an *upstreamtls.CertificateError): nginx 1.22.1 ends the request
// with 500, logged at error "while connecting to upstream", with no retry
// and no failure counted against the server. It returns nil for any other
// error.
func (h *Handler) certFailed(req *request, err error) *failure {
	var ce *upstreamtls.CertificateError
	if !errors.As(err, &ce) {
		return nil
	}
	h.log.LogRequest(errlog.Error, req.logRequest(), ce.Error()+" while "+errlog.ActionConnect)
	return &failure{status: http.StatusInternalServerError, action: errlog.ActionConnect}
}

// newSessions is the session cache of a handler with TLS clients (nil
// without).
func newSessions(static, dynamic *upstreamtls.Client) tls.ClientSessionCache {
	if static == nil && dynamic == nil {
		return nil
	}
	return tls.NewLRUClientSessionCache(0)
}

// schemeOf is the scheme of the request's upstream in log lines:
// "suwsgi://" over TLS.
func (h *Handler) schemeOf(req *request) string {
	if req.tls != nil {
		return "suwsgi://"
	}
	return h.scheme
}

// handshakeFailure classifies a failed handshake with nginx's words, false
// when err is none: a timeout is 504 ("upstream timed out ... while SSL
// handshaking to upstream"), anything else 502, both an error of the
// server for uwsgi_next_upstream, before the request was sent.
func handshakeFailure(err error) (*failure, string, bool) {
	var he *upstreamtls.HandshakeError
	if !errors.As(err, &he) {
		return nil, "", false
	}
	const while = " while " + errlog.ActionHandshake
	if errlog.IsTimeout(err) {
		return &failure{cond: config.NextTimeout, status: http.StatusGatewayTimeout, action: errlog.ActionHandshake},
			errlog.TimedOut(errlog.ActionHandshake), true
	}
	f := &failure{cond: config.NextError, status: http.StatusBadGateway, action: errlog.ActionHandshake}
	var ve *upstreamtls.VerifyError
	switch {
	case errors.As(err, &ve):
		return f, ve.Error() + while, true
	case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
		return f, "peer closed connection in SSL handshake" + while, true
	case errors.Is(err, syscall.ECONNRESET):
		return f, "peer closed connection in SSL handshake (" + errlog.Errno(err) + ")" + while, true
	}
	return f, he.Reason() + while, true
}

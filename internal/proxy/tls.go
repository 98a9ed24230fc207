package proxy

import (
	"crypto/tls"
	"errors"

	"fulcrum/internal/config"
	"fulcrum/internal/errlog"
	"fulcrum/internal/upstreamtls"
)

// upstreamTLS is how a location speaks TLS to its upstreams (proxy_pass
// https://, grpc_pass grpcs://): package upstreamtls's client, made once
// at load from the proxy_ssl_* settings. Its Key tells the pooled
// connections made with these settings from plain ones and from those of
// other settings, equal across reloads that keep them (so that warm
// connections stay usable, as plain ones do) and different when a reload
// read a changed certificate, trust or revocation file.
type upstreamTLS = upstreamtls.Client

// newUpstreamTLS makes the TLS client settings of a location that proxies
// to host (the proxy_pass host, without its port) with settings s.
func newUpstreamTLS(s config.ProxySSL, host string) *upstreamTLS {
	return upstreamtls.New(s, host)
}

// handshakeFailure words a failed handshake as nginx's error log does; false
// when err is none.
func handshakeFailure(err error) (*failure, bool) {
	var he *upstreamtls.HandshakeError
	if !errors.As(err, &he) {
		return nil, false
	}
	if errlog.IsTimeout(err) {
		return &failure{cond: config.NextTimeout, status: 504, msg: errlog.TimedOut(errlog.ActionHandshake), action: errlog.ActionHandshake}, true
	}
	return &failure{cond: config.NextError, status: 502, msg: he.Reason() + " while " + errlog.ActionHandshake, action: errlog.ActionHandshake}, true
}

// TLSClientConfig returns the TLS client settings a location with settings
// s uses towards host (the proxy_pass host, without its port): SNI,
// verification, protocols, ciphers and client certificate, as for proxied
// requests. The active health checks of such a location use it.
func TLSClientConfig(s config.ProxySSL, host string) *tls.Config {
	return newUpstreamTLS(s, host).Config()
}

// GRPCTLSClientConfig returns the TLS client settings a location with
// grpc_ssl_* settings s uses towards host (the grpc_pass address as
// written; its host is the TLS name), offering "h2" with ALPN, as for
// proxied gRPC calls. The location's gRPC health checks use it.
func GRPCTLSClientConfig(s config.ProxySSL, host string) *tls.Config {
	return newUpstreamTLS(s, hostWithoutPort(host)).WithALPN("h2").Config()
}

// withCert is name (dialTarget's) followed by the client certificate of
// req's handshakes with a proxy_ssl_certificate with variables: a NUL
// byte, the certificate's value, a NUL byte and the key's; name alone when
// the certificate's value is empty (no certificate is sent, and nginx
// 1.22.1 does not look at the key then). Values with a NUL byte cannot
// come from a request: h1 refuses it in the head, and $arg_ values are not
// decoded.
//
// It stays out of line: its string concatenation's temporaries would grow
// attempt's frame, which every proxied request's stack holds.
//
//go:noinline
func (h *Handler) withCert(req *request, name string) string {
	cert := h.sslCert.String(req.st)
	if cert == "" {
		return name
	}
	return name + "\x00" + cert + "\x00" + h.sslKey.String(req.st)
}

// certFailure is the failure of a client certificate named with variables
// that could not be loaded: nginx 1.22.1 ends the request with 500, logged
// at error "while connecting to upstream", with no retry and no failure
// counted against the server; nil for other errors. It stays out of line,
// so that failed's frame does not grow with it.
//
//go:noinline
func certFailure(err error) *failure {
	var ce *upstreamtls.CertificateError
	if !errors.As(err, &ce) {
		return nil
	}
	return &failure{status: 500, action: errlog.ActionConnect, msg: ce.Error() + " while " + errlog.ActionConnect}
}

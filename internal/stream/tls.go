package stream

import (
	"crypto/tls"
	"errors"
	"net"
	"slices"
	"strconv"
	"strings"

	"fulcrum/internal/clientauth"
	"fulcrum/internal/config"
	"fulcrum/internal/errlog"
	"fulcrum/internal/mqtt"
	"fulcrum/internal/servertls"
	"fulcrum/internal/vars"
)

// TLS termination of a "listen ... ssl" (ngx_stream_ssl_module): the
// handshake's settings, the client-certificate check nginx makes once the
// handshake is done, and the $ssl_* variables.

// sslState is what a session knows of its TLS connection, for the $ssl_*
// variables; a session on a plain connection has none.
type sslState struct {
	protocol, cipher, serverName, alpn string
	reused                             bool
	// curve is the key exchange group (0: none); ciphers and curves are
	// what the client's hello offered ($ssl_curve, $ssl_ciphers,
	// $ssl_curves).
	curve           uint16
	ciphers, curves []uint16
	// sigalg is the scheme the server signed the handshake with
	// ($ssl_sigalg); "" for a resumed session.
	sigalg string
	// client is the certificate the client sent and its verdict; nil
	// when it sent none.
	client *vars.ClientCert
}

// sessionZones are the shared session caches of the table being compiled
// and of the current one (package servertls).
type sessionZones = servertls.Zones

// serverTLS compiles the TLS of a server with certificates: the handshake's
// configuration (package servertls) with ssl_alpn and the record of the
// client's hello, and, with ssl_verify_client, the verifier of client
// certificates (nil without). sz gives it its session cache.
func serverTLS(sc *config.StreamServer, sz sessionZones) (*tls.Config, *clientauth.Verifier) {
	c, v := servertls.Config(sc.TLS, sz)
	var alpn []string
	if len(sc.ALPN) > 0 {
		alpn = slices.Clone(sc.ALPN)
		c.NextProtos = alpn
	}
	c.GetConfigForClient = func(hello *tls.ClientHelloInfo) (*tls.Config, error) {
		if hc, ok := hello.Conn.(*helloConn); ok {
			hc.ciphers = hello.CipherSuites
			hc.curves = make([]uint16, len(hello.SupportedCurves))
			for i, id := range hello.SupportedCurves {
				hc.curves[i] = uint16(id)
			}
		}
		if alpn == nil {
			return nil, nil
		}
		return nil, checkALPN(alpn, hello.SupportedProtos)
	}
	return c, v
}

// errNoALPN fails a handshake whose client offers none of ssl_alpn's
// protocols.
var errNoALPN = errors.New("no application protocol")

// checkALPN refuses a client that offers ALPN protocols of which ssl_alpn
// has none, as nginx's ngx_stream_ssl_alpn_select does. crypto/tls refuses
// such a client itself (with nginx's no_application_protocol alert),
// except one offering "http/1.1" to a server with "h2", which it lets in
// without a protocol: that one is refused here (with an internal_error
// alert).
func checkALPN(server, client []string) error {
	if !slices.Contains(server, "h2") || !slices.Contains(client, "http/1.1") {
		return nil
	}
	for _, p := range server {
		if slices.Contains(client, p) {
			return nil
		}
	}
	return errNoALPN
}

// afterHandshake records the session's TLS state for the variables and
// makes nginx's client-certificate check (ngx_stream_ssl_handler): a
// certificate that does not verify (unless optional_no_ca forgives its
// issuer), or none under "ssl_verify_client on", ends the session, logged
// at info. false means it ended.
func (s *session) afterHandshake(tc *tls.Conn) bool {
	st := tc.ConnectionState()
	s.ssl = &sslState{protocol: config.ProtocolName(st.Version), cipher: config.CipherName(st.CipherSuite),
		serverName: st.ServerName, alpn: st.NegotiatedProtocol, reused: st.DidResume, curve: uint16(st.CurveID)}
	if hc, ok := tc.NetConn().(*helloConn); ok {
		s.ssl.ciphers, s.ssl.curves = hc.ciphers, hc.curves
		if st.Version >= tls.VersionTLS12 {
			s.ssl.sigalg = hc.sigalg
		}
		if st.DidResume && st.Version < tls.VersionTLS13 {
			s.ssl.curves = nil // OpenSSL keeps no groups for a resumed TLS 1.2 session
		}
	}
	v := s.srv.verifier
	if v == nil {
		return true
	}
	var res clientauth.Result
	if len(st.PeerCertificates) > 0 {
		res = v.Verify(st.PeerCertificates, s.now())
		s.ssl.client = &vars.ClientCert{Cert: st.PeerCertificates[0], Verify: res.Variable()}
	}
	switch {
	case !res.OK() && !(v.Mode == config.VerifyOptionalNoCA && res.IssuerOnly()):
		s.logHandshake("client SSL certificate verify error: (" + strconv.Itoa(res.Code) + ":" + res.Reason + ")")
		return false
	case v.Mode == config.VerifyOn && s.ssl.client == nil:
		s.logHandshake("client sent no required SSL certificate")
		return false
	}
	return true
}

// failedHandshake keeps what a failed handshake had agreed for the
// variables: as in nginx, a session whose handshake failed after the
// version was chosen (no common ALPN protocol, no common curve) logs its
// $ssl_protocol, $ssl_cipher "(NONE)" before a suite was chosen, and
// $ssl_client_verify "NONE" (checked against nginx 1.22.1).
func (s *session) failedHandshake(tc *tls.Conn) {
	st := tc.ConnectionState()
	if st.Version == 0 {
		return
	}
	s.ssl = &sslState{protocol: config.ProtocolName(st.Version), cipher: config.CipherName(st.CipherSuite)}
	if s.ssl.cipher == "" {
		s.ssl.cipher = "(NONE)"
	}
}

// logHandshake logs msg at info with nginx's context of the handshake.
func (s *session) logHandshake(msg string) {
	s.logPlain(errlog.Info, msg+" while SSL handshaking"+s.peers())
}

// sslVariables are the $ssl_* variables of ngx_stream_ssl_module and
// ngx_stream_ssl_preread_module that fulcrum has. As in nginx, on a plain
// connection the TLS ones are not found, and so is one whose value is
// empty ("-" in a log line), except $ssl_client_verify, "NONE" without a
// client certificate.
var sslVariables = map[string]getter{
	"ssl_protocol":       sslString(func(st *sslState) string { return st.protocol }),
	"ssl_cipher":         sslString(func(st *sslState) string { return st.cipher }),
	"ssl_server_name":    sslString(func(st *sslState) string { return st.serverName }),
	"ssl_alpn_protocol":  sslString(func(st *sslState) string { return st.alpn }),
	"ssl_session_reused": sslString(sessionReused),
	"ssl_sigalg":         sslString(func(st *sslState) string { return st.sigalg }), // nginx 1.29.3
	"ssl_client_sigalg":  sslString(func(*sslState) string { return "" }),           // nginx 1.29.3: crypto/tls does not tell it
	"ssl_curve": sslAppend(func(d []byte, st *sslState) []byte {
		if st.curve == 0 {
			return d
		}
		return vars.AppendTLSGroup(d, st.curve)
	}),
	"ssl_curves":  sslAppend(func(d []byte, st *sslState) []byte { return vars.AppendTLSGroups(d, st.curves) }),
	"ssl_ciphers": sslAppend(func(d []byte, st *sslState) []byte { return vars.AppendTLSCiphers(d, st.ciphers) }),
	"ssl_client_verify": func(d []byte, s *session) ([]byte, bool) {
		switch {
		case s.ssl == nil:
			return d, false
		case s.ssl.client == nil:
			return append(d, "NONE"...), true
		}
		return append(d, s.ssl.client.Verify...), true
	},
}

// prereadVariables are ngx_stream_ssl_preread_module's variables, and
// ngx_stream_mqtt_preread_module's (NGINX Plus). Unlike
// the TLS ones, which a map or set may replace (nginx registers them
// changeable), they are fixed, as the core's.
var prereadVariables = map[string]getter{
	"ssl_preread_server_name":    prereadValue(func(d []byte, h *hello) []byte { return append(d, h.serverName()...) }),
	"ssl_preread_alpn_protocols": prereadValue(func(d []byte, h *hello) []byte { return append(d, h.alpnProtocols()...) }),
	"ssl_preread_protocol":       prereadValue(func(d []byte, h *hello) []byte { return append(d, h.protocol()...) }),
	"mqtt_preread_clientid":      mqttValue(func(c *mqtt.Connect) []byte { return c.ClientID }),
	"mqtt_preread_username":      mqttValue(func(c *mqtt.Connect) []byte { return c.Username }),
}

// sessionReused is $ssl_session_reused: "r" for a resumed session, else ".".
func sessionReused(st *sslState) string {
	if st.reused {
		return "r"
	}
	return "."
}

// sslString makes the getter of a TLS variable whose value is a string.
func sslString(value func(st *sslState) string) getter {
	return sslAppend(func(d []byte, st *sslState) []byte { return append(d, value(st)...) })
}

// sslAppend makes the getter of a TLS variable whose value is appended in
// place; an empty one is not found.
func sslAppend(value func(d []byte, st *sslState) []byte) getter {
	return func(d []byte, s *session) ([]byte, bool) {
		if s.ssl == nil {
			return d, false
		}
		out := value(d, s.ssl)
		return out, len(out) > len(d)
	}
}

// helloConn is an accepted connection that a TLS handshake runs on: it
// keeps what the client's hello offered, which the handshake's
// GetConfigForClient records, for $ssl_ciphers and $ssl_curves.
type helloConn struct {
	net.Conn
	ciphers, curves []uint16
	sigalg          string // written by the handshake's signature (recordSigalg)
	// sess is the session the handshake is for, whose variables name the
	// certificates of an ssl_certificate with variables.
	sess *session
}

// recordSigalg makes c's certificates record the scheme each handshake
// signs with in its helloConn, for $ssl_sigalg (vars.RecordSignature): c's
// GetCertificate (ssl_stapling's) or, without one, a pick among its
// Certificates as crypto/tls makes it, whose certificates are then
// GetCertificate's alone.
func recordSigalg(c *tls.Config) {
	get := c.GetCertificate
	if get == nil {
		pairs := c.Certificates
		if len(pairs) == 0 {
			return
		}
		c.Certificates = nil
		get = func(hello *tls.ClientHelloInfo) (*tls.Certificate, error) { return &pairs[pick(pairs, hello)], nil }
	}
	c.GetCertificate = func(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
		cert, err := get(hello)
		if hc, ok := hello.Conn.(*helloConn); ok && cert != nil && err == nil {
			cert = vars.RecordSignature(cert, &hc.sigalg)
		}
		return cert, err
	}
}

// clientCertVariable returns the getter of an $ssl_client_* variable with
// the http module's formatting (package vars), or nil.
func clientCertVariable(name string) getter {
	f := vars.ClientCertField(name)
	if f == nil {
		return nil
	}
	return func(d []byte, s *session) ([]byte, bool) {
		if s.ssl == nil || s.ssl.client == nil {
			return d, false
		}
		out := f(d, s.ssl.client, s.now())
		return out, len(out) > len(d)
	}
}

// prereadValue makes the getter of an $ssl_preread_* variable: not found
// when ssl_preread read no ClientHello (off, a UDP session, nothing read,
// or bytes that are not one), else the value, even empty.
func prereadValue(value func(d []byte, h *hello) []byte) getter {
	return func(d []byte, s *session) ([]byte, bool) {
		if s.hello == nil {
			return d, false
		}
		return value(d, s.hello), true
	}
}

// lookupVariable returns the getter of a built-in stream variable by its
// lower-case name.
func lookupVariable(name string) (getter, bool) {
	if g, ok := fixedVariable(name); ok {
		return g, true
	}
	if g, ok := sslVariables[name]; ok {
		return g, true
	}
	if tlv, ok := strings.CutPrefix(name, "proxy_protocol_tlv_"); ok {
		return proxyProtocolTLV(tlv), true
	}
	g := clientCertVariable(name)
	return g, g != nil
}

// fixedVariable returns the getter of a built-in variable that a block's
// map, geo, split_clients or set may not redefine (nginx's "the duplicate
// variable").
func fixedVariable(name string) (getter, bool) {
	if g, ok := variables[name]; ok {
		return g, true
	}
	g, ok := prereadVariables[name]
	return g, ok
}

package config

import (
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"
	"strings"
)

// ProxySSL is a level's proxy_ssl_* settings: how fulcrum speaks TLS to the
// upstreams of a proxy_pass https:// (as GRPCSettings.SSL, the grpc_ssl_*
// ones for a grpc_pass grpcs://, which the same code reads and checks). The defaults are nginx's (no SNI, no
// certificate verification, session reuse on), except the protocols:
// TLSv1.2 and TLSv1.3, as fulcrum's ssl_protocols.
type ProxySSL struct {
	// ServerName is proxy_ssl_server_name: send the name (Name) in the
	// handshake's SNI extension. Off by default, as in nginx.
	ServerName bool
	// Name is proxy_ssl_name, the name sent with SNI and checked against the
	// certificate; empty means the proxy_pass host without its port (nginx's
	// default, $proxy_host).
	Name string
	// NameTemplate is proxy_ssl_name's value when it has variables other
	// than $proxy_host alone ("$host", "$arg_n.example"), which package
	// proxy (for proxy_ssl_name and grpc_ssl_name) or fastcgi (for
	// uwsgi_ssl_name) compiles and evaluates per request; Name is then
	// empty. NamePos is where the directive is
	// written, for errors about its variables.
	NameTemplate string
	NamePos      Pos
	// Verify is proxy_ssl_verify: check the upstream's certificate chain
	// against Roots and its name against Name. Off by default, as in nginx.
	Verify bool
	// VerifyDepth is proxy_ssl_verify_depth (default 1): the most
	// intermediate certificates a verified chain may have.
	VerifyDepth int
	// TrustedCertificate is proxy_ssl_trusted_certificate's file, and Roots
	// the certificates it holds; both empty when not written.
	TrustedCertificate string
	Roots              *x509.CertPool
	// CRL is proxy_ssl_crl's file; CRLs its revocation lists, loaded (as
	// nginx does) only where proxy_ssl_verify is on and proxy_pass is
	// https://. With them every certificate of the upstream's chain below
	// the root needs a current list from its issuer that does not revoke
	// it.
	CRL  string
	CRLs []*x509.RevocationList
	// MinVersion and MaxVersion are proxy_ssl_protocols as crypto/tls
	// versions.
	MinVersion, MaxVersion uint16
	// CipherSuites are proxy_ssl_ciphers mapped to Go's TLS 1.2 suites; nil
	// means Go's default.
	CipherSuites []uint16
	// Certificate is proxy_ssl_certificate and proxy_ssl_certificate_key, the
	// client certificate; nil when not written. Its Pair is loaded only at
	// levels whose proxy_pass is https:// (elsewhere it is not used, and
	// nginx does not check it there either).
	Certificate *Certificate
	// SessionReuse is proxy_ssl_session_reuse (default on): resume TLS
	// sessions on new connections to an upstream.
	SessionReuse bool
	// KeyLog is proxy_ssl_key_log (grpc_ssl_key_log, uwsgi_ssl_key_log):
	// the file the handshakes' secrets are appended to; nil writes none.
	KeyLog *KeyLogFile
	// crlDir is the proxy_ssl_crl directive, until checkUpstreamSSL loads
	// it.
	crlDir *Directive
	// rootsSum is the SHA-256 of TrustedCertificate's contents (for
	// Identity); zero when not written.
	rootsSum [sha256.Size]byte
}

// defaultProxySSL are the proxy_ssl_* defaults.
func defaultProxySSL() ProxySSL {
	return ProxySSL{VerifyDepth: 1, MinVersion: tls.VersionTLS12, MaxVersion: tls.VersionTLS13, SessionReuse: true}
}

// applyProxySSLName reads proxy_ssl_name (grpc_ssl_name and uwsgi_ssl_name
// through the same reader): a plain name, $proxy_host (the default), or
// a value with other variables, evaluated per request (NameTemplate).
func applyProxySSLName(_ *builder, st *Settings, dirs []*Directive, _ *scope) error {
	d := dirs[0]
	name := d.Args[0]
	st.ProxySSL.Name, st.ProxySSL.NameTemplate, st.ProxySSL.NamePos = "", "", Pos{}
	switch {
	case name == "$proxy_host":
	case strings.Contains(name, "$"):
		st.ProxySSL.NameTemplate, st.ProxySSL.NamePos = name, d.Pos
	default:
		st.ProxySSL.Name = name
	}
	return nil
}

// applyProxySSLProtocols reads proxy_ssl_protocols (grpc_ssl_protocols
// and the stream block's proxy_ssl_protocols through the same reader).
func applyProxySSLProtocols(b *builder, st *Settings, dirs []*Directive, _ *scope) error {
	var err error
	st.ProxySSL.MinVersion, st.ProxySSL.MaxVersion, err = b.protocols(dirs)
	return err
}

// applyProxySSLCiphers reads proxy_ssl_ciphers (grpc_ssl_ciphers and the
// stream block's proxy_ssl_ciphers through the same reader).
func applyProxySSLCiphers(b *builder, st *Settings, dirs []*Directive, _ *scope) error {
	var err error
	st.ProxySSL.CipherSuites, err = b.ciphers(dirs[0])
	return err
}

// trustedFile is a loaded proxy_ssl_trusted_certificate or
// grpc_ssl_trusted_certificate file.
type trustedFile struct {
	pool *x509.CertPool
	sum  [sha256.Size]byte // of the file's contents
}

// applyProxySSLTrusted loads proxy_ssl_trusted_certificate, a PEM bundle of
// CA certificates, once per file and load.
func applyProxySSLTrusted(b *builder, st *Settings, dirs []*Directive, _ *scope) error {
	d := dirs[0]
	file := b.path(d.Args[0])
	tf, ok := b.roots[file]
	if !ok {
		data, err := os.ReadFile(file)
		if err != nil {
			if msg, ok := opensslOpenError(err, file, "r", true); ok {
				return hintf(d.Pos, fileHint(err), `SSL_CTX_load_verify_locations("%s") failed (%s)`, file, msg)
			}
			return hintf(d.Pos, fileHint(err), `cannot load "%s": %v`, file, unwrapPath(err))
		}
		tf = trustedFile{pool: x509.NewCertPool(), sum: sha256.Sum256(data)}
		if !tf.pool.AppendCertsFromPEM(data) {
			return hintf(d.Pos, "the file must hold PEM certificates (-----BEGIN CERTIFICATE-----)", `no certificates in "%s"`, file)
		}
		if b.roots == nil {
			b.roots = map[string]trustedFile{}
		}
		b.roots[file] = tf
	}
	st.ProxySSL.TrustedCertificate, st.ProxySSL.Roots, st.ProxySSL.rootsSum = file, tf.pool, tf.sum
	return nil
}

// applyProxySSLCertificate records proxy_ssl_certificate and the nearest
// proxy_ssl_certificate_key and proxy_ssl_password_file.
func applyProxySSLCertificate(b *builder, st *Settings, dirs []*Directive, at *scope) error {
	st.ProxySSL.Certificate = b.upstreamCertificate("proxy_", dirs[0], at)
	return nil
}

// upstreamCertificate records a client certificate for upstreams: d is
// PREFIXssl_certificate (prefix "proxy_", "grpc_" or "uwsgi_"), paired with the
// nearest PREFIXssl_certificate_key and PREFIXssl_password_file (each is
// inherited on its own, as in nginx); at is the level being built
// (findHere). The pair is loaded by checkUpstreamSSL, where a TLS upstream
// uses it.
func (b *builder) upstreamCertificate(prefix string, d *Directive, at *scope) *Certificate {
	c := &Certificate{CertFile: b.path(d.Args[0]), Pos: d.Pos, prefix: prefix, Dir: b.prefix, arg: d.Args[0]}
	keys, _ := at.nearest(prefix + "ssl_certificate_key")
	if len(keys) > 0 {
		c.KeyFile, c.keyPos = b.path(keys[0].Args[0]), keys[0].Pos
	}
	if pw, _ := at.nearest(prefix + "ssl_password_file"); len(pw) > 0 {
		c.PasswordFile, c.pwDir = b.path(pw[0].Args[0]), pw[0]
	}
	if len(keys) > 0 && (strings.Contains(d.Args[0], "$") || strings.Contains(keys[0].Args[0], "$")) {
		// nginx 1.21: both are evaluated for each handshake, even
		// the one without variables.
		c.CertTemplate, c.KeyTemplate = d.Args[0], keys[0].Args[0]
		c.CertFile, c.KeyFile = "", ""
	}
	return c
}

// certificateVariables prepares c, a client certificate whose files are
// named with variables, for loading per handshake: nginx 1.21 reads the
// password file at load and keeps its passphrases
// (ngx_ssl_preserve_passwords).
func (b *builder) certificateVariables(c *Certificate) error {
	if c.pwDir == nil {
		return nil
	}
	var err error
	c.Passwords, err = b.readPasswords(c.pwDir)
	return err
}

// findHere is a find function that returns the nearest directives and the
// level asked about (not the one that writes them), for rules that look up
// other directives from there.
func findHere(s *scope, names ...string) ([]*Directive, *scope) {
	if dirs, _ := s.nearest(names...); len(dirs) > 0 {
		return dirs, s
	}
	return nil, nil
}

// checkProxySSL applies nginx's checks of a level that proxies over TLS
// (ngx_http_proxy_set_ssl) with checkUpstreamSSL. As in nginx, a proxy_pass
// with variables counts as one, whatever its scheme.
func checkProxySSL(b *builder, st *Settings, dirs []*Directive, _ *scope) error {
	p := st.ProxyPass
	if p == nil || (p.Scheme != "https" && !p.HasVariables) {
		return nil
	}
	return b.checkUpstreamSSL(&st.ProxySSL, "proxy_", dirs[0].Pos)
}

// checkUpstreamSSL applies nginx's checks of a level that speaks TLS to its
// upstreams (ngx_http_proxy_set_ssl, ngx_http_grpc_set_ssl,
// ngx_http_uwsgi_set_ssl) to ps, its PREFIXssl_* settings (prefix
// "proxy_", "grpc_" or "uwsgi_"); pos is the place of the proxy_pass,
// grpc_pass or uwsgi_pass. PREFIXssl_certificate needs its key, and the
// pair is loaded here; PREFIXssl_verify needs
// PREFIXssl_trusted_certificate; PREFIXssl_crl is loaded only with
// PREFIXssl_verify on.
func (b *builder) checkUpstreamSSL(ps *ProxySSL, prefix string, pos Pos) error {
	if c := ps.Certificate; c != nil {
		if c.KeyFile == "" && c.KeyTemplate == "" {
			return hintf(c.Pos, "add "+prefix+"ssl_certificate_key with the certificate's key",
				`no "%sssl_certificate_key" is defined for certificate "%s"`, prefix, c.arg)
		}
		loaded := *c
		var err error
		if c.CertTemplate != "" {
			err = b.certificateVariables(&loaded)
		} else {
			loaded.Pair, err = b.loadPair(*c, c.keyPos)
		}
		if err != nil {
			return err
		}
		ps.Certificate = &loaded
	}
	if ps.Verify && ps.Roots == nil {
		return hintf(pos, fmt.Sprintf("add %sssl_trusted_certificate with the CA certificates that sign the upstream's, or turn %sssl_verify off", prefix, prefix),
			"no %sssl_trusted_certificate for %sssl_verify", prefix, prefix)
	}
	if ps.Verify && ps.crlDir != nil {
		var err error
		if ps.CRL, ps.CRLs, err = b.loadCRL(ps.crlDir); err != nil {
			return err
		}
	}
	return nil
}

// applyProxySSLCRL records proxy_ssl_crl; checkProxySSL loads it where it is
// used.
func applyProxySSLCRL(_ *builder, st *Settings, dirs []*Directive, _ *scope) error {
	st.ProxySSL.crlDir = dirs[0]
	return nil
}

// Identity describes the settings and the contents of the files they
// loaded (client certificate, trusted certificates, revocation lists): equal
// across loads that read the same settings from unchanged files, different
// when a file changed, so that a client or connection made with the old
// contents is not taken for one made with the new (a reload rereads them).
func (s ProxySSL) Identity() string {
	h := sha256.New()
	if c := s.Certificate; c != nil {
		for _, der := range c.Pair.Certificate {
			h.Write(der)
		}
	}
	h.Write(s.rootsSum[:])
	for _, crl := range s.CRLs {
		h.Write(crl.Raw)
	}
	return fmt.Sprintf("%s sum=%x", s, h.Sum(nil)[:12])
}

// String describes the settings for dumps.
func (s ProxySSL) String() string {
	cert := ""
	if c := s.Certificate; c != nil {
		cert = c.CertFile
		if c.CertTemplate != "" {
			cert = c.CertTemplate + " " + c.KeyTemplate
		}
	}
	name := s.Name
	if s.NameTemplate != "" {
		name = s.NameTemplate
	}
	return fmt.Sprintf("proxy_ssl sni=%t name=%q verify=%t depth=%d trusted=%q crl=%q versions=%#x-%#x ciphers=%d cert=%q reuse=%t",
		s.ServerName, name, s.Verify, s.VerifyDepth, s.TrustedCertificate, s.CRL, s.MinVersion, s.MaxVersion, len(s.CipherSuites), cert, s.SessionReuse)
}

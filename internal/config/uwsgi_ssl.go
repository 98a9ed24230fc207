package config

// uwsgiSSLRules are the rules of the uwsgi_ssl_* directives: how "uwsgi_pass
// suwsgi://" speaks TLS (ngx_http_uwsgi_module). They mean what the
// proxy_ssl_* ones mean for proxy_pass https://, read by the same readers
// into FastCGI.SSL of Settings.UWSGI.
func uwsgiSSLRules() []settingRule {
	u := func(s *Settings) *ProxySSL { return &s.UWSGI.SSL }
	return []settingRule{
		flagRule("uwsgi_ssl_server_name", func(s *Settings) *bool { return &u(s).ServerName }),
		sslRule("uwsgi_ssl_name", u, applyProxySSLName),
		flagRule("uwsgi_ssl_verify", func(s *Settings) *bool { return &u(s).Verify }),
		intRule("uwsgi_ssl_verify_depth", func(s *Settings) *int { return &u(s).VerifyDepth }),
		sslRule("uwsgi_ssl_trusted_certificate", u, applyProxySSLTrusted),
		sslRule("uwsgi_ssl_crl", u, applyProxySSLCRL),
		sslRule("uwsgi_ssl_protocols", u, applyProxySSLProtocols),
		sslRule("uwsgi_ssl_ciphers", u, applyProxySSLCiphers),
		{names: []string{"uwsgi_ssl_certificate"}, find: findHere, apply: func(b *builder, st *Settings, dirs []*Directive, at *scope) error {
			u(st).Certificate = b.upstreamCertificate("uwsgi_", dirs[0], at)
			return nil
		}},
		flagRule("uwsgi_ssl_session_reuse", func(s *Settings) *bool { return &u(s).SessionReuse }),
		keyLogRule("uwsgi_ssl_key_log", u),
		// Last: nginx checks the TLS settings where a suwsgi:// uses them.
		{names: []string{"uwsgi_pass"}, find: findProxyPass, apply: checkUWSGISSL},
	}
}

// checkUWSGISSL applies nginx's checks of a level that passes to suwsgi://
// (ngx_http_uwsgi_set_ssl) with checkUpstreamSSL. As in nginx, a uwsgi_pass
// with variables counts as one, whatever its value's scheme.
func checkUWSGISSL(b *builder, st *Settings, dirs []*Directive, _ *scope) error {
	p := st.UWSGI.Pass
	if p == nil || (!p.TLS && !p.HasVariables) {
		return nil
	}
	return b.checkUpstreamSSL(&st.UWSGI.SSL, "uwsgi_", dirs[0].Pos)
}

package config

// streamProxySSLRules read a stream server's proxy_ssl_* settings
// (ngx_stream_proxy_module), each inherited from the stream level on its
// own. They reuse the http proxy's readers, whose values are the same,
// except proxy_ssl_name, which takes variables in stream, and
// proxy_ssl_trusted_certificate, which nginx loads only with
// proxy_ssl_verify on: it comes after proxy_ssl_verify.
var streamProxySSLRules = []settingRule{
	flagRule("proxy_ssl_server_name", func(s *Settings) *bool { return &s.ProxySSL.ServerName }),
	textRule("proxy_ssl_name", func(s *Settings) *string { return &s.ProxySSL.Name }),
	flagRule("proxy_ssl_verify", func(s *Settings) *bool { return &s.ProxySSL.Verify }),
	intRule("proxy_ssl_verify_depth", func(s *Settings) *int { return &s.ProxySSL.VerifyDepth }),
	{names: []string{"proxy_ssl_trusted_certificate"}, apply: func(b *builder, st *Settings, dirs []*Directive, at *scope) error {
		if !st.ProxySSL.Verify {
			return nil
		}
		return applyProxySSLTrusted(b, st, dirs, at)
	}},
	{names: []string{"proxy_ssl_crl"}, apply: applyProxySSLCRL},
	{names: []string{"proxy_ssl_protocols"}, apply: applyProxySSLProtocols},
	{names: []string{"proxy_ssl_ciphers"}, apply: applyProxySSLCiphers},
	{names: []string{"proxy_ssl_certificate"}, find: findHere, apply: applyProxySSLCertificate},
	flagRule("proxy_ssl_session_reuse", func(s *Settings) *bool { return &s.ProxySSL.SessionReuse }),
	keyLogRule("proxy_ssl_key_log", func(s *Settings) *ProxySSL { return &s.ProxySSL }),
}

// streamProxySSL reads proxy_ssl (off by default) and, where it is on, the
// proxy_ssl_* settings, with nginx's checks of a server that speaks TLS to
// its upstream servers (ngx_stream_proxy_set_ssl): where proxy_ssl is off,
// nginx neither loads nor checks the files and ciphers, and neither does
// fulcrum.
func (b *builder) streamProxySSL(srv *StreamServer, sc *scope) error {
	dirs, _ := sc.nearest("proxy_ssl")
	if len(dirs) == 0 {
		return nil
	}
	on, err := parseFlag(dirs[0].Args[0])
	if err != nil || !on {
		return err
	}
	st := &Settings{ProxySSL: defaultProxySSL()}
	for _, r := range streamProxySSLRules {
		if err := r.fill(b, st, sc); err != nil {
			return err
		}
	}
	if nd, _ := sc.nearest("proxy_ssl_name"); len(nd) > 0 {
		srv.ProxySSLNamePos = nd[0].Pos
	}
	pos := dirs[0].Pos
	if vd, _ := sc.nearest("proxy_ssl_verify"); st.ProxySSL.Verify && len(vd) > 0 {
		pos = vd[0].Pos // the directive that asks for the trusted certificates
	}
	if err := b.checkUpstreamSSL(&st.ProxySSL, "proxy_", pos); err != nil {
		return err
	}
	srv.ProxySSL = &st.ProxySSL
	return nil
}

// checkProtocolNames checks the names of an ssl_protocols-like directive as
// nginx's bitmask slot does where it reads them, whether or not TLS is used
// there.
func checkProtocolNames(d *Directive) error {
	for _, a := range d.Args {
		if _, ok := protocolVersion(a); !ok && a != "SSLv2" && a != "SSLv3" {
			return hintf(d.Pos, "the protocols are TLSv1, TLSv1.1, TLSv1.2 and TLSv1.3", `invalid value "%s" in "%s" directive`, a, d.Name)
		}
	}
	return nil
}

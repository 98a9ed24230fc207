package config

// The deprecated "ssl on | off" directive (nginx 1.15 deprecated it; 1.22
// still accepts it with a warning). nginx decides TLS per listening address
// when a connection arrives: the address speaks TLS when one of its listens
// has "ssl" or when its default server has "ssl on" (ngx_http_init_connection
// looks at the default server's sscf->enable). So "ssl on" in a server that is
// not its address's default changes nothing on the wire, and "ssl on" in the
// default server makes every server on that address TLS-only.

// sslDeprecated is nginx 1.22's warning for every "ssl" directive.
const sslDeprecated = `the "ssl" directive is deprecated, use the "listen ... ssl" directive instead`

// sslOn reads the "ssl" directive in effect for a server (its own or the http
// level's): whether it is on, and the directive, which nginx names when the
// server has no certificate.
func sslOn(sc *scope) (bool, *Directive) {
	dirs, _ := sc.nearest("ssl")
	if len(dirs) == 0 {
		return false, nil
	}
	on, _ := parseFlag(dirs[0].Args[0]) // argsFlag checked it
	return on, dirs[0]
}

// checkSSLOn refuses "ssl on" for a server without a certificate, with
// nginx's message at the "ssl" directive's place (nginx checks every server
// that inherits it, default or not).
func checkSSLOn(srv *Server, d *Directive) error {
	if srv.TLS != nil && (len(srv.TLS.Certificates) > 0 || srv.TLS.RejectHandshake) {
		return nil
	}
	return hintf(d.Pos, `add ssl_certificate and ssl_certificate_key, and write "listen ... ssl" instead of "ssl on"`,
		`no "ssl_certificate" is defined for the "ssl" directive`)
}

// warnSSLDirectives warns about every "ssl" directive written at the http
// level or in a server, as nginx does while it reads them.
func (b *builder) warnSSLDirectives(_ *HTTP, http *scope) error {
	for _, d := range http.own("ssl") {
		b.warnDir(d, "", sslDeprecated)
	}
	for _, s := range http.own("server") {
		for _, d := range newScope(http, ctxServer, s.Block).own("ssl") {
			b.warnDir(d, "", sslDeprecated)
		}
	}
	return nil
}

// applySSLOn makes every address whose default server has "ssl on" a TLS
// address (every listen on it gets SSL), as nginx does per connection.
func applySSLOn(servers []*Server) {
	defaults := defaultServers(servers)
	for _, s := range servers {
		for i := range s.Listens {
			l := &s.Listens[i]
			if d := defaults[l.Network+" "+l.Addr]; d != nil && d.SSLOn {
				l.SSL = true
			}
		}
	}
}

// defaultServers maps every address ("network addr") to its default server:
// the one with default_server, else the first that listens on it.
func defaultServers(servers []*Server) map[string]*Server {
	out := map[string]*Server{}
	explicit := map[string]bool{}
	for _, s := range servers {
		for _, l := range s.Listens {
			key := l.Network + " " + l.Addr
			if explicit[key] {
				continue
			}
			if out[key] == nil || l.DefaultServer {
				out[key] = s
				explicit[key] = l.DefaultServer
			}
		}
	}
	return out
}

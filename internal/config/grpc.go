package config

import (
	"fmt"
	"strings"
	"time"
)

// GRPCPass is the grpc_pass directive (nginx's ngx_http_grpc_module): the
// location forwards requests to a gRPC server over HTTP/2.
type GRPCPass struct {
	// URL is the argument as written.
	URL string
	// TLS is grpcs://: HTTP/2 over TLS (ALPN h2) with GRPCSettings.SSL;
	// otherwise plain-text HTTP/2 with prior knowledge (h2c).
	TLS bool
	// Upstream is the upstream block the address names, or the implicit
	// upstream of its host:port.
	Upstream *Upstream
	// Host is the address as written without the scheme: the default
	// :authority of the upstream request, as nginx's. Empty when
	// HasVariables.
	Host string
	// HasVariables reports that URL contains variables: it is evaluated
	// per request to [grpc://|grpcs://]ADDRESS (the scheme may come from a
	// variable too), and Upstream is nil.
	HasVariables bool
	Pos          Pos
}

// GRPCSettings are the grpc_* directives of a level.
type GRPCSettings struct {
	// SetHeaders is grpc_set_header: fields added to (or, with an empty
	// value, removed from) the upstream request; "Host" sets :authority.
	SetHeaders []HeaderTemplate
	// HideHeaders and PassHeaders are grpc_hide_header and
	// grpc_pass_header: response fields withheld beyond the default ones
	// (Date, Server, X-Accel-*), and default ones passed on after all.
	HideHeaders []string
	PassHeaders []string
	// ConnectTimeout, ReadTimeout and SendTimeout are grpc_connect_timeout,
	// grpc_read_timeout and grpc_send_timeout.
	ConnectTimeout time.Duration
	ReadTimeout    time.Duration
	SendTimeout    time.Duration
	// NextUpstream, NextUpstreamTries and NextUpstreamTimeout are
	// grpc_next_upstream and its _tries and _timeout.
	NextUpstream        NextUpstream
	NextUpstreamTries   int
	NextUpstreamTimeout time.Duration
	// InterceptErrors is grpc_intercept_errors.
	InterceptErrors bool
	// BufferSize is grpc_buffer_size: the bound of a response head as it
	// came, HPACK-coded (proxy.grpcHeadConn), as nginx bounds it.
	BufferSize int64
	// SocketKeepalive is grpc_socket_keepalive: SO_KEEPALIVE on upstream
	// connections.
	SocketKeepalive bool
	// Bind is grpc_bind: the local address of upstream connections, read
	// as proxy_bind but without variables (connections are pooled per
	// location settings); the zero value lets the system pick.
	Bind ProxyBind
	// SSL is how grpcs:// speaks TLS (the grpc_ssl_* directives).
	SSL ProxySSL
}

func defaultGRPC() GRPCSettings {
	return GRPCSettings{
		ConnectTimeout: 60 * time.Second,
		ReadTimeout:    60 * time.Second,
		SendTimeout:    60 * time.Second,
		NextUpstream:   NextError | NextTimeout,
		BufferSize:     4 << 10,
		SSL:            defaultProxySSL(),
	}
}

// grpcRules are the setting rules of the grpc_* directives.
func grpcRules() []settingRule {
	g := func(s *Settings) *GRPCSettings { return &s.GRPC }
	return []settingRule{
		{names: []string{"grpc_pass"}, find: findProxyPass, apply: applyGRPCPass},
		{names: []string{"grpc_set_header"}, apply: func(_ *builder, st *Settings, dirs []*Directive, _ *scope) error {
			st.GRPC.SetHeaders = headerTemplates(dirs)
			return nil
		}},
		listRule("grpc_hide_header", func(s *Settings) *[]string { return &g(s).HideHeaders }),
		listRule("grpc_pass_header", func(s *Settings) *[]string { return &g(s).PassHeaders }),
		msecRule("grpc_connect_timeout", func(s *Settings) *time.Duration { return &g(s).ConnectTimeout }),
		msecRule("grpc_read_timeout", func(s *Settings) *time.Duration { return &g(s).ReadTimeout }),
		msecRule("grpc_send_timeout", func(s *Settings) *time.Duration { return &g(s).SendTimeout }),
		{names: []string{"grpc_next_upstream"}, apply: func(b *builder, st *Settings, dirs []*Directive, _ *scope) error {
			set, err := b.nextUpstream(dirs)
			st.GRPC.NextUpstream = set
			return err
		}},
		intRule("grpc_next_upstream_tries", func(s *Settings) *int { return &g(s).NextUpstreamTries }),
		msecRule("grpc_next_upstream_timeout", func(s *Settings) *time.Duration { return &g(s).NextUpstreamTimeout }),
		flagRule("grpc_intercept_errors", func(s *Settings) *bool { return &g(s).InterceptErrors }),
		sizeRule("grpc_buffer_size", func(s *Settings) *int64 { return &g(s).BufferSize }),
		flagRule("grpc_socket_keepalive", func(s *Settings) *bool { return &g(s).SocketKeepalive }),
		{names: []string{"grpc_bind"}, apply: func(b *builder, st *Settings, dirs []*Directive, at *scope) error {
			scratch := &Settings{}
			if err := applyProxyBind(b, scratch, dirs, at); err != nil {
				return err
			}
			if scratch.ProxyBind.HasVariables {
				return hintf(dirs[0].Pos, "write an IP address: fulcrum pools gRPC connections per location",
					`fulcrum does not support variables in "grpc_bind" yet`)
			}
			g(st).Bind = scratch.ProxyBind
			return nil
		}},
		flagRule("grpc_ssl_server_name", func(s *Settings) *bool { return &g(s).SSL.ServerName }),
		grpcSSLRule("grpc_ssl_name", applyProxySSLName),
		flagRule("grpc_ssl_verify", func(s *Settings) *bool { return &g(s).SSL.Verify }),
		intRule("grpc_ssl_verify_depth", func(s *Settings) *int { return &g(s).SSL.VerifyDepth }),
		grpcSSLRule("grpc_ssl_trusted_certificate", applyProxySSLTrusted),
		grpcSSLRule("grpc_ssl_crl", applyProxySSLCRL),
		grpcSSLRule("grpc_ssl_protocols", applyProxySSLProtocols),
		grpcSSLRule("grpc_ssl_ciphers", applyProxySSLCiphers),
		{names: []string{"grpc_ssl_certificate"}, find: findHere, apply: func(b *builder, st *Settings, dirs []*Directive, at *scope) error {
			st.GRPC.SSL.Certificate = b.upstreamCertificate("grpc_", dirs[0], at)
			return nil
		}},
		flagRule("grpc_ssl_session_reuse", func(s *Settings) *bool { return &g(s).SSL.SessionReuse }),
		keyLogRule("grpc_ssl_key_log", func(s *Settings) *ProxySSL { return &g(s).SSL }),
		// Last: nginx checks the TLS settings where a grpcs:// uses them.
		{names: []string{"grpc_pass"}, find: findProxyPass, apply: checkGRPCSSL},
	}
}

// grpcSSLRule applies a proxy_ssl_* reader to the grpc_ssl_* settings:
// the directives take the same values.
func grpcSSLRule(name string, apply func(*builder, *Settings, []*Directive, *scope) error) settingRule {
	return sslRule(name, func(s *Settings) *ProxySSL { return &s.GRPC.SSL }, apply)
}

// sslRule applies a proxy_ssl_* reader to the ProxySSL that field gives
// (grpc_ssl_*, uwsgi_ssl_*): the directives take the same values.
func sslRule(name string, field func(*Settings) *ProxySSL, apply func(*builder, *Settings, []*Directive, *scope) error) settingRule {
	return settingRule{names: []string{name}, apply: func(b *builder, st *Settings, dirs []*Directive, at *scope) error {
		scratch := &Settings{ProxySSL: *field(st)}
		err := apply(b, scratch, dirs, at)
		*field(st) = scratch.ProxySSL
		return err
	}}
}

// applyGRPCPass reads the level's own grpc_pass (it is not inherited).
func applyGRPCPass(b *builder, st *Settings, dirs []*Directive, _ *scope) error {
	p, err := b.grpcPass(dirs[0])
	st.GRPCPass = p
	return err
}

// grpcPass reads "grpc_pass [grpc://|grpcs://]address".
func (b *builder) grpcPass(d *Directive) (*GRPCPass, error) {
	raw := d.Args[0]
	p := &GRPCPass{URL: raw, Pos: d.Pos}
	rest := raw
	lower := strings.ToLower(raw)
	switch {
	case strings.HasPrefix(lower, "grpc://"):
		rest = raw[len("grpc://"):]
	case strings.HasPrefix(lower, "grpcs://"):
		rest, p.TLS = raw[len("grpcs://"):], true
	case strings.Contains(raw, "://"):
		return nil, hintf(d.Pos, "grpc_pass takes grpc://ADDRESS, grpcs://ADDRESS or a bare address", `invalid host in upstream "%s"`, raw)
	}
	if strings.Contains(raw, "$") {
		// Evaluated per request, scheme included (ngx_http_grpc_eval).
		p.HasVariables, p.Host = true, ""
		return p, nil
	}
	if strings.HasPrefix(rest, "unix:") {
		p.Host = "localhost"
	} else {
		if strings.ContainsAny(rest, "/?") {
			return nil, hintf(d.Pos, "grpc_pass takes an address without a URI: the request's URI is passed as it is", `invalid host in upstream "%s"`, rest)
		}
		p.Host = rest
		if hp, err := splitHostPort(rest, 0); err == nil && !hp.hasPort && b.upstreams[strings.ToLower(hp.host)] == nil {
			return nil, hintf(d.Pos, fmt.Sprintf("write the port, such as %s:50051, or name an upstream block", rest), `no port in upstream "%s"`, rest)
		}
	}
	port := 80
	if p.TLS {
		port = 443
	}
	var err error
	p.Upstream, err = b.upstreamFor(d, rest, port)
	return p, err
}

// checkGRPCSSL applies nginx's checks of a level that passes to grpcs://
// (ngx_http_grpc_set_ssl) with checkUpstreamSSL.
func checkGRPCSSL(b *builder, st *Settings, dirs []*Directive, _ *scope) error {
	p := st.GRPCPass
	if p == nil || (!p.TLS && !p.HasVariables) { // nginx checks a grpc_pass with variables too
		return nil
	}
	return b.checkUpstreamSSL(&st.GRPC.SSL, "grpc_", dirs[0].Pos)
}

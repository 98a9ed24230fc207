package daemon

import (
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"

	"fulcrum/internal/balancer"
	"fulcrum/internal/config"
	"fulcrum/internal/proxy"
	"fulcrum/internal/upstream"
	"fulcrum/internal/upstreamtls"
	"fulcrum/internal/vars"
)

// dynamicProxy resolves a proxy_pass with variables per request: the evaluated
// URL names an upstream block, a literal IP address and port, or, with a
// resolver at the location's level, a host name looked up with it (its
// addresses are a round-robin group, cached for the answer's TTL or the resolver's valid=).
// With https:// each target carries the TLS client of its host (the name
// that proxy_ssl_server_name sends and proxy_ssl_verify checks when
// proxy_ssl_name does not say otherwise, as nginx's u->ssl_name). A
// grpc_pass with variables finds its targets with one too (dynamicGRPC).
type dynamicProxy struct {
	url *vars.Template
	// prefix is the scheme the evaluated URL must start with ("http://" or
	// "https://"), and port the default port ("80" or "443").
	prefix, port string
	// ssl are the location's proxy_ssl_* settings with https://, else nil.
	ssl    *config.ProxySSL
	byName map[string]proxy.Target
	// addrs are the targets of literal addresses and host names.
	addrs *addrTargets[proxy.Target]
}

// resolve is the proxy.DynamicTarget of a proxy_pass with variables, as
// nginx's ngx_http_proxy_eval and ngx_http_upstream_init_request: a value
// that is no valid URL is an *proxy.InvalidTargetError (500).
func (d *dynamicProxy) resolve(st *vars.State) (proxy.Target, string, bool, error) {
	return d.resolveURL(st, d.url.String(st))
}

// resolveURL is resolve of raw, the evaluated URL.
func (d *dynamicProxy) resolveURL(st *vars.State, raw string) (proxy.Target, string, bool, error) {
	rest, ok := cutPrefixFold(raw, d.prefix)
	if !ok || rest == "" {
		return proxy.Target{}, "", false, &proxy.InvalidTargetError{Msg: fmt.Sprintf(`invalid URL prefix in "%s"`, raw)}
	}
	a, err := parseUpstreamURL(rest, true)
	if err != nil {
		return proxy.Target{}, "", false, err
	}
	uri := a.uri
	if a.hasURI && uri[0] == '?' {
		uri = "/" + uri
	}
	if a.unix {
		// nginx's $proxy_host (and Host) of a socket is "localhost", and
		// its $proxy_port empty (ngx_http_proxy_set_vars).
		st.ProxyHost, st.ProxyPort = "localhost", ""
		t, err := d.addrs.literalTarget("unix", a.host)
		return t, uri, a.hasURI, err
	}
	// $proxy_host leaves out the default port (ngx_http_proxy_set_vars).
	st.ProxyHost, st.ProxyPort = a.host, d.port
	if a.port != "" && a.portNum != d.defaultPort() {
		st.ProxyHost, st.ProxyPort = a.hostport, a.port
	}
	if t, ok := d.byName[a.hostport]; ok {
		return t, uri, a.hasURI, nil
	}
	t, err := d.literalTarget(a.hostport)
	return t, uri, a.hasURI, err
}

// schemeProxy resolves a proxy_pass whose scheme itself comes from a
// variable ("$upstream_proto://$upstream_app:$upstream_port", as SWAG's
// samples write): each evaluated URL goes to the resolver of its scheme, as
// nginx's ngx_http_proxy_eval picks http:// or https:// per request (the
// targets of https:// carry their TLS client).
type schemeProxy struct {
	url        *vars.Template
	plain, tls *dynamicProxy
}

// resolve is the proxy.DynamicTarget of schemeProxy: a URL that starts with
// neither scheme is an *proxy.InvalidTargetError (500), as with a literal
// scheme.
func (s *schemeProxy) resolve(st *vars.State) (proxy.Target, string, bool, error) {
	raw := s.url.String(st)
	if _, ok := cutPrefixFold(raw, s.tls.prefix); ok {
		return s.tls.resolveURL(st, raw)
	}
	return s.plain.resolveURL(st, raw)
}

// upstreamURL is an evaluated proxy_pass or grpc_pass after its scheme:
// host[:port] (host with IPv6 brackets), the port when written, and the
// URI part. With unix, host is a UNIX socket's path and hostport
// "unix:" and the path.
type upstreamURL struct {
	hostport, host, port string
	portNum              uint16
	uri                  string
	hasURI               bool
	unix                 bool
}

// maxUnixPath is the longest socket path (sun_path's 108 bytes, its
// terminating zero included), as ngx_parse_unix_domain_url checks.
const maxUnixPath = 107

// parseUpstreamURL splits rest, the URL after its scheme, as nginx's
// ngx_parse_inet_url does, with its error texts: a URI part is allowed
// only with uriPart (proxy_pass; grpc_pass's is "invalid host"), a port
// must be 1-65535, and the host may not be empty.
func parseUpstreamURL(rest string, uriPart bool) (upstreamURL, error) {
	invalid := func(what string) error {
		return &proxy.InvalidTargetError{Msg: fmt.Sprintf(`%s in upstream "%s"`, what, rest)}
	}
	if len(rest) >= 5 && strings.EqualFold(rest[:5], "unix:") {
		return parseUnixURL(rest, uriPart)
	}
	a := upstreamURL{hostport: rest}
	if i := strings.IndexAny(rest, "/?"); i >= 0 {
		if !uriPart {
			return a, invalid("invalid host")
		}
		a.hostport, a.uri, a.hasURI = rest[:i], rest[i:], true
	}
	a.host = a.hostport
	from := 0
	if strings.HasPrefix(a.hostport, "[") {
		end := strings.IndexByte(a.hostport, ']')
		if end < 0 {
			return a, invalid("invalid IPv6 address")
		}
		from = end + 1
	}
	if i := strings.IndexByte(a.hostport[from:], ':'); i >= 0 {
		a.host, a.port = a.hostport[:from+i], a.hostport[from+i+1:]
		n, err := strconv.ParseUint(a.port, 10, 16) // digits only, as ngx_atoi
		if err != nil || n < 1 {
			return a, invalid("invalid port")
		}
		a.portNum = uint16(n)
	}
	if a.host == "" {
		return a, invalid("no host")
	}
	return a, nil
}

// parseUnixURL splits "unix:/path" as nginx's ngx_parse_unix_domain_url
// does, with its error texts: with uriPart (proxy_pass), what follows the
// path's first ':' is the URI part ("unix:/s.sock:/x"); without it
// (grpc_pass), the whole rest is the path.
func parseUnixURL(rest string, uriPart bool) (upstreamURL, error) {
	a := upstreamURL{unix: true, host: rest[5:]}
	if uriPart {
		if i := strings.IndexByte(a.host, ':'); i >= 0 {
			a.host, a.uri = a.host[:i], a.host[i+1:]
			a.hasURI = a.uri != ""
		}
	}
	switch {
	case a.host == "":
		return a, &proxy.InvalidTargetError{Msg: fmt.Sprintf(`no path in the unix domain socket in upstream "%s"`, rest)}
	case len(a.host) > maxUnixPath:
		return a, &proxy.InvalidTargetError{Msg: fmt.Sprintf(`too long path in the unix domain socket in upstream "%s"`, rest)}
	}
	a.hostport = "unix:" + a.host
	return a, nil
}

// literalTarget returns the target of an IP:port (an IP alone has the
// scheme's default port), or, with a resolver, of a host name (its port
// too, when not written).
func (d *dynamicProxy) literalTarget(hostport string) (proxy.Target, error) {
	addr, err := netip.ParseAddrPort(hostport)
	if err != nil {
		a, perr := netip.ParseAddr(strings.Trim(hostport, "[]"))
		if perr != nil {
			host, port := hostport, d.port
			if h, p, err := net.SplitHostPort(hostport); err == nil {
				host, port = h, p
			}
			return d.addrs.nameTarget(hostport, host, port)
		}
		addr = netip.AddrPortFrom(a, d.defaultPort())
	}
	return d.addrs.literalTarget("tcp", addr.String())
}

// defaultPort is the port of an address written without one.
func (d *dynamicProxy) defaultPort() uint16 {
	n, _ := strconv.Atoi(d.port)
	return uint16(n)
}

// proxyTarget makes the target of a group a variable named (key), whose
// host (without port) is host: with ts, its own connection pool (nil for
// grpc_pass, whose targets use gRPC clients); with ssl (https://), the TLS
// client of host.
func proxyTarget(ts *proxy.Transports, ssl *config.ProxySSL) func(key, host string, pool *upstream.Pool) proxy.Target {
	return func(key, host string, pool *upstream.Pool) proxy.Target {
		t := proxy.Target{Pool: pool, Policy: &balancer.RoundRobin{}}
		if ts != nil {
			t.Transport = ts.For("dynamic "+key, proxy.PoolOptions{})
		}
		if ssl != nil {
			t.TLS = upstreamtls.New(*ssl, host)
		}
		return t
	}
}

func cutPrefixFold(s, prefix string) (string, bool) {
	if len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix) {
		return s[len(prefix):], true
	}
	return s, false
}

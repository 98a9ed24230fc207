package daemon

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"fulcrum/internal/balancer"
	"fulcrum/internal/config"
	"fulcrum/internal/proxy"
	"fulcrum/internal/resolve"
	"fulcrum/internal/upstream"
	"fulcrum/internal/upstreamtls"
	"fulcrum/internal/vars"
)

// maxDynamicTargets bounds the literal addresses a proxy_pass with variables
// may create pools for in one snapshot, so request data cannot grow memory
// without bound.
const maxDynamicTargets = 256

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
	// ts makes the connection pools of literal and resolved targets; nil
	// for grpc_pass, whose targets use gRPC clients.
	ts *proxy.Transports
	// dns looks host names up (nil without a resolver); valid is how long
	// an answer is used: the resolver's valid=, or, when 0, the answer's
	// TTL (keep).
	dns   *resolve.Client
	valid time.Duration
	now   func() time.Time

	mu      sync.Mutex // guards literal and names
	literal map[string]proxy.Target
	names   map[string]*resolvedTarget
}

// resolvedTarget is a host name's target while its answer is valid.
type resolvedTarget struct {
	addrs   []netip.Addr
	t       proxy.Target
	expires time.Time
}

// resolve is the proxy.DynamicTarget of a proxy_pass with variables, as
// nginx's ngx_http_proxy_eval and ngx_http_upstream_init_request: a value
// that is no valid URL is an *proxy.InvalidTargetError (500).
func (d *dynamicProxy) resolve(st *vars.State) (proxy.Target, string, bool, error) {
	raw := d.url.String(st)
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

// upstreamURL is an evaluated proxy_pass or grpc_pass after its scheme:
// host[:port] (host with IPv6 brackets), the port when written, and the
// URI part.
type upstreamURL struct {
	hostport, host, port string
	portNum              uint16
	uri                  string
	hasURI               bool
}

// parseUpstreamURL splits rest, the URL after its scheme, as nginx's
// ngx_parse_inet_url does, with its error texts: a URI part is allowed
// only with uriPart (proxy_pass; grpc_pass's is "invalid host"), a port
// must be 1-65535, and the host may not be empty.
func parseUpstreamURL(rest string, uriPart bool) (upstreamURL, error) {
	invalid := func(what string) error {
		return &proxy.InvalidTargetError{Msg: fmt.Sprintf(`%s in upstream "%s"`, what, rest)}
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

// literalTarget returns a single-server target for an IP:port, made on first use.
func (d *dynamicProxy) literalTarget(hostport string) (proxy.Target, error) {
	addr, err := netip.ParseAddrPort(hostport)
	if err != nil {
		if a, perr := netip.ParseAddr(strings.Trim(hostport, "[]")); perr == nil {
			addr = netip.AddrPortFrom(a, d.defaultPort())
		} else if d.dns == nil {
			return proxy.Target{}, fmt.Errorf("no resolver defined to resolve %s", hostOf(hostport))
		} else {
			return d.nameTarget(hostport)
		}
	}
	key := addr.String()
	d.mu.Lock()
	defer d.mu.Unlock()
	if t, ok := d.literal[key]; ok {
		return t, nil
	}
	if len(d.literal) >= maxDynamicTargets {
		return proxy.Target{}, fmt.Errorf("too many distinct proxy_pass addresses from variables (%d); use an upstream block", maxDynamicTargets)
	}
	pool, err := upstream.NewPool(key, []upstream.Settings{upstream.NewSettings("tcp", key)})
	if err != nil {
		return proxy.Target{}, err
	}
	t := d.newTarget(key, pool, addr.Addr().String())
	d.literal[key] = t
	return t, nil
}

// defaultPort is the port of an address written without one.
func (d *dynamicProxy) defaultPort() uint16 {
	n, _ := strconv.Atoi(d.port)
	return uint16(n)
}

// newTarget makes the target of pool, named key, whose host (without
// port) is host: its connection pool and, with https://, its TLS client.
func (d *dynamicProxy) newTarget(key string, pool *upstream.Pool, host string) proxy.Target {
	t := proxy.Target{Pool: pool, Policy: &balancer.RoundRobin{}}
	if d.ts != nil {
		t.Transport = d.ts.For("dynamic "+key, proxy.PoolOptions{})
	}
	if d.ssl != nil {
		t.TLS = upstreamtls.New(*d.ssl, host)
	}
	return t
}

// keep is how long an answer valid for ttl is used (resolve.Keep).
func (d *dynamicProxy) keep(ttl time.Duration) time.Duration {
	return resolve.Keep(d.valid, ttl)
}

// nameTarget returns the target of a host[:port] whose host is a name:
// the cached one while its answer is valid, else one made from a new
// lookup (kept, with its servers' state, when the addresses did not
// change). The lookup runs without the lock, so a slow DNS server holds
// back only the requests that need it.
func (d *dynamicProxy) nameTarget(hostport string) (proxy.Target, error) {
	host, port := hostport, d.port
	if h, p, err := net.SplitHostPort(hostport); err == nil {
		host, port = h, p
	}
	now := d.now()
	d.mu.Lock()
	cached := d.names[hostport]
	d.mu.Unlock()
	if cached != nil && now.Before(cached.expires) {
		return cached.t, nil
	}
	addrs, ttl, err := d.dns.LookupTTL(context.Background(), host)
	if err != nil {
		return proxy.Target{}, fmt.Errorf("%s could not be resolved (%s)", host, resolve.Describe(err))
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if cur := d.names[hostport]; cur != nil && slices.Equal(cur.addrs, addrs) {
		cur.expires = now.Add(d.keep(ttl))
		return cur.t, nil
	}
	if _, known := d.names[hostport]; !known && len(d.literal)+len(d.names) >= maxDynamicTargets {
		return proxy.Target{}, fmt.Errorf("too many distinct proxy_pass addresses from variables (%d); use an upstream block", maxDynamicTargets)
	}
	settings := make([]upstream.Settings, 0, len(addrs))
	for _, a := range addrs {
		set := upstream.NewSettings("tcp", net.JoinHostPort(a.String(), port))
		set.Name = hostport
		settings = append(settings, set)
	}
	pool, err := upstream.NewPool(hostport, settings)
	if err != nil {
		return proxy.Target{}, err
	}
	t := d.newTarget(hostport, pool, host)
	d.names[hostport] = &resolvedTarget{addrs: addrs, t: t, expires: now.Add(d.keep(ttl))}
	return t, nil
}

// hostOf is the host of a host[:port] (nginx names a host without its
// port in "no resolver defined to resolve").
func hostOf(hostport string) string {
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		return h
	}
	return hostport
}

func cutPrefixFold(s, prefix string) (string, bool) {
	if len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix) {
		return s[len(prefix):], true
	}
	return s, false
}

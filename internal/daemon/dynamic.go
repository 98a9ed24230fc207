package daemon

import (
	"fmt"
	"net"
	"net/netip"
	"strings"

	"fulcrum/internal/balancer"
	"fulcrum/internal/proxy"
	"fulcrum/internal/upstream"
	"fulcrum/internal/vars"
)

// dynamicProxy resolves a proxy_pass with variables per request: the evaluated
// URL names an upstream block, a literal IP address and port, or, with a
// resolver at the location's level, a host name looked up with it (its
// addresses are a round-robin group, cached for the answer's TTL or the resolver's valid=).
type dynamicProxy struct {
	url    *vars.Template
	byName map[string]proxy.Target
	// addrs are the targets of literal addresses and host names.
	addrs *addrTargets[proxy.Target]
}

func (d *dynamicProxy) resolve(st *vars.State) (proxy.Target, string, bool, error) {
	raw := d.url.String(st)
	rest, ok := cutPrefixFold(raw, "http://")
	if !ok {
		return proxy.Target{}, "", false, fmt.Errorf(`invalid URL prefix in "%s"`, raw)
	}
	hostport, uri, hasURI := rest, "", false
	if i := strings.IndexAny(rest, "/?"); i >= 0 {
		hostport, uri, hasURI = rest[:i], rest[i:], true
		if uri[0] == '?' {
			uri = "/" + uri
		}
	}
	st.ProxyHost, st.ProxyPort = hostport, "80"
	if _, port, ok := strings.Cut(hostport, ":"); ok {
		st.ProxyPort = port
	}
	if t, ok := d.byName[hostport]; ok {
		return t, uri, hasURI, nil
	}
	t, err := d.literalTarget(hostport)
	return t, uri, hasURI, err
}

// literalTarget returns the target of an IP:port (an IP alone has port
// 80), or, with a resolver, of a host name.
func (d *dynamicProxy) literalTarget(hostport string) (proxy.Target, error) {
	addr, err := netip.ParseAddrPort(hostport)
	if err != nil {
		a, perr := netip.ParseAddr(strings.Trim(hostport, "[]"))
		if perr != nil {
			host, port := hostport, "80"
			if h, p, err := net.SplitHostPort(hostport); err == nil {
				host, port = h, p
			}
			return d.addrs.nameTarget(hostport, host, port)
		}
		addr = netip.AddrPortFrom(a, 80)
	}
	return d.addrs.literalTarget("tcp", addr.String())
}

// proxyTarget makes the target of a group a variable named, with its own
// connection pool.
func proxyTarget(ts *proxy.Transports) func(string, *upstream.Pool) proxy.Target {
	return func(key string, pool *upstream.Pool) proxy.Target {
		return proxy.Target{Pool: pool, Policy: &balancer.RoundRobin{}, Transport: ts.For("dynamic "+key, proxy.PoolOptions{})}
	}
}

func cutPrefixFold(s, prefix string) (string, bool) {
	if len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix) {
		return s[len(prefix):], true
	}
	return s, false
}

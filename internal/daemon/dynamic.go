package daemon

import (
	"fmt"
	"net/netip"
	"strings"
	"sync"

	"fulcrum/internal/balancer"
	"fulcrum/internal/proxy"
	"fulcrum/internal/upstream"
	"fulcrum/internal/vars"
)

// maxDynamicTargets bounds the literal addresses a proxy_pass with variables
// may create pools for in one snapshot, so request data cannot grow memory
// without bound.
const maxDynamicTargets = 256

// dynamicProxy resolves a proxy_pass with variables per request: the evaluated
// URL names an upstream block, or a literal IP address and port. Host names
// other than upstream names would need DNS at request time (nginx's resolver
// directive), which fulcrum does not do.
type dynamicProxy struct {
	url    *vars.Template
	byName map[string]proxy.Target
	ts     *proxy.Transports

	mu      sync.Mutex // guards literal
	literal map[string]proxy.Target
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

// literalTarget returns a single-server target for an IP:port, made on first use.
func (d *dynamicProxy) literalTarget(hostport string) (proxy.Target, error) {
	addr, err := netip.ParseAddrPort(hostport)
	if err != nil {
		if a, perr := netip.ParseAddr(strings.Trim(hostport, "[]")); perr == nil {
			addr = netip.AddrPortFrom(a, 80)
		} else {
			return proxy.Target{}, fmt.Errorf("no resolver defined to resolve %s", hostport)
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
	t := proxy.Target{Pool: pool, Policy: &balancer.RoundRobin{}, Transport: d.ts.For("dynamic "+key, proxy.PoolOptions{})}
	d.literal[key] = t
	return t, nil
}

func cutPrefixFold(s, prefix string) (string, bool) {
	if len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix) {
		return s[len(prefix):], true
	}
	return s, false
}

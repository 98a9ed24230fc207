package daemon

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"time"

	"fulcrum/internal/balancer"
	"fulcrum/internal/proxy"
	"fulcrum/internal/resolve"
	"fulcrum/internal/upstream"
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
type dynamicProxy struct {
	url    *vars.Template
	byName map[string]proxy.Target
	ts     *proxy.Transports
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
		} else if d.dns == nil {
			return proxy.Target{}, fmt.Errorf("no resolver defined to resolve %s", hostport)
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
	t := proxy.Target{Pool: pool, Policy: &balancer.RoundRobin{}, Transport: d.ts.For("dynamic "+key, proxy.PoolOptions{})}
	d.literal[key] = t
	return t, nil
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
	host, port := hostport, "80"
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
	t := proxy.Target{Pool: pool, Policy: &balancer.RoundRobin{}, Transport: d.ts.For("dynamic "+hostport, proxy.PoolOptions{})}
	d.names[hostport] = &resolvedTarget{addrs: addrs, t: t, expires: now.Add(d.keep(ttl))}
	return t, nil
}

func cutPrefixFold(s, prefix string) (string, bool) {
	if len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix) {
		return s[len(prefix):], true
	}
	return s, false
}

package daemon

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"sync"
	"time"

	"fulcrum/internal/resolve"
	"fulcrum/internal/upstream"
)

// maxDynamicTargets bounds the literal addresses a pass with variables
// (proxy_pass, fastcgi_pass, ...) may create groups for in one snapshot, so
// request data cannot grow memory without bound.
const maxDynamicTargets = 256

// addrTargets finds the target of an address that a pass with variables
// evaluated to, when it names no upstream block: a single-server group for
// a literal address, or, with a resolver, a round-robin group of a host
// name's addresses, cached for the answer's TTL or the resolver's valid=.
// T is the consumer's target (proxy.Target, fastcgi.Target), which build
// makes around a new group. It is safe for concurrent use.
type addrTargets[T any] struct {
	// build makes a target around a new group; key names it ("ip:port",
	// "unix:/path" or "host:port"), host is its host without port (the IP
	// address, the socket path or the name), which a TLS client verifies.
	build func(key, host string, pool *upstream.Pool) T
	// what names the directive in the "too many" error ("proxy_pass").
	what string
	// dns looks host names up (nil without a resolver); valid is how long
	// an answer is used: the resolver's valid=, or, when 0, the answer's
	// TTL (resolve.Keep).
	dns   *resolve.Client
	valid time.Duration
	now   func() time.Time

	mu      sync.Mutex // guards literal and names
	literal map[string]T
	names   map[string]*resolvedTarget[T]
}

// resolvedTarget is a host name's target while its answer is valid.
type resolvedTarget[T any] struct {
	addrs   []netip.Addr
	t       T
	expires time.Time
}

// newAddrTargets returns an empty set; dns may be nil (no resolver).
func newAddrTargets[T any](what string, build func(key, host string, pool *upstream.Pool) T, dns *resolve.Client, valid time.Duration, now func() time.Time) *addrTargets[T] {
	return &addrTargets[T]{build: build, what: what, dns: dns, valid: valid, now: now,
		literal: map[string]T{}, names: map[string]*resolvedTarget[T]{}}
}

// literalTarget returns the single-server target of network ("tcp" or
// "unix") and addr ("ip:port" or a socket path), made on first use.
func (d *addrTargets[T]) literalTarget(network, addr string) (T, error) {
	key, host := addr, addr
	if network == "unix" {
		key = "unix:" + addr
	} else if h, _, err := net.SplitHostPort(addr); err == nil {
		host = h
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if t, ok := d.literal[key]; ok {
		return t, nil
	}
	var zero T
	if len(d.literal)+len(d.names) >= maxDynamicTargets {
		return zero, d.tooMany()
	}
	pool, err := upstream.NewPool(key, []upstream.Settings{upstream.NewSettings(network, addr)})
	if err != nil {
		return zero, fmt.Errorf("group for %s: %w", key, err)
	}
	t := d.build(key, host, pool)
	d.literal[key] = t
	return t, nil
}

// tooMany is the error of one distinct address too many.
func (d *addrTargets[T]) tooMany() error {
	return fmt.Errorf("too many distinct %s addresses from variables (%d); use an upstream block", d.what, maxDynamicTargets)
}

// nameTarget returns the target of host (a name) and port, which key
// ("host:port" as the value wrote it) names: the cached one
// while its answer is valid, else one made from a new lookup (kept, with
// its servers' state, when the addresses did not change). The lookup runs
// without the lock, so a slow DNS server holds back only the requests that
// need it. Without a resolver it is nginx's "no resolver defined" error.
func (d *addrTargets[T]) nameTarget(hostport, host, port string) (T, error) {
	var zero T
	if d.dns == nil {
		return zero, fmt.Errorf("no resolver defined to resolve %s", host)
	}
	now := d.now()
	d.mu.Lock()
	cached := d.names[hostport]
	d.mu.Unlock()
	if cached != nil && now.Before(cached.expires) {
		return cached.t, nil
	}
	addrs, expires, err := d.dns.Resolve(context.Background(), host, d.valid, now)
	if err != nil {
		return zero, fmt.Errorf("%s could not be resolved (%s)", host, resolve.Describe(err))
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if cur := d.names[hostport]; cur != nil && slices.Equal(cur.addrs, addrs) {
		cur.expires = expires
		return cur.t, nil
	}
	if _, known := d.names[hostport]; !known && len(d.literal)+len(d.names) >= maxDynamicTargets {
		return zero, d.tooMany()
	}
	settings := make([]upstream.Settings, 0, len(addrs))
	for _, a := range addrs {
		// Named by its address, as nginx names the peers of a resolved
		// name (its error lines say upstream: "http://127.0.0.1:8080/").
		settings = append(settings, upstream.NewSettings("tcp", net.JoinHostPort(a.String(), port)))
	}
	pool, err := upstream.NewPool(hostport, settings)
	if err != nil {
		return zero, fmt.Errorf("group for %s: %w", hostport, err)
	}
	t := d.build(hostport, host, pool)
	d.names[hostport] = &resolvedTarget[T]{addrs: addrs, t: t, expires: expires}
	return t, nil
}

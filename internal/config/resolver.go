package config

import (
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// defaultResolverTimeout is resolver_timeout's default, as nginx's.
const defaultResolverTimeout = 30 * time.Second

// DNSResolver is a resolver directive with its level's resolver_timeout:
// the DNS servers that re-resolve the upstream servers marked resolve.
type DNSResolver struct {
	// Addrs are the DNS servers, "ip:port" (port 53 unless given).
	Addrs []string
	// Valid is valid=: how long an answer is used; 0 when not given.
	Valid time.Duration
	// IPv4 and IPv6 say which addresses are looked up (ipv4=, ipv6=).
	IPv4, IPv6 bool
	// Timeout is resolver_timeout.
	Timeout time.Duration
	Pos     Pos
	// Read is the directive it was read from. nginx makes one resolver, with
	// its own cache of answers, per resolver directive it reads, so each place
	// one is written is its own (an included file's line once per include:
	// the include is read again each time); the levels that inherit it have
	// the same Read, since each level's Settings read the nearest line again.
	Read *Directive
}

// ResolvedName is a "server name resolve" line of an upstream: the name is
// resolved again while fulcrum runs, and its addresses become servers with
// the line's parameters.
type ResolvedName struct {
	// Host and Port are the name and port as written (port 80 unless
	// given).
	Host, Port string
	// Server holds the line's parameters; Network and Addr are empty.
	Server UpstreamServer
}

// parseResolver reads "resolver address ... [valid=time] [ipv4=on|off]
// [ipv6=on|off] [status_zone=zone]" with the level's resolver_timeout (nil:
// the default).
func (b *builder) parseResolver(d, timeout *Directive) (*DNSResolver, error) {
	r := &DNSResolver{IPv4: true, IPv6: true, Timeout: defaultResolverTimeout, Pos: d.Pos, Read: d}
	for _, a := range d.Args {
		key, val, hasVal := strings.Cut(a, "=")
		switch {
		case key == "valid" && hasVal:
			t, err := parseTime(val, true)
			if err != nil || t < 0 {
				return nil, hintf(d.Pos, "valid is a time such as 30s", `invalid parameter: %s`, a)
			}
			// valid=0 is taken, as nginx takes it: the answers' TTLs rule.
			r.Valid = t
		case (key == "ipv4" || key == "ipv6") && hasVal:
			if val != "on" && val != "off" {
				return nil, hintf(d.Pos, key+" is on or off", `invalid parameter: %s`, a)
			}
			if key == "ipv4" {
				r.IPv4 = val == "on"
			} else {
				r.IPv6 = val == "on"
			}
		case key == "status_zone" && hasVal:
			// NGINX Plus's resolver statistics; fulcrum keeps none.
		default:
			addrs, err := b.resolverAddrs(d.Pos, a)
			if err != nil {
				return nil, err
			}
			r.Addrs = append(r.Addrs, addrs...)
		}
	}
	if !r.IPv4 && !r.IPv6 {
		return nil, errorf(d.Pos, `"ipv4" and "ipv6" cannot both be "off"`)
	}
	if len(r.Addrs) == 0 {
		return nil, hintf(d.Pos, "name a DNS server: resolver 127.0.0.53;", `no name servers defined`)
	}
	if timeout != nil {
		t, err := parseTime(timeout.Args[0], false)
		if err != nil || t <= 0 {
			return nil, hintf(timeout.Pos, "resolver_timeout is a time such as 5s", `"resolver_timeout" directive invalid value`)
		}
		r.Timeout = t
	}
	return r, nil
}

// resolverAddrs turns one address of a resolver directive (host[:port] or
// [ipv6]:port) into the DNS servers it names.
func (b *builder) resolverAddrs(pos Pos, a string) ([]string, error) {
	hp, err := splitHostPort(a, 53)
	if err != nil {
		return nil, hintf(pos, "write a DNS server as ip[:port] or [ipv6]:port", `%s in resolver "%s"`, err, a)
	}
	if ip, err := netip.ParseAddr(hp.host); err == nil {
		return []string{netip.AddrPortFrom(ip, uint16(hp.port)).String()}, nil
	}
	ips, err := b.resolver.lookup(hp.host)
	if err != nil {
		return nil, hintf(pos, "check the name, or write the DNS server's IP address", `host not found in resolver "%s"`, a)
	}
	out := make([]string, len(ips))
	for i, ip := range ips {
		out[i] = joinHostPort(ip, hp.port)
	}
	return out, nil
}

// levelResolver reads the resolver written at a level (nil when none).
func (b *builder) levelResolver(level *scope) (*DNSResolver, error) {
	ds := level.own("resolver")
	if len(ds) == 0 {
		return nil, nil
	}
	var timeout *Directive
	if ts := level.own("resolver_timeout"); len(ts) > 0 {
		timeout = ts[len(ts)-1]
	}
	return b.parseResolver(ds[len(ds)-1], timeout)
}

// upstreamResolver reads the resolver line of an upstream block with the
// block's resolver_timeout.
func (b *builder) upstreamResolver(block, line *Directive) (*DNSResolver, error) {
	var timeout *Directive
	for _, t := range block.Block {
		if t.Name == "resolver_timeout" {
			timeout = t
		}
	}
	return b.parseResolver(line, timeout)
}

// checkResolvedNames applies nginx's rules to the upstreams with servers
// marked resolve: the upstream must be in a zone, and a resolver must be
// defined (in the upstream, else at the http or stream level, given as
// levelResolver).
func checkResolvedNames(ups []*Upstream, levelResolver *DNSResolver) error {
	for _, u := range ups {
		if len(u.Resolves) == 0 {
			continue
		}
		if u.Zone == "" {
			return hintf(u.Pos, "add a zone to the upstream block: zone "+u.Name+" 64k;",
				`resolving names at run time requires upstream "%s" in %s to be in shared memory`, u.Name, u.Pos)
		}
		if u.Resolver == nil {
			u.Resolver = levelResolver
		}
		if u.Resolver == nil {
			n := u.Resolves[0]
			return hintf(n.Server.Pos, "add a resolver (resolver 127.0.0.53;) to the upstream block or the level above",
				`no resolver defined to resolve %s`, n.Host)
		}
	}
	return nil
}

// resolvedName returns the ResolvedName of a server line with resolve.
func resolvedName(pos Pos, addr string, base UpstreamServer) (*ResolvedName, error) {
	if strings.HasPrefix(addr, "unix:") {
		return nil, hintf(pos, "a unix socket has no name to resolve", `invalid parameter "resolve"`)
	}
	hp, err := splitHostPort(addr, 80)
	if err != nil {
		return nil, addrError(pos, addr, err)
	}
	return &ResolvedName{Host: hp.host, Port: strconv.Itoa(hp.port), Server: base}, nil
}

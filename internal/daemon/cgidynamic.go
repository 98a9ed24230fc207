package daemon

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"fulcrum/internal/balancer"
	"fulcrum/internal/config"
	"fulcrum/internal/fastcgi"
	"fulcrum/internal/upstream"
)

// dynamicCGI finds the target of a request's fastcgi_pass, scgi_pass or
// uwsgi_pass with variables, once the handler parsed its value
// (fastcgi.ParseAddress), as nginx 1.22's ngx_http_upstream_init_request
// does: a host without a port names an upstream block (a host with a
// port, the implicit group of a literal pass elsewhere); an IP address or
// a UNIX socket is a group of its own; a host name is looked up with the
// location's resolver.
type dynamicCGI struct {
	// blocks are the upstream blocks by lower-case name; implicit the
	// implicit groups by lower-case "host:port" as written.
	blocks, implicit map[string]fastcgi.Target
	addrs            *addrTargets[fastcgi.Target]
}

// newDynamicCGI makes the lookup of a pass with variables in a location
// whose settings are set.
func (b *handlerBuilder) newDynamicCGI(set *config.Settings, proto fastcgi.Protocol) *dynamicCGI {
	dns, valid := b.snap.resolverOf(set)
	d := &dynamicCGI{blocks: map[string]fastcgi.Target{}, implicit: map[string]fastcgi.Target{},
		addrs: newAddrTargets(passName(proto), cgiTarget, dns, valid, b.snap.now)}
	for u, bp := range b.pools {
		t := fastcgi.Target{Pool: bp.pool, Policy: bp.policy, HashKey: bp.hashKey}
		if u.Implicit {
			d.implicit[strings.ToLower(u.Name)] = t
		} else {
			t.Idle = b.cgiIdle(bp)
			d.blocks[strings.ToLower(u.Name)] = t
		}
	}
	return d
}

// cgiTarget makes the target of a group a variable named: round robin, no
// kept connections (nginx's implicit upstreams have no keepalive).
func cgiTarget(_, _ string, pool *upstream.Pool) fastcgi.Target {
	return fastcgi.Target{Pool: pool, Policy: &balancer.RoundRobin{}}
}

// lookup is the target of a, or nginx's error for it (fastcgi.Lookup).
func (d *dynamicCGI) lookup(a fastcgi.Address) (fastcgi.Target, error) {
	if a.Unix {
		return d.addrs.literalTarget("unix", a.Host)
	}
	if a.Port == 0 {
		if t, ok := d.blocks[strings.ToLower(a.Host)]; ok {
			return t, nil
		}
		return fastcgi.Target{}, &fastcgi.AddressError{Msg: fmt.Sprintf(`no port in upstream "%s"`, a.Host)}
	}
	hostport := a.HostPort()
	if t, ok := d.implicit[strings.ToLower(hostport)]; ok {
		return t, nil
	}
	if ip, err := netip.ParseAddr(strings.Trim(a.Host, "[]")); err == nil {
		return d.addrs.literalTarget("tcp", netip.AddrPortFrom(ip, a.Port).String())
	}
	return d.addrs.nameTarget(hostport, a.Host, strconv.Itoa(int(a.Port)))
}

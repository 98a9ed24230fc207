package daemon

import (
	"fmt"
	"net/netip"
	"strings"

	"fulcrum/internal/balancer"
	"fulcrum/internal/config"
	"fulcrum/internal/fastcgi"
	"fulcrum/internal/upstream"
	"fulcrum/internal/vars"
)

// maxUnixPath is the longest socket path nginx takes (sizeof sun_path,
// less its terminating zero).
const maxUnixPath = 107

// dynamicCGI finds, per request, the target of a fastcgi_pass, scgi_pass
// or uwsgi_pass with variables as nginx 1.22 does (ngx_http_fastcgi_eval,
// then ngx_http_upstream_init_request): the value is parsed as an address
// with no default port; a host without a port names an upstream block (a
// host and port, the implicit group of a literal pass elsewhere); an IP
// address or a UNIX socket is a group of its own; a host name is looked up
// with the location's resolver.
type dynamicCGI struct {
	addr *vars.Template
	// uwsgi strips the value's "uwsgi://" (uwsgi_pass).
	uwsgi bool
	// blocks are the upstream blocks by lower-case name; implicit the
	// implicit groups by lower-case "host:port" as written.
	blocks, implicit map[string]fastcgi.Target
	addrs            *addrTargets[fastcgi.Target]
}

// newDynamicCGI compiles pass (with variables) for a location whose
// settings are set.
func (b *handlerBuilder) newDynamicCGI(pass *config.FastCGIPass, set *config.Settings, proto fastcgi.Protocol) (*dynamicCGI, error) {
	t, err := b.comp.Compile(pass.Address)
	if err != nil {
		return nil, fmt.Errorf("%w in %s", err, pass.Pos)
	}
	dns, valid := resolverOf(set)
	d := &dynamicCGI{addr: t, uwsgi: proto == fastcgi.UWSGI,
		blocks: map[string]fastcgi.Target{}, implicit: map[string]fastcgi.Target{},
		addrs: newAddrTargets(passName(proto), cgiTarget, dns, valid, b.snap.now)}
	for u, bp := range b.pools {
		t := fastcgi.Target{Pool: bp.pool, Policy: bp.policy, HashKey: bp.hashKey, Keepalive: bp.cfg.Keepalive}
		if u.Implicit {
			d.implicit[strings.ToLower(u.Name)] = t
		} else {
			d.blocks[strings.ToLower(u.Name)] = t
		}
	}
	return d, nil
}

// cgiTarget makes the target of a group a variable named: round robin, no
// kept connections (nginx's implicit upstreams have no keepalive).
func cgiTarget(_ string, pool *upstream.Pool) fastcgi.Target {
	return fastcgi.Target{Pool: pool, Policy: &balancer.RoundRobin{}}
}

// target is the request's target, or nginx's error for its value.
func (d *dynamicCGI) target(st *vars.State) (fastcgi.Target, error) {
	v := d.addr.String(st)
	if d.uwsgi {
		// As nginx: only a prefix with something after it is one.
		if len(v) > len("uwsgi://") && strings.EqualFold(v[:len("uwsgi://")], "uwsgi://") {
			v = v[len("uwsgi://"):]
		} else if len(v) > len("suwsgi://") && strings.EqualFold(v[:len("suwsgi://")], "suwsgi://") {
			return fastcgi.Target{}, &fastcgi.AddressError{Msg: fmt.Sprintf(`fulcrum does not support suwsgi:// in "%s" yet`, v)}
		}
	}
	a, err := parseCGIAddr(v)
	if err != nil {
		return fastcgi.Target{}, &fastcgi.AddressError{Msg: fmt.Sprintf(`%s in upstream "%s"`, err, v)}
	}
	if a.unix {
		return d.addrs.literalTarget("unix", a.host)
	}
	if a.port == "" {
		if t, ok := d.blocks[strings.ToLower(a.host)]; ok {
			return t, nil
		}
		return fastcgi.Target{}, &fastcgi.AddressError{Msg: fmt.Sprintf(`no port in upstream "%s"`, a.host)}
	}
	hostport := a.host + ":" + a.port
	if t, ok := d.implicit[strings.ToLower(hostport)]; ok {
		return t, nil
	}
	if ip, err := netip.ParseAddr(strings.Trim(a.host, "[]")); err == nil {
		return d.addrs.literalTarget("tcp", netip.AddrPortFrom(ip, a.portNum).String())
	}
	return d.addrs.nameTarget(hostport, a.host, a.port)
}

// cgiAddr is a parsed pass value: a UNIX socket's path in host, or a host
// (IPv6 in brackets) and its port ("" for none).
type cgiAddr struct {
	unix       bool
	host, port string
	portNum    uint16
}

// parseCGIAddr parses a pass value as nginx's ngx_parse_url does for one
// (no URI part, no default port); its errors are nginx's words ("no host").
func parseCGIAddr(v string) (cgiAddr, error) {
	if len(v) >= 5 && strings.EqualFold(v[:5], "unix:") {
		path := v[5:]
		switch {
		case path == "":
			return cgiAddr{}, fmt.Errorf("no path in the unix domain socket")
		case len(path) > maxUnixPath:
			return cgiAddr{}, fmt.Errorf("too long path in the unix domain socket")
		}
		return cgiAddr{unix: true, host: path}, nil
	}
	if strings.ContainsAny(v, "/?") {
		return cgiAddr{}, fmt.Errorf("invalid host")
	}
	host, port, hasPort := v, "", false
	if strings.HasPrefix(v, "[") {
		end := strings.IndexByte(v, ']')
		if end < 0 {
			return cgiAddr{}, fmt.Errorf("invalid host")
		}
		if _, err := netip.ParseAddr(v[1:end]); err != nil || strings.Contains(v[1:end], "%") {
			return cgiAddr{}, fmt.Errorf("invalid IPv6 address")
		}
		host = v[:end+1]
		switch rest := v[end+1:]; {
		case rest == "":
		case rest[0] == ':':
			port, hasPort = rest[1:], true
		default:
			return cgiAddr{}, fmt.Errorf("invalid host")
		}
	} else if i := strings.IndexByte(v, ':'); i >= 0 {
		host, port, hasPort = v[:i], v[i+1:], true
	}
	a := cgiAddr{host: host, port: port}
	if hasPort {
		n, ok := parsePort(port)
		if !ok {
			return cgiAddr{}, fmt.Errorf("invalid port")
		}
		a.portNum = n
	}
	if host == "" {
		return cgiAddr{}, fmt.Errorf("no host")
	}
	return a, nil
}

// parsePort reads a port as nginx's ngx_atoi and range check: digits only,
// 1 to 65535.
func parsePort(s string) (uint16, bool) {
	if s == "" || len(s) > 5 {
		return 0, false
	}
	n := 0
	for i := range len(s) {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
		n = n*10 + int(s[i]-'0')
	}
	if n < 1 || n > 65535 {
		return 0, false
	}
	return uint16(n), true
}

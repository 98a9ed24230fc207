package stream

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"fulcrum/internal/balancer"
	"fulcrum/internal/errlog"
	"fulcrum/internal/resolve"
	"fulcrum/internal/upstream"
)

// maxTargets bounds the addresses (and looked-up names) a proxy_pass with
// variables may make groups for in one configuration, so what clients
// send cannot grow memory without bound.
const maxTargets = 256

// targets are the groups a proxy_pass with variables made for values that
// name no upstream block: an address and port, or a name looked up in DNS
// (kept for the resolver's valid=, else the answer's TTL). They belong to one table.
type targets struct {
	mu      sync.Mutex // guards literal and names
	literal map[string]*group
	names   map[string]*named
}

// named is a looked-up name's group while its answer is valid.
type named struct {
	addrs   []netip.Addr
	g       *group
	expires time.Time
}

func newTargets() *targets {
	return &targets{literal: map[string]*group{}, names: map[string]*named{}}
}

// passGroup evaluates the server's proxy_pass as nginx's
// ngx_stream_proxy_eval and ngx_stream_proxy_handler do: the value names an
// upstream block (without a port) or an implicit upstream (host:port as
// another server's proxy_pass wrote it), else it is an address and port,
// else a host name and port looked up with the server's resolver. nil
// means the session ends: $status 500 for a value that cannot be used
// (nginx's NGX_STREAM_INTERNAL_SERVER_ERROR), 502 for a name that does not
// resolve; the reason is logged.
func (s *session) passGroup() *group {
	value := string(s.srv.pass.appendValue(nil, s))
	s.passValue = value
	t := s.srv.tab
	if path, ok := strings.CutPrefix(value, "unix:"); ok {
		return s.literalGroup(t, "unix", path, value)
	}
	host, port, hasPort, bad := parsePass(value)
	if bad != "" {
		s.passFailed(statusInternalError, bad+` in upstream "`+value+`"`)
		return nil
	}
	if a, err := netip.ParseAddr(strings.Trim(host, "[]")); err == nil {
		if !hasPort {
			s.passFailed(statusInternalError, `no port in upstream "`+value+`"`)
			return nil
		}
		return s.literalGroup(t, "tcp", netip.AddrPortFrom(a.Unmap(), port).String(), value)
	}
	for _, g := range t.groups {
		if g.cfg.Implicit && hasPort && strings.EqualFold(g.cfg.Name, value) ||
			!g.cfg.Implicit && !hasPort && strings.EqualFold(g.cfg.Name, host) {
			return g
		}
	}
	if !hasPort {
		s.passFailed(statusInternalError, `no port in upstream "`+value+`"`)
		return nil
	}
	if s.srv.dns == nil {
		s.passFailed(statusInternalError, "no resolver defined to resolve "+host)
		return nil
	}
	g, err := t.targets.lookup(s.now(), s.srv.dns, s.srv.dnsValid, host, port, value)
	if err != nil {
		s.passFailed(statusBadGateway, err.Error())
		return nil
	}
	return g
}

// passFailed ends a session whose proxy_pass gave no target.
func (s *session) passFailed(status int, msg string) {
	s.status = status
	s.log(errlog.Error, msg)
}

// parsePass reads "host:port", "[v6]:port", "host" and "[v6]" as nginx's
// ngx_parse_url reads a stream address: bad is its error ("no host",
// "invalid port"), "" when the value parses; hasPort says a port was
// given.
func parsePass(v string) (host string, port uint16, hasPort bool, bad string) {
	host, rest := v, ""
	if strings.HasPrefix(v, "[") {
		end := strings.IndexByte(v, ']')
		if end < 0 {
			return "", 0, false, "invalid host"
		}
		host, rest = v[:end+1], v[end+1:]
		if rest != "" && rest[0] != ':' {
			return "", 0, false, "invalid host"
		}
	} else if i := strings.IndexByte(v, ':'); i >= 0 {
		host, rest = v[:i], v[i:]
	}
	if host == "" {
		return "", 0, false, "no host"
	}
	if rest == "" {
		return host, 0, false, ""
	}
	n, err := strconv.ParseUint(rest[1:], 10, 16)
	if err != nil || n == 0 || strings.ContainsAny(rest[1:], "+-") {
		return "", 0, false, "invalid port"
	}
	return host, uint16(n), true, ""
}

// literalGroup returns the one-server group of an address, made on first
// use and kept for the table's life.
func (s *session) literalGroup(t *table, network, addr, value string) *group {
	key := network + " " + addr
	ts := t.targets
	ts.mu.Lock()
	defer ts.mu.Unlock()
	if g := ts.literal[key]; g != nil {
		return g
	}
	if len(ts.literal)+len(ts.names) >= maxTargets {
		s.passFailed(statusInternalError, fmt.Sprintf("too many distinct proxy_pass addresses from variables (%d); use an upstream block", maxTargets))
		return nil
	}
	set := upstream.NewSettings(network, addr)
	set.Name = value
	pool, err := upstream.NewPool(value, []upstream.Settings{set})
	if err != nil {
		s.passFailed(statusInternalError, err.Error())
		return nil
	}
	g := &group{pool: pool, policy: &balancer.RoundRobin{}}
	ts.literal[key] = g
	return g
}

// lookup returns the group of host's addresses with port, looked up with
// dns: the cached one while its answer is valid (valid, the resolver's
// valid=, or when 0 the answer's TTL, as resolve.Keep), else one made
// from a new lookup, kept with its servers' state when the addresses did not change.
// The lookup runs without the lock, so a slow DNS server holds back only
// the sessions that need it.
func (ts *targets) lookup(now time.Time, dns *resolve.Client, valid time.Duration, host string, port uint16, value string) (*group, error) {
	ts.mu.Lock()
	cur := ts.names[value]
	ts.mu.Unlock()
	if cur != nil && now.Before(cur.expires) {
		return cur.g, nil
	}
	addrs, ttl, err := dns.LookupTTL(context.Background(), host)
	if err != nil {
		return nil, fmt.Errorf("%s could not be resolved (%s)", host, resolve.Describe(err))
	}
	ts.mu.Lock()
	defer ts.mu.Unlock()
	if cur := ts.names[value]; cur != nil && slices.Equal(cur.addrs, addrs) {
		cur.expires = now.Add(resolve.Keep(valid, ttl))
		return cur.g, nil
	}
	if ts.names[value] == nil && len(ts.literal)+len(ts.names) >= maxTargets {
		return nil, fmt.Errorf("too many distinct proxy_pass addresses from variables (%d); use an upstream block", maxTargets)
	}
	settings := make([]upstream.Settings, 0, len(addrs))
	for _, a := range addrs {
		set := upstream.NewSettings("tcp", netip.AddrPortFrom(a, port).String())
		set.Name = value
		settings = append(settings, set)
	}
	pool, err := upstream.NewPool(value, settings)
	if err != nil {
		return nil, err
	}
	g := &group{pool: pool, policy: &balancer.RoundRobin{}}
	ts.names[value] = &named{addrs: addrs, g: g, expires: now.Add(resolve.Keep(valid, ttl))}
	return g, nil
}

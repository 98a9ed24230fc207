package config

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// Resolver looks up host names while a configuration loads (upstream servers,
// proxy_pass hosts, listen hosts). *net.Resolver satisfies it; tests may pass their
// own so that they need no DNS.
type Resolver interface {
	LookupHost(ctx context.Context, host string) (addrs []string, err error)
}

// resolveTimeout bounds one lookup.
const resolveTimeout = 10 * time.Second

// errNoAddress is returned for a name that resolved to no usable address.
var errNoAddress = errors.New("no address")

// hostResolver resolves names once per load: IP literals and "localhost" without
// asking anyone, other names through the Resolver, each name once.
type hostResolver struct {
	r     Resolver
	cache map[string][]string
}

func newHostResolver(r Resolver) *hostResolver {
	if r == nil {
		r = net.DefaultResolver
	}
	return &hostResolver{r: r, cache: map[string][]string{}}
}

// lookup returns the IP addresses of host, in the resolver's order without
// duplicates. "localhost" (and names under .localhost) is 127.0.0.1, always.
func (h *hostResolver) lookup(host string) ([]string, error) {
	if ip, err := netip.ParseAddr(host); err == nil {
		return []string{ip.Unmap().String()}, nil
	}
	lower := strings.ToLower(strings.TrimSuffix(host, "."))
	if lower == "localhost" || strings.HasSuffix(lower, ".localhost") {
		return []string{"127.0.0.1"}, nil
	}
	if addrs, ok := h.cache[lower]; ok {
		return addrs, nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), resolveTimeout)
	defer cancel()
	raw, err := h.r.LookupHost(ctx, host)
	if err != nil {
		return nil, err
	}
	addrs := uniqueIPs(raw)
	if len(addrs) == 0 {
		return nil, errNoAddress
	}
	h.cache[lower] = addrs
	return addrs, nil
}

// uniqueIPs keeps the valid IP addresses of raw, in order, once each.
func uniqueIPs(raw []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, a := range raw {
		ip, err := netip.ParseAddr(a)
		if err != nil {
			continue
		}
		s := ip.Unmap().String()
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

// hostPort is an address as written in the configuration, split.
type hostPort struct {
	host    string // without brackets
	port    int
	hasPort bool
}

// errBadPort and errNoHost say what is wrong with an address.
var (
	errBadPort = errors.New("invalid port")
	errNoHost  = errors.New("no host")
	errBadHost = errors.New("invalid host")
)

// splitHostPort splits "host", "host:port", "[v6]" or "[v6]:port"; a missing port
// is defPort. It refuses URLs and paths, which nginx calls an invalid host.
func splitHostPort(s string, defPort int) (hostPort, error) {
	if strings.Contains(s, "://") || strings.ContainsAny(s, "/?#") {
		return hostPort{}, errBadHost
	}
	hp := hostPort{host: s, port: defPort}
	if strings.HasPrefix(s, "[") {
		end := strings.IndexByte(s, ']')
		if end < 0 {
			return hp, errBadHost
		}
		hp.host = s[1:end]
		rest := s[end+1:]
		if rest == "" {
			return hp, checkHost(hp)
		}
		if rest[0] != ':' {
			return hp, errBadHost
		}
		return parsePort(hp, rest[1:])
	}
	if i := strings.LastIndexByte(s, ':'); i >= 0 {
		if strings.IndexByte(s[:i], ':') >= 0 {
			return hp, errBadHost // a bare IPv6 address must be in brackets
		}
		hp.host = s[:i]
		return parsePort(hp, s[i+1:])
	}
	return hp, checkHost(hp)
}

func parsePort(hp hostPort, p string) (hostPort, error) {
	n, err := strconv.Atoi(p)
	if err != nil || n < 1 || n > 65535 || p[0] == '+' || p[0] == '-' {
		return hp, errBadPort
	}
	hp.port, hp.hasPort = n, true
	return hp, checkHost(hp)
}

func checkHost(hp hostPort) error {
	if hp.host == "" {
		return errNoHost
	}
	return nil
}

// joinHostPort formats an IP and a port as "ip:port" or "[ip]:port".
func joinHostPort(ip string, port int) string {
	return net.JoinHostPort(ip, strconv.Itoa(port))
}

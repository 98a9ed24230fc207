package mail

import (
	"errors"
	"net"
	"net/netip"
	"slices"
	"time"

	"fulcrum/internal/config"
	"fulcrum/internal/errlog"
	"fulcrum/internal/resolve"
)

// The names nginx's SMTP module gives a client whose name it does not know:
// no resolver, a name DNS does not have, or one whose addresses leave out
// the client's (hostUnavailable); a lookup that failed otherwise, or a
// client on a unix socket (hostTempUnavail).
const (
	hostUnavailable = "[UNAVAILABLE]"
	hostTempUnavail = "[TEMPUNAVAIL]"
)

// clientResolver is an SMTP server's resolver directive: its DNS client
// and valid=.
type clientResolver struct {
	dns   *resolve.Client
	valid time.Duration
}

// newClientResolver returns the resolver of r for a server logging to log;
// the servers that inherit one resolver directive share caches, the answers
// of its lookups (by the directive it was read from in caches: each include
// of a file with one is another, as nginx makes one resolver per directive).
func newClientResolver(r *config.DNSResolver, log *errlog.Logger, caches map[*config.Directive]*resolve.Cache) *clientResolver {
	cache := caches[r.Read]
	if cache == nil {
		cache = resolve.NewCache()
		caches[r.Read] = cache
	}
	dns := resolve.NewClient(r.Addrs, r.Timeout, r.IPv4, r.IPv6).WithCache(cache)
	if log != nil {
		dns = dns.WithLog(log)
	}
	return &clientResolver{dns: dns, valid: r.Valid}
}

// clientHost looks up the client's name before the SMTP greeting, as
// nginx's ngx_mail_smtp_init_session does (recorded with nginx 1.22.1): the
// PTR record of its address, then that name's addresses, one of which must
// be the client's. A lookup that fails is logged at error, in nginx's
// words, and gives hostUnavailable when DNS does not know the name,
// hostTempUnavail otherwise; a name whose addresses leave out the client's
// gives hostUnavailable. A name that is not a host name (letters, digits,
// "-", "_" and dots; DNS allows any byte) is not used either: it would go
// into the auth_http request and the XCLIENT command as it is.
func (s *session) clientHost() string {
	if s.addr == "unix:" {
		return hostTempUnavail
	}
	ip, err := netip.ParseAddr(s.addr)
	if err != nil {
		return hostTempUnavail
	}
	ip = ip.Unmap()
	r := s.srv.resolver
	name, _, err := r.dns.ResolveAddr(s.ctx, ip, r.valid, time.Now())
	if err != nil {
		if s.ctx.Err() == nil {
			s.logf(errlog.Error, "%s could not be resolved (%s) while in resolving client address", s.addr, resolve.Describe(err))
		}
		return failedHost(err)
	}
	if !isHostName(name) {
		s.logf(errlog.Error, "%s resolved to an invalid name while in resolving client address", s.addr)
		return hostUnavailable
	}
	addrs, _, err := r.dns.Resolve(s.ctx, name, r.valid, time.Now())
	if err != nil {
		if s.ctx.Err() == nil {
			s.logf(errlog.Error, `"%s" could not be resolved (%s) while in resolving client hostname`, name, resolve.Describe(err))
		}
		return failedHost(err)
	}
	if slices.ContainsFunc(addrs, func(a netip.Addr) bool { return a.Unmap() == ip }) {
		return name
	}
	return hostUnavailable
}

// failedHost is the name nginx gives a client whose lookup failed with err.
func failedHost(err error) string {
	var de *net.DNSError
	if errors.As(err, &de) && de.IsNotFound {
		return hostUnavailable
	}
	return hostTempUnavail
}

// isHostName reports whether name is made of host name bytes only (and is
// no IP address, which a lookup would not take as a name), so that it can go
// into a header line and an SMTP command unchanged.
func isHostName(name string) bool {
	if name == "" || len(name) > 253 {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	_, err := netip.ParseAddr(name)
	return err != nil
}

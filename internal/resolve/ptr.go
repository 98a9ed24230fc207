package resolve

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"fulcrum/internal/errlog"

	"golang.org/x/net/dns/dnsmessage"
)

// reverseName is the name whose PTR record names ip:
// "4.3.2.1.in-addr.arpa." for 1.2.3.4, the nibbles under "ip6.arpa." for
// an IPv6 address.
func reverseName(ip netip.Addr) string {
	ip = ip.Unmap()
	var b strings.Builder
	if ip.Is4() {
		a := ip.As4()
		for i := 3; i >= 0; i-- {
			b.WriteString(strconv.Itoa(int(a[i])))
			b.WriteByte('.')
		}
		b.WriteString("in-addr.arpa.")
		return b.String()
	}
	const hex = "0123456789abcdef"
	a := ip.As16()
	for i := 15; i >= 0; i-- {
		b.WriteByte(hex[a[i]&0xf])
		b.WriteByte('.')
		b.WriteByte(hex[a[i]>>4])
		b.WriteByte('.')
	}
	b.WriteString("ip6.arpa.")
	return b.String()
}

// ResolveAddr returns the name a PTR record gives ip (the first one, without
// the trailing dot) and until when it is valid (Keep of valid, the
// resolver's valid=, and the record's TTL), from the client's cache while an
// answer there is valid at now, else from a query, which the cache then
// keeps; as nginx's resolver does for ngx_resolve_addr. A name DNS does not
// know, or an answer without records, is a net.DNSError with IsNotFound; no
// answer in time, or one whose records hold no PTR record (noPTR), one with
// IsTimeout.
func (c *Client) ResolveAddr(ctx context.Context, ip netip.Addr, valid time.Duration, now time.Time) (string, time.Time, error) {
	rev := reverseName(ip)
	key := cacheKey(rev)
	if a, ok := c.cache.get(key, now); ok {
		return a.name, a.expires, nil
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	msg, err := c.exchange(ctx, rev, dnsmessage.TypePTR)
	if err != nil {
		if ctx.Err() != nil {
			return "", time.Time{}, dnsError(ctx.Err(), rev)
		}
		if re := (*refusedError)(nil); errors.As(err, &re) {
			return "", time.Time{}, c.refused(ctx, re, rev)
		}
		return "", time.Time{}, err
	}
	switch msg.RCode {
	case dnsmessage.RCodeSuccess:
	case dnsmessage.RCodeNameError:
		return "", time.Time{}, &net.DNSError{Err: "no such host", Name: rev, IsNotFound: true}
	default:
		return "", time.Time{}, &net.DNSError{Err: "server misbehaving: " + msg.RCode.String(), Name: rev, IsTemporary: true}
	}
	for _, r := range msg.Answers {
		ptr, ok := r.Body.(*dnsmessage.PTRResource)
		if !ok {
			continue
		}
		name := strings.TrimSuffix(ptr.PTR.String(), ".")
		expires := now.Add(Keep(valid, time.Duration(r.Header.TTL)*time.Second))
		if c.cache != nil {
			c.cache.put(key, cachedAnswer{name: name, expires: expires}, now)
		}
		return name, expires, nil
	}
	if len(msg.Answers) == 0 {
		return "", time.Time{}, &net.DNSError{Err: "no such host", Name: rev, IsNotFound: true}
	}
	return "", time.Time{}, c.noPTR(ctx, msg.Answers, rev)
}

// noPTR handles an answer whose records hold no PTR record (a CNAME alone,
// a DNAME) as nginx 1.22.1's resolver does (recorded with nginx-tests'
// mail_resolver.t): it logs "unexpected RR type 39 in DNS response" for
// each record neither PTR nor CNAME, and "no PTR type in DNS response",
// and drops the answer, so the lookup waits until ctx ends (its
// resolver_timeout) and fails as timed out, "(110: Operation timed out)".
// An answer with no record at all is a name not found instead.
func (c *Client) noPTR(ctx context.Context, answers []dnsmessage.Resource, rev string) error {
	if c.log != nil {
		for _, r := range answers {
			if t := r.Header.Type; t != dnsmessage.TypeCNAME {
				c.log.Logf(errlog.Error, "unexpected RR type %d in DNS response", t)
			}
		}
		c.log.Logf(errlog.Error, "no PTR type in DNS response")
	}
	<-ctx.Done()
	return dnsError(ctx.Err(), rev)
}

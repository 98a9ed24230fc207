package geo

import "net/netip"

// ParseAddr parses an address as nginx's ngx_parse_addr does, the way geo
// reads the value of its $address variable: IPv4 as ngx_inet_addr (four
// decimal octets of at most 255, an empty octet is 0, leading zeros are
// decimal), else IPv6 as ngx_inet6_addr (no zone; a trailing IPv4 part is
// read as above). "255.255.255.255" does not parse, as in nginx, whose IPv4
// parser returns it as its error value; a lookup of an address that does not
// parse uses that address anyway. It does not allocate.
func ParseAddr[T ~string | ~[]byte](s T) (netip.Addr, bool) {
	if v, ok := parseIPv4(s, 0, len(s)); ok {
		return netip.AddrFrom4(v), true
	}
	if b, ok := parseIPv6(s); ok {
		return netip.AddrFrom16(b), true
	}
	return netip.Addr{}, false
}

// parseIPv4 is nginx's ngx_inet_addr over s[from:to].
func parseIPv4[T ~string | ~[]byte](s T, from, to int) ([4]byte, bool) {
	var b [4]byte
	octet, dots := 0, 0
	for i := from; i < to; i++ {
		switch c := s[i]; {
		case c >= '0' && c <= '9':
			if octet = octet*10 + int(c-'0'); octet > 255 {
				return b, false
			}
		case c == '.' && dots < 3:
			b[dots] = byte(octet)
			octet, dots = 0, dots+1
		default:
			return b, false
		}
	}
	b[3] = byte(octet)
	if dots != 3 || b == [4]byte{255, 255, 255, 255} {
		return b, false
	}
	return b, true
}

// parseIPv6 is nginx's ngx_inet6_addr: up to eight groups of up to four hex
// digits, one "::", and an IPv4 address in place of the last two groups.
func parseIPv6[T ~string | ~[]byte](p T) (addr [16]byte, ok bool) {
	n := len(p)
	if n == 0 {
		return addr, false
	}
	i, at := 0, 0 // next byte of p, next byte of addr
	zero, digit := -1, -1
	nibbles, word, groups := 0, 0, 8
	if p[0] == ':' {
		i++
	}
	for ; i < n; i++ {
		c := p[i]
		if c == ':' {
			switch {
			case nibbles > 0:
				digit = i + 1
				addr[at], addr[at+1] = byte(word>>8), byte(word)
				at += 2
				if groups--; groups > 0 {
					nibbles, word = 0, 0
					continue
				}
			case zero < 0:
				digit, zero = i+1, at
				continue
			}
			return addr, false
		}
		if c == '.' && nibbles > 0 {
			if groups < 2 || digit < 0 {
				return addr, false
			}
			v4, ok := parseIPv4(p, digit, n)
			if !ok {
				return addr, false
			}
			addr[at], addr[at+1] = v4[0], v4[1]
			at += 2
			groups--
			word = int(v4[2])<<8 | int(v4[3])
			break
		}
		if nibbles++; nibbles > 4 {
			return addr, false
		}
		switch {
		case c >= '0' && c <= '9':
			word = word*16 + int(c-'0')
		case c|0x20 >= 'a' && c|0x20 <= 'f':
			word = word*16 + int(c|0x20-'a') + 10
		default:
			return addr, false
		}
	}
	if nibbles == 0 && zero < 0 {
		return addr, false
	}
	addr[at], addr[at+1] = byte(word>>8), byte(word)
	at += 2
	if groups--; groups > 0 {
		if zero < 0 {
			return addr, false
		}
		shift := groups * 2
		copy(addr[zero+shift:], addr[zero:at])
		clear(addr[zero : zero+shift])
		return addr, true
	}
	return addr, zero < 0
}

// parseAddrPort is nginx's ngx_parse_addr_port, for an X-Forwarded-For
// element: an address, "1.2.3.4:80" or "[2001:db8::1]:80" (the port is
// checked and dropped).
func parseAddrPort(s string) (netip.Addr, bool) {
	if a, ok := ParseAddr(s); ok {
		return a, true
	}
	var host, port string
	if len(s) > 0 && s[0] == '[' {
		end := indexByte(s, ']')
		if end < 0 || end == len(s)-1 || s[end+1] != ':' {
			return netip.Addr{}, false
		}
		host, port = s[1:end], s[end+2:]
	} else {
		colon := indexByte(s, ':')
		if colon < 0 {
			return netip.Addr{}, false
		}
		host, port = s[:colon], s[colon+1:]
	}
	if !validPort(port) {
		return netip.Addr{}, false
	}
	return ParseAddr(host)
}

func indexByte(s string, c byte) int {
	for i := 0; i < len(s); i++ {
		if s[i] == c {
			return i
		}
	}
	return -1
}

// validPort is ngx_atoi's digits, 1 to 65535.
func validPort(s string) bool {
	if s == "" || len(s) > 5 {
		return false
	}
	n := 0
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
		n = n*10 + int(s[i]-'0')
	}
	return n >= 1 && n <= 65535
}

// Proxies are the networks of a geo block's proxy lines: a client address in
// one of them is a proxy, and X-Forwarded-For says who its client was.
type Proxies []netip.Prefix

// trusts is nginx's ngx_cidr_match: the address and the network must be of
// the same family (an IPv4-mapped address is IPv6).
func (p Proxies) trusts(a netip.Addr) bool {
	for _, n := range p {
		if n.Addr().Is4() == a.Is4() && n.Contains(a) {
			return true
		}
	}
	return false
}

// Forwarded returns the client address that X-Forwarded-For gives for a
// request from addr, as nginx 1.22's ngx_http_get_forwarded_addr: when addr
// is a trusted proxy, the last address of the last field replaces it; with
// recursive, addresses are taken from right to left (through earlier fields
// too) while the one taken so far is a trusted proxy, and the leftmost is
// taken when all are. An element that does not parse ends the walk. n is the
// number of X-Forwarded-For fields and field(i) the value of the i-th, in
// the order received.
func (p Proxies) Forwarded(addr netip.Addr, recursive bool, n int, field func(i int) string) netip.Addr {
	for i := n - 1; i >= 0; i-- {
		var rc result
		addr, rc = p.forwardedOne(addr, field(i), recursive)
		if !recursive || rc != consumed {
			break // only a value taken whole lets the walk go on to the field before
		}
	}
	return addr
}

// result is what nginx's ngx_http_get_forwarded_addr_internal returns.
type result int

const (
	declined result = iota // addr was not trusted, or the last element did not parse: nothing taken
	consumed               // NGX_OK: taken, up to the first element of the value
	stopped                // NGX_DONE: taken, then stopped at an untrusted address or a bad element
)

// forwardedOne walks one X-Forwarded-For value from the right, as
// ngx_http_get_forwarded_addr_internal: elements are separated by commas or
// spaces.
func (p Proxies) forwardedOne(addr netip.Addr, xff string, recursive bool) (netip.Addr, result) {
	taken := false
	fail := func() (netip.Addr, result) {
		if taken {
			return addr, stopped
		}
		return addr, declined
	}
	for {
		if !p.trusts(addr) || xff == "" {
			return fail()
		}
		end, start := len(xff), len(xff)-1
		for ; start > 0 && (xff[start] == ' ' || xff[start] == ','); start-- {
			end--
		}
		for ; start > 0; start-- {
			if xff[start] == ' ' || xff[start] == ',' {
				start++
				break
			}
		}
		a, ok := parseAddrPort(xff[start:end])
		if !ok {
			return fail()
		}
		addr, taken = a, true
		if !recursive || start == 0 {
			return addr, consumed
		}
		xff = xff[:start-1]
	}
}

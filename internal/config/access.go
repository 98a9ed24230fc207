package config

import (
	"errors"
	"net/netip"
	"strings"
)

// errBadAddress is a parameter that is not "all", "unix:", an address or a CIDR.
var errBadAddress = errors.New("invalid address")

// parseAccessRule reads the argument a of the allow or deny directive name at pos,
// as nginx's ngx_http_access_rule does: "all", "unix:", an address or a CIDR.
// masked reports a CIDR whose host bits were set and are now cleared, which nginx
// accepts with the warning "low address bits of ... are meaningless".
func parseAccessRule(name, a string, pos Pos) (rule AccessRule, masked bool, err error) {
	rule = AccessRule{Deny: name == "deny", Pos: pos}
	switch a {
	case "all":
		rule.All = true
	case "unix:":
		rule.Unix = true
	default:
		rule.Prefix, masked, err = parseCIDR(a)
	}
	return rule, masked, err
}

// parseCIDR parses an address ("10.0.0.1", a /32) or a CIDR ("10.0.0.0/8") as
// nginx's ngx_ptocidr does and returns it with its host bits cleared; masked
// reports that some were set. IPv4 follows ngx_inet_addr exactly (leading zeros
// are decimal, "255.255.255.255" is refused); IPv6 is Go's netip syntax without
// a zone.
func parseCIDR(s string) (p netip.Prefix, masked bool, err error) {
	addrText, bitsText, hasBits := strings.Cut(s, "/")
	var a netip.Addr
	if strings.Contains(addrText, ":") {
		a, err = netip.ParseAddr(addrText)
		if err != nil || a.Zone() != "" {
			return netip.Prefix{}, false, errBadAddress
		}
	} else if a, err = parseIPv4(addrText); err != nil {
		return netip.Prefix{}, false, err
	}
	bits := a.BitLen()
	if hasBits {
		if bits, err = parseMaskBits(bitsText, a.BitLen()); err != nil {
			return netip.Prefix{}, false, err
		}
	}
	p = netip.PrefixFrom(a, bits)
	m := p.Masked()
	return m, m != p, nil
}

// parseIPv4 is nginx's ngx_inet_addr: four decimal octets of at most 255, where
// an empty octet is 0 and leading zeros do not mean octal. Its error value is
// INADDR_NONE, so "255.255.255.255" is refused too.
func parseIPv4(s string) (netip.Addr, error) {
	var b [4]byte
	octet, dots := 0, 0
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c >= '0' && c <= '9':
			if octet = octet*10 + int(c-'0'); octet > 255 {
				return netip.Addr{}, errBadAddress
			}
		case c == '.' && dots < 3:
			b[dots] = byte(octet)
			octet, dots = 0, dots+1
		default:
			return netip.Addr{}, errBadAddress
		}
	}
	if dots != 3 {
		return netip.Addr{}, errBadAddress
	}
	b[3] = byte(octet)
	if b == [4]byte{255, 255, 255, 255} {
		return netip.Addr{}, errBadAddress
	}
	return netip.AddrFrom4(b), nil
}

// parseMaskBits is the prefix length of a CIDR: decimal digits (ngx_atoi, so
// "08" is 8), at most max.
func parseMaskBits(s string, max int) (int, error) {
	if s == "" {
		return 0, errBadAddress
	}
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, errBadAddress
		}
		if n = n*10 + int(c-'0'); n > max {
			return 0, errBadAddress
		}
	}
	return n, nil
}

// applyAccess reads the allow and deny directives of the nearest level that has
// any, in order: that level's list replaces whatever it would inherit, as nginx's
// ngx_http_access_merge_loc_conf does. The list of a level is built once and
// shared by every level that inherits it.
func applyAccess(b *builder, st *Settings, dirs []*Directive, _ *scope) error {
	if rules, ok := b.accessOf[dirs[0]]; ok {
		st.Access = rules
		return nil
	}
	rules := make([]AccessRule, 0, len(dirs))
	for _, d := range dirs {
		r, masked, err := parseAccessRule(d.Name, d.Args[0], d.Pos)
		if err != nil {
			return accessParamError(d)
		}
		if masked {
			b.warnDir(d, "", "low address bits of %s are meaningless", d.Args[0])
		}
		rules = append(rules, r)
	}
	b.accessOf[dirs[0]] = rules
	st.Access = rules
	return nil
}

// accessParamError is nginx's error for an allow or deny argument it cannot read.
func accessParamError(d *Directive) error {
	return hintf(d.Pos, "use all, unix:, an address such as 10.0.0.1 or a CIDR such as 10.0.0.0/8",
		`invalid parameter "%s"`, d.Args[0])
}

package config

import (
	"net/netip"
	"slices"
	"sort"
	"strings"
)

// Geo is a geo block: Variable takes the value of the most specific network
// (or the range, in ranges mode) that contains the client address.
type Geo struct {
	// Source names the variable whose value is the address (without "$");
	// empty means the client address ($remote_addr, after realip).
	Source string
	// Variable is the name defined, without "$".
	Variable string
	// Ranges selects ranges mode: Spans and Default, IPv4 only.
	Ranges bool
	// Nets are the networks of the default mode, distinct, host bits cleared,
	// after "delete" lines and duplicates (the last value wins); they always
	// include 0.0.0.0/0 and ::/0, the default ("" unless set).
	Nets []GeoNet
	// Spans are the ranges of ranges mode, sorted and disjoint, as nginx
	// leaves them after splitting ranges written inside others.
	Spans []GeoRange
	// Default is the value of an address in no range (ranges mode).
	Default string
	// Proxies are the "proxy" networks: a client in one of them is replaced
	// by the address its X-Forwarded-For gives.
	Proxies []netip.Prefix
	// ProxyRecursive is "proxy_recursive": walk X-Forwarded-For from the
	// right while the address taken is a proxy.
	ProxyRecursive bool
	// Volatile is "volatile" (nginx 1.29.3): the variable is evaluated at
	// every use instead of once per request (or stream session).
	Volatile bool
	Pos      Pos
}

// GeoNet is one network of a geo block and its value (a plain string: geo
// values have no variables).
type GeoNet struct {
	Prefix netip.Prefix
	Value  string
}

// GeoRange is an IPv4 range of a geo block in ranges mode, both ends included.
type GeoRange struct {
	Start, End uint32
	Value      string
}

// geos reads the geo blocks.
func (b *builder) geos(h *HTTP, http *scope) error {
	for _, d := range http.own("geo") {
		g, err := b.parseGeoBlock(d, false)
		if err != nil {
			return err
		}
		h.Geos = append(h.Geos, g)
	}
	return nil
}

// parseGeoBlock reads "geo [$address] $variable { ... }" as nginx's
// ngx_http_geo_block and ngx_http_geo do; stream (ngx_stream_geo_module)
// has no proxy and proxy_recursive lines.
func (b *builder) parseGeoBlock(d *Directive, stream bool) (*Geo, error) {
	g := &Geo{Pos: d.Pos}
	for i, a := range d.Args {
		if len(a) < 2 || a[0] != '$' {
			return nil, hintf(d.Pos, `write "geo $variable { ... }" or "geo $address $variable { ... }"`, `invalid variable name "%s"`, a)
		}
		if i == len(d.Args)-1 {
			g.Variable = a[1:]
		} else {
			g.Source = a[1:]
		}
	}
	p := geoParser{b: b, g: g, nets: map[netip.Prefix]string{}, ranges: rangeSet{}, stream: stream}
	for _, line := range d.Block {
		if err := p.line(line); err != nil {
			return nil, err
		}
	}
	p.finish()
	return g, nil
}

// geoParser reads the lines of one geo block.
type geoParser struct {
	b          *builder
	g          *Geo
	nets       map[netip.Prefix]string // default mode
	started    bool                    // a network or default line was read: "ranges" is too late
	ranges     rangeSet                // ranges mode
	hasDefault bool                    // ranges mode
	stream     bool                    // a stream geo block: no proxy lines
}

func (p *geoParser) line(d *Directive) error {
	if len(d.Args) == 0 {
		switch d.Name {
		case "ranges":
			if p.started {
				return errorf(d.Pos, `the "ranges" directive must be the first directive inside "geo" block`)
			}
			p.g.Ranges = true
			return nil
		case "proxy_recursive":
			if p.stream {
				break
			}
			p.g.ProxyRecursive = true
			return nil
		case "volatile": // nginx 1.29.3, http and stream, anywhere in the block
			p.g.Volatile = true
			return nil
		}
	}
	if len(d.Args) != 1 && p.stream {
		return hintf(d.Pos, `each line of a stream geo block is "network value;", "default value;", "delete network;", "ranges;" or "volatile;"`,
			`invalid number of the geo parameters`)
	}
	if len(d.Args) != 1 {
		return hintf(d.Pos, `each line of a geo block is "network value;", "default value;", "delete network;", "proxy network;", "ranges;", "proxy_recursive;" or "volatile;"`,
			`invalid number of the geo parameters`)
	}
	if d.Name == "proxy" && !p.stream {
		n, err := p.network(d, d.Args[0])
		if err != nil {
			return err
		}
		p.g.Proxies = append(p.g.Proxies, n)
		return nil
	}
	if p.g.Ranges {
		return p.rangeLine(d)
	}
	return p.netLine(d)
}

// network reads a network as nginx's ngx_http_geo_cidr_value: a CIDR or an
// address, "255.255.255.255" included; set host bits are cleared with a warning.
func (p *geoParser) network(d *Directive, s string) (netip.Prefix, error) {
	if s == "255.255.255.255" {
		return netip.PrefixFrom(netip.AddrFrom4([4]byte{255, 255, 255, 255}), 32), nil
	}
	n, masked, err := parseCIDR(s)
	if err != nil {
		return netip.Prefix{}, hintf(d.Pos, "write an address (192.0.2.1, 2001:db8::1) or a network (10.0.0.0/8, 2001:db8::/32)", `invalid network "%s"`, s)
	}
	if masked {
		p.b.warnDir(d, "", "low address bits of %s are meaningless", s)
	}
	return n, nil
}

// netLine reads "network value;", "default value;" or "delete network;".
func (p *geoParser) netLine(d *Directive) error {
	p.started = true
	if d.Name == "default" {
		p.add(d, netip.MustParsePrefix("0.0.0.0/0"), d.Args[0], d.Name)
		p.add(d, netip.MustParsePrefix("::/0"), d.Args[0], d.Name)
		return nil
	}
	if d.Name == "delete" {
		n, err := p.network(d, d.Args[0])
		if err != nil {
			return err
		}
		if _, ok := p.nets[n]; !ok {
			p.b.warnDir(d, "", `no network "%s" to delete`, d.Args[0])
		}
		delete(p.nets, n)
		return nil
	}
	n, err := p.network(d, d.Name)
	if err != nil {
		return err
	}
	p.add(d, n, d.Args[0], d.Name)
	return nil
}

// add sets the value of n; a second value replaces the first with nginx's warning.
func (p *geoParser) add(d *Directive, n netip.Prefix, value, text string) {
	if old, dup := p.nets[n]; dup {
		p.b.warnDir(d, "", `duplicate network "%s", value: "%s", old value: "%s"`, text, value, old)
	}
	p.nets[n] = value
}

// rangeLine reads "start-end value;", "default value;" or "delete start-end;"
// as nginx's ngx_http_geo_range.
func (p *geoParser) rangeLine(d *Directive) error {
	if d.Name == "default" {
		if p.hasDefault {
			p.b.warnDir(d, "", `duplicate default geo range value: "%s", old value: "%s"`, d.Args[0], p.g.Default)
		}
		p.g.Default, p.hasDefault = d.Args[0], true
		return nil
	}
	text, del := d.Name, d.Name == "delete"
	if del {
		text = d.Args[0]
	}
	start, end, ok := parseGeoRange(text)
	if !ok {
		return hintf(d.Pos, "write a range of IPv4 addresses such as 192.0.2.0-192.0.2.127", `invalid range "%s"`, text)
	}
	if del {
		if p.ranges.remove(start, end) {
			p.b.warnDir(d, "", `no address range "%s" to delete`, text)
		}
		return nil
	}
	return p.ranges.add(start, end, d.Args[0], func(format string, args ...any) {
		p.b.warnDir(d, "", format, append([]any{text}, args...)...)
	}, func(format string, args ...any) error {
		return errorf(d.Pos, format, append([]any{text}, args...)...)
	})
}

// parseGeoRange reads "a.b.c.d-e.f.g.h" with ngx_inet_addr's IPv4 syntax.
func parseGeoRange(s string) (start, end uint32, ok bool) {
	lo, hi, found := strings.Cut(s, "-")
	if !found {
		return 0, 0, false
	}
	a, err := parseIPv4(lo)
	if err != nil {
		return 0, 0, false
	}
	z, err := parseIPv4(hi)
	if err != nil {
		return 0, 0, false
	}
	start, end = ipv4Uint(a), ipv4Uint(z)
	return start, end, start <= end
}

func ipv4Uint(a netip.Addr) uint32 {
	b := a.As4()
	return uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
}

// finish fills the Geo from what the lines left.
func (p *geoParser) finish() {
	if p.g.Ranges {
		p.g.Spans = p.ranges.spans()
		return
	}
	for _, n := range []string{"0.0.0.0/0", "::/0"} {
		if _, ok := p.nets[netip.MustParsePrefix(n)]; !ok {
			p.nets[netip.MustParsePrefix(n)] = ""
		}
	}
	for n, v := range p.nets {
		p.g.Nets = append(p.g.Nets, GeoNet{Prefix: n, Value: v})
	}
	slices.SortFunc(p.g.Nets, func(a, b GeoNet) int {
		if c := a.Prefix.Addr().Compare(b.Prefix.Addr()); c != 0 {
			return c
		}
		return a.Prefix.Bits() - b.Prefix.Bits()
	})
}

// rangeSet is nginx's table of ranges in ranges mode: for each /16 (the high
// 16 bits), its ranges of low 16 bits in ascending order. Adding and
// deleting follow ngx_http_geo_add_range and ngx_http_geo_delete_range, so
// the same lines give the same ranges, warnings and errors.
type rangeSet map[uint16][]rangePart

type rangePart struct {
	start, end uint16
	value      string
}

// chunks calls f with the high 16 bits and the low bounds of each /16 that
// [start, end] touches.
func chunks(start, end uint32, f func(h uint16, s, e uint16) error) error {
	for n := start; ; n = (n + 0x10000) & 0xffff0000 {
		s, e := uint16(0), uint16(0xffff)
		if n == start {
			s = uint16(n)
		}
		if n|0xffff > end {
			e = uint16(end)
		}
		if err := f(uint16(n>>16), s, e); err != nil {
			return err
		}
		if n>>16 == 0xffff || (n+0x10000)&0xffff0000 > end {
			return nil
		}
	}
}

// add adds [start, end] with value: a range inside an existing one splits
// it, an equal one replaces its value (warn: duplicate), any other overlap
// is an error (fail, with the range met).
func (rs rangeSet) add(start, end uint32, value string, warn func(string, ...any), fail func(string, ...any) error) error {
	return chunks(start, end, func(h, s, e uint16) error {
		a := rs[h]
		at := 0 // where the new part goes when it precedes every part
		for i := len(a) - 1; i >= 0; i-- {
			r := a[i]
			switch {
			case e < r.start:
				continue
			case s > r.end: // after part i
				at = i + 1
			case s == r.start && e == r.end:
				warn(`duplicate range "%s", value: "%s", old value: "%s"`, value, r.value)
				a[i].value = value
				rs[h] = a
				return nil
			case s > r.start && e < r.end: // inside: split part i
				a[i].end = s - 1
				a = slices.Insert(a, i+1, rangePart{s, e, value}, rangePart{e + 1, r.end, r.value})
				rs[h] = a
				return nil
			case s == r.start && e < r.end: // its head
				a[i].start = e + 1
				at = i
			case s > r.start && e == r.end: // its tail
				a[i].end = s - 1
				at = i + 1
			default:
				return fail(`range "%s" overlaps "%d.%d.%d.%d-%d.%d.%d.%d"`,
					h>>8, h&0xff, r.start>>8, r.start&0xff, h>>8, h&0xff, r.end>>8, r.end&0xff)
			}
			break
		}
		rs[h] = slices.Insert(a, at, rangePart{s, e, value})
		return nil
	})
}

// remove deletes the parts equal to [start, end] and reports whether some
// /16 had no such part (nginx's "no address range ... to delete").
func (rs rangeSet) remove(start, end uint32) (missing bool) {
	_ = chunks(start, end, func(h, s, e uint16) error {
		a := rs[h]
		i := slices.IndexFunc(a, func(r rangePart) bool { return r.start == s && r.end == e })
		if i < 0 {
			missing = true
			return nil
		}
		rs[h] = slices.Delete(a, i, i+1)
		return nil
	})
	return missing
}

// spans lists the ranges in address order.
func (rs rangeSet) spans() []GeoRange {
	highs := make([]int, 0, len(rs))
	for h := range rs {
		highs = append(highs, int(h))
	}
	sort.Ints(highs)
	var out []GeoRange
	for _, h := range highs {
		for _, r := range rs[uint16(h)] {
			base := uint32(h) << 16
			out = append(out, GeoRange{Start: base | uint32(r.start), End: base | uint32(r.end), Value: r.value})
		}
	}
	return out
}

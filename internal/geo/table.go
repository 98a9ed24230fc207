// Package geo is the request side of nginx's geo module: an immutable table
// that maps a client address to a value (longest-prefix match over networks,
// or address ranges), nginx's parsing of an address from a variable, and its
// X-Forwarded-For walk through trusted proxies. The config package reads a
// geo block and applies nginx's rules for duplicates, deletes and overlaps;
// this package only answers lookups, with no allocation.
//
// A table is a sorted list of segments: each segment starts at an address
// and lasts until the next one starts, and carries the value of the most
// specific network (or the range) that covers it. The networks of a geo
// block are nested or disjoint, so they flatten into such a list at load
// time, and a lookup is one binary search over a flat array of integers: no
// pointer chasing as in nginx's radix tree (up to 32 steps for IPv4, 128 for
// IPv6), no per-node allocations, the same answer.
package geo

import (
	"cmp"
	"net/netip"
	"slices"
)

// Net is one network of a geo block and its value.
type Net struct {
	Prefix netip.Prefix
	Value  string
}

// Range is one IPv4 range of a geo block in ranges mode, both ends included.
type Range struct {
	Start, End uint32
	Value      string
}

// Table answers which value an address has. It is immutable and safe for
// concurrent use.
type Table struct {
	v4Start []uint32 // segment starts, ascending; v4Start[0] == 0
	v4Value []string
	v6Start []u128 // nil in ranges mode
	v6Value []string
	ranges  bool
}

// none is nginx's INADDR_NONE, the address a lookup uses for a client it
// cannot place (an address that does not parse, a unix socket, IPv6 in
// ranges mode).
const none = 0xffffffff

// NewCIDR builds the table of a geo block in its default mode from its
// networks, which must be distinct and have their host bits cleared. An
// address takes the value of the longest network that contains it; when no
// network contains it (a family without a /0) the value is "".
func NewCIDR(nets []Net) *Table {
	var s4, s6 []span
	for _, n := range nets {
		lo, hi := bounds(n.Prefix)
		if n.Prefix.Addr().Is4() {
			s4 = append(s4, span{lo, hi, n.Value})
		} else {
			s6 = append(s6, span{lo, hi, n.Value})
		}
	}
	t := &Table{}
	for _, sg := range flatten(s4, u128{lo: none}) {
		t.v4Start = append(t.v4Start, uint32(sg.start.lo))
		t.v4Value = append(t.v4Value, sg.value)
	}
	for _, sg := range flatten(s6, u128{^uint64(0), ^uint64(0)}) {
		t.v6Start = append(t.v6Start, sg.start)
		t.v6Value = append(t.v6Value, sg.value)
	}
	return t
}

// NewRanges builds the table of a geo block in ranges mode from its ranges,
// which must be sorted and disjoint; def is the value of every other
// address. IPv6 clients, other than IPv4-mapped ones, are looked up as
// 255.255.255.255, as nginx does.
func NewRanges(ranges []Range, def string) *Table {
	var segs segments
	segs.add(u128{}, def)
	for _, r := range ranges {
		segs.add(u128{lo: uint64(r.Start)}, r.Value)
		if r.End != none {
			segs.add(u128{lo: uint64(r.End) + 1}, def)
		}
	}
	t := &Table{ranges: true}
	for _, sg := range segs.compact() {
		t.v4Start = append(t.v4Start, uint32(sg.start.lo))
		t.v4Value = append(t.v4Value, sg.value)
	}
	return t
}

// Lookup returns the value of a. An IPv4-mapped IPv6 address is looked up as
// IPv4; the zero Addr (no address: a unix socket, or a value that did not
// parse) is looked up as 255.255.255.255, as nginx does.
func (t *Table) Lookup(a netip.Addr) string {
	switch {
	case a.Is4() || a.Is4In6():
		b := a.Unmap().As4()
		return t.lookup4(uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3]))
	case a.Is6() && !t.ranges:
		return t.lookup6(fromBytes(a.As16()))
	}
	return t.lookup4(none)
}

func (t *Table) lookup4(x uint32) string {
	// The last segment that starts at or before x: v4Start[0] is 0.
	lo, hi := 0, len(t.v4Start)
	for hi-lo > 1 {
		mid := int(uint(lo+hi) >> 1)
		if t.v4Start[mid] <= x {
			lo = mid
		} else {
			hi = mid
		}
	}
	return t.v4Value[lo]
}

func (t *Table) lookup6(x u128) string {
	lo, hi := 0, len(t.v6Start)
	for hi-lo > 1 {
		mid := int(uint(lo+hi) >> 1)
		if !x.less(t.v6Start[mid]) {
			lo = mid
		} else {
			hi = mid
		}
	}
	return t.v6Value[lo]
}

// u128 is an address as a 128-bit unsigned integer (IPv4 in lo).
type u128 struct{ hi, lo uint64 }

func (a u128) less(b u128) bool { return a.hi < b.hi || a.hi == b.hi && a.lo < b.lo }

func (a u128) next() u128 {
	if a.lo == ^uint64(0) {
		return u128{a.hi + 1, 0}
	}
	return u128{a.hi, a.lo + 1}
}

func fromBytes(b [16]byte) u128 {
	var x u128
	for i := 0; i < 8; i++ {
		x.hi = x.hi<<8 | uint64(b[i])
		x.lo = x.lo<<8 | uint64(b[i+8])
	}
	return x
}

// bounds returns the first and last address of p.
func bounds(p netip.Prefix) (lo, hi u128) {
	a := p.Masked().Addr()
	if a.Is4() {
		b := a.As4()
		v := uint64(b[0])<<24 | uint64(b[1])<<16 | uint64(b[2])<<8 | uint64(b[3])
		host := uint64(1)<<(32-p.Bits()) - 1
		return u128{lo: v}, u128{lo: v | host}
	}
	lo = fromBytes(a.As16())
	hi = lo
	if bits := p.Bits(); bits < 64 {
		hi.hi |= ^uint64(0) >> bits
		hi.lo = ^uint64(0)
	} else if bits < 128 {
		hi.lo |= ^uint64(0) >> (bits - 64)
	}
	return lo, hi
}

// span is a network as an inclusive address interval.
type span struct {
	lo, hi u128
	value  string
}

// segment is where a value starts; it lasts until the next segment.
type segment struct {
	start u128
	value string
}

type segments []segment

// add starts value at start; a segment already starting there is replaced
// (a more specific network starts at the same address).
func (s *segments) add(start u128, value string) {
	if n := len(*s); n > 0 && (*s)[n-1].start == start {
		(*s)[n-1].value = value
		return
	}
	*s = append(*s, segment{start, value})
}

// compact merges neighbours with the same value.
func (s segments) compact() []segment {
	out := s[:0]
	for _, sg := range s {
		if len(out) > 0 && out[len(out)-1].value == sg.value {
			continue
		}
		out = append(out, sg)
	}
	return out
}

// flatten turns nested-or-disjoint intervals into segments: each address
// gets the value of the innermost interval containing it, "" where none does.
// max is the family's last address.
func flatten(spans []span, max u128) []segment {
	slices.SortFunc(spans, func(a, b span) int {
		if a.lo != b.lo {
			if a.lo.less(b.lo) {
				return -1
			}
			return 1
		}
		// The same start: the wider interval (the outer network) first.
		return cmp.Compare(boolInt(a.hi.less(b.hi)), boolInt(b.hi.less(a.hi)))
	})
	var segs segments
	segs.add(u128{}, "")
	var stack []span
	// pop ends the innermost open interval: after its last address the
	// interval around it (or nothing) resumes.
	pop := func() {
		top := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if top.hi == max {
			return
		}
		outer := ""
		if len(stack) > 0 {
			outer = stack[len(stack)-1].value
		}
		segs.add(top.hi.next(), outer)
	}
	for _, sp := range spans {
		for len(stack) > 0 && stack[len(stack)-1].hi.less(sp.lo) {
			pop()
		}
		segs.add(sp.lo, sp.value)
		stack = append(stack, sp)
	}
	for len(stack) > 0 {
		pop()
	}
	return segs.compact()
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

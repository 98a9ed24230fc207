package balancer

import (
	"net/netip"

	"fulcrum/internal/upstream"
)

// IPHash maps a client to a server by nginx's hash of its address: the
// first three octets of an IPv4 address (so a /24 sticks to one server)
// or the whole IPv6 address. Starting from 89, each byte does
// hash = (hash*113 + byte) % 6271; the server is the one whose weight
// range holds hash % total_weight. When that server is unusable or tried,
// the hash is applied again over the same bytes; after 20 such rehashes
// the request uses round robin. The zero value is ready to use.
//
// IPv4-mapped IPv6 addresses (::ffff:a.b.c.d, as a dual-stack Go listener
// reports IPv4 clients) hash as IPv4, as nginx sees them on its default
// ipv6only listeners.
type IPHash struct{}

var _ Policy = (*IPHash)(nil)

// Choose implements Policy (ngx_http_upstream_get_ip_hash_peer).
func (*IPHash) Choose(v upstream.View, a *Attempt) int {
	if v.Backup() || a.ptries > 20 || v.Single() {
		return roundRobin(v, a)
	}
	if !a.pinit {
		a.phash, a.pinit = 89, true
	}
	key, n := ipHashBytes(a.addr)
	h := a.phash
	total := uint32(v.TotalWeight())
	for {
		for _, b := range key[:n] {
			h = (h*113 + uint32(b)) % 6271
		}
		p := byWeight(v, int(h%total))
		if !a.tried.has(p) && v.Usable(p) {
			a.phash = h
			return p
		}
		if a.ptries++; a.ptries > 20 {
			return roundRobin(v, a)
		}
	}
}

// ipHashBytes returns the bytes ip_hash hashes: 3 for IPv4 and for
// non-IP clients (nginx's pseudo address 0.0.0), 16 for IPv6.
func ipHashBytes(addr netip.Addr) ([16]byte, int) {
	switch {
	case addr.Is4() || addr.Is4In6():
		b := addr.Unmap().As4()
		return [16]byte{b[0], b[1], b[2]}, 3
	case addr.Is6():
		return addr.As16(), 16
	}
	return [16]byte{}, 3
}

// byWeight returns the server whose weight range holds w, for
// 0 <= w < TotalWeight: server 0 holds [0, weight_0), server 1 the next
// weight_1 values, and so on (down servers included, as in nginx).
func byWeight(v upstream.View, w int) int {
	p := 0
	for w >= v.Weight(p) {
		w -= v.Weight(p)
		p++
	}
	return p
}

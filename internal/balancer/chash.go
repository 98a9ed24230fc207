package balancer

import (
	"cmp"
	"encoding/binary"
	"hash/crc32"
	"slices"
	"strings"

	"fulcrum/internal/upstream"
)

// pointsPerWeight is the number of ketama points per weight unit.
const pointsPerWeight = 160

// ConsistentHash is "hash KEY consistent": ketama consistent hashing, so
// that adding or removing one of N servers remaps about 1/N of the keys.
// It is built for one pool (NewConsistentHash) and must only be used with
// that pool.
//
// The points are nginx's, so a key maps to the same server as in nginx
// given the same server names and weights: each primary server (down ones
// included) gets weight*160 points; from its name split into HOST and
// PORT ("unix:" names have no port), point j is crc32(HOST \0 PORT
// PREV), PREV being the previous point as 4 little-endian bytes (zero for
// the first). A request starts at the first point >= crc32(KEY) and walks
// the ring while the point's server is unusable or tried; after 20 steps,
// or with an empty key, it uses round robin.
type ConsistentHash struct {
	pool   *upstream.Pool
	points []point
	group  []int32 // primary index -> index of its name among distinct names
	// gen is the membership generation the ring was built for
	// (upstream.View.Gen). Choose rebuilds the ring when a server was
	// added or removed at run time; it runs with the pool's lock held,
	// which therefore guards points, group and gen once the policy is in
	// use.
	gen uint64
}

// point is one ketama point: its hash and the server name it belongs to.
type point struct {
	hash  uint32
	group int32
}

var _ Policy = (*ConsistentHash)(nil)

// NewConsistentHash builds the ketama points of p's primary servers.
func NewConsistentHash(p *upstream.Pool) *ConsistentHash {
	h := &ConsistentHash{pool: p}
	_, _, h.gen = p.Shape()
	n := p.Len(false)
	h.build(n, func(i int) (string, int) { s := p.Server(false, i); return s.Name(), s.Weight() })
	return h
}

// build makes the ring of n primaries, server(i) giving the name and
// weight of primary i.
func (h *ConsistentHash) build(n int, server func(i int) (string, int)) {
	h.group, h.points = make([]int32, n), h.points[:0]
	names := make(map[string]int32, n)
	for i := range h.group {
		name, weight := server(i)
		g, ok := names[name]
		if !ok {
			g = int32(len(names))
			names[name] = g
		}
		h.group[i] = g
		h.points = appendPoints(h.points, name, weight, g)
	}
	h.points = sortPoints(h.points)
}

// appendPoints appends the weight*160 points of the server called name.
func appendPoints(pts []point, name string, weight int, g int32) []point {
	host, port := splitServerName(name)
	base := crcString(crcString(crcString(0, host), "\x00"), port)
	var prev [4]byte
	for range weight * pointsPerWeight {
		h := crc32.Update(base, crc32.IEEETable, prev[:])
		pts = append(pts, point{hash: h, group: g})
		binary.LittleEndian.PutUint32(prev[:], h)
	}
	return pts
}

// sortPoints orders the points by hash and keeps the first of equal ones
// (nginx sorts with qsort, which leaves the order of the rare equal
// hashes unspecified; this keeps configuration order).
func sortPoints(pts []point) []point {
	slices.SortStableFunc(pts, func(x, y point) int { return cmp.Compare(x.hash, y.hash) })
	return slices.CompactFunc(pts, func(x, y point) bool { return x.hash == y.hash })
}

// splitServerName splits a server name the way nginx's ketama does:
// "unix:PATH" is host PATH with no port; otherwise a trailing ":DIGITS"
// is the port; otherwise the whole name is the host.
func splitServerName(name string) (host, port string) {
	if len(name) >= 5 && strings.EqualFold(name[:5], "unix:") {
		return name[5:], ""
	}
	for j := len(name) - 1; j >= 0; j-- {
		c := name[j]
		if c == ':' {
			return name[:j], name[j+1:]
		}
		if c < '0' || c > '9' {
			break
		}
	}
	return name, ""
}

// find returns the index of the first point whose hash is >= hash, or
// len(points) (wrapped by the caller) when there is none.
func (h *ConsistentHash) find(hash uint32) int {
	i, _ := slices.BinarySearchFunc(h.points, hash, func(p point, t uint32) int { return cmp.Compare(p.hash, t) })
	return i
}

// Choose implements Policy (ngx_http_upstream_get_chash_peer).
func (h *ConsistentHash) Choose(v upstream.View, a *Attempt) int {
	if v.Pool() != h.pool {
		panic("balancer: ConsistentHash used with a pool it was not built for")
	}
	if v.Backup() || a.ptries > 20 || v.Single() || a.key == "" {
		return roundRobin(v, a)
	}
	if v.Gen() != h.gen {
		h.build(v.Len(), func(i int) (string, int) { return v.Name(i), v.Weight(i) })
		h.gen = v.Gen()
	}
	if len(h.points) == 0 {
		return roundRobin(v, a)
	}
	if !a.pinit {
		a.phash, a.pinit = uint32(h.find(crcString(0, a.key))), true
	}
	for {
		g := h.points[a.phash%uint32(len(h.points))].group
		if best := h.pickInGroup(v, a, g); best >= 0 {
			return best
		}
		a.phash++
		if a.ptries++; a.ptries > 20 {
			return roundRobin(v, a)
		}
	}
}

// pickInGroup runs a weighted round robin round over the usable, untried
// servers named by group g (several when one name appears twice).
func (h *ConsistentHash) pickInGroup(v upstream.View, a *Attempt, g int32) int {
	return smoothRound(v, a, func(i int) bool { return h.group[i] == g })
}

package balancer

import (
	"hash/crc32"
	"strconv"

	"fulcrum/internal/upstream"
)

// Hash is "hash KEY" without "consistent": the key (evaluated by the
// caller into Input.Key) picks a server by nginx's Cache::Memcached
// compatible hash. Each round adds ((crc32([REHASH] KEY) >> 16) & 0x7fff)
// to a running sum, REHASH being the round number in decimal, omitted in
// the first round; the server is the one whose weight range holds
// sum % total_weight. An unusable or tried server starts another round;
// after 20 the request uses round robin, as it does with an empty key or
// fewer than two servers. The zero value is ready to use.
type Hash struct{}

var _ Policy = (*Hash)(nil)

// Choose implements Policy (ngx_http_upstream_get_hash_peer).
func (*Hash) Choose(v upstream.View, a *Attempt) int {
	if v.Backup() || a.ptries > 20 || v.Len() < 2 || a.key == "" {
		return roundRobin(v, a)
	}
	total := uint32(v.TotalWeight())
	for {
		a.phash += keyHash(a.key, a.rehash)
		a.rehash++
		p := byWeight(v, int(a.phash%total))
		if !a.tried.has(p) && v.Usable(p) {
			return p
		}
		if a.ptries++; a.ptries > 20 {
			return roundRobin(v, a)
		}
	}
}

// keyHash is one round's term: (crc32([rehash] key) >> 16) & 0x7fff.
func keyHash(key string, rehash uint32) uint32 {
	var crc uint32
	if rehash > 0 {
		var buf [10]byte
		crc = crc32.Update(0, crc32.IEEETable, strconv.AppendUint(buf[:0], uint64(rehash), 10))
	}
	crc = crcString(crc, key)
	return (crc >> 16) & 0x7fff
}

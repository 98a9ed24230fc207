package router

// lengthSet records the lengths of a map's keys, so that a look-up of a key
// whose length no key has is skipped: a string-keyed look-up hashes the
// whole key before it finds nothing, and most requests' paths and hosts are
// in no exact table. Lengths from 256 on are not recorded; keys that long
// are always looked up.
type lengthSet [4]uint64

// add records n.
func (s *lengthSet) add(n int) {
	if n < 256 {
		s[n>>6] |= 1 << (n & 63)
	}
}

// has reports whether a key of length n may be in the map.
func (s *lengthSet) has(n int) bool {
	return n >= 256 || s[n>>6]&(1<<(n&63)) != 0
}

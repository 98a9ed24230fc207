package proxy

// nameSet is a set of header field names built once with a location's
// handler, grouped by length, so that a look-up compares a name only with
// the few of its length: no hashing, and nothing at all for most names.
// The zero value is an empty set.
type nameSet struct {
	byLen [][]string // byLen[n]: the names of n bytes
	sigs  uint64     // foldSig of every name
}

// newNameSet makes a set of the names of lists.
func newNameSet(lists ...[]string) nameSet {
	var s nameSet
	for _, list := range lists {
		for _, name := range list {
			s.add(name)
		}
	}
	return s
}

// add puts name in the set.
func (s *nameSet) add(name string) {
	for len(s.byLen) <= len(name) {
		s.byLen = append(s.byLen, nil)
	}
	s.byLen[len(name)] = append(s.byLen[len(name)], name)
	s.sigs |= foldSig(name)
}

// foldSig is one bit of 64 chosen by a name's length and its last byte,
// ASCII letters folded to lower case: two names equal but for the case of
// ASCII letters have the same bit, so a name whose bit a set of names
// lacks is none of them.
func foldSig(name string) uint64 {
	if len(name) == 0 {
		return 1
	}
	return 1 << ((uint(len(name))*7 + uint(name[len(name)-1]|0x20)) & 63)
}

// has reports whether the set holds name exactly (as the canonical names
// of response fields are compared).
func (s nameSet) has(name string) bool {
	if len(name) >= len(s.byLen) {
		return false
	}
	for _, n := range s.byLen[len(name)] {
		if n == name {
			return true
		}
	}
	return false
}

// hasFold reports whether the set holds name, ignoring case (as names
// spelled by a client are compared). The comparison folds ASCII only: for
// two names of one length, one of them ASCII (a field name is a token), it
// says what strings.EqualFold says, at a fraction of its cost.
func (s nameSet) hasFold(name string) bool {
	if len(name) >= len(s.byLen) {
		return false
	}
	for _, n := range s.byLen[len(name)] {
		if equalFoldASCII(n, name) {
			return true
		}
	}
	return false
}

// unforwarded are the client's fields that never go upstream, whatever the
// location: the hop-by-hop ones, those fulcrum answers or frames itself
// (dropped, Content-Length) and Host, which the proxy always sets. Never
// changed after init.
var unforwarded = newNameSet(hopByHop, dropped, []string{"Host", "Content-Length"})

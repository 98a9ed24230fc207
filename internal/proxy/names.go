package proxy

// nameSet is a set of header field names built once with a location's
// handler, grouped by length, so that a look-up compares a name only with
// the few of its length: no hashing, and nothing at all for most names.
// The zero value is an empty set.
type nameSet struct {
	byLen [][]string // byLen[n]: the names of n bytes
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

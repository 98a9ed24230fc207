package health

import (
	"net/http"

	"fulcrum/internal/config"
)

// maxBody is how much of a response body a match block's body tests see,
// as NGINX Plus documents ("only the first 256k of the response body are
// examined").
const maxBody = 256 << 10

// Matches reports whether a check response passes m: every test of the
// block, or, for a nil m or a block without tests, a 2xx or 3xx status.
// header holds the response's fields (canonical keys, as net/http reads
// them); body is at most the first 256 KiB.
func Matches(m *config.Match, status int, header http.Header, body []byte) bool {
	if m == nil || len(m.Tests) == 0 {
		return status >= 200 && status < 400
	}
	for i := range m.Tests {
		if !testPasses(&m.Tests[i], status, header, body) {
			return false
		}
	}
	return true
}

// needsBody reports whether m has a body test.
func needsBody(m *config.Match) bool {
	if m == nil {
		return false
	}
	for _, t := range m.Tests {
		if t.Kind == config.MatchBody {
			return true
		}
	}
	return false
}

// testPasses evaluates one test.
func testPasses(t *config.MatchTest, status int, header http.Header, body []byte) bool {
	var ok bool
	switch t.Kind {
	case config.MatchStatus:
		ok = inRanges(t.Ranges, status)
	case config.MatchBody:
		matched, err := t.Regex.Match(string(body))
		if err != nil {
			return false // over its match bound: the test fails, "!~" too
		}
		ok = matched
	case config.MatchHeader:
		return headerPasses(t, header)
	}
	return ok != t.Not
}

// inRanges reports whether status is in one of the inclusive ranges.
func inRanges(ranges [][2]int, status int) bool {
	for _, r := range ranges {
		if status >= r[0] && status <= r[1] {
			return true
		}
	}
	return false
}

// headerPasses evaluates a header test. A field that is present passes
// "header Name" and fails "header ! Name". The value tests look at every
// field of that name: "=" and "~" pass when one of them matches, "!=" and
// "!~" when none does (so an absent field passes them).
func headerPasses(t *config.MatchTest, header http.Header) bool {
	values, present := header[http.CanonicalHeaderKey(t.Header)]
	if t.Op == config.HeaderPresent {
		return present != t.Not
	}
	found := false
	for _, v := range values {
		switch t.Op {
		case config.HeaderEqual:
			found = found || v == t.Value
		case config.HeaderRegex:
			matched, err := t.Regex.Match(v)
			if err != nil {
				return false // over its match bound: the test fails, "!~" too
			}
			found = found || matched
		}
	}
	return found != t.Not
}

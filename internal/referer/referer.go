// Package referer implements the check of nginx's ngx_http_referer_module:
// whether a request's Referer field is one that valid_referers accepts,
// which is what $invalid_referer reports.
//
// A [Checker] is compiled once from a [config.ValidReferers] and is
// immutable; [Checker.Invalid] neither allocates nor locks.
package referer

import (
	"bytes"
	"slices"

	"fulcrum/internal/config"
	"fulcrum/internal/pcre"
)

// maxHost is nginx's limit on a referer's host: a longer one is invalid,
// whatever the rules.
const maxHost = 256

// Checker is a compiled valid_referers.
type Checker struct {
	none, blocked bool
	// exact maps a lower-case host to the URI prefix its path needs ("" for
	// any path).
	exact map[string]string
	// lead are the "*.example.org" names as suffixes (".example.org"),
	// trail the "www.example.*" names as prefixes ("www.example."), each
	// longest first, as nginx's wildcard hashes find the most specific.
	lead, trail []wildcard
	// hostRegexes match the host (server_name regexes brought by
	// server_names, case-insensitive); regexes match the referer after its
	// scheme.
	hostRegexes, regexes []*pcre.Regexp
}

type wildcard struct {
	affix []byte
	uri   string
}

// New compiles vr.
func New(vr *config.ValidReferers) *Checker {
	c := &Checker{
		none: vr.None, blocked: vr.Blocked, exact: map[string]string{},
		hostRegexes: vr.ServerRegexes, regexes: vr.Regexes,
	}
	for _, n := range vr.Names {
		switch n.Kind {
		case config.NameLeadWildcard:
			c.lead = append(c.lead, wildcard{affix: []byte(n.Host[1:]), uri: n.URI})
		case config.NameTrailWildcard:
			c.trail = append(c.trail, wildcard{affix: []byte(n.Host[:len(n.Host)-1]), uri: n.URI})
		default:
			if _, dup := c.exact[n.Host]; !dup {
				c.exact[n.Host] = n.URI
			}
		}
	}
	longestFirst := func(a, b wildcard) int { return len(b.affix) - len(a.affix) }
	slices.SortStableFunc(c.lead, longestFirst)
	slices.SortStableFunc(c.trail, longestFirst)
	return c
}

// Invalid reports whether a request whose Referer field is value (present
// false when it has none) is refused: nginx's $invalid_referer is "1" then,
// "" otherwise. As nginx: without a Referer, "none" decides; a value that
// does not start with "http://" or "https://" (case-insensitively), or is
// shorter than "http://i.ru", is valid only with "blocked"; otherwise the
// host (up to a '/' or ':', lower-cased) is looked up among the exact
// names, then the "*.x" and the "x.*" names, and a name found decides by its
// URI prefix; a host found nowhere is valid when a server_names regex
// matches it or a "~" regex matches the referer after its scheme. A regex
// whose match hits its bound counts as valid (see Check).
func (c *Checker) Invalid(value string, present bool) bool {
	invalid, _ := c.Check(value, present)
	return invalid
}

// Check is Invalid with the error of a regex whose match hit its bound (it
// wraps pcre.ErrMatchLimit), which ends the check: nginx's
// ngx_regex_exec_array logs it at alert and $invalid_referer fails, which
// reads as empty (the referer is not refused); invalid is then false.
func (c *Checker) Check(value string, present bool) (invalid bool, err error) {
	if !present {
		return !c.none, nil
	}
	rest, ok := stripScheme(value)
	if !ok {
		return !c.blocked, nil
	}
	var buf [maxHost]byte
	n := 0
	for n < len(rest) && rest[n] != '/' && rest[n] != ':' {
		if n == maxHost {
			return true, nil
		}
		buf[n] = lower(rest[n])
		n++
	}
	host := buf[:n]
	if uri, found := c.find(host); found {
		path := rest[n:]
		if i := indexSlash(path); i >= 0 {
			path = path[i:]
		} else {
			path = ""
		}
		return len(path) < len(uri) || path[:len(uri)] != uri, nil
	}
	for _, re := range c.hostRegexes { // case-insensitive: the host as sent will do
		if ok, err := re.Match(rest[:n]); ok || err != nil {
			return false, err
		}
	}
	for _, re := range c.regexes {
		if ok, err := re.Match(rest); ok || err != nil {
			return false, err
		}
	}
	return true, nil
}

// find looks host up as nginx's ngx_hash_find_combined: exact, then lead
// wildcards, then trail wildcards.
func (c *Checker) find(host []byte) (uri string, found bool) {
	if uri, ok := c.exact[string(host)]; ok {
		return uri, true
	}
	for _, w := range c.lead {
		if bytes.HasSuffix(host, w.affix) { // ".example.org" itself too, as nginx

			return w.uri, true
		}
	}
	for _, w := range c.trail {
		if bytes.HasPrefix(host, w.affix) { // "www.example." too, as nginx

			return w.uri, true
		}
	}
	return "", false
}

// stripScheme returns the referer after "http://" or "https://", and false
// for anything else or a value shorter than nginx's "http://i.ru".
func stripScheme(v string) (string, bool) {
	if len(v) < len("http://i.ru") {
		return "", false
	}
	switch {
	case hasPrefixFold(v, "http://"):
		return v[len("http://"):], true
	case hasPrefixFold(v, "https://"):
		return v[len("https://"):], true
	}
	return "", false
}

func hasPrefixFold(s, prefix string) bool {
	if len(s) < len(prefix) {
		return false
	}
	for i := 0; i < len(prefix); i++ {
		if lower(s[i]) != prefix[i] {
			return false
		}
	}
	return true
}

func indexSlash(s string) int {
	for i := 0; i < len(s); i++ {
		if s[i] == '/' {
			return i
		}
	}
	return -1
}

func lower(c byte) byte {
	if c >= 'A' && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

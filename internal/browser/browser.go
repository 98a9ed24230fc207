// Package browser implements the test of nginx's ngx_http_browser_module:
// whether a request's User-Agent is a modern or an ancient browser, by
// the modern_browser and ancient_browser rules of a level, which is what
// $modern_browser and $ancient_browser report; and nginx's own MSIE mark
// of the User-Agent, which $msie reports.
//
// A [Rules] is compiled once from a [config.Browser] and is immutable;
// [Rules.Modern] neither allocates nor locks, and [MSIE] needs no rules.
package browser

import (
	"slices"
	"strings"

	"fulcrum/internal/config"
)

// mask is how nginx finds one browser's version in a User-Agent: after
// skipping skip bytes, the first occurrence of name, then add bytes past
// its start (the name and, for Opera, the separator after it).
type mask struct {
	browser string
	skip    int
	name    string
	add     int
}

// masks are nginx's ngx_http_modern_browser_masks, in its order, which is
// the order the rules are tried in: Opera first, as an Opera User-Agent
// may say "MSIE" too.
var masks = []mask{
	{"opera", 0, "Opera", len("Opera ")},
	{"msie", len("Mozilla/4.0 (compatible; "), "MSIE ", len("MSIE ")},
	{"gecko", len("Mozilla/5.0 ("), "rv:", len("rv:")},
	{"safari", len("Mozilla/5.0 ("), "Safari/", len("Safari/")},
	{"konqueror", len("Mozilla/5.0 (compatible; "), "Konqueror/", len("Konqueror/")},
}

// unreachableOpera is the version nginx gives Opera when modern_browser
// does not name it: a User-Agent saying "Opera" is then ancient (unless
// its version is absurdly high), whatever else it says.
const unreachableOpera = 4001000000

// rule is one modern_browser line with its browser's mask.
type rule struct {
	mask
	version uint64
}

// Rules are a level's compiled browser settings. The zero Rules, a level
// without modern_browser and ancient_browser, finds every browser ancient,
// as nginx does.
type Rules struct {
	modern    []rule // nil without modern_browser lines
	unlisted  bool
	ancient   []string
	netscape4 bool
}

// New compiles b. As nginx's merge does, a list of modern browsers
// without Opera gets Opera at an unreachable version, and the list is
// sorted by browser in the masks' order, keeping the written order of the
// lines of one browser (the first of them decides).
func New(b *config.Browser) *Rules {
	r := &Rules{unlisted: b.Unlisted, ancient: b.Ancient, netscape4: b.Netscape4}
	if len(b.Modern) == 0 {
		return r
	}
	for _, m := range b.Modern {
		i := slices.IndexFunc(masks, func(k mask) bool { return k.browser == m.Name })
		if i < 0 {
			continue // config's check refused it
		}
		r.modern = append(r.modern, rule{masks[i], m.Version})
	}
	if !slices.ContainsFunc(r.modern, func(x rule) bool { return x.browser == "opera" }) {
		r.modern = append(r.modern, rule{masks[0], unreachableOpera})
	}
	slot := func(x rule) int { return slices.IndexFunc(masks, func(k mask) bool { return k.browser == x.browser }) }
	slices.SortStableFunc(r.modern, func(a, b rule) int { return slot(a) - slot(b) })
	return r
}

// Modern reports whether a request whose User-Agent is ua (present false
// without one) is a modern browser; otherwise it is an ancient one
// (nginx's ngx_http_browser gives one or the other). In nginx's order:
//   - without a User-Agent, "modern_browser unlisted" decides;
//   - the first modern_browser rule whose browser's name is found decides
//     by the version that follows it;
//   - with modern_browser rules of which none names the browser, it is
//     ancient unless "unlisted";
//   - netscape4 makes "Mozilla/1." to "Mozilla/4." ancient, and so does
//     any ancient_browser substring (case-sensitive);
//   - anything else is modern with "unlisted", ancient without.
func (r *Rules) Modern(ua string, present bool) bool {
	if !present {
		return r.unlisted
	}
	if len(r.modern) > 0 {
		if modern, decided := r.listed(ua); decided {
			return modern
		}
		if !r.unlisted {
			return false
		}
	}
	if r.netscape4 && len(ua) > len("Mozilla/4.72 ") && strings.HasPrefix(ua, "Mozilla/") && ua[8] > '0' && ua[8] < '5' {
		return false
	}
	for _, a := range r.ancient {
		if strings.Contains(ua, a) {
			return false
		}
	}
	return r.unlisted
}

// listed tries the modern_browser rules on ua: decided is true when one
// found its browser's name (after its skip, with a byte after the name's
// add), and modern tells its verdict.
func (r *Rules) listed(ua string) (modern, decided bool) {
	for _, m := range r.modern {
		if m.skip >= len(ua) {
			continue
		}
		i := strings.Index(ua[m.skip:], m.name)
		if i < 0 {
			continue
		}
		start := m.skip + i + m.add
		if start >= len(ua) {
			continue
		}
		return atLeast(ua[start:], m.version), true
	}
	return false, false
}

// atLeast reports whether the version at the start of s is at least min,
// read as nginx reads it: digits and dots up to anything else, the parts
// weighed as config.BrowserVersion weighs them, and a running total
// already over min at a dot is enough.
func atLeast(s string, min uint64) bool {
	var version, ver uint64
	scale := uint64(1000000)
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= '0' && c <= '9' {
			ver = ver*10 + uint64(c-'0')
			continue
		}
		if c != '.' {
			break
		}
		version += ver * scale
		if version > min {
			return true
		}
		ver = 0
		scale /= 100
	}
	return version+ver*scale >= min
}

// MSIE reports whether nginx marks a User-Agent as Internet Explorer
// ($msie is "1"), as its ngx_http_process_user_agent does: "MSIE " with
// at least three bytes after it, and no "Opera" anywhere. Internet
// Explorer 11 ("Trident/7.0; rv:11.0") says no "MSIE " and is not marked.
func MSIE(ua string) bool {
	i := strings.Index(ua, "MSIE ")
	return i >= 0 && i+7 < len(ua) && !strings.Contains(ua, "Opera")
}

// MSIE6 reports whether nginx marks a User-Agent as Internet Explorer 6
// or older (keepalive_disable msie6), as ngx_http_process_user_agent
// does: MSIE with "4.", "5." or "6." after "MSIE ", where a 6 counts
// only without "SV1" (Windows XP SP2's) further on.
func MSIE6(ua string) bool {
	i := strings.Index(ua, "MSIE ")
	if i < 0 || i+7 >= len(ua) || ua[i+6] != '.' || strings.Contains(ua, "Opera") {
		return false
	}
	switch ua[i+5] {
	case '4', '5':
		return true
	case '6':
		return !strings.Contains(ua[i+8:], "SV1")
	}
	return false
}

// Chrome reports whether nginx marks a User-Agent as Chrome (for
// msie_padding), as ngx_http_process_user_agent does: "Chrome/", when it
// is not marked as Internet Explorer or Opera and says no "Gecko/" (Chrome
// says "like Gecko)", Firefox "Gecko/"). Chromium's offspring (Edge,
// Opera 15 and later, which says "OPR/") count as Chrome.
func Chrome(ua string) bool {
	if i := strings.Index(ua, "MSIE "); i >= 0 && i+7 < len(ua) || strings.Contains(ua, "Opera") {
		return false
	}
	return !strings.Contains(ua, "Gecko/") && strings.Contains(ua, "Chrome/")
}

// Safari reports whether nginx marks a User-Agent as Safari on macOS
// (keepalive_disable safari), as ngx_http_process_user_agent does:
// "Safari/" and "Mac OS X", when it is not marked as Internet Explorer
// (any "MSIE " with three bytes after it) or Opera, and says neither
// "Gecko/" nor "Chrome/" (Firefox, Chrome and the browsers built on them).
func Safari(ua string) bool {
	if i := strings.Index(ua, "MSIE "); i >= 0 && i+7 < len(ua) || strings.Contains(ua, "Opera") {
		return false
	}
	if strings.Contains(ua, "Gecko/") || strings.Contains(ua, "Chrome/") {
		return false
	}
	return strings.Contains(ua, "Safari/") && strings.Contains(ua, "Mac OS X")
}

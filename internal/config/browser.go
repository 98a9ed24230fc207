package config

import "strings"

// Browser is a level's browser module settings (ngx_http_browser_module),
// which $modern_browser and $ancient_browser read. As nginx merges them,
// the modern_browser directives are inherited together (Modern with
// Unlisted) from the nearest level that writes any, the ancient_browser
// directives together (Ancient with Netscape4), and each value on its own.
type Browser struct {
	// Modern are the "modern_browser browser version;" lines in the order
	// written; nil when the level has none.
	Modern []ModernBrowser
	// Unlisted is "modern_browser unlisted;": a browser that no Modern
	// entry names and no ancient_browser matches is modern (and so is a
	// request without a User-Agent).
	Unlisted bool
	// Ancient are ancient_browser's substrings, in the order written.
	Ancient []string
	// Netscape4 is ancient_browser's "netscape4" word: a User-Agent
	// starting "Mozilla/1." to "Mozilla/4." is ancient.
	Netscape4 bool
	// ModernValue is modern_browser_value ("1"), the value of
	// $modern_browser for a modern browser; AncientValue is
	// ancient_browser_value ("1"), $ancient_browser's for an ancient one.
	ModernValue, AncientValue string
}

// ModernBrowser is one "modern_browser browser version;".
type ModernBrowser struct {
	// Name is the browser, lower-cased: one of "opera", "msie", "gecko",
	// "safari", "konqueror".
	Name string
	// Version is the version as nginx computes it (BrowserVersion).
	Version uint64
}

// BrowserVersion is nginx's number for a modern_browser version of digits
// and dots (checkModernBrowser checked it): the parts from the left weigh
// 1000000, 10000, 100 and 1, so "X.X.X.X" compares up to 4000.99.99.99;
// parts past the fourth weigh nothing, a part over 99 carries into the
// one before, and "" is 0. The arithmetic wraps as nginx's 64-bit
// ngx_uint_t does.
func BrowserVersion(v string) uint64 {
	var version, ver uint64
	scale := uint64(1000000)
	for i := 0; i < len(v); i++ {
		if c := v[i]; c >= '0' && c <= '9' {
			ver = ver*10 + uint64(c-'0')
			continue
		}
		version += ver * scale
		ver = 0
		scale /= 100
	}
	return version + ver*scale
}

// browserRules read the browser module's directives.
func browserRules() []settingRule {
	return []settingRule{
		{names: []string{"modern_browser"}, apply: applyModernBrowser},
		{names: []string{"ancient_browser"}, apply: applyAncientBrowser},
		textRule("modern_browser_value", func(s *Settings) *string { return &s.Browser.ModernValue }),
		textRule("ancient_browser_value", func(s *Settings) *string { return &s.Browser.AncientValue }),
	}
}

// applyModernBrowser reads the modern_browser lines of the nearest level
// that has any, as nginx's ngx_http_modern_browser and its merge: such a
// level keeps neither the list nor "unlisted" of the levels above.
func applyModernBrowser(_ *builder, st *Settings, dirs []*Directive, _ *scope) error {
	for _, d := range dirs {
		if len(d.Args) == 1 { // "unlisted", as checkModernBrowser checked
			st.Browser.Unlisted = true
			continue
		}
		st.Browser.Modern = append(st.Browser.Modern, ModernBrowser{
			Name:    strings.ToLower(d.Args[0]),
			Version: BrowserVersion(d.Args[1]),
		})
	}
	return nil
}

// applyAncientBrowser reads the ancient_browser lines of the nearest level
// that has any, as nginx's ngx_http_ancient_browser and its merge: the
// exact word "netscape4" is the Netscape 4 test, anything else a
// substring.
func applyAncientBrowser(_ *builder, st *Settings, dirs []*Directive, _ *scope) error {
	for _, d := range dirs {
		for _, a := range d.Args {
			if a == "netscape4" {
				st.Browser.Netscape4 = true
				continue
			}
			st.Browser.Ancient = append(st.Browser.Ancient, a)
		}
	}
	return nil
}

package daemon

import (
	"fulcrum/internal/browser"
	"fulcrum/internal/config"
	"fulcrum/internal/vars"
)

// defineBrowserVariables makes $modern_browser, $ancient_browser and $msie
// known to comp. nginx defines them whatever the configuration and
// computes each at most once per request, when it is first read; so does
// fulcrum, and a request that reads none pays nothing. set may change
// them, as nginx's are changeable.
func (s *snapshot) defineBrowserVariables(comp *vars.Compiler) {
	comp.DefineCached("modern_browser", s.getModernBrowser)
	comp.DefineCached("ancient_browser", s.getAncientBrowser)
	comp.DefineCached("msie", getMSIE)
}

// compileBrowsers compiles the browser rules of every level that writes
// any modern_browser or ancient_browser (or inherits them).
func (s *snapshot) compileBrowsers() {
	s.browsers = map[*config.Settings]*browser.Rules{}
	_ = walkLevels(s.cfg.HTTP.Servers, func(set *config.Settings, _ *config.Location) error {
		b := &set.Browser
		if b.Modern != nil || b.Unlisted || b.Ancient != nil || b.Netscape4 {
			s.browsers[set] = browser.New(b)
		}
		return nil
	})
}

// browserOf returns the value the level gives a modern browser and an
// ancient one, and whether the request is a modern browser. A level
// without rules, or a request that no level serves (one refused before
// routing), has nginx's defaults: every browser ancient, values "1".
func (s *snapshot) browserOf(st *vars.State) (modernValue, ancientValue string, modern bool) {
	var rules browser.Rules // the zero Rules: every browser is ancient
	modernValue, ancientValue = "1", "1"
	if _, set := levelOf(st); set != nil {
		modernValue, ancientValue = set.Browser.ModernValue, set.Browser.AncientValue
		if r := s.browsers[set]; r != nil {
			rules = *r
		}
	}
	var ua string
	var present bool
	if st.Header != nil {
		ua, _, present = st.Header.Lookup("User-Agent", 0)
	}
	return modernValue, ancientValue, rules.Modern(ua, present)
}

// getModernBrowser is $modern_browser: modern_browser_value ("1") for a
// modern browser, empty otherwise.
func (s *snapshot) getModernBrowser(dst []byte, st *vars.State) ([]byte, bool) {
	if v, _, modern := s.browserOf(st); modern {
		dst = append(dst, v...)
	}
	return dst, true
}

// getAncientBrowser is $ancient_browser: ancient_browser_value ("1") for
// an ancient browser, empty otherwise.
func (s *snapshot) getAncientBrowser(dst []byte, st *vars.State) ([]byte, bool) {
	if _, v, modern := s.browserOf(st); !modern {
		dst = append(dst, v...)
	}
	return dst, true
}

// getMSIE is $msie: "1" when the first User-Agent field is what nginx
// marks as Internet Explorer (browser.MSIE), empty otherwise.
func getMSIE(dst []byte, st *vars.State) ([]byte, bool) {
	if st.Header == nil {
		return dst, true
	}
	if ua, _, ok := st.Header.Lookup("User-Agent", 0); ok && browser.MSIE(ua) {
		dst = append(dst, '1')
	}
	return dst, true
}

package router

import (
	"fmt"
	"slices"

	"fulcrum/internal/config"
)

// LocationMatch is the location chosen for a path.
type LocationMatch struct {
	// Location is the chosen location; nil when none matched (the caller answers
	// 404). When Redirect is set it is the location that asked for the redirect.
	Location *config.Location
	// Redirect, when not empty, is the path to send the client to with
	// 301 Moved Permanently instead of serving the request: nginx's automatic
	// redirect for a path that lacks the trailing "/" of a proxying location
	// (the caller appends "?" and the query when the request had one, and makes
	// the URL absolute as absolute_redirect does).
	Redirect string
	// Captures hold the last regex location that matched, for $1.. and named
	// captures; zero when the location was chosen without a regex.
	Captures Captures
	// Outer are the regex locations that matched before Captures, outermost
	// first, when the chosen regex location is nested in another regex
	// location: nginx matched them in turn, and their named captures keep
	// their values (recorded with nginx 1.22.1: "location ~ ^/x(?<n>\d+) {
	// location ~ y$ { return 200 $n; } }" answers "12" for /x12y). Nil
	// otherwise.
	Outer []Captures
	// Err, when not nil, is a regex location's match that hit the
	// backtracking engine's bound (it wraps pcre.ErrMatchLimit): nginx's
	// ngx_http_core_find_location fails and the request gets 500, with Err
	// logged at alert. Location is then not the answer.
	Err error
}

// outcome is ngx_http_core_find_location's return code.
type outcome int

const (
	declined outcome = iota // nothing at this level
	again                   // a prefix location matched; nested ones may refine it
	found                   // final: exact location or regex
	redirect                // final: automatic redirect to add a "/"
)

// locNode is one prefix, exact or regex location with its nested locations.
type locNode struct {
	loc *config.Location
	// noregex is "^~": when this is the longest prefix, skip the regexes of the
	// level it belongs to.
	noregex bool
	// sub holds the nested locations; nil when there are none.
	sub *level
}

// level is the set of locations at one nesting level (a server or a location),
// indexed so that a lookup does no allocation and iterates nothing in map order.
type level struct {
	exact  map[string]*locNode // "= /path" by path
	prefix map[string]*locNode // "/path" and "^~ /path" by path
	// lengths are the distinct lengths of the prefix paths, longest first: the
	// longest prefix of a path is found by trying path[:n] for each n.
	lengths []int
	// autoRedirect maps "/path" to the proxying location "/path/" (exact or
	// prefix) that redirects requests for "/path".
	autoRedirect map[string]*locNode
	regexes      []*locNode // "~" and "~*" in config order
	// exactLens, prefixLens and redirectLens are the lengths of exact's,
	// prefix's and autoRedirect's keys: a path of another length is not
	// looked up in them.
	exactLens, prefixLens, redirectLens lengthSet
	// root is prefix["/"] (nil when there is none): "location /" is in
	// most servers, and the longest prefix of most paths.
	root *locNode
}

// buildLevel indexes locs, which are the locations of one level in config order.
// named receives named locations; it is nil below the server level, where nginx
// forbids them.
func buildLevel(locs []*config.Location, named map[string]*config.Location) (*level, error) {
	lv := &level{}
	for _, loc := range locs {
		if err := lv.add(loc, named); err != nil {
			return nil, err
		}
	}
	for n := range lv.prefix {
		lv.lengths = append(lv.lengths, len(n))
	}
	slices.Sort(lv.lengths)
	slices.Reverse(lv.lengths)
	lv.lengths = slices.Compact(lv.lengths)
	lv.indexRedirects()
	lv.root = lv.prefix["/"]
	for p := range lv.exact {
		lv.exactLens.add(len(p))
	}
	for _, n := range lv.lengths {
		lv.prefixLens.add(n)
	}
	for p := range lv.autoRedirect {
		lv.redirectLens.add(len(p))
	}
	if lv.empty() {
		return nil, nil
	}
	return lv, nil
}

func (lv *level) empty() bool {
	return len(lv.exact) == 0 && len(lv.prefix) == 0 && len(lv.regexes) == 0
}

// add indexes one location and builds its nested level.
func (lv *level) add(loc *config.Location, named map[string]*config.Location) error {
	if loc.Modifier == config.ModNamed {
		return addNamed(loc, named)
	}
	sub, err := buildLevel(loc.Locations, nil)
	if err != nil {
		return err
	}
	node := &locNode{loc: loc, noregex: loc.Modifier == config.ModPrefixNoRegex, sub: sub}
	switch loc.Modifier {
	case config.ModExact:
		return addUnique(&lv.exact, loc, node)
	case config.ModPrefix, config.ModPrefixNoRegex:
		return addUnique(&lv.prefix, loc, node)
	case config.ModRegex, config.ModRegexCaseless:
		if loc.Regex == nil {
			return fmt.Errorf("regex location %q at %s has no compiled regex", loc.Path, loc.Pos)
		}
		lv.regexes = append(lv.regexes, node)
		return nil
	}
	return fmt.Errorf("location %q at %s has unknown modifier %d", loc.Path, loc.Pos, loc.Modifier)
}

func addNamed(loc *config.Location, named map[string]*config.Location) error {
	if named == nil {
		return fmt.Errorf("named location %q at %s can be on the server level only", loc.Path, loc.Pos)
	}
	// nginx checks no duplicates among named locations: its lookup
	// (ngx_http_core_find_named_location) takes the first of a name.
	if _, dup := named[loc.Path]; !dup {
		named[loc.Path] = loc
	}
	return nil
}

func addUnique(m *map[string]*locNode, loc *config.Location, node *locNode) error {
	if *m == nil {
		*m = make(map[string]*locNode)
	}
	if _, dup := (*m)[loc.Path]; dup {
		return fmt.Errorf("duplicate location %q at %s", loc.Path, loc.Pos)
	}
	(*m)[loc.Path] = node
	return nil
}

// indexRedirects finds the locations that redirect "/path" to "/path/": nginx sets
// auto_redirect on a location whose name ends in "/" when it passes requests
// on (proxy_pass, fastcgi_pass, scgi_pass, uwsgi_pass, grpc_pass,
// memcached_pass: each module's handler sets it), and an exact
// location wins over a prefix one with the same name.
func (lv *level) indexRedirects() {
	for _, m := range []map[string]*locNode{lv.prefix, lv.exact} {
		for p, n := range m {
			if len(p) < 2 || p[len(p)-1] != '/' || !proxies(n.loc) {
				continue
			}
			if lv.autoRedirect == nil {
				lv.autoRedirect = make(map[string]*locNode)
			}
			lv.autoRedirect[p[:len(p)-1]] = n // exact overwrites prefix
		}
	}
}

func proxies(loc *config.Location) bool {
	st := loc.Settings
	return st != nil && (st.ProxyPass != nil || st.Memcached.Pass != nil || st.FastCGI.Pass != nil ||
		st.SCGI.Pass != nil || st.UWSGI.Pass != nil || st.GRPCPass != nil)
}

// find is ngx_http_core_find_location: the static (exact and prefix) lookup at this
// level, then the nested locations of the prefix found, then this level's regexes
// unless the prefix was "^~". It records the choice in m.
func (lv *level) find(path string, m *LocationMatch) outcome {
	if lv == nil {
		return declined
	}
	rc, node := lv.findStatic(path)
	if node != nil {
		m.Location = node.loc
	}
	switch rc {
	case found:
		return found
	case redirect:
		m.Redirect = node.loc.Path
		return redirect
	}
	noregex := false
	if rc == again {
		noregex = node.noregex
		if rc = node.sub.find(path, m); rc == found || rc == redirect {
			return rc
		}
	}
	if !noregex && len(lv.regexes) > 0 && lv.matchRegex(path, m) {
		return found
	}
	return rc
}

// findStatic is ngx_http_core_find_static_location expressed over maps: an exact
// location equal to path wins; then a prefix location equal to path; then an
// automatic redirect for path+"/"; then the longest prefix location.
func (lv *level) findStatic(path string) (outcome, *locNode) {
	if lv.exactLens.has(len(path)) {
		if n := lv.exact[path]; n != nil {
			return found, n
		}
	}
	if lv.prefixLens.has(len(path)) {
		if n := lv.prefix[path]; n != nil {
			return again, n
		}
	}
	if lv.redirectLens.has(len(path)) {
		if n := lv.autoRedirect[path]; n != nil {
			return redirect, n
		}
	}
	for _, l := range lv.lengths {
		if l >= len(path) {
			continue
		}
		if l == 1 && path[0] == '/' {
			// The one key of length 1 a path starting with "/" can
			// have: no look-up.
			if lv.root != nil {
				return again, lv.root
			}
			continue
		}
		if n := lv.prefix[path[:l]]; n != nil {
			return again, n
		}
	}
	return declined, nil
}

// matchRegex tries this level's regex locations in config order. The first that
// matches is chosen, and its own nested locations may refine the choice; nginx
// ignores a redirect found in there.
func (lv *level) matchRegex(path string, m *LocationMatch) bool {
	for _, n := range lv.regexes {
		ok, err := n.loc.Regex.Match(path)
		if err != nil {
			m.Err = err
			return true
		}
		if !ok {
			continue
		}
		m.Location = n.loc
		if m.Captures.Matched() { // the regex location this one is nested in
			m.Outer = append(m.Outer, m.Captures)
		}
		m.Captures = Captures{Regexp: n.loc.Regex, Subject: path}
		n.sub.find(path, m)
		m.Redirect = ""
		return true
	}
	return false
}

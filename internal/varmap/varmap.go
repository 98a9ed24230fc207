// Package varmap is the matching shared by the http and stream sides of
// nginx's map and split_clients modules: a map block's keys (exact,
// wildcard, regex) tried in nginx's order, and split_clients' MurmurHash2
// percentages. The values are generic, so each side keeps its own
// templates: the http daemon's vars.Template, the stream module's own.
package varmap

import (
	"strings"

	"fulcrum/internal/config"
	"fulcrum/internal/pcre"
)

// Map is a map block's keys compiled, with values of type V. It is
// immutable once built and safe for concurrent use.
type Map[V any] struct {
	exact   map[string]V
	lead    []wildcard[V] // "*.example.org": suffix ".example.org", longest first
	trail   []wildcard[V] // "mail.*": prefix "mail.", longest first
	regexes []regexKey[V]
	def     V
	hasDef  bool
	// hostnames strips a trailing dot from the key, as nginx's map does
	// with the hostnames parameter ("example.com." finds "example.com").
	hostnames bool
}

type wildcard[V any] struct {
	affix string
	value V
}

type regexKey[V any] struct {
	re    *pcre.Regexp
	value V
}

// Match is what Find found: Value, and for a regex key the regex and the
// submatch indexes of the key (nil Regex for the other keys).
type Match[V any] struct {
	Value V
	Regex *pcre.Regexp
	Index []int
	// Err, when not nil, is a regex key's match that hit the backtracking
	// engine's bound (it wraps pcre.ErrMatchLimit): the search stopped
	// there with the default, as nginx's map does after logging
	// ngx_http_regex_exec's failure at alert; the caller logs Err.
	Err error
}

// NewMap compiles m's entries and default with value, which turns a value
// string into a V (such as a compiled template); its error is returned
// as is (value adds the position it wants).
func NewMap[V any](m *config.Map, value func(s string, pos config.Pos) (V, error)) (*Map[V], error) {
	cm := &Map[V]{exact: map[string]V{}, hostnames: m.Hostnames}
	if m.Default != "" {
		v, err := value(m.Default, m.Pos)
		if err != nil {
			return nil, err
		}
		cm.def, cm.hasDef = v, true
	}
	for _, e := range m.Entries {
		v, err := value(e.Value, e.Pos)
		if err != nil {
			return nil, err
		}
		switch e.Kind {
		case config.NameExact:
			if _, dup := cm.exact[e.Key]; !dup {
				cm.exact[e.Key] = v
			}
		case config.NameLeadWildcard:
			cm.lead = append(cm.lead, wildcard[V]{affix: strings.TrimPrefix(e.Key, "*"), value: v})
		case config.NameTrailWildcard:
			cm.trail = append(cm.trail, wildcard[V]{affix: strings.TrimSuffix(e.Key, "*"), value: v})
		case config.NameRegex:
			cm.regexes = append(cm.regexes, regexKey[V]{re: e.Regex, value: v})
		}
	}
	sortLongestFirst(cm.lead)
	sortLongestFirst(cm.trail)
	return cm, nil
}

// sortLongestFirst orders wildcards by affix length, longest first, keeping
// config order among equals.
func sortLongestFirst[V any](ws []wildcard[V]) {
	for i := 1; i < len(ws); i++ {
		for j := i; j > 0 && len(ws[j].affix) > len(ws[j-1].affix); j-- {
			ws[j], ws[j-1] = ws[j-1], ws[j]
		}
	}
}

// Find matches key as nginx's ngx_http_map_find and ngx_stream_map_find:
// an exact key (case-insensitive), then the longest lead wildcard, the
// longest trail wildcard, then the first regex in config order that
// matches (case as the regex says), else the default. ok is false when
// nothing matched and there is no default. A regex whose match hits its
// bound ends the search as though nothing matched, with Match.Err. A map
// with hostnames first drops one trailing dot from key, as
// ngx_http_map_variable does.
func (m *Map[V]) Find(key string) (Match[V], bool) {
	if m.hostnames && strings.HasSuffix(key, ".") {
		key = key[:len(key)-1]
	}
	lower := strings.ToLower(key)
	if v, ok := m.exact[lower]; ok {
		return Match[V]{Value: v}, true
	}
	for _, w := range m.lead {
		if strings.HasSuffix(lower, w.affix) {
			return Match[V]{Value: w.value}, true
		}
	}
	for _, w := range m.trail {
		if strings.HasPrefix(lower, w.affix) {
			return Match[V]{Value: w.value}, true
		}
	}
	for _, r := range m.regexes {
		idx, err := r.re.Submatch(key)
		if err != nil {
			return Match[V]{Value: m.def, Err: err}, m.hasDef
		}
		if idx != nil {
			return Match[V]{Value: r.value, Regex: r.re, Index: idx}, true
		}
	}
	if m.hasDef {
		return Match[V]{Value: m.def}, true
	}
	return Match[V]{}, false
}

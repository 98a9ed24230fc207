package daemon

import (
	"fmt"
	"strings"

	"fulcrum/internal/config"
	"fulcrum/internal/vars"
)

// compiledMap is a map block ready for requests: its source template, entries
// with compiled values, and the default.
type compiledMap struct {
	source  *vars.Template
	exact   map[string]*vars.Template
	lead    []mapWildcard // "*.example.org": suffix ".example.org", longest first
	trail   []mapWildcard // "mail.*": prefix "mail.", longest first
	regexes []mapRegex
	def     *vars.Template // nil: the variable is empty when nothing matches
}

type mapWildcard struct {
	affix string
	value *vars.Template
}

type mapRegex struct {
	entry config.MapEntry
	value *vars.Template
}

// defineBlockVariables makes the variables of every map, geo and
// split_clients block known to comp. The names are declared before any
// template is compiled, so the blocks may use one another's variables.
func defineBlockVariables(comp *vars.Compiler, h *config.HTTP) error {
	var compile []func() error
	for _, m := range h.Maps {
		cm := &compiledMap{exact: map[string]*vars.Template{}}
		// nginx evaluates a map once per request unless it is volatile.
		if m.Volatile {
			comp.Define(m.Variable, cm.get)
		} else {
			comp.DefineCached(m.Variable, cm.get)
		}
		compile = append(compile, func() error { return cm.compile(comp, m) })
	}
	for _, g := range h.Geos {
		cg := newGeoVar(g)
		comp.DefineCached(g.Variable, cg.get)
		compile = append(compile, func() error { return cg.compile(comp, g) })
	}
	for _, sc := range h.SplitClients {
		cs := newSplitVar(sc)
		comp.DefineCached(sc.Variable, cs.get)
		compile = append(compile, func() error { return cs.compile(comp, sc) })
	}
	for _, c := range compile {
		if err := c(); err != nil {
			return err
		}
	}
	return nil
}

func (cm *compiledMap) compile(comp *vars.Compiler, m *config.Map) error {
	var err error
	compile := func(s string, pos config.Pos) *vars.Template {
		if err != nil {
			return nil
		}
		t, e := comp.Compile(s)
		if e != nil {
			err = fmt.Errorf("%w in %s", e, pos)
		}
		return t
	}
	cm.source = compile(m.Source, m.Pos)
	if m.Default != "" {
		cm.def = compile(m.Default, m.Pos)
	}
	for _, e := range m.Entries {
		v := compile(e.Value, e.Pos)
		switch e.Kind {
		case config.NameExact:
			if _, dup := cm.exact[e.Key]; !dup {
				cm.exact[e.Key] = v
			}
		case config.NameLeadWildcard:
			cm.lead = append(cm.lead, mapWildcard{affix: strings.TrimPrefix(e.Key, "*"), value: v})
		case config.NameTrailWildcard:
			cm.trail = append(cm.trail, mapWildcard{affix: strings.TrimSuffix(e.Key, "*"), value: v})
		case config.NameRegex:
			cm.regexes = append(cm.regexes, mapRegex{entry: e, value: v})
		}
	}
	sortLongestFirst(cm.lead)
	sortLongestFirst(cm.trail)
	return err
}

func sortLongestFirst(ws []mapWildcard) {
	for i := 1; i < len(ws); i++ {
		for j := i; j > 0 && len(ws[j].affix) > len(ws[j-1].affix); j-- {
			ws[j], ws[j-1] = ws[j-1], ws[j]
		}
	}
}

// get is the map variable's getter: exact key, then the longest wildcards, then
// the first matching regex, else the default. A matching regex is the request's
// last match, as in nginx 1.22.1: the value and everything evaluated after it
// see its $1..$9 and named captures (a regex location's named captures keep
// their values; see vars.State.SetCaptures).
func (cm *compiledMap) get(dst []byte, st *vars.State) ([]byte, bool) {
	key := cm.source.String(st)
	lower := strings.ToLower(key)
	if v, ok := cm.exact[lower]; ok {
		return v.Append(dst, st), true
	}
	for _, w := range cm.lead {
		if strings.HasSuffix(lower, w.affix) {
			return w.value.Append(dst, st), true
		}
	}
	for _, w := range cm.trail {
		if strings.HasPrefix(lower, w.affix) {
			return w.value.Append(dst, st), true
		}
	}
	for _, r := range cm.regexes {
		if idx := r.entry.Regex.FindStringSubmatchIndex(key); idx != nil {
			st.SetCaptures(vars.Captures{Subject: key, Index: idx, Names: r.entry.Regex.SubexpNames()})
			return r.value.Append(dst, st), true
		}
	}
	if cm.def != nil {
		return cm.def.Append(dst, st), true
	}
	return dst, true
}

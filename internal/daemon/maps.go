package daemon

import (
	"fmt"
	"time"

	"fulcrum/internal/config"
	"fulcrum/internal/errlog"
	"fulcrum/internal/varmap"
	"fulcrum/internal/vars"
)

// compiledMap is a map block ready for requests: its source template and
// its keys (package varmap) with compiled values.
type compiledMap struct {
	source *vars.Template
	keys   *varmap.Map[*vars.Template]
	// name is the map's variable, without "$", for its error log line.
	name string
}

// defineBlockVariables makes the variables of the legacy GeoIP module and
// of every geoip2, map, geo and split_clients block known to comp (opening
// the legacy GeoIP and the geoip2 databases, whose reloads log to log). It
// compiles none of their templates: it returns the steps that do, for the
// caller to run once every name of the configuration is declared (sets
// included), so a block may use any variable declared anywhere, as nginx
// resolves them only after reading the whole configuration.
func defineBlockVariables(comp *vars.Compiler, h *config.HTTP, log *errlog.Logger, now func() time.Time) ([]func() error, error) {
	if err := defineGeoIP(comp, h); err != nil {
		return nil, err
	}
	compile, err := defineGeoIP2(comp, h, log, now)
	if err != nil {
		return nil, err
	}
	for _, m := range h.Maps {
		if err := comp.CheckChangeable(m.Variable); err != nil {
			return nil, fmt.Errorf("%w in %s", err, m.Pos)
		}
		cm := &compiledMap{name: m.Variable}
		// nginx evaluates a map once per request unless it is volatile.
		if m.Volatile {
			comp.DefineVolatile(m.Variable, cm.get)
		} else {
			comp.DefineCached(m.Variable, cm.get)
		}
		compile = append(compile, func() error { return cm.compile(comp, m) })
	}
	for _, g := range h.Geos {
		if err := comp.CheckChangeable(g.Variable); err != nil {
			return nil, fmt.Errorf("%w in %s", err, g.Pos)
		}
		cg := newGeoVar(g)
		if g.Volatile { // nginx 1.29.3: evaluated at every use
			comp.DefineVolatile(g.Variable, cg.get)
		} else {
			comp.DefineCached(g.Variable, cg.get)
		}
		compile = append(compile, func() error { return cg.compile(comp, g) })
	}
	for _, sc := range h.SplitClients {
		if err := comp.CheckChangeable(sc.Variable); err != nil {
			return nil, fmt.Errorf("%w in %s", err, sc.Pos)
		}
		cs := newSplitVar(sc)
		comp.DefineCached(sc.Variable, cs.get)
		compile = append(compile, func() error { return cs.compile(comp, sc) })
	}
	return compile, nil
}

func (cm *compiledMap) compile(comp *vars.Compiler, m *config.Map) error {
	value := func(s string, pos config.Pos) (*vars.Template, error) {
		t, err := comp.Compile(s)
		if err != nil {
			return nil, fmt.Errorf("%w in %s", err, pos)
		}
		return t, nil
	}
	var err error
	if cm.source, err = value(m.Source, m.Pos); err != nil {
		return err
	}
	cm.keys, err = varmap.NewMap(m, value)
	return err
}

// get is the map variable's getter: exact key, then the longest wildcards, then
// the first matching regex, else the default. A matching regex is the request's
// last match, as in nginx 1.22.1: the value and everything evaluated after it
// see its $1..$9 and named captures (a regex location's named captures keep
// their values; see vars.State.SetCaptures). A regex over its match bound
// gives the default, its line logged at alert, as nginx's map does.
func (cm *compiledMap) get(dst []byte, st *vars.State) ([]byte, bool) {
	key := cm.source.String(st)
	m, ok := cm.keys.Find(key)
	if m.Err != nil {
		st.LogVariableAlert(cm.name, m.Err.Error())
	}
	if !ok {
		return dst, true
	}
	if m.Regex != nil {
		st.SetCaptures(vars.Captures{Subject: key, Index: m.Index, Names: m.Regex.SubexpNames()})
	}
	return m.Value.Append(dst, st), true
}

package stream

import (
	"fmt"
	"net"
	"net/netip"
	"strings"

	"fulcrum/internal/config"
	"fulcrum/internal/errlog"
	"fulcrum/internal/geo"
	"fulcrum/internal/geoipdat"
	"fulcrum/internal/keyval"
	"fulcrum/internal/mmdb"
	"fulcrum/internal/pcre"
	"fulcrum/internal/varmap"
)

// varState is a session's variable values: the cache of the variables the
// configuration defines, and the captures of the last map regex matched.
// Only the session's own goroutine reads and writes it.
type varState struct {
	// vals are the cache slots, by the index the compiler gave; grown on
	// first use, so sessions of a configuration without variables of its
	// own allocate nothing.
	vals []slot
	// capSubject and capIndex are the last map regex's subject and
	// submatch indexes ($1..$9).
	capSubject string
	capIndex   []int
	// local is the address a proxy_bind with variables gave (nil: none).
	local *net.TCPAddr
}

// slot is one cached variable value of a session.
type slot struct {
	val []byte
	// set says val is the value (evaluated, or given by set or a named
	// capture); found is false for a value "not found".
	set, found bool
	// busy is set while the value is being evaluated: a variable whose
	// value needs itself is not found, rather than a endless recursion.
	busy bool
}

// at returns slot i of s, growing the cache as needed. The pointer is
// good until the next call (a nested evaluation may grow the cache).
func (v *varState) at(i int) *slot {
	if i >= len(v.vals) {
		v.vals = append(v.vals, make([]slot, i+1-len(v.vals))...)
	}
	return &v.vals[i]
}

// assign gives slot i the value val.
func (v *varState) assign(i int, val []byte, found bool) {
	sl := v.at(i)
	sl.val, sl.set, sl.found = append(sl.val[:0], val...), true, found
}

// slot hands out a new cache slot index.
func (c *compiler) slot() int {
	c.slots++
	return c.slots - 1
}

// cached makes the getter of a variable evaluated once per session, as
// nginx caches a variable that is not volatile: the first use evaluates
// it with eval, later uses (and values given by set) read the slot.
func cached(i int, eval getter) getter {
	return func(d []byte, s *session) ([]byte, bool) {
		sl := s.vars.at(i)
		if sl.set {
			return append(d, sl.val...), sl.found
		}
		if sl.busy {
			return d, false
		}
		sl.busy = true
		start := len(d)
		d, found := eval(d, s)
		s.vars.assign(i, d[start:], found)
		s.vars.at(i).busy = false
		return d, found
	}
}

// volatile makes the getter of a volatile map in a value with variables:
// evaluated at each use (nginx's ngx_stream_get_flushed_variable), the
// last value kept in the slot for the access log (see cached).
func volatile(i int, eval getter) getter {
	return func(d []byte, s *session) ([]byte, bool) {
		if s.vars.at(i).busy {
			return d, false
		}
		s.vars.at(i).busy = true
		start := len(d)
		d, found := eval(d, s)
		s.vars.assign(i, d[start:], found)
		s.vars.at(i).busy = false
		return d, found
	}
}

// assigned makes the getter of a variable only set (or a named capture)
// gives a value: before that it is empty (set's uninitialized variable,
// as nginx's ngx_stream_set_var) or, with notFound, not found (a named
// capture not matched).
func assigned(i int, notFound bool) getter {
	return func(d []byte, s *session) ([]byte, bool) {
		if sl := s.vars.at(i); sl.set {
			return append(d, sl.val...), sl.found
		}
		return d, !notFound
	}
}

// captureGetter is $1..$9: the last map regex's group n, empty when there
// is none.
func captureGetter(n int) getter {
	return func(d []byte, s *session) ([]byte, bool) {
		idx := s.vars.capIndex
		if 2*n+1 >= len(idx) || idx[2*n] < 0 {
			return d, true
		}
		return append(d, s.vars.capSubject[idx[2*n]:idx[2*n+1]]...), true
	}
}

// blockVars are the variables a stream block defines, declared in a
// compiler.
type blockVars struct {
	c *compiler
	// slotOf is each defined variable's cache slot, by lower-case name.
	slotOf map[string]int
	// later compiles the blocks' templates once every name is declared,
	// so blocks may use one another's variables.
	later []func() error
}

// defineVariables declares the variables of the legacy GeoIP module (over
// its opened databases, if any), of cfg's geoip2 blocks (over their opened
// files), map, geo and split_clients blocks and keyval directives (over zones, by name), its set directives and its map regexes' named
// captures in c, then compiles the blocks. A name that is a builtin
// variable is refused with nginx's message. It returns each defined
// variable's cache slot by lower-case name.
func defineVariables(c *compiler, cfg *config.Stream, zones map[string]*keyval.Zone, geoip2 []*mmdb.File, geoip *geoipdat.Databases) (map[string]int, error) {
	bv := &blockVars{c: c, slotOf: map[string]int{}}
	for _, srv := range cfg.Servers {
		for _, st := range srv.Sets {
			if err := bv.declareAssigned(st.Name, false, st.Pos); err != nil {
				return nil, err
			}
		}
	}
	if err := bv.defineGeoIP(cfg, geoip); err != nil {
		return nil, err
	}
	if err := bv.defineGeoIP2(cfg, geoip2); err != nil {
		return nil, err
	}
	for _, m := range cfg.Maps {
		if err := bv.defineMap(m); err != nil {
			return nil, err
		}
	}
	for _, g := range cfg.Geos {
		if err := bv.defineGeo(g); err != nil {
			return nil, err
		}
	}
	for _, sc := range cfg.SplitClients {
		if err := bv.defineSplit(sc); err != nil {
			return nil, err
		}
	}
	if err := bv.defineKeyvals(cfg, zones); err != nil {
		return nil, err
	}
	for _, f := range bv.later {
		if err := f(); err != nil {
			return nil, err
		}
	}
	return bv.slotOf, nil
}

// slotFor returns name's slot, refusing a builtin variable's name.
func (bv *blockVars) slotFor(name string, pos config.Pos) (int, error) {
	name = strings.ToLower(name)
	if _, builtin := fixedVariable(name); builtin {
		return 0, at(&varError{msg: fmt.Sprintf(`the duplicate "%s" variable`, name),
			hint: "a stream variable's value cannot be replaced: name another variable"}, pos)
	}
	if i, ok := bv.slotOf[name]; ok {
		return i, nil
	}
	i := bv.c.slot()
	bv.slotOf[name] = i
	return i, nil
}

// declareAssigned declares a variable set or a named capture gives, unless
// a block defines it.
func (bv *blockVars) declareAssigned(name string, notFound bool, pos config.Pos) error {
	i, err := bv.slotFor(name, pos)
	if err != nil {
		return err
	}
	if _, ok := bv.c.defined[strings.ToLower(name)]; !ok {
		bv.c.defined[strings.ToLower(name)] = assigned(i, notFound)
	}
	return nil
}

// define makes eval the getter of a block's variable, cached unless
// volatile; a later block of the same name replaces it, as in nginx. A
// log_format reads even a volatile one's value once evaluated, as nginx's
// log module does.
func (bv *blockVars) define(name string, vol bool, eval getter, pos config.Pos) error {
	i, err := bv.slotFor(name, pos)
	if err != nil {
		return err
	}
	name = strings.ToLower(name)
	delete(bv.c.logDefined, name)
	bv.c.defined[name] = cached(i, eval)
	if vol {
		bv.c.logDefined[name] = bv.c.defined[name]
		bv.c.defined[name] = volatile(i, eval)
	}
	return nil
}

// streamMap is a map block compiled.
type streamMap struct {
	source *template
	keys   *varmap.Map[*template]
	// captureSlots are the slots of the regexes' named captures, by name.
	captureSlots map[string]int
}

func (bv *blockVars) defineMap(m *config.Map) error {
	sm := &streamMap{captureSlots: map[string]int{}}
	for _, e := range m.Entries {
		if e.Regex == nil {
			continue
		}
		for _, name := range e.Regex.SubexpNames() {
			if name == "" {
				continue
			}
			if err := bv.declareAssigned(name, true, e.Pos); err != nil {
				return err
			}
			sm.captureSlots[name] = bv.slotOf[strings.ToLower(name)]
		}
	}
	if err := bv.define(m.Variable, m.Volatile, sm.get, m.Pos); err != nil {
		return err
	}
	bv.later = append(bv.later, func() error {
		value := func(s string, pos config.Pos) (*template, error) {
			t, err := bv.c.compile(s)
			if err != nil {
				return nil, at(err, pos)
			}
			return t, nil
		}
		var err error
		if sm.source, err = value(m.Source, m.Pos); err != nil {
			return err
		}
		sm.keys, err = varmap.NewMap(m, value)
		return err
	})
	return nil
}

// get evaluates the map for s, as ngx_stream_map_variable: a regex that
// matches is the session's last match ($1..$9 and its named captures);
// nothing matched and no default is an empty value. A regex over its
// match bound gives the default, its error logged at alert, as
// ngx_stream_map_find and ngx_stream_regex_exec do.
func (sm *streamMap) get(d []byte, s *session) ([]byte, bool) {
	key := string(sm.source.appendValue(nil, s))
	m, ok := sm.keys.Find(key)
	if m.Err != nil {
		s.log(errlog.Alert, m.Err.Error())
	}
	if !ok {
		return d, true
	}
	if m.Regex != nil {
		s.vars.capSubject, s.vars.capIndex = key, m.Index
		setNamedCaptures(s, m.Regex, key, m.Index, sm.captureSlots)
	}
	return m.Value.appendValue(d, s), true
}

// setNamedCaptures gives the named groups of re their values in s.
func setNamedCaptures(s *session, re *pcre.Regexp, key string, idx []int, slots map[string]int) {
	for g, name := range re.SubexpNames() {
		if name == "" || 2*g+1 >= len(idx) {
			continue
		}
		if idx[2*g] < 0 {
			s.vars.assign(slots[name], nil, true)
			continue
		}
		s.vars.assign(slots[name], []byte(key[idx[2*g]:idx[2*g+1]]), true)
	}
}

// streamGeo is a geo block compiled.
type streamGeo struct {
	source *template // nil: the client address
	table  *geo.Table
}

func (bv *blockVars) defineGeo(g *config.Geo) error {
	sg := &streamGeo{table: geo.Compile(g)}
	if err := bv.define(g.Variable, g.Volatile, sg.get, g.Pos); err != nil {
		return err
	}
	if g.Source != "" {
		bv.later = append(bv.later, func() error {
			t, err := bv.c.compile("$" + g.Source)
			if err != nil {
				return at(err, g.Pos)
			}
			sg.source = t
			return nil
		})
	}
	return nil
}

// get looks the address up, as ngx_stream_geo_cidr_variable and
// ngx_stream_geo_range_variable: the client's, or the source variable's
// value parsed as ngx_parse_addr does; a unix client or a value that is
// not an address is looked up as 255.255.255.255.
func (sg *streamGeo) get(d []byte, s *session) ([]byte, bool) {
	var addr netip.Addr
	if sg.source == nil {
		if s.remote.IsValid() {
			addr = s.remote.Addr().Unmap()
		}
	} else {
		start := len(d)
		d = sg.source.appendValue(d, s)
		a, ok := geo.ParseAddr(d[start:])
		d = d[:start]
		if ok {
			addr = a
		}
	}
	return append(d, sg.table.Lookup(addr)...), true
}

// streamSplit is a split_clients block compiled.
type streamSplit struct {
	source *template
	parts  []config.SplitPart
}

func (bv *blockVars) defineSplit(sc *config.SplitClients) error {
	ss := &streamSplit{parts: sc.Parts}
	if err := bv.define(sc.Variable, false, ss.get, sc.Pos); err != nil {
		return err
	}
	bv.later = append(bv.later, func() error {
		t, err := bv.c.compile(sc.Source)
		if err != nil {
			return at(err, sc.Pos)
		}
		ss.source = t
		return nil
	})
	return nil
}

// get hashes the source's value with MurmurHash2 and picks its part.
func (ss *streamSplit) get(d []byte, s *session) ([]byte, bool) {
	start := len(d)
	d = ss.source.appendValue(d, s)
	v := varmap.PickSplit(ss.parts, varmap.MurmurHash2(d[start:]))
	return append(d[:start], v...), true
}

// bindLocal evaluates a proxy_bind with variables, once per session
// before the first connect, as nginx's ngx_stream_proxy_set_local: an
// empty value binds nothing; one that is not an address is logged and
// binds nothing.
func (s *session) bindLocal() {
	if s.srv.bindValue == nil {
		return
	}
	v := string(s.srv.bindValue.appendValue(nil, s))
	if v == "" {
		return
	}
	ap, ok := config.ParseBindAddr(v)
	if !ok {
		s.log(errlog.Error, `invalid local address "`+v+`"`)
		return
	}
	s.vars.local = net.TCPAddrFromAddrPort(ap)
}

// local is the address upstream connections bind to; nil lets the system
// pick.
func (s *session) local() *net.TCPAddr {
	if s.srv.bindValue != nil {
		return s.vars.local
	}
	if s.srv.bind == nil {
		return nil
	}
	return s.srv.bind.(*net.TCPAddr)
}

// setStep is one set directive of a server compiled.
type setStep struct {
	slot  int
	value *template
}

// compileSets compiles a server's set directives.
func compileSets(c *compiler, slotOf map[string]int, sets []config.StreamSet) ([]setStep, error) {
	out := make([]setStep, 0, len(sets))
	for _, st := range sets {
		t, err := c.compile(st.Value)
		if err != nil {
			return nil, at(err, st.Pos)
		}
		out = append(out, setStep{slot: slotOf[strings.ToLower(st.Name)], value: t})
	}
	return out, nil
}

// runSets runs the server's set directives in order, as nginx's
// ngx_stream_set_module does in the preaccess phase (before limit_conn).
func (s *session) runSets() {
	for _, st := range s.srv.sets {
		v := st.value.appendValue(nil, s)
		s.vars.assign(st.slot, v, true)
	}
}

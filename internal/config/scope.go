package config

// scope is one level of nginx's inheritance chain, http -> server -> location ->
// nested location: the simple directives written at that level. Settings are built
// by asking, for each setting, which is the nearest level that writes it; that one
// mechanism gives nginx's rule for scalars (the nearest value wins) and for arrays
// (the nearest level that has any of them gives all of them).
type scope struct {
	parent *scope
	// ctx is the level's context: ctxHTTP, ctxServer, ctxLocation or
	// ctxNestedLocation.
	ctx ctxSet
	// dirs are the level's directives in config order (blocks such as types
	// included; own filters by name).
	dirs []*Directive
	// loc is the location of a location level; nil for http and server.
	loc *Location
}

// newScope returns the level for block, under parent.
func newScope(parent *scope, ctx ctxSet, block []*Directive) *scope {
	return &scope{parent: parent, ctx: ctx, dirs: block}
}

// own returns the directives of this level alone whose name is one of names, in
// config order.
func (s *scope) own(names ...string) []*Directive {
	var out []*Directive
	for _, d := range s.dirs {
		for _, n := range names {
			if d.Name == n {
				out = append(out, d)
				break
			}
		}
	}
	return out
}

// nearest returns the directives named one of names at the nearest level, this one
// or an ancestor, that has any of them, and that level. It returns nil, nil when no
// level has any.
func (s *scope) nearest(names ...string) ([]*Directive, *scope) {
	for l := s; l != nil; l = l.parent {
		if dirs := l.own(names...); len(dirs) > 0 {
			return dirs, l
		}
	}
	return nil, nil
}

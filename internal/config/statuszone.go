package config

import "slices"

// NGINX Plus's status_zone (ngx_http_api_module, ngx_stream_core_module):
// "Enables collection of virtual http or stream server status information
// in the specified zone. Several servers may share the same zone." In a
// location it collects the location's requests (/http/location_zones).
// The builder interns each name once per block, so that the daemon finds
// a request's zone by index, with no lookup by name per request.

// findLocationZone finds the status_zone of a location level: its own, or
// that of the nearest enclosing location (a nested location, an if or
// limit_except block inherits it, as nginx merges location settings). A
// server's status_zone names a server zone, never a location's.
func findLocationZone(s *scope, names ...string) ([]*Directive, *scope) {
	for l := s; l != nil && l.ctx&(ctxLoc|ctxIfs|ctxLimitExcept) != 0; l = l.parent {
		if dirs := l.own(names...); len(dirs) > 0 {
			return dirs, l
		}
	}
	return nil, nil
}

// applyLocationZone sets the location's zone and its index in
// HTTP.LocationZones.
func applyLocationZone(b *builder, st *Settings, dirs []*Directive, _ *scope) error {
	st.LocationZone = dirs[len(dirs)-1].Args[0]
	if h := b.cfg.HTTP; h != nil {
		st.LocationZoneID = internZone(&h.LocationZones, st.LocationZone)
	}
	return nil
}

// serverZone reads a server's own status_zone (the last one wins, as
// nginx's conf slot is set once: a repeat is refused by the table).
func (b *builder) serverZone(srv *Server, sc *scope) {
	dirs := sc.own("status_zone")
	if len(dirs) == 0 {
		return
	}
	srv.StatusZone = dirs[len(dirs)-1].Args[0]
	if h := b.cfg.HTTP; h != nil {
		srv.StatusZoneID = internZone(&h.ServerZones, srv.StatusZone)
	}
}

// internZone adds name to names unless it is there, and returns its index
// plus one (0 means no zone).
func internZone(names *[]string, name string) int {
	if i := slices.Index(*names, name); i >= 0 {
		return i + 1
	}
	*names = append(*names, name)
	return len(*names)
}

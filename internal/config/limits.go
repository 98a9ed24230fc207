package config

import (
	"strconv"
	"strings"
)

// LimitConnZone is a limit_conn_zone directive: requests are counted per value
// of Key (a string with variables, such as "$binary_remote_addr") under Name.
// nginx's zone size is accepted and ignored: fulcrum's zones grow as needed.
type LimitConnZone struct {
	Name string
	Key  string
	Pos  Pos
}

// LimitConn is one limit_conn directive: at most Number requests in progress
// per key of the zone named Zone.
type LimitConn struct {
	Zone   string
	Number int
	Pos    Pos
}

// limitConnZones reads "limit_conn_zone key zone=name:size" at the http level.
func (b *builder) limitConnZones(h *HTTP, http *scope) error {
	zones, err := parseLimitConnZones(http)
	h.LimitConnZones = append(h.LimitConnZones, zones...)
	return err
}

// parseLimitConnZones reads the limit_conn_zone directives of a level
// (http or stream).
func parseLimitConnZones(level *scope) ([]*LimitConnZone, error) {
	var out []*LimitConnZone
	keys := map[string]string{}
	for _, d := range level.own("limit_conn_zone") {
		if !strings.HasPrefix(d.Args[1], "zone=") {
			return nil, errorf(d.Pos, `invalid parameter "%s"`, d.Args[1])
		}
		name, _, err := parseZoneArg(d.Pos, d.Args[1])
		if err != nil {
			return nil, err
		}
		if name == "" {
			return nil, hintf(d.Pos, "add zone=name:size, such as zone=addr:10m", `"limit_conn_zone" must have "zone" parameter`)
		}
		if key, dup := keys[name]; dup {
			return nil, errorf(d.Pos, `limit_conn_zone "%s" is already bound to key "%s"`, name, key)
		}
		keys[name] = d.Args[0]
		out = append(out, &LimitConnZone{Name: name, Key: d.Args[0], Pos: d.Pos})
	}
	return out, nil
}

// applyLimitConn reads the limit_conn directives of the nearest level with any:
// nginx inherits the list as a whole, only when a level sets none.
func applyLimitConn(_ *builder, st *Settings, dirs []*Directive, _ *scope) error {
	list := make([]LimitConn, len(dirs))
	for i, d := range dirs {
		n, err := strconv.Atoi(d.Args[1])
		if err != nil || n <= 0 {
			return errorf(d.Pos, `invalid number of connections "%s"`, d.Args[1])
		}
		if n > 65535 {
			return errorf(d.Pos, "connection limit must be less 65536")
		}
		list[i] = LimitConn{Zone: d.Args[0], Number: n, Pos: d.Pos}
	}
	st.LimitConn = list
	return nil
}

// applyLimitConnStatus reads limit_conn_status: nginx takes 400 to 599.
func applyLimitConnStatus(_ *builder, st *Settings, dirs []*Directive, _ *scope) error {
	n, err := parseLimitStatus(dirs[0])
	st.LimitConnStatus = n
	return err
}

// applyLimitConnLogLevel reads limit_conn_log_level: info, notice, warn or error.
func applyLimitConnLogLevel(_ *builder, st *Settings, dirs []*Directive, _ *scope) error {
	l, err := parseLimitLogLevel(dirs[0])
	st.LimitConnLogLevel = l
	return err
}

// checkLimitConnZones refuses a limit_conn whose zone no limit_conn_zone
// defines, with nginx's message for it.
func checkLimitConnZones(h *HTTP) error {
	zones := make(map[string]bool, len(h.LimitConnZones))
	for _, z := range h.LimitConnZones {
		zones[z.Name] = true
	}
	return walkSettings(h, func(st *Settings) error {
		for _, lc := range st.LimitConn {
			if !zones[lc.Zone] {
				return hintf(lc.Pos, `define it at the http level: limit_conn_zone $binary_remote_addr zone=`+lc.Zone+`:10m;`, `zero size shared memory zone "%s"`, lc.Zone)
			}
		}
		return nil
	})
}

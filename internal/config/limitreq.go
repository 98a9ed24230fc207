package config

import (
	"math"
	"strconv"
	"strings"
)

// LimitReqZone is a limit_req_zone directive: the requests per value of Key (a
// string with variables, such as "$binary_remote_addr") are limited to Rate
// with nginx's leaky bucket, in a zone named Name of Size bytes.
type LimitReqZone struct {
	Name string
	Key  string
	// Size is the zone's size in bytes (at least 32k, as nginx's 8 pages). It
	// bounds how many keys the zone remembers: see the daemon's reqZone.
	Size int64
	// Rate is in thousandths of a request per second, as nginx keeps it (its
	// "1 corresponds to 0.001 r/s"): 10r/s is 10000, 30r/m is 500, 1r/m is 16.
	Rate int64
	Pos  Pos
}

// LimitReq is one limit_req directive. Burst and Delay are in thousandths of
// a request, as nginx keeps them: a request whose excess is over Burst is
// rejected, one whose excess is over Delay waits (excess-Delay)/rate.
type LimitReq struct {
	Zone  string
	Burst int64
	// Delay is delay=number times 1000; 0 (the default) delays every request
	// over the rate. NoDelay (nodelay) means no request is ever delayed.
	Delay   int64
	NoDelay bool
	Pos     Pos
}

// minZoneSize is nginx's smallest shared memory zone for limit_req: 8 pages
// of 4 KiB.
const minZoneSize = 8 * 4096

// limitReqZones reads "limit_req_zone key zone=name:size rate=rate" at the
// http level, with nginx 1.22's messages. The zones share their names with
// limit_conn_zone's, as nginx's shared memory zones do.
func (b *builder) limitReqZones(h *HTTP, http *scope) error {
	byName := map[string]*LimitReqZone{}
	for _, d := range http.own("limit_req_zone") {
		z, err := parseLimitReqZone(d)
		if err != nil {
			return err
		}
		if prev := byName[z.Name]; prev != nil {
			if prev.Size != z.Size {
				return errorf(d.Pos, `the size %d of shared memory zone "%s" conflicts with already declared size %d`, z.Size, z.Name, prev.Size)
			}
			return hintf(d.Pos, "give each limit_req_zone its own name", `limit_req_zone "%s" is already bound to key "%s"`, z.Name, prev.Key)
		}
		for _, cz := range h.LimitConnZones {
			if cz.Name == z.Name {
				return hintf(d.Pos, "limit_conn_zone "+cz.Pos.String()+" has that name; rename one", `the shared memory zone "%s" is already declared for a different use`, z.Name)
			}
		}
		byName[z.Name] = z
		h.LimitReqZones = append(h.LimitReqZones, z)
	}
	return nil
}

// parseLimitReqZone reads one limit_req_zone directive. nginx takes exactly
// three arguments; NGINX Plus's fourth, sync, is refused with a hint.
func parseLimitReqZone(d *Directive) (*LimitReqZone, error) {
	for _, a := range d.Args[1:] {
		if a == "sync" {
			return nil, hintf(d.Pos, "sync (sharing the zone between instances) is NGINX Plus only; remove it", `invalid parameter "sync"`)
		}
	}
	if len(d.Args) != 3 {
		return nil, hintf(d.Pos, "syntax: limit_req_zone key zone=name:size rate=rate;", `invalid number of arguments in "limit_req_zone" directive`)
	}
	z := &LimitReqZone{Key: d.Args[0], Rate: 1000, Pos: d.Pos}
	for _, a := range d.Args[1:] {
		var err error
		switch {
		case strings.HasPrefix(a, "zone="):
			err = z.parseZone(d.Pos, a)
		case strings.HasPrefix(a, "rate="):
			err = z.parseRate(d.Pos, a)
		default:
			err = errorf(d.Pos, `invalid parameter "%s"`, a)
		}
		if err != nil {
			return nil, err
		}
	}
	if z.Name == "" {
		return nil, hintf(d.Pos, "add zone=name:size, such as zone=one:10m", `"limit_req_zone" must have "zone" parameter`)
	}
	return z, nil
}

// parseZone reads "zone=name:size".
func (z *LimitReqZone) parseZone(pos Pos, a string) error {
	name, n, err := parseZoneArg(pos, a)
	if err != nil {
		return err
	}
	z.Name, z.Size = name, n
	return nil
}

// parseZoneArg reads a limit_req_zone or limit_conn_zone "zone=name:size"
// argument a, with nginx's checks and messages (the smallest zone is 32k).
func parseZoneArg(pos Pos, a string) (name string, size int64, err error) {
	name, sz, ok := strings.Cut(a[len("zone="):], ":")
	n, perr := parseSize(sz)
	if !ok || perr != nil || n <= 0 {
		return "", 0, hintf(pos, "write zone=name:size, such as zone=one:10m", `invalid zone size "%s"`, a)
	}
	if n < minZoneSize {
		return "", 0, hintf(pos, "the smallest zone is 32k", `zone "%s" is too small`, a)
	}
	return name, n, nil
}

// parseLimitLogLevel reads the level of limit_req_log_level or
// limit_conn_log_level (info, notice, warn or error).
func parseLimitLogLevel(d *Directive) (LogLevel, error) {
	switch l := d.Args[0]; l {
	case "info", "notice", "warn", "error":
		return logLevels[l], nil
	}
	return 0, hintf(d.Pos, d.Name+" takes info, notice, warn or error", `invalid value "%s"`, d.Args[0])
}

// parseRate reads "rate=Nr/s" or "rate=Nr/m" (a bare N is per second, as in
// nginx).
func (z *LimitReqZone) parseRate(pos Pos, a string) error {
	v, scale := a[len("rate="):], int64(1)
	if s, ok := strings.CutSuffix(v, "r/s"); ok {
		v = s
	} else if s, ok := strings.CutSuffix(v, "r/m"); ok {
		v, scale = s, 60
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n <= 0 || v[0] == '+' || n > math.MaxInt64/1000 {
		return hintf(pos, "write rate=Nr/s or rate=Nr/m with N at least 1, such as rate=10r/s", `invalid rate "%s"`, a)
	}
	z.Rate = n * 1000 / scale
	return nil
}

// applyLimitReq reads the limit_req directives of the nearest level with any:
// nginx inherits the list as a whole, only when a level sets none.
func applyLimitReq(_ *builder, st *Settings, dirs []*Directive, _ *scope) error {
	list := make([]LimitReq, 0, len(dirs))
	for _, d := range dirs {
		lr, err := parseLimitReq(d)
		if err != nil {
			return err
		}
		for _, prev := range list {
			if prev.Zone == lr.Zone {
				return hintf(d.Pos, "one limit_req per zone in a block", `"limit_req" directive is duplicate`)
			}
		}
		list = append(list, lr)
	}
	st.LimitReq = list
	return nil
}

// parseLimitReq reads "limit_req zone=name [burst=number] [nodelay | delay=number]".
func parseLimitReq(d *Directive) (LimitReq, error) {
	lr := LimitReq{Pos: d.Pos}
	hasDelay := false
	for _, a := range d.Args {
		switch {
		case strings.HasPrefix(a, "zone="):
			lr.Zone = a[len("zone="):]
		case strings.HasPrefix(a, "burst="):
			n, ok := positive(a[len("burst="):])
			if !ok {
				return lr, hintf(d.Pos, "burst is a number of requests, at least 1", `invalid burst value "%s"`, a)
			}
			lr.Burst = n * 1000
		case strings.HasPrefix(a, "delay="):
			n, ok := positive(a[len("delay="):])
			if !ok {
				return lr, hintf(d.Pos, "delay is a number of requests, at least 1", `invalid delay value "%s"`, a)
			}
			lr.Delay, hasDelay = n*1000, true
		case a == "nodelay":
			lr.NoDelay = true
		default:
			return lr, hintf(d.Pos, "limit_req takes zone=name, burst=number, and nodelay or delay=number", `invalid parameter "%s"`, a)
		}
	}
	if lr.Zone == "" {
		return lr, hintf(d.Pos, "add zone=name, naming a limit_req_zone", `"limit_req" must have "zone" parameter`)
	}
	if hasDelay && lr.NoDelay {
		// nginx takes the last of the two; fulcrum refuses the contradiction.
		return lr, hintf(d.Pos, "write either nodelay or delay=number", `"nodelay" and "delay" in one "limit_req" directive`)
	}
	return lr, nil
}

// positive parses a number as ngx_atoi does, refusing 0 and anything that
// would overflow once multiplied by 1000.
func positive(s string) (int64, bool) {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 || s[0] == '+' || n > math.MaxInt64/1000 {
		return 0, false
	}
	return n, true
}

// applyLimitReqStatus reads limit_req_status: nginx takes 400 to 599.
func applyLimitReqStatus(_ *builder, st *Settings, dirs []*Directive, _ *scope) error {
	n, err := parseLimitStatus(dirs[0])
	st.LimitReqStatus = n
	return err
}

// parseLimitStatus reads the code of limit_req_status or limit_conn_status:
// nginx takes 400 to 599.
func parseLimitStatus(d *Directive) (int, error) {
	n, err := strconv.Atoi(d.Args[0])
	if err != nil || n < 400 || n > 599 {
		return 0, hintf(d.Pos, "such as "+d.Name+" 429", `value must be between 400 and 599`)
	}
	return n, nil
}

// applyLimitReqLogLevel reads limit_req_log_level: info, notice, warn or error.
func applyLimitReqLogLevel(_ *builder, st *Settings, dirs []*Directive, _ *scope) error {
	l, err := parseLimitLogLevel(dirs[0])
	st.LimitReqLogLevel = l
	return err
}

// checkLimitReqZones refuses a limit_req whose zone no limit_req_zone
// defines, with nginx's message for it.
func checkLimitReqZones(h *HTTP) error {
	zones := make(map[string]bool, len(h.LimitReqZones))
	for _, z := range h.LimitReqZones {
		zones[z.Name] = true
	}
	return walkSettings(h, func(st *Settings) error {
		for _, lr := range st.LimitReq {
			if !zones[lr.Zone] {
				return hintf(lr.Pos, `define it at the http level: limit_req_zone key zone=`+lr.Zone+`:10m rate=10r/s;`, `zero size shared memory zone "%s"`, lr.Zone)
			}
		}
		return nil
	})
}

// walkSettings calls check with the Settings of every server and location,
// stopping at the first error.
func walkSettings(h *HTTP, check func(*Settings) error) error {
	var walk func([]*Location) error
	walk = func(locs []*Location) error {
		for _, l := range locs {
			if err := check(l.Settings); err != nil {
				return err
			}
			if err := walk(l.Locations); err != nil {
				return err
			}
		}
		return nil
	}
	for _, srv := range h.Servers {
		if err := check(srv.Settings); err != nil {
			return err
		}
		if err := walk(srv.Locations); err != nil {
			return err
		}
	}
	return nil
}

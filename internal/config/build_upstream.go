package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"sort"
	"strings"
	"time"
)

// explicitUpstreams builds every upstream block of the http level.
func (b *builder) explicitUpstreams(h *HTTP, http *scope) error {
	ups, err := b.upstreamBlocks(http, b.buildUpstream)
	if err != nil {
		return err
	}
	h.Upstreams = append(h.Upstreams, ups...)
	if err := checkZones(h); err != nil {
		return err
	}
	r, err := b.levelResolver(http)
	if err != nil {
		return err
	}
	return checkResolvedNames(h.Upstreams, r)
}

// upstreamBlocks builds the upstream blocks of one level (http or stream)
// with build, refusing a name used twice, and records them by name.
func (b *builder) upstreamBlocks(level *scope, build func(*Directive) (*Upstream, error)) ([]*Upstream, error) {
	var ups []*Upstream
	for _, d := range level.own("upstream") {
		key := strings.ToLower(d.Args[0])
		if prev := b.upstreams[key]; prev != nil {
			return nil, hintf(d.Pos, "upstream names must be unique (they are compared without case); first defined in "+prev.Pos.String(),
				`duplicate upstream "%s"`, d.Args[0])
		}
		u, err := build(d)
		if err != nil {
			return nil, err
		}
		b.upstreams[key] = u
		ups = append(ups, u)
	}
	return ups, nil
}

func newUpstream(name string, pos Pos) *Upstream {
	return &Upstream{
		Name:              name,
		Method:            MethodRoundRobin,
		KeepaliveTimeout:  defaultUpstreamKeepaliveTimeout,
		KeepaliveRequests: defaultUpstreamKeepaliveRequests,
		KeepaliveTime:     defaultUpstreamKeepaliveTime,
		Pos:               pos,
	}
}

// buildUpstream reads one "upstream name { ... }" block.
func (b *builder) buildUpstream(d *Directive) (*Upstream, error) {
	u := newUpstream(d.Args[0], d.Pos)
	var method, queue, ntlm, keepalive *Directive
	for _, line := range d.Block {
		var err error
		switch line.Name {
		case "server":
			err = serverLineChecked(u, line, b.upstreamServerLine)
		case "least_conn", "ip_hash", "hash", "random", "least_time":
			if method != nil {
				return nil, hintf(line.Pos, fmt.Sprintf(`an upstream has one balancing method; "%s" was set in %s`, method.Name, method.Pos),
					"load balancing method redefined")
			}
			if keepalive != nil {
				b.warnMethodAfterKeepalive(line, keepalive)
			}
			if queue != nil {
				return nil, hintf(line.Pos, fmt.Sprintf(`move "%s" above the "queue" directive in %s (NGINX Plus requires the balancing method before queue)`, line.Name, queue.Pos),
					`"%s" directive must come before "queue"`, line.Name)
			}
			if ntlm != nil {
				return nil, hintf(line.Pos, fmt.Sprintf(`move "%s" above the "ntlm" directive in %s (NGINX Plus requires the balancing method before ntlm)`, line.Name, ntlm.Pos),
					`"%s" directive must come before "ntlm"`, line.Name)
			}
			method, err = line, setMethod(u, line, leastTimeHTTP)
		case "queue":
			queue, err = line, setQueue(u, line)
		case "ntlm":
			ntlm, u.NTLM = line, true
		case "keepalive", "keepalive_timeout", "keepalive_requests", "keepalive_time":
			if line.Name == "keepalive" {
				keepalive = line
			}
			err = setUpstreamKeepalive(u, line)
		case "sticky":
			err = setSticky(u, line)
		case "zone":
			err = setZone(u, line)
		case "state":
			u.State = b.path(line.Args[0])
		case "resolver":
			u.Resolver, err = b.upstreamResolver(d, line)
		}
		if err != nil {
			return nil, err
		}
	}
	if u.State != "" {
		if err := b.readState(u, d, b.upstreamServerLine); err != nil {
			return nil, err
		}
	}
	if err := checkSlowStart(u, d.Block); err != nil {
		return nil, err
	}
	return u, checkUpstream(u, blockEnd(d))
}

// readState reads the servers of an upstream with a "state" file, as NGINX
// Plus does: the block itself must not have server lines, and a missing
// file is an upstream without servers (the runtime API adds them and
// writes the file). serverLine reads one server line of the file (http's
// or stream's parameters); the block's balancing method is known, so a
// slow_start the method cannot use is refused in the file too.
func (b *builder) readState(u *Upstream, d *Directive, serverLine func(*Upstream, *Directive) error) error {
	for _, line := range d.Block {
		if line.Name == "server" {
			return hintf(line.Pos, "an upstream with a state file takes its servers from the file; remove the server lines or the state directive",
				`"server" directive is not allowed here when "state" is specified`)
		}
	}
	data, err := os.ReadFile(u.State)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return errorf(d.Pos, `cannot read state file "%s": %v`, u.State, err)
	}
	tree, err := ParseBytes(u.State, data, ParseOptions{})
	if err != nil {
		return err
	}
	for _, line := range tree.Directives {
		if line.Name != "server" || len(line.Args) == 0 || line.IsBlock {
			return errorf(line.Pos, `unknown directive "%s" in state file`, line.Name)
		}
		if err := serverLineChecked(u, line, serverLine); err != nil {
			return err
		}
	}
	return checkSlowStart(u, tree.Directives)
}

// setZone reads "zone name [size]", checking the size as nginx does.
func setZone(u *Upstream, d *Directive) error {
	if len(d.Args) == 2 {
		n, err := parseSize(d.Args[1])
		if err != nil {
			return hintf(d.Pos, "use a size such as 64k or 1m", `invalid zone size "%s"`, d.Args[1])
		}
		if n < minZoneSize {
			return hintf(d.Pos, "a zone needs at least 32k (eight pages)", `zone "%s" is too small`, d.Args[0])
		}
		u.ZoneSize = n
	}
	u.Zone, u.ZonePos = d.Args[0], d.Pos
	return nil
}

// checkZones applies nginx's rules for shared memory zones to the upstreams'
// zone directives: upstreams may share a zone, but its size must be given
// by one of them and be the same wherever it is given, and its name must not
// be a limit_req_zone's or limit_conn_zone's.
func checkZones(h *HTTP) error {
	type decl struct {
		size int64
		pos  Pos
	}
	sized := map[string]decl{}
	var unsized []*Upstream
	for _, u := range h.Upstreams {
		if u.Zone == "" || u.Implicit {
			continue
		}
		if other, ok := limitZonePos(h, u.Zone); ok {
			// nginx complains where the second declaration is.
			at := u.ZonePos
			if other.File == at.File && other.Line > at.Line {
				at = other
			}
			return hintf(at, "a limit_req_zone or limit_conn_zone has that name; rename one",
				`the shared memory zone "%s" is already declared for a different use`, u.Zone)
		}
		if u.ZoneSize == 0 {
			unsized = append(unsized, u)
			continue
		}
		if prev, ok := sized[u.Zone]; ok && prev.size != u.ZoneSize {
			return errorf(u.ZonePos, `the size %d of shared memory zone "%s" conflicts with already declared size %d`, u.ZoneSize, u.Zone, prev.size)
		} else if !ok {
			sized[u.Zone] = decl{u.ZoneSize, u.ZonePos}
		}
	}
	if err := checkLearnZones(h); err != nil {
		return err
	}
	for _, u := range unsized {
		if _, ok := sized[u.Zone]; !ok {
			return hintf(u.ZonePos, fmt.Sprintf("give the zone a size here or in another upstream that shares it: zone %s 64k;", u.Zone),
				`zero size shared memory zone "%s"`, u.Zone)
		}
	}
	return nil
}

// checkLearnZones applies the same rules to the zones of sticky learn:
// upstreams may share one, with the same size, and its name is not an
// upstream zone's or a limit zone's.
func checkLearnZones(h *HTTP) error {
	upstreamZones := map[string]bool{}
	for _, u := range h.Upstreams {
		if u.Zone != "" && !u.Implicit {
			upstreamZones[u.Zone] = true
		}
	}
	sizes := map[string]int64{}
	for _, u := range h.Upstreams {
		st := u.Sticky
		if st == nil || st.Mode != StickyLearn {
			continue
		}
		if _, limit := limitZonePos(h, st.Zone); limit || upstreamZones[st.Zone] {
			return hintf(st.Pos, "another zone has that name; rename one",
				`the shared memory zone "%s" is already declared for a different use`, st.Zone)
		}
		if prev, ok := sizes[st.Zone]; ok && prev != st.ZoneSize {
			return errorf(st.Pos, `the size %d of shared memory zone "%s" conflicts with already declared size %d`, st.ZoneSize, st.Zone, prev)
		}
		sizes[st.Zone] = st.ZoneSize
	}
	return nil
}

// limitZonePos returns where a limit_req_zone or limit_conn_zone named name
// is declared.
func limitZonePos(h *HTTP, name string) (Pos, bool) {
	for _, z := range h.LimitReqZones {
		if z.Name == name {
			return z.Pos, true
		}
	}
	for _, z := range h.LimitConnZones {
		if z.Name == name {
			return z.Pos, true
		}
	}
	return Pos{}, false
}

// leastTimeHTTP and leastTimeStream are the times "least_time" takes in
// an http and a stream upstream.
var (
	leastTimeHTTP   = []string{"header", "last_byte"}
	leastTimeStream = []string{"connect", "first_byte", "last_byte"}
)

// setMethod applies a balancing method directive; times are the first
// arguments least_time accepts at this level.
func setMethod(u *Upstream, d *Directive, times []string) error {
	switch d.Name {
	case "least_time":
		return setLeastTime(u, d, times)
	case "least_conn":
		u.Method = MethodLeastConn
	case "ip_hash":
		u.Method = MethodIPHash
	case "hash":
		u.Method, u.HashKey = MethodHash, d.Args[0]
		if len(d.Args) == 2 {
			if d.Args[1] != "consistent" {
				return hintf(d.Pos, `the only parameter of hash is "consistent"`, `invalid parameter "%s"`, d.Args[1])
			}
			u.HashConsistent = true
		}
	case "random":
		return setRandom(u, d)
	}
	return nil
}

// setLeastTime reads "least_time TIME [inflight]" (NGINX Plus).
func setLeastTime(u *Upstream, d *Directive, times []string) error {
	u.Method = MethodLeastTime
	if !slices.Contains(times, d.Args[0]) {
		alts := strings.Join(times[:len(times)-1], ", ") + " or " + times[len(times)-1]
		return hintf(d.Pos, "use "+alts+", optionally followed by inflight", `invalid parameter "%s"`, d.Args[0])
	}
	u.LeastTime = d.Args[0]
	if len(d.Args) == 2 {
		if d.Args[1] != "inflight" {
			return hintf(d.Pos, `the only second parameter of least_time is "inflight"`, `invalid parameter "%s"`, d.Args[1])
		}
		u.LeastTimeInflight = true
	}
	return nil
}

// setQueue reads "queue number [timeout=time]" (NGINX Plus).
func setQueue(u *Upstream, d *Directive) error {
	n, err := parseInt(d.Args[0])
	if err != nil || n <= 0 {
		return hintf(d.Pos, "use the most requests that may wait, 1 or more", `invalid value "%s" in "queue" directive`, d.Args[0])
	}
	u.Queue, u.QueueTimeout = n, defaultQueueTimeout
	if len(d.Args) == 2 {
		v, ok := strings.CutPrefix(d.Args[1], "timeout=")
		t, err := parseTime(v, false)
		if !ok || err != nil || t <= 0 {
			return hintf(d.Pos, "use timeout= with a time such as 10s or 500ms", `invalid parameter "%s"`, d.Args[1])
		}
		u.QueueTimeout = t
	}
	return nil
}

// defaultQueueTimeout is queue's timeout without timeout= (NGINX Plus).
const defaultQueueTimeout = 60 * time.Second

// setRandom reads "random [two [least_conn]]".
func setRandom(u *Upstream, d *Directive) error {
	u.Method = MethodRandom
	if len(d.Args) == 0 {
		return nil
	}
	if d.Args[0] != "two" {
		return hintf(d.Pos, `use "random", "random two" or "random two least_conn"`, `invalid parameter "%s"`, d.Args[0])
	}
	u.RandomTwo = true
	if len(d.Args) == 2 && d.Args[1] != "least_conn" {
		return hintf(d.Pos, `the only method for "random two" is least_conn`, `invalid parameter "%s"`, d.Args[1])
	}
	return nil
}

// setUpstreamKeepalive reads keepalive and its kin; the validator checked the kinds.
func setUpstreamKeepalive(u *Upstream, d *Directive) error {
	var err error
	switch d.Name {
	case "keepalive":
		u.Keepalive, err = parseInt(d.Args[0])
		if err != nil || u.Keepalive == 0 {
			return hintf(d.Pos, "use the number of idle connections to keep, 1 or more", `invalid value "%s" in "%s" directive`, d.Args[0], d.Name)
		}
	case "keepalive_timeout":
		u.KeepaliveTimeout, err = parseTime(d.Args[0], false)
	case "keepalive_requests":
		u.KeepaliveRequests, err = parseInt(d.Args[0])
	case "keepalive_time":
		u.KeepaliveTime, err = parseTime(d.Args[0], false)
	}
	return err
}

// warnMethodAfterKeepalive warns as nginx does for a balancing method below
// "keepalive": nginx's keepalive wraps the method set before it, and a
// method set after it replaces that hook (nginx then keeps no upstream
// connections; fulcrum keeps them either way).
func (b *builder) warnMethodAfterKeepalive(line, keepalive *Directive) {
	b.warn(line.Pos, fmt.Sprintf(`move "%s" above "keepalive" of %s, as nginx requires`, line.Name, keepalive.Pos),
		"load balancing method redefined")
}

// serverLineChecked reads one server line with serverLine and refuses a
// backup server when the balancing method given so far cannot use one.
// As in nginx, which checks each server line against the method set before
// it, a backup server above an ip_hash, hash or random line is accepted:
// those methods reach the backups through their round-robin fallback, once
// the primary servers failed (recorded with nginx 1.22.1).
func serverLineChecked(u *Upstream, line *Directive, serverLine func(*Upstream, *Directive) error) error {
	n := len(u.Servers)
	if err := serverLine(u, line); err != nil {
		return err
	}
	if u.Method != MethodIPHash && u.Method != MethodHash && u.Method != MethodRandom {
		return nil
	}
	for _, s := range u.Servers[n:] {
		if s.Backup {
			return hintf(s.Pos, "ip_hash, hash and random cannot use backup servers; remove backup or the method",
				`balancing method does not support parameter "backup"`)
		}
	}
	return nil
}

// blockEnd is where nginx reports a check of d's whole block: the line of
// its "}", or d's own line for a block not read from a file.
func blockEnd(d *Directive) Pos {
	if d.End.Line == 0 {
		return d.Pos
	}
	return d.End
}

// checkUpstream applies nginx's checks on a whole block, which nginx reports
// at the block's end (end): at least one server that is not a backup. An
// upstream whose servers come from a state file or from DNS may have backups
// alone: the runtime API may leave a state file so, and a name's addresses
// come with its first answer.
func checkUpstream(u *Upstream, end Pos) error {
	if len(u.Servers) == 0 && (u.State != "" || len(u.Resolves) > 0) {
		return nil // the runtime API fills a state file; names resolve later
	}
	if len(u.Servers) == 0 {
		return hintf(end, "add a server line to the upstream block", "no servers are inside upstream")
	}
	primary := false
	for _, s := range u.Servers {
		primary = primary || !s.Backup
	}
	if !primary && u.State == "" && len(u.Resolves) == 0 {
		return hintf(u.Pos, "at least one server must not be a backup", `no servers in upstream "%s"`, u.Name)
	}
	return nil
}

// serverParams are the parameters of an upstream server line, for suggestions.
var serverParams = []string{"weight=", "max_fails=", "fail_timeout=", "max_conns=", "backup", "down", "slow_start=", "route=", "resolve"}

// upstreamServerLine reads "server address [parameters]" and appends one server per
// resolved address.
func (b *builder) upstreamServerLine(u *Upstream, d *Directive) error {
	return b.serverLine(u, d, nil, b.serverAddrs)
}

// serverLine reads a server line of an http or stream upstream block:
// refuse (nil: none) rejects the parameters the block does not take,
// resolve turns the address into one or more.
func (b *builder) serverLine(u *Upstream, d *Directive, refuse func(param string) error, resolve func(Pos, string) ([]netAddr, error)) error {
	base := UpstreamServer{Name: d.Args[0], Weight: 1, MaxFails: 1, FailTimeout: defaultFailTimeout, Pos: d.Pos}
	for _, p := range d.Args[1:] {
		if refuse != nil {
			if err := refuse(p); err != nil {
				return err
			}
		}
		if err := setServerParam(&base, d, p); err != nil {
			return err
		}
	}
	addrs, err := resolve(d.Pos, d.Args[0])
	if base.Resolve {
		// Resolved again at run time: a name that does not resolve now
		// is no error, its servers come when it does.
		n, nerr := resolvedName(d.Pos, d.Args[0], base)
		if nerr != nil {
			return nerr
		}
		u.Resolves = append(u.Resolves, n)
		if err != nil {
			addrs, err = nil, nil
		}
	}
	if err != nil {
		return err
	}
	for _, a := range addrs {
		s := base
		s.Network, s.Addr = a.network, a.addr
		u.Servers = append(u.Servers, &s)
	}
	return nil
}

// setServerParam applies one parameter of a server line.
func setServerParam(s *UpstreamServer, d *Directive, p string) error {
	key, val, hasVal := strings.Cut(p, "=")
	var err error
	switch {
	case key == "weight" && hasVal:
		s.Weight, err = parseInt(val)
		if s.Weight == 0 {
			err = errBadValue
		}
	case key == "max_fails" && hasVal:
		s.MaxFails, err = parseInt(val)
	case key == "fail_timeout" && hasVal:
		s.FailTimeout, err = parseTime(val, true)
	case key == "max_conns" && hasVal:
		s.MaxConns, err = parseInt(val)
	case key == "slow_start" && hasVal:
		s.SlowStart, err = parseTime(val, true)
	case key == "route" && hasVal:
		s.Route = val
		if val == "" || len(val) > maxRouteLen {
			err = errBadValue
		}
	case p == "backup":
		s.Backup = true
	case p == "down":
		s.Down = true
	case p == "resolve":
		s.Resolve = true
	default:
		return unknownServerParam(d, p)
	}
	if err != nil {
		return hintf(d.Pos, serverParamHint(key), `invalid parameter "%s"`, p)
	}
	return nil
}

func serverParamHint(key string) string {
	switch key {
	case "weight":
		return "weight is a whole number, 1 or more"
	case "fail_timeout":
		return "fail_timeout is a time such as 10s or 1m"
	case "slow_start":
		return "slow_start is a time such as 30s or 1m"
	case "route":
		return "route is 1 to 32 characters"
	}
	return key + " is a whole number, 0 or more"
}

// unknownServerParam is nginx's error for a parameter it does not know, with a
// suggestion for a typo ("wieght=2" -> "weight=2").
func unknownServerParam(d *Directive, p string) error {
	key, val, hasVal := strings.Cut(p, "=")
	var names []string
	for _, n := range serverParams {
		names = append(names, strings.TrimSuffix(n, "="))
	}
	hint := "a server takes weight=, max_fails=, fail_timeout=, max_conns=, slow_start=, route=, backup, down and resolve"
	if s := suggest(key, names, nil); s != "" {
		if hasVal {
			s += "=" + val
		}
		hint = fmt.Sprintf(`did you mean "%s"?`, s)
	}
	return hintf(d.Pos, hint, `invalid parameter "%s"`, p)
}

// netAddr is a resolved address: "tcp" and "ip:port", or "unix" and a path.
type netAddr struct {
	network, addr string
}

// serverAddrs resolves an upstream server's address (default port 80).
func (b *builder) serverAddrs(pos Pos, addr string) ([]netAddr, error) {
	return b.serverAddrsPort(pos, addr, 80)
}

// serverAddrsPort is serverAddrs with port for an address without one.
func (b *builder) serverAddrsPort(pos Pos, addr string, port int) ([]netAddr, error) {
	if path, ok := strings.CutPrefix(addr, "unix:"); ok {
		if path == "" {
			return nil, errorf(pos, `no path in upstream "%s"`, addr)
		}
		return []netAddr{{"unix", path}}, nil
	}
	hp, err := splitHostPort(addr, port)
	if err != nil {
		return nil, addrError(pos, addr, err)
	}
	ips, err := b.resolver.lookup(hp.host)
	if err != nil {
		return nil, hintf(pos, "check the name, or write an IP address", `host not found in upstream "%s"`, addr)
	}
	out := make([]netAddr, len(ips))
	for i, ip := range ips {
		out[i] = netAddr{"tcp", joinHostPort(ip, hp.port)}
	}
	return out, nil
}

// addrError is nginx's message for an address that splitHostPort refused.
func addrError(pos Pos, addr string, err error) error {
	switch err {
	case errBadPort:
		return hintf(pos, "a port is a number from 1 to 65535", `invalid port in upstream "%s"`, addr)
	case errNoHost:
		return errorf(pos, `no host in upstream "%s"`, addr)
	}
	return hintf(pos, `write host[:port], [IPv6]:port or unix:/path, without a scheme or a path`, `invalid host in upstream "%s"`, addr)
}

// upstreamNames lists the explicit upstreams' names, sorted, for hints.
func (b *builder) upstreamNames() []string {
	names := make([]string, 0, len(b.upstreams))
	for _, u := range b.upstreams {
		names = append(names, u.Name)
	}
	sort.Strings(names)
	return names
}

// warnNTLMClose warns about a proxy_pass to an upstream with ntlm from a
// location with "proxy_http_version 1.0": every upstream request then asks
// to close its connection, so nothing stays bound and NTLM authentication
// cannot complete. NGINX Plus's documentation says the version "should be
// set to 1.1" for ntlm; fulcrum's default is 1.1 already.
func (b *builder) warnNTLMClose(h *HTTP) {
	_ = walkSettings(h, func(set *Settings) error {
		p := set.ProxyPass
		if p != nil && p.Upstream != nil && p.Upstream.NTLM && set.ProxyHTTPVersion == "1.0" {
			b.warn(p.Pos, `remove "proxy_http_version 1.0" (fulcrum's default is 1.1) or write "proxy_http_version 1.1;"`,
				`"ntlm" in upstream "%s" needs keep-alive connections, but "proxy_http_version 1.0" closes each one after its request`, p.Upstream.Name)
		}
		return nil
	})
}

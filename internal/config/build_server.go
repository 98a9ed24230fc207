package config

import (
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
)

// servers builds every server block of the http level.
func (b *builder) servers(h *HTTP, http *scope) error {
	for _, d := range http.own("server") {
		s, err := b.buildServer(d, http)
		if err != nil {
			return err
		}
		h.Servers = append(h.Servers, s)
	}
	return nil
}

// buildServer reads one server block.
func (b *builder) buildServer(d *Directive, http *scope) (*Server, error) {
	srv := &Server{Pos: d.Pos}
	sc := newScope(http, ctxServer, d.Block)
	var err error
	if srv.Listens, err = b.listens(sc); err != nil {
		return nil, err
	}
	if srv.Names, err = serverNames(sc); err != nil {
		return nil, err
	}
	b.warnSuspiciousNames(sc)
	b.serverZone(srv, sc)
	if srv.Settings, err = b.settings(sc); err != nil {
		return nil, err
	}
	on, sslDir := sslOn(sc)
	srv.SSLOn = on
	if srv.TLS, err = b.buildTLS(sc, on || listensSSL(srv.Listens), httpTLS); err != nil {
		return nil, err
	}
	if on {
		if err := checkSSLOn(srv, sslDir); err != nil {
			return nil, err
		}
	}
	srv.Locations, err = b.locations(sc, nil)
	return srv, err
}

// listens reads the server's listen directives; none means *:80 (see docs: nginx
// uses *:8000 when it does not run as root).
func (b *builder) listens(sc *scope) ([]Listen, error) {
	var out []Listen
	seen := map[string]bool{}
	for _, d := range sc.own("listen") {
		ls, err := b.listen(d)
		if err != nil {
			return nil, err
		}
		for _, l := range ls {
			if seen[l.Addr] {
				return nil, hintf(d.Pos, "a server listens on an address once", "a duplicate listen %s", l.Addr)
			}
			seen[l.Addr] = true
			out = append(out, l)
		}
	}
	if len(out) == 0 {
		out = []Listen{{Network: "tcp", Addr: "0.0.0.0:80"}}
	}
	return out, nil
}

// listen reads "listen address [parameters]". A host name gives its first address,
// IPv4 first, as nginx 1.22 did.
func (b *builder) listen(d *Directive) ([]Listen, error) {
	addrs, err := listenPorts(d)
	if err != nil {
		return nil, err
	}
	out := make([]Listen, 0, len(addrs))
	for _, a := range addrs {
		l, err := b.listenAddrOf(d, a)
		if err != nil {
			return nil, err
		}
		l.IPv6Only = strings.HasPrefix(l.Addr, "[")
		for _, p := range d.Args[1:] {
			if err := b.listenParam(d, &l, p); err != nil {
				return nil, err
			}
		}
		out = append(out, l)
	}
	return out, nil
}

// listenPorts expands the address of a listen directive with a port range
// ("8082-8083", "127.0.0.1:8082-8083", "[::1]:8082-8083"), which the nginx
// 1.22.1 at hand (Debian's 1.22.1-9+deb12u12) takes, in http, stream and
// mail alike: one address for each port of the range, both ends included
// (recorded: "listen 127.0.0.1:18082-18083;" listens on both ports). A
// range whose ends are not ports is nginx's `invalid port in "..."`, one
// whose end is below its start `invalid port range in "..."`. Any other
// address is itself.
func listenPorts(d *Directive) ([]string, error) {
	a := d.Args[0]
	if strings.HasPrefix(a, "unix:") {
		return []string{a}, nil
	}
	host, ports := "", a
	if i := strings.LastIndexByte(a, ':'); i >= 0 && !strings.HasSuffix(a, "]") {
		host, ports = a[:i+1], a[i+1:]
	}
	lo, hi, ok := strings.Cut(ports, "-")
	if !ok || host == "" && !isDigits(lo) { // "my-host" is a host name
		return []string{a}, nil
	}
	first, err1 := strconv.Atoi(lo)
	last, err2 := strconv.Atoi(hi)
	if err1 != nil || err2 != nil || !isDigits(lo) || !isDigits(hi) || first < 1 || last > 65535 {
		return nil, hintf(d.Pos, "a port range is FIRST-LAST, from 1 to 65535", `invalid port in "%s" of the "listen" directive`, a)
	}
	if first > last {
		return nil, hintf(d.Pos, "write the lower port first", `invalid port range in "%s" of the "listen" directive`, a)
	}
	out := make([]string, 0, last-first+1)
	for p := first; p <= last; p++ {
		out = append(out, host+strconv.Itoa(p))
	}
	return out, nil
}

// listenAddrOf parses a, the address of listen directive d or one port of
// its range (listenPorts).
func (b *builder) listenAddrOf(d *Directive, a string) (Listen, error) {
	l := Listen{Network: "tcp", Pos: d.Pos}
	if path, ok := strings.CutPrefix(a, "unix:"); ok {
		if path == "" {
			return l, errorf(d.Pos, `no path in the "listen" directive`)
		}
		l.Network, l.Addr = "unix", path
		return l, nil
	}
	if port, err := strconv.Atoi(a); err == nil || isDigits(a) {
		if err != nil || port < 1 || port > 65535 {
			return l, hintf(d.Pos, "a port is a number from 1 to 65535", `invalid port in "%s" of the "listen" directive`, d.Args[0])
		}
		l.Addr = joinHostPort("0.0.0.0", port)
		return l, nil
	}
	// fulcrum extension: "ADDR:0" binds an ephemeral port (for tests and tools);
	// the daemon logs the address it bound.
	parse, ephemeral := a, false
	if host, ok := strings.CutSuffix(a, ":0"); ok && host != "" && !strings.HasSuffix(host, ":") {
		parse, ephemeral = host+":1", true
	}
	hp, err := splitHostPort(strings.Replace(parse, "*:", "0.0.0.0:", 1), 80)
	if ephemeral {
		hp.port = 0
	}
	switch {
	case err == errBadPort:
		return l, hintf(d.Pos, "a port is a number from 1 to 65535", `invalid port in "%s" of the "listen" directive`, d.Args[0])
	case err != nil:
		return l, hintf(d.Pos, "write address[:port], port, [IPv6]:port or unix:/path", `invalid host in "%s" of the "listen" directive`, d.Args[0])
	}
	ip, err := b.listenIP(hp.host)
	if err != nil {
		return l, hintf(d.Pos, "check the name, or write an IP address", `host not found in "%s" of the "listen" directive`, d.Args[0])
	}
	l.Addr = joinHostPort(ip, hp.port)
	return l, nil
}

// listenIP resolves a listen host to one address, preferring IPv4.
func (b *builder) listenIP(host string) (string, error) {
	if host == "*" {
		return "0.0.0.0", nil
	}
	ips, err := b.resolver.lookup(host)
	if err != nil {
		return "", err
	}
	for _, ip := range ips {
		if !strings.Contains(ip, ":") {
			return ip, nil
		}
	}
	return ips[0], nil
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// listenParams are the listen parameters fulcrum accepts but does not act on.
var ignoredListenParams = []string{"reuseport", "deferred", "bind", "backlog", "rcvbuf", "sndbuf", "accept_filter", "fastopen", "setfib", "so_keepalive", "multipath"}

// listenParam applies one listen parameter.
func (b *builder) listenParam(d *Directive, l *Listen, p string) error {
	key, val, hasVal := strings.Cut(p, "=")
	switch {
	case p == "default_server" || p == "default":
		l.DefaultServer = true
	case key == "ipv6only" && hasVal:
		l.Options = true
		return b.ipv6only(d, l, val)
	case p == "ssl":
		l.SSL = true
	case p == "quic":
		return hintf(d.Pos, noteQUIC, `fulcrum does not support "listen ... quic" yet`)
	case p == "proxy_protocol":
		l.ProxyProtocol = true
	case p == "http2":
		l.HTTP2 = true
	case slices.Contains(ignoredListenParams, key):
		l.Options = true
		return b.ignoredListenParam(d, key, val, hasVal)
	default:
		return unknownListenParam(d, p)
	}
	return nil
}

func (b *builder) ipv6only(d *Directive, l *Listen, val string) error {
	on, err := parseFlag(val)
	if err != nil {
		return errorf(d.Pos, `invalid ipv6only flags "%s"`, val)
	}
	if !strings.HasPrefix(l.Addr, "[") {
		b.warnDir(d, "", `ipv6only is not supported on addr "%s", ignored`, l.Addr)
		return nil
	}
	l.IPv6Only = on
	return nil
}

// ignoredListenParam checks the value of a socket option fulcrum leaves to the
// system, and warns that it is ignored.
func (b *builder) ignoredListenParam(d *Directive, key, val string, hasVal bool) error {
	bad := false
	switch key {
	case "backlog", "fastopen", "setfib":
		_, err := parseNumber(val)
		bad = !hasVal || err != nil
	case "rcvbuf", "sndbuf":
		_, err := parseSize(val)
		bad = !hasVal || err != nil
	}
	if bad {
		return errorf(d.Pos, `invalid %s "%s=%s"`, key, key, val)
	}
	b.warnDir(d, "fulcrum leaves this socket option to the system", `"listen ... %s" is ignored`, key)
	return nil
}

func unknownListenParam(d *Directive, p string) error {
	key, _, _ := strings.Cut(p, "=")
	names := append([]string{"default_server", "ipv6only", "ssl", "http2", "proxy_protocol"}, ignoredListenParams...)
	if s := suggest(key, names, nil); s != "" {
		return hintf(d.Pos, fmt.Sprintf(`did you mean "%s"?`, s), `invalid parameter "%s"`, p)
	}
	return errorf(d.Pos, `invalid parameter "%s"`, p)
}

// serverNames reads the server's server_name directives; none means the name "",
// as in nginx (it matches requests without a Host).
func serverNames(sc *scope) ([]ServerName, error) {
	dirs := sc.own("server_name")
	if len(dirs) == 0 {
		return []ServerName{{Kind: NameExact, Name: "", Pos: Pos{}}}, nil
	}
	var out []ServerName
	for _, d := range dirs {
		for _, a := range d.Args {
			names, err := serverName(d, a)
			if err != nil {
				return nil, err
			}
			out = append(out, names...)
		}
	}
	return out, nil
}

// warnSuspiciousNames warns, as nginx's server_name does, about a name
// (a regex too) with a "/": a Host never has one.
func (b *builder) warnSuspiciousNames(sc *scope) {
	for _, d := range sc.own("server_name") {
		for _, a := range d.Args {
			if strings.Contains(a, "/") {
				b.warnDir(d, "", `server name "%s" has suspicious symbols`, a)
			}
		}
	}
}

// serverName classifies one server_name argument. "$hostname" is the
// machine's name, lower-cased, as nginx reads it (gethostname at load).
func serverName(d *Directive, a string) ([]ServerName, error) {
	if a == "$hostname" {
		a = machineHostname()
	}
	if a == "." {
		return nil, errorf(d.Pos, `server name "%s" is invalid`, a)
	}
	if src, ok := strings.CutPrefix(a, "~"); ok {
		if src == "" {
			return nil, errorf(d.Pos, `empty regex in server name "%s"`, a)
		}
		re, err := compileRegex(d.Pos, src, true)
		if err != nil {
			return nil, err
		}
		return []ServerName{{Kind: NameRegex, Name: src, Regex: re, Pos: d.Pos}}, nil
	}
	name := strings.ToLower(a)
	if strings.HasPrefix(name, "*") && (len(name) < 3 || name[1] != '.') {
		return nil, hintf(d.Pos, `a wildcard is "*.example.org" or "mail.*"`, `server name "%s" is invalid`, a)
	}
	kinds, names := hostnameKinds(name) // checkServerNames refuses "www.*.example.org" where nginx does
	out := make([]ServerName, len(names))
	for i := range names {
		out[i] = ServerName{Kind: kinds[i], Name: names[i], Pos: d.Pos}
	}
	return out, nil
}

// machineHostname is the system's host name, lower-cased ("" when the
// system has none to give), as nginx's cycle->hostname.
func machineHostname() string {
	h, err := os.Hostname()
	if err != nil {
		return ""
	}
	return strings.ToLower(h)
}

// locations builds the location blocks inside level sc (a server or a location).
func (b *builder) locations(sc *scope, parent *Location) ([]*Location, error) {
	var out []*Location
	seen := map[string]*Location{}
	for _, d := range sc.own("location") {
		loc, err := b.buildLocation(d, sc, parent)
		if err != nil {
			return nil, err
		}
		if key, ok := locationKey(loc); ok {
			if seen[key] != nil {
				return nil, hintf(d.Pos, "first defined in "+seen[key].Pos.String(), `duplicate location "%s"`, loc.Path)
			}
			seen[key] = loc
		}
		out = append(out, loc)
	}
	return out, nil
}

// locationKey is what makes two locations of one level duplicates in nginx: the
// same path, both exact or both prefix (with or without ^~). Regex and named
// locations are not compared.
func locationKey(l *Location) (string, bool) {
	switch l.Modifier {
	case ModExact:
		return "=" + l.Path, true
	case ModPrefix, ModPrefixNoRegex:
		return "/" + l.Path, true
	}
	return "", false
}

// buildLocation reads one location block under level parentScope.
func (b *builder) buildLocation(d *Directive, parentScope *scope, parent *Location) (*Location, error) {
	loc, err := parseLocation(d)
	if err != nil {
		return nil, err
	}
	if err := checkNesting(d, loc, parent); err != nil {
		return nil, err
	}
	ctx := ctxLocation
	if parent != nil {
		ctx = ctxNestedLocation
	}
	sc := newScope(parentScope, ctx, d.Block)
	sc.loc = loc
	if loc.Settings, err = b.settings(sc); err != nil {
		return nil, err
	}
	if err := b.ifSettings(loc.Settings.Rewrites); err != nil {
		return nil, err
	}
	if loc.LimitExcept, err = b.limitExcept(sc); err != nil {
		return nil, err
	}
	for _, st := range loc.Settings.Rewrites {
		if st.Kind == StepIf && st.If.Location != nil {
			// an if block's location keeps the limit_except block, as in
			// nginx (checked against 1.22: a POST stays refused in the if)
			st.If.Location.LimitExcept = loc.LimitExcept
		}
	}
	loc.Locations, err = b.locations(sc, loc)
	return loc, err
}

// parseLocation reads "location [modifier] path", where the modifier may also be
// glued to the path ("=/x", "~*\.png$"), as nginx allows.
func parseLocation(d *Directive) (*Location, error) {
	loc := &Location{Pos: d.Pos}
	mod, path := "", d.Args[0]
	if len(d.Args) == 2 {
		mod, path = d.Args[0], d.Args[1]
		if !slices.Contains([]string{"=", "^~", "~", "~*"}, mod) {
			return nil, hintf(d.Pos, `the modifiers are =, ^~, ~ and ~*`, `invalid location modifier "%s"`, mod)
		}
	} else {
		mod, path = splitGluedModifier(path)
	}
	loc.Path = path
	switch mod {
	case "=":
		loc.Modifier = ModExact
	case "^~":
		loc.Modifier = ModPrefixNoRegex
	case "~", "~*":
		loc.Modifier = ModRegex
		if mod == "~*" {
			loc.Modifier = ModRegexCaseless
		}
		re, err := compileRegex(d.Pos, path, mod == "~*")
		if err != nil {
			return nil, err
		}
		loc.Regex = re
	default:
		if strings.HasPrefix(path, "@") {
			loc.Modifier = ModNamed
		}
	}
	return loc, nil
}

func splitGluedModifier(a string) (mod, path string) {
	for _, m := range []string{"^~", "~*", "=", "~"} {
		if rest, ok := strings.CutPrefix(a, m); ok {
			return m, rest
		}
	}
	return "", a
}

// checkNesting applies nginx's rules for a location inside another.
func checkNesting(d *Directive, loc, parent *Location) error {
	if parent == nil {
		return nil
	}
	switch {
	case parent.Modifier == ModExact:
		return errorf(d.Pos, `location "%s" cannot be inside the exact location "%s"`, loc.Path, parent.Path)
	case parent.Modifier == ModNamed:
		return errorf(d.Pos, `location "%s" cannot be inside the named location "%s"`, loc.Path, parent.Path)
	case loc.Modifier == ModNamed:
		return errorf(d.Pos, `named location "%s" can be on the server level only`, loc.Path)
	case loc.Regex == nil && !strings.HasPrefix(loc.Path, parent.Path):
		// a regex parent's path is its regex, as nginx compares it
		// (recorded: "location ~ ^/a { location /a/b {} }" is outside)
		return hintf(d.Pos, "a nested prefix location must start with its parent's path; in a regex location, nest regex locations",
			`location "%s" is outside location "%s"`, loc.Path, parent.Path)
	}
	return nil
}

// checkDefaultServers refuses, in config order as nginx's
// ngx_http_add_addresses, socket options given for one address by two listens
// and two default servers on one address.
func checkDefaultServers(servers []*Server) error {
	first, options := map[string]Pos{}, map[string]Pos{}
	for _, s := range servers {
		for _, l := range s.Listens {
			key := l.Network + " " + l.Addr
			if pos, dup := options[key]; dup && l.Options {
				return hintf(l.Pos, "give the socket options (backlog=, rcvbuf=, reuseport, ...) in one listen of the address; they are in "+pos.String(),
					"duplicate listen options for %s", l.Addr)
			} else if l.Options {
				options[key] = l.Pos
			}
			if !l.DefaultServer {
				continue
			}
			if pos, dup := first[key]; dup {
				return hintf(l.Pos, "the other one is in "+pos.String(), "a duplicate default server for %s", l.Addr)
			}
			first[key] = l.Pos
		}
	}
	return nil
}

// checkServerNames does what nginx's ngx_http_server_names does for each
// address whose names it hashes (one with more than one server, or whose
// default server's last regex name has captures): it refuses a name the
// hash refuses ("a..b", "www.*.example.org") and warns about a name given twice, by two servers
// or by one, which requests never reach through the later one. An address
// with a single server is not hashed, so nginx checks nothing there.
func (b *builder) checkServerNames(servers []*Server) error {
	for _, a := range addressServers(servers) {
		if len(a.servers) < 2 && !lastRegexCaptures(a.def) {
			continue
		}
		owner := map[string]*Server{}
		for _, s := range a.servers {
			for _, n := range s.Names {
				if n.Kind == NameRegex {
					continue
				}
				pos := n.Pos
				if pos.File == "" {
					pos = s.Pos
				}
				if hashRefuses(n.Name) {
					hint := "a name has no empty label"
					if strings.Contains(n.Name, "*") {
						hint = `a wildcard "*" may only start ("*.example.org") or end ("mail.*") a name; use a regex for the rest`
					}
					return hintf(pos, hint, `invalid server name or wildcard "%s" on %s`, n.Name, a.addr)
				}
				if o := owner[n.Name]; o != nil {
					b.warn(pos, "requests for it go to the server in "+o.Pos.String(), `conflicting server name "%s" on %s, ignored`, n.Name, a.addr)
					continue
				}
				owner[n.Name] = s
			}
		}
	}
	return nil
}

// hashRefuses reports whether nginx's ngx_hash_add_key refuses name as a
// server name (NGX_HASH_WILDCARD_KEY): a second "*", an empty label, a
// NUL, or a "*" that neither starts ("*.") nor ends (".*") it.
func hashRefuses(name string) bool {
	if strings.Count(name, "*") > 1 || strings.Contains(name, "..") || strings.IndexByte(name, 0) >= 0 {
		return true
	}
	if len(name) > 2 && (strings.HasPrefix(name, "*.") || strings.HasSuffix(name, ".*")) {
		return false
	}
	return strings.Contains(name, "*")
}

// listenAddress is one address the servers listen on: its servers in
// configuration order and its default server.
type listenAddress struct {
	addr    string
	servers []*Server
	def     *Server
}

// addressServers groups the servers by the address they listen on, in the
// order the addresses first appear.
func addressServers(servers []*Server) []*listenAddress {
	var out []*listenAddress
	byKey := map[string]*listenAddress{}
	for _, s := range servers {
		for _, l := range s.Listens {
			key := l.Network + " " + l.Addr
			a := byKey[key]
			if a == nil {
				a = &listenAddress{addr: l.Addr, def: s}
				byKey[key] = a
				out = append(out, a)
			}
			if len(a.servers) == 0 || a.servers[len(a.servers)-1] != s {
				a.servers = append(a.servers, s)
			}
			if l.DefaultServer {
				a.def = s
			}
		}
	}
	return out
}

// lastRegexCaptures reports whether the last regex server_name of s has
// captures: nginx keeps that one's count as the server's (cscf->captures).
func lastRegexCaptures(s *Server) bool {
	captures := false
	for _, n := range s.Names {
		if n.Kind == NameRegex {
			captures = n.Regex.NumSubexp() > 0
		}
	}
	return captures
}

// listensSSL reports whether one of ls has the ssl parameter.
func listensSSL(ls []Listen) bool {
	for _, l := range ls {
		if l.SSL {
			return true
		}
	}
	return false
}

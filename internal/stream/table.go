package stream

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"fulcrum/internal/balancer"
	"fulcrum/internal/clientauth"
	"fulcrum/internal/config"
	"fulcrum/internal/errlog"
	"fulcrum/internal/health"
	"fulcrum/internal/keyval"
	"fulcrum/internal/resolve"
	"fulcrum/internal/retire"
	"fulcrum/internal/sessioncache"
	"fulcrum/internal/statuszone"
	"fulcrum/internal/syslog"
	"fulcrum/internal/upstream"
)

// table is one configuration compiled: the server of each listen address.
// It is immutable once stored.
type table struct {
	servers map[string]*server // by "network address"
	keys    []string           // the keys of servers in config order
	pools   []*upstream.Pool
	// upstreams name the pools for the runtime API, in config order.
	upstreams []UpstreamStatus
	// zones are the limit_conn_zone zones by name.
	zones map[string]*connZone
	// sessions are the shared TLS session caches (ssl_session_cache
	// shared:NAME:SIZE with ssl_session_tickets off) by zone name; the
	// next table keeps a zone whose name and size are unchanged.
	sessions sessioncache.Zones
	// resolvers keep the upstream servers marked resolve in step with DNS
	// while the table is the current one (Apply starts and stops them).
	resolvers []*resolve.Watcher
	// groups are the upstream blocks (and implicit upstreams) a proxy_pass
	// with variables may name; targets its other destinations.
	groups  []*group
	targets *targets
	// health are the servers' health_check directives (Apply starts and
	// stops them with the table).
	health *health.Group
	// statusZones are the servers' status_zone names in config order, with
	// repeats (the runtime API lists them).
	statusZones []string
	// keyvals are the keyval_zone zones by name, keyvalZones the same in
	// configuration order; the next table keeps a zone whose name, size
	// and type are unchanged (buildKeyvals).
	keyvals     map[string]*keyval.Zone
	keyvalZones []KeyvalZone
	// files are the log files, error logs and syslog peers the table
	// holds (nil: none, or a configuration check); life counts its
	// sessions and gives them back after the last one, once the table
	// was replaced.
	files *files
	life  retire.Counter
	// main is the main error log in force when the table was made (nil
	// for no stream block), held (errlog.Logger.Hold) until release: the
	// servers without an error_log of their own log there, so that a
	// session that outlives a reload which changed the main error log
	// still logs to its configuration's, as nginx's old worker does.
	main *errlog.Logger
}

// release gives back what t holds (its files); it runs once, after t was
// replaced and its last session ended (life), or for a table that never
// went into force.
func (t *table) release() {
	if t.files != nil {
		t.files.release()
	}
	if t.main != nil {
		t.main.Release()
		t.main = nil
	}
}

// holdMain makes main the log of t's servers without an error_log of
// their own, held until t is released.
func (t *table) holdMain(main *errlog.Logger) {
	main.Hold()
	t.main = main
	for _, srv := range t.servers {
		if srv.errLog == nil {
			srv.errLog = main
		}
	}
}

// group is an upstream block compiled: its servers and balancing.
type group struct {
	cfg    *config.Upstream
	pool   *upstream.Pool
	policy balancer.Policy
	// hashKey is the key of "hash KEY"; nil for the other methods.
	hashKey *template
}

// name is the upstream's name as nginx logs it in place of a server
// when none is live: the block's name, or proxy_pass's address.
func (g *group) name() string {
	if g.cfg != nil {
		return g.cfg.Name
	}
	return g.pool.Name()
}

// server is a stream server block compiled.
type server struct {
	cfg    *config.StreamServer
	pool   *upstream.Pool
	policy balancer.Policy
	// hashKey is the key of "hash KEY"; nil for the other methods.
	hashKey *template
	// ret is the return directive's value: the server answers it and
	// ends the session instead of proxying; nil for proxy_pass.
	ret *template
	// pass is a proxy_pass with variables (nil for a literal one): each
	// session's value picks a group or an address (pass.go).
	pass *template
	// sets are the server's set directives, run before limit_conn.
	sets []setStep
	// tab is the table the server belongs to (for pass's groups); dns
	// looks up the names pass gives (nil without a resolver), answers
	// kept for dnsValid (the resolver's valid=), or for their TTL when it
	// is 0 (resolve.Keep).
	tab      *table
	dns      *resolve.Client
	dnsValid time.Duration
	logs     []*accessLog
	// limits are the server's limit_conn directives, with their zones.
	limits []connLimit
	// errLog is the server's own error_log, else its table's main one
	// (table.holdMain); nil for a table made to check a configuration.
	errLog *errlog.Logger
	// bind is proxy_bind's local address; nil means none. bindValue is
	// a proxy_bind with variables instead (nil without).
	bind      net.Addr
	bindValue *template
	// uploadRate and downloadRate are proxy_upload_rate and
	// proxy_download_rate with variables (nil: the configured size).
	uploadRate, downloadRate *template
	// listenPos is where each address is listened on, for bind errors.
	listenPos map[string]config.Pos
	// proxyProtocol are the listen keys with the proxy_protocol
	// parameter: their sessions start by reading the header.
	proxyProtocol map[string]bool
	// realIP are set_real_ip_from's networks (realIPUnix: "unix:"): a
	// connection from one takes its PROXY protocol header's source as its
	// client address (ngx_stream_realip_module).
	realIP     []netip.Prefix
	realIPUnix bool
	// ssl are the listen keys with the ssl parameter; tlsConfig
	// terminates their TLS (nil when the server has no certificate).
	ssl       map[string]bool
	tlsConfig *tls.Config
	// verifier checks client certificates (ssl_verify_client); nil
	// when it is off.
	verifier *clientauth.Verifier
	// upstream is the TLS client side of the server's upstream
	// connections (proxy_ssl); nil without proxy_ssl.
	upstream *upstreamTLS
	// zone is the server's status zone (status_zone); nil without one.
	zone *statuszone.Stream
	// mqttSets are mqtt_set_connect's fields and values, in config order.
	mqttSets []mqttSet
}

// accessLog is one access_log target compiled.
type accessLog struct {
	file *file
	// path is a path with variables (nil for a fixed one, which file
	// holds): each line opens the file its session names, appends and
	// closes it, as nginx's ngx_stream_log_script_write.
	path   *template
	format *template
	escape string
	cond   *template // if=; nil means always
	// peer is a syslog: target (file and path are then nil): each line
	// is one datagram, sent at once.
	peer *syslog.Peer
}

// compileTable compiles cfg. files opens the access and error logs; nil
// (a configuration test) opens nothing. old is the current table, whose
// limit_conn and session cache zones the new one takes over where they
// are unchanged (nil: none).
func compileTable(cfg *config.Stream, reg *upstream.Registry, fs *files, log *errlog.Logger, old *table) (*table, error) {
	t := &table{servers: map[string]*server{}, targets: newTargets(), sessions: sessioncache.Zones{}}
	var oldZones map[string]*connZone
	var oldSessions sessioncache.Zones
	if old != nil {
		oldZones, oldSessions = old.zones, old.sessions
	}
	if err := t.buildKeyvals(cfg, old); err != nil {
		return nil, err
	}
	geoip2, err := openGeoIP2(cfg, log)
	if err != nil {
		return nil, err
	}
	geoip, err := openGeoIP(cfg)
	if err != nil {
		return nil, err
	}
	c := newCompiler()
	slotOf, err := defineVariables(c, cfg, t.keyvals, geoip2, geoip)
	if err != nil {
		return nil, err
	}
	groups := map[*config.Upstream]*group{}
	ephemeral := 0
	for _, u := range cfg.Upstreams {
		build := reg.Pool
		if u.State != "" || len(u.Resolves) > 0 {
			build = reg.StatePool // may start empty: the API or DNS fills it
		}
		pool, err := build("stream "+u.Name, settingsOf(u))
		if err != nil {
			return nil, fmt.Errorf("upstream %q in %s: %w", u.Name, u.Pos, err)
		}
		g := &group{cfg: u, pool: pool, policy: policyOf(u, pool)}
		if u.Method == config.MethodHash {
			if g.hashKey, err = c.compile(u.HashKey); err != nil {
				return nil, at(err, u.Pos)
			}
		}
		groups[u] = g
		t.groups = append(t.groups, g)
		t.pools = append(t.pools, pool)
		t.upstreams = append(t.upstreams, UpstreamStatus{Name: u.Name, Zone: u.Zone, pool: pool})
		if w := resolverOf(u, pool, log); w != nil {
			t.resolvers = append(t.resolvers, w)
		}
	}
	t.zones = map[string]*connZone{}
	for _, z := range cfg.LimitConnZones {
		cz, err := newConnZone(c, z)
		if err != nil {
			return nil, err
		}
		if old := oldZones[z.Name]; old != nil && old.keySrc == z.Key {
			cz.counts = old.counts // the sessions counted there still count
		}
		t.zones[z.Name] = cz
	}
	for _, l := range cfg.AccessLogs {
		// Opened (created) as nginx opens every access_log it reads,
		// whether or not a server logs there.
		if _, err := compileAccessLog(c, l, fs); err != nil {
			return nil, err
		}
	}
	for _, sc := range cfg.Servers {
		srv, err := compileServer(c, sc, groups[sc.Upstream], fs, sessionZones{Cur: t.sessions, Old: oldSessions}, log)
		if err != nil {
			return nil, err
		}
		srv.tab = t
		if srv.sets, err = compileSets(c, slotOf, sc.Sets); err != nil {
			return nil, err
		}
		for _, lc := range sc.LimitConn {
			srv.limits = append(srv.limits, connLimit{zone: t.zones[lc.Zone], number: lc.Number})
		}
		for _, l := range sc.Listens {
			key := l.Network + " " + l.Addr
			if strings.HasSuffix(l.Addr, ":0") {
				// Each ephemeral listen is its own socket: number them
				// in config order so that reloads keep them apart.
				ephemeral++
				key += "#" + strconv.Itoa(ephemeral)
			}
			t.servers[key] = srv
			t.keys = append(t.keys, key)
			srv.listenPos[key] = l.Pos
			srv.ssl[key] = l.SSL
			srv.proxyProtocol[key] = l.ProxyProtocol
		}
	}
	t.buildHealth(cfg, groups, log)
	return t, nil
}

// settingsOf converts an upstream block's servers to the registry's form.
func settingsOf(u *config.Upstream) []upstream.Settings {
	out := make([]upstream.Settings, len(u.Servers))
	for i, s := range u.Servers {
		out[i] = serverSettings(s)
	}
	return out
}

// serverSettings converts one server of an upstream block.
func serverSettings(s *config.UpstreamServer) upstream.Settings {
	set := upstream.NewSettings(s.Network, s.Addr)
	set.Name = s.Name
	set.Weight, set.MaxFails, set.FailTimeout = s.Weight, s.MaxFails, s.FailTimeout
	set.MaxConns, set.Backup, set.Down = s.MaxConns, s.Backup, s.Down
	set.SlowStart = s.SlowStart
	return set
}

// resolverOf is the watcher of u's servers marked resolve (nil: none).
func resolverOf(u *config.Upstream, pool *upstream.Pool, log *errlog.Logger) *resolve.Watcher {
	if len(u.Resolves) == 0 || u.Resolver == nil {
		return nil
	}
	names := make([]resolve.Name, 0, len(u.Resolves))
	for _, n := range u.Resolves {
		names = append(names, resolve.Name{Pool: pool, Host: n.Host, Port: n.Port, Settings: serverSettings(&n.Server)})
	}
	r := u.Resolver
	return resolve.New(names, resolve.Options{Servers: r.Addrs, Interval: r.Valid, Timeout: r.Timeout, IPv4: r.IPv4, IPv6: r.IPv6, Log: log})
}

// compileServer compiles one server block; g is its literal proxy_pass's
// upstream (nil for return and a proxy_pass with variables); log takes
// its failed OCSP fetches (ssl_stapling).
func compileServer(c *compiler, sc *config.StreamServer, g *group, fs *files, sz sessionZones, log *errlog.Logger) (*server, error) {
	srv := &server{cfg: sc, listenPos: map[string]config.Pos{}, ssl: map[string]bool{}, proxyProtocol: map[string]bool{}}
	if err := srv.compileRealIP(); err != nil {
		return nil, at(err, sc.Pos)
	}
	if sc.TLS != nil && len(sc.TLS.Certificates) > 0 {
		srv.tlsConfig, srv.verifier = serverTLS(sc, sz)
		if path := sc.TLS.KeyLog; path != "" { // ssl_key_log
			f, err := fs.openKeyLog(path)
			if err != nil {
				return nil, fmt.Errorf("cannot open ssl_key_log file: %w in %s", err, sc.TLS.KeyLogPos)
			}
			srv.tlsConfig.KeyLogWriter = f
		}
		if sc.TLS.Dynamic() {
			d, err := compileDynCerts(c, sc.TLS)
			if err != nil {
				return nil, err
			}
			srv.tlsConfig.GetCertificate = d.getCertificate
		}
		staple(srv.tlsConfig, sc.TLS, func(msg string) {
			if log != nil {
				log.Log(errlog.Error, msg)
			}
		})
		recordSigalg(srv.tlsConfig)
	}
	var err error
	if sc.ProxySSL != nil && !sc.HasReturn {
		if srv.upstream, err = newUpstreamTLS(c, sc, fs); err != nil {
			return nil, err
		}
	}
	switch {
	case sc.HasReturn:
		if srv.ret, err = c.compile(sc.Return); err != nil {
			return nil, at(err, sc.Pos)
		}
	case sc.Pass != "":
		if srv.pass, err = c.compile(sc.Pass); err != nil {
			return nil, at(err, sc.Pos)
		}
		if r := sc.Resolver; r != nil {
			srv.dns = resolve.NewClient(r.Addrs, r.Timeout, r.IPv4, r.IPv6)
			srv.dnsValid = r.Valid
		}
	default:
		srv.pool, srv.policy, srv.hashKey = g.pool, g.policy, g.hashKey
	}
	switch {
	case strings.Contains(sc.Bind, "$"):
		if srv.bindValue, err = c.compile(sc.Bind); err != nil {
			return nil, at(err, sc.Pos)
		}
	case sc.Bind != "":
		srv.bind = &net.TCPAddr{IP: net.ParseIP(sc.Bind)}
	}
	if srv.uploadRate, err = compileSizeValue(c, sc.UploadRate); err != nil {
		return nil, err
	}
	if srv.downloadRate, err = compileSizeValue(c, sc.DownloadRate); err != nil {
		return nil, err
	}
	if srv.mqttSets, err = compileMQTTSets(c, sc); err != nil {
		return nil, err
	}
	for _, l := range sc.AccessLogs {
		al, err := compileAccessLog(c, l, fs)
		if err != nil {
			return nil, err
		}
		srv.logs = append(srv.logs, al)
	}
	if len(sc.ErrorLogs) > 0 && fs != nil {
		if srv.errLog, err = fs.errorLog(sc.ErrorLogs); err != nil {
			return nil, err
		}
	}
	return srv, nil
}

// policyOf returns the balancing method of u, whose servers are pool.
func policyOf(u *config.Upstream, pool *upstream.Pool) balancer.Policy {
	switch u.Method {
	case config.MethodLeastConn:
		return &balancer.LeastConn{}
	case config.MethodHash:
		if u.HashConsistent {
			return balancer.NewConsistentHash(pool)
		}
		return &balancer.Hash{}
	case config.MethodRandom:
		return &balancer.Random{Two: u.RandomTwo}
	case config.MethodLeastTime:
		m := upstream.MetricHeader // first_byte
		switch u.LeastTime {
		case "connect":
			m = upstream.MetricConnect
		case "last_byte":
			m = upstream.MetricLastByte
		}
		return &balancer.LeastTime{Metric: m, Inflight: u.LeastTimeInflight}
	}
	return &balancer.RoundRobin{}
}

// compileAccessLog compiles one access_log target.
func compileAccessLog(c *compiler, l config.AccessLog, fs *files) (*accessLog, error) {
	format, err := c.compileLog(l.Format.Template)
	if err != nil {
		return nil, at(err, l.Format.Pos)
	}
	al := &accessLog{format: format, escape: l.Format.Escape}
	if l.If != "" {
		if al.cond, err = c.compile(l.If); err != nil {
			return nil, at(err, l.Pos)
		}
	}
	if l.Syslog.Addr != "" {
		if fs != nil {
			if al.peer, err = fs.syslogPeer(l.Syslog); err != nil {
				return nil, at(err, l.Pos)
			}
		}
		return al, nil
	}
	if strings.Contains(l.Path, "$") {
		// nginx's ngx_stream_log_set_log: such a file is opened per line,
		// so it cannot be buffered (recorded with nginx 1.22.1).
		if l.Buffer != 0 {
			return nil, at(errors.New("buffered logs cannot have variables in name"), l.Pos)
		}
		if al.path, err = c.compile(l.Path); err != nil {
			return nil, at(err, l.Pos)
		}
		return al, nil
	}
	if fs != nil {
		if al.file, err = fs.open(l.Path); err != nil {
			return nil, fmt.Errorf("%w in %s", err, l.Pos)
		}
	}
	return al, nil
}

// startResolvers starts the table's resolvers.
func (t *table) startResolvers() {
	for _, w := range t.resolvers {
		w.Start()
	}
}

// stopResolvers stops them.
func (t *table) stopResolvers() {
	for _, w := range t.resolvers {
		w.Stop()
	}
}

// UpstreamStatus is one stream upstream block and its servers' state, for
// the runtime API and the metrics.
type UpstreamStatus struct {
	Name string
	// Zone is its zone directive's name ("" without one).
	Zone string
	// Servers are primaries then backups; Requests counts connections.
	Servers []upstream.ServerStatus
	pool    *upstream.Pool
}

// compileRealIP parses set_real_ip_from (config checked the values).
func (srv *server) compileRealIP() error {
	for _, v := range srv.cfg.SetRealIPFrom {
		if v == "unix:" {
			srv.realIPUnix = true
			continue
		}
		var p netip.Prefix
		var err error
		if strings.Contains(v, "/") {
			p, err = netip.ParsePrefix(v)
		} else {
			var a netip.Addr
			a, err = netip.ParseAddr(v)
			p = netip.PrefixFrom(a, a.BitLen())
		}
		if err != nil {
			return fmt.Errorf("set_real_ip_from %q: %w", v, err)
		}
		srv.realIP = append(srv.realIP, p.Masked())
	}
	return nil
}

// trustsRealIP reports whether set_real_ip_from lists the connection's
// client address (invalid: a unix socket's client).
func (srv *server) trustsRealIP(a netip.Addr) bool {
	if !a.IsValid() {
		return srv.realIPUnix
	}
	a = a.Unmap()
	for _, p := range srv.realIP {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// allowed applies the server's allow and deny rules to a client, as
// ngx_stream_access_module: the first rule that matches decides; none
// matching (or no rules) allows.
func (srv *server) allowed(remote net.Addr) bool {
	rules := srv.cfg.Access
	if len(rules) == 0 {
		return true
	}
	var ip netip.Addr
	unix := false
	switch a := remote.(type) {
	case *net.TCPAddr:
		ip, _ = netip.AddrFromSlice(a.IP)
	case *net.UDPAddr:
		ip, _ = netip.AddrFromSlice(a.IP)
	case *net.UnixAddr:
		unix = true
	}
	ip = ip.Unmap()
	for _, r := range rules {
		if r.All || (r.Unix && unix) || (!unix && ip.IsValid() && r.Prefix.IsValid() && r.Prefix.Contains(ip)) {
			return !r.Deny
		}
	}
	return true
}

// resolveStatusZones gives each server with a status_zone its zone from
// reg (nil: none is counted), before the table is stored.
func (t *table) resolveStatusZones(cfg *config.Stream, reg *statuszone.Registry) {
	for _, sc := range cfg.Servers {
		if sc.StatusZone != "" {
			t.statusZones = append(t.statusZones, sc.StatusZone)
		}
	}
	if reg == nil {
		return
	}
	for _, srv := range t.servers {
		if name := srv.cfg.StatusZone; name != "" {
			srv.zone = reg.Stream(name)
		}
	}
}

// compileSizeValue compiles a size directive's value with variables (nil
// for a size known at load).
func compileSizeValue(c *compiler, v config.SizeValue) (*template, error) {
	if v.Value == "" {
		return nil, nil
	}
	t, err := c.compile(v.Value)
	if err != nil {
		return nil, at(err, v.Pos)
	}
	return t, nil
}

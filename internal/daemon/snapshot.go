package daemon

import (
	"context"
	"fmt"
	"fulcrum/internal/bodyspool"
	"fulcrum/internal/cache"
	"fulcrum/internal/mail"
	"fulcrum/internal/pcre"
	"fulcrum/internal/resolve"
	"fulcrum/internal/retire"
	"fulcrum/internal/static"
	"fulcrum/internal/stream"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"fulcrum/internal/balancer"
	"fulcrum/internal/browser"
	"fulcrum/internal/config"
	"fulcrum/internal/errlog"
	"fulcrum/internal/health"
	"fulcrum/internal/htpasswd"
	"fulcrum/internal/imgfilter"
	"fulcrum/internal/oidc"
	"fulcrum/internal/proxy"
	"fulcrum/internal/referer"
	"fulcrum/internal/rewrite"
	"fulcrum/internal/router"
	"fulcrum/internal/sessioncache"
	"fulcrum/internal/statuszone"
	"fulcrum/internal/upstream"
	"fulcrum/internal/upstreamtls"
	"fulcrum/internal/userid"
	"fulcrum/internal/vars"
)

// Version is fulcrum's version, sent in the Server header with server_tokens on.
const Version = "0.1.0"

// snapshot is everything one configuration needs to serve requests. It is built
// whole before it is swapped in and never changes afterwards.
type snapshot struct {
	cfg    *config.Config
	router *router.Router
	binds  []bind
	byKey  map[string]*router.Listener
	// handlers are the locations' (and the server levels') handlers, with
	// what the snapshot knows of each level once built (locEntry).
	handlers map[*config.Location]*locEntry
	// limitHandlers serve the requests a location's limit_except block
	// restricts, with the block's settings (nginx's limit_except_loc_conf).
	limitHandlers map[*config.Location]handler
	// serverLocs are the server levels as locations: what serves a request
	// that matches no location, as nginx serves it with the server block's
	// own configuration (its return, root, index, try_files).
	serverLocs map[*config.Server]*config.Location
	pools      []*upstream.Pool
	// upstreams are the named upstream blocks and their pools in
	// configuration order, for the runtime API and the metrics.
	upstreams []namedPool
	// admin is the daemon's state for the api and metrics handlers; nil
	// in a snapshot built only to check a configuration.
	admin *adminState
	// health are the snapshot's active health checks (health_check),
	// started when it goes live and stopped when it is replaced; nil
	// without an http block.
	health *health.Group
	// resolvers keep the upstream servers marked resolve in step with DNS
	// while the snapshot is live.
	resolvers []*resolve.Watcher
	// cacheZones are the *_cache_path zones whose managers and loaders run
	// while the snapshot is live (none for a configuration test);
	// stopManagers ends them.
	cacheZones   []*cache.Zone
	stopManagers func()
	// log is the main context's error log; levelLogs are the error logs
	// of the levels (servers, locations) whose error_log lines differ from
	// it, by their Settings (see logAt).
	log       *errlog.Logger
	levelLogs map[*config.Settings]*errlog.Logger
	// dnsCaches are the answer caches of the resolver directives that the
	// passes with variables use, one per directive read (config.DNSResolver's
	// Read: an included line once per include, the levels that inherit one
	// sharing it; see resolverOf), filled while the snapshot is built.
	dnsCaches map[*config.Directive]*resolve.Cache
	access    *accessLogs
	adds      map[*config.Settings][]addHeader
	// bodySeq numbers the temporary files of the request bodies read for
	// mirrors and post actions, with the proxy's and FastCGI's (nil
	// numbers each body's file from 1).
	bodySeq *bodyspool.Sequence
	// trailers are the compiled add_trailer lists, for the levels with any.
	trailers map[*config.Settings][]addHeader
	// charsetVars are the compiled charset and source_charset variables, by
	// the Settings that have any.
	charsetVars map[*config.Settings]charsetVars
	// subFilters are the compiled sub_filter lists, by the Settings that
	// have one.
	subFilters map[*config.Settings]*subFilter
	// imageFilters are the compiled image_filter values, by the Settings
	// that filter.
	imageFilters map[*config.Settings]*imageFilter
	// imageLimiter bounds the image_filter transforms running at once.
	imageLimiter *imgfilter.Limiter
	// expiresValues are the compiled expires values with variables, by the
	// Settings that have one; nil when there is none.
	expiresValues map[*config.Settings]*vars.Template
	// sizeValues are the compiled limit_rate and limit_rate_after values
	// with variables, by the value; values without variables have no entry
	// and are never looked up.
	sizeValues map[*config.SizeValue]*vars.Template
	upgrades   *upgradeTracker // the daemon's, for connections taken over by an upgrade
	// conns are the daemon's connection counters (stub_status,
	// $connections_*); nil in a snapshot built only to check a
	// configuration.
	conns  *connStats
	realIP map[*config.Server]*realIPRule
	// locRealIP are the realip rules of the locations whose set_real_ip_from,
	// real_ip_header or real_ip_recursive differ from their server's; nil
	// when no location has such rules, so requests look nothing up.
	locRealIP map[*config.Location]*realIPRule
	// connZones are the limit_conn_zone zones by name. A reload starts them
	// empty: requests in progress on the old snapshot count in its zones.
	connZones map[string]*connZone
	// scripts are the compiled rewrite-module directives of the servers
	// and locations that have any (by their Settings); settables reports
	// that some set directive exists, so requests watch for reads of
	// uninitialized variables.
	scripts   map[*config.Settings]*rewrite.Script
	settables bool
	// docRoots are the levels' root or alias, for $document_root and
	// $request_filename.
	docRoots map[*config.Settings]*docRoot
	// reqZones are the limit_req_zone zones by name. A reload passes a
	// zone's table on when its name and size are unchanged (adoptReqZones).
	reqZones map[string]*reqZone
	// keyvals are the keyval_zone zones by name, keyvalOrder the same in
	// configuration order. A reload passes a zone's pairs on when its
	// name, size and type are unchanged (buildKeyvals).
	keyvals     map[string]*kvZone
	keyvalOrder []*kvZone
	// auths are the compiled auth_basic checks by the Settings (of a level
	// or a limit_except block) that have one; userFiles caches the user
	// files they read, for this snapshot's life.
	auths map[*config.Settings]*authBasic
	// secureLinks are the compiled secure_link checks and referers the
	// compiled valid_referers, by the Settings that have one; the
	// variables $secure_link and $invalid_referer look them up when a
	// request reads them.
	secureLinks map[*config.Settings]*secureLink
	referers    map[*config.Settings]*referer.Checker
	// browsers are the compiled modern_browser and ancient_browser rules
	// by the Settings that have any (written or inherited);
	// $modern_browser and $ancient_browser look them up when a request
	// reads them (browservars.go).
	browsers map[*config.Settings]*browser.Rules
	// jwts are the compiled auth_jwt checks, with their key sets, by the
	// Settings that have one.
	jwts map[*config.Settings]*authJWT
	// jwtKeys caches the key sets auth_jwt_key_request fetched
	// (auth_jwt_key_cache); a reload starts it empty.
	jwtKeys jwtKeyCache
	// oidcs are the oidc_provider blocks' providers by name (authoidc.go).
	oidcs map[string]*oidc.Provider
	// authReqs are the compiled auth_request checks by the Settings that
	// have one.
	authReqs  map[*config.Settings]*authRequest
	userFiles htpasswd.Cache
	// tls are the TLS settings of the ssl listen addresses; nil when there
	// is none.
	tls map[*router.Hosts]*tlsAddr
	// dynCerts are the servers' certificates named with variables, loaded
	// for each handshake (tlsvars.go).
	dynCerts []*dynCerts
	// sessions are the shared TLS session caches (ssl_session_cache
	// shared:NAME:SIZE with ssl_session_tickets off) by zone name; a reload
	// keeps a zone whose name and size are unchanged (deps.sessions).
	sessions sessioncache.Zones
	// h2c holds the plain addresses with the listen parameter http2: they
	// speak HTTP/2 with prior knowledge only, as nginx 1.22's (h2c.go).
	h2c map[*router.Hosts]bool
	// errorTargets are the error_page targets with variables, compiled.
	errorTargets map[string]*vars.Template
	// redirectTargets are the internal_redirect values with variables,
	// compiled, keyed by their text.
	redirectTargets map[string]*vars.Template
	// life releases the snapshot's access log files, and runs closers, when
	// it was replaced and its last request finished.
	life retire.Counter
	// closers release what the snapshot's handlers keep (fastcgi_keep_conn's
	// idle connections).
	closers []func()
	// keyLogs are the ssl_key_log files of the snapshot's servers (keylog.go).
	keyLogs keyLogs
	// kept are the upstream connection pools and gRPC clients the
	// snapshot's handlers use: a reload retires the others (Retain).
	kept proxy.Kept
	now  func() time.Time
	// vars is the snapshot's variable compiler, no longer changed once the
	// snapshot is built: the SSI commands look variables up by name with it.
	vars *vars.Compiler
	// uids issues the userid module's identifiers: the daemon's, whose
	// sequence goes on across reloads. uidReset reads $uid_reset.
	uids     *userid.Generator
	uidReset *vars.Template
	// serverZones and locationZones are the status zones of the servers
	// and locations, by config.Server.StatusZoneID and
	// config.Settings.LocationZoneID (index 0, no zone, is nil); empty in
	// a snapshot built only to check a configuration.
	serverZones, locationZones []*statuszone.HTTP
}

// bind is one socket the snapshot needs.
type bind struct {
	key, network, addr string
}

// handler answers the requests of one location. It returns an internal redirect
// (try_files fallback) for the daemon to follow, or nil when it answered.
// locEntry is a location's handler and what run and the recorder may skip
// for a request it serves, decided once when the snapshot is built.
type locEntry struct {
	h handler
	// plain reports that nothing runs before the handler for a request
	// that reaches the location directly with its own settings in force
	// (see plainLocation): run goes straight to h.
	plain bool
	// plainHead reports that no header filter applies at the location's
	// level (see plainHead): the recorder's WriteHeader skips them all.
	plainHead bool
}

// plainLocation reports whether a request that reaches loc directly (no
// error_page pending, the server's script let it through, loc's settings
// in force) runs nothing of nginx's phases between the find config phase
// and the content handler: loc is not internal, has no limit_except, no
// rewrite script, no realip rule, no limit_req or limit_conn, no access or
// auth check, no internal_redirect, no mirror, post_action or include
// filter (SSI, addition). Every check of run's general path for those then
// does nothing, so run skips them. A check added to run's general path must
// take the locations it applies to out of plain here too (and a case in
// TestPlainLevel), or plain locations will skip it.
func (s *snapshot) plainLocation(loc *config.Location) bool {
	set := loc.Settings
	return set != nil && !set.Internal && loc.LimitExcept == nil && len(set.Rewrites) == 0 &&
		s.locRealIP[loc] == nil && len(set.LimitReq) == 0 && len(set.LimitConn) == 0 &&
		set.Access == nil && set.AuthBasic == nil && set.AuthRequest == "" && set.AuthJWT == nil && set.AuthOIDC == "" &&
		set.InternalRedirect == "" && set.Mirrors == nil && set.PostAction == "" && !includes(set)
}

// plainHead reports whether a response at the level of set goes through
// none of the recorder's header filters (WriteHeader): no image_filter,
// expires, add_header, userid, add_trailer, gunzip, addition, sub_filter,
// charset, SSI or gzip, and neither chunked_transfer_encoding off nor
// limit_rate. A filter added to the recorder's headerFilters must take its
// levels out of plainHead here too (and a case in TestPlainLevel).
func plainHead(set *config.Settings) bool {
	return set != nil && set.ImageFilter.Op == config.ImageOff && set.Expires.Mode == config.ExpiresOff &&
		len(set.AddHeaders) == 0 && set.Userid.Mode < config.UseridV1 && set.AddTrailers == nil &&
		!set.Gzip.Gunzip && !wantsAddition(set) && set.SubFilter.Pairs == nil && set.Charset.Name == "" &&
		!set.SSI.On && !set.Gzip.On && !set.ChunkedOff && !set.LimitRate.Active()
}

// handlerOf returns loc's handler, nil for a location the snapshot has
// none for.
func (s *snapshot) handlerOf(loc *config.Location) handler {
	if e := s.handlers[loc]; e != nil {
		return e.h
	}
	return nil
}

type handler interface {
	serve(w http.ResponseWriter, r *http.Request, st *vars.State) *internalRedirect
}

// internalRedirect sends a request on to another URI or a named location of the
// same server, as nginx's internal redirects do.
type internalRedirect struct {
	uri, args string // a URI (and its new query) to route again
	argsFound bool   // $args is found even when args is empty (vars.State.ArgsFound)
	named     string // or a named location, "@name"
}

// build compiles cfg into a snapshot without touching the running one. It is
// also what `fulcrum -t` runs, so every error names the file and line.
func (d *Daemon) build(cfg *config.Config) (*snapshot, error) {
	s, err := buildSnapshot(cfg, snapshotDeps{reg: d.registry, ts: d.transports, logs: d.logs, up: d.upgrades, caches: d.caches, uids: d.uids, sessions: d.sessionZones(), keyvals: d.keyvalZones(), loginKeys: d.loginKeys}, d.opts.clock())
	if err != nil {
		return nil, err
	}
	s.conns = &d.conns
	s.admin = &d.admin
	s.resolveZones(&d.admin.zones)
	if err := s.adoptReqZones(d.current.Load()); err != nil {
		s.access.release()
		return nil, err
	}
	return s, nil
}

// Check builds everything a configuration needs to serve, without binding
// sockets or writing to files (it opens the logs, creating missing ones, as
// nginx -t does): `fulcrum -t` uses it after config.Load, so templates
// with unknown variables, routing conflicts and logs that cannot be opened
// fail the test too.
func Check(cfg *config.Config) error {
	if err := ensureLogDir(cfg); err != nil {
		return err
	}
	if err := ensureTempDirs(cfg); err != nil {
		return err
	}
	if err := stream.Check(cfg.Stream); err != nil {
		return err
	}
	if err := mail.Check(cfg.Mail); err != nil {
		return err
	}
	// Every error log opens (a missing one is created), as nginx -t opens
	// them; the snapshot below logs nowhere.
	probe := &logSet{}
	_, err := probe.update(cfg)
	probe.close()
	if err != nil {
		return err
	}
	logs := &logSet{}
	logs.access = newAccessFiles(logs.error)
	defer logs.access.Close()
	s, err := buildSnapshot(cfg, snapshotDeps{reg: upstream.NewRegistry(), ts: proxy.NewTransports(), logs: logs, up: newUpgradeTracker(), uids: userid.NewGenerator(time.Now(), os.Getpid())}, time.Now)
	if err == nil {
		s.access.release()
	}
	return err
}

// snapshotDeps are the daemon's parts that outlive a snapshot and that a
// snapshot is built with.
type snapshotDeps struct {
	reg  *upstream.Registry
	ts   *proxy.Transports
	logs *logSet
	up   *upgradeTracker
	// caches opens the proxy cache zones; nil for a configuration test,
	// whose zones touch no disk.
	caches *cache.Registry
	// uids issues the userid module's identifiers.
	uids *userid.Generator
	// sessions are the running snapshot's shared TLS session caches, which
	// the new one keeps when their zones are unchanged; nil at start and
	// for a configuration test.
	sessions sessioncache.Zones
	// keyvals are the running snapshot's keyval zones by name, which the
	// new one keeps when their name, size and type are unchanged; nil at
	// start and for a configuration test.
	keyvals map[string]*kvZone
	// loginKeys seal auth_oidc's login cookies, the same across reloads;
	// nil for a configuration test.
	loginKeys *oidc.LoginKeys
}

func buildSnapshot(cfg *config.Config, deps snapshotDeps, now func() time.Time) (*snapshot, error) {
	reg, ts, logs, up := deps.reg, deps.ts, deps.logs, deps.up
	s := &snapshot{cfg: cfg, handlers: map[*config.Location]*locEntry{}, limitHandlers: map[*config.Location]handler{}, serverLocs: map[*config.Server]*config.Location{}, byKey: map[string]*router.Listener{},
		log: logs.error(), now: now, uids: deps.uids}
	s.life.Release = func() {
		s.access.release()
		for _, c := range s.closers {
			c()
		}
	}
	s.upgrades = up
	if ts != nil {
		s.bodySeq = ts.BodySeq()
	}
	if cfg.HTTP == nil {
		return s, nil
	}
	r, err := router.New(cfg.HTTP.Servers)
	if err != nil {
		return nil, err
	}
	s.router = r
	_ = walkSettings(cfg.HTTP.Servers, func(set *config.Settings) error {
		if l := logs.level(set.ErrorLogs); l != s.log {
			if s.levelLogs == nil {
				s.levelLogs = map[*config.Settings]*errlog.Logger{}
			}
			s.levelLogs[set] = l
		}
		return nil
	})
	for _, l := range r.Listeners() {
		key := l.Network + " " + l.Addr
		s.binds = append(s.binds, bind{key: key, network: l.Network, addr: l.Addr})
		s.byKey[key] = l
	}
	s.keyLogs = keyLogs{}
	s.closers = append(s.closers, s.keyLogs.close)
	if err := s.keyLogs.attach(cfg.UpstreamKeyLogs); err != nil {
		return nil, err
	}
	if err := s.buildTLS(deps.sessions); err != nil {
		return nil, err
	}
	comp, err := newCompiler(cfg)
	if err != nil {
		return nil, err
	}
	s.vars = comp
	defineDateVariables(comp, now)
	s.defineUseridVariables(comp)
	s.defineBrowserVariables(comp) // before the sets, which may change them
	s.defineLinkVariables(comp)    // so may they these, as in nginx
	s.defineSliceVariables(comp)
	defineJWTVariables(comp, cfg.HTTP)
	defineOIDCVariables(comp)
	later, err := s.buildKeyvals(cfg, deps.keyvals, comp)
	if err != nil {
		return nil, err
	}
	s.buildOIDC(cfg, deps.loginKeys)
	blocks, err := defineBlockVariables(comp, cfg.HTTP, s.log, now)
	if err != nil {
		return nil, err
	}
	if s.settables, err = defineSettables(cfg, comp); err != nil {
		return nil, err
	}
	if err := defineAssigned(cfg, comp); err != nil {
		return nil, err
	}
	// Every name is declared now: the blocks' templates may use any of
	// them, wherever it is declared (nginx: `geo $later $x` before the
	// `set $later` is fine).
	for _, compile := range append(later, blocks...) {
		if err := compile(); err != nil {
			return nil, err
		}
	}
	pools, err := buildPools(cfg.HTTP, reg, comp, func(name string, size int64) *proxy.SessionZone {
		z := ts.Sessions(name, size)
		s.kept.AddSessions(z)
		return z
	})
	if err != nil {
		return nil, err
	}
	for _, p := range pools {
		s.pools = append(s.pools, p.pool)
	}
	s.upstreams = namedPools(cfg.HTTP, pools)
	s.buildHealthChecks(pools)
	s.buildResolvers(cfg.HTTP, pools)
	if err := s.compileRealIP(); err != nil {
		return nil, err
	}
	zones, err := cacheZones(cfg.HTTP, deps.caches, s.log)
	if err != nil {
		return nil, err
	}
	if deps.caches != nil {
		for _, p := range cfg.HTTP.CachePaths {
			s.cacheZones = append(s.cacheZones, zones[p])
		}
	}
	b := &handlerBuilder{snap: s, comp: comp, pools: pools, transports: ts, upgrades: up, zones: zones}
	for _, srv := range r.Servers() {
		b.srv = srv
		if err := b.locations(srv.Config.Locations); err != nil {
			return nil, err
		}
		level := &config.Location{Settings: srv.Config.Settings, Pos: srv.Config.Pos}
		h, err := b.handler(level)
		if err != nil {
			return nil, err
		}
		s.handlers[level], s.serverLocs[srv.Config] = &locEntry{h: h}, level
	}
	s.compileBrowsers()
	// The per-level parts that compile variables.
	for _, compile := range []func(*vars.Compiler) error{
		s.compileScripts, s.compileDocRoots, s.compileAddHeaders, s.compileCharsets,
		s.compileSubFilters, s.compileImageFilters, s.compileExpires, s.compileLimitRates, s.compileAuth,
		s.compileAuthRequests, s.compileAuthJWT, s.compileLinkChecks, s.compileUserid, s.compileErrorTargets,
		s.compileRedirectTargets, s.checkSetHeaders, s.compileCertificates,
	} {
		if err := compile(comp); err != nil {
			return nil, err
		}
	}
	if err := s.buildConnZones(cfg, comp); err != nil {
		return nil, err
	}
	if err := s.buildReqZones(cfg, comp); err != nil {
		return nil, err
	}
	if s.access, err = logs.accessFor(cfg, comp); err != nil {
		return nil, err
	}
	for loc, e := range s.handlers {
		e.plain, e.plainHead = s.plainLocation(loc), plainHead(loc.Settings)
	}
	return s, nil
}

// logAt returns the error log of the level whose settings are set (nginx's
// r->connection->log once ngx_http_update_location_config ran): the
// error_log lines of its location, else of its server, else of the http
// block, else the main context's. A nil set is the main context's. It is
// not inlined: its map lookup would grow the frames of the request path's
// functions that call it on their error branches (and with them every
// connection's stack; integration's TestClientStackStaysSmall).
//
//go:noinline
func (s *snapshot) logAt(set *config.Settings) *errlog.Logger {
	if len(s.levelLogs) != 0 { // most configurations log at one place
		if l := s.levelLogs[set]; l != nil {
			return l
		}
	}
	return s.log
}

// newCompiler returns the variable compiler of a snapshot, with every named
// capture of the configuration's regexes declared. A capture named as a
// built-in variable is nginx's error, `the duplicate "host" variable`, at
// the first such regex found.
func newCompiler(cfg *config.Config) (*vars.Compiler, error) {
	host, _ := os.Hostname()
	c := &vars.Compiler{Hostname: strings.ToLower(host), PID: os.Getpid()}
	var first error
	declare := func(re *pcre.Regexp, pos config.Pos) {
		if re == nil {
			return
		}
		for _, n := range re.SubexpNames() {
			if n == "" {
				continue
			}
			if err := c.CheckChangeable(n); err != nil && first == nil {
				first = fmt.Errorf("%w in %s", err, pos)
			}
			c.Declare(n)
		}
	}
	var walk func([]*config.Location)
	walk = func(locs []*config.Location) {
		for _, l := range locs {
			declare(l.Regex, l.Pos)
			if l.Settings != nil {
				for _, pr := range l.Settings.ProxyRedirects {
					declare(pr.Regex, l.Pos)
				}
				for _, r := range l.Settings.ProxyCookieDomains {
					declare(r.Regex, l.Pos)
				}
				for _, r := range l.Settings.ProxyCookiePaths {
					declare(r.Regex, l.Pos)
				}
				for _, r := range l.Settings.ProxyCookieFlags {
					declare(r.Regex, l.Pos)
				}
			}
			walk(l.Locations)
		}
	}
	for _, srv := range cfg.HTTP.Servers {
		for _, n := range srv.Names {
			declare(n.Regex, n.Pos)
		}
		walk(srv.Locations)
	}
	declareRewriteCaptures(cfg, declare)
	for _, m := range cfg.HTTP.Maps {
		for _, e := range m.Entries {
			declare(e.Regex, e.Pos)
		}
	}
	return c, first
}

// builtPool is an upstream block ready for requests.
type builtPool struct {
	cfg     *config.Upstream
	pool    *upstream.Pool
	policy  balancer.Policy
	hashKey *vars.Template
	sticky  *proxy.Sticky // nil without a sticky directive
	// memcachedIdle are the idle memcached connections of the upstream
	// block, shared by every location whose memcached_pass names it, as
	// nginx's keepalive cache is the upstream block's; made by the first
	// such location.
	memcachedIdle *upstream.IdleConns
	// cgiIdle are the block's idle FastCGI connections (fastcgi_keep_conn
	// on), shared likewise; see handlerBuilder.cgiIdle.
	cgiIdle *upstream.IdleConns
}

// serverSettings are the pool settings of an upstream server line's server.
func serverSettings(s *config.UpstreamServer) upstream.Settings {
	set := upstream.NewSettings(s.Network, s.Addr)
	set.Name = s.Name
	set.Weight, set.MaxFails, set.FailTimeout = s.Weight, s.MaxFails, s.FailTimeout
	set.MaxConns, set.Backup, set.Down = s.MaxConns, s.Backup, s.Down
	set.SlowStart, set.Route = s.SlowStart, s.Route
	return set
}

// buildResolvers makes a watcher per upstream with servers marked resolve:
// it keeps their addresses in step with DNS while the snapshot is live.
func (s *snapshot) buildResolvers(h *config.HTTP, pools map[*config.Upstream]*builtPool) {
	for _, u := range h.Upstreams {
		bp := pools[u]
		if len(u.Resolves) == 0 || bp == nil || u.Resolver == nil {
			continue
		}
		names := make([]resolve.Name, 0, len(u.Resolves))
		for _, n := range u.Resolves {
			names = append(names, resolve.Name{Pool: bp.pool, Host: n.Host, Port: n.Port, Settings: serverSettings(&n.Server)})
		}
		r := u.Resolver
		s.resolvers = append(s.resolvers, resolve.New(names, resolve.Options{Servers: r.Addrs, Interval: r.Valid,
			Timeout: r.Timeout, IPv4: r.IPv4, IPv6: r.IPv6, Log: s.log, Now: s.now}))
	}
}

// startBackground starts what a live snapshot runs besides requests: the
// active health checks, the resolvers and the cache zones' managers and
// loaders.
func (s *snapshot) startBackground() {
	s.health.Start()
	for _, r := range s.resolvers {
		r.Start()
	}
	s.startManagers()
}

// stopBackground stops what startBackground started.
func (s *snapshot) stopBackground() {
	s.health.Stop()
	for _, r := range s.resolvers {
		r.Stop()
	}
	if s.stopManagers != nil {
		s.stopManagers()
		s.stopManagers = nil
	}
}

// startManagers runs a goroutine per cache zone (cache.Zone.Run: its
// manager, and its loader while it is cold), as nginx's cache manager and
// loader processes run beside the workers. A reload stops them (waiting,
// so that two never manage one zone) before the new snapshot starts its
// own, for the zones it keeps; a zone it drops is no longer managed.
func (s *snapshot) startManagers() {
	if len(s.cacheZones) == 0 {
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for _, z := range s.cacheZones {
		wg.Add(1)
		go func() {
			defer wg.Done()
			z.Run(ctx)
		}()
	}
	s.stopManagers = func() {
		cancel()
		wg.Wait()
	}
}

// buildPools makes a pool per upstream block, keeping live server state from the
// registry; sessions gives sticky learn its zone.
func buildPools(h *config.HTTP, reg *upstream.Registry, comp *vars.Compiler, sessions func(name string, size int64) *proxy.SessionZone) (map[*config.Upstream]*builtPool, error) {
	out := map[*config.Upstream]*builtPool{}
	for _, u := range h.Upstreams {
		settings := make([]upstream.Settings, 0, len(u.Servers))
		for _, s := range u.Servers {
			settings = append(settings, serverSettings(s))
		}
		build := reg.Pool
		if u.State != "" || len(u.Resolves) > 0 {
			build = reg.StatePool // may start empty: the API or DNS fills it
		}
		pool, err := build(u.Name, settings)
		if err != nil {
			return nil, fmt.Errorf("upstream %q in %s: %w", u.Name, u.Pos, err)
		}
		if u.Method == config.MethodIPHash || u.Method == config.MethodHash || u.Method == config.MethodRandom {
			pool.NoBackup() // nginx allocates no backup tier for them
		}
		if u.Queue > 0 {
			pool.SetQueue(upstream.NewQueue(u.Queue, u.QueueTimeout))
		}
		bp := &builtPool{cfg: u, pool: pool}
		if bp.policy, err = policyFor(u, pool); err != nil {
			return nil, err
		}
		if u.Method == config.MethodHash {
			if bp.hashKey, err = comp.Compile(u.HashKey); err != nil {
				return nil, fmt.Errorf("%w in %s", err, u.Pos)
			}
		}
		var zone *proxy.SessionZone
		if u.Sticky != nil && u.Sticky.Mode == config.StickyLearn {
			zone = sessions(u.Sticky.Zone, u.Sticky.ZoneSize)
		}
		if bp.sticky, err = proxy.NewSticky(u.Sticky, pool, comp, zone); err != nil {
			return nil, err
		}
		out[u] = bp
	}
	return out, nil
}

// policyFor returns the balancing policy of an upstream block.
func policyFor(u *config.Upstream, pool *upstream.Pool) (balancer.Policy, error) {
	switch u.Method {
	case config.MethodLeastConn:
		return &balancer.LeastConn{}, nil
	case config.MethodIPHash:
		return &balancer.IPHash{}, nil
	case config.MethodHash:
		if u.HashConsistent {
			return balancer.NewConsistentHash(pool), nil
		}
		return &balancer.Hash{}, nil
	case config.MethodRandom:
		return &balancer.Random{Two: u.RandomTwo}, nil
	case config.MethodLeastTime:
		return &balancer.LeastTime{Metric: leastTimeMetric(u.LeastTime), Inflight: u.LeastTimeInflight}, nil
	}
	return &balancer.RoundRobin{}, nil
}

// leastTimeMetric maps least_time's first parameter to the time averaged.
func leastTimeMetric(name string) upstream.Metric {
	switch name {
	case "connect":
		return upstream.MetricConnect
	case "last_byte":
		return upstream.MetricLastByte
	}
	return upstream.MetricHeader // header, first_byte
}

// handlerBuilder compiles the handlers of every location.
type handlerBuilder struct {
	snap       *snapshot
	comp       *vars.Compiler
	pools      map[*config.Upstream]*builtPool
	transports *proxy.Transports
	upgrades   *upgradeTracker
	srv        *router.Server // the server whose locations are being built
	zones      map[*config.CachePath]*cache.Zone
}

// cacheZones opens the proxy_cache_path zones through the daemon's registry
// (which keeps them across reloads), or unopened ones for a configuration
// test (reg nil); their loaders and managers log to log.
func cacheZones(h *config.HTTP, reg *cache.Registry, log *errlog.Logger) (map[*config.CachePath]*cache.Zone, error) {
	if len(h.CachePaths) == 0 {
		return nil, nil
	}
	zones := make(map[*config.CachePath]*cache.Zone, len(h.CachePaths))
	for _, p := range h.CachePaths {
		o := cache.Options{Name: p.Name, Dir: p.Dir, Levels: p.Levels, KeysSize: p.Size, MaxSize: p.MaxSize, Inactive: p.Inactive,
			MinFree: p.MinFree, Manager: cache.Pace(p.Manager), Loader: cache.Pace(p.Loader), LoaderDelay: cache.LoaderDelayNginx,
			Purger: p.Purger, Purge: cache.Pace(p.Purge),
			Debug:  func(msg string) { log.Logf(errlog.Debug, "%s", msg) },
			Notice: func(msg string) { log.Logf(errlog.Notice, "%s", msg) },
			Crit:   func(msg string) { log.Logf(errlog.Crit, "%s", msg) },
			Alert:  func(msg string) { log.Logf(errlog.Alert, "%s", msg) }}
		if reg == nil {
			zones[p] = cache.Unopened(o)
			continue
		}
		z, err := reg.Zone(o)
		if err != nil {
			return nil, fmt.Errorf("%w in %s", err, p.Pos)
		}
		zones[p] = z
	}
	return zones, nil
}

// zonesOf are the zones of module's *_cache_path directives by name, for a
// *_cache with variables, which names one of them per request (nginx's
// ngx_http_upstream_cache_get looks among its own module's zones alone).
func (b *handlerBuilder) zonesOf(module string) map[string]*cache.Zone {
	zones := make(map[string]*cache.Zone)
	for p, z := range b.zones {
		if p.Module == module {
			zones[p.Name] = z
		}
	}
	return zones
}

func (b *handlerBuilder) locations(locs []*config.Location) error {
	for _, loc := range locs {
		h, err := b.handler(loc)
		if err != nil {
			return err
		}
		b.snap.handlers[loc] = &locEntry{h: h}
		if le := loc.LimitExcept; le != nil {
			// The block's nameless location: the location's path and
			// nesting with the block's settings.
			named := *loc
			named.Settings = le.Settings
			if b.snap.limitHandlers[loc], err = b.handler(&named); err != nil {
				return err
			}
		}
		if err := b.locations(ifLocations(loc.Settings.Rewrites)); err != nil {
			return err
		}
		if err := b.locations(loc.Locations); err != nil {
			return err
		}
	}
	return nil
}

// handler is the location's content handler (contentHandler), under the
// slice module's when the location has "slice".
func (b *handlerBuilder) handler(loc *config.Location) (handler, error) {
	h, err := b.contentHandler(loc)
	if err != nil || loc.Settings.Slice <= 0 {
		return h, err
	}
	return sliceHandler{h}, nil
}

// contentHandler picks the content handler of a location: stub_status (which
// config.Load keeps only when it comes after the level's proxy_pass, as the
// last content handler wins in nginx), flv and mp4 (likewise), proxy_pass, or files. (A
// return answers in the rewrite phases, before any content handler.)
func (b *handlerBuilder) contentHandler(loc *config.Location) (handler, error) {
	// api, metrics and dashboard are set only when they are the level's last
	// content handler directive, so they go first.
	if loc.Settings.API {
		return newAPIHandler(loc, b.comp)
	}
	if loc.Settings.Metrics {
		return metricsHandler{}, nil
	}
	if loc.Settings.Dashboard != "" {
		return newDashboardHandler(loc), nil
	}
	if loc.Settings.EmptyGIF {
		return emptyGIFHandler{}, nil
	}
	if loc.Settings.StubStatus {
		return stubStatusHandler{}, nil
	}
	if loc.Settings.FLV || loc.Settings.MP4.On {
		// flv or mp4 came after the level's proxy_pass (or its kin): it answers.
		return b.staticHandler(loc)
	}
	if loc.Settings.GRPCPass != nil {
		return b.grpcHandler(loc)
	}
	if pass := memcachedPass(loc.Settings); pass != nil {
		h, err := b.memcachedHandler(loc, pass)
		return withTryFiles(b, loc, h, err)
	}
	if pass, proto := cgiPass(loc.Settings); pass != nil {
		h, err := b.cgiHandler(loc, pass, proto)
		return withTryFiles(b, loc, h, err)
	}
	if loc.Settings.ProxyPass != nil {
		h, err := b.proxyHandler(loc)
		if err != nil || len(loc.Settings.TryFiles) == 0 {
			return h, err
		}
		files, err := b.staticHandler(loc)
		if err != nil {
			return nil, err
		}
		return tryFilesFirst{files: files.(*staticHandler), content: h}, nil
	}
	return b.staticHandler(loc)
}

// withTryFiles puts the location's try_files, if any, before its content
// handler h.
func withTryFiles(b *handlerBuilder, loc *config.Location, h handler, err error) (handler, error) {
	if err != nil || len(loc.Settings.TryFiles) == 0 {
		return h, err
	}
	files, err := b.staticHandler(loc)
	if err != nil {
		return nil, err
	}
	return tryFilesFirst{files: files.(*staticHandler), content: h}, nil
}

func (b *handlerBuilder) proxyHandler(loc *config.Location) (handler, error) {
	pass := loc.Settings.ProxyPass
	opts := proxy.Options{
		Buffers:  b.transports.Buffers(),
		BodySeq:  b.transports.BodySeq(),
		Location: loc,
		Compiler: b.comp,
		Log:      b.snap.logAt(loc.Settings),
		Server:   serverHeader(loc.Settings),
		Now:      b.snap.now,
		Ranges:   upstreamRanges,
	}
	if c := &loc.Settings.ProxyCache; c.On() {
		opts.CacheZone, opts.Conditional = b.zones[c.Zone], static.ConditionalFor(loc.Settings.IfModifiedSince)
		if c.ZoneValue != "" {
			opts.CacheZones = b.zonesOf("proxy")
		}
	}
	host := proxyHost(pass)
	if pass.HasVariables {
		dyn, err := b.dynamicTarget(pass, loc.Settings)
		if err != nil {
			return nil, err
		}
		opts.Dynamic = dyn
		host = [2]string{}
	} else {
		bp := b.pools[pass.Upstream]
		if bp == nil {
			return nil, fmt.Errorf("proxy_pass in %s: no upstream for %q", pass.Pos, pass.URL)
		}
		opts.Target = b.target(bp)
	}
	h, err := proxy.New(opts)
	if err != nil {
		return nil, err
	}
	return &proxyHandler{h: h, host: host}, nil
}

// grpcHandler builds a grpc_pass location's handler.
func (b *handlerBuilder) grpcHandler(loc *config.Location) (handler, error) {
	pass := loc.Settings.GRPCPass
	opts := proxy.GRPCOptions{
		Location: loc,
		Compiler: b.comp,
		Log:      b.snap.logAt(loc.Settings),
		Server:   serverHeader(loc.Settings),
		Now:      b.snap.now,
		Clients:  b.transports.GRPC(),
	}
	if pass.HasVariables {
		dyn, err := b.dynamicGRPC(pass, loc.Settings)
		if err != nil {
			return nil, err
		}
		opts.Dynamic = dyn.resolve
	} else {
		bp := b.pools[pass.Upstream]
		if bp == nil {
			return nil, fmt.Errorf("grpc_pass in %s: no upstream for %q", pass.Pos, pass.URL)
		}
		opts.Target = proxy.Target{Pool: bp.pool, Policy: bp.policy, HashKey: bp.hashKey}
	}
	h, err := proxy.NewGRPC(opts)
	if err != nil {
		return nil, err
	}
	b.snap.kept.AddGRPC(h)
	return grpcHandler{h}, nil
}

// grpcHandler adapts proxy.GRPCHandler.
type grpcHandler struct{ h *proxy.GRPCHandler }

func (g grpcHandler) serve(w http.ResponseWriter, r *http.Request, st *vars.State) *internalRedirect {
	g.h.ServeHTTP(w, r, st)
	return nil
}

// target makes the proxy target of an upstream block.
func (b *handlerBuilder) target(bp *builtPool) proxy.Target {
	po := proxy.PoolOptions{Keepalive: bp.cfg.Keepalive, KeepaliveTimeout: bp.cfg.KeepaliveTimeout,
		KeepaliveRequests: bp.cfg.KeepaliveRequests, KeepaliveTime: bp.cfg.KeepaliveTime}
	t := b.transports.For(bp.cfg.Name, po)
	b.snap.kept.AddPool(t)
	return proxy.Target{Pool: bp.pool, Policy: bp.policy, HashKey: bp.hashKey, Sticky: bp.sticky,
		NTLM: bp.cfg.NTLM, Transport: t, PoolOptions: po}
}

// dynamicTarget compiles a proxy_pass with variables into the resolver of
// its targets; set is its location's (the resolver for host names). A URL
// whose scheme is a variable gets a resolver per scheme.
func (b *handlerBuilder) dynamicTarget(pass *config.ProxyPass, set *config.Settings) (proxy.DynamicTarget, error) {
	t, err := b.comp.Compile(pass.URL)
	if err != nil {
		return nil, fmt.Errorf("%w in %s", err, pass.Pos)
	}
	if pass.Scheme != "" {
		return b.dynamic(t, pass.Scheme, set).resolve, nil
	}
	s := &schemeProxy{url: t, plain: b.dynamic(t, "http", set), tls: b.dynamic(t, "https", set)}
	return s.resolve, nil
}

// dynamic makes the resolver of a proxy_pass with variables, t, whose
// evaluated URL must start with scheme ("http" or "https") and its "://".
func (b *handlerBuilder) dynamic(t *vars.Template, scheme string, set *config.Settings) *dynamicProxy {
	var ssl *config.ProxySSL
	prefix, port := "http://", "80"
	if scheme == "https" {
		prefix, port, ssl = "https://", "443", &set.ProxySSL
	}
	d := b.newDynamic(t, set, "proxy_pass", proxyTarget(b.transports, ssl))
	d.prefix, d.port, d.ssl = prefix, port, ssl
	for u, bp := range b.pools {
		t := b.target(bp)
		if ssl != nil {
			t.TLS = upstreamtls.New(*ssl, u.Name)
		}
		d.byName[u.Name] = t
	}
	return d
}

// newDynamic makes the resolver of a proxy_pass or grpc_pass (what) with
// variables, url, at a level with settings set (its resolver, for host
// names); build makes the targets of addresses and names.
func (b *handlerBuilder) newDynamic(url *vars.Template, set *config.Settings, what string, build func(key, host string, pool *upstream.Pool) proxy.Target) *dynamicProxy {
	dns, valid := b.snap.resolverOf(set)
	return &dynamicProxy{url: url, byName: map[string]proxy.Target{},
		addrs: newAddrTargets(what, build, dns, valid, b.snap.now)}
}

// resolverOf is the client of a level's resolver and its valid= (nil and 0
// without one), with the level's resolver_timeout; the levels that share a
// resolver directive share its answers (each include of a file with one is
// another directive, as in nginx), and its lines without a request go to the
// main error log, as nginx's.
func (s *snapshot) resolverOf(set *config.Settings) (*resolve.Client, time.Duration) {
	r := set.Resolver
	if r == nil {
		return nil, 0
	}
	if s.dnsCaches == nil {
		s.dnsCaches = map[*config.Directive]*resolve.Cache{}
	}
	cache := s.dnsCaches[r.Read]
	if cache == nil {
		cache = resolve.NewCache()
		s.dnsCaches[r.Read] = cache
	}
	return resolve.NewClient(r.Addrs, set.ResolverTimeout, r.IPv4, r.IPv6).WithCache(cache).WithLog(s.log), r.Valid
}

// proxyHandler adapts proxy.Handler, fills $proxy_host / $proxy_port and
// follows an upstream's X-Accel-Redirect.
type proxyHandler struct {
	h    *proxy.Handler
	host [2]string
}

func (p *proxyHandler) serve(w http.ResponseWriter, r *http.Request, st *vars.State) *internalRedirect {
	if p.host[0] != "" { // a dynamic target sets them per request
		st.ProxyHost, st.ProxyPort = p.host[0], p.host[1]
	}
	p.h.ServeHTTP(w, r, st)
	if rec, ok := w.(*recorder); ok {
		if target, ok := rec.takeAccel(); ok {
			return followAccel(rec, r, st, target)
		}
	}
	return nil
}

// proxyHost returns $proxy_host and $proxy_port for a proxy_pass: the host as
// written (without a default port) and the port.
func proxyHost(pass *config.ProxyPass) [2]string {
	host := pass.Host
	if strings.HasPrefix(host, "unix:") {
		return [2]string{"localhost", ""}
	}
	def := "80"
	if pass.Scheme == "https" {
		def = "443"
	}
	if h, port, ok := strings.Cut(host, ":"); ok && !strings.Contains(port, ":") {
		if port == def {
			return [2]string{h, def}
		}
		return [2]string{host, port}
	}
	return [2]string{host, def}
}

// serverHeader is the Server header value: "fulcrum/VERSION" with server_tokens
// on, "fulcrum" with it off.
func serverHeader(set *config.Settings) string {
	if set != nil && set.ServerTokens {
		return "fulcrum/" + Version
	}
	return "fulcrum"
}

// The Server field's values as header map entries, made once: every response
// shares them, which is safe because nobody changes a header value in place
// (appending to a one-element slice copies it).
var (
	serverTokensOn  = []string{"fulcrum/" + Version}
	serverTokensOff = []string{"fulcrum"}
)

// serverField returns the shared map entry for the Server value v (from
// serverHeader), or a new one for any other value.
func serverField(v string) []string {
	switch v {
	case serverTokensOn[0]:
		return serverTokensOn
	case serverTokensOff[0]:
		return serverTokensOff
	}
	return []string{v}
}

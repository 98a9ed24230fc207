package config

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// Stream is the stream block: TCP proxying (nginx's ngx_stream_core_module,
// ngx_stream_proxy_module, ngx_stream_upstream_module and
// ngx_stream_log_module). Its upstreams, log formats and addresses are its
// own: an http upstream of the same name is another upstream.
type Stream struct {
	// Upstreams are the stream upstream blocks and the implicit upstreams
	// made from a proxy_pass host:port, in config order.
	Upstreams []*Upstream
	// Servers are the stream server blocks in config order.
	Servers []*StreamServer
	// LogFormats are the stream block's log_format directives by name.
	LogFormats map[string]*LogFormat
	// LimitConnZones are the stream block's limit_conn_zone directives.
	LimitConnZones []*LimitConnZone
	// KeyvalZones and Keyvals are the stream block's keyval_zone and
	// keyval directives, in config order.
	KeyvalZones []*KeyvalZone
	Keyvals     []*Keyval
	// GeoIP2 are the stream block's geoip2 blocks in config order.
	GeoIP2 []*GeoIP2
	// GeoIP are the stream block's legacy GeoIP databases (geoip_country,
	// geoip_city, geoip_org; no proxies); never nil once built.
	GeoIP *GeoIP
	// Maps, Geos and SplitClients are the stream block's map, geo and
	// split_clients blocks in config order (ngx_stream_map_module,
	// ngx_stream_geo_module, ngx_stream_split_clients_module): their
	// variables are the stream block's own, read as the http ones are.
	Maps         []*Map
	Geos         []*Geo
	SplitClients []*SplitClients
	// Matches are the stream block's match blocks (NGINX Plus's
	// ngx_stream_upstream_hc_module), in config order.
	Matches []*StreamMatch
	// AccessLogs are the access logs of the stream block's own access_log
	// directives ("off" left out). No session is logged at this level when
	// every server has its own, but nginx opens every access_log it reads
	// (an empty file, recorded with nginx 1.22.1): the proxy opens these.
	AccessLogs []AccessLog
	Pos        Pos
}

// StreamSet is a stream server's "set $variable value"
// (ngx_stream_set_module): the value, with variables, is given to the
// variable in the preaccess phase, before limit_conn.
type StreamSet struct {
	SetVar
	Pos Pos
}

// StreamServer is one server block of the stream block: the addresses it
// listens on and where it proxies each connection.
type StreamServer struct {
	Listens []StreamListen
	// StatusZone is the server's status_zone (NGINX Plus), "" without one:
	// the runtime API's /stream/server_zones entry that counts its
	// sessions. Several servers may share a zone.
	StatusZone string
	// Return is the return directive's value (ngx_stream_return_module),
	// with variables: sent to the client, then the session ends. It is
	// the server's handler when written after proxy_pass (or without
	// one): the last of the two wins, as in nginx. "" without it.
	Return    string
	HasReturn bool
	// Access are the allow and deny rules (ngx_stream_access_module) of
	// the nearest level that has any; the first that matches a client
	// decides, none matching allows.
	Access []AccessRule
	// LimitConn are the limit_conn directives of the nearest level with
	// any (ngx_stream_limit_conn_module); LimitConnDryRun and
	// LimitConnLogLevel are limit_conn_dry_run and limit_conn_log_level
	// (default error).
	LimitConn         []LimitConn
	LimitConnDryRun   bool
	LimitConnLogLevel LogLevel
	// Upstream is the proxy_pass target: an upstream block of the stream
	// level or, for a host:port, an implicit one (Implicit set). nil when
	// Pass is set.
	Upstream *Upstream
	// Pass is a proxy_pass value with variables, evaluated per session: it
	// names an upstream block, or is an address and port, or a host name
	// and port looked up with Resolver. "" for a literal proxy_pass.
	Pass string
	// Resolver is the resolver of the server's level, else the stream
	// level's; nil without one (a name Pass gives then fails).
	Resolver *DNSResolver
	// Sets are the server's set directives in config order.
	Sets []StreamSet
	// ConnectTimeout (proxy_connect_timeout, 60s) bounds each connect.
	ConnectTimeout time.Duration
	// Timeout (proxy_timeout, 10m) closes the session after this long
	// without a byte read in either direction.
	Timeout time.Duration
	// NextUpstream (proxy_next_upstream, on) tries another server when a
	// connect fails.
	NextUpstream bool
	// NextUpstreamTries (proxy_next_upstream_tries, 0: no limit) caps the
	// attempts; NextUpstreamTimeout (0: none) caps the time spent on them.
	NextUpstreamTries   int
	NextUpstreamTimeout time.Duration
	// HalfClose (proxy_half_close, off) passes one side's end of data on
	// to the other (shutdown for writing) and keeps the session until
	// both sides ended; off, the first side that ends ends the session.
	HalfClose bool
	// Responses (proxy_responses; -1, the default: no limit) is how many
	// datagrams a UDP session expects from the server per client
	// datagram; once they came, the session ends (0: once the client's
	// datagram went on). Requests (proxy_requests, 0: no limit) is how many
	// client datagrams a UDP session takes; with it, the session ends only
	// once it took them and their responses came.
	Responses, Requests int
	// NoDelayOff is "tcp_nodelay off" (default on): TCP_NODELAY is cleared
	// on the client's and the upstream's TCP sockets, which nginx's stream
	// proxy sets only when on.
	NoDelayOff bool
	// SocketKeepalive (proxy_socket_keepalive, off) sets SO_KEEPALIVE, with
	// the system's intervals, on TCP connections to upstream servers.
	SocketKeepalive bool
	// ProxyProtocol (proxy_protocol, off) sends a PROXY protocol v1 header
	// to the upstream before the client's bytes.
	ProxyProtocol bool
	// ProxyProtocolTimeout (proxy_protocol_timeout, 30s) bounds the wait
	// for the PROXY protocol header of a "listen ... proxy_protocol"
	// connection.
	ProxyProtocolTimeout time.Duration
	// SetRealIPFrom (set_real_ip_from, the stream realip module) are the
	// addresses and CIDRs ("unix:" for unix sockets) whose PROXY protocol
	// header gives the client's address ($remote_addr, $remote_port);
	// $realip_remote_addr keeps the connection's. Nil: none.
	SetRealIPFrom []string
	// UploadRate and DownloadRate (proxy_upload_rate, proxy_download_rate;
	// 0: no limit) pace each direction in bytes per second; with
	// variables, the value is evaluated once per session, when the
	// upstream connection is made (nginx's ngx_stream_proxy_init_upstream).
	UploadRate, DownloadRate SizeValue
	// TLS is the server's ssl_* settings (its own or the stream level's);
	// nil when no level writes any. Listens with SSL set terminate TLS with
	// it.
	TLS *TLS
	// HandshakeTimeout (ssl_handshake_timeout, 60s) bounds the TLS
	// handshake of an ssl listen.
	HandshakeTimeout time.Duration
	// ALPN is ssl_alpn's protocols, in order of preference; nil without
	// it (the handshake then selects none).
	ALPN []string
	// Preread (ssl_preread, off) reads the client's TLS ClientHello
	// before the session is proxied, for the $ssl_preread_* variables,
	// and passes the bytes on unchanged. PrereadBufferSize
	// (preread_buffer_size, 16k) and PrereadTimeout (preread_timeout,
	// 30s) bound what and how long it reads.
	Preread           bool
	PrereadBufferSize int
	PrereadTimeout    time.Duration
	// MQTTPreread (mqtt_preread, off) reads the client's MQTT CONNECT
	// packet in the same preread phase, within the same bounds, for
	// $mqtt_preread_clientid and $mqtt_preread_username, and passes it on
	// (unchanged unless MQTT rewrites it).
	MQTTPreread bool
	// MQTT (mqtt, off) reads the client's CONNECT packet before the
	// session is proxied and sends it to the upstream server rewritten by
	// MQTTSetConnect; what follows it passes unchanged. MQTTBuffers and
	// MQTTBufferSize (mqtt_buffers, 100 1k) bound the packet read, their
	// product its length. MQTTRewriteBufferSize (mqtt_rewrite_buffer_size,
	// the server's own; 0 without one, then the mqtt_buffers product
	// applies) bounds the rewritten packet.
	MQTT                  bool
	MQTTBuffers           int
	MQTTBufferSize        int
	MQTTRewriteBufferSize int
	// MQTTSetConnect are the server's mqtt_set_connect directives, in
	// config order, one per field at most.
	MQTTSetConnect []MQTTSet
	// ProxySSL is the proxy_ssl_* settings where proxy_ssl is on (TLS to
	// the upstream servers of TCP sessions; UDP sessions ignore it, as in
	// nginx); nil where it is off. Its Name (proxy_ssl_name) may hold
	// variables, which package stream compiles; "" means the proxy_pass
	// host without its port. Its files are loaded and checked.
	ProxySSL *ProxySSL
	// ProxySSLNamePos is where proxy_ssl_name is written, for errors
	// about its variables; zero without one.
	ProxySSLNamePos Pos
	// Bind (proxy_bind) is the local IP address of upstream connections;
	// "" means the system's choice. With variables it is evaluated once
	// per session (ParseBindAddr's syntax; empty or not an address: the
	// system's choice). BindTransparent is its "transparent": the
	// connections bind with IP_TRANSPARENT.
	Bind            string
	BindTransparent bool
	// AccessLogs are the effective access_log targets (none: off).
	AccessLogs []AccessLog
	// ErrorLogs are the effective error_log targets; nil means the main
	// context's.
	ErrorLogs []ErrorLog
	// HealthChecks are the server's own health_check directives (NGINX
	// Plus's ngx_stream_upstream_hc_module); HealthCheckTimeout is
	// health_check_timeout (5s), the server's or the stream block's.
	HealthChecks       []*StreamHealthCheck
	HealthCheckTimeout time.Duration
	Pos                Pos
}

// MQTTSet is one "mqtt_set_connect field value": the CONNECT packet's
// field ("clientid", "username" or "password") gets the value, whose
// variables package stream compiles.
type MQTTSet struct {
	Field, Value string
	Pos          Pos
}

// StreamListen is one listen directive of a stream server.
type StreamListen struct {
	// Network is "tcp" or "unix".
	Network string
	// Addr is "ip:port" or the socket path.
	Addr string
	// SSL is the "ssl" parameter: connections speak TLS, terminated with
	// the server's certificates.
	SSL bool
	// UDP is the "udp" parameter: datagrams from one client address are a
	// session, proxied to the upstream server over UDP.
	UDP bool
	// ProxyProtocol is the "proxy_protocol" parameter: each connection
	// starts with a PROXY protocol header (v1 or v2), read within the
	// server's ProxyProtocolTimeout before anything else.
	ProxyProtocol bool
	Pos           Pos
}

// Defaults of ngx_stream_proxy_module.
const (
	defaultStreamConnectTimeout = 60 * time.Second
	defaultStreamTimeout        = 10 * time.Minute
	defaultStreamHandshake      = 60 * time.Second
	defaultPrereadBufferSize    = 16 << 10
	defaultPrereadTimeout       = 30 * time.Second
	// mqtt_buffers 100 1k (ngx_stream_mqtt_filter_module).
	defaultMQTTBuffers          = 100
	defaultMQTTBufferSize       = 1 << 10
	defaultProxyProtocolTimeout = 30 * time.Second
)

// buildStream reads the stream block. Upstream names and log formats are
// the stream block's own, so the builder's maps are swapped for its build.
func (b *builder) buildStream(d *Directive) (*Stream, error) {
	st := &Stream{LogFormats: map[string]*LogFormat{}, Pos: d.Pos}
	httpUps, httpImplicit, httpFormats := b.upstreams, b.implicit, b.formats
	b.upstreams, b.implicit, b.formats = map[string]*Upstream{}, map[string]*Upstream{}, st.LogFormats
	defer func() { b.upstreams, b.implicit, b.formats = httpUps, httpImplicit, httpFormats }()
	top := newScope(nil, ctxStream, d.Block)
	if err := b.streamLogFormats(top); err != nil {
		return nil, err
	}
	if err := b.streamUpstreams(st, top); err != nil {
		return nil, err
	}
	if err := b.streamVariables(st, top); err != nil {
		return nil, err
	}
	zones, err := parseLimitConnZones(top)
	if err != nil {
		return nil, err
	}
	st.LimitConnZones = zones
	if st.KeyvalZones, st.Keyvals, err = b.readKeyvals(top, func(name string, pos Pos) error {
		return zoneNameFree(nil, zones, name, pos)
	}); err != nil {
		return nil, err
	}
	if st.GeoIP2, err = b.geoIP2Blocks(top); err != nil {
		return nil, err
	}
	if st.GeoIP, err = b.geoIPFiles(top); err != nil {
		return nil, err
	}
	if err := checkGeoIPNames(st.GeoIP, st.Maps, st.Geos, st.SplitClients, st.GeoIP2); err != nil {
		return nil, err
	}
	if err := b.streamMatches(st, top); err != nil {
		return nil, err
	}
	if st.AccessLogs, err = b.streamLevelLogs(top); err != nil {
		return nil, err
	}
	seen := map[string]Pos{}
	for _, sd := range top.own("server") {
		srv, err := b.streamServer(st, top, sd)
		if err != nil {
			return nil, err
		}
		for _, l := range srv.Listens {
			if strings.HasSuffix(l.Addr, ":0") {
				continue // each ephemeral port is its own (fulcrum's extension)
			}
			if _, dup := seen[l.Network+" "+l.Addr]; dup {
				return nil, hintf(l.Pos, "each address is listened on by one stream server", `duplicate "%s" address and port pair`, l.Addr)
			}
			seen[l.Network+" "+l.Addr] = l.Pos
		}
		st.Servers = append(st.Servers, srv)
	}
	if err := checkStreamZones(st); err != nil {
		return nil, err
	}
	return st, checkStreamLimitConn(st)
}

// streamVariables reads the stream block's map, geo and split_clients
// blocks with the http side's parsers; a stream geo block has no proxy
// and proxy_recursive lines.
func (b *builder) streamVariables(st *Stream, top *scope) error {
	for _, d := range top.own("map") {
		m, err := parseMap(d)
		if err != nil {
			return err
		}
		st.Maps = append(st.Maps, m)
	}
	for _, d := range top.own("geo") {
		g, err := b.parseGeoBlock(d, true)
		if err != nil {
			return err
		}
		st.Geos = append(st.Geos, g)
	}
	for _, d := range top.own("split_clients") {
		sc, err := parseSplitClients(d)
		if err != nil {
			return err
		}
		st.SplitClients = append(st.SplitClients, sc)
	}
	return nil
}

// checkStreamZones checks the zones of the stream upstream blocks as
// checkZones checks the http ones (nginx's shared memory zones are the same):
// one size per name, and a zone without a size needs another upstream block
// that gives one.
func checkStreamZones(st *Stream) error {
	sized := map[string]int64{}
	for _, u := range st.Upstreams {
		if u.Zone == "" || u.Implicit || u.ZoneSize == 0 {
			continue
		}
		if prev, ok := sized[u.Zone]; ok && prev != u.ZoneSize {
			return errorf(u.ZonePos, `the size %d of shared memory zone "%s" conflicts with already declared size %d`, u.ZoneSize, u.Zone, prev)
		}
		sized[u.Zone] = u.ZoneSize
	}
	for _, u := range st.Upstreams {
		if u.Zone != "" && !u.Implicit && u.ZoneSize == 0 && sized[u.Zone] == 0 {
			return hintf(u.ZonePos, fmt.Sprintf("give the zone a size here or in another upstream that shares it: zone %s 64k;", u.Zone),
				`zero size shared memory zone "%s"`, u.Zone)
		}
	}
	return nil
}

// checkStreamLimitConn refuses a limit_conn whose zone no stream
// limit_conn_zone defines, with nginx's message for it.
func checkStreamLimitConn(st *Stream) error {
	zones := map[string]bool{}
	for _, z := range st.LimitConnZones {
		zones[z.Name] = true
	}
	for _, srv := range st.Servers {
		for _, lc := range srv.LimitConn {
			if !zones[lc.Zone] {
				return hintf(lc.Pos, `define it in the stream block: limit_conn_zone $binary_remote_addr zone=`+lc.Zone+`:10m;`, `zero size shared memory zone "%s"`, lc.Zone)
			}
		}
	}
	return nil
}

// streamLogFormats reads the stream block's log_format directives.
func (b *builder) streamLogFormats(top *scope) error {
	for _, d := range top.own("log_format") {
		f, err := parseLogFormat(d)
		if err != nil {
			return err
		}
		if b.formats[f.Name] != nil {
			return errorf(d.Pos, `duplicate "log_format" name "%s"`, f.Name)
		}
		b.formats[f.Name] = f
	}
	return nil
}

// streamUpstreams builds the stream block's upstream blocks.
func (b *builder) streamUpstreams(st *Stream, top *scope) error {
	ups, err := b.upstreamBlocks(top, b.buildStreamUpstream)
	if err != nil {
		return err
	}
	st.Upstreams = append(st.Upstreams, ups...)
	r, err := b.levelResolver(top)
	if err != nil {
		return err
	}
	return checkResolvedNames(st.Upstreams, r)
}

// buildStreamUpstream reads one stream "upstream name { ... }" block: the
// http upstream's server parameters without slow_start and route, and
// hash, least_conn and random (stream has no ip_hash).
func (b *builder) buildStreamUpstream(d *Directive) (*Upstream, error) {
	u := newUpstream(d.Args[0], d.Pos)
	var method *Directive
	for _, line := range d.Block {
		var err error
		switch line.Name {
		case "server":
			err = serverLineChecked(u, line, b.streamUpstreamServer)
		case "least_conn", "hash", "random", "least_time":
			if method != nil {
				return nil, hintf(line.Pos, fmt.Sprintf(`an upstream has one balancing method; "%s" was set in %s`, method.Name, method.Pos),
					"load balancing method redefined")
			}
			method, err = line, setMethod(u, line, leastTimeStream)
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
		if err := b.readState(u, d, b.streamUpstreamServer); err != nil {
			return nil, err
		}
	}
	if err := checkSlowStart(u, d.Block); err != nil {
		return nil, err
	}
	return u, checkUpstream(u, blockEnd(d))
}

// streamUpstreamServer reads "server address:port [parameters]": the port is
// required, as in nginx's stream module, and route= is http's only (NGINX
// Plus's stream server has slow_start= but no route=).
func (b *builder) streamUpstreamServer(u *Upstream, d *Directive) error {
	refuse := func(p string) error {
		if key, _, _ := strings.Cut(p, "="); key == "route" {
			return hintf(d.Pos, "a stream server takes weight=, max_fails=, fail_timeout=, max_conns=, slow_start=, backup, down and resolve", `invalid parameter "%s"`, p)
		}
		return nil
	}
	return b.serverLine(u, d, refuse, b.streamAddrs)
}

// streamAddrs resolves a stream upstream address, which must have a port.
func (b *builder) streamAddrs(pos Pos, addr string) ([]netAddr, error) {
	if !strings.HasPrefix(addr, "unix:") {
		hp, err := splitHostPort(addr, 0)
		if err == nil && hp.port == 0 {
			return nil, hintf(pos, "a stream address needs a port: host:port", `no port in upstream "%s"`, addr)
		}
	}
	return b.serverAddrsPort(pos, addr, 0)
}

// streamServer reads one stream server block; top is the stream level.
func (b *builder) streamServer(st *Stream, top *scope, d *Directive) (*StreamServer, error) {
	sc := newScope(top, ctxStreamSrv, d.Block)
	srv := &StreamServer{Pos: d.Pos}
	if dirs := sc.own("status_zone"); len(dirs) > 0 {
		srv.StatusZone = dirs[len(dirs)-1].Args[0]
	}
	for _, ld := range sc.own("listen") {
		ls, err := b.streamListens(ld)
		if err != nil {
			return nil, err
		}
		srv.Listens = append(srv.Listens, ls...)
	}
	if len(srv.Listens) == 0 {
		return nil, hintf(d.Pos, "add a listen directive such as: listen 12345;", `no "listen" is defined for server`)
	}
	handlers := sc.own("proxy_pass", "return")
	if len(handlers) == 0 {
		return nil, hintf(d.Pos, "a stream server needs proxy_pass or return", "no handler for server")
	}
	if last := handlers[len(handlers)-1]; last.Name == "return" {
		srv.Return, srv.HasReturn = last.Args[0], true
	} else if strings.Contains(last.Args[0], "$") {
		srv.Pass = last.Args[0]
	} else {
		u, err := b.streamPass(st, last)
		if err != nil {
			return nil, err
		}
		srv.Upstream = u
	}
	if dirs, _ := sc.nearest("allow", "deny"); len(dirs) > 0 {
		for _, ad := range dirs {
			r, masked, err := parseAccessRule(ad.Name, ad.Args[0], ad.Pos)
			if err != nil {
				return nil, accessParamError(ad)
			}
			if masked {
				b.warnDir(ad, "", "low address bits of %s are meaningless", ad.Args[0])
			}
			srv.Access = append(srv.Access, r)
		}
	}
	for _, d := range sc.own("set") {
		sv, err := parseSet(d)
		if err != nil {
			return nil, err
		}
		srv.Sets = append(srv.Sets, StreamSet{SetVar: *sv, Pos: d.Pos})
	}
	r, err := b.levelResolver(sc)
	if err != nil {
		return nil, err
	}
	if r == nil {
		r, err = b.levelResolver(top)
		if err != nil {
			return nil, err
		}
	}
	srv.Resolver = r
	if err := b.streamTLS(srv, sc); err != nil {
		return nil, err
	}
	if err := b.streamProxySettings(srv, sc); err != nil {
		return nil, err
	}
	if err := b.streamProxySSL(srv, sc); err != nil {
		return nil, err
	}
	if err := b.streamHealthChecks(srv, sc); err != nil {
		return nil, err
	}
	return srv, b.streamLogs(srv, sc)
}

// streamTLS reads the ssl_* settings; an ssl listen needs a certificate,
// as nginx says.
func (b *builder) streamTLS(srv *StreamServer, sc *scope) error {
	var ssl *StreamListen
	for i := range srv.Listens {
		if srv.Listens[i].SSL && ssl == nil {
			ssl = &srv.Listens[i]
		}
	}
	if ssl != nil {
		if err := checkTLSKeys(sc, ssl.Pos, "listen ... ssl"); err != nil {
			return err
		}
	}
	t, err := b.buildTLS(sc, ssl != nil, streamTLS)
	if err != nil {
		return err
	}
	srv.TLS, srv.HandshakeTimeout = t, defaultStreamHandshake
	if dirs, _ := sc.nearest("ssl_handshake_timeout"); len(dirs) > 0 {
		srv.HandshakeTimeout, _ = parseTime(dirs[0].Args[0], false) // kindMsec checked it
	}
	if dirs, _ := sc.nearest("ssl_alpn"); len(dirs) > 0 {
		srv.ALPN = slices.Clone(dirs[0].Args)
	}
	if ssl != nil && (t == nil || len(t.Certificates) == 0) {
		return hintf(ssl.Pos, "add ssl_certificate and ssl_certificate_key to the server or the stream block",
			`no "ssl_certificate" is defined for the "listen ... ssl" directive`)
	}
	return nil
}

// streamListens reads a stream listen directive: one StreamListen, or one
// for each port of a port range (listenPorts).
func (b *builder) streamListens(d *Directive) ([]StreamListen, error) {
	addrs, err := listenPorts(d)
	if err != nil {
		return nil, err
	}
	out := make([]StreamListen, 0, len(addrs))
	for _, a := range addrs {
		l, err := b.streamListen(d, a)
		if err != nil {
			return nil, err
		}
		out = append(out, l)
	}
	return out, nil
}

// streamListen reads "listen address:port | port | unix:path [parameters]"
// for its address a.
func (b *builder) streamListen(d *Directive, a string) (StreamListen, error) {
	l, err := b.listenAddrOf(d, a)
	if err != nil {
		return StreamListen{}, err
	}
	sl := StreamListen{Network: l.Network, Addr: l.Addr, Pos: d.Pos}
	for _, p := range d.Args[1:] {
		switch p {
		case "ssl":
			sl.SSL = true
			continue
		case "udp":
			sl.UDP = true
			continue
		case "proxy_protocol":
			sl.ProxyProtocol = true
			continue
		}
		if err := b.streamListenParam(d, p); err != nil {
			return StreamListen{}, err
		}
	}
	if sl.SSL && sl.UDP {
		return sl, errorf(d.Pos, `"listen" directive "ssl" parameter is incompatible with "udp"`)
	}
	if sl.ProxyProtocol && sl.UDP {
		return sl, errorf(d.Pos, `"listen" directive "proxy_protocol" parameter is incompatible with "udp"`)
	}
	if sl.UDP && sl.Network == "unix" {
		sl.Network = "unixgram"
	} else if sl.UDP {
		sl.Network = "udp"
	}
	return sl, nil
}

// streamListenParam checks one stream listen parameter other than ssl,
// udp and proxy_protocol: socket options are left to the system (with a
// warning).
func (b *builder) streamListenParam(d *Directive, p string) error {
	key, val, hasVal := strings.Cut(p, "=")
	switch {
	case key == "ipv6only" && hasVal:
		if _, err := parseFlag(val); err != nil {
			return errorf(d.Pos, `invalid ipv6only flags "%s"`, val)
		}
		return nil
	case key == "so_keepalive" && hasVal:
		b.warnDir(d, "fulcrum leaves this socket option to the system", `"listen ... %s" is ignored`, key)
		return nil
	case slices.Contains(ignoredListenParams, key):
		return b.ignoredListenParam(d, key, val, hasVal)
	}
	return hintf(d.Pos, "a stream listen takes ssl, udp, proxy_protocol, backlog=, rcvbuf=, sndbuf=, so_keepalive=, reuseport, bind and ipv6only=", `the invalid "%s" parameter`, p)
}

// streamPass resolves a proxy_pass without variables: a stream upstream's
// name, or host:port (an implicit upstream, shared by the servers that name
// the same one).
func (b *builder) streamPass(st *Stream, d *Directive) (*Upstream, error) {
	target := d.Args[0]
	if u := b.upstreams[strings.ToLower(target)]; u != nil {
		return u, nil
	}
	key := strings.ToLower(target)
	if u := b.implicit[key]; u != nil {
		return u, nil
	}
	addrs, err := b.streamAddrs(d.Pos, target)
	if err != nil {
		return nil, err
	}
	u := newUpstream(target, d.Pos)
	u.Implicit = true
	for _, a := range addrs {
		u.Servers = append(u.Servers, &UpstreamServer{Name: target, Network: a.network, Addr: a.addr,
			Weight: 1, MaxFails: 1, FailTimeout: defaultFailTimeout, Pos: d.Pos})
	}
	b.implicit[key] = u
	st.Upstreams = append(st.Upstreams, u)
	return u, nil
}

// streamProxySettings reads the proxy_* settings, inherited from the stream
// level.
func (b *builder) streamProxySettings(srv *StreamServer, sc *scope) error {
	srv.ConnectTimeout, srv.Timeout, srv.NextUpstream = defaultStreamConnectTimeout, defaultStreamTimeout, true
	srv.Responses = -1
	srv.LimitConnLogLevel = LevelError
	srv.PrereadBufferSize, srv.PrereadTimeout = defaultPrereadBufferSize, defaultPrereadTimeout
	srv.MQTTBuffers, srv.MQTTBufferSize = defaultMQTTBuffers, defaultMQTTBufferSize
	srv.ProxyProtocolTimeout = defaultProxyProtocolTimeout
	if dirs, _ := sc.nearest("set_real_ip_from"); len(dirs) > 0 {
		list, err := b.realIPFrom(dirs)
		if err != nil {
			return err
		}
		srv.SetRealIPFrom = list
	}
	if dirs, _ := sc.nearest("limit_conn"); len(dirs) > 0 {
		var st Settings
		if err := applyLimitConn(b, &st, dirs, nil); err != nil {
			return err
		}
		srv.LimitConn = st.LimitConn
	}
	for _, step := range []struct {
		name string
		set  func(d *Directive) error
	}{
		{"proxy_connect_timeout", func(d *Directive) (err error) { srv.ConnectTimeout, err = parseTime(d.Args[0], false); return }},
		{"proxy_timeout", func(d *Directive) (err error) { srv.Timeout, err = parseTime(d.Args[0], false); return }},
		{"proxy_next_upstream", func(d *Directive) (err error) { srv.NextUpstream, err = parseFlag(d.Args[0]); return }},
		{"proxy_next_upstream_tries", func(d *Directive) (err error) { srv.NextUpstreamTries, err = parseInt(d.Args[0]); return }},
		{"proxy_next_upstream_timeout", func(d *Directive) (err error) {
			srv.NextUpstreamTimeout, err = parseTime(d.Args[0], false)
			return
		}},
		{"proxy_responses", func(d *Directive) (err error) { srv.Responses, err = parseInt(d.Args[0]); return }},
		{"proxy_requests", func(d *Directive) (err error) { srv.Requests, err = parseInt(d.Args[0]); return }},
		{"proxy_half_close", func(d *Directive) (err error) { srv.HalfClose, err = parseFlag(d.Args[0]); return }},
		{"proxy_protocol", func(d *Directive) (err error) { srv.ProxyProtocol, err = parseFlag(d.Args[0]); return }},
		{"proxy_socket_keepalive", func(d *Directive) (err error) { srv.SocketKeepalive, err = parseFlag(d.Args[0]); return }},
		{"tcp_nodelay", func(d *Directive) error { on, err := parseFlag(d.Args[0]); srv.NoDelayOff = !on; return err }},
		{"proxy_upload_rate", func(d *Directive) (err error) { srv.UploadRate, err = sizeValueOf(d); return }},
		{"proxy_download_rate", func(d *Directive) (err error) { srv.DownloadRate, err = sizeValueOf(d); return }},
		{"proxy_bind", func(d *Directive) error { return setStreamBind(srv, d) }},
		{"ssl_preread", func(d *Directive) (err error) { srv.Preread, err = parseFlag(d.Args[0]); return }},
		{"preread_buffer_size", func(d *Directive) error {
			n, err := parseSize(d.Args[0])
			srv.PrereadBufferSize = int(n)
			return err
		}},
		{"preread_timeout", func(d *Directive) (err error) { srv.PrereadTimeout, err = parseTime(d.Args[0], false); return }},
		{"mqtt_preread", func(d *Directive) (err error) { srv.MQTTPreread, err = parseFlag(d.Args[0]); return }},
		{"mqtt", func(d *Directive) (err error) { srv.MQTT, err = parseFlag(d.Args[0]); return }},
		{"mqtt_buffers", func(d *Directive) error { return setMQTTBuffers(srv, d) }},
		{"mqtt_rewrite_buffer_size", func(d *Directive) error {
			n, err := parseSize(d.Args[0])
			srv.MQTTRewriteBufferSize = int(n)
			return err
		}},
		{"mqtt_set_connect", func(d *Directive) error { return setMQTTConnect(srv, sc) }},
		{"proxy_protocol_timeout", func(d *Directive) (err error) {
			srv.ProxyProtocolTimeout, err = parseTime(d.Args[0], false)
			return
		}},
		{"limit_conn_dry_run", func(d *Directive) (err error) { srv.LimitConnDryRun, err = parseFlag(d.Args[0]); return }},
		{"limit_conn_log_level", func(d *Directive) (err error) { srv.LimitConnLogLevel, err = parseLimitLogLevel(d); return }},
	} {
		dirs, _ := sc.nearest(step.name)
		if len(dirs) == 0 {
			continue
		}
		if err := step.set(dirs[0]); err != nil {
			return err
		}
	}
	if len(srv.MQTTSetConnect) > 0 && !srv.MQTT {
		b.warn(srv.MQTTSetConnect[0].Pos, `add "mqtt on;" to the server or the stream block`, `"mqtt_set_connect" does nothing without "mqtt on"`)
	}
	return nil
}

// setMQTTBuffers reads "mqtt_buffers number size": both above zero.
func setMQTTBuffers(srv *StreamServer, d *Directive) error {
	n, err := parseInt(d.Args[0])
	if err != nil || n <= 0 {
		return hintf(d.Pos, "write a number of buffers above 0, such as mqtt_buffers 100 1k;", `invalid value "%s" in "mqtt_buffers" directive`, d.Args[0])
	}
	size, err := parseSize(d.Args[1])
	if err != nil || size <= 0 {
		return hintf(d.Pos, "write a buffer size above 0, such as 1k", `invalid value "%s" in "mqtt_buffers" directive`, d.Args[1])
	}
	srv.MQTTBuffers, srv.MQTTBufferSize = n, int(size)
	return nil
}

// setMQTTConnect reads the server's "mqtt_set_connect field value"
// directives: the field is clientid, username or password, each at most
// once.
func setMQTTConnect(srv *StreamServer, sc *scope) error {
	dirs, _ := sc.nearest("mqtt_set_connect")
	seen := map[string]Pos{}
	for _, d := range dirs {
		field := d.Args[0]
		switch field {
		case "clientid", "username", "password":
		default:
			return hintf(d.Pos, "the fields are clientid, username and password", `unknown field "%s" in "mqtt_set_connect" directive`, field)
		}
		if p, dup := seen[field]; dup {
			return hintf(d.Pos, fmt.Sprintf("keep one of the two; the first is at %s", p), `duplicate field "%s" in "mqtt_set_connect" directive`, field)
		}
		seen[field] = d.Pos
		srv.MQTTSetConnect = append(srv.MQTTSetConnect, MQTTSet{Field: field, Value: d.Args[1], Pos: d.Pos})
	}
	return nil
}

// setStreamBind reads "proxy_bind address | off": an IP address (without a
// port), or a value with variables; "transparent" is not supported.
func setStreamBind(srv *StreamServer, d *Directive) error {
	a := d.Args[0]
	if a == "off" && len(d.Args) == 1 {
		return nil
	}
	if !strings.Contains(a, "$") && (!validAddress(a) || strings.Contains(a, "/") || a == "unix:") {
		return hintf(d.Pos, "write an IP address such as 10.0.0.1", `invalid address "%s"`, a)
	}
	srv.Bind = a
	// "transparent" (checkUpstreamBind took no other parameter): bind with
	// IP_TRANSPARENT, so that the address may be a foreign one.
	srv.BindTransparent = len(d.Args) == 2
	return nil
}

// streamLogs reads the access_log and error_log settings, inherited from the
// stream level. A stream access_log names its format: there is no default.
func (b *builder) streamLogs(srv *StreamServer, sc *scope) error {
	if dirs, _ := sc.nearest("access_log"); len(dirs) > 0 {
		for _, d := range dirs {
			if d.Args[0] == "off" && len(d.Args) == 1 {
				srv.AccessLogs = nil
				break
			}
			if len(d.Args) < 2 {
				return hintf(d.Pos, "name a log_format of the stream block: access_log PATH FORMAT;", "log format is not specified")
			}
			l, err := b.accessLog(d)
			if err != nil {
				return err
			}
			srv.AccessLogs = append(srv.AccessLogs, l)
		}
	}
	if dirs, _ := sc.nearest("error_log"); len(dirs) > 0 {
		logs, err := b.errorLogs(dirs)
		if err != nil {
			return err
		}
		srv.ErrorLogs = logs
	}
	return nil
}

// streamLevelLogs reads the stream block's own access_log directives,
// checked as a server's are even when no server inherits them.
func (b *builder) streamLevelLogs(top *scope) ([]AccessLog, error) {
	var logs []AccessLog
	for _, d := range top.own("access_log") {
		if d.Args[0] == "off" && len(d.Args) == 1 {
			continue
		}
		if len(d.Args) < 2 {
			return nil, hintf(d.Pos, "name a log_format of the stream block: access_log PATH FORMAT;", "log format is not specified")
		}
		l, err := b.accessLog(d)
		if err != nil {
			return nil, err
		}
		logs = append(logs, l)
	}
	return logs, nil
}

// checkSSLALPN checks ssl_alpn's protocols as nginx's ngx_stream_ssl_alpn
// does: each goes on the wire after a one-byte length.
func checkSSLALPN(d *Directive) error {
	for _, p := range d.Args {
		if len(p) > 255 {
			return hintf(d.Pos, "an ALPN protocol name is at most 255 bytes, such as h2 or http/1.1", `"%s" directive protocol too long`, d.Name)
		}
	}
	return nil
}

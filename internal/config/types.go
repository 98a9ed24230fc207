package config

import (
	"io/fs"
	"net/netip"
	"time"

	"fulcrum/internal/pcre"
)

// Config is a loaded, validated configuration. It is immutable once Load returns:
// the daemon builds a snapshot from it and never changes it.
type Config struct {
	// Files lists every file read, main file first, for `fulcrum -T`.
	Files []SourceFile
	// Prefix is the absolute directory relative paths resolved against (-p, or
	// the main file's directory).
	Prefix string
	// Main holds the main context's settings (and the events block).
	Main Main
	// HTTP is the http block; nil when the configuration has none.
	HTTP *HTTP
	// Stream is the stream block (TCP proxying); nil when the configuration
	// has none.
	Stream *Stream
	// Mail is the mail block (the IMAP, POP3 and SMTP proxy); nil when the
	// configuration has none.
	Mail *Mail
	// UpstreamKeyLogs are the files of the proxy_ssl_key_log,
	// grpc_ssl_key_log and uwsgi_ssl_key_log directives (the stream
	// block's proxy_ssl_key_log too), one per path, in the order first
	// written; the daemon opens and attaches them (KeyLogFile) for http.
	// Package stream opens its own (the stream block outlives http
	// snapshots) and attaches copies.
	UpstreamKeyLogs []*KeyLogFile
	// Warnings are things worth telling the operator that do not stop the load,
	// such as directives that fulcrum accepts but ignores.
	Warnings []Warning
}

// Warning is a non-fatal finding at a place in the configuration.
type Warning struct {
	Pos Pos
	Msg string
	// Hint, if not empty, says what the finding means for requests or what to do,
	// such as "responses are sent uncompressed".
	Hint string
}

// String formats the warning as nginx would: "MESSAGE in FILE:LINE", followed by
// ", HINT" when there is a hint.
func (w Warning) String() string {
	s := w.Msg
	if w.Pos.File != "" {
		s += " in " + w.Pos.String()
	}
	if w.Hint != "" {
		s += ", " + w.Hint
	}
	return s
}

// Main is the main context: process-wide settings.
type Main struct {
	// WorkerProcesses maps to GOMAXPROCS; 0 means auto (all CPUs).
	WorkerProcesses int
	// WorkerConnections caps simultaneous client connections (events block);
	// default 1024.
	WorkerConnections int
	// PIDFile is the absolute path of the pid file; default <prefix>/logs/fulcrum.pid.
	PIDFile string
	// ErrorLogs are the main context's error_log targets; default
	// <prefix>/logs/error.log at level error.
	ErrorLogs []ErrorLog
	// WorkerShutdownTimeout bounds how long a graceful stop or reload waits for long
	// connections to finish; 0 means no limit.
	WorkerShutdownTimeout time.Duration
	// RlimitNofile is worker_rlimit_nofile: RLIMIT_NOFILE, soft and hard,
	// set at start and on a reload that changes it.
	RlimitNofile Limit
	// RlimitCore is worker_rlimit_core: RLIMIT_CORE in bytes, soft and hard.
	RlimitCore Limit
	// Priority is worker_priority, the nice value of every thread; 0 means
	// not set (the process keeps its priority), as in nginx.
	Priority int
	// WorkingDirectory is working_directory, the directory fulcrum changes
	// to (as given: a relative path is relative to the current directory,
	// as in nginx); "" means not set.
	WorkingDirectory string
}

// ErrorLog is one error_log target.
type ErrorLog struct {
	// Path is an absolute file path, or "stderr"; for a syslog: or memory:
	// target, the target as written ("syslog:server=10.0.0.1,tag=web").
	Path string
	// Level is the lowest level written.
	Level LogLevel
	// Syslog is the parsed syslog: target; its zero value (Addr "") means
	// Path is not one.
	Syslog Syslog
	// Memory is the size of a memory:SIZE target (nginx's debugging ring
	// buffer, which fulcrum does not keep: nothing is written); 0 means
	// Path is not one.
	Memory int64
	Pos    Pos
}

// Syslog is a "syslog:server=ADDRESS[,facility=F][,severity=S][,tag=T]
// [,nohostname]" log target (nginx's ngx_syslog_peer_t), resolved at load.
// It is comparable: two equal values are the same target.
type Syslog struct {
	// Network is "udp" (Addr "ip:port") or "unixgram" (Addr a socket path).
	Network string
	Addr    string
	// Facility is the syslog facility number (local7, 23, by default).
	Facility int
	// Severity is the severity number of access_log lines (info, 6, by
	// default); error_log lines have their own level's.
	Severity int
	// Tag is the tag (program name) of each message, "nginx" by default;
	// it may be "".
	Tag string
	// NoHostname leaves the hostname out of the message header.
	NoHostname bool
}

// LogLevel is an error log severity, from the least to the most severe.
type LogLevel int

// The error log levels, in nginx's order.
const (
	LevelDebug LogLevel = iota
	LevelInfo
	LevelNotice
	LevelWarn
	LevelError
	LevelCrit
	LevelAlert
	LevelEmerg
)

// HTTP is the http block.
type HTTP struct {
	// Servers are the server blocks in config order.
	Servers []*Server
	// Upstreams are the upstream blocks in config order, followed by the implicit
	// upstreams made for proxy_pass to a literal host:port.
	Upstreams []*Upstream
	// LogFormats maps log_format names to formats; "combined" is always present.
	LogFormats map[string]*LogFormat
	// AccessLogs are the access logs of the http level's own access_log
	// directives (none without one there: the default log is a server's).
	// No request is served at this level, but nginx opens every access_log
	// it reads, this level's too (an empty file when every server has its
	// own): the daemon opens these.
	AccessLogs []AccessLog
	// Types maps a lower-case file extension (without the dot) to a MIME type,
	// from the http level's types blocks; nginx's three built-in types (html, gif,
	// jpg) when it has none. Settings.Types is the effective map of each level.
	Types map[string]string
	// Maps are the map blocks in config order. The vars package evaluates them.
	Maps []*Map
	// Geos are the geo blocks in config order.
	Geos []*Geo
	// SplitClients are the split_clients blocks in config order.
	SplitClients []*SplitClients
	// JWTVarSets are the auth_jwt_claim_set and auth_jwt_header_set
	// directives in config order.
	JWTVarSets []JWTVarSet
	// LimitConnZones are the limit_conn_zone directives in config order.
	LimitConnZones []*LimitConnZone
	// LimitReqZones are the limit_req_zone directives in config order.
	LimitReqZones []*LimitReqZone
	// KeyvalZones are the keyval_zone directives and Keyvals the keyval
	// directives, in config order.
	KeyvalZones []*KeyvalZone
	Keyvals     []*Keyval
	// OIDCProviders are the oidc_provider blocks in config order (oidc.go).
	OIDCProviders []*OIDCProvider
	// GeoIP2 are the geoip2 blocks in config order; GeoIP2Proxies and
	// GeoIP2ProxyRecursive are geoip2_proxy and geoip2_proxy_recursive,
	// which apply to their variables without source=.
	GeoIP2               []*GeoIP2
	GeoIP2Proxies        []netip.Prefix
	GeoIP2ProxyRecursive bool
	// GeoIP are the legacy GeoIP databases (geoip_country, geoip_city,
	// geoip_org) and geoip_proxy; never nil once built.
	GeoIP *GeoIP
	// CachePaths are the proxy_cache_path directives in config order.
	CachePaths []*CachePath
	// Matches are the match blocks (NGINX Plus's health check tests) in
	// config order.
	Matches []*Match
	// ServerZones and LocationZones are the status_zone names of the
	// servers and of the locations, each once, in config order:
	// Server.StatusZoneID and Settings.LocationZoneID index them (plus one).
	ServerZones, LocationZones []string
}

// Map is a map block: Variable takes the Value of the first entry whose key
// matches Source (exact keys first, then the longest lead wildcard, the longest
// trail wildcard, then regexes in config order), else Default.
type Map struct {
	// Source is the string matched, with variables, such as "$http_upgrade".
	Source string
	// Variable is the name defined, without "$".
	Variable string
	// Default is the value when nothing matches; empty when not set.
	Default string
	// Hostnames allows wildcard keys ("*.example.org", "mail.*", ".example.org").
	Hostnames bool
	// Volatile marks the variable as not cacheable within a request.
	Volatile bool
	// Entries in config order.
	Entries []MapEntry
	Pos     Pos
}

// MapEntry is one "key value;" line of a map block.
type MapEntry struct {
	// Kind is NameExact, NameLeadWildcard or NameTrailWildcard (with hostnames), or
	// NameRegex for a key starting with "~" or "~*".
	Kind NameKind
	// Key is the lower-cased key for exact and wildcard kinds (exact keys match
	// case-insensitively, as nginx), the regex source (without "~" or "~*") for
	// regexes.
	Key   string
	Regex *pcre.Regexp
	// Value may contain variables, including the regex's captures.
	Value string
	Pos   Pos
}

// Upstream is an upstream block (or an implicit one for proxy_pass host:port).
type Upstream struct {
	Name string
	// Servers in config order; a hostname that resolved to several addresses
	// appears once per address.
	Servers []*UpstreamServer
	// Method is the balancing method; MethodRoundRobin unless the block says so.
	Method BalanceMethod
	// HashKey is the key template (with variables) for MethodHash.
	HashKey string
	// HashConsistent selects ketama consistent hashing for MethodHash.
	HashConsistent bool
	// RandomTwo selects "random two": the better of two random picks.
	RandomTwo bool
	// LeastTime is the time MethodLeastTime balances on, as written:
	// "header" or "last_byte" (http), "connect", "first_byte" or
	// "last_byte" (stream). LeastTimeInflight is its inflight parameter.
	LeastTime         string
	LeastTimeInflight bool
	// Queue is NGINX Plus's "queue number" (http only): how many requests
	// may wait for a server; 0 means no queue. QueueTimeout is its
	// timeout= (60s by default).
	Queue        int
	QueueTimeout time.Duration
	// Keepalive is the number of idle connections kept per server; fulcrum keeps
	// connections alive by default (see docs), so 0 means the default.
	Keepalive int
	// KeepaliveTimeout closes idle upstream connections after this long.
	KeepaliveTimeout time.Duration
	// KeepaliveRequests is the number of requests after which a connection is closed.
	KeepaliveRequests int
	// KeepaliveTime is the longest a connection is reused.
	KeepaliveTime time.Duration
	// Sticky is the upstream's session persistence (NGINX Plus's "sticky"
	// directive); nil when the block has none.
	Sticky *Sticky
	// NTLM is NGINX Plus's "ntlm": the upstream connection that carried a
	// request whose Authorization starts with "NTLM" or "Negotiate" is
	// bound to the client connection, which sends its later requests to
	// this upstream through it, and it closes with the client connection.
	NTLM bool
	// Zone is the name of the upstream's zone directive ("" without one).
	// fulcrum keeps every upstream's state shared anyway; health_check and
	// changes through the runtime API require a zone, as NGINX Plus does.
	Zone string
	// State is the absolute path of the upstream's state file (NGINX
	// Plus's "state" directive), "" without one. Its servers were read
	// from the file into Servers (which may then be empty); the runtime
	// API writes the file back after each change.
	State string
	// ZoneSize is the zone directive's size in bytes, 0 when it gives none
	// (another upstream sharing the zone must); ZonePos is where it is.
	ZoneSize int64
	ZonePos  Pos
	// Resolves are the server lines marked resolve: their names are
	// resolved again while fulcrum runs (their addresses at load are in
	// Servers), with Resolver (the upstream's, else the http level's).
	Resolves []*ResolvedName
	Resolver *DNSResolver
	// Implicit marks an upstream made from a proxy_pass host:port.
	Implicit bool
	Pos      Pos
}

// StickyMode is the method of a sticky directive.
type StickyMode int

// The sticky methods.
const (
	// StickyCookie: fulcrum sets a cookie naming the server.
	StickyCookie StickyMode = iota
	// StickyRoute: the request carries the server's route in variables.
	StickyRoute
	// StickyLearn: fulcrum learns the sessions the servers create from
	// their responses and sends each session's requests to its server.
	StickyLearn
)

// Sticky is "sticky cookie name [expires=time] [domain=domain] [httponly]
// [samesite=strict|lax|none|$variable] [secure] [path=path]" or "sticky route
// $variable ...". The server a request is bound to is found by its ID:
// route= when the server line has one, else the MD5 of its address.
type Sticky struct {
	Mode StickyMode
	// Lookup are the templates whose first non-empty value is the request's
	// server ID: "$cookie_NAME" for the cookie method, the variables of the
	// route method.
	Lookup []string
	// Cookie is the cookie method's cookie; nil for route and learn.
	Cookie *StickyCookieSpec
	// Create are the learn method's templates whose first non-empty value,
	// read from a server's response, names a session it created; Zone and
	// ZoneSize name and size the sessions' table, Timeout is how long a
	// session lasts without a request, and Header says that a session is
	// learned when the response's head arrives instead of at its end.
	Create   []string
	Zone     string
	ZoneSize int64
	Timeout  time.Duration
	Header   bool
	Pos      Pos
}

// StickyCookieSpec is the cookie a sticky cookie upstream sets.
type StickyCookieSpec struct {
	Name string
	// Expires is the expires= time; ExpiresSet says whether one was given
	// (without, the cookie lasts the browser session) and ExpiresMax that
	// it was "max" (31 Dec 2037 23:55:55 GMT).
	Expires    time.Duration
	ExpiresSet bool
	ExpiresMax bool
	// Domain and SameSite are templates (they may hold variables); empty
	// means the attribute is not set.
	Domain   string
	SameSite string
	Path     string
	HTTPOnly bool
	Secure   bool
}

// BalanceMethod is an upstream's balancing method.
type BalanceMethod int

// The balancing methods.
const (
	MethodRoundRobin BalanceMethod = iota
	MethodLeastConn
	MethodIPHash
	MethodHash
	MethodRandom
	MethodLeastTime
)

// UpstreamServer is one server line of an upstream block, after name resolution.
type UpstreamServer struct {
	// Name is the address as written (host:port, host, or unix:/path).
	Name string
	// Network is "tcp" or "unix".
	Network string
	// Addr is the resolved "ip:port" (IPv6 in brackets) or the socket path.
	Addr        string
	Weight      int
	MaxFails    int
	FailTimeout time.Duration
	MaxConns    int
	Backup      bool
	Down        bool
	// SlowStart is NGINX Plus's slow_start=time (0: off).
	SlowStart time.Duration
	// Route is NGINX Plus's route=string, the server's sticky ID.
	Route string
	// Resolve is the resolve parameter: the name is resolved again while
	// fulcrum runs (Upstream.Resolves).
	Resolve bool
	Pos     Pos
}

// Server is a server block.
type Server struct {
	Listens []Listen
	// Names are the server_name entries in config order.
	Names []ServerName
	// Locations are the top-level locations in config order.
	Locations []*Location
	// Settings are the server level's effective settings (http defaults applied);
	// they serve requests that match no location.
	Settings *Settings
	// TLS is the server's ssl_* settings (its own or the http level's); nil
	// when no level writes any.
	TLS *TLS
	// SSLOn is the deprecated "ssl on" in effect (the server's own or the
	// http level's). When this server is the default server of an address,
	// every listen on that address speaks TLS (its Listen.SSL is set), as
	// in nginx; elsewhere it changes nothing but requires a certificate.
	SSLOn bool
	// StatusZone is the server's status_zone (NGINX Plus), "" without one;
	// StatusZoneID is its index in HTTP.ServerZones plus one, 0 without.
	// Several servers may share a zone.
	StatusZone   string
	StatusZoneID int
	Pos          Pos
}

// Listen is one listen directive.
type Listen struct {
	// Network is "tcp" or "unix".
	Network string
	// Addr is "host:port" with the host as an IP ("0.0.0.0:80", "[::]:80",
	// "127.0.0.1:8080") or the socket path.
	Addr          string
	DefaultServer bool
	// IPv6Only is set for an IPv6 address unless "ipv6only=off" was given, as in
	// nginx: "listen [::]:80" then does not also take IPv4 connections, so it can
	// sit next to "listen 80". The daemon must set IPV6_V6ONLY accordingly.
	IPv6Only bool
	// SSL is the "ssl" parameter: connections to this address speak TLS. As
	// in nginx, one listen with ssl makes the address ssl for every server
	// on it.
	SSL bool
	// HTTP2 is the "http2" parameter: an ssl address offers HTTP/2 by ALPN
	// (one listen with it makes the address's port HTTP/2 for every server
	// on it, as with ssl). fulcrum has no plain-text HTTP/2 (h2c): on an
	// address without ssl it is accepted with a warning and ignored.
	HTTP2 bool
	// ProxyProtocol is the "proxy_protocol" parameter: each connection to
	// the address starts with a PROXY protocol header, read before TLS and
	// the first request (nginx ORs it over the address's listens, as ssl).
	ProxyProtocol bool
	// Options is set when the listen gives a socket option (backlog=,
	// rcvbuf=, reuseport, bind, ipv6only=, ...: nginx's lsopt.set). nginx
	// takes them from one listen per address: a second such listen of the
	// address in another server is "duplicate listen options".
	Options bool
	Pos     Pos
}

// NameKind says how a server_name entry matches.
type NameKind int

// The server_name kinds, in nginx's order of precedence.
const (
	NameExact         NameKind = iota // example.org
	NameLeadWildcard                  // *.example.org (and the wildcard half of .example.org)
	NameTrailWildcard                 // mail.*
	NameRegex                         // ~^www\d+\.example\.net$
)

// ServerName is one server_name entry. ".example.org" becomes two entries: an exact
// "example.org" and a lead wildcard "*.example.org".
type ServerName struct {
	Kind NameKind
	// Name is the lower-cased name for exact and wildcard kinds, the source
	// (without "~") for regexes.
	Name string
	// Regex is the compiled pattern for NameRegex (case-insensitive, as nginx).
	Regex *pcre.Regexp
	Pos   Pos
}

// Modifier is a location's match modifier.
type Modifier int

// The location modifiers.
const (
	ModPrefix        Modifier = iota // location /path
	ModExact                         // location = /path
	ModPrefixNoRegex                 // location ^~ /path
	ModRegex                         // location ~ pattern
	ModRegexCaseless                 // location ~* pattern
	ModNamed                         // location @name
)

// Location is a location block.
type Location struct {
	Modifier Modifier
	// Path is the prefix or exact path, the regex source, or the name (with "@").
	Path string
	// Regex is the compiled pattern for regex modifiers.
	Regex *pcre.Regexp
	// Locations are the nested locations in config order.
	Locations []*Location
	// Settings are the effective settings after inheritance.
	Settings *Settings
	// Implicit marks the location of an if block (If.Location): it has its
	// enclosing location's modifier and path, and routing never finds it.
	Implicit bool
	// LimitExcept is the location's limit_except block, nil without one;
	// the implicit locations of its if blocks share it.
	LimitExcept *LimitExcept
	Pos         Pos
}

// LimitExcept is a limit_except block: requests whose method is not one of
// Methods are served with Settings, the location's settings as the block's
// allow, deny, auth_basic and auth_basic_user_file change them (nginx's
// limit_except_loc_conf, merged from the location). As in nginx, what is
// not merged into that nameless location is not in Settings: the
// location's rewrite-module script (rewrite, return, if, set), try_files,
// and content handlers other than proxy_pass (which nginx's proxy module
// merges in). Nested locations do not inherit it; the location's if
// blocks do.
type LimitExcept struct {
	// Methods are the listed methods, upper-cased; GET brings HEAD.
	Methods []string
	// Settings are the block's effective settings.
	Settings *Settings
	Pos      Pos
}

// Applies reports whether the block restricts a request with method: any
// method not listed, including methods nginx does not know.
func (l *LimitExcept) Applies(method string) bool {
	for _, m := range l.Methods {
		if m == method {
			return false
		}
	}
	return true
}

// AuthBasic is auth_basic with auth_basic_user_file as they apply to a level
// (ngx_http_auth_basic_module); each is inherited on its own.
type AuthBasic struct {
	// Realm is auth_basic's string, which may hold variables: a realm that
	// evaluates to "off" turns the check off for the request.
	Realm string
	// UserFile is auth_basic_user_file's path, which may hold variables; a
	// relative path not starting with a variable is resolved against the
	// configuration's directory, as nginx does.
	UserFile string
	// ConfDir is the configuration's directory (nginx's conf_prefix),
	// which a relative value UserFile evaluates to is taken from.
	ConfDir string
	// RealmPos and UserFilePos are where the two directives are written.
	RealmPos, UserFilePos Pos
}

// AuthRequestSet is one "auth_request_set $variable value;": after the
// auth_request subrequest, Value (which may hold variables, evaluated in the
// subrequest) is assigned to the variable Name (without its "$").
type AuthRequestSet struct {
	Name, Value string
	Pos         Pos
}

// Settings are the per-request settings of a server or location after nginx's
// inheritance: http -> server -> location -> nested location. A value set at a
// lower level replaces the inherited one; array directives (proxy_set_header,
// add_header, access_log, proxy_hide_header, ...) are inherited as a whole, only
// when the lower level sets none of them.
//
// Every Server and Location has its own, fully filled Settings (never nil); the
// unset parts have nginx's defaults. Two directives are not inherited, as in nginx:
// proxy_pass and the rewrite module's script (Rewrites) belong to the level that
// has them, not to the locations nested in it (an if block's implicit location
// does inherit its location's proxy_pass).
type Settings struct {
	// Rewrites are the level's own rewrite-module directives (rewrite, return,
	// set, break, if) in config order: the script nginx runs for the server
	// before it chooses a location, or for the location once chosen. Empty
	// for most levels; a return in it answers before any content handler.
	Rewrites []Step
	// RewriteLog (rewrite_log) logs each rewrite's match and result at the
	// notice level.
	RewriteLog bool
	// UninitializedVariableWarn (uninitialized_variable_warn, on by default)
	// logs a warning when a variable that set gives a value is read before
	// any set ran.
	UninitializedVariableWarn bool
	// ProxyPass, when set, forwards requests.
	ProxyPass *ProxyPass
	// FastCGI holds the fastcgi_* settings; FastCGI.Pass, when set, sends
	// requests to a FastCGI server (fastcgi.go).
	FastCGI FastCGI
	// SCGI holds the scgi_* settings; SCGI.Pass, when set, sends requests
	// to an SCGI server (fastcgi.go).
	SCGI FastCGI
	// UWSGI holds the uwsgi_* settings; UWSGI.Pass, when set, sends
	// requests to a uwsgi server (fastcgi.go).
	UWSGI FastCGI
	// Memcached holds the memcached_* settings; Memcached.Pass, when set,
	// answers requests from a memcached server (memcached.go).
	Memcached Memcached
	// HealthChecks are the level's own health_check directives (not
	// inherited), checking ProxyPass's upstream group.
	HealthChecks []*HealthCheck
	// StubStatus (the stub_status directive, not inherited) answers with
	// nginx's status page. It is false when a proxy_pass comes after it in
	// the same block: nginx's last content handler wins.
	StubStatus bool
	// API (the api directive, NGINX Plus's runtime API; not inherited)
	// answers with the JSON API; APIWrite (api write=on) allows its
	// PATCH requests. Metrics (fulcrum's metrics directive, not
	// inherited) answers with the counters in Prometheus's text format.
	// Like StubStatus, each is false when another content handler
	// (proxy_pass, stub_status, api, metrics, dashboard) comes after it in
	// the block.
	API, APIWrite, Metrics bool
	// Dashboard (fulcrum's dashboard directive, not inherited), when not
	// "", makes the location answer with the live dashboard page, which
	// polls the runtime API at this path on the same server ("/api" by
	// default; dashboard api=/path). "" when another content handler comes
	// after it in the block, as for API.
	Dashboard string
	// EmptyGIF (the empty_gif directive, not inherited) answers with a
	// 1x1 transparent GIF. Like StubStatus, it is false when another
	// content handler (proxy_pass, stub_status) comes after it in the block.
	EmptyGIF bool
	// Autoindex (autoindex, off by default) lists a directory that has no
	// index file instead of answering 403, in AutoindexFormat ("html",
	// the default, "xml", "json" or "jsonp"), with exact sizes unless
	// AutoindexExactSize (on by default) is off, and times in the server's
	// zone when AutoindexLocaltime is on (UTC by default).
	Autoindex, AutoindexExactSize, AutoindexLocaltime bool
	AutoindexFormat                                   string
	// RandomIndex (random_index on, a location's, inherited by nested
	// locations) answers a directory's URI with a random regular file of
	// the directory, before the index files are looked for.
	RandomIndex bool
	// FLV (the flv directive, a location's own, not inherited) serves the
	// location's files as nginx's flv module: "?start=N" sends the FLV
	// header and the file from byte N. It is set only when flv is the last
	// of the level's content handler directives (proxy_pass, fastcgi_pass,
	// ...), which nginx lets the last one win.
	FLV bool
	// MP4 is the mp4 module's settings (mp4 and its kin).
	MP4 MP4
	// ImageFilter is the image filter module's settings (image_filter and
	// its kin).
	ImageFilter ImageFilter
	// LocationZone is the location's status_zone (NGINX Plus), its own or
	// an enclosing location's, "" without one (a server's status_zone is
	// not a location zone); LocationZoneID is its index in
	// HTTP.LocationZones plus one, 0 without.
	LocationZone   string
	LocationZoneID int
	// Internal (the internal directive) answers 404 to a request that reaches
	// the location directly; only internal redirects (error_page, try_files,
	// index, X-Accel-Redirect) are served.
	Internal bool

	// Static files.
	Root  string // absolute; default <prefix>/html
	Alias string // absolute; empty when unset; when set, it replaces Root
	// AliasPath is the path of the location where Alias was written, which
	// a nested location inherits with it (nginx's clcf->alias is that
	// location's name length): the alias replaces the first len(AliasPath)
	// bytes of $uri. AliasRegex reports that location a regex one: there
	// the alias is the whole file name. Both are zero without an alias.
	AliasPath  string
	AliasRegex bool
	// Types maps lower-case extensions to MIME types: the nearest level's types
	// blocks (inherited as a whole), else nginx's built-in html, gif and jpg.
	Types    map[string]string
	Index    []string
	TryFiles []string
	// DisableSymlinks is disable_symlinks (SymlinksOff, the default, follows
	// every link the document root allows). DisableSymlinksFrom is its
	// "from=" part as written (may have variables, "$document_root" most
	// often); empty means every component of a path is checked.
	DisableSymlinks     SymlinkPolicy
	DisableSymlinksFrom string
	DefaultType         string

	// Proxy request and response rewriting. ProxySetHeaders are the headers the
	// configuration sets; the proxy adds nginx's default "Host: $proxy_host" itself
	// unless Host is among them. ProxyHideHeaders likewise lists only the
	// configured ones, not nginx's built-in list (Date, Server, X-Accel-...).
	// ProxyRedirects is [{Default: true}] unless the configuration says otherwise;
	// "proxy_redirect off" is [{Off: true}].
	ProxySetHeaders  []HeaderTemplate
	ProxyHideHeaders []string
	// IgnoreAccelRedirect (proxy_ignore_headers X-Accel-Redirect) passes an
	// upstream's X-Accel-Redirect response on instead of following it.
	IgnoreAccelRedirect bool
	// IgnoreAccelLimitRate (proxy_ignore_headers X-Accel-Limit-Rate) keeps
	// an upstream's X-Accel-Limit-Rate from setting the response's rate.
	IgnoreAccelLimitRate bool
	// IgnoreAccelBuffering (proxy_ignore_headers X-Accel-Buffering) keeps
	// an upstream's X-Accel-Buffering from deciding, with ProxyBuffering,
	// whether nginx reads the response buffered: an unbuffered one is
	// flushed piece by piece, paced by neither limit_rate nor
	// proxy_limit_rate, and neither cached nor stored.
	IgnoreAccelBuffering bool
	// IgnoreAccelCharset (proxy_ignore_headers X-Accel-Charset) keeps an
	// upstream's X-Accel-Charset from setting the response's charset.
	IgnoreAccelCharset      bool
	ProxyPassHeaders        []string
	ProxyPassRequestHeaders bool
	ProxyPassRequestBody    bool
	// EarlyHints are early_hints's parameters (nginx 1.29.0): an
	// upstream's 103 (Early Hints) goes on to the client when one of them
	// evaluates neither empty nor "0"; nil (no early_hints) drops it.
	// EarlyHintsPos is the directive's place, for errors.
	EarlyHints    []string
	EarlyHintsPos Pos
	// ProxyPassTrailers (proxy_pass_trailers, nginx 1.27.2) passes the
	// trailer fields of an upstream's chunked response on to the client;
	// false (the default) drops them, as nginx does. The Trailer field that
	// announces them is passed either way.
	ProxyPassTrailers bool
	// ProxySetBody is proxy_set_body's text; nil without one, "" for an
	// empty body (proxy_set_body "").
	ProxySetBody     *string
	ProxyMethod      string
	ProxyHTTPVersion string // "1.0" or "1.1"; default "1.1" (keep-alive on)
	ProxyRedirects   []ProxyRedirect
	// ProxyCookieDomains, ProxyCookiePaths and ProxyCookieFlags are the
	// proxy_cookie_domain, _path and _flags rules of the nearest level that
	// has any, in order; nil when there are none or that level says "off".
	ProxyCookieDomains    []CookieRewrite
	ProxyCookiePaths      []CookieRewrite
	ProxyCookieFlags      []CookieFlags
	ProxyBuffering        bool
	ProxyRequestBuffering bool
	// ProxyForceRanges (proxy_force_ranges on): nginx's range filter may
	// cut an upstream's 200 whatever its Accept-Ranges field, which is not
	// passed on; the filter writes its own.
	ProxyForceRanges bool
	// ProxyLimitRate (proxy_limit_rate) is the rate in bytes per second an
	// upstream's response body is read at, per request, when ProxyBuffering
	// is on; 0 means no limit.
	ProxyLimitRate int64
	// ProxyInterceptErrors (proxy_intercept_errors on): an upstream response
	// with a status of 300 or more that the location's ErrorPages list is
	// answered by that error_page instead, its body discarded.
	ProxyInterceptErrors bool
	// ProxyIgnoreClientAbort (proxy_ignore_client_abort on): a client that
	// goes away does not end the upstream exchange; the response is read and
	// passed on until a write to the client fails, and the request is logged
	// with the upstream's status instead of 499. Off (the default), the
	// exchange ends as soon as the client is found gone.
	ProxyIgnoreClientAbort bool
	// ProxySocketKeepalive (proxy_socket_keepalive on) sets SO_KEEPALIVE,
	// with the system's intervals, on new upstream connections; off (the
	// default) leaves it off, as nginx does.
	ProxySocketKeepalive bool

	// ProxyBufferSize is proxy_buffer_size (4k, a memory page): the
	// longest response head (status line, fields and the empty line) an
	// upstream may send; a longer one is nginx's "upstream sent too big
	// header", an invalid_header failure (502).
	ProxyBufferSize int64

	// Proxy timeouts and retries.
	ProxyConnectTimeout      time.Duration
	ProxyReadTimeout         time.Duration
	ProxySendTimeout         time.Duration
	ProxyNextUpstream        NextUpstream
	ProxyNextUpstreamTries   int
	ProxyNextUpstreamTimeout time.Duration
	// ProxySSL is how fulcrum speaks TLS to upstreams (proxy_pass https://).
	ProxySSL ProxySSL
	// ProxyBind is proxy_bind: the local address of connections to
	// upstreams; its zero value lets the system pick.
	ProxyBind ProxyBind
	// Resolver is the level's resolver directive (nil: none), used by a
	// proxy_pass with variables whose value names a host; ResolverTimeout
	// is resolver_timeout.
	Resolver        *DNSResolver
	ResolverTimeout time.Duration

	// GRPCPass, when set, forwards the location's requests to a gRPC
	// server (grpc_pass); GRPC holds the grpc_* settings (grpc.go).
	GRPCPass *GRPCPass
	GRPC     GRPCSettings

	// Client limits and timeouts.
	ClientMaxBodySize int64 // 0 means no limit
	// ClientBodyBufferSize (client_body_buffer_size) bounds the part of a
	// request body kept in memory; a longer one goes to a temporary file
	// in ClientBodyTempPath. ClientBodyInFileOnly is one of the
	// BodyInFile* modes; ClientBodyInSingleBuffer is
	// client_body_in_single_buffer (fulcrum keeps a body in memory in one
	// buffer anyway).
	ClientBodyBufferSize     int64
	ClientBodyTempPath       TempPath
	ClientBodyInFileOnly     int8
	ClientBodyInSingleBuffer bool
	ClientHeaderTimeout      time.Duration
	ClientBodyTimeout        time.Duration
	SendTimeout              time.Duration
	// LimitRate (limit_rate) is the rate in bytes per second a response is
	// sent to the client at, per request; LimitRateAfter (limit_rate_after)
	// the bytes sent before it applies. A request's "set $limit_rate", an
	// upstream's X-Accel-Limit-Rate and a response read unbuffered
	// (*_buffering off, X-Accel-Buffering: no) replace LimitRate (vars.State.LimitRateSet). The zero values mean no limit.
	LimitRate, LimitRateAfter SizeValue
	// Slice (slice, 0 for off) is the size of the slices nginx's slice
	// module fetches a response in: where a request reads $slice_range
	// (proxy_set_header Range $slice_range), the upstream is asked for
	// one aligned range of Slice bytes at a time and the client gets the
	// response they make up (internal/slice). Inherited.
	Slice            int64
	KeepaliveTimeout time.Duration
	// KeepaliveHeaderTimeout is keepalive_timeout's second argument, sent as
	// "Keep-Alive: timeout=N"; 0 means no such header.
	KeepaliveHeaderTimeout time.Duration
	// KeepaliveMinTimeout is keepalive_min_timeout (nginx 1.27.4; 0, the
	// default, for none): for this long after a response, a keep-alive
	// connection waiting for its next request is not closed by a graceful
	// stop, which also keeps alive the connections whose requests it
	// finishes.
	KeepaliveMinTimeout time.Duration
	KeepaliveRequests   int
	// KeepaliveTime is the longest a client connection is kept alive (1h).
	KeepaliveTime            time.Duration
	LargeClientHeaderBuffers BufferSpec
	// ClientHeaderBufferSize (client_header_buffer_size, 1k) is the first
	// buffer a request head is read into; a head that fits it is bounded by
	// nothing else, one that overflows it moves on to
	// LargeClientHeaderBuffers (see h1.Limits.HeaderBuffer).
	ClientHeaderBufferSize int64
	// HTTP2 (http2 on|off, nginx 1.25.1+; off) offers HTTP/2 by ALPN on
	// the server's ssl addresses, as the listen parameter "http2" does for
	// its whole address; see HTTP2Settings for the rest of the module.
	HTTP2 bool
	// HTTP2Pos is where the http2 directive that set HTTP2 is (zero: none).
	HTTP2Pos Pos
	HTTP2Settings
	UnderscoresInHeaders bool
	IgnoreInvalidHeaders bool
	// MergeSlashes (merge_slashes, default on) merges runs of "/" in the
	// request path into one before locations are matched. As in nginx, the
	// request path is normalised with the value of the address's default
	// server (or of the server its TLS SNI name chose), not the server that
	// the Host header chooses later.
	MergeSlashes bool

	SetRealIPFrom   []string // CIDRs or addresses
	RealIPHeader    string
	RealIPRecursive bool

	// Access are the allow and deny rules (ngx_http_access_module) of the nearest
	// level that has any, in the order written; a level with its own rules does
	// not see its parent's. Nil means no rule anywhere: every client is let in.
	// The first rule that matches the client decides; when none matches, the
	// client is let in.
	Access []AccessRule
	// AuthBasic is the basic authentication check, nil when auth_basic is
	// off or when either directive is missing from the chain of levels.
	AuthBasic *AuthBasic
	// AuthRequest is auth_request's URI, "" when off or not written
	// (ngx_http_auth_request_module): before the content handler a
	// subrequest to it decides whether the request may go on.
	AuthRequest string
	// AuthRequestPos is where auth_request is written.
	AuthRequestPos Pos
	// AuthRequestSets are the auth_request_set directives of the nearest
	// level that has any, in the order written.
	AuthRequestSets []AuthRequestSet
	// InternalRedirect is NGINX Plus's internal_redirect (1.23.4): the URI
	// or "@name" the request is redirected to after the preaccess and
	// access phases (limit_req, limit_conn, allow/deny, auth_*), as written
	// (it may hold variables); "" when not written. An empty evaluated
	// value makes no redirect.
	InternalRedirect string
	// InternalRedirectPos is where internal_redirect is written.
	InternalRedirectPos Pos
	// AuthJWT is the JSON Web Token check (auth_jwt), nil when auth_jwt
	// is off or not written on the chain of levels.
	AuthJWT *AuthJWT
	// AuthOIDC is the oidc_provider that auth_oidc names; "" when auth_oidc
	// is off or not written on the chain of levels.
	AuthOIDC string
	// DAVMethods (dav_methods, ngx_http_dav_module) are the WebDAV methods
	// the static file handler carries out on the root or alias; none by
	// default ("dav_methods off"), when those methods are answered 405.
	DAVMethods DAVMethods
	// DAVAccess (dav_access, default user:rw) are the permission bits of
	// the files PUT creates and, with x added wherever r is, of the
	// directories MKCOL and create_full_put_path create.
	DAVAccess fs.FileMode
	// CreateFullPutPath (create_full_put_path, off by default) lets PUT
	// create the missing directories on its file's path.
	CreateFullPutPath bool
	// MinDeleteDepth (min_delete_depth, 0 by default) is how many "/"
	// segments a DELETE's URI must have, with something after the last
	// counted one, else the DELETE is refused with 409.
	MinDeleteDepth int
	// AddBeforeBody and AddAfterBody (add_before_body, add_after_body,
	// ngx_http_addition_module) are the URIs whose answers, as
	// subrequests, go before and after a 200 response's body; "" when not
	// written.
	AddBeforeBody, AddAfterBody string
	// AdditionTypes are addition_types' MIME types, lower-case, besides
	// text/html, which always gets the additions; AdditionAnyType is
	// "addition_types *".
	AdditionTypes   []string
	AdditionAnyType bool
	// SSI is the server-side includes filter (ssi and its kin).
	SSI SSI
	// SubrequestOutputBufferSize is subrequest_output_buffer_size (4k):
	// the most of a subrequest's body kept in memory (an SSI include's
	// set=).
	SubrequestOutputBufferSize int64
	// ValidReferers is the nearest level's valid_referers, which
	// $invalid_referer checks the Referer field against; nil when no level
	// writes any ($invalid_referer is then empty).
	ValidReferers *ValidReferers
	// SecureLink is what $secure_link checks; nil when the chain of levels
	// gives no complete check ($secure_link is then not found).
	SecureLink *SecureLink
	// Userid is the userid module's settings (the uid cookie and $uid_got,
	// $uid_set); Mode UseridOff, the default, leaves the request alone.
	Userid Userid
	// Browser is the browser module's settings ($modern_browser,
	// $ancient_browser).
	Browser Browser
	// Mirrors are the mirror URIs of the nearest level that writes mirror
	// (ngx_http_mirror_module), in the order written; nil when none or
	// "mirror off". Each gets a background subrequest with the request's
	// method, header fields and arguments, whose answer is discarded.
	Mirrors []string
	// MirrorRequestBody (mirror_request_body, default on) reads the
	// request body before the mirrors start and gives it to each of them.
	MirrorRequestBody bool
	// PostAction is post_action: a URI ("/...") or a named location
	// ("@name") the main request goes to once its response is sent, as an
	// internal redirect whose answer is discarded; "" for none ("post_action
	// off", or none written).
	PostAction string
	// SatisfyAny (satisfy any) lets a request in when either the access
	// rules or the authentication allow it; otherwise (satisfy all, the
	// default) both must.
	SatisfyAny bool
	// LimitConn are the limit_conn directives of the nearest level with any
	// (nginx inherits the list only into a level that sets none); nil means
	// requests here are not counted at all.
	LimitConn []LimitConn
	// LimitConnStatus answers a request over a limit_conn (default 503).
	LimitConnStatus int
	// LimitConnLogLevel is the level of the "limiting connections" line.
	LimitConnLogLevel LogLevel
	// LimitConnDryRun counts and logs but lets every request through.
	LimitConnDryRun bool
	// LimitReq are the limit_req directives of the nearest level with any
	// (nginx inherits the list only into a level that sets none), in the order
	// written; nil means requests here are not rate-limited.
	LimitReq []LimitReq
	// LimitReqStatus answers a request over a limit_req burst (default 503).
	LimitReqStatus int
	// LimitReqLogLevel is the level of the "limiting requests" line; the
	// "delaying request" line is one level lower (nginx's delay_log_level:
	// error -> warn, warn -> notice, notice and info -> info).
	LimitReqLogLevel LogLevel
	// LimitReqDryRun accounts requests and logs the excess but never delays or
	// rejects one ($limit_req_status says what would have happened).
	LimitReqDryRun bool

	// Responses.
	AddHeaders []HeaderTemplate
	// AddTrailers are add_trailer's fields, sent in the trailer section of
	// a chunked HTTP/1.1 response; nil when the level has none.
	AddTrailers []HeaderTemplate
	// Expires is the expires directive's setting (off by default).
	Expires    Expires
	ErrorPages []ErrorPage
	// RecursiveErrorPages lets an error page's own error follow error_page
	// again (off by default: the first error_page is the last).
	RecursiveErrorPages bool
	AbsoluteRedirect    bool
	// PortInRedirect and ServerNameInRedirect shape the absolute redirects
	// fulcrum builds: the request's port (on by default), and the server's
	// primary name instead of the request's host (off by default).
	PortInRedirect       bool
	ServerNameInRedirect bool
	ServerTokens         bool
	// Gzip is the response compression (gzip and its kin).
	Gzip Gzip
	// ProxyCache are the proxy_cache* directives (cache.go).
	ProxyCache CacheSettings
	// ProxyStore is proxy_store: "" for off (the default), the file name
	// template otherwise (StoreRequestFilename for "on"). A 200 response
	// read whole from the upstream is saved there. When set, ProxyCache.Zone
	// is nil, as nginx turns the cache off.
	ProxyStore string
	// ProxyStoreAccess is proxy_store_access: the saved file's permission
	// bits (0600 by default); directories created for it get it with x
	// added where r is.
	ProxyStoreAccess fs.FileMode
	// Charset is the charset added to Content-Type (charset and its kin).
	Charset Charset
	// SubFilter is the response body substitution (sub_filter and its kin).
	SubFilter SubFilter

	// Logging. ErrorLogs are the nearest level's error_log targets, else the main
	// context's.
	AccessLogs []AccessLog
	ErrorLogs  []ErrorLog

	// CoreFlags are etag, if_modified_since, max_ranges, auth_delay,
	// chunked_transfer_encoding, log_not_found and the closing directives.
	CoreFlags
}

// AccessRule is one allow or deny directive.
type AccessRule struct {
	// Deny is true for deny, false for allow.
	Deny bool
	// All matches every client ("all"). Unix matches the clients of unix
	// sockets ("unix:"). Otherwise Prefix, an IPv4 or IPv6 network with its host
	// bits cleared (an address is a /32 or /128), matches the clients in it.
	All    bool
	Unix   bool
	Prefix netip.Prefix
	Pos    Pos
}

// Return is the return directive: a status with optional text or URL.
type Return struct {
	Code int
	// Text is the body (for codes other than 301, 302, 303, 307, 308) or the
	// redirect URL; it may contain variables.
	Text string
	Pos  Pos
}

// ProxyPass is the proxy_pass directive.
type ProxyPass struct {
	// URL is the argument as written.
	URL string
	// Scheme is "http" or "https" (TLS to the upstream, with ProxySSL). It is
	// empty when the scheme itself comes from a variable
	// ("$upstream_proto://app:80", as SWAG's samples write): each request's
	// evaluated URL then decides, as in nginx's ngx_http_proxy_eval.
	Scheme string
	// Upstream is the upstream block named by the URL, or the implicit upstream of
	// its host:port. It is nil when the URL contains variables: the URL is then
	// evaluated per request (Scheme is its literal "http" or "https", or empty).
	Upstream *Upstream
	// Host is the URL's host[:port] as written, the value of $proxy_host.
	Host string
	// URI is the URI part ("/api/"), empty when HasURI is false.
	URI    string
	HasURI bool
	// HasVariables reports that URL contains variables and is evaluated per request.
	HasVariables bool
	Pos          Pos
}

// HeaderTemplate is a header name with a value template (variables allowed), from
// proxy_set_header or add_header.
type HeaderTemplate struct {
	Name  string
	Value string
	// Always is add_header's (and add_trailer's) "always" flag.
	Always bool
	Pos    Pos
}

// ProxyBind is a proxy_bind directive.
type ProxyBind struct {
	// Addr is the local address: an IP address, optionally with a port
	// ("127.0.0.2", "[::1]:4000"), or, when HasVariables, a template
	// evaluated per request to one. Empty means the system picks (no
	// proxy_bind, or "proxy_bind off").
	Addr         string
	HasVariables bool
	// Transparent is the "transparent" parameter: the connections bind
	// with IP_TRANSPARENT, so Addr may be a foreign address.
	Transparent bool
	Pos         Pos
}

// ProxyRedirect is one proxy_redirect directive.
type ProxyRedirect struct {
	// Default is "proxy_redirect default"; Off is "proxy_redirect off".
	Default bool
	Off     bool
	// From is the text or regex (when Regex is set) to replace; To the replacement.
	From  string
	Regex *pcre.Regexp
	To    string
	Pos   Pos
}

// NextUpstream is the set of proxy_next_upstream conditions.
type NextUpstream uint16

// The proxy_next_upstream conditions.
const (
	NextError NextUpstream = 1 << iota
	NextTimeout
	NextInvalidHeader
	NextHTTP500
	NextHTTP502
	NextHTTP503
	NextHTTP504
	NextHTTP403
	NextHTTP404
	NextHTTP429
	NextNonIdempotent
	// NextOff is "off": no retries at all. When set, no other bit is.
	NextOff
)

// StatusNextUpstream is the next_upstream condition a response status can
// trigger (http_500 for 500, ...); 0 for statuses that never retry. A module
// whose directive has no such value (fastcgi_next_upstream has no http_502)
// never has its bit set.
func StatusNextUpstream(code int) NextUpstream {
	switch code {
	case 500:
		return NextHTTP500
	case 502:
		return NextHTTP502
	case 503:
		return NextHTTP503
	case 504:
		return NextHTTP504
	case 403:
		return NextHTTP403
	case 404:
		return NextHTTP404
	case 429:
		return NextHTTP429
	}
	return 0
}

// Allows reports whether the conditions m (proxy_next_upstream and its
// twins) send a failed attempt to the next server, as nginx's
// ngx_http_upstream_next decides: not off, cond listed, and, when the
// request may have reached the server (sent), a method nginx repeats
// (Idempotent) or non_idempotent listed. The tries and the time left are
// the caller's to check.
func (m NextUpstream) Allows(cond NextUpstream, sent bool, method string) bool {
	switch {
	case m&NextOff != 0, m&cond == 0:
		return false
	case sent && !Idempotent(method) && m&NextNonIdempotent == 0:
		return false
	}
	return true
}

// Idempotent reports whether a request with this method may be sent to
// another server after it reached one without next_upstream's
// non_idempotent: nginx treats POST, LOCK and PATCH as not.
func Idempotent(method string) bool {
	switch method {
	case "POST", "PATCH", "LOCK":
		return false
	}
	return true
}

// BufferSpec is a "number size" pair such as large_client_header_buffers 4 8k.
type BufferSpec struct {
	Number int
	Size   int64
}

// ErrorPage is one error_page directive.
type ErrorPage struct {
	Codes []int
	// Response overrides the status ("=404", or "=" for the target's status).
	Response int
	// UseTargetStatus is the bare "=" form.
	UseTargetStatus bool
	// Target is a URI, a named location (@name) or a URL.
	Target string
	Pos    Pos
}

// AccessLog is one access_log directive; Off is "access_log off".
type AccessLog struct {
	Path string // absolute path (it may contain variables), or "stderr"/"stdout"; a syslog: target as written
	// Syslog is the parsed syslog: target; its zero value (Addr "") means
	// Path is a file. Such a log is never buffered.
	Syslog Syslog
	Format *LogFormat
	Off    bool
	// Buffer is the buffer=size parameter: 0 when not given (fulcrum's default
	// buffering, see package accesslog), -1 for an explicit buffer=0 (write each
	// line at once, nginx's default).
	Buffer int64
	// Flush is the flush=time parameter: the longest a line stays in the buffer.
	Flush time.Duration
	// If is the if=condition parameter: a template; the line is not written when
	// it evaluates to "" or "0". Empty means always.
	If  string
	Pos Pos
}

// LogFormat is a log_format: a template of variables with an escaping mode.
type LogFormat struct {
	Name string
	// Escape is "default", "json" or "none".
	Escape string
	// Template is the format's strings joined, with variables as text.
	Template string
	Pos      Pos
}

// HTTP2Settings are the settings of nginx's ngx_http_v2_module that fulcrum
// reads (the server's for a connection: the default server's of its address,
// or the one its TLS SNI name chose, as in nginx).
type HTTP2Settings struct {
	// MaxConcurrentStreams (http2_max_concurrent_streams, 128) is the
	// number of streams a connection may have open at once
	// (SETTINGS_MAX_CONCURRENT_STREAMS).
	MaxConcurrentStreams int
	// ChunkSize (http2_chunk_size, 8k) is the largest DATA frame sent
	// (SETTINGS_MAX_FRAME_SIZE is the client's: frames never exceed it).
	ChunkSize int64
	// BodyPrereadSize (http2_body_preread_size, 64k) is the request body a
	// stream may send before the handler reads it: the stream's initial
	// flow-control window.
	BodyPrereadSize int64
	// RecvBufferSize (http2_recv_buffer_size, 256k; http level only) is
	// the connection's receive window: how much request body all its
	// streams may have in flight together.
	RecvBufferSize int64
}

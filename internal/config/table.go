package config

import (
	"slices"
	"sort"
	"strings"
)

// ctxSet is a set of places a directive may appear, as nginx's NGX_*_CONF bits.
type ctxSet uint32

// The contexts. A location inside a location is ctxNestedLocation; most directives
// allow both (ctxLoc).
const (
	ctxMain ctxSet = 1 << iota
	ctxEvents
	ctxHTTP
	ctxServer
	ctxLocation
	ctxNestedLocation
	ctxUpstream
	ctxTypes       // inside types {}: every line is "mime/type ext ...;"
	ctxMap         // inside map {}: every line is "key value;"
	ctxGeo         // inside geo {}: "network value;" and geo's own keywords
	ctxSplit       // inside split_clients {}: every line is "percent value;"
	ctxServerIf    // inside "if" in a server (nginx's NGX_HTTP_SIF_CONF)
	ctxLocationIf  // inside "if" in a location (NGX_HTTP_LIF_CONF)
	ctxLimitExcept // inside limit_except (NGX_HTTP_LMT_CONF)
	ctxMatch       // inside match {}: health check tests (healthcheck.go)
	ctxStream      // the stream block (NGX_STREAM_MAIN_CONF)
	ctxStreamSrv   // a server block in stream (NGX_STREAM_SRV_CONF)
	ctxStreamUps   // an upstream block in stream (NGX_STREAM_UPS_CONF)
	ctxGeoIP2      // inside geoip2 {}: "$variable ... path;" and "auto_reload period;"
	ctxOIDC        // inside oidc_provider {} (NGINX Plus's ngx_http_oidc_module)
	ctxMail        // the mail block (NGX_MAIL_MAIN_CONF)
	ctxMailSrv     // a server block in mail (NGX_MAIL_SRV_CONF)

	ctxLoc = ctxLocation | ctxNestedLocation
	ctxSL  = ctxServer | ctxLoc
	ctxHS  = ctxHTTP | ctxServer
	ctxHSL = ctxHTTP | ctxServer | ctxLoc
	ctxAll = ctxMain | ctxEvents | ctxHTTP | ctxSL | ctxUpstream | ctxTypes | ctxMap | ctxStreamAll | ctxMailSS
	// ctxMailSS are the mail block and its servers (NGX_MAIL_MAIN_CONF|NGX_MAIL_SRV_CONF).
	ctxMailSS = ctxMail | ctxMailSrv
	// ctxStreamSS are the stream block and its servers (NGX_STREAM_MAIN_CONF|NGX_STREAM_SRV_CONF).
	ctxStreamSS  = ctxStream | ctxStreamSrv
	ctxStreamAll = ctxStream | ctxStreamSrv | ctxStreamUps
	// ctxIfs are both kinds of if block: the rewrite module's directives
	// (rewrite, return, set, break) may appear in either.
	ctxIfs = ctxServerIf | ctxLocationIf
)

// contextNames names each context bit, in nginx's words, for messages and docs.
var contextNames = []struct {
	c    ctxSet
	name string
}{
	{ctxMain, "main"}, {ctxEvents, "events"}, {ctxHTTP, "http"}, {ctxServer, "server"},
	{ctxLocation, "location"}, {ctxNestedLocation, "nested location"},
	{ctxUpstream, "upstream"}, {ctxTypes, "types"}, {ctxMap, "map"},
	{ctxGeo, "geo"}, {ctxSplit, "split_clients"},
	{ctxServerIf, "if in server"}, {ctxLocationIf, "if in location"},
	{ctxLimitExcept, "limit_except"}, {ctxMatch, "match"},
	{ctxStream, "stream"}, {ctxStreamSrv, "stream server"}, {ctxStreamUps, "stream upstream"},
	{ctxGeoIP2, "geoip2"}, {ctxOIDC, "oidc_provider"},
	{ctxMail, "mail"}, {ctxMailSrv, "mail server"},
}

// String lists the contexts in c, such as "http, server, location".
func (c ctxSet) String() string {
	var names []string
	for _, n := range contextNames {
		if c&n.c == 0 {
			continue
		}
		if n.c == ctxNestedLocation && c&ctxLocation != 0 {
			continue // "location" covers both
		}
		names = append(names, n.name)
	}
	return strings.Join(names, ", ")
}

// arity is how many arguments a directive takes and whether it has a block, as
// nginx's NGX_CONF_NOARGS ... NGX_CONF_TAKE7, FLAG, 1MORE, 2MORE, ANY and BLOCK.
type arity uint32

// The argument rules. argsN bits combine ("args1 | args2" is TAKE12).
const (
	argsNone arity = 1 << iota
	args1
	args2
	args3
	args4
	args5
	args6
	args7
	argsFlag  // exactly one argument, "on" or "off"
	args1More // one or more
	args2More // two or more
	argsAny   // any number
	argsBlock // followed by a block

	args12   = args1 | args2
	args23   = args2 | args3
	args123  = args1 | args2 | args3
	args1234 = args1 | args2 | args3 | args4
)

// ok reports whether n arguments satisfy the rule (the block is checked separately),
// in the order nginx's ngx_conf_handler checks them.
func (a arity) ok(n int) bool {
	switch {
	case a&argsAny != 0:
		return true
	case a&argsFlag != 0:
		return n == 1
	case a&args1More != 0:
		return n >= 1
	case a&args2More != 0:
		return n >= 2
	case n > 7:
		return false
	}
	return a&(argsNone<<uint(n)) != 0
}

// kind is the value kind of an argument, for the generic value check.
type kind int

// The value kinds.
const (
	kindText    kind = iota // anything; the builder checks it
	kindSize                // 512, 8k, 1m (ngx_parse_size)
	kindOffset              // 512, 8k, 1m, 1g (ngx_parse_offset)
	kindMsec                // 500ms, 30s, 5m, 1h, 1d, 1w (ngx_parse_time, msec)
	kindSec                 // 30s, 5m, 1h, 1d, 1w, 1M, 1y (ngx_parse_time, sec)
	kindNumber              // 0, 1, 2, ... (ngx_atoi)
	kindEnum                // one of spec.enum
	kindAddress             // an IP address, a CIDR, or "unix:"
	kindAccess              // allow and deny: an address, a CIDR, "unix:" or "all"
)

// status is what fulcrum does with a directive.
type status int

// The statuses.
const (
	// implemented: fulcrum does what nginx does (or better, as documented).
	implemented status = iota
	// ignored: accepted with a warning; it tunes something fulcrum does not have
	// (buffers, hash sizes, process control), so requests get the same answers.
	ignored
	// planned: accepted with a warning that says what requests get instead; the
	// feature is on fulcrum's roadmap (gzip, TLS, rate limits).
	planned
	// unsupported: an error. Ignoring it would change what a request gets in a way
	// that matters, such as opening a location that an access rule closes.
	unsupported
)

// String is the status as the docs write it.
func (s status) String() string {
	return [...]string{"implemented", "ignored", "planned", "unsupported"}[s]
}

// spec describes one directive in one family of contexts. A name may have several
// specs with disjoint contexts (the server block in http, the server line in
// upstream).
type spec struct {
	name   string
	module string // nginx's module, for the docs: "core", "http_proxy", ...
	ctx    ctxSet
	args   arity
	// kinds are the value kinds of the arguments in order; the last one repeats.
	// Nil means no generic check.
	kinds []kind
	// enum lists the values of kindEnum arguments.
	enum []string
	// multi allows the directive more than once in one block; otherwise a second
	// one is `"X" directive is duplicate`, as nginx's slot functions say.
	multi bool
	// child is the context of the directive's block.
	child  ctxSet
	status status
	// note says, for a directive that is not implemented, what that means for
	// requests or what to do instead. It is the warning's or error's hint.
	note string
	// asIs lists the values (one argument, compared as nginx compares flags:
	// case-insensitively) with which a planned or ignored directive asks for
	// exactly what fulcrum does, such as "gzip off": it then loads without a
	// warning, which would be wrong about what requests get.
	asIs []string
	// syntax is nginx's syntax line, used in hints for argument errors.
	syntax string
	// check, when set, checks the arguments as the directive's nginx
	// handler does, after the duplicate check (which nginx's handlers make
	// first); the builder still reads the values.
	check func(d *Directive) error
	// obsolete, for a directive nginx still accepts but no longer acts on,
	// names the directive that does its job now: the directive is checked,
	// then warned about in nginx's words, and has no effect.
	obsolete string
}

// Notes shared by families of directives.
const (
	noteEarlyData = "TLS 1.3 early data is not accepted (Go's crypto/tls has no 0-RTT); clients send their request after the handshake"
	noteHTTP2Push = "fulcrum's HTTP/2 does not push responses (browsers no longer accept server push); clients request them as usual"
	noteHandler   = "fulcrum passes requests to HTTP (proxy_pass), gRPC (grpc_pass), FastCGI (fastcgi_pass), SCGI (scgi_pass), uwsgi (uwsgi_pass) and memcached (memcached_pass) upstreams only; ignoring this would serve the location's files instead"
	noteBuffers   = "fulcrum streams bodies with its own buffers"
	noteTemp      = "fulcrum does not write temporary files"
	noteHash      = "fulcrum's hash tables size themselves"
	noteOpenFile  = "fulcrum does not cache open file descriptors"
	noteTCP       = "Go's runtime sets TCP options itself (TCP_NODELAY is on)"
	noteStatic    = "fulcrum's static file handler does not have this setting"
)

// tableSpecs is the directive table: every directive fulcrum knows, with where it may
// appear, its arguments and its status: baseSpecs, then the rest of nginx
// 1.22's directives (nginxSpecs, table_nginx.go), then those nginx added
// after 1.22 (newerSpecs, table_newer.go), then the mail module's
// (mailSpecs, table_mail.go).
var tableSpecs = slices.Concat(baseSpecs, nginxSpecs, newerSpecs, mailSpecs)

// baseSpecs are the directives fulcrum implements and the tuning it has
// always known. include is handled by the parser and is listed for the docs.
var baseSpecs = []spec{
	// core (main context)
	{name: "daemon", module: "core", ctx: ctxMain, args: argsFlag, status: ignored, note: "fulcrum always runs in the foreground; let systemd or your shell put it in the background", syntax: "daemon on | off;"},
	{name: "master_process", module: "core", ctx: ctxMain, args: argsFlag, status: ignored, note: "fulcrum is a single process", syntax: "master_process on | off;"},
	{name: "user", module: "core", ctx: ctxMain, args: args12, status: ignored, note: "fulcrum does not switch users; start it as the user it should run as (systemd User=)", syntax: "user user [group];"},
	{name: "worker_processes", module: "core", ctx: ctxMain, args: args1, syntax: "worker_processes number | auto;"},
	{name: "worker_connections", module: "events", ctx: ctxEvents, args: args1, kinds: []kind{kindNumber}, syntax: "worker_connections number;"},
	{name: "worker_shutdown_timeout", module: "core", ctx: ctxMain, args: args1, kinds: []kind{kindMsec}, syntax: "worker_shutdown_timeout time;"},
	{name: "worker_rlimit_nofile", module: "core", ctx: ctxMain, args: args1, kinds: []kind{kindNumber}, syntax: "worker_rlimit_nofile number;"},
	{name: "worker_rlimit_core", module: "core", ctx: ctxMain, args: args1, kinds: []kind{kindOffset}, syntax: "worker_rlimit_core size;"},
	{name: "worker_cpu_affinity", module: "core", ctx: ctxMain, args: args1More, status: ignored, note: "the Go scheduler places goroutines on CPUs", syntax: "worker_cpu_affinity cpumask ...;"},
	{name: "worker_priority", module: "core", ctx: ctxMain, args: args1, multi: true, syntax: "worker_priority number;"},
	{name: "working_directory", module: "core", ctx: ctxMain, args: args1, syntax: "working_directory directory;"},
	{name: "pid", module: "core", ctx: ctxMain, args: args1, syntax: "pid file;"},
	{name: "error_log", module: "core", ctx: ctxMain | ctxHSL | ctxStreamSS | ctxMailSS, args: args1More, multi: true, syntax: "error_log file [level];"},
	{name: "pcre_jit", module: "core", ctx: ctxMain, args: argsFlag, status: ignored, note: "fulcrum runs regexes on Go's regexp package or regexp2, neither of which has a JIT", syntax: "pcre_jit on | off;"},
	{name: "load_module", module: "core", ctx: ctxMain, args: args1, multi: true, status: ignored, note: "fulcrum loads no modules: stream, geoip2 and the others it implements are built in, and the directives of any other module stay unknown", syntax: "load_module file;"},
	{name: "env", module: "core", ctx: ctxMain, args: args1, multi: true, status: ignored, note: "fulcrum keeps its whole environment", syntax: "env variable[=value];"},
	{name: "lock_file", module: "core", ctx: ctxMain, args: args1, status: ignored, note: "fulcrum is a single process and needs no lock file", syntax: "lock_file file;"},
	{name: "timer_resolution", module: "core", ctx: ctxMain, args: args1, kinds: []kind{kindMsec}, status: ignored, note: "fulcrum reads the clock when it needs it", syntax: "timer_resolution interval;"},
	{name: "thread_pool", module: "core", ctx: ctxMain, args: args23, multi: true, status: ignored, note: "fulcrum has no thread pools", syntax: "thread_pool name threads=number [max_queue=number];"},
	{name: "ssl_engine", module: "core", ctx: ctxMain, args: args1, status: ignored, note: "Go's crypto/tls does not use OpenSSL engines", syntax: "ssl_engine device;"},
	{name: "include", module: "core", ctx: ctxAll, args: args1, multi: true, syntax: "include file | mask;"},
	{name: "events", module: "core", ctx: ctxMain, args: argsNone | argsBlock, child: ctxEvents, syntax: "events { ... }"},
	{name: "http", module: "core", ctx: ctxMain, args: argsNone | argsBlock, child: ctxHTTP, syntax: "http { ... }"},
	{name: "stream", module: "stream_core", ctx: ctxMain, args: argsNone | argsBlock, child: ctxStream, syntax: "stream { ... }"},
	// stream (ngx_stream_core_module, ngx_stream_proxy_module,
	// ngx_stream_upstream_module, ngx_stream_log_module): TCP proxying.
	{name: "server", module: "stream_core", ctx: ctxStream, args: argsNone | argsBlock, multi: true, child: ctxStreamSrv, syntax: "server { ... }"},
	{name: "listen", module: "stream_core", ctx: ctxStreamSrv, args: args1More, multi: true, syntax: "listen address:port | port | unix:path [ssl] [udp] [backlog=number] [so_keepalive=on|off|...] [reuseport] ...;"},
	{name: "tcp_nodelay", module: "stream_core", ctx: ctxStreamSS, args: argsFlag, syntax: "tcp_nodelay on | off;"},
	{name: "preread_buffer_size", module: "stream_core", ctx: ctxStreamSS, args: args1, kinds: []kind{kindSize}, syntax: "preread_buffer_size size;"},
	{name: "preread_timeout", module: "stream_core", ctx: ctxStreamSS, args: args1, kinds: []kind{kindMsec}, syntax: "preread_timeout timeout;"},
	{name: "upstream", module: "stream_upstream", ctx: ctxStream, args: args1 | argsBlock, multi: true, child: ctxStreamUps, syntax: "upstream name { ... }"},
	{name: "server", module: "stream_upstream", ctx: ctxStreamUps, args: args1More, multi: true, syntax: "server address:port [weight=number] [max_fails=number] [fail_timeout=time] [max_conns=number] [slow_start=time] [backup] [down] [resolve];"},
	{name: "zone", module: "stream_upstream", ctx: ctxStreamUps, args: args12, syntax: "zone name [size];"},
	{name: "keyval_zone", module: "stream_keyval", ctx: ctxStream, args: args1 | args2 | args3 | args4 | args5, multi: true, syntax: "keyval_zone zone=name:size [state=file] [timeout=time] [type=string|ip|prefix] [sync];"},
	{name: "keyval", module: "stream_keyval", ctx: ctxStream, args: args3, multi: true, syntax: "keyval key $variable zone=name;"},
	{name: "geoip_country", module: "stream_geoip", ctx: ctxStream, args: args12, syntax: "geoip_country file;"},
	{name: "geoip_city", module: "stream_geoip", ctx: ctxStream, args: args12, syntax: "geoip_city file;"},
	{name: "geoip_org", module: "stream_geoip", ctx: ctxStream, args: args12, syntax: "geoip_org file;"},
	{name: "geoip2", module: "stream_geoip2", ctx: ctxStream, args: args1 | argsBlock, multi: true, child: ctxGeoIP2, syntax: "geoip2 file { ... }"},
	{name: "state", module: "stream_upstream", ctx: ctxStreamUps, args: args1, syntax: "state file;"},
	{name: "resolver", module: "stream_core", ctx: ctxStream | ctxStreamSrv | ctxStreamUps, args: args1More, syntax: "resolver address ... [valid=time] [ipv4=on|off] [ipv6=on|off] [status_zone=zone];"},
	{name: "resolver_timeout", module: "stream_core", ctx: ctxStream | ctxStreamSrv | ctxStreamUps, args: args1, kinds: []kind{kindMsec}, syntax: "resolver_timeout time;"},
	{name: "hash", module: "stream_upstream", ctx: ctxStreamUps, args: args12, multi: true, syntax: "hash key [consistent];"},
	{name: "least_conn", module: "stream_upstream", ctx: ctxStreamUps, args: argsNone, multi: true, syntax: "least_conn;"},
	{name: "random", module: "stream_upstream", ctx: ctxStreamUps, args: argsNone | args12, multi: true, syntax: "random [two [least_conn]];"},
	{name: "least_time", module: "stream_upstream", ctx: ctxStreamUps, args: args12, multi: true, syntax: "least_time connect | first_byte | last_byte [inflight];"},
	{name: "ssl_handshake_timeout", module: "stream_ssl", ctx: ctxStreamSS, args: args1, kinds: []kind{kindMsec}, syntax: "ssl_handshake_timeout time;"},
	{name: "ssl_password_file", module: "stream_ssl", ctx: ctxStreamSS, args: args1, syntax: "ssl_password_file file;"},
	{name: "ssl_ecdh_curve", module: "stream_ssl", ctx: ctxStreamSS, args: args1, syntax: "ssl_ecdh_curve curve;"},
	{name: "ssl_session_tickets", module: "stream_ssl", ctx: ctxStreamSS, args: argsFlag, syntax: "ssl_session_tickets on | off;"},
	{name: "ssl_session_ticket_key", module: "stream_ssl", ctx: ctxStreamSS, args: args1, multi: true, syntax: "ssl_session_ticket_key file;"},
	{name: "ssl_verify_client", module: "stream_ssl", ctx: ctxStreamSS, args: args1, kinds: []kind{kindEnum}, enum: verifyModes, syntax: "ssl_verify_client on | off | optional | optional_no_ca;"},
	{name: "ssl_verify_depth", module: "stream_ssl", ctx: ctxStreamSS, args: args1, kinds: []kind{kindNumber}, syntax: "ssl_verify_depth number;"},
	{name: "ssl_client_certificate", module: "stream_ssl", ctx: ctxStreamSS, args: args1, syntax: "ssl_client_certificate file;"},
	{name: "ssl_trusted_certificate", module: "stream_ssl", ctx: ctxStreamSS, args: args1, syntax: "ssl_trusted_certificate file;"},
	{name: "ssl_crl", module: "stream_ssl", ctx: ctxStreamSS, args: args1, syntax: "ssl_crl file;"},
	{name: "ssl_alpn", module: "stream_ssl", ctx: ctxStreamSS, args: args1More, check: checkSSLALPN, syntax: "ssl_alpn protocol ...;"},
	{name: "ssl_preread", module: "stream_ssl_preread", ctx: ctxStreamSS, args: argsFlag, syntax: "ssl_preread on | off;"},
	{name: "mqtt_preread", module: "stream_mqtt_preread", ctx: ctxStreamSS, args: argsFlag, syntax: "mqtt_preread on | off;"},
	{name: "mqtt", module: "stream_mqtt_filter", ctx: ctxStreamSS, args: argsFlag, syntax: "mqtt on | off;"},
	{name: "mqtt_buffers", module: "stream_mqtt_filter", ctx: ctxStreamSS, args: args2, kinds: []kind{kindNumber, kindSize}, syntax: "mqtt_buffers number size;"},
	{name: "mqtt_rewrite_buffer_size", module: "stream_mqtt_filter", ctx: ctxStreamSrv, args: args1, kinds: []kind{kindSize}, syntax: "mqtt_rewrite_buffer_size size;"},
	{name: "mqtt_set_connect", module: "stream_mqtt_filter", ctx: ctxStreamSrv, args: args2, multi: true, syntax: "mqtt_set_connect field value;"},
	{name: "proxy_pass", module: "stream_proxy", ctx: ctxStreamSrv, args: args1, syntax: "proxy_pass address;"},
	{name: "status_zone", module: "stream_status", ctx: ctxStreamSrv, args: args1, syntax: "status_zone zone;"},
	{name: "proxy_connect_timeout", module: "stream_proxy", ctx: ctxStreamSS, args: args1, kinds: []kind{kindMsec}, syntax: "proxy_connect_timeout time;"},
	{name: "proxy_timeout", module: "stream_proxy", ctx: ctxStreamSS, args: args1, kinds: []kind{kindMsec}, syntax: "proxy_timeout timeout;"},
	{name: "health_check", module: "stream_upstream_hc", ctx: ctxStreamSrv, args: argsAny, multi: true, syntax: "health_check [interval=time] [jitter=time] [fails=number] [passes=number] [port=number] [match=name] [udp] [mandatory [persistent]];"},
	{name: "health_check_timeout", module: "stream_upstream_hc", ctx: ctxStreamSS, args: args1, kinds: []kind{kindMsec}, syntax: "health_check_timeout timeout;"},
	{name: "match", module: "stream_upstream_hc", ctx: ctxStream, args: args1 | argsBlock, multi: true, child: ctxMatch, syntax: "match name { ... }"},
	{name: "proxy_next_upstream", module: "stream_proxy", ctx: ctxStreamSS, args: argsFlag, syntax: "proxy_next_upstream on | off;"},
	{name: "proxy_next_upstream_tries", module: "stream_proxy", ctx: ctxStreamSS, args: args1, kinds: []kind{kindNumber}, syntax: "proxy_next_upstream_tries number;"},
	{name: "proxy_next_upstream_timeout", module: "stream_proxy", ctx: ctxStreamSS, args: args1, kinds: []kind{kindMsec}, syntax: "proxy_next_upstream_timeout time;"},
	{name: "proxy_half_close", module: "stream_proxy", ctx: ctxStreamSS, args: argsFlag, syntax: "proxy_half_close on | off;"},
	{name: "proxy_responses", module: "stream_proxy", ctx: ctxStreamSS, args: args1, kinds: []kind{kindNumber}, syntax: "proxy_responses number;"},
	{name: "proxy_requests", module: "stream_proxy", ctx: ctxStreamSS, args: args1, kinds: []kind{kindNumber}, syntax: "proxy_requests number;"},
	{name: "proxy_protocol", module: "stream_proxy", ctx: ctxStreamSS, args: argsFlag, syntax: "proxy_protocol on | off;"},
	{name: "proxy_upload_rate", module: "stream_proxy", ctx: ctxStreamSS, args: args1, check: checkSizeValue, syntax: "proxy_upload_rate rate;"},
	{name: "proxy_download_rate", module: "stream_proxy", ctx: ctxStreamSS, args: args1, check: checkSizeValue, syntax: "proxy_download_rate rate;"},
	{name: "proxy_bind", module: "stream_proxy", ctx: ctxStreamSS, args: args12, check: checkUpstreamBind, syntax: "proxy_bind address [transparent] | off;"},
	{name: "proxy_buffer_size", module: "stream_proxy", ctx: ctxStreamSS, args: args1, kinds: []kind{kindSize}, status: ignored, note: noteBuffers, syntax: "proxy_buffer_size size;"},
	{name: "proxy_socket_keepalive", module: "stream_proxy", ctx: ctxStreamSS, args: argsFlag, syntax: "proxy_socket_keepalive on | off;"},
	{name: "log_format", module: "stream_log", ctx: ctxStream, args: args2More, multi: true, syntax: "log_format name [escape=default|json|none] string ...;"},
	{name: "access_log", module: "stream_log", ctx: ctxStreamSS, args: args1More, multi: true, syntax: "access_log path format [buffer=size] [flush=time] [if=condition] | off;"},
	{name: "mail", module: "mail_core", ctx: ctxMain, args: argsNone | argsBlock, child: ctxMail, syntax: "mail { ... }"},
	// mail (ngx_mail_core_module, ngx_mail_auth_http_module,
	// ngx_mail_proxy_module, ngx_mail_imap_module, ngx_mail_pop3_module,
	// ngx_mail_smtp_module, ngx_mail_ssl_module): mailSpecs, table_mail.go.

	// events
	{name: "multi_accept", module: "events", ctx: ctxEvents, args: argsFlag, status: ignored, note: "Go's runtime accepts connections itself", syntax: "multi_accept on | off;"},
	{name: "use", module: "events", ctx: ctxEvents, args: args1, check: checkEventType, status: ignored, note: "Go's runtime picks epoll or kqueue itself", syntax: "use method;"},
	{name: "accept_mutex", module: "events", ctx: ctxEvents, args: argsFlag, status: ignored, note: "fulcrum is a single process", syntax: "accept_mutex on | off;"},
	{name: "accept_mutex_delay", module: "events", ctx: ctxEvents, args: args1, kinds: []kind{kindMsec}, status: ignored, note: "fulcrum is a single process", syntax: "accept_mutex_delay time;"},
	{name: "debug_connection", module: "events", ctx: ctxEvents, args: args1, multi: true, status: ignored, note: "fulcrum has no per-client debug log", syntax: "debug_connection address | CIDR | unix:;"},
	{name: "worker_aio_requests", module: "events", ctx: ctxEvents, args: args1, kinds: []kind{kindNumber}, status: ignored, note: "fulcrum does not use AIO", syntax: "worker_aio_requests number;"},

	// http core: blocks and routing
	{name: "server", module: "http_core", ctx: ctxHTTP, args: argsNone | argsBlock, multi: true, child: ctxServer, syntax: "server { ... }"},
	{name: "listen", module: "http_core", ctx: ctxServer, args: args1More, multi: true, syntax: "listen address[:port] | port | unix:path [default_server] [ipv6only=on|off] ...;"},
	{name: "server_name", module: "http_core", ctx: ctxServer, args: args1More, multi: true, syntax: "server_name name ...;"},
	{name: "location", module: "http_core", ctx: ctxSL, args: args12 | argsBlock, multi: true, child: ctxLocation, syntax: "location [ = | ~ | ~* | ^~ ] uri { ... } | location @name { ... }"},
	{name: "types", module: "http_core", ctx: ctxHSL, args: argsNone | argsBlock, multi: true, child: ctxTypes, syntax: "types { ... }"},
	{name: "default_type", module: "http_core", ctx: ctxHSL, args: args1, syntax: "default_type mime-type;"},
	{name: "root", module: "http_core", ctx: ctxHSL | ctxLocationIf, args: args1, syntax: "root path;"},
	{name: "alias", module: "http_core", ctx: ctxLoc, args: args1, syntax: "alias path;"},
	{name: "try_files", module: "http_core", ctx: ctxSL, args: args2More, syntax: "try_files file ... uri | =code;"},
	{name: "error_page", module: "http_core", ctx: ctxHSL | ctxLocationIf, args: args2More, multi: true, syntax: "error_page code ... [=[response]] uri;"},
	{name: "internal", module: "http_core", ctx: ctxLoc, args: argsNone, syntax: "internal;"},
	{name: "limit_except", module: "http_core", ctx: ctxLoc, args: args1More | argsBlock, child: ctxLimitExcept, syntax: "limit_except method ... { ... }"},
	{name: "satisfy", module: "http_core", ctx: ctxHSL, args: args1, kinds: []kind{kindEnum}, enum: []string{"all", "any"}, syntax: "satisfy all | any;"},
	{name: "disable_symlinks", module: "http_core", ctx: ctxHSL, args: args12, status: implemented, syntax: "disable_symlinks off | on | if_not_owner [from=part];"},

	// http core: client connection limits and timeouts
	{name: "client_max_body_size", module: "http_core", ctx: ctxHSL, args: args1, kinds: []kind{kindOffset}, syntax: "client_max_body_size size;"},
	{name: "client_header_timeout", module: "http_core", ctx: ctxHS, args: args1, kinds: []kind{kindMsec}, syntax: "client_header_timeout time;"},
	{name: "client_body_timeout", module: "http_core", ctx: ctxHSL, args: args1, kinds: []kind{kindMsec}, syntax: "client_body_timeout time;"},
	{name: "send_timeout", module: "http_core", ctx: ctxHSL, args: args1, kinds: []kind{kindMsec}, syntax: "send_timeout time;"},
	{name: "keepalive_timeout", module: "http_core", ctx: ctxHSL, args: args12, kinds: []kind{kindMsec}, syntax: "keepalive_timeout timeout [header_timeout];"},
	{name: "keepalive_requests", module: "http_core", ctx: ctxHSL, args: args1, kinds: []kind{kindNumber}, syntax: "keepalive_requests number;"},
	{name: "keepalive_time", module: "http_core", ctx: ctxHSL, args: args1, kinds: []kind{kindMsec}, syntax: "keepalive_time time;"},
	{name: "large_client_header_buffers", module: "http_core", ctx: ctxHS, args: args2, syntax: "large_client_header_buffers number size;"},
	{name: "underscores_in_headers", module: "http_core", ctx: ctxHS, args: argsFlag, syntax: "underscores_in_headers on | off;"},
	{name: "ignore_invalid_headers", module: "http_core", ctx: ctxHS, args: argsFlag, syntax: "ignore_invalid_headers on | off;"},
	{name: "absolute_redirect", module: "http_core", ctx: ctxHSL, args: argsFlag, syntax: "absolute_redirect on | off;"},
	{name: "server_tokens", module: "http_core", ctx: ctxHSL, args: args1, kinds: []kind{kindEnum}, enum: []string{"on", "off", "build"}, syntax: "server_tokens on | off | build;"},
	{name: "merge_slashes", module: "http_core", ctx: ctxHS, args: argsFlag, syntax: "merge_slashes on | off;"},
	{name: "port_in_redirect", module: "http_core", ctx: ctxHSL, args: argsFlag, syntax: "port_in_redirect on | off;"},
	{name: "server_name_in_redirect", module: "http_core", ctx: ctxHSL, args: argsFlag, syntax: "server_name_in_redirect on | off;"},
	{name: "resolver", module: "http_core", ctx: ctxHSL | ctxUpstream, args: args1More, syntax: "resolver address ... [valid=time] [ipv4=on|off] [ipv6=on|off] [status_zone=zone];"},
	{name: "resolver_timeout", module: "http_core", ctx: ctxHSL | ctxUpstream, args: args1, kinds: []kind{kindMsec}, syntax: "resolver_timeout time;"},

	// http core: tuning that fulcrum does not need
	{name: "sendfile", module: "http_core", ctx: ctxHSL | ctxLocationIf, args: argsFlag, status: ignored, note: "Go uses sendfile for static files by itself", syntax: "sendfile on | off;"},
	{name: "sendfile_max_chunk", module: "http_core", ctx: ctxHSL, args: args1, kinds: []kind{kindSize}, status: ignored, note: noteStatic, syntax: "sendfile_max_chunk size;"},
	{name: "tcp_nopush", module: "http_core", ctx: ctxHSL, args: argsFlag, status: ignored, note: noteTCP, syntax: "tcp_nopush on | off;"},
	{name: "tcp_nodelay", module: "http_core", ctx: ctxHSL, args: argsFlag, syntax: "tcp_nodelay on | off;"},
	{name: "types_hash_max_size", module: "http_core", ctx: ctxHSL, args: args1, kinds: []kind{kindNumber}, status: ignored, note: noteHash, syntax: "types_hash_max_size size;"},
	{name: "types_hash_bucket_size", module: "http_core", ctx: ctxHSL, args: args1, kinds: []kind{kindNumber}, status: ignored, note: noteHash, syntax: "types_hash_bucket_size size;"},
	{name: "server_names_hash_max_size", module: "http_core", ctx: ctxHTTP, args: args1, kinds: []kind{kindNumber}, status: ignored, note: noteHash, syntax: "server_names_hash_max_size size;"},
	{name: "server_names_hash_bucket_size", module: "http_core", ctx: ctxHTTP, args: args1, kinds: []kind{kindNumber}, status: ignored, note: noteHash, syntax: "server_names_hash_bucket_size size;"},
	{name: "variables_hash_max_size", module: "http_core", ctx: ctxHTTP, args: args1, kinds: []kind{kindNumber}, status: ignored, note: noteHash, syntax: "variables_hash_max_size size;"},
	{name: "variables_hash_bucket_size", module: "http_core", ctx: ctxHTTP, args: args1, kinds: []kind{kindNumber}, status: ignored, note: noteHash, syntax: "variables_hash_bucket_size size;"},
	{name: "client_header_buffer_size", module: "http_core", ctx: ctxHS, args: args1, kinds: []kind{kindSize}, syntax: "client_header_buffer_size size;"},
	{name: "client_body_buffer_size", module: "http_core", ctx: ctxHSL, args: args1, kinds: []kind{kindSize}, syntax: "client_body_buffer_size size;"},
	{name: "client_body_temp_path", module: "http_core", ctx: ctxHSL, args: args1234, syntax: "client_body_temp_path path [level1 [level2 [level3]]];"},
	{name: "client_body_in_file_only", module: "http_core", ctx: ctxHSL, args: args1, syntax: "client_body_in_file_only on | clean | off;"},
	{name: "client_body_in_single_buffer", module: "http_core", ctx: ctxHSL, args: argsFlag, syntax: "client_body_in_single_buffer on | off;"},
	{name: "connection_pool_size", module: "http_core", ctx: ctxHS, args: args1, kinds: []kind{kindSize}, status: ignored, note: "Go manages memory itself", syntax: "connection_pool_size size;"},
	{name: "request_pool_size", module: "http_core", ctx: ctxHS, args: args1, kinds: []kind{kindSize}, status: ignored, note: "Go manages memory itself", syntax: "request_pool_size size;"},
	{name: "reset_timedout_connection", module: "http_core", ctx: ctxHSL, args: argsFlag, syntax: "reset_timedout_connection on | off;"},
	{name: "lingering_close", module: "http_core", ctx: ctxHSL, args: args1, kinds: []kind{kindEnum}, enum: []string{"off", "on", "always"}, syntax: "lingering_close off | on | always;"},
	{name: "lingering_time", module: "http_core", ctx: ctxHSL, args: args1, kinds: []kind{kindMsec}, syntax: "lingering_time time;"},
	{name: "lingering_timeout", module: "http_core", ctx: ctxHSL, args: args1, kinds: []kind{kindMsec}, syntax: "lingering_timeout time;"},
	{name: "msie_padding", module: "http_core", ctx: ctxHSL, args: argsFlag, syntax: "msie_padding on | off;"},
	{name: "msie_refresh", module: "http_core", ctx: ctxHSL, args: argsFlag, syntax: "msie_refresh on | off;"},
	{name: "open_file_cache", module: "http_core", ctx: ctxHSL, args: args12, check: openCacheCheck(false), status: ignored, note: noteOpenFile, syntax: "open_file_cache off | max=N [inactive=time];"},
	{name: "open_file_cache_valid", module: "http_core", ctx: ctxHSL, args: args1, kinds: []kind{kindSec}, status: ignored, note: noteOpenFile, syntax: "open_file_cache_valid time;"},
	{name: "open_file_cache_min_uses", module: "http_core", ctx: ctxHSL, args: args1, kinds: []kind{kindNumber}, status: ignored, note: noteOpenFile, syntax: "open_file_cache_min_uses number;"},
	{name: "open_file_cache_errors", module: "http_core", ctx: ctxHSL, args: argsFlag, status: ignored, note: noteOpenFile, syntax: "open_file_cache_errors on | off;"},
	{name: "output_buffers", module: "http_core", ctx: ctxHSL, args: args2, status: ignored, note: noteBuffers, syntax: "output_buffers number size;"},
	{name: "postpone_output", module: "http_core", ctx: ctxHSL, args: args1, kinds: []kind{kindSize}, status: ignored, note: noteBuffers, syntax: "postpone_output size;"},
	{name: "aio", module: "http_core", ctx: ctxHSL, args: args1, status: ignored, note: noteStatic, syntax: "aio on | off | threads[=pool];"},
	{name: "aio_write", module: "http_core", ctx: ctxHSL, args: argsFlag, status: ignored, note: noteStatic, syntax: "aio_write on | off;"},
	{name: "directio", module: "http_core", ctx: ctxHSL, args: args1, status: ignored, note: noteStatic, syntax: "directio size | off;"},
	{name: "directio_alignment", module: "http_core", ctx: ctxHSL, args: args1, kinds: []kind{kindSize}, status: ignored, note: noteStatic, syntax: "directio_alignment size;"},
	{name: "send_lowat", module: "http_core", ctx: ctxHSL, args: args1, kinds: []kind{kindSize}, status: ignored, note: noteTCP, syntax: "send_lowat size;"},
	{name: "keepalive_disable", module: "http_core", ctx: ctxHSL, args: args1More, syntax: "keepalive_disable none | browser ...;"},
	{name: "chunked_transfer_encoding", module: "http_core", ctx: ctxHSL, args: argsFlag, syntax: "chunked_transfer_encoding on | off;"},
	{name: "etag", module: "http_core", ctx: ctxHSL, args: argsFlag, syntax: "etag on | off;"},
	{name: "if_modified_since", module: "http_core", ctx: ctxHSL, args: args1, kinds: []kind{kindEnum}, enum: []string{"off", "exact", "before"}, syntax: "if_modified_since off | exact | before;"},
	{name: "max_ranges", module: "http_core", ctx: ctxHSL, args: args1, kinds: []kind{kindNumber}, syntax: "max_ranges number;"},
	{name: "log_not_found", module: "http_core", ctx: ctxHSL, args: argsFlag, syntax: "log_not_found on | off;"},
	{name: "log_subrequest", module: "http_core", ctx: ctxHSL, args: argsFlag, status: implemented, syntax: "log_subrequest on | off;"},
	{name: "recursive_error_pages", module: "http_core", ctx: ctxHSL, args: argsFlag, status: implemented, syntax: "recursive_error_pages on | off;"},
	{name: "subrequest_output_buffer_size", module: "http_core", ctx: ctxHSL, args: args1, kinds: []kind{kindSize}, syntax: "subrequest_output_buffer_size size;"},
	{name: "auth_delay", module: "http_core", ctx: ctxHSL, args: args1, kinds: []kind{kindMsec}, syntax: "auth_delay time;"},

	// http/2
	{name: "http2", module: "http_v2", ctx: ctxHS, args: argsFlag, syntax: "http2 on | off;"},
	{name: "http2_max_concurrent_streams", module: "http_v2", ctx: ctxHS, args: args1, kinds: []kind{kindNumber}, syntax: "http2_max_concurrent_streams number;"},
	{name: "http2_recv_buffer_size", module: "http_v2", ctx: ctxHTTP, args: args1, kinds: []kind{kindSize}, check: checkHTTP2RecvBuffer, syntax: "http2_recv_buffer_size size;"},
	{name: "http2_chunk_size", module: "http_v2", ctx: ctxHSL, args: args1, kinds: []kind{kindSize}, check: checkHTTP2ChunkSize, syntax: "http2_chunk_size size;"},
	{name: "http2_body_preread_size", module: "http_v2", ctx: ctxHS, args: args1, kinds: []kind{kindSize}, check: checkHTTP2Preread, syntax: "http2_body_preread_size size;"},
	{name: "http2_idle_timeout", module: "http_v2", ctx: ctxHS, args: args1, multi: true, obsolete: "keepalive_timeout", syntax: "http2_idle_timeout time;"},
	{name: "http2_recv_timeout", module: "http_v2", ctx: ctxHS, args: args1, multi: true, obsolete: "client_header_timeout", syntax: "http2_recv_timeout time;"},
	{name: "http2_max_requests", module: "http_v2", ctx: ctxHS, args: args1, multi: true, obsolete: "keepalive_requests", syntax: "http2_max_requests number;"},
	{name: "http2_max_field_size", module: "http_v2", ctx: ctxHS, args: args1, multi: true, obsolete: "large_client_header_buffers", syntax: "http2_max_field_size size;"},
	{name: "http2_max_header_size", module: "http_v2", ctx: ctxHS, args: args1, multi: true, obsolete: "large_client_header_buffers", syntax: "http2_max_header_size size;"},
	{name: "http2_push", module: "http_v2", ctx: ctxHSL, args: args1, multi: true, status: ignored, note: noteHTTP2Push, asIs: []string{"off"}, syntax: "http2_push uri | off;"},
	{name: "http2_push_preload", module: "http_v2", ctx: ctxHSL, args: argsFlag, status: ignored, note: noteHTTP2Push, asIs: []string{"off"}, syntax: "http2_push_preload on | off;"},

	// upstream
	{name: "upstream", module: "http_upstream", ctx: ctxHTTP, args: args1 | argsBlock, multi: true, child: ctxUpstream, syntax: "upstream name { ... }"},
	{name: "server", module: "http_upstream", ctx: ctxUpstream, args: args1More, multi: true, syntax: "server address [weight=number] [max_fails=number] [fail_timeout=time] [max_conns=number] [slow_start=time] [route=string] [backup] [down] [resolve];"},
	{name: "sticky", module: "http_upstream", ctx: ctxUpstream, args: args2More, syntax: "sticky cookie name [expires=time] [domain=domain] [httponly] [samesite=strict|lax|none|$variable] [secure] [path=path]; sticky route $variable ...; sticky learn create=$variable lookup=$variable zone=name:size [timeout=time] [header] [sync];"},
	{name: "zone", module: "http_upstream", ctx: ctxUpstream, args: args12, syntax: "zone name [size];"},
	{name: "state", module: "http_upstream", ctx: ctxUpstream, args: args1, syntax: "state file;"},
	{name: "health_check", module: "http_upstream_hc", ctx: ctxLoc, args: argsAny, multi: true, syntax: "health_check [interval=time] [jitter=time] [fails=number] [passes=number] [uri=uri] [match=name] [port=number] [mandatory [persistent]] [type=grpc [grpc_service=name] [grpc_status=code]];"},
	{name: "match", module: "http_upstream_hc", ctx: ctxHTTP, args: args1 | argsBlock, multi: true, child: ctxMatch, syntax: "match name { ... }"},
	{name: "least_conn", module: "http_upstream", ctx: ctxUpstream, args: argsNone, multi: true, syntax: "least_conn;"},
	{name: "ip_hash", module: "http_upstream", ctx: ctxUpstream, args: argsNone, multi: true, syntax: "ip_hash;"},
	{name: "hash", module: "http_upstream", ctx: ctxUpstream, args: args12, multi: true, syntax: "hash key [consistent];"},
	{name: "random", module: "http_upstream", ctx: ctxUpstream, args: argsNone | args12, multi: true, syntax: "random [two [least_conn]];"},
	{name: "least_time", module: "http_upstream", ctx: ctxUpstream, args: args12, multi: true, syntax: "least_time header | last_byte [inflight];"},
	{name: "ntlm", module: "http_upstream", ctx: ctxUpstream, args: argsNone, syntax: "ntlm;"},
	{name: "queue", module: "http_upstream", ctx: ctxUpstream, args: args12, syntax: "queue number [timeout=time];"},
	{name: "keepalive", module: "http_upstream", ctx: ctxUpstream, args: args1, kinds: []kind{kindNumber}, syntax: "keepalive connections;"},
	{name: "keepalive_timeout", module: "http_upstream", ctx: ctxUpstream, args: args1, kinds: []kind{kindMsec}, syntax: "keepalive_timeout timeout;"},
	{name: "keepalive_requests", module: "http_upstream", ctx: ctxUpstream, args: args1, kinds: []kind{kindNumber}, syntax: "keepalive_requests number;"},
	{name: "keepalive_time", module: "http_upstream", ctx: ctxUpstream, args: args1, kinds: []kind{kindMsec}, syntax: "keepalive_time time;"},

	// proxy
	{name: "proxy_pass", module: "http_proxy", ctx: ctxLoc | ctxLocationIf, args: args1, syntax: "proxy_pass URL;"},
	{name: "proxy_set_header", module: "http_proxy", ctx: ctxHSL, args: args2, multi: true, syntax: "proxy_set_header field value;"},
	{name: "proxy_hide_header", module: "http_proxy", ctx: ctxHSL, args: args1, multi: true, syntax: "proxy_hide_header field;"},
	{name: "proxy_pass_header", module: "http_proxy", ctx: ctxHSL, args: args1, multi: true, syntax: "proxy_pass_header field;"},
	{name: "proxy_pass_request_headers", module: "http_proxy", ctx: ctxHSL, args: argsFlag, syntax: "proxy_pass_request_headers on | off;"},
	{name: "proxy_pass_request_body", module: "http_proxy", ctx: ctxHSL, args: argsFlag, syntax: "proxy_pass_request_body on | off;"},
	{name: "proxy_set_body", module: "http_proxy", ctx: ctxHSL, args: args1, syntax: "proxy_set_body value;"},
	{name: "proxy_method", module: "http_proxy", ctx: ctxHSL, args: args1, syntax: "proxy_method method;"},
	{name: "proxy_http_version", module: "http_proxy", ctx: ctxHSL, args: args1, check: checkProxyHTTPVersion, syntax: "proxy_http_version 1.0 | 1.1;"},
	{name: "proxy_redirect", module: "http_proxy", ctx: ctxHSL, args: args12, multi: true, syntax: "proxy_redirect default | off | redirect replacement;"},
	{name: "proxy_buffering", module: "http_proxy", ctx: ctxHSL, args: argsFlag, syntax: "proxy_buffering on | off;"},
	{name: "proxy_request_buffering", module: "http_proxy", ctx: ctxHSL, args: argsFlag, syntax: "proxy_request_buffering on | off;"},
	{name: "proxy_connect_timeout", module: "http_proxy", ctx: ctxHSL, args: args1, kinds: []kind{kindMsec}, syntax: "proxy_connect_timeout time;"},
	{name: "proxy_read_timeout", module: "http_proxy", ctx: ctxHSL, args: args1, kinds: []kind{kindMsec}, syntax: "proxy_read_timeout time;"},
	{name: "proxy_send_timeout", module: "http_proxy", ctx: ctxHSL, args: args1, kinds: []kind{kindMsec}, syntax: "proxy_send_timeout time;"},
	{name: "proxy_next_upstream", module: "http_proxy", ctx: ctxHSL, args: args1More, multi: true, kinds: []kind{kindEnum}, enum: nextUpstreamNames(), syntax: "proxy_next_upstream error | timeout | invalid_header | http_500 | http_502 | http_503 | http_504 | http_403 | http_404 | http_429 | non_idempotent | off ...;"},
	{name: "proxy_next_upstream_tries", module: "http_proxy", ctx: ctxHSL, args: args1, kinds: []kind{kindNumber}, syntax: "proxy_next_upstream_tries number;"},
	{name: "proxy_next_upstream_timeout", module: "http_proxy", ctx: ctxHSL, args: args1, kinds: []kind{kindMsec}, syntax: "proxy_next_upstream_timeout time;"},
	{name: "proxy_buffer_size", module: "http_proxy", ctx: ctxHSL, args: args1, kinds: []kind{kindSize}, syntax: "proxy_buffer_size size;"},
	{name: "proxy_buffers", module: "http_proxy", ctx: ctxHSL, args: args2, status: ignored, note: noteBuffers, syntax: "proxy_buffers number size;"},
	{name: "proxy_busy_buffers_size", module: "http_proxy", ctx: ctxHSL, args: args1, kinds: []kind{kindSize}, status: ignored, note: noteBuffers, syntax: "proxy_busy_buffers_size size;"},
	{name: "proxy_max_temp_file_size", module: "http_proxy", ctx: ctxHSL, args: args1, kinds: []kind{kindOffset}, status: ignored, note: noteTemp, syntax: "proxy_max_temp_file_size size;"},
	{name: "proxy_temp_file_write_size", module: "http_proxy", ctx: ctxHSL, args: args1, kinds: []kind{kindSize}, status: ignored, note: noteTemp, syntax: "proxy_temp_file_write_size size;"},
	{name: "proxy_temp_path", module: "http_proxy", ctx: ctxHSL, args: args1234, status: ignored, note: noteTemp, syntax: "proxy_temp_path path [level1 [level2 [level3]]];"},
	{name: "proxy_headers_hash_max_size", module: "http_proxy", ctx: ctxHSL, args: args1, kinds: []kind{kindNumber}, status: ignored, note: noteHash, syntax: "proxy_headers_hash_max_size size;"},
	{name: "proxy_headers_hash_bucket_size", module: "http_proxy", ctx: ctxHSL, args: args1, kinds: []kind{kindNumber}, status: ignored, note: noteHash, syntax: "proxy_headers_hash_bucket_size size;"},
	{name: "proxy_socket_keepalive", module: "http_proxy", ctx: ctxHSL, args: argsFlag, syntax: "proxy_socket_keepalive on | off;"},
	{name: "proxy_ignore_client_abort", module: "http_proxy", ctx: ctxHSL, args: argsFlag, syntax: "proxy_ignore_client_abort on | off;"},
	{name: "proxy_intercept_errors", module: "http_proxy", ctx: ctxHSL, args: argsFlag, syntax: "proxy_intercept_errors on | off;"},
	{name: "proxy_ignore_headers", module: "http_proxy", ctx: ctxHSL, args: args1More, multi: true, syntax: "proxy_ignore_headers field ...;"},
	{name: "proxy_cookie_domain", module: "http_proxy", ctx: ctxHSL, args: args12, multi: true, syntax: "proxy_cookie_domain off | domain replacement;"},
	{name: "proxy_cookie_path", module: "http_proxy", ctx: ctxHSL, args: args12, multi: true, syntax: "proxy_cookie_path off | path replacement;"},
	{name: "proxy_cookie_flags", module: "http_proxy", ctx: ctxHSL, args: args1234, multi: true, syntax: "proxy_cookie_flags off | cookie [flag ...];"},
	{name: "proxy_bind", module: "http_proxy", ctx: ctxHSL, args: args12, syntax: "proxy_bind address [transparent] | off;"},
	{name: "proxy_limit_rate", module: "http_proxy", ctx: ctxHSL, args: args1, kinds: []kind{kindSize}, syntax: "proxy_limit_rate rate;"},
	{name: "proxy_store", module: "http_proxy", ctx: ctxHSL, args: args1, status: implemented, syntax: "proxy_store on | off | string;"},
	{name: "proxy_store_access", module: "http_proxy", ctx: ctxHSL, args: args123, status: implemented, syntax: "proxy_store_access users:permissions ...;"},
	{name: "proxy_force_ranges", module: "http_proxy", ctx: ctxHSL, args: argsFlag, syntax: "proxy_force_ranges on | off;"},
	{name: "proxy_cache", module: "http_proxy", ctx: ctxHSL, args: args1, syntax: "proxy_cache zone | off;"},
	{name: "proxy_cache_path", module: "http_proxy", ctx: ctxHTTP, args: args2More, multi: true, syntax: "proxy_cache_path path [levels=levels] keys_zone=name:size [inactive=time] [max_size=size] [...];"},
	{name: "proxy_cache_key", module: "http_proxy", ctx: ctxHSL, args: args1, syntax: "proxy_cache_key string;"},
	{name: "proxy_cache_valid", module: "http_proxy", ctx: ctxHSL, args: args1More, multi: true, syntax: "proxy_cache_valid [code ...] time;"},
	{name: "proxy_cache_bypass", module: "http_proxy", ctx: ctxHSL, args: args1More, multi: true, syntax: "proxy_cache_bypass string ...;"},
	{name: "proxy_no_cache", module: "http_proxy", ctx: ctxHSL, args: args1More, multi: true, syntax: "proxy_no_cache string ...;"},
	{name: "proxy_cache_purge", module: "http_proxy", ctx: ctxHSL, args: args1More, multi: true, syntax: "proxy_cache_purge string ...;"},
	{name: "proxy_cache_use_stale", module: "http_proxy", ctx: ctxHSL, args: args1More, multi: true, syntax: "proxy_cache_use_stale error | timeout | invalid_header | updating | http_500 | http_502 | http_503 | http_504 | http_403 | http_404 | http_429 | off ...;"},
	{name: "proxy_cache_lock", module: "http_proxy", ctx: ctxHSL, args: argsFlag, syntax: "proxy_cache_lock on | off;"},
	{name: "proxy_cache_lock_timeout", module: "http_proxy", ctx: ctxHSL, args: args1, kinds: []kind{kindMsec}, syntax: "proxy_cache_lock_timeout time;"},
	{name: "proxy_cache_lock_age", module: "http_proxy", ctx: ctxHSL, args: args1, kinds: []kind{kindMsec}, syntax: "proxy_cache_lock_age time;"},
	{name: "proxy_cache_convert_head", module: "http_proxy", ctx: ctxHSL, args: argsFlag, syntax: "proxy_cache_convert_head on | off;"},
	{name: "proxy_cache_methods", module: "http_proxy", ctx: ctxHSL, args: args1More, multi: true, syntax: "proxy_cache_methods GET | HEAD | POST ...;"},
	{name: "proxy_cache_min_uses", module: "http_proxy", ctx: ctxHSL, args: args1, kinds: []kind{kindNumber}, syntax: "proxy_cache_min_uses number;"},
	{name: "proxy_cache_revalidate", module: "http_proxy", ctx: ctxHSL, args: argsFlag, syntax: "proxy_cache_revalidate on | off;"},
	{name: "proxy_cache_background_update", module: "http_proxy", ctx: ctxHSL, args: argsFlag, syntax: "proxy_cache_background_update on | off;"},
	{name: "proxy_ssl_server_name", module: "http_proxy", ctx: ctxHSL, args: argsFlag, syntax: "proxy_ssl_server_name on | off;"},
	{name: "proxy_ssl_name", module: "http_proxy", ctx: ctxHSL, args: args1, syntax: "proxy_ssl_name name;"},
	{name: "proxy_ssl_verify", module: "http_proxy", ctx: ctxHSL, args: argsFlag, syntax: "proxy_ssl_verify on | off;"},
	{name: "proxy_ssl_verify_depth", module: "http_proxy", ctx: ctxHSL, args: args1, kinds: []kind{kindNumber}, syntax: "proxy_ssl_verify_depth number;"},
	{name: "proxy_ssl_trusted_certificate", module: "http_proxy", ctx: ctxHSL, args: args1, syntax: "proxy_ssl_trusted_certificate file;"},
	{name: "proxy_ssl_protocols", module: "http_proxy", ctx: ctxHSL, args: args1More, multi: true, check: checkSSLProtocols, syntax: "proxy_ssl_protocols [TLSv1] [TLSv1.1] [TLSv1.2] [TLSv1.3];"},
	{name: "proxy_ssl_ciphers", module: "http_proxy", ctx: ctxHSL, args: args1, syntax: "proxy_ssl_ciphers ciphers;"},
	{name: "proxy_ssl_certificate", module: "http_proxy", ctx: ctxHSL, args: args1, syntax: "proxy_ssl_certificate file;"},
	{name: "proxy_ssl_certificate_key", module: "http_proxy", ctx: ctxHSL, args: args1, syntax: "proxy_ssl_certificate_key file;"},
	{name: "proxy_ssl_session_reuse", module: "http_proxy", ctx: ctxHSL, args: argsFlag, syntax: "proxy_ssl_session_reuse on | off;"},
	{name: "proxy_ssl_password_file", module: "http_proxy", ctx: ctxHSL, args: args1, syntax: "proxy_ssl_password_file file;"},
	{name: "proxy_ssl_crl", module: "http_proxy", ctx: ctxHSL, args: args1, syntax: "proxy_ssl_crl file;"},

	// rewrite
	{name: "return", module: "http_rewrite", ctx: ctxSL | ctxIfs, args: args12, multi: true, syntax: "return code [text] | code URL | URL;"},
	{name: "rewrite", module: "http_rewrite", ctx: ctxSL | ctxIfs, args: args23, multi: true, syntax: "rewrite regex replacement [flag];"},
	{name: "if", module: "http_rewrite", ctx: ctxSL, args: args1More | argsBlock, multi: true, child: ctxLocationIf, syntax: "if (condition) { ... }"},
	{name: "set", module: "http_rewrite", ctx: ctxSL | ctxIfs, args: args2, multi: true, syntax: "set $variable value;"},
	{name: "break", module: "http_rewrite", ctx: ctxSL | ctxIfs, args: argsNone, multi: true, syntax: "break;"},
	{name: "rewrite_log", module: "http_rewrite", ctx: ctxHSL | ctxIfs, args: argsFlag, syntax: "rewrite_log on | off;"},
	{name: "uninitialized_variable_warn", module: "http_rewrite", ctx: ctxHSL | ctxIfs, args: argsFlag, syntax: "uninitialized_variable_warn on | off;"},

	// index
	{name: "index", module: "http_index", ctx: ctxHSL, args: args1More, multi: true, syntax: "index file ...;"},

	// log
	{name: "log_format", module: "http_log", ctx: ctxHTTP, args: args2More, multi: true, syntax: "log_format name [escape=default|json|none] string ...;"},
	{name: "access_log", module: "http_log", ctx: ctxHSL | ctxLocationIf, args: args1More, multi: true, syntax: "access_log path [format [buffer=size] [flush=time] [if=condition]] | off;"},
	{name: "open_log_file_cache", module: "http_log", ctx: ctxHSL, args: args1234, check: openCacheCheck(true), status: ignored, note: "fulcrum keeps its fixed log files open; a path with variables opens its file for each line, as nginx without this cache", syntax: "open_log_file_cache max=N [inactive=time] [min_uses=N] [valid=time] | off;"},

	// headers
	{name: "add_header", module: "http_headers", ctx: ctxHSL | ctxLocationIf, args: args23, multi: true, syntax: "add_header name value [always];"},
	{name: "expires", module: "http_headers", ctx: ctxHSL | ctxLocationIf, args: args12, check: checkExpires, syntax: "expires [modified] time | epoch | max | off;"},
	{name: "add_trailer", module: "http_headers", ctx: ctxHSL, args: args23, multi: true, syntax: "add_trailer name value [always];"},

	// realip
	{name: "set_real_ip_from", module: "http_realip", ctx: ctxHSL, args: args1, multi: true, kinds: []kind{kindAddress}, syntax: "set_real_ip_from address | CIDR | unix:;"},
	{name: "real_ip_header", module: "http_realip", ctx: ctxHSL, args: args1, syntax: "real_ip_header field | X-Real-IP | X-Forwarded-For | proxy_protocol;"},
	{name: "real_ip_recursive", module: "http_realip", ctx: ctxHSL, args: argsFlag, syntax: "real_ip_recursive on | off;"},

	// map
	{name: "map", module: "http_map", ctx: ctxHTTP, args: args2 | argsBlock, multi: true, child: ctxMap, syntax: "map string $variable { ... }"},
	{name: "map_hash_max_size", module: "http_map", ctx: ctxHTTP, args: args1, kinds: []kind{kindNumber}, status: ignored, note: noteHash, syntax: "map_hash_max_size size;"},
	{name: "map_hash_bucket_size", module: "http_map", ctx: ctxHTTP, args: args1, kinds: []kind{kindNumber}, status: ignored, note: noteHash, syntax: "map_hash_bucket_size size;"},

	// access control and authentication: errors, never silently open
	{name: "allow", module: "http_access", ctx: ctxHSL | ctxLimitExcept, args: args1, multi: true, kinds: []kind{kindAccess}, syntax: "allow address | CIDR | unix: | all;"},
	{name: "deny", module: "http_access", ctx: ctxHSL | ctxLimitExcept, args: args1, multi: true, kinds: []kind{kindAccess}, syntax: "deny address | CIDR | unix: | all;"},
	{name: "auth_basic", module: "http_auth_basic", ctx: ctxHSL | ctxLimitExcept, args: args1, syntax: "auth_basic string | off;"},
	{name: "auth_basic_user_file", module: "http_auth_basic", ctx: ctxHSL | ctxLimitExcept, args: args1, syntax: "auth_basic_user_file file;"},
	{name: "internal_redirect", module: "http_internal_redirect", ctx: ctxSL, args: args1, syntax: "internal_redirect uri;"},
	{name: "auth_request", module: "http_auth_request", ctx: ctxHSL, args: args1, syntax: "auth_request uri | off;"},
	{name: "auth_request_set", module: "http_auth_request", ctx: ctxHSL, args: args2, multi: true, check: checkAuthRequestSet, syntax: "auth_request_set $variable value;"},
	// NGINX Plus's ngx_http_auth_jwt_module, which fulcrum has for free (jwt.go).
	{name: "auth_jwt", module: "http_auth_jwt", ctx: ctxHSL | ctxLimitExcept, args: args12, check: checkAuthJWT, syntax: "auth_jwt string [token=$variable] | off;"},
	{name: "auth_jwt_key_file", module: "http_auth_jwt", ctx: ctxHSL | ctxLimitExcept, args: args1, multi: true, check: checkAuthJWTKeyFile, syntax: "auth_jwt_key_file file;"},
	{name: "auth_jwt_require", module: "http_auth_jwt", ctx: ctxHSL | ctxLimitExcept, args: args1More, multi: true, check: checkAuthJWTRequire, syntax: "auth_jwt_require $value ... [error=401 | 403];"},
	{name: "auth_jwt_leeway", module: "http_auth_jwt", ctx: ctxHSL, args: args1, kinds: []kind{kindSec}, syntax: "auth_jwt_leeway time;"},
	{name: "auth_jwt_type", module: "http_auth_jwt", ctx: ctxHSL | ctxLimitExcept, args: args1, kinds: []kind{kindEnum}, enum: []string{"signed", "encrypted", "nested"}, check: checkAuthJWTType, syntax: "auth_jwt_type signed | encrypted | nested;"},
	{name: "auth_jwt_claim_set", module: "http_auth_jwt", ctx: ctxHTTP, args: args2More, multi: true, check: checkJWTVarSet, syntax: "auth_jwt_claim_set $variable name ...;"},
	{name: "auth_jwt_header_set", module: "http_auth_jwt", ctx: ctxHTTP, args: args2More, multi: true, check: checkJWTVarSet, syntax: "auth_jwt_header_set $variable name ...;"},
	{name: "auth_jwt_key_cache", module: "http_auth_jwt", ctx: ctxHSL, args: args1, kinds: []kind{kindSec}, syntax: "auth_jwt_key_cache time;"},
	{name: "auth_jwt_key_request", module: "http_auth_jwt", ctx: ctxHSL | ctxLimitExcept, args: args1, multi: true, syntax: "auth_jwt_key_request uri;"},
	// NGINX Plus's ngx_http_oidc_module (1.27.4), which fulcrum has for free (oidc.go).
	{name: "oidc_provider", module: "http_oidc", ctx: ctxHTTP, args: args1 | argsBlock, multi: true, child: ctxOIDC, syntax: "oidc_provider name { ... }"},
	{name: "auth_oidc", module: "http_oidc", ctx: ctxHSL, args: args1, syntax: "auth_oidc name | off;"},
	{name: "issuer", module: "http_oidc", ctx: ctxOIDC, args: args1, syntax: "issuer URL;"},
	{name: "client_id", module: "http_oidc", ctx: ctxOIDC, args: args1, syntax: "client_id string;"},
	{name: "client_secret", module: "http_oidc", ctx: ctxOIDC, args: args1, syntax: "client_secret string;"},
	{name: "config_url", module: "http_oidc", ctx: ctxOIDC, args: args1, syntax: "config_url URL;"},
	{name: "cookie_name", module: "http_oidc", ctx: ctxOIDC, args: args1, syntax: "cookie_name name;"},
	{name: "extra_auth_args", module: "http_oidc", ctx: ctxOIDC, args: args1, syntax: "extra_auth_args string;"},
	{name: "frontchannel_logout_uri", module: "http_oidc", ctx: ctxOIDC, args: args1, syntax: "frontchannel_logout_uri uri;"},
	{name: "pkce", module: "http_oidc", ctx: ctxOIDC, args: argsFlag, syntax: "pkce on | off;"},
	{name: "redirect_uri", module: "http_oidc", ctx: ctxOIDC, args: args1, syntax: "redirect_uri uri;"},
	{name: "logout_uri", module: "http_oidc", ctx: ctxOIDC, args: args1, syntax: "logout_uri uri;"},
	{name: "post_logout_uri", module: "http_oidc", ctx: ctxOIDC, args: args1, syntax: "post_logout_uri uri;"},
	{name: "logout_token_hint", module: "http_oidc", ctx: ctxOIDC, args: argsFlag, syntax: "logout_token_hint on | off;"},
	{name: "scope", module: "http_oidc", ctx: ctxOIDC, args: args1More, syntax: "scope scope ...;"},
	{name: "session_store", module: "http_oidc", ctx: ctxOIDC, args: args1, syntax: "session_store name;"},
	{name: "session_timeout", module: "http_oidc", ctx: ctxOIDC, args: args1, kinds: []kind{kindSec}, syntax: "session_timeout time;"},
	{name: "ssl_crl", module: "http_oidc", ctx: ctxOIDC, args: args1, syntax: "ssl_crl file;"},
	{name: "ssl_trusted_certificate", module: "http_oidc", ctx: ctxOIDC, args: args1, syntax: "ssl_trusted_certificate file;"},
	{name: "userinfo", module: "http_oidc", ctx: ctxOIDC, args: argsFlag, syntax: "userinfo on | off;"},
	{name: "geo", module: "http_geo", ctx: ctxHTTP, args: args12 | argsBlock, multi: true, child: ctxGeo, syntax: "geo [$address] $variable { ... }"},
	{name: "split_clients", module: "http_split_clients", ctx: ctxHTTP, args: args2 | argsBlock, multi: true, child: ctxSplit, syntax: "split_clients string $variable { ... }"},
	{name: "valid_referers", module: "http_referer", ctx: ctxSL, args: args1More, multi: true, syntax: "valid_referers none | blocked | server_names | string ...;"},
	{name: "referer_hash_max_size", module: "http_referer", ctx: ctxSL, args: args1, kinds: []kind{kindNumber}, status: ignored, note: noteHash, syntax: "referer_hash_max_size size;"},
	{name: "referer_hash_bucket_size", module: "http_referer", ctx: ctxSL, args: args1, kinds: []kind{kindNumber}, status: ignored, note: noteHash, syntax: "referer_hash_bucket_size size;"},
	{name: "secure_link", module: "http_secure_link", ctx: ctxHSL, args: args1, syntax: "secure_link expression;"},
	{name: "secure_link_md5", module: "http_secure_link", ctx: ctxHSL, args: args1, syntax: "secure_link_md5 expression;"},
	{name: "secure_link_secret", module: "http_secure_link", ctx: ctxHSL, args: args1, syntax: "secure_link_secret word;"},

	// limits: warnings, fulcrum serves the requests
	{name: "limit_req_zone", module: "http_limit_req", ctx: ctxHTTP, args: args3 | args4, multi: true, syntax: "limit_req_zone key zone=name:size rate=rate [sync];"},
	{name: "keyval_zone", module: "http_keyval", ctx: ctxHTTP, args: args1 | args2 | args3 | args4 | args5, multi: true, syntax: "keyval_zone zone=name:size [state=file] [timeout=time] [type=string|ip|prefix] [sync];"},
	{name: "keyval", module: "http_keyval", ctx: ctxHTTP, args: args3, multi: true, syntax: "keyval key $variable zone=name;"},
	{name: "geoip_country", module: "http_geoip", ctx: ctxHTTP, args: args12, syntax: "geoip_country file;"},
	{name: "geoip_city", module: "http_geoip", ctx: ctxHTTP, args: args12, syntax: "geoip_city file;"},
	{name: "geoip_org", module: "http_geoip", ctx: ctxHTTP, args: args12, syntax: "geoip_org file;"},
	{name: "geoip_proxy", module: "http_geoip", ctx: ctxHTTP, args: args1, multi: true, syntax: "geoip_proxy address | CIDR;"},
	{name: "geoip_proxy_recursive", module: "http_geoip", ctx: ctxHTTP, args: argsFlag, syntax: "geoip_proxy_recursive on | off;"},
	{name: "geoip2", module: "http_geoip2", ctx: ctxHTTP, args: args1 | argsBlock, multi: true, child: ctxGeoIP2, syntax: "geoip2 file { ... }"},
	{name: "geoip2_proxy", module: "http_geoip2", ctx: ctxHTTP, args: args1, multi: true, syntax: "geoip2_proxy address | CIDR;"},
	{name: "geoip2_proxy_recursive", module: "http_geoip2", ctx: ctxHTTP, args: argsFlag, syntax: "geoip2_proxy_recursive on | off;"},
	{name: "limit_req", module: "http_limit_req", ctx: ctxHSL, args: args123, multi: true, syntax: "limit_req zone=name [burst=number] [nodelay | delay=number];"},
	{name: "limit_req_status", module: "http_limit_req", ctx: ctxHSL, args: args1, syntax: "limit_req_status code;"},
	{name: "limit_req_log_level", module: "http_limit_req", ctx: ctxHSL, args: args1, syntax: "limit_req_log_level info | notice | warn | error;"},
	{name: "limit_req_dry_run", module: "http_limit_req", ctx: ctxHSL, args: argsFlag, syntax: "limit_req_dry_run on | off;"},
	{name: "limit_conn_zone", module: "http_limit_conn", ctx: ctxHTTP, args: args2, multi: true, syntax: "limit_conn_zone key zone=name:size;"},
	{name: "limit_conn", module: "http_limit_conn", ctx: ctxHSL, args: args2, multi: true, syntax: "limit_conn zone number;"},
	{name: "limit_conn_status", module: "http_limit_conn", ctx: ctxHSL, args: args1, syntax: "limit_conn_status code;"},
	{name: "limit_conn_log_level", module: "http_limit_conn", ctx: ctxHSL, args: args1, syntax: "limit_conn_log_level info | notice | warn | error;"},
	{name: "limit_conn_dry_run", module: "http_limit_conn", ctx: ctxHSL, args: argsFlag, syntax: "limit_conn_dry_run on | off;"},
	{name: "limit_rate", module: "http_core", ctx: ctxHSL | ctxLocationIf, args: args1, check: checkSizeValue, syntax: "limit_rate rate;"},
	{name: "limit_rate_after", module: "http_core", ctx: ctxHSL | ctxLocationIf, args: args1, check: checkSizeValue, syntax: "limit_rate_after size;"},

	// gzip
	{name: "gzip", module: "http_gzip", ctx: ctxHSL | ctxLocationIf, args: argsFlag, syntax: "gzip on | off;"},
	{name: "gzip_comp_level", module: "http_gzip", ctx: ctxHSL, args: args1, kinds: []kind{kindNumber}, syntax: "gzip_comp_level level;"},
	{name: "gzip_types", module: "http_gzip", ctx: ctxHSL, args: args1More, multi: true, syntax: "gzip_types mime-type ...;"},
	{name: "gzip_min_length", module: "http_gzip", ctx: ctxHSL, args: args1, kinds: []kind{kindSize}, syntax: "gzip_min_length length;"},
	{name: "gzip_proxied", module: "http_gzip", ctx: ctxHSL, args: args1More, multi: true, syntax: "gzip_proxied off | expired | no-cache | no-store | private | no_last_modified | no_etag | auth | any ...;"},
	{name: "gzip_vary", module: "http_gzip", ctx: ctxHSL, args: argsFlag, syntax: "gzip_vary on | off;"},
	{name: "gzip_buffers", module: "http_gzip", ctx: ctxHSL, args: args2, syntax: "gzip_buffers number size;"},
	{name: "gzip_http_version", module: "http_gzip", ctx: ctxHSL, args: args1, kinds: []kind{kindEnum}, enum: []string{"1.0", "1.1"}, syntax: "gzip_http_version 1.0 | 1.1;"},
	{name: "gzip_disable", module: "http_gzip", ctx: ctxHSL, args: args1More, multi: true, syntax: "gzip_disable regex ...;"},
	{name: "gzip_static", module: "http_gzip_static", ctx: ctxHSL, args: args1, syntax: "gzip_static on | off | always;"},
	{name: "gunzip", module: "http_gunzip", ctx: ctxHSL, args: argsFlag, syntax: "gunzip on | off;"},
	{name: "gunzip_buffers", module: "http_gunzip", ctx: ctxHSL, args: args2, syntax: "gunzip_buffers number size;"},

	// ssl
	{name: "ssl", module: "http_ssl", ctx: ctxHS, args: argsFlag, status: implemented, syntax: "ssl on | off;"},
	{name: "ssl_certificate", module: "http_ssl", ctx: ctxHS | ctxStreamSS, args: args1, multi: true, syntax: "ssl_certificate file;"},
	{name: "ssl_certificate_key", module: "http_ssl", ctx: ctxHS | ctxStreamSS, args: args1, multi: true, syntax: "ssl_certificate_key file;"},
	{name: "ssl_protocols", module: "http_ssl", ctx: ctxHS | ctxStreamSS, args: args1More, multi: true, check: checkSSLProtocols, syntax: "ssl_protocols [TLSv1] [TLSv1.1] [TLSv1.2] [TLSv1.3];"},
	{name: "ssl_ciphers", module: "http_ssl", ctx: ctxHS | ctxStreamSS, args: args1, syntax: "ssl_ciphers ciphers;"},
	{name: "ssl_prefer_server_ciphers", module: "http_ssl", ctx: ctxHS | ctxStreamSS, args: argsFlag, status: ignored, note: "Go's TLS orders cipher suites itself", syntax: "ssl_prefer_server_ciphers on | off;"},
	{name: "ssl_session_cache", module: "http_ssl", ctx: ctxHS | ctxStreamSS, args: args12, multi: true, check: checkSessionCache, syntax: "ssl_session_cache off | none | [builtin[:size]] [shared:name:size];"},
	{name: "ssl_session_timeout", module: "http_ssl", ctx: ctxHS | ctxStreamSS, args: args1, kinds: []kind{kindSec}, syntax: "ssl_session_timeout time;"},
	{name: "ssl_session_tickets", module: "http_ssl", ctx: ctxHS, args: argsFlag, syntax: "ssl_session_tickets on | off;"},
	{name: "ssl_session_ticket_key", module: "http_ssl", ctx: ctxHS, args: args1, multi: true, syntax: "ssl_session_ticket_key file;"},
	{name: "ssl_reject_handshake", module: "http_ssl", ctx: ctxHS, args: argsFlag, syntax: "ssl_reject_handshake on | off;"},
	{name: "ssl_dhparam", module: "http_ssl", ctx: ctxHS, args: args1, status: ignored, note: "Go's TLS has no DHE cipher suites; key exchange is ECDHE", syntax: "ssl_dhparam file;"},
	{name: "ssl_ecdh_curve", module: "http_ssl", ctx: ctxHS, args: args1, syntax: "ssl_ecdh_curve curve;"},
	{name: "ssl_stapling", module: "http_ssl", ctx: ctxHS, args: argsFlag, syntax: "ssl_stapling on | off;"},
	{name: "ssl_stapling_verify", module: "http_ssl", ctx: ctxHS, args: argsFlag, syntax: "ssl_stapling_verify on | off;"},
	{name: "ssl_stapling_file", module: "http_ssl", ctx: ctxHS, args: args1, syntax: "ssl_stapling_file file;"},
	{name: "ssl_stapling_responder", module: "http_ssl", ctx: ctxHS, args: args1, syntax: "ssl_stapling_responder url;"},
	{name: "ssl_trusted_certificate", module: "http_ssl", ctx: ctxHS, args: args1, syntax: "ssl_trusted_certificate file;"},
	{name: "ssl_client_certificate", module: "http_ssl", ctx: ctxHS, args: args1, syntax: "ssl_client_certificate file;"},
	{name: "ssl_verify_client", module: "http_ssl", ctx: ctxHS, args: args1, kinds: []kind{kindEnum}, enum: verifyModes, syntax: "ssl_verify_client on | off | optional | optional_no_ca;"},
	{name: "ssl_verify_depth", module: "http_ssl", ctx: ctxHS, args: args1, kinds: []kind{kindNumber}, syntax: "ssl_verify_depth number;"},
	{name: "ssl_crl", module: "http_ssl", ctx: ctxHS, args: args1, syntax: "ssl_crl file;"},
	{name: "ssl_ocsp", module: "http_ssl", ctx: ctxHS, args: args1, kinds: []kind{kindEnum}, enum: []string{"on", "off", "leaf"}, syntax: "ssl_ocsp on | off | leaf;"},
	{name: "ssl_ocsp_cache", module: "http_ssl", ctx: ctxHS, args: args1, syntax: "ssl_ocsp_cache off | [shared:name:size];"},
	{name: "ssl_ocsp_responder", module: "http_ssl", ctx: ctxHS, args: args1, syntax: "ssl_ocsp_responder url;"},
	{name: "ssl_buffer_size", module: "http_ssl", ctx: ctxHS, args: args1, kinds: []kind{kindSize}, status: ignored, note: "Go's TLS sizes its records itself (small ones first, then up to 16k)", syntax: "ssl_buffer_size size;"},
	{name: "ssl_early_data", module: "http_ssl", ctx: ctxHS, args: argsFlag, status: planned, asIs: []string{"off"}, note: noteEarlyData, syntax: "ssl_early_data on | off;"},
	{name: "ssl_password_file", module: "http_ssl", ctx: ctxHS, args: args1, syntax: "ssl_password_file file;"},

	// charset
	{name: "charset", module: "http_charset", ctx: ctxHSL | ctxLocationIf, args: args1, syntax: "charset charset | off;"},
	{name: "source_charset", module: "http_charset", ctx: ctxHSL, args: args1, syntax: "source_charset charset;"},
	{name: "override_charset", module: "http_charset", ctx: ctxHSL, args: argsFlag, syntax: "override_charset on | off;"},
	{name: "charset_types", module: "http_charset", ctx: ctxHSL, args: args1More, multi: true, syntax: "charset_types mime-type ...;"},
	{name: "charset_map", module: "http_charset", ctx: ctxHTTP, args: args2 | argsBlock, multi: true, status: ignored, note: "responses are not recoded", syntax: "charset_map charset1 charset2 { ... }"},

	// autoindex, ssi, sub, addition
	{name: "autoindex", module: "http_autoindex", ctx: ctxHSL, args: argsFlag, syntax: "autoindex on | off;"},
	{name: "autoindex_exact_size", module: "http_autoindex", ctx: ctxHSL, args: argsFlag, syntax: "autoindex_exact_size on | off;"},
	{name: "autoindex_format", module: "http_autoindex", ctx: ctxHSL, args: args1, kinds: []kind{kindEnum}, enum: []string{"html", "xml", "json", "jsonp"}, syntax: "autoindex_format html | xml | json | jsonp;"},
	{name: "autoindex_localtime", module: "http_autoindex", ctx: ctxHSL, args: argsFlag, syntax: "autoindex_localtime on | off;"},
	{name: "ssi", module: "http_ssi", ctx: ctxHSL | ctxLocationIf, args: argsFlag, syntax: "ssi on | off;"},
	{name: "ssi_types", module: "http_ssi", ctx: ctxHSL, args: args1More, multi: true, syntax: "ssi_types mime-type ...;"},
	{name: "ssi_silent_errors", module: "http_ssi", ctx: ctxHSL, args: argsFlag, syntax: "ssi_silent_errors on | off;"},
	{name: "ssi_value_length", module: "http_ssi", ctx: ctxHSL, args: args1, kinds: []kind{kindSize}, syntax: "ssi_value_length length;"},
	{name: "ssi_last_modified", module: "http_ssi", ctx: ctxHSL, args: argsFlag, syntax: "ssi_last_modified on | off;"},
	{name: "ssi_min_file_chunk", module: "http_ssi", ctx: ctxHSL, args: args1, kinds: []kind{kindSize}, syntax: "ssi_min_file_chunk size;"},
	{name: "ssi_ignore_recycled_buffers", module: "http_ssi", ctx: ctxHSL, args: argsFlag, syntax: "ssi_ignore_recycled_buffers on | off;"},
	{name: "image_filter", module: "http_image_filter", ctx: ctxLoc, args: args123, multi: true, syntax: "image_filter off | test | size | rotate 90 | 180 | 270 | resize width height | crop width height;"},
	{name: "image_filter_buffer", module: "http_image_filter", ctx: ctxHSL, args: args1, kinds: []kind{kindSize}, syntax: "image_filter_buffer size;"},
	{name: "image_filter_interlace", module: "http_image_filter", ctx: ctxHSL, args: argsFlag, status: ignored, asIs: []string{"off"}, note: "Go's image encoders write no progressive JPEG or interlaced PNG and GIF; the images are the same, only drawn top-down while they load", syntax: "image_filter_interlace on | off;"},
	{name: "image_filter_jpeg_quality", module: "http_image_filter", ctx: ctxHSL, args: args1, multi: true, syntax: "image_filter_jpeg_quality quality;"},
	{name: "image_filter_sharpen", module: "http_image_filter", ctx: ctxHSL, args: args1, multi: true, syntax: "image_filter_sharpen percent;"},
	{name: "image_filter_transparency", module: "http_image_filter", ctx: ctxHSL, args: argsFlag, syntax: "image_filter_transparency on | off;"},
	{name: "image_filter_webp_quality", module: "http_image_filter", ctx: ctxHSL, args: args1, multi: true, status: ignored, note: "Go's standard library has no WebP encoder: a WebP image passes image_filter test and size, and resize, crop and rotate answer 415", syntax: "image_filter_webp_quality quality;"},
	{name: "sub_filter", module: "http_sub", ctx: ctxHSL, args: args2, multi: true, syntax: "sub_filter string replacement;"},
	{name: "sub_filter_once", module: "http_sub", ctx: ctxHSL, args: argsFlag, syntax: "sub_filter_once on | off;"},
	{name: "sub_filter_types", module: "http_sub", ctx: ctxHSL, args: args1More, multi: true, syntax: "sub_filter_types mime-type ...;"},
	{name: "sub_filter_last_modified", module: "http_sub", ctx: ctxHSL, args: argsFlag, syntax: "sub_filter_last_modified on | off;"},
	{name: "add_before_body", module: "http_addition", ctx: ctxHSL, args: args1, syntax: "add_before_body uri;"},
	{name: "add_after_body", module: "http_addition", ctx: ctxHSL, args: args1, syntax: "add_after_body uri;"},
	{name: "addition_types", module: "http_addition", ctx: ctxHSL, args: args1More, multi: true, syntax: "addition_types mime-type ...;"},

	// gRPC (grpc.go)
	{name: "grpc_pass", module: "http_grpc", ctx: ctxLoc | ctxLocationIf, args: args1, syntax: "grpc_pass address;"},
	{name: "grpc_set_header", module: "http_grpc", ctx: ctxHSL, args: args2, multi: true, syntax: "grpc_set_header field value;"},
	{name: "grpc_hide_header", module: "http_grpc", ctx: ctxHSL, args: args1, multi: true, syntax: "grpc_hide_header field;"},
	{name: "grpc_pass_header", module: "http_grpc", ctx: ctxHSL, args: args1, multi: true, syntax: "grpc_pass_header field;"},
	{name: "grpc_connect_timeout", module: "http_grpc", ctx: ctxHSL, args: args1, kinds: []kind{kindMsec}, syntax: "grpc_connect_timeout time;"},
	{name: "grpc_read_timeout", module: "http_grpc", ctx: ctxHSL, args: args1, kinds: []kind{kindMsec}, syntax: "grpc_read_timeout time;"},
	{name: "grpc_send_timeout", module: "http_grpc", ctx: ctxHSL, args: args1, kinds: []kind{kindMsec}, syntax: "grpc_send_timeout time;"},
	{name: "grpc_next_upstream", module: "http_grpc", ctx: ctxHSL, args: args1More, multi: true, kinds: []kind{kindEnum}, enum: nextUpstreamNames(), syntax: "grpc_next_upstream error | timeout | invalid_header | http_500 | http_502 | http_503 | http_504 | http_403 | http_404 | http_429 | non_idempotent | off ...;"},
	{name: "grpc_next_upstream_tries", module: "http_grpc", ctx: ctxHSL, args: args1, kinds: []kind{kindNumber}, syntax: "grpc_next_upstream_tries number;"},
	{name: "grpc_next_upstream_timeout", module: "http_grpc", ctx: ctxHSL, args: args1, kinds: []kind{kindMsec}, syntax: "grpc_next_upstream_timeout time;"},
	{name: "grpc_intercept_errors", module: "http_grpc", ctx: ctxHSL, args: argsFlag, syntax: "grpc_intercept_errors on | off;"},
	{name: "grpc_buffer_size", module: "http_grpc", ctx: ctxHSL, args: args1, kinds: []kind{kindSize}, syntax: "grpc_buffer_size size;"},
	{name: "grpc_socket_keepalive", module: "http_grpc", ctx: ctxHSL, args: argsFlag, syntax: "grpc_socket_keepalive on | off;"},
	{name: "grpc_ssl_server_name", module: "http_grpc", ctx: ctxHSL, args: argsFlag, syntax: "grpc_ssl_server_name on | off;"},
	{name: "grpc_ssl_name", module: "http_grpc", ctx: ctxHSL, args: args1, syntax: "grpc_ssl_name name;"},
	{name: "grpc_ssl_verify", module: "http_grpc", ctx: ctxHSL, args: argsFlag, syntax: "grpc_ssl_verify on | off;"},
	{name: "grpc_ssl_verify_depth", module: "http_grpc", ctx: ctxHSL, args: args1, kinds: []kind{kindNumber}, syntax: "grpc_ssl_verify_depth number;"},
	{name: "grpc_ssl_trusted_certificate", module: "http_grpc", ctx: ctxHSL, args: args1, syntax: "grpc_ssl_trusted_certificate file;"},
	{name: "grpc_ssl_protocols", module: "http_grpc", ctx: ctxHSL, args: args1More, multi: true, check: checkSSLProtocols, syntax: "grpc_ssl_protocols [TLSv1] [TLSv1.1] [TLSv1.2] [TLSv1.3];"},
	{name: "grpc_ssl_ciphers", module: "http_grpc", ctx: ctxHSL, args: args1, syntax: "grpc_ssl_ciphers ciphers;"},
	{name: "grpc_ssl_session_reuse", module: "http_grpc", ctx: ctxHSL, args: argsFlag, syntax: "grpc_ssl_session_reuse on | off;"},
	{name: "grpc_ssl_certificate", module: "http_grpc", ctx: ctxHSL, args: args1, syntax: "grpc_ssl_certificate file;"},
	{name: "grpc_ssl_certificate_key", module: "http_grpc", ctx: ctxHSL, args: args1, syntax: "grpc_ssl_certificate_key file;"},
	{name: "grpc_ssl_password_file", module: "http_grpc", ctx: ctxHSL, args: args1, syntax: "grpc_ssl_password_file file;"},
	{name: "grpc_ssl_crl", module: "http_grpc", ctx: ctxHSL, args: args1, syntax: "grpc_ssl_crl file;"},

	// fastcgi (fastcgi.go)
	{name: "fastcgi_pass", module: "http_fastcgi", ctx: ctxLoc | ctxLocationIf, args: args1, syntax: "fastcgi_pass address;"},
	{name: "fastcgi_param", module: "http_fastcgi", ctx: ctxHSL, args: args23, multi: true, syntax: "fastcgi_param parameter value [if_not_empty];"},
	{name: "fastcgi_index", module: "http_fastcgi", ctx: ctxHSL, args: args1, syntax: "fastcgi_index name;"},
	{name: "fastcgi_split_path_info", module: "http_fastcgi", ctx: ctxHSL, args: args1, syntax: "fastcgi_split_path_info regex;"},
	{name: "fastcgi_pass_header", module: "http_fastcgi", ctx: ctxHSL, args: args1, multi: true, syntax: "fastcgi_pass_header field;"},
	{name: "fastcgi_hide_header", module: "http_fastcgi", ctx: ctxHSL, args: args1, multi: true, syntax: "fastcgi_hide_header field;"},
	{name: "fastcgi_ignore_headers", module: "http_fastcgi", ctx: ctxHSL, args: args1More, multi: true, syntax: "fastcgi_ignore_headers field ...;"},
	{name: "fastcgi_intercept_errors", module: "http_fastcgi", ctx: ctxHSL, args: argsFlag, syntax: "fastcgi_intercept_errors on | off;"},
	{name: "fastcgi_connect_timeout", module: "http_fastcgi", ctx: ctxHSL, args: args1, kinds: []kind{kindMsec}, syntax: "fastcgi_connect_timeout time;"},
	{name: "fastcgi_send_timeout", module: "http_fastcgi", ctx: ctxHSL, args: args1, kinds: []kind{kindMsec}, syntax: "fastcgi_send_timeout time;"},
	{name: "fastcgi_read_timeout", module: "http_fastcgi", ctx: ctxHSL, args: args1, kinds: []kind{kindMsec}, syntax: "fastcgi_read_timeout time;"},
	{name: "fastcgi_next_upstream", module: "http_fastcgi", ctx: ctxHSL, args: args1More, multi: true, kinds: []kind{kindEnum}, enum: nextUpstreamNames(), syntax: "fastcgi_next_upstream error | timeout | invalid_header | http_500 | http_503 | http_403 | http_404 | http_429 | non_idempotent | off ...;"},
	{name: "fastcgi_next_upstream_tries", module: "http_fastcgi", ctx: ctxHSL, args: args1, kinds: []kind{kindNumber}, syntax: "fastcgi_next_upstream_tries number;"},
	{name: "fastcgi_next_upstream_timeout", module: "http_fastcgi", ctx: ctxHSL, args: args1, kinds: []kind{kindMsec}, syntax: "fastcgi_next_upstream_timeout time;"},
	{name: "fastcgi_keep_conn", module: "http_fastcgi", ctx: ctxHSL, args: argsFlag, syntax: "fastcgi_keep_conn on | off;"},
	{name: "fastcgi_pass_request_headers", module: "http_fastcgi", ctx: ctxHSL, args: argsFlag, syntax: "fastcgi_pass_request_headers on | off;"},
	{name: "fastcgi_pass_request_body", module: "http_fastcgi", ctx: ctxHSL, args: argsFlag, syntax: "fastcgi_pass_request_body on | off;"},
	{name: "fastcgi_buffering", module: "http_fastcgi", ctx: ctxHSL, args: argsFlag, syntax: "fastcgi_buffering on | off;"},
	{name: "fastcgi_buffer_size", module: "http_fastcgi", ctx: ctxHSL, args: args1, kinds: []kind{kindSize}, syntax: "fastcgi_buffer_size size;"},
	{name: "fastcgi_buffers", module: "http_fastcgi", ctx: ctxHSL, args: args2, status: ignored, note: noteBuffers, syntax: "fastcgi_buffers number size;"},
	{name: "fastcgi_busy_buffers_size", module: "http_fastcgi", ctx: ctxHSL, args: args1, kinds: []kind{kindSize}, status: ignored, note: noteBuffers, syntax: "fastcgi_busy_buffers_size size;"},
	{name: "fastcgi_request_buffering", module: "http_fastcgi", ctx: ctxHSL, args: argsFlag, syntax: "fastcgi_request_buffering on | off;"},

	// scgi (fastcgi.go: the same shapes as fastcgi's)
	{name: "scgi_pass", module: "http_scgi", ctx: ctxLoc | ctxLocationIf, args: args1, syntax: "scgi_pass address;"},
	{name: "scgi_param", module: "http_scgi", ctx: ctxHSL, args: args23, multi: true, syntax: "scgi_param parameter value [if_not_empty];"},
	{name: "scgi_pass_header", module: "http_scgi", ctx: ctxHSL, args: args1, multi: true, syntax: "scgi_pass_header field;"},
	{name: "scgi_hide_header", module: "http_scgi", ctx: ctxHSL, args: args1, multi: true, syntax: "scgi_hide_header field;"},
	{name: "scgi_ignore_headers", module: "http_scgi", ctx: ctxHSL, args: args1More, multi: true, syntax: "scgi_ignore_headers field ...;"},
	{name: "scgi_intercept_errors", module: "http_scgi", ctx: ctxHSL, args: argsFlag, syntax: "scgi_intercept_errors on | off;"},
	{name: "scgi_connect_timeout", module: "http_scgi", ctx: ctxHSL, args: args1, kinds: []kind{kindMsec}, syntax: "scgi_connect_timeout time;"},
	{name: "scgi_send_timeout", module: "http_scgi", ctx: ctxHSL, args: args1, kinds: []kind{kindMsec}, syntax: "scgi_send_timeout time;"},
	{name: "scgi_read_timeout", module: "http_scgi", ctx: ctxHSL, args: args1, kinds: []kind{kindMsec}, syntax: "scgi_read_timeout time;"},
	{name: "scgi_next_upstream", module: "http_scgi", ctx: ctxHSL, args: args1More, multi: true, kinds: []kind{kindEnum}, enum: nextUpstreamNames(), syntax: "scgi_next_upstream error | timeout | invalid_header | http_500 | http_503 | http_403 | http_404 | http_429 | non_idempotent | off ...;"},
	{name: "scgi_next_upstream_tries", module: "http_scgi", ctx: ctxHSL, args: args1, kinds: []kind{kindNumber}, syntax: "scgi_next_upstream_tries number;"},
	{name: "scgi_next_upstream_timeout", module: "http_scgi", ctx: ctxHSL, args: args1, kinds: []kind{kindMsec}, syntax: "scgi_next_upstream_timeout time;"},
	{name: "scgi_pass_request_headers", module: "http_scgi", ctx: ctxHSL, args: argsFlag, syntax: "scgi_pass_request_headers on | off;"},
	{name: "scgi_pass_request_body", module: "http_scgi", ctx: ctxHSL, args: argsFlag, syntax: "scgi_pass_request_body on | off;"},
	{name: "scgi_buffering", module: "http_scgi", ctx: ctxHSL, args: argsFlag, syntax: "scgi_buffering on | off;"},
	{name: "scgi_buffer_size", module: "http_scgi", ctx: ctxHSL, args: args1, kinds: []kind{kindSize}, syntax: "scgi_buffer_size size;"},

	// uwsgi (fastcgi.go: the same shapes as fastcgi's)
	{name: "uwsgi_pass", module: "http_uwsgi", ctx: ctxLoc | ctxLocationIf, args: args1, syntax: "uwsgi_pass [protocol://]address;"},
	{name: "uwsgi_param", module: "http_uwsgi", ctx: ctxHSL, args: args23, multi: true, syntax: "uwsgi_param parameter value [if_not_empty];"},
	{name: "uwsgi_modifier1", module: "http_uwsgi", ctx: ctxHSL, args: args1, kinds: []kind{kindNumber}, syntax: "uwsgi_modifier1 number;"},
	{name: "uwsgi_modifier2", module: "http_uwsgi", ctx: ctxHSL, args: args1, kinds: []kind{kindNumber}, syntax: "uwsgi_modifier2 number;"},
	{name: "uwsgi_pass_header", module: "http_uwsgi", ctx: ctxHSL, args: args1, multi: true, syntax: "uwsgi_pass_header field;"},
	{name: "uwsgi_hide_header", module: "http_uwsgi", ctx: ctxHSL, args: args1, multi: true, syntax: "uwsgi_hide_header field;"},
	{name: "uwsgi_ignore_headers", module: "http_uwsgi", ctx: ctxHSL, args: args1More, multi: true, syntax: "uwsgi_ignore_headers field ...;"},
	{name: "uwsgi_intercept_errors", module: "http_uwsgi", ctx: ctxHSL, args: argsFlag, syntax: "uwsgi_intercept_errors on | off;"},
	{name: "uwsgi_connect_timeout", module: "http_uwsgi", ctx: ctxHSL, args: args1, kinds: []kind{kindMsec}, syntax: "uwsgi_connect_timeout time;"},
	{name: "uwsgi_send_timeout", module: "http_uwsgi", ctx: ctxHSL, args: args1, kinds: []kind{kindMsec}, syntax: "uwsgi_send_timeout time;"},
	{name: "uwsgi_read_timeout", module: "http_uwsgi", ctx: ctxHSL, args: args1, kinds: []kind{kindMsec}, syntax: "uwsgi_read_timeout time;"},
	{name: "uwsgi_next_upstream", module: "http_uwsgi", ctx: ctxHSL, args: args1More, multi: true, kinds: []kind{kindEnum}, enum: nextUpstreamNames(), syntax: "uwsgi_next_upstream error | timeout | invalid_header | http_500 | http_503 | http_403 | http_404 | http_429 | non_idempotent | off ...;"},
	{name: "uwsgi_next_upstream_tries", module: "http_uwsgi", ctx: ctxHSL, args: args1, kinds: []kind{kindNumber}, syntax: "uwsgi_next_upstream_tries number;"},
	{name: "uwsgi_next_upstream_timeout", module: "http_uwsgi", ctx: ctxHSL, args: args1, kinds: []kind{kindMsec}, syntax: "uwsgi_next_upstream_timeout time;"},
	{name: "uwsgi_pass_request_headers", module: "http_uwsgi", ctx: ctxHSL, args: argsFlag, syntax: "uwsgi_pass_request_headers on | off;"},
	{name: "uwsgi_pass_request_body", module: "http_uwsgi", ctx: ctxHSL, args: argsFlag, syntax: "uwsgi_pass_request_body on | off;"},
	{name: "uwsgi_buffering", module: "http_uwsgi", ctx: ctxHSL, args: argsFlag, syntax: "uwsgi_buffering on | off;"},
	{name: "uwsgi_buffer_size", module: "http_uwsgi", ctx: ctxHSL, args: args1, kinds: []kind{kindSize}, syntax: "uwsgi_buffer_size size;"},

	// memcached (memcached.go)
	{name: "memcached_pass", module: "http_memcached", ctx: ctxLoc | ctxLocationIf, args: args1, syntax: "memcached_pass address;"},
	{name: "memcached_bind", module: "http_memcached", ctx: ctxHSL, args: args12, syntax: "memcached_bind address [transparent] | off;"},
	{name: "memcached_buffer_size", module: "http_memcached", ctx: ctxHSL, args: args1, kinds: []kind{kindSize}, syntax: "memcached_buffer_size size;"},
	{name: "memcached_connect_timeout", module: "http_memcached", ctx: ctxHSL, args: args1, kinds: []kind{kindMsec}, syntax: "memcached_connect_timeout time;"},
	{name: "memcached_send_timeout", module: "http_memcached", ctx: ctxHSL, args: args1, kinds: []kind{kindMsec}, syntax: "memcached_send_timeout time;"},
	{name: "memcached_read_timeout", module: "http_memcached", ctx: ctxHSL, args: args1, kinds: []kind{kindMsec}, syntax: "memcached_read_timeout time;"},
	{name: "memcached_gzip_flag", module: "http_memcached", ctx: ctxHSL, args: args1, kinds: []kind{kindNumber}, syntax: "memcached_gzip_flag flag;"},
	{name: "memcached_next_upstream", module: "http_memcached", ctx: ctxHSL, args: args1More, multi: true, kinds: []kind{kindEnum}, enum: memcachedNextUpstreamNames(), syntax: "memcached_next_upstream error | timeout | invalid_response | not_found | off ...;"},
	{name: "memcached_next_upstream_tries", module: "http_memcached", ctx: ctxHSL, args: args1, kinds: []kind{kindNumber}, syntax: "memcached_next_upstream_tries number;"},
	{name: "memcached_next_upstream_timeout", module: "http_memcached", ctx: ctxHSL, args: args1, kinds: []kind{kindMsec}, syntax: "memcached_next_upstream_timeout time;"},
	{name: "memcached_socket_keepalive", module: "http_memcached", ctx: ctxHSL, args: argsFlag, syntax: "memcached_socket_keepalive on | off;"},

	// other content handlers
	{name: "fastcgi_temp_path", module: "http_fastcgi", ctx: ctxHSL, args: args1234, status: ignored, note: noteTemp, syntax: "fastcgi_temp_path path [level1 [level2 [level3]]];"},
	{name: "uwsgi_temp_path", module: "http_uwsgi", ctx: ctxHSL, args: args1234, status: ignored, note: noteTemp, syntax: "uwsgi_temp_path path [level1 [level2 [level3]]];"},
	{name: "scgi_temp_path", module: "http_scgi", ctx: ctxHSL, args: args1234, status: ignored, note: noteTemp, syntax: "scgi_temp_path path [level1 [level2 [level3]]];"},
	// nginx takes stub_status any number of times, and any one argument
	// (1.7.5 and earlier required one: "stub_status on").
	{name: "stub_status", module: "http_stub_status", ctx: ctxSL, args: argsNone | args1, multi: true, syntax: "stub_status;"},
	// NGINX Plus's ngx_http_api_module (nginx-light has no such module).
	{name: "api", module: "http_api", ctx: ctxLoc, args: argsNone | args1, syntax: "api [write=on|off];", check: checkAPI},
	{name: "metrics", module: "fulcrum", ctx: ctxLoc, args: argsNone, syntax: "metrics;"},
	{name: "dashboard", module: "fulcrum", ctx: ctxLoc, args: argsNone | args1, syntax: "dashboard [api=uri];", check: checkDashboard},
	{name: "status_zone", module: "http_api", ctx: ctxSL, args: args1, syntax: "status_zone zone;"},
	{name: "empty_gif", module: "http_empty_gif", ctx: ctxLoc, args: argsNone, syntax: "empty_gif;"},
	{name: "mirror", module: "http_mirror", ctx: ctxHSL, args: args1, multi: true, syntax: "mirror uri | off;"},
	{name: "mirror_request_body", module: "http_mirror", ctx: ctxHSL, args: argsFlag, syntax: "mirror_request_body on | off;"},
	{name: "dav_methods", module: "http_dav", ctx: ctxHSL, args: args1More, multi: true, check: checkDAVMethods, syntax: "dav_methods off | method ...;"},
	{name: "dav_access", module: "http_dav", ctx: ctxHSL, args: args123, check: checkDAVAccess, syntax: "dav_access users:permissions ...;"},
	{name: "create_full_put_path", module: "http_dav", ctx: ctxHSL, args: argsFlag, syntax: "create_full_put_path on | off;"},
	{name: "min_delete_depth", module: "http_dav", ctx: ctxHSL, args: args1, kinds: []kind{kindNumber}, syntax: "min_delete_depth number;"},
}

// nextUpstreamValues are proxy_next_upstream's values and their bits.
var nextUpstreamValues = []struct {
	name string
	bit  NextUpstream
}{
	{"error", NextError}, {"timeout", NextTimeout}, {"invalid_header", NextInvalidHeader},
	{"http_500", NextHTTP500}, {"http_502", NextHTTP502}, {"http_503", NextHTTP503},
	{"http_504", NextHTTP504}, {"http_403", NextHTTP403}, {"http_404", NextHTTP404},
	{"http_429", NextHTTP429}, {"non_idempotent", NextNonIdempotent}, {"off", NextOff},
}

// nextUpstreamNames lists proxy_next_upstream's values, for the table's enum.
func nextUpstreamNames() []string {
	names := make([]string, len(nextUpstreamValues))
	for i, v := range nextUpstreamValues {
		names[i] = v.name
	}
	return names
}

// directiveIndex maps a name to its specs; built once, never changed.
var directiveIndex = func() map[string][]*spec {
	m := make(map[string][]*spec, len(tableSpecs))
	for i := range tableSpecs {
		s := &tableSpecs[i]
		m[s.name] = append(m[s.name], s)
	}
	return m
}()

// directiveNames is every known name, sorted, for suggestions.
var directiveNames = func() []string {
	names := make([]string, 0, len(directiveIndex))
	for n := range directiveIndex {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}()

// lookupSpec returns the spec of name that is allowed in ctx. When name is known but
// not allowed in ctx it returns the first spec and false.
func lookupSpec(name string, ctx ctxSet) (*spec, bool, bool) {
	specs, known := directiveIndex[name]
	if !known {
		return nil, false, false
	}
	for _, s := range specs {
		if s.ctx&ctx != 0 {
			return s, true, true
		}
	}
	return specs[0], true, false
}

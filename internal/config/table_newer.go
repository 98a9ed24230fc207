package config

// Directives that nginx added after 1.22 (1.23.0 to 1.29.x; NGINX Plus's
// ssl_key_log family came with its release on 1.27.2): a configuration
// written for a current nginx contains them, and fulcrum must check them and
// act on them, or say why not, instead of answering "unknown directive".
// docs/directives.md lists each with the nginx version it appeared in.

// Notes shared by the families below.
const (
	noteQUIC        = "fulcrum has no HTTP/3; remove it or keep nginx for QUIC"
	noteObjectCache = "fulcrum reads certificates, keys and CRLs when the configuration loads or reloads; those of an ssl_certificate with variables at each handshake through a cache of its own (1000 certificates a configuration, a file read again when it changes), and those of a proxy_ssl_certificate, grpc_ssl_certificate or uwsgi_ssl_certificate with variables for each new upstream connection, without a cache"
)

// newerSpecs are the directives of nginx 1.23.0 to 1.29.x, grouped as
// docs/directives.md describes them.
var newerSpecs = []spec{
	// core
	{name: "ssl_object_cache_inheritable", module: "core", ctx: ctxMain, args: argsFlag, status: ignored, note: noteObjectCache, syntax: "ssl_object_cache_inheritable on | off;"},

	// ngx_http_core_module
	{name: "early_hints", module: "http_core", ctx: ctxHSL, args: args1More, syntax: "early_hints string ...;"},
	{name: "keepalive_min_timeout", module: "http_core", ctx: ctxHSL, args: args1, kinds: []kind{kindMsec}, syntax: "keepalive_min_timeout timeout;"},

	// ngx_http_ssl_module
	{name: "ssl_certificate_cache", module: "http_ssl", ctx: ctxHS, args: args123, status: ignored, note: noteObjectCache, syntax: "ssl_certificate_cache off | max=N [inactive=time] [valid=time];"},
	{name: "ssl_certificate_compression", module: "http_ssl", ctx: ctxHS, args: argsFlag, status: ignored, asIs: []string{"off"}, note: "Go's crypto/tls does not compress certificates (RFC 8879); the handshake sends them whole", syntax: "ssl_certificate_compression on | off;"},
	{name: "ssl_ech_file", module: "http_ssl", ctx: ctxHS, args: args1, multi: true, status: unsupported, note: "fulcrum does not decrypt Encrypted ClientHello; ignoring it would answer ECH clients with the public name's certificate. Remove it or keep nginx for ECH", syntax: "ssl_ech_file file;"},
	{name: "ssl_key_log", module: "http_ssl", ctx: ctxHS | ctxStreamSS, args: args1, syntax: "ssl_key_log path;"},

	// ngx_http_v3_module: QUIC and HTTP/3
	{name: "http3", module: "http_v3", ctx: ctxHS, args: argsFlag, status: unsupported, asIs: []string{"off"}, note: noteQUIC, syntax: "http3 on | off;"},
	{name: "http3_hq", module: "http_v3", ctx: ctxHS, args: argsFlag, status: unsupported, asIs: []string{"off"}, note: noteQUIC, syntax: "http3_hq on | off;"},
	{name: "http3_max_concurrent_streams", module: "http_v3", ctx: ctxHS, args: args1, kinds: []kind{kindNumber}, status: unsupported, note: noteQUIC, syntax: "http3_max_concurrent_streams number;"},
	{name: "http3_stream_buffer_size", module: "http_v3", ctx: ctxHS, args: args1, kinds: []kind{kindSize}, status: unsupported, note: noteQUIC, syntax: "http3_stream_buffer_size size;"},
	{name: "quic_active_connection_id_limit", module: "http_v3", ctx: ctxHS, args: args1, kinds: []kind{kindNumber}, status: unsupported, note: noteQUIC, syntax: "quic_active_connection_id_limit number;"},
	{name: "quic_bpf", module: "http_v3", ctx: ctxMain, args: argsFlag, status: unsupported, asIs: []string{"off"}, note: noteQUIC, syntax: "quic_bpf on | off;"},
	{name: "quic_gso", module: "http_v3", ctx: ctxHS, args: argsFlag, status: unsupported, asIs: []string{"off"}, note: noteQUIC, syntax: "quic_gso on | off;"},
	{name: "quic_host_key", module: "http_v3", ctx: ctxHS, args: args1, status: unsupported, note: noteQUIC, syntax: "quic_host_key file;"},
	{name: "quic_retry", module: "http_v3", ctx: ctxHS, args: argsFlag, status: unsupported, asIs: []string{"off"}, note: noteQUIC, syntax: "quic_retry on | off;"},

	// ngx_http_headers_module
	{name: "add_header_inherit", module: "http_headers", ctx: ctxHSL | ctxLocationIf, args: args1, kinds: []kind{kindEnum}, enum: []string{"on", "off", "merge"}, syntax: "add_header_inherit on | off | merge;"},
	{name: "add_trailer_inherit", module: "http_headers", ctx: ctxHSL | ctxLocationIf, args: args1, kinds: []kind{kindEnum}, enum: []string{"on", "off", "merge"}, syntax: "add_trailer_inherit on | off | merge;"},

	// ngx_http_proxy_module, ngx_http_grpc_module, ngx_http_uwsgi_module
	{name: "proxy_pass_trailers", module: "http_proxy", ctx: ctxHSL, args: argsFlag, syntax: "proxy_pass_trailers on | off;"},
	{name: "proxy_ssl_certificate_cache", module: "http_proxy", ctx: ctxHSL, args: args123, status: ignored, note: noteObjectCache, syntax: "proxy_ssl_certificate_cache off | max=N [inactive=time] [valid=time];"},
	{name: "proxy_ssl_key_log", module: "http_proxy", ctx: ctxHSL, args: args1, syntax: "proxy_ssl_key_log path;"},
	{name: "grpc_ssl_certificate_cache", module: "http_grpc", ctx: ctxHSL, args: args123, status: ignored, note: noteObjectCache, syntax: "grpc_ssl_certificate_cache off | max=N [inactive=time] [valid=time];"},
	{name: "grpc_ssl_key_log", module: "http_grpc", ctx: ctxHSL, args: args1, syntax: "grpc_ssl_key_log path;"},
	{name: "uwsgi_ssl_certificate_cache", module: "http_uwsgi", ctx: ctxHSL, args: args123, status: ignored, note: noteObjectCache, syntax: "uwsgi_ssl_certificate_cache off | max=N [inactive=time] [valid=time];"},
	{name: "uwsgi_ssl_key_log", module: "http_uwsgi", ctx: ctxHSL, args: args1, syntax: "uwsgi_ssl_key_log path;"},

	// stream: virtual servers and ngx_stream_pass_module (1.25.5), OCSP
	// (1.27.2)
	{name: "server_name", module: "stream_core", ctx: ctxStreamSrv, args: args1More, multi: true, status: unsupported, note: "fulcrum's stream servers are chosen by their listen address only; ignoring server_name would send every name's connections to one server. Give each server its own listen address", syntax: "server_name name ...;"},
	{name: "pass", module: "stream_pass", ctx: ctxStreamSrv, args: args1, status: unsupported, note: "fulcrum cannot hand a stream connection to another listening socket; use proxy_pass to that address", syntax: "pass address;"},
	{name: "ssl_reject_handshake", module: "stream_ssl", ctx: ctxStreamSS, args: argsFlag, status: unsupported, asIs: []string{"off"}, note: "fulcrum's stream servers cannot refuse a handshake; ignoring this would complete handshakes it refuses", syntax: "ssl_reject_handshake on | off;"},
	{name: "ssl_stapling", module: "stream_ssl", ctx: ctxStreamSS, args: argsFlag, syntax: "ssl_stapling on | off;"},
	{name: "proxy_ssl_key_log", module: "stream_proxy", ctx: ctxStreamSS, args: args1, syntax: "proxy_ssl_key_log path;"},
	{name: "ssl_stapling_file", module: "stream_ssl", ctx: ctxStreamSS, args: args1, syntax: "ssl_stapling_file file;"},
	{name: "ssl_stapling_responder", module: "stream_ssl", ctx: ctxStreamSS, args: args1, syntax: "ssl_stapling_responder url;"},
	{name: "ssl_stapling_verify", module: "stream_ssl", ctx: ctxStreamSS, args: argsFlag, syntax: "ssl_stapling_verify on | off;"},
	{name: "ssl_ocsp", module: "stream_ssl", ctx: ctxStreamSS, args: args1, kinds: []kind{kindEnum}, enum: []string{"on", "off", "leaf"}, status: unsupported, note: "fulcrum's stream servers do not check client certificates with OCSP; ignoring this would accept revoked certificates", syntax: "ssl_ocsp on | off | leaf;"},
	{name: "ssl_ocsp_cache", module: "stream_ssl", ctx: ctxStreamSS, args: args1, status: unsupported, note: "fulcrum's stream servers do not check client certificates with OCSP; ignoring this would accept revoked certificates", syntax: "ssl_ocsp_cache off | [shared:name:size];"},
	{name: "ssl_ocsp_responder", module: "stream_ssl", ctx: ctxStreamSS, args: args1, status: unsupported, note: "fulcrum's stream servers do not check client certificates with OCSP; ignoring this would accept revoked certificates", syntax: "ssl_ocsp_responder url;"},
}

// checkProxyHTTPVersion checks proxy_http_version's value, 1.0 or 1.1, as
// an enum would (after the duplicate check, as nginx's enum slot), and
// refuses 2 (nginx 1.29.4: HTTP/2 to proxied servers) with the reason.
func checkProxyHTTPVersion(d *Directive) error {
	switch d.Args[0] {
	case "1.0", "1.1":
		return nil
	case "2":
		return hintf(d.Pos, "fulcrum speaks HTTP/1.0 and 1.1 to proxy_pass upstreams; use 1.1 (kept alive by default), or grpc_pass for a gRPC backend",
			`fulcrum does not support "proxy_http_version 2" yet`)
	}
	return hintf(d.Pos, "use one of: 1.0, 1.1", `invalid value "%s"`, d.Args[0])
}

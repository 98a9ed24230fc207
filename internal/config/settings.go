package config

import (
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// settingRule fills one part of Settings from the directives that apply to a level.
// find picks them (nil means scope.nearest: the nearest level that writes any of
// names); apply turns them into values. A rule whose directives are written nowhere
// leaves the default.
type settingRule struct {
	names []string
	find  func(s *scope, names ...string) ([]*Directive, *scope)
	apply func(b *builder, st *Settings, dirs []*Directive, at *scope) error
}

// fill applies the rule to st with the directives it finds from s (the
// nearest level that has them, unless the rule says how to find them); a
// rule with no directive to find leaves st as it is.
func (r settingRule) fill(b *builder, st *Settings, s *scope) error {
	find := r.find
	if find == nil {
		find = (*scope).nearest
	}
	dirs, at := find(s, r.names...)
	if len(dirs) == 0 {
		return nil
	}
	return r.apply(b, st, dirs, at)
}

// settingRules are every per-request setting, in the order they are filled (ProxyPass
// before ProxyRedirects, which depends on it).
var settingRules = slices.Concat(clientBodyRules, []settingRule{
	{names: rewriteNames, find: findRewrites, apply: applyRewrites},
	flagRule("rewrite_log", func(s *Settings) *bool { return &s.RewriteLog }),
	flagRule("uninitialized_variable_warn", func(s *Settings) *bool { return &s.UninitializedVariableWarn }),
	{names: []string{"proxy_pass"}, find: findProxyPass, apply: applyProxyPass},
	{names: []string{"stub_status", "proxy_pass"}, find: findRewrites, apply: applyStubStatus},
	{names: []string{"status_zone"}, find: findLocationZone, apply: applyLocationZone},

	// static files
	{names: []string{"root"}, apply: func(b *builder, st *Settings, dirs []*Directive, _ *scope) error {
		st.Root = b.docPath(trimRootSlash(dirs[0].Args[0]))
		return nil
	}},
	{names: []string{"root", "alias"}, apply: applyAlias},
	{names: []string{"index"}, apply: applyIndex},
	{names: []string{"internal"}, apply: func(_ *builder, st *Settings, _ []*Directive, _ *scope) error {
		st.Internal = true // inherited by nested locations, as nginx merges it
		return nil
	}},
	{names: []string{"try_files"}, find: findTryFiles, apply: applyTryFiles},
	{names: []string{"disable_symlinks"}, apply: applyDisableSymlinks},
	flagRule("autoindex", func(s *Settings) *bool { return &s.Autoindex }),
	flagRule("random_index", func(s *Settings) *bool { return &s.RandomIndex }),
	{names: contentRivals, find: findRewrites, apply: applyContentHandler},
	flagRule("autoindex_exact_size", func(s *Settings) *bool { return &s.AutoindexExactSize }),
	flagRule("autoindex_localtime", func(s *Settings) *bool { return &s.AutoindexLocaltime }),
	textRule("autoindex_format", func(s *Settings) *string { return &s.AutoindexFormat }),
	{names: []string{"empty_gif", "stub_status", "proxy_pass"}, find: findRewrites, apply: applyEmptyGIF},
	textRule("default_type", func(s *Settings) *string { return &s.DefaultType }),
	{names: []string{"types"}, apply: func(b *builder, st *Settings, dirs []*Directive, _ *scope) error {
		st.Types = b.types(dirs)
		return nil
	}},

	// proxy request and response
	{names: []string{"proxy_set_header"}, apply: func(_ *builder, st *Settings, dirs []*Directive, _ *scope) error {
		st.ProxySetHeaders = headerTemplates(dirs)
		return nil
	}},
	listRule("proxy_hide_header", func(s *Settings) *[]string { return &s.ProxyHideHeaders }),
	{names: []string{"proxy_ignore_headers"}, apply: applyIgnoreHeaders},
	listRule("proxy_pass_header", func(s *Settings) *[]string { return &s.ProxyPassHeaders }),
	flagRule("proxy_pass_request_headers", func(s *Settings) *bool { return &s.ProxyPassRequestHeaders }),
	flagRule("proxy_pass_request_body", func(s *Settings) *bool { return &s.ProxyPassRequestBody }),
	flagRule("proxy_pass_trailers", func(s *Settings) *bool { return &s.ProxyPassTrailers }),
	{names: []string{"early_hints"}, apply: func(_ *builder, st *Settings, dirs []*Directive, _ *scope) error {
		st.EarlyHints, st.EarlyHintsPos = dirs[0].Args, dirs[0].Pos
		return nil
	}},
	{names: []string{"proxy_set_body"}, apply: func(_ *builder, st *Settings, dirs []*Directive, _ *scope) error {
		body := dirs[0].Args[0]
		st.ProxySetBody = &body
		return nil
	}},
	textRule("proxy_method", func(s *Settings) *string { return &s.ProxyMethod }),
	textRule("proxy_http_version", func(s *Settings) *string { return &s.ProxyHTTPVersion }),
	{names: []string{"proxy_redirect"}, apply: applyProxyRedirect},
	{names: []string{"proxy_cookie_domain"}, apply: applyCookieDomain},
	{names: []string{"proxy_cookie_path"}, apply: applyCookiePath},
	{names: []string{"proxy_cookie_flags"}, apply: applyCookieFlags},
	flagRule("proxy_buffering", func(s *Settings) *bool { return &s.ProxyBuffering }),
	flagRule("proxy_force_ranges", func(s *Settings) *bool { return &s.ProxyForceRanges }),
	{names: []string{"proxy_limit_rate"}, apply: applyProxyLimitRate},
	flagRule("proxy_intercept_errors", func(s *Settings) *bool { return &s.ProxyInterceptErrors }),
	flagRule("proxy_ignore_client_abort", func(s *Settings) *bool { return &s.ProxyIgnoreClientAbort }),
	flagRule("proxy_socket_keepalive", func(s *Settings) *bool { return &s.ProxySocketKeepalive }),
	flagRule("proxy_request_buffering", func(s *Settings) *bool { return &s.ProxyRequestBuffering }),

	// proxy cache (cache.go)
	{names: []string{"proxy_cache"}, apply: applyProxyCache},
	{names: []string{"proxy_store"}, apply: applyProxyStore}, // after proxy_cache, which it turns off
	{names: []string{"proxy_store_access"}, apply: applyProxyStoreAccess},
	{names: []string{"proxy_cache_key"}, apply: func(_ *builder, st *Settings, dirs []*Directive, _ *scope) error {
		st.ProxyCache.Key, st.ProxyCache.ImplicitKey = dirs[0].Args[0], false
		return nil
	}},
	{names: []string{"proxy_cache_valid"}, apply: applyCacheValid},
	{names: []string{"proxy_cache_methods"}, apply: applyCacheMethods},
	intRule("proxy_cache_min_uses", func(s *Settings) *int { return &s.ProxyCache.MinUses }),
	{names: []string{"proxy_cache_bypass"}, apply: applyCacheStrings(func(s *Settings) *[]string { return &s.ProxyCache.Bypass })},
	{names: []string{"proxy_no_cache"}, apply: applyCacheStrings(func(s *Settings) *[]string { return &s.ProxyCache.NoCache })},
	{names: []string{"proxy_cache_purge"}, apply: applyCacheStrings(func(s *Settings) *[]string { return &s.ProxyCache.Purge })},
	{names: []string{"proxy_cache_use_stale"}, apply: applyCacheUseStale},
	flagRule("proxy_cache_lock", func(s *Settings) *bool { return &s.ProxyCache.Lock }),
	msecRule("proxy_cache_lock_timeout", func(s *Settings) *time.Duration { return &s.ProxyCache.LockTimeout }),
	msecRule("proxy_cache_lock_age", func(s *Settings) *time.Duration { return &s.ProxyCache.LockAge }),
	flagRule("proxy_cache_revalidate", func(s *Settings) *bool { return &s.ProxyCache.Revalidate }),
	flagRule("proxy_cache_background_update", func(s *Settings) *bool { return &s.ProxyCache.BackgroundUpdate }),
	flagRule("proxy_cache_convert_head", func(s *Settings) *bool { return &s.ProxyCache.ConvertHead }),
	{names: []string{"proxy_cache_max_range_offset"}, apply: func(_ *builder, st *Settings, dirs []*Directive, _ *scope) error {
		return parseMaxRangeOffset(dirs[0], &st.ProxyCache)
	}},

	// proxy timeouts and retries
	{names: []string{"proxy_bind"}, apply: applyProxyBind},
	{names: []string{"resolver"}, apply: func(b *builder, st *Settings, dirs []*Directive, _ *scope) error {
		r, err := b.parseResolver(dirs[0], nil)
		st.Resolver = r
		return err
	}},
	msecRule("resolver_timeout", func(s *Settings) *time.Duration { return &s.ResolverTimeout }),
	msecRule("proxy_connect_timeout", func(s *Settings) *time.Duration { return &s.ProxyConnectTimeout }),
	msecRule("proxy_read_timeout", func(s *Settings) *time.Duration { return &s.ProxyReadTimeout }),
	sizeRule("proxy_buffer_size", func(s *Settings) *int64 { return &s.ProxyBufferSize }),
	upstreamBuffersRule("proxy"),
	msecRule("proxy_send_timeout", func(s *Settings) *time.Duration { return &s.ProxySendTimeout }),
	{names: []string{"proxy_next_upstream"}, apply: applyNextUpstream},
	intRule("proxy_next_upstream_tries", func(s *Settings) *int { return &s.ProxyNextUpstreamTries }),
	msecRule("proxy_next_upstream_timeout", func(s *Settings) *time.Duration { return &s.ProxyNextUpstreamTimeout }),

	// TLS to upstreams (proxy_ssl.go)
	flagRule("proxy_ssl_server_name", func(s *Settings) *bool { return &s.ProxySSL.ServerName }),
	{names: []string{"proxy_ssl_name"}, apply: applyProxySSLName},
	flagRule("proxy_ssl_verify", func(s *Settings) *bool { return &s.ProxySSL.Verify }),
	intRule("proxy_ssl_verify_depth", func(s *Settings) *int { return &s.ProxySSL.VerifyDepth }),
	{names: []string{"proxy_ssl_trusted_certificate"}, apply: applyProxySSLTrusted},
	{names: []string{"proxy_ssl_crl"}, apply: applyProxySSLCRL},
	{names: []string{"proxy_ssl_protocols"}, apply: applyProxySSLProtocols},
	{names: []string{"proxy_ssl_ciphers"}, apply: applyProxySSLCiphers},
	{names: []string{"proxy_ssl_certificate"}, find: findHere, apply: applyProxySSLCertificate},
	flagRule("proxy_ssl_session_reuse", func(s *Settings) *bool { return &s.ProxySSL.SessionReuse }),
	keyLogRule("proxy_ssl_key_log", func(s *Settings) *ProxySSL { return &s.ProxySSL }),
	// Last: nginx checks the combination where a proxy_pass https:// uses it.
	{names: []string{"proxy_pass"}, find: findProxyPass, apply: checkProxySSL},

	// client limits and timeouts
	{names: []string{"client_max_body_size"}, apply: func(_ *builder, st *Settings, dirs []*Directive, _ *scope) error {
		n, err := parseOffset(dirs[0].Args[0])
		st.ClientMaxBodySize = n
		return err
	}},
	msecRule("client_header_timeout", func(s *Settings) *time.Duration { return &s.ClientHeaderTimeout }),
	msecRule("client_body_timeout", func(s *Settings) *time.Duration { return &s.ClientBodyTimeout }),
	msecRule("send_timeout", func(s *Settings) *time.Duration { return &s.SendTimeout }),
	sizeValueRule("limit_rate", func(s *Settings) *SizeValue { return &s.LimitRate }),
	sizeValueRule("limit_rate_after", func(s *Settings) *SizeValue { return &s.LimitRateAfter }),
	sizeRule("slice", func(s *Settings) *int64 { return &s.Slice }),
	{names: []string{"keepalive_timeout"}, apply: applyKeepaliveTimeout},
	intRule("keepalive_requests", func(s *Settings) *int { return &s.KeepaliveRequests }),
	msecRule("keepalive_time", func(s *Settings) *time.Duration { return &s.KeepaliveTime }),
	msecRule("keepalive_min_timeout", func(s *Settings) *time.Duration { return &s.KeepaliveMinTimeout }),
	{names: []string{"large_client_header_buffers"}, apply: applyLargeHeaderBuffers},
	{names: []string{"client_header_buffer_size"}, apply: applyHeaderBufferSize},
	{names: []string{"http2"}, apply: func(_ *builder, st *Settings, dirs []*Directive, _ *scope) error {
		v, err := parseFlag(dirs[0].Args[0])
		st.HTTP2, st.HTTP2Pos = v, dirs[0].Pos
		return err
	}},
	intRule("http2_max_concurrent_streams", func(s *Settings) *int { return &s.HTTP2Settings.MaxConcurrentStreams }),
	sizeRule("http2_chunk_size", func(s *Settings) *int64 { return &s.HTTP2Settings.ChunkSize }),
	sizeRule("http2_body_preread_size", func(s *Settings) *int64 { return &s.HTTP2Settings.BodyPrereadSize }),
	sizeRule("http2_recv_buffer_size", func(s *Settings) *int64 { return &s.HTTP2Settings.RecvBufferSize }),
	flagRule("underscores_in_headers", func(s *Settings) *bool { return &s.UnderscoresInHeaders }),
	flagRule("ignore_invalid_headers", func(s *Settings) *bool { return &s.IgnoreInvalidHeaders }),
	flagRule("merge_slashes", func(s *Settings) *bool { return &s.MergeSlashes }),
	{names: []string{"set_real_ip_from"}, apply: func(b *builder, st *Settings, dirs []*Directive, _ *scope) error {
		list, err := b.realIPFrom(dirs)
		st.SetRealIPFrom = list
		return err
	}},
	textRule("real_ip_header", func(s *Settings) *string { return &s.RealIPHeader }),
	flagRule("real_ip_recursive", func(s *Settings) *bool { return &s.RealIPRecursive }),

	// access
	{names: []string{"allow", "deny"}, apply: applyAccess},
	{names: []string{"auth_basic", "auth_basic_user_file"}, find: findAuthBasic, apply: applyAuthBasic},
	{names: []string{"satisfy"}, apply: applySatisfy},
	{names: []string{"auth_request"}, apply: applyAuthRequest},
	{names: []string{"auth_request_set"}, apply: applyAuthRequestSet},
	{names: []string{"internal_redirect"}, apply: applyInternalRedirect},
	{names: jwtNames, find: findAuthJWT, apply: applyAuthJWT},
	{names: []string{"auth_oidc"}, apply: applyAuthOIDC},
	{names: []string{"valid_referers"}, apply: applyValidReferers},
	{names: secureLinkNames, find: findHere, apply: applySecureLink},
	{names: []string{"mirror"}, apply: applyMirror},
	flagRule("mirror_request_body", func(s *Settings) *bool { return &s.MirrorRequestBody }),
	{names: []string{"post_action"}, apply: applyPostAction},

	// WebDAV and addition (dav.go)
	{names: []string{"dav_methods"}, apply: applyDAVMethods},
	{names: []string{"dav_access"}, apply: applyDAVAccess},
	flagRule("create_full_put_path", func(s *Settings) *bool { return &s.CreateFullPutPath }),
	{names: []string{"min_delete_depth"}, apply: applyMinDeleteDepth},
	textRule("add_before_body", func(s *Settings) *string { return &s.AddBeforeBody }),
	textRule("add_after_body", func(s *Settings) *string { return &s.AddAfterBody }),
	{names: []string{"addition_types"}, apply: applyAdditionTypes},

	// limits (preaccess)
	{names: []string{"limit_conn"}, apply: applyLimitConn},
	{names: []string{"limit_conn_status"}, apply: applyLimitConnStatus},
	{names: []string{"limit_conn_log_level"}, apply: applyLimitConnLogLevel},
	flagRule("limit_conn_dry_run", func(s *Settings) *bool { return &s.LimitConnDryRun }),
	{names: []string{"limit_req"}, apply: applyLimitReq},
	{names: []string{"limit_req_status"}, apply: applyLimitReqStatus},
	{names: []string{"limit_req_log_level"}, apply: applyLimitReqLogLevel},
	flagRule("limit_req_dry_run", func(s *Settings) *bool { return &s.LimitReqDryRun }),

	// responses
	{names: []string{"add_header"}, find: inheritRule("add_header_inherit"), apply: applyAddHeader},
	{names: []string{"add_trailer"}, find: inheritRule("add_trailer_inherit"), apply: applyAddTrailer},
	{names: []string{"expires"}, apply: applyExpires},
	{names: []string{"error_page"}, apply: applyErrorPage},
	flagRule("recursive_error_pages", func(s *Settings) *bool { return &s.RecursiveErrorPages }),
	flagRule("absolute_redirect", func(s *Settings) *bool { return &s.AbsoluteRedirect }),
	flagRule("port_in_redirect", func(s *Settings) *bool { return &s.PortInRedirect }),
	flagRule("server_name_in_redirect", func(s *Settings) *bool { return &s.ServerNameInRedirect }),
	{names: []string{"server_tokens"}, apply: func(_ *builder, st *Settings, dirs []*Directive, _ *scope) error {
		st.ServerTokens = dirs[0].Args[0] != "off"
		return nil
	}},

	// compression (gzip)
	flagRule("gzip", func(s *Settings) *bool { return &s.Gzip.On }),
	flagRule("gzip_vary", func(s *Settings) *bool { return &s.Gzip.Vary }),
	{names: []string{"gzip_types"}, apply: applyGzipTypes},
	{names: []string{"gzip_comp_level"}, apply: applyGzipCompLevel},
	{names: []string{"gzip_min_length"}, apply: func(_ *builder, st *Settings, dirs []*Directive, _ *scope) error {
		n, err := parseSize(dirs[0].Args[0]) // checked by the table's kindSize
		st.Gzip.MinLength = n
		return err
	}},
	{names: []string{"gzip_proxied"}, apply: applyGzipProxied},
	{names: []string{"gzip_disable"}, apply: applyGzipDisable},
	{names: []string{"gzip_disable"}, find: findMSIE6, apply: func(_ *builder, st *Settings, _ []*Directive, _ *scope) error {
		st.Gzip.DisableMSIE6 = true
		return nil
	}},
	{names: []string{"gzip_http_version"}, apply: func(_ *builder, st *Settings, dirs []*Directive, _ *scope) error {
		st.Gzip.HTTP10 = dirs[0].Args[0] == "1.0" // the table's kindEnum checked it
		return nil
	}},
	{names: []string{"gzip_buffers"}, apply: applyGzipBuffers},
	{names: []string{"gzip_static"}, apply: applyGzipStatic},
	flagRule("gunzip", func(s *Settings) *bool { return &s.Gzip.Gunzip }),
	{names: []string{"gunzip_buffers"}, apply: applyGunzipBuffers},

	// body substitution (subfilter.go)
	{names: []string{"sub_filter"}, apply: applySubFilter},
	flagRule("sub_filter_once", func(s *Settings) *bool { return &s.SubFilter.Once }),
	flagRule("sub_filter_last_modified", func(s *Settings) *bool { return &s.SubFilter.LastModified }),
	{names: []string{"sub_filter_types"}, apply: applySubFilterTypes},

	// charset (charset.go); the check last, when all four are read
	{names: []string{"charset"}, apply: applyCharset},
	{names: []string{"charset_types"}, apply: applyCharsetTypes},
	flagRule("override_charset", func(s *Settings) *bool { return &s.Charset.Override }),
	{names: []string{"source_charset"}, apply: applySourceCharset},
	{names: []string{"charset"}, find: findHere, apply: checkCharset},

	// logging
	{names: []string{"access_log"}, apply: applyAccessLog},
	{names: []string{"error_log"}, apply: func(b *builder, st *Settings, dirs []*Directive, _ *scope) error {
		logs, err := b.errorLogs(dirs)
		st.ErrorLogs = logs
		return err
	}},

	// api and metrics (admin.go), after allow and deny, which it looks at
	{names: contentNames, find: findRewrites, apply: applyAdmin},
}, grpcRules(), []settingRule{
	// After proxy_pass and grpc_pass, whose upstream the checks test
	// (healthcheck.go).
	{names: []string{"health_check"}, find: findHealthChecks, apply: applyHealthChecks},
}, ssiRules(), useridRules(), browserRules(), coreFlagRules(), mp4Rules(), imageFilterRules())

// defaultSettings are nginx's defaults (fulcrum's where it differs, as documented):
// what a level gets for every directive that no level of its chain writes.
func (b *builder) defaultSettings() *Settings {
	return &Settings{
		ResolverTimeout:            defaultResolverTimeout,
		Root:                       b.path("html"),
		Index:                      []string{"index.html"},
		DefaultType:                "text/plain",
		Types:                      b.defaultTypes(),
		ProxyPassRequestHeaders:    true,
		ProxyPassRequestBody:       true,
		MirrorRequestBody:          true,
		DAVAccess:                  0o600,
		ProxyStoreAccess:           defaultStoreAccess,
		ProxyHTTPVersion:           "1.1", // nginx: 1.0; fulcrum keeps upstream connections alive
		ProxyRedirects:             []ProxyRedirect{{Default: true}},
		ProxyBuffering:             true,
		ProxyRequestBuffering:      true,
		ProxyConnectTimeout:        60 * time.Second,
		ProxyReadTimeout:           60 * time.Second,
		ProxyBufferSize:            4 << 10,
		ProxySendTimeout:           60 * time.Second,
		ProxyNextUpstream:          NextError | NextTimeout,
		ProxySSL:                   defaultProxySSL(),
		GRPC:                       defaultGRPC(),
		FastCGI:                    defaultFastCGI(),
		SCGI:                       defaultFastCGI(),
		UWSGI:                      defaultUWSGI(),
		Memcached:                  defaultMemcached(),
		ClientMaxBodySize:          1 << 20,
		ClientBodyBufferSize:       defaultClientBodyBufferSize(),
		ClientBodyTempPath:         TempPath{Path: b.path("client_body_temp")},
		ClientHeaderTimeout:        60 * time.Second,
		ClientBodyTimeout:          60 * time.Second,
		SendTimeout:                60 * time.Second,
		KeepaliveTimeout:           75 * time.Second,
		KeepaliveRequests:          1000,
		KeepaliveTime:              time.Hour,
		LargeClientHeaderBuffers:   BufferSpec{Number: 4, Size: 8 << 10},
		ClientHeaderBufferSize:     1 << 10,
		HTTP2Settings:              HTTP2Settings{MaxConcurrentStreams: 128, ChunkSize: 8 << 10, BodyPrereadSize: 64 << 10, RecvBufferSize: 256 << 10},
		IgnoreInvalidHeaders:       true,
		MergeSlashes:               true,
		RealIPHeader:               "X-Real-IP",
		Userid:                     Userid{Name: "uid", Path: "; path=/"},
		Browser:                    Browser{ModernValue: "1", AncientValue: "1"},
		LimitConnStatus:            503,
		LimitConnLogLevel:          LevelError,
		LimitReqStatus:             503,
		LimitReqLogLevel:           LevelError,
		UninitializedVariableWarn:  true,
		Gzip:                       defaultGzip(),
		ProxyCache:                 defaultCacheSettings(),
		SubFilter:                  SubFilter{Once: true},
		SSI:                        defaultSSI(),
		MP4:                        defaultMP4(),
		ImageFilter:                defaultImageFilter(),
		SubrequestOutputBufferSize: 4 << 10,
		Charset:                    Charset{Types: defaultCharsetTypes, Known: b.charsets.known},
		AbsoluteRedirect:           true,
		AutoindexExactSize:         true,
		AutoindexFormat:            "html",
		PortInRedirect:             true,
		ServerTokens:               true,
		CoreFlags:                  defaultCoreFlags(),
		AccessLogs:                 []AccessLog{{Path: b.path("logs/access.log"), Format: b.formats["combined"]}},
		ErrorLogs:                  b.cfg.Main.ErrorLogs,
	}
}

// settings builds the effective Settings of level s.
func (b *builder) settings(s *scope) (*Settings, error) {
	st := b.defaultSettings()
	for i := range len(settingRules) + len(fastcgiRules) + len(scgiRules) + len(uwsgiRules) + len(memcachedRules) {
		if err := ruleAt(i).fill(b, st, s); err != nil {
			return nil, err
		}
	}
	return st, nil
}

// ruleAt is the i-th of settingRules followed by fastcgiRules, scgiRules,
// uwsgiRules and memcachedRules.
func ruleAt(i int) *settingRule {
	for _, rules := range [...][]settingRule{settingRules, fastcgiRules, scgiRules, uwsgiRules} {
		if i < len(rules) {
			return &rules[i]
		}
		i -= len(rules)
	}
	return &memcachedRules[i]
}

// ownLevel is a find function for directives that are not inherited.
func (s *scope) ownLevel(names ...string) ([]*Directive, *scope) {
	if dirs := s.own(names...); len(dirs) > 0 {
		return dirs, s
	}
	return nil, nil
}

// Constructors for the rules of plain values: the nearest level's one directive.

func textRule(name string, field func(*Settings) *string) settingRule {
	return settingRule{names: []string{name}, apply: func(_ *builder, st *Settings, dirs []*Directive, _ *scope) error {
		*field(st) = dirs[0].Args[0]
		return nil
	}}
}

func flagRule(name string, field func(*Settings) *bool) settingRule {
	return settingRule{names: []string{name}, apply: func(_ *builder, st *Settings, dirs []*Directive, _ *scope) error {
		v, err := parseFlag(dirs[0].Args[0])
		*field(st) = v
		return err
	}}
}

func msecRule(name string, field func(*Settings) *time.Duration) settingRule {
	return settingRule{names: []string{name}, apply: func(_ *builder, st *Settings, dirs []*Directive, _ *scope) error {
		v, err := parseTime(dirs[0].Args[0], false)
		*field(st) = v
		return err
	}}
}

// sizeRule reads a size (kindSize in the table).
func sizeRule(name string, field func(*Settings) *int64) settingRule {
	return settingRule{names: []string{name}, apply: func(_ *builder, st *Settings, dirs []*Directive, _ *scope) error {
		v, err := parseSize(dirs[0].Args[0])
		*field(st) = v
		return err
	}}
}

func intRule(name string, field func(*Settings) *int) settingRule {
	return settingRule{names: []string{name}, apply: func(_ *builder, st *Settings, dirs []*Directive, _ *scope) error {
		v, err := parseInt(dirs[0].Args[0])
		*field(st) = v
		return err
	}}
}

// listRule gathers one argument per directive, in order, from the nearest level.
// realIPFrom reads set_real_ip_from lines: an address, a CIDR or "unix:"
// as written, else a host name, resolved now to its addresses, as nginx's
// realip modules take one (ngx_inet_resolve_host; recorded with nginx
// 1.22.1: a value that is neither, such as "10.0.0.0/33", is looked up as a
// name and fails with "host not found in set_real_ip_from").
func (b *builder) realIPFrom(dirs []*Directive) ([]string, error) {
	var list []string
	for _, d := range dirs {
		a := d.Args[0]
		if validAddress(a) {
			list = append(list, a)
			continue
		}
		ips, err := b.resolver.lookup(a)
		if err != nil {
			return nil, hintf(d.Pos, "use an address such as 10.0.0.1, a CIDR such as 10.0.0.0/8, unix:, or a name DNS resolves", `host not found in set_real_ip_from "%s"`, a)
		}
		list = append(list, ips...)
	}
	return list, nil
}

func listRule(name string, field func(*Settings) *[]string) settingRule {
	return settingRule{names: []string{name}, apply: func(_ *builder, st *Settings, dirs []*Directive, _ *scope) error {
		list := make([]string, len(dirs))
		for i, d := range dirs {
			list[i] = d.Args[0]
		}
		*field(st) = list
		return nil
	}}
}

// ignorableHeaders are the values proxy_ignore_headers takes (nginx's
// bitmask, compared without case).
var ignorableHeaders = []string{"x-accel-redirect", "x-accel-expires", "x-accel-limit-rate",
	"x-accel-buffering", "x-accel-charset", "expires", "cache-control", "set-cookie", "vary"}

// applyIgnoreHeaders reads proxy_ignore_headers. fulcrum acts on
// X-Accel-Redirect and X-Accel-Limit-Rate, on the fields that drive the
// cache (X-Accel-Expires, Expires, Cache-Control, Set-Cookie, Vary), and on
// X-Accel-Buffering (whether a response is read buffered: flushed, paced,
// cached, stored), and on X-Accel-Charset (the response's charset). The
// fastcgi, scgi and uwsgi *_ignore_headers read the same values.
func applyIgnoreHeaders(b *builder, st *Settings, dirs []*Directive, _ *scope) error {
	seen := map[string]bool{}
	for _, d := range dirs { // nginx's bitmask slot: the lines of a level add up
		for _, a := range d.Args {
			name := strings.ToLower(a)
			if !slices.Contains(ignorableHeaders, name) {
				return errorf(d.Pos, `invalid value "%s"`, a)
			}
			if seen[name] && b != nil {
				b.warnDir(d, "", `duplicate value "%s"`, a)
			}
			seen[name] = true
			ignoreHeader(st, name)
		}
	}
	return nil
}

// ignoreHeader sets the field of st that *_ignore_headers name (lower
// case) turns on.
func ignoreHeader(st *Settings, name string) {
	switch name {
	case "x-accel-redirect":
		st.IgnoreAccelRedirect = true
	case "x-accel-limit-rate":
		st.IgnoreAccelLimitRate = true
	case "x-accel-buffering":
		st.IgnoreAccelBuffering = true
	case "x-accel-charset":
		st.IgnoreAccelCharset = true
	case "x-accel-expires":
		st.ProxyCache.IgnoreXAccelExpires = true
	case "expires":
		st.ProxyCache.IgnoreExpires = true
	case "cache-control":
		st.ProxyCache.IgnoreCacheControl = true
	case "set-cookie":
		st.ProxyCache.IgnoreSetCookie = true
	case "vary":
		st.ProxyCache.IgnoreVary = true
	}
}

// parseInt parses a number that must fit in an int.
func parseInt(s string) (int, error) {
	n, err := parseNumber(s)
	if err != nil || n > int64(maxInt32) {
		return 0, errBadValue
	}
	return int(n), nil
}

// applyAlias sets Alias when the nearest of root and alias is an alias, and
// AliasPath and AliasRegex from the location at that level.
func applyAlias(b *builder, st *Settings, dirs []*Directive, at *scope) error {
	if len(dirs) > 1 {
		first, second := dirs[0], dirs[1]
		return errorf(second.Pos, `"%s" directive is duplicate, "%s" directive was specified earlier`, second.Name, first.Name)
	}
	if dirs[0].Name == "alias" {
		if at != nil && at.loc != nil && at.loc.Modifier == ModNamed {
			return hintf(dirs[0].Pos, "use root in a named location", `the "alias" directive cannot be used inside the named location`)
		}
		st.Alias = b.docPath(dirs[0].Args[0])
		if at != nil && at.loc != nil {
			st.AliasPath, st.AliasRegex = at.loc.Path, at.loc.Regex != nil
		}
	}
	return nil
}

// applyIndex joins the files of every index directive at the level.
func applyIndex(b *builder, st *Settings, dirs []*Directive, _ *scope) error {
	var files []string
	for _, d := range dirs {
		for i, f := range d.Args {
			if f == "" {
				return errorf(d.Pos, `index "" in "index" directive is invalid`)
			}
			if strings.HasPrefix(f, "/") && i != len(d.Args)-1 {
				b.warnDir(d, "", `only the last index in "index" directive should be absolute`)
			}
			files = append(files, f)
		}
	}
	st.Index = files
	return nil
}

// findTryFiles finds the level's own try_files: nginx does not merge it, so
// a server's serves only the requests no location matches, and a location,
// a named location, an if block or limit_except has only its own (recorded
// with nginx 1.22.1: "try_files /none =403;" in a server, "location /a {}"
// answers /a/x with 404).
func findTryFiles(s *scope, names ...string) ([]*Directive, *scope) {
	if s.ctx&(ctxIfs|ctxLimitExcept) != 0 {
		return nil, nil
	}
	return s.ownLevel(names...)
}

// applyTryFiles checks the last argument, which may be "=code".
func applyTryFiles(_ *builder, st *Settings, dirs []*Directive, _ *scope) error {
	d := dirs[0]
	last := d.Args[len(d.Args)-1]
	if strings.HasPrefix(last, "=") {
		if code, err := strconv.Atoi(last[1:]); err != nil || code < 0 || code > 999 {
			return errorf(d.Pos, `invalid code "%s"`, last)
		}
	}
	st.TryFiles = d.Args
	return nil
}

// headerTemplates turns proxy_set_header lines into templates.
func headerTemplates(dirs []*Directive) []HeaderTemplate {
	out := make([]HeaderTemplate, len(dirs))
	for i, d := range dirs {
		out[i] = HeaderTemplate{Name: d.Args[0], Value: d.Args[1], Pos: d.Pos}
	}
	return out
}

// applyAddHeader turns add_header lines into templates; a third argument must be
// "always".
func applyAddHeader(_ *builder, st *Settings, dirs []*Directive, _ *scope) error {
	out, err := alwaysTemplates(dirs)
	st.AddHeaders = out
	return err
}

// applyAddTrailer turns add_trailer lines into templates, as add_header's.
func applyAddTrailer(_ *builder, st *Settings, dirs []*Directive, _ *scope) error {
	out, err := alwaysTemplates(dirs)
	st.AddTrailers = out
	return err
}

// inheritRule finds add_header's (or add_trailer's) lines for a level under
// the inheritance rule that the directive named inherit sets (nginx 1.29.3;
// itself inherited the standard way, "on" without one): "on" takes the
// level's own lines, else the previous level's list; "off" takes the
// level's own lines only; "merge" takes the level's own lines followed by
// the previous level's list (nginx: "appending values from the previous
// level to the values defined at the current level").
func inheritRule(inherit string) func(*scope, ...string) ([]*Directive, *scope) {
	var list func(s *scope, names ...string) []*Directive
	list = func(s *scope, names ...string) []*Directive {
		if s == nil {
			return nil
		}
		own := s.own(names...)
		mode := "on"
		if dirs, _ := s.nearest(inherit); len(dirs) > 0 {
			mode = strings.ToLower(dirs[0].Args[0])
		}
		switch {
		case mode == "merge":
			return append(slices.Clip(own), list(s.parent, names...)...)
		case len(own) > 0 || mode == "off":
			return own
		}
		return list(s.parent, names...)
	}
	return func(s *scope, names ...string) ([]*Directive, *scope) {
		return list(s, names...), s
	}
}

// alwaysTemplates reads "name value [always]" lines (add_header,
// add_trailer): a third argument must be "always".
func alwaysTemplates(dirs []*Directive) ([]HeaderTemplate, error) {
	out := make([]HeaderTemplate, len(dirs))
	for i, d := range dirs {
		h := HeaderTemplate{Name: d.Args[0], Value: d.Args[1], Pos: d.Pos}
		if len(d.Args) == 3 {
			if d.Args[2] != "always" {
				return nil, hintf(d.Pos, `the third argument can only be "always"`, `invalid parameter "%s"`, d.Args[2])
			}
			h.Always = true
		}
		out[i] = h
	}
	return out, nil
}

// applyKeepaliveTimeout reads "keepalive_timeout timeout [header_timeout]".
// Without header_timeout the level keeps the one an outer level set: nginx
// merges the two values separately (ngx_http_core_merge_loc_conf), so
// "keepalive_timeout 10;" in a location under "keepalive_timeout 65 60;"
// still sends "Keep-Alive: timeout=60".
func applyKeepaliveTimeout(_ *builder, st *Settings, dirs []*Directive, at *scope) error {
	d := dirs[0]
	t, err := parseTime(d.Args[0], false)
	if err != nil {
		return err
	}
	st.KeepaliveTimeout = t
	h, err := keepaliveHeaderTimeout(d, at)
	if err != nil {
		return err
	}
	st.KeepaliveHeaderTimeout = h
	return nil
}

// keepaliveHeaderTimeout is the header_timeout of the keepalive_timeout d
// written at level at: its second argument, else the nearest outer level's,
// else 0 (no Keep-Alive field).
func keepaliveHeaderTimeout(d *Directive, at *scope) (time.Duration, error) {
	for {
		if len(d.Args) == 2 {
			// nginx takes the header timeout in seconds (ngx_parse_time(..., 1))
			h, err := parseTime(d.Args[1], true)
			if err != nil {
				return 0, hintf(d.Pos, "use a time such as 60 or 1m", `"%s" directive invalid value`, d.Name)
			}
			return h, nil
		}
		if at == nil || at.parent == nil {
			return 0, nil
		}
		var dirs []*Directive
		dirs, at = at.parent.nearest(d.Name)
		if len(dirs) == 0 {
			return 0, nil
		}
		d = dirs[len(dirs)-1]
	}
}

// applyLargeHeaderBuffers reads "number size"; both must be positive, as in nginx's
// ngx_conf_set_bufs_slot.
func applyLargeHeaderBuffers(_ *builder, st *Settings, dirs []*Directive, _ *scope) error {
	d := dirs[0]
	n, err1 := parseInt(d.Args[0])
	size, err2 := parseSize(d.Args[1])
	if err1 != nil || err2 != nil || n == 0 || size == 0 {
		return hintf(d.Pos, "use a number and a size such as 4 8k", `"%s" directive invalid value`, d.Name)
	}
	st.LargeClientHeaderBuffers = BufferSpec{Number: n, Size: size}
	return nil
}

// applyHeaderBufferSize reads client_header_buffer_size. nginx 1.22.1
// accepts 0 and then closes every connection unanswered ("client closed
// connection while waiting for request"); fulcrum refuses it.
func applyHeaderBufferSize(_ *builder, st *Settings, dirs []*Directive, _ *scope) error {
	d := dirs[0]
	v, err := parseSize(d.Args[0])
	if err != nil {
		return err
	}
	if v == 0 {
		return hintf(d.Pos, "use a size such as 1k (nginx's default)", `"%s" directive invalid value "0": a 0-byte buffer reads no request`, d.Name)
	}
	st.ClientHeaderBufferSize = v
	return nil
}

// applyErrorPage reads "error_page code ... [=[response]] uri".
func applyErrorPage(_ *builder, st *Settings, dirs []*Directive, _ *scope) error {
	out := make([]ErrorPage, 0, len(dirs))
	for _, d := range dirs {
		p, err := parseErrorPage(d)
		if err != nil {
			return err
		}
		out = append(out, p)
	}
	st.ErrorPages = out
	return nil
}

func parseErrorPage(d *Directive) (ErrorPage, error) {
	p := ErrorPage{Target: d.Args[len(d.Args)-1], Pos: d.Pos}
	codes := d.Args[:len(d.Args)-1]
	if last := codes[len(codes)-1]; strings.HasPrefix(last, "=") {
		codes = codes[:len(codes)-1]
		if last == "=" {
			p.UseTargetStatus = true
		} else if n, err := strconv.Atoi(last[1:]); err != nil || n < 0 || last[1] == '+' || last[1] == '-' {
			return p, errorf(d.Pos, `invalid value "%s"`, last)
		} else if n == 0 {
			p.UseTargetStatus = true // nginx's overwrite 0 is "=" alone (recorded: "=0 /x" answers /x's 202)
		} else {
			p.Response = n
		}
	}
	if len(codes) == 0 {
		return p, errorf(d.Pos, `invalid number of arguments in "error_page" directive`)
	}
	for _, c := range codes {
		n, err := parseInt(c)
		if err != nil || n == 499 { // 499 is nginx's "client closed request", never answered
			return p, errorf(d.Pos, `invalid value "%s"`, c)
		}
		if n < 300 || n > 599 {
			return p, errorf(d.Pos, `value "%s" must be between 300 and 599`, c)
		}
		p.Codes = append(p.Codes, n)
	}
	return p, nil
}

// path resolves a path from the configuration against the prefix, as nginx does
// for root, alias, logs and pid. stderr and stdout are kept as they are.
func (b *builder) path(p string) string {
	if p == "stderr" || p == "stdout" || filepath.IsAbs(p) {
		return p
	}
	abs := filepath.Join(b.prefix, p)
	if strings.HasSuffix(p, "/") && !strings.HasSuffix(abs, "/") {
		abs += "/" // alias keeps its trailing slash: it is part of the mapping
	}
	return abs
}

// trimRootSlash drops one trailing slash of a root, as ngx_http_core_root
// does at load: ISPConfig's "root /var/www/example.com/web/;" serves
// /var/www/example.com/web/a.css, and $document_root has no slash at the
// end. "/" stays "/" (nginx's root is then empty: file names are the URI).
func trimRootSlash(p string) string {
	if len(p) > 1 {
		return strings.TrimSuffix(p, "/")
	}
	return p
}

// docPath is the path of root or alias: as nginx's ngx_http_core_root, one
// that starts with a variable ("$MAGE_ROOT/pub", Magento's) is left as written,
// for its value is usually absolute; the others are relative to the prefix.
func (b *builder) docPath(p string) string {
	if strings.HasPrefix(p, "$") {
		return p
	}
	return b.path(p)
}

// applyEmptyGIF reads the level's own empty_gif (not inherited, as nginx's
// empty_gif sets the location's content handler). dirs are the level's
// empty_gif, stub_status and proxy_pass directives in order: the last one
// answers, as in nginx, where each sets the handler in turn.
func applyEmptyGIF(b *builder, st *Settings, dirs []*Directive, _ *scope) error {
	last := dirs[len(dirs)-1]
	if last.Name != "empty_gif" {
		return nil
	}
	st.EmptyGIF = true
	for _, d := range dirs[:len(dirs)-1] {
		if d.Name != "empty_gif" {
			b.warnDir(last, "keep one of them", `"%s" and "empty_gif" in one block: the last one, "empty_gif", answers, as in nginx`, d.Name)
			break
		}
	}
	return nil
}

// contentRivals are flv, mp4 and the content handler directives written
// beside them that nginx lets the last one of win.
var contentRivals = []string{"flv", "mp4", "proxy_pass", "fastcgi_pass", "scgi_pass", "uwsgi_pass", "grpc_pass", "memcached_pass"}

// applyContentHandler reads the location's own flv and mp4 (not inherited:
// each sets the location's content handler). dirs are the level's
// contentRivals in order: flv or mp4 counts when it is the last.
func applyContentHandler(_ *builder, st *Settings, dirs []*Directive, _ *scope) error {
	last := dirs[len(dirs)-1].Name
	st.FLV, st.MP4.On = last == "flv", last == "mp4"
	return nil
}

// applyStubStatus reads the level's own stub_status (not inherited, and not
// in an if block's implicit location, as nginx's stub_status module merges
// nothing). dirs are the level's stub_status and proxy_pass directives in
// order: the last one is the location's content handler, as in nginx, where
// each sets it in turn. nginx takes any argument as "on", "off" too, which
// the warning points out.
func applyStubStatus(b *builder, st *Settings, dirs []*Directive, _ *scope) error {
	var status, proxy *Directive
	for _, d := range dirs {
		if d.Name == "proxy_pass" {
			proxy = d
			continue
		}
		status = d
		if len(d.Args) == 1 && d.Args[0] == "off" {
			b.warnDir(d, "remove the directive to have no status page", `"stub_status off" turns the status page on, as in nginx, which ignores the argument`)
		}
	}
	if status == nil {
		return nil
	}
	st.StubStatus = dirs[len(dirs)-1] == status
	if proxy != nil {
		winner := "stub_status"
		if !st.StubStatus {
			winner = "proxy_pass"
		}
		b.warnDir(status, "keep one of them", `"stub_status" and "proxy_pass" in one block: the last one, "%s", answers, as in nginx`, winner)
	}
	return nil
}

package config

import (
	"fmt"
	"io/fs"
	"strings"
	"time"

	"fulcrum/internal/pcre"
)

// FastCGI holds a level's fastcgi_* settings (ngx_http_fastcgi_module), or
// its scgi_* or uwsgi_* settings (ngx_http_scgi_module and
// ngx_http_uwsgi_module, which have no index, split or keep_conn). The zero value is not nginx's default: defaultFastCGI is.
type FastCGI struct {
	// Pass, when set, sends the location's requests to a FastCGI server
	// (fastcgi_pass; not inherited).
	Pass *FastCGIPass
	// Params are the fastcgi_param lines of the nearest level that has any,
	// in order (inherited as a whole, as nginx does).
	Params []FastCGIParam
	// Index is fastcgi_index: appended to $fastcgi_script_name when it ends
	// with a slash. Empty means none.
	Index string
	// Split is fastcgi_split_path_info: its first capture is
	// $fastcgi_script_name and its second $fastcgi_path_info. Nil means none.
	Split *pcre.Regexp
	// PassHeaders and HideHeaders are fastcgi_pass_header and
	// fastcgi_hide_header, field names as written.
	PassHeaders, HideHeaders []string
	// IgnoreAccelRedirect is fastcgi_ignore_headers X-Accel-Redirect;
	// IgnoreAccelBuffering is fastcgi_ignore_headers X-Accel-Buffering,
	// which keeps the application's X-Accel-Buffering from deciding, with
	// Buffering, how a response is read (flushed, paced, stored; as for
	// the proxy's); IgnoreAccelLimitRate is fastcgi_ignore_headers
	// X-Accel-Limit-Rate; IgnoreAccelCharset is fastcgi_ignore_headers
	// X-Accel-Charset, which keeps the application's X-Accel-Charset from
	// setting the response's charset (as for the proxy's). The fields that
	// drive a cache go to Cache.
	IgnoreAccelRedirect, IgnoreAccelBuffering, IgnoreAccelLimitRate, IgnoreAccelCharset bool
	// InterceptErrors is fastcgi_intercept_errors.
	InterceptErrors bool
	// ConnectTimeout, SendTimeout and ReadTimeout are
	// fastcgi_connect_timeout, fastcgi_send_timeout and
	// fastcgi_read_timeout.
	ConnectTimeout, SendTimeout, ReadTimeout time.Duration
	// BufferSize is fastcgi_buffer_size (scgi_buffer_size,
	// uwsgi_buffer_size; 4k, a memory page): the most bytes the server may
	// send before its response head ends (for FastCGI, the records' 8-byte
	// headers and padding count, as they share nginx's buffer); more is
	// nginx's "upstream sent too big header", an invalid_header failure.
	BufferSize int64
	// NextUpstream, NextUpstreamTries and NextUpstreamTimeout are
	// fastcgi_next_upstream and its _tries and _timeout (0: no limit).
	NextUpstream        NextUpstream
	NextUpstreamTries   int
	NextUpstreamTimeout time.Duration
	// KeepConn is fastcgi_keep_conn: ask the application to keep the
	// connection open, and reuse it (with keepalive in the upstream block).
	KeepConn bool
	// PassRequestHeaders and PassRequestBody are
	// fastcgi_pass_request_headers and fastcgi_pass_request_body.
	PassRequestHeaders, PassRequestBody bool
	// RequestBuffering is fastcgi_request_buffering (scgi_, uwsgi_): on
	// reads the whole request body before the request goes out; off sends
	// it to the server as it arrives (for SCGI and uwsgi only a body of a
	// known length: a chunked one is read first, as nginx does).
	RequestBuffering bool
	// Buffering is fastcgi_buffering: off flushes each piece of the
	// response to the client as it arrives, with no limit_rate or
	// fastcgi_limit_rate. The application's X-Accel-Buffering turns it
	// off or on per response unless IgnoreAccelBuffering.
	Buffering bool
	// ForceRanges is fastcgi_force_ranges (scgi_, uwsgi_force_ranges):
	// nginx's range filter may cut a 200 whatever its Accept-Ranges field,
	// which is not passed on; the filter writes its own.
	ForceRanges bool
	// Bind is fastcgi_bind (scgi_bind, uwsgi_bind): the local address of
	// connections to the servers, read as proxy_bind; the zero value lets
	// the system pick.
	Bind ProxyBind
	// SocketKeepalive is fastcgi_socket_keepalive: SO_KEEPALIVE on the
	// connections to the servers.
	SocketKeepalive bool
	// CatchStderr are the fastcgi_catch_stderr strings: a STDERR record
	// that holds one makes the response invalid (FastCGI only).
	CatchStderr []string
	// LimitRate is fastcgi_limit_rate: the pace, in bytes a second, at
	// which a response body is read from the server when Buffering is on
	// (as nginx's, which paces only buffered responses); 0 means none.
	LimitRate int64
	// Cache is the fastcgi_cache* (scgi_cache*, uwsgi_cache*) settings of a
	// level that caches; nil when it does not (no fastcgi_cache, or off).
	// Its Key defaults to empty, as nginx's fastcgi_cache_key has no
	// default (every response then shares one entry).
	Cache *CacheSettings
	// IgnoreClientAbort is fastcgi_ignore_client_abort: a client that goes
	// away does not end the request to the server, whose response is read
	// to its end (and stored, when cached).
	IgnoreClientAbort bool
	// Store is fastcgi_store (scgi_store, uwsgi_store): "" for off (the
	// default), the file name template otherwise (StoreRequestFilename
	// for "on"). A 200 response read whole from the server is saved
	// there. When set, Cache is nil, as nginx turns the cache off.
	Store string
	// StoreAccess is fastcgi_store_access (scgi_, uwsgi_store_access):
	// the saved file's permission bits (0600 by default); directories
	// created for it get it with x added where r is.
	StoreAccess fs.FileMode
	// Modifier1 and Modifier2 are uwsgi_modifier1 and uwsgi_modifier2, the
	// uwsgi packet header's modifiers (uwsgi only; 0 is a WSGI request).
	Modifier1, Modifier2 int
	// UWSGIString is uwsgi_string (uwsgi only; "" for none): bytes sent as
	// they are after the packet's variables, counted in its size, before
	// the request body.
	UWSGIString string
	// SSL is how "uwsgi_pass suwsgi://" speaks TLS (uwsgi only: the
	// uwsgi_ssl_* directives, read and checked as proxy_ssl_*).
	SSL ProxySSL
}

// FastCGIPass is a fastcgi_pass directive.
type FastCGIPass struct {
	// Address is the argument as written: "127.0.0.1:9000", "unix:/path"
	// or an upstream block's name.
	Address string
	// Upstream is the group requests go to: the named upstream block, or
	// the implicit one of a literal address. It is nil when HasVariables.
	Upstream *Upstream
	// HasVariables reports that Address contains variables: its value,
	// per request, is an address with a port, "unix:/path" or an upstream
	// block's name (for uwsgi_pass, after an optional "uwsgi://", kept in
	// Address as written); a host name is looked up with the location's
	// resolver. memcached_pass never has it.
	HasVariables bool
	// TLS is "uwsgi_pass suwsgi://": the uwsgi protocol over TLS, with
	// FastCGI.SSL (Address is then the part after the scheme). With
	// variables it is false: the value's scheme decides per request.
	TLS bool
	Pos Pos
}

// FastCGIParam is one fastcgi_param line.
type FastCGIParam struct {
	Name, Value string
	// IfNotEmpty leaves the parameter out when its value is empty.
	IfNotEmpty bool
}

// defaultFastCGI are nginx's defaults for the fastcgi_* directives.
func defaultFastCGI() FastCGI {
	return FastCGI{
		ConnectTimeout: 60 * time.Second, SendTimeout: 60 * time.Second, ReadTimeout: 60 * time.Second,
		BufferSize:         4 << 10,
		NextUpstream:       NextError | NextTimeout,
		PassRequestHeaders: true, PassRequestBody: true, Buffering: true, RequestBuffering: true,
		StoreAccess: defaultStoreAccess,
	}
}

// defaultUWSGI are nginx's defaults for the uwsgi_* directives: those of
// fastcgi_*, and the uwsgi_ssl_* ones of suwsgi://.
func defaultUWSGI() FastCGI {
	f := defaultFastCGI()
	f.SSL = defaultProxySSL()
	return f
}

// fastcgiRules, scgiRules and uwsgiRules are the settings rules of the
// fastcgi, scgi and uwsgi modules, which share their directives' shapes.
var (
	fastcgiRules = cgiRules("fastcgi", func(s *Settings) *FastCGI { return &s.FastCGI }, true)
	scgiRules    = cgiRules("scgi", func(s *Settings) *FastCGI { return &s.SCGI }, false)
	uwsgiRules   = append(append(cgiRules("uwsgi", func(s *Settings) *FastCGI { return &s.UWSGI }, false),
		intRule("uwsgi_modifier1", func(s *Settings) *int { return &s.UWSGI.Modifier1 }),
		intRule("uwsgi_modifier2", func(s *Settings) *int { return &s.UWSGI.Modifier2 }),
		textRule("uwsgi_string", func(s *Settings) *string { return &s.UWSGI.UWSGIString }),
	), uwsgiSSLRules()...)
)

// cgiRules makes the rules of the PREFIX_* directives that fill the
// FastCGI struct field gives; fastcgi adds fastcgi_index,
// fastcgi_split_path_info and fastcgi_keep_conn.
func cgiRules(prefix string, field func(*Settings) *FastCGI, fastcgi bool) []settingRule {
	n := func(s string) string { return prefix + "_" + s }
	rules := []settingRule{
		{names: []string{n("pass")}, find: findProxyPass, apply: func(b *builder, st *Settings, dirs []*Directive, _ *scope) error {
			p, err := b.cgiPass(dirs[0])
			field(st).Pass = p
			return err
		}},
		{names: []string{n("param")}, apply: func(_ *builder, st *Settings, dirs []*Directive, _ *scope) error {
			params, err := cgiParams(dirs)
			field(st).Params = params
			return err
		}},
		{names: []string{n("pass_header")}, apply: func(_ *builder, st *Settings, dirs []*Directive, _ *scope) error {
			field(st).PassHeaders = firstArgs(dirs)
			return nil
		}},
		{names: []string{n("hide_header")}, apply: func(_ *builder, st *Settings, dirs []*Directive, _ *scope) error {
			field(st).HideHeaders = firstArgs(dirs)
			return nil
		}},
		{names: []string{n("ignore_headers")}, apply: func(b *builder, st *Settings, dirs []*Directive, _ *scope) error {
			var tmp Settings
			err := applyIgnoreHeaders(b, &tmp, dirs, nil)
			f := field(st)
			f.IgnoreAccelRedirect, f.IgnoreAccelBuffering, f.IgnoreAccelLimitRate = tmp.IgnoreAccelRedirect, tmp.IgnoreAccelBuffering, tmp.IgnoreAccelLimitRate
			f.IgnoreAccelCharset = tmp.IgnoreAccelCharset
			return err
		}},
		flagRule(n("intercept_errors"), func(s *Settings) *bool { return &field(s).InterceptErrors }),
		msecRule(n("connect_timeout"), func(s *Settings) *time.Duration { return &field(s).ConnectTimeout }),
		msecRule(n("send_timeout"), func(s *Settings) *time.Duration { return &field(s).SendTimeout }),
		msecRule(n("read_timeout"), func(s *Settings) *time.Duration { return &field(s).ReadTimeout }),
		sizeRule(n("buffer_size"), func(s *Settings) *int64 { return &field(s).BufferSize }),
		upstreamBuffersRule(prefix),
		{names: []string{n("next_upstream")}, apply: func(b *builder, st *Settings, dirs []*Directive, at *scope) error {
			var tmp Settings
			err := applyNextUpstream(b, &tmp, dirs, at)
			field(st).NextUpstream = tmp.ProxyNextUpstream
			return err
		}},
		intRule(n("next_upstream_tries"), func(s *Settings) *int { return &field(s).NextUpstreamTries }),
		msecRule(n("next_upstream_timeout"), func(s *Settings) *time.Duration { return &field(s).NextUpstreamTimeout }),
		flagRule(n("pass_request_headers"), func(s *Settings) *bool { return &field(s).PassRequestHeaders }),
		flagRule(n("pass_request_body"), func(s *Settings) *bool { return &field(s).PassRequestBody }),
		flagRule(n("buffering"), func(s *Settings) *bool { return &field(s).Buffering }),
		flagRule(n("request_buffering"), func(s *Settings) *bool { return &field(s).RequestBuffering }),
		flagRule(n("force_ranges"), func(s *Settings) *bool { return &field(s).ForceRanges }),
		{names: []string{n("bind")}, apply: func(b *builder, st *Settings, dirs []*Directive, at *scope) error {
			scratch := &Settings{}
			err := applyProxyBind(b, scratch, dirs, at)
			field(st).Bind = scratch.ProxyBind
			return err
		}},
		flagRule(n("socket_keepalive"), func(s *Settings) *bool { return &field(s).SocketKeepalive }),
		sizeRule(n("limit_rate"), func(s *Settings) *int64 { return &field(s).LimitRate }),
		flagRule(n("ignore_client_abort"), func(s *Settings) *bool { return &field(s).IgnoreClientAbort }),
	}
	rules = append(rules, cgiCacheRules(prefix, field)...)
	rules = append(rules, cgiStoreRules(prefix, field)...)
	if !fastcgi {
		return rules
	}
	return append(rules,
		settingRule{names: []string{"fastcgi_index"}, apply: func(_ *builder, st *Settings, dirs []*Directive, _ *scope) error {
			st.FastCGI.Index = dirs[0].Args[0]
			return nil
		}},
		settingRule{names: []string{"fastcgi_split_path_info"}, apply: func(_ *builder, st *Settings, dirs []*Directive, _ *scope) error {
			d := dirs[0]
			re, err := compileRegex(d.Pos, d.Args[0], false)
			st.FastCGI.Split = re
			return err
		}},
		flagRule("fastcgi_keep_conn", func(s *Settings) *bool { return &s.FastCGI.KeepConn }),
		settingRule{names: []string{"fastcgi_catch_stderr"}, apply: func(_ *builder, st *Settings, dirs []*Directive, _ *scope) error {
			st.FastCGI.CatchStderr = firstArgs(dirs)
			return nil
		}},
	)
}

// cgiStoreRules are the rules of PREFIX_store and PREFIX_store_access, read
// as proxy_store's: PREFIX_store comes after PREFIX_cache, which it turns
// off.
func cgiStoreRules(prefix string, field func(*Settings) *FastCGI) []settingRule {
	return []settingRule{
		{names: []string{prefix + "_store"}, apply: func(_ *builder, st *Settings, dirs []*Directive, at *scope) error {
			f := field(st)
			path, err := storePath(dirs[0], at, prefix)
			f.Store = path
			if err == nil && path != "" {
				f.Cache = nil
			}
			return err
		}},
		{names: []string{prefix + "_store_access"}, apply: func(_ *builder, st *Settings, dirs []*Directive, _ *scope) error {
			mode, err := storeAccess(dirs[0])
			field(st).StoreAccess = mode
			return err
		}},
	}
}

// firstArgs lists the first argument of each directive.
func firstArgs(dirs []*Directive) []string {
	list := make([]string, len(dirs))
	for i, d := range dirs {
		list[i] = d.Args[0]
	}
	return list
}

// cgiPass reads fastcgi_pass, scgi_pass, uwsgi_pass or memcached_pass: an
// address with a port, "unix:/path", or an upstream block's name.
func (b *builder) cgiPass(d *Directive) (*FastCGIPass, error) {
	addr, tls := d.Args[0], false
	if d.Name == "uwsgi_pass" {
		lower := strings.ToLower(addr)
		switch {
		case strings.HasPrefix(lower, "suwsgi://"):
			addr, tls = addr[len("suwsgi://"):], true
		case strings.HasPrefix(lower, "uwsgi://"):
			addr = addr[len("uwsgi://"):]
		}
	}
	if strings.Contains(addr, "$") && d.Name != "memcached_pass" {
		// Evaluated per request (nginx's ngx_http_fastcgi_eval and its
		// scgi and uwsgi twins), as written: uwsgi_pass strips its
		// uwsgi:// (or suwsgi://, which means TLS) from the value.
		// (memcached_pass takes no variables: nginx reads "$x" as a host
		// name, which the checks below refuse.)
		return &FastCGIPass{Address: d.Args[0], HasVariables: true, Pos: d.Pos}, nil
	}
	if strings.Contains(addr, "://") {
		return nil, errorf(d.Pos, `invalid host in upstream "%s"`, addr)
	}
	p := &FastCGIPass{Address: addr, TLS: tls, Pos: d.Pos}
	if !strings.HasPrefix(addr, "unix:") {
		hp, err := splitHostPort(addr, 0)
		if err != nil {
			return p, addrError(d.Pos, addr, err)
		}
		if !hp.hasPort && b.upstreams[strings.ToLower(hp.host)] == nil {
			port := "9000"
			if d.Name == "memcached_pass" {
				port = "11211"
			}
			return p, hintf(d.Pos, fmt.Sprintf(`add the port, such as "%s %s:%s", or define upstream %s { server ...; }`, d.Name, addr, port, addr),
				`no port in upstream "%s"`, addr)
		}
	}
	u, err := b.upstreamFor(d, addr, 0)
	p.Upstream = u
	return p, err
}

// cgiParams reads the nearest level's fastcgi_param or scgi_param lines.
func cgiParams(dirs []*Directive) ([]FastCGIParam, error) {
	params := make([]FastCGIParam, 0, len(dirs))
	for _, d := range dirs {
		p := FastCGIParam{Name: d.Args[0], Value: d.Args[1]}
		if len(d.Args) == 3 {
			if d.Args[2] != "if_not_empty" {
				return nil, errorf(d.Pos, `invalid parameter "%s"`, d.Args[2])
			}
			p.IfNotEmpty = true
		}
		params = append(params, p)
	}
	return params, nil
}

// cacheOrScratch is f's Cache, or at a level that does not cache a scratch
// one: the lines are read there too, for nginx's warnings.
func cacheOrScratch(f *FastCGI) *CacheSettings {
	if f.Cache != nil {
		return f.Cache
	}
	return &CacheSettings{}
}

// cgiCacheRules are the rules of PREFIX_cache and the directives that shape
// it. PREFIX_cache comes first and makes the level's Cache (nil for off or
// none); the others fill it only at a level that caches, as their values
// matter nowhere else (the table's checks test them everywhere).
func cgiCacheRules(prefix string, field func(*Settings) *FastCGI) []settingRule {
	n := func(s string) string { return prefix + "_" + s }
	with := func(set func(c *CacheSettings, d []*Directive) error) func(*builder, *Settings, []*Directive, *scope) error {
		return func(_ *builder, st *Settings, dirs []*Directive, _ *scope) error {
			if c := field(st).Cache; c != nil {
				return set(c, dirs)
			}
			return nil
		}
	}
	strs := func(dirs []*Directive) []string {
		var list []string
		for _, d := range dirs {
			list = append(list, d.Args...)
		}
		return list
	}
	msec := func(d *Directive) (time.Duration, error) {
		t, err := parseTime(d.Args[0], false)
		if err != nil {
			return 0, errorf(d.Pos, `invalid value "%s" in "%s" directive`, d.Args[0], d.Name)
		}
		return t, nil
	}
	flag := func(dirs []*Directive) bool { return dirs[0].Args[0] == "on" }
	return []settingRule{
		{names: []string{n("cache")}, apply: func(b *builder, st *Settings, dirs []*Directive, _ *scope) error {
			f := field(st)
			f.Cache = nil
			if dirs[0].Args[0] == "off" {
				return nil
			}
			c := defaultCacheSettings()
			c.Key, c.ImplicitKey, c.ConvertHead = "", false, false
			if err := b.setCacheZone(dirs[0], prefix, &c); err != nil {
				return err
			}
			f.Cache = &c
			return nil
		}},
		{names: []string{n("cache_key")}, apply: with(func(c *CacheSettings, d []*Directive) error {
			c.Key = d[0].Args[0]
			return nil
		})},
		{names: []string{n("cache")}, apply: func(b *builder, st *Settings, dirs []*Directive, _ *scope) error {
			if c := field(st).Cache; c != nil && c.Key == "" {
				b.warnDir(dirs[0], "add "+n("cache_key")+" $scheme$request_method$host$request_uri; or every response shares one entry",
					`no "%s" for "%s"`, n("cache_key"), n("cache"))
			}
			return nil
		}},
		{names: []string{n("cache_valid")}, apply: with(func(c *CacheSettings, d []*Directive) error {
			var err error
			c.Valid, err = parseCacheValid(d)
			return err
		})},
		{names: []string{n("cache_methods")}, apply: func(b *builder, st *Settings, dirs []*Directive, _ *scope) error {
			return parseCacheMethods(b, dirs, cacheOrScratch(field(st)))
		}},
		{names: []string{n("cache_min_uses")}, apply: with(func(c *CacheSettings, d []*Directive) error {
			v, err := parseInt(d[0].Args[0])
			if err != nil {
				return errorf(d[0].Pos, `invalid number "%s"`, d[0].Args[0])
			}
			c.MinUses = v
			return nil
		})},
		{names: []string{n("cache_bypass")}, apply: with(func(c *CacheSettings, d []*Directive) error {
			c.Bypass = strs(d)
			return nil
		})},
		{names: []string{n("no_cache")}, apply: with(func(c *CacheSettings, d []*Directive) error {
			c.NoCache = strs(d)
			return nil
		})},
		{names: []string{n("cache_purge")}, apply: with(func(c *CacheSettings, d []*Directive) error {
			c.Purge = strs(d)
			return nil
		})},
		{names: []string{n("cache_use_stale")}, apply: func(b *builder, st *Settings, dirs []*Directive, _ *scope) error {
			return parseCacheUseStale(b, dirs, cacheOrScratch(field(st)))
		}},
		{names: []string{n("cache_lock")}, apply: with(func(c *CacheSettings, d []*Directive) error {
			c.Lock = flag(d)
			return nil
		})},
		{names: []string{n("cache_lock_timeout")}, apply: with(func(c *CacheSettings, d []*Directive) (err error) {
			c.LockTimeout, err = msec(d[0])
			return err
		})},
		{names: []string{n("cache_lock_age")}, apply: with(func(c *CacheSettings, d []*Directive) (err error) {
			c.LockAge, err = msec(d[0])
			return err
		})},
		{names: []string{n("cache_revalidate")}, apply: with(func(c *CacheSettings, d []*Directive) error {
			c.Revalidate = flag(d)
			return nil
		})},
		{names: []string{n("cache_max_range_offset")}, apply: with(func(c *CacheSettings, d []*Directive) error { return parseMaxRangeOffset(d[0], c) })},
		{names: []string{n("cache_background_update")}, apply: with(func(c *CacheSettings, d []*Directive) error {
			c.BackgroundUpdate = flag(d)
			return nil
		})},
		{names: []string{n("ignore_headers")}, apply: with(func(c *CacheSettings, d []*Directive) error {
			var tmp Settings
			err := applyIgnoreHeaders(nil, &tmp, d, nil)
			x := tmp.ProxyCache
			c.IgnoreXAccelExpires, c.IgnoreExpires, c.IgnoreCacheControl, c.IgnoreSetCookie, c.IgnoreVary =
				x.IgnoreXAccelExpires, x.IgnoreExpires, x.IgnoreCacheControl, x.IgnoreSetCookie, x.IgnoreVary
			return err
		})},
	}
}

package fastcgi

import (
	"context"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"fulcrum/internal/balancer"
	"fulcrum/internal/bindaddr"
	"fulcrum/internal/bodyspool"
	"fulcrum/internal/byterange"
	"fulcrum/internal/cache"
	"fulcrum/internal/cacherule"
	"fulcrum/internal/clientwatch"
	"fulcrum/internal/config"
	"fulcrum/internal/errlog"
	"fulcrum/internal/store"
	"fulcrum/internal/upstream"
	"fulcrum/internal/upstreamtls"
	"fulcrum/internal/vars"
)

// Failer is a ResponseWriter that answers an error status itself (the
// daemon's: through error_page). Under any other writer the handler writes
// a plain error page.
type Failer interface{ Fail(code int) }

// ErrorInterceptor is a ResponseWriter that has an error page for an
// upstream status (fastcgi_intercept_errors on).
type ErrorInterceptor interface{ InterceptsError(status int) bool }

// AccelRedirector is a ResponseWriter that follows an X-Accel-Redirect
// after the handler returns.
type AccelRedirector interface{ AccelRedirect(target string) }

// ReasonSetter is a ResponseWriter that sends a given reason phrase (the
// Status field's text, as nginx passes it).
type ReasonSetter interface {
	SetReason(status int, reason []byte)
}

// FieldPos is where one of the application's fields goes in the client's
// head: its name as the application spelt it, its key in the header map
// (http.CanonicalHeaderKey) and the index of its value among the key's.
type FieldPos struct {
	Name  string
	Key   string
	Index int
}

// FieldOrderer is a ResponseWriter that writes the head's fields in a given
// order and spelling (as proxy.FieldOrderer): nginx passes an
// application's fields in the order they came, names spelt as they came
// ("X_A" stays "X_A", "foo-BAR" stays "foo-BAR": recorded with nginx 1.22.1
// for FastCGI, SCGI and uwsgi). The writer must copy order.
type FieldOrderer interface {
	SetCGIFieldOrder(order []FieldPos)
}

// UpstreamNamer is a ResponseWriter that writes error log lines of its own
// about the application's response (the daemon's charset and slice
// filters), as proxy.UpstreamNamer: told, before the head of a response
// from the application (not from the cache) goes out, the upstream: URL
// the handler's own lines name, as scheme and server joined (here the
// whole URL in server, scheme and uri empty).
type UpstreamNamer interface {
	NameUpstream(scheme, server string, uri []byte)
}

// LengthUnknowner is a ResponseWriter that frames a body whose length is not
// known before the head goes out as nginx does (chunked to an HTTP/1.1
// client, up to the close otherwise), however short the body turns out:
// LengthUnknown comes before WriteHeader. Under a writer without it, the
// writer frames the body as it sees fit.
type LengthUnknowner interface{ LengthUnknown() }

// BodyReadNoter is a ResponseWriter whose server counts the request's bytes
// ($request_length): RequestBodyRead tells it the body was read whole, so
// the parameters count the body's bytes too.
type BodyReadNoter interface{ RequestBodyRead() }

// AbortIgnorer is a ResponseWriter whose server watches the client for
// going away during a request (the daemon's engine); IgnoreClientAbort ends
// that watch for the rest of the request (fastcgi_ignore_client_abort on).
type AbortIgnorer interface{ IgnoreClientAbort() }

// BodyAbandoner is a ResponseWriter whose server can give up the rest of a
// request body (the daemon's engine, HTTP/1.x): AbandonBody makes a pending
// or later read of the body fail at once, and the connection close after
// the answer, lingering. It is called, from any goroutine, when a response
// ended while its body was still streaming to the application.
type BodyAbandoner interface{ AbandonBody() }

// A ClientWatcher is a ResponseWriter that stops an exchange when its
// client goes away (the daemon's engine; clientwatch.Watcher).
type ClientWatcher = clientwatch.Watcher

// Protocol is the wire protocol a Handler speaks.
type Protocol int

// The protocols: FastCGI (fastcgi_pass), SCGI (scgi_pass) and uwsgi
// (uwsgi_pass).
const (
	FastCGI Protocol = iota
	SCGI
	UWSGI
)

// Options is what New needs to build a location's handler.
type Options struct {
	// BodySeq numbers the request bodies' temporary files; nil gives the
	// handler a sequence of its own.
	BodySeq *bodyspool.Sequence
	// Protocol selects FastCGI (the location's Settings.FastCGI), SCGI
	// (its Settings.SCGI) or uwsgi (its Settings.UWSGI).
	Protocol Protocol
	// Location is the location with fastcgi_pass; its Settings.FastCGI
	// holds the fastcgi_* settings.
	Location *config.Location
	// Pool and Policy are the upstream group and its balancing method;
	// HashKey is the key of "hash KEY" (nil for other methods). They are
	// unused when Pass is set.
	Pool    *upstream.Pool
	Policy  balancer.Policy
	HashKey *vars.Template
	// Idle keeps the connections fastcgi_keep_conn on leaves open, up to
	// the upstream block's keepalive per server; nil closes each one. The
	// caller owns it and closes it: the locations whose fastcgi_pass names
	// one upstream block share it, as they share nginx's keepalive cache.
	Idle *upstream.IdleConns
	// Pass, when set, is the pass's value with variables (fastcgi_pass
	// $backend), evaluated and parsed per request (ParseAddress) first
	// thing; Lookup then finds its target, when the cache did not answer.
	Pass   *vars.Template
	Lookup Lookup
	// Compiler compiles the fastcgi_param values.
	Compiler *vars.Compiler
	// Log is the error log.
	Log *errlog.Logger
	// CacheZone is the zone of the location's fastcgi_cache (scgi_cache,
	// uwsgi_cache); nil when it does not cache or names it with variables.
	CacheZone *cache.Zone
	// CacheZones are the module's *_cache_path zones by name, for a
	// fastcgi_cache with variables, which names one per request.
	CacheZones map[string]*cache.Zone
	// Conditional is the not-modified filter: the status (0, 304 or 412)
	// a request's conditional fields ask for a response with the given
	// Last-Modified and ETag. The cache asks it for the 200s it serves or
	// stores, as nginx; nil answers none.
	Conditional func(h http.Header, mod time.Time, etag string) int
	// Ranges is nginx's range filter for the 200s the cache serves or
	// stores (cacherule.Ranger); nil sends them whole.
	Ranges cacherule.Ranger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Target is where a request goes: an upstream group, its balancing method,
// the key of "hash KEY" (nil for other methods) and the upstream block's
// idle connections (nil keeps no connection open; see Options.Idle).
type Target struct {
	Pool    *upstream.Pool
	Policy  balancer.Policy
	HashKey *vars.Template
	Idle    *upstream.IdleConns
}

// Lookup finds the target of a request's address, as nginx's upstream
// module does once the cache did not answer. Its error is logged at
// error level and answered 500 when it is an *AddressError (no port, and
// no upstream block of that name), 502 otherwise (a host name with no
// resolver, or one the resolver could not look up).
type Lookup func(a Address) (Target, error)

// param is a compiled fastcgi_param line.
type param struct {
	name       string
	value      *vars.Template
	ifNotEmpty bool
}

// Handler sends a location's requests to FastCGI servers. It is safe for
// concurrent use.
type Handler struct {
	// spool says how a body is read whole (*_request_buffering on).
	spool  bodyspool.Options
	set    *config.FastCGI
	proto  Protocol
	scheme string // "fastcgi://" or "scgi://", for log lines
	params []param
	named  map[string]bool // HTTP_* names fastcgi_param sets: not sent from the header
	hide   map[string]bool // lower-case field names not passed to the client
	// target is where requests go, unless pass is set: then lookup finds
	// it per request.
	target Target
	pass   *vars.Template
	lookup Lookup
	log    *errlog.Logger
	now    func() time.Time
	// idle keeps target's connections (fastcgi_keep_conn on with a
	// keepalive); nil when they are closed after each request.
	idle *upstream.IdleConns
	// keepConn says idle connections may be kept (fastcgi_keep_conn on),
	// in the target's Idle.
	keepConn bool
	bind     bindaddr.Bind
	// sleep is fastcgi_limit_rate's pause; nil means a timer (tests
	// replace it along with now).
	sleep    func(ctx context.Context, d time.Duration) error
	attempts sync.Pool // *balancer.Attempt
	// cache is the location's fastcgi_cache, per zone when it has
	// variables (the request's is request.cache); nil when it has none,
	// and its requests pay one nil check for it.
	cache *cacherule.Choice[*cacherule.Rule]
	// revalidate names the validators a revalidation sends
	// (HTTP_IF_MODIFIED_SINCE, HTTP_IF_NONE_MATCH) unless fastcgi_param
	// sets them itself.
	revalidateIMS, revalidateINM bool
	// store is the location's fastcgi_store (scgi_store, uwsgi_store); nil
	// when it has none.
	store *store.Rule
	// conditional is Options.Conditional (for the cache only).
	conditional func(h http.Header, mod time.Time, etag string) int
	// ranges is Options.Ranges, for the cache and, with forceRanges
	// (fastcgi_force_ranges on), for every 200.
	ranges      cacherule.Ranger
	forceRanges bool
	// tls is the TLS client of "uwsgi_pass suwsgi://" (nil: plain);
	// dynTLS that of a uwsgi_pass with variables, for the values that
	// start with suwsgi://; sessions the TLS sessions they resume, kept
	// per server (uwsgi_ssl_session_reuse).
	tls, dynTLS *upstreamtls.Client
	sessions    tls.ClientSessionCache
	// sslName is uwsgi_ssl_name when it has variables, evaluated per
	// handshake; nil means the TLS client's own name (or the value's
	// host, for a uwsgi_pass with variables).
	sslName *vars.Template
	// sslCert and sslKey are uwsgi_ssl_certificate and
	// uwsgi_ssl_certificate_key when either has variables, evaluated for
	// each handshake; nil otherwise.
	sslCert, sslKey *vars.Template
}

// hiddenByDefault are the fields nginx never passes from a FastCGI response
// (ngx_http_fastcgi_hide_headers and the upstream's own handling).
var hiddenByDefault = []string{"status", "x-accel-expires", "x-accel-redirect", "x-accel-limit-rate",
	"x-accel-buffering", "x-accel-charset", "date", "server", "connection", "keep-alive", "transfer-encoding"}

// New compiles a location's fastcgi settings into a Handler.
func New(o Options) (*Handler, error) {
	set, scheme := &o.Location.Settings.FastCGI, "fastcgi://"
	switch o.Protocol {
	case SCGI:
		set, scheme = &o.Location.Settings.SCGI, "scgi://"
	case UWSGI:
		set, scheme = &o.Location.Settings.UWSGI, "uwsgi://"
	}
	h := &Handler{set: set, proto: o.Protocol, scheme: scheme, log: o.Log, now: o.Now,
		target: Target{Pool: o.Pool, Policy: o.Policy, HashKey: o.HashKey, Idle: o.Idle},
		pass:   o.Pass, lookup: o.Lookup, named: map[string]bool{}, hide: map[string]bool{}}
	if h.now == nil {
		h.now = time.Now
	}
	seq := o.BodySeq
	if seq == nil {
		seq = &bodyspool.Sequence{}
	}
	h.spool = bodyspool.FromSettings(o.Location.Settings, seq)
	var err error
	if h.bind, err = bindaddr.Compile(o.Compiler, set.Bind, strings.TrimSuffix(scheme, "://")+"_bind"); err != nil {
		return nil, err
	}
	for _, p := range set.Params {
		if strings.HasPrefix(p.Name, "HTTP_") {
			h.named[p.Name] = true
			if p.Value == "" {
				// Written empty, it only hides the client's field: not
				// sent (ngx_http_fastcgi_init_params; httpoxy's
				// fastcgi_param HTTP_PROXY "").
				continue
			}
		}
		t, err := o.Compiler.Compile(p.Value)
		if err != nil {
			return nil, fmt.Errorf("fastcgi_param %s: %w", p.Name, err)
		}
		h.params = append(h.params, param{name: p.Name, value: t, ifNotEmpty: p.IfNotEmpty})
	}
	for _, n := range hiddenByDefault {
		h.hide[n] = true
	}
	for _, n := range set.HideHeaders {
		h.hide[strings.ToLower(n)] = true
	}
	for _, n := range set.PassHeaders {
		delete(h.hide, strings.ToLower(n))
	}
	if o.Protocol == UWSGI {
		h.tls, h.dynTLS = uwsgiTLS(set, o.Pass != nil)
		h.sessions = newSessions(h.tls, h.dynTLS)
		if t := set.SSL.NameTemplate; t != "" {
			if h.sslName, err = o.Compiler.Compile(t); err != nil {
				return nil, &config.Error{Pos: set.SSL.NamePos, Msg: err.Error()}
			}
		}
		if c := set.SSL.Certificate; c != nil && c.CertTemplate != "" {
			if h.sslCert, err = o.Compiler.Compile(c.CertTemplate); err != nil {
				return nil, &config.Error{Pos: c.Pos, Msg: err.Error()}
			}
			if h.sslKey, err = o.Compiler.Compile(c.KeyTemplate); err != nil {
				return nil, &config.Error{Pos: c.KeyPos(), Msg: err.Error()}
			}
		}
	}
	h.keepConn = set.KeepConn && o.Protocol == FastCGI
	if o.Pass == nil {
		h.idle = h.idleFor(h.target)
	}
	if h.cache, err = compileCache(o, set.Cache, strings.TrimSuffix(scheme, "://")); err != nil {
		return nil, err
	}
	if h.store, err = store.Compile(o.Compiler, strings.TrimSuffix(scheme, "://")+"_store", set.Store, set.StoreAccess); err != nil {
		return nil, err
	}
	if set.ForceRanges && o.Ranges != nil {
		h.ranges, h.forceRanges = o.Ranges, true
	}
	if h.cache != nil {
		h.conditional, h.ranges = o.Conditional, o.Ranges
		h.revalidateIMS, h.revalidateINM = !h.named["HTTP_IF_MODIFIED_SINCE"], !h.named["HTTP_IF_NONE_MATCH"]
	}
	return h, nil
}

// idleFor is the idle connection set of a target: nil unless
// fastcgi_keep_conn is on and its upstream block has a keepalive.
func (h *Handler) idleFor(t Target) *upstream.IdleConns {
	if !h.keepConn {
		return nil
	}
	return t.Idle
}

// request is one request's state across its attempts.
type request struct {
	w      http.ResponseWriter
	r      *http.Request
	st     *vars.State
	ctx    context.Context
	params []byte
	body   []byte
	// spool holds the body read whole; body is its memory, nil when it
	// went to a temporary file.
	spool bodyspool.Body
	// stream is the body sent as it arrives (fastcgi_request_buffering
	// off); nil when body holds it whole.
	stream *streamBody
	start  time.Time
	at     *balancer.Attempt
	// target is where the request goes and idle its kept connections
	// (nil: none are kept); with a pass with variables, addr is its value
	// and unresolved says the handler's lookup has yet to find them.
	target     Target
	idle       *upstream.IdleConns
	addr       Address
	unresolved bool
	// upstream names the server being tried in error log lines.
	upstream string
	// watcher stops the exchange when the client goes away (nil: the
	// writer cannot, or fastcgi_ignore_client_abort on; ctx stands in),
	// and watch is the current exchange's watch.
	watcher ClientWatcher
	watch   clientwatch.Watch
	// kept is set when the fetch goes on for the cache whatever the
	// client does (keepForCache); nil otherwise.
	kept *keptFetch
	// tls is the TLS client of a suwsgi:// request (nil: plain), and
	// sslName the name its handshakes use ("": the client's own).
	tls     *upstreamtls.Client
	sslName string
	// log is the request's error log: the location's (Handler.log), or
	// the one the writer names (errlog.Chooser: a subrequest's main request's).
	log *errlog.Logger
	// The cache's state of a request in a caching location (cache.go); cl
	// is nil elsewhere. cache is the request's cache (Handler.cache's
	// pick); nil when the request does not go through one.
	cache   *cacherule.Rule
	cl      *cacherule.Lookup
	noStore bool // the response is not to be stored
	// cacheParams says the parameters are built for the cache: the
	// client's conditional and range fields do not go to the application,
	// as nginx's ngx_http_fastcgi_cache_headers (and scgi's, uwsgi's)
	// clear them for a request the cache may store; passRange is
	// *_cache_max_range_offset's verdict, which sends them (noStore is set
	// with it).
	cacheParams, passRange bool
	// errKeep says an intercepted error of the application's response
	// (not one from the cache) is stored (storeError): the request went
	// through the cache's look-up (not a bypass) and may store its
	// response (respond sets it).
	errKeep bool
	// rangeable says the range filter may cut the response (it comes from
	// the cache, or may go to it: rangeCheck); acceptRanges that it had
	// the Accept-Ranges field the filter then needs (and replaces). With
	// *_force_ranges on both are set before the fields are read: the field
	// is dropped whatever the response, and the filter runs on any 200.
	// cut is the filter's 206, nil for the whole response.
	rangeable, acceptRanges bool
	// cacheable is nginx's u->cacheable once the application's fields
	// are read (cacheCheck): the not-modified filter answers for the
	// response even when it is not stored.
	cacheable bool
	// buffered says nginx reads the response buffered (passHead):
	// fastcgi_buffering, turned off or on by the application's
	// X-Accel-Buffering unless fastcgi_ignore_headers lists it. An
	// unbuffered body is flushed piece by piece, not paced, and neither
	// cached nor stored.
	buffered bool
	cut      *byterange.Cut
	stale    *cache.Entry // the expired entry, for _use_stale and _revalidate
	// staleError says the expired entry's Cache-Control stale-if-error (or
	// stale-while-revalidate) still covers a failed exchange.
	staleError bool
	ims, inm   string // the validators a revalidation sends
	fill       *cache.Fill
	// store is the file fastcgi_store writes the response to (store.go);
	// nil when the location does not store or this response is not.
	store    *store.File
	fillHead []byte
	fillAt   time.Time
	expires  time.Time
}

// ServeHTTP sends the request to a FastCGI server of the pool and passes its
// response on, retrying other servers as fastcgi_next_upstream says. In a
// caching location the cache may answer instead (cache.go).
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request, st *vars.State) {
	req := &request{w: w, r: r, st: st, ctx: r.Context(), start: h.now(), target: h.target, idle: h.idle, tls: h.tls, log: errlog.For(w, h.log)}
	if h.pass != nil {
		// nginx evaluates and parses the value first, before the body
		// and the cache (ngx_http_fastcgi_eval).
		a, err := h.passValue(req)
		if err != nil {
			h.addressFailed(req, err)
			return
		}
		req.addr, req.unresolved = a, true
	}
	if c := h.cache.Base(); c != nil && (c.Purges(st) || c.Method(r.Method)) {
		// NGINX Plus's fastcgi_cache_purge (scgi_, uwsgi_), before the
		// method test: a PURGE request is not one the cache answers.
		// nginx names the zone of a *_cache with variables after the
		// method test.
		if !h.pickCache(req) {
			return // answered: the value names no zone
		}
		if req.cache != nil {
			if code, ok := req.cache.Purge(st); ok {
				fail(w, code)
				return
			}
			h.serveCached(req)
			return
		}
	}
	h.serve(req)
}

// serve sends the request to the servers and passes the response on, or
// answers the error.
func (h *Handler) serve(req *request) {
	w, r, st := req.w, req.r, req.st
	switch {
	case !h.set.PassRequestBody || r.Body == nil || r.Body == http.NoBody:
	case h.streams(r):
		req.stream = &streamBody{r: r.Body, length: max(r.ContentLength, -1)}
	default:
		// Read whole as nginx reads it: in memory up to
		// client_body_buffer_size, past it in a temporary file.
		defer req.spool.Close()
		if err := req.spool.Read(r.Body, max(r.ContentLength, -1), &h.spool); err != nil {
			h.bodyRefused(req, req.spool.Memory(), err)
			return
		}
		req.body = req.spool.Memory()
		if req.spool.InFile() {
			h.spooled(req)
		}
		bodyRead(st, r, req.body, req.spool.Size())
		if n, ok := w.(BodyReadNoter); ok {
			n.RequestBodyRead()
		}
	}
	switch {
	case h.set.IgnoreClientAbort:
		ignoreClientAbort(req)
	case req.kept == nil:
		req.watcher, _ = w.(ClientWatcher)
	}
	if req.unresolved && !h.lookupTarget(req) {
		return
	}
	req.params = h.appendParams(nil, req)
	if h.proto == UWSGI {
		// uwsgi_string: after the variables, within the packet's size,
		// as nginx's ngx_http_uwsgi_create_request puts it.
		req.params = append(req.params, h.set.UWSGIString...)
	}
	if h.proto == UWSGI && len(req.params) > 0xffff {
		// The packet's 16-bit size cannot say it.
		req.log.LogRequest(errlog.Alert, req.logRequest(), fmt.Sprintf("uwsgi request is too big: %d", len(req.params)))
		fail(w, http.StatusInternalServerError)
		return
	}
	at, _ := h.attempts.Get().(*balancer.Attempt)
	if at == nil {
		at = new(balancer.Attempt)
	}
	defer h.attempts.Put(at)
	req.at = at
	f := h.roundTrip(req)
	if f == nil {
		return
	}
	if f.status == 0 { // the client went away
		st.Status = 499
		return
	}
	if f.body { // the client's streaming body failed
		fail(w, f.status)
		return
	}
	if req.stale != nil && (req.cache.Set.UseStale&f.cond != 0 || req.staleError) {
		h.serveStale(req, cacherule.Stale) // fastcgi_cache_use_stale, or the entry's stale-if-error
		return
	}
	if req.cl != nil && (f.status == http.StatusBadGateway || f.status == http.StatusGatewayTimeout) && keepsError(req) {
		h.storeFailure(req, f.status)
	}
	fail(w, f.status)
}

// lookupTarget finds the target of a pass with variables, as nginx's
// upstream module once the cache did not answer (after the request body
// is read): an upstream block, a group of the address, or of a host
// name's addresses. When it fails it answers the request and returns
// false.
func (h *Handler) lookupTarget(req *request) bool {
	t, err := h.lookup(req.addr)
	if err != nil {
		h.addressFailed(req, err)
		return false
	}
	req.target, req.idle, req.unresolved = t, h.idleFor(t), false
	return true
}

// addressFailed logs a pass value's error and answers it: 500 for an
// *AddressError, 502 for another (a name no resolver could look up).
func (h *Handler) addressFailed(req *request, err error) {
	req.log.LogRequest(errlog.Error, req.logRequest(), err.Error())
	status := http.StatusBadGateway
	if _, ok := err.(*AddressError); ok {
		status = http.StatusInternalServerError
	}
	fail(req.w, status)
}

// ignoreClientAbort is fastcgi_ignore_client_abort on, as the proxy's
// proxy_ignore_client_abort and nginx (whose upstream module then sets no
// broken-connection check): the exchange goes on when the client goes away,
// ended only by a write to the client that fails, so a response read whole
// keeps its connection and the request is logged with the server's status.
// nginx sets it once the request body is read, as here.
func ignoreClientAbort(req *request) {
	req.ctx = context.WithoutCancel(req.ctx)
	if ai, ok := req.w.(AbortIgnorer); ok {
		ai.IgnoreClientAbort()
	}
}

// appendParams encodes the request's parameters: the fastcgi_param lines
// (an if_not_empty one only when its value is not empty), then each header
// line as HTTP_NAME unless a fastcgi_param sets that name, as nginx does.
func (h *Handler) appendParams(dst []byte, req *request) []byte {
	var val []byte
	for _, p := range h.params {
		val = p.value.Append(val[:0], req.st)
		if p.ifNotEmpty && len(val) == 0 {
			continue
		}
		dst = h.appendParam(dst, p.name, string(val))
	}
	if req.ims != "" && h.revalidateIMS {
		dst = h.appendParam(dst, "HTTP_IF_MODIFIED_SINCE", req.ims)
	}
	if req.inm != "" && h.revalidateINM {
		dst = h.appendParam(dst, "HTTP_IF_NONE_MATCH", req.inm)
	}
	if !h.set.PassRequestHeaders {
		return dst
	}
	add := func(name, value string) {
		key := headerParam(name)
		if key == "" || h.named[key] || req.cacheParams && slices.Contains(cacheDropped, key) {
			return
		}
		dst = h.appendParam(dst, key, value)
	}
	if req.st.Fields != nil {
		for _, f := range req.st.Fields {
			add(f.Name, f.Value)
		}
		return dst
	}
	// Without the received order (HTTP/2), in name order: stable at least.
	names := make([]string, 0, len(req.r.Header))
	for name := range req.r.Header {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		for _, v := range req.r.Header[name] {
			add(name, v)
		}
	}
	if req.r.Host != "" && req.r.Header.Get("Host") == "" {
		add("Host", req.r.Host)
	}
	return dst
}

// appendParam encodes one parameter: FastCGI's length-prefixed pair,
// SCGI's "NAME\0value\0", or uwsgi's pair of 16-bit little-endian
// lengths and strings.
func (h *Handler) appendParam(dst []byte, name, value string) []byte {
	switch h.proto {
	case SCGI:
		dst = append(append(dst, name...), 0)
		return append(append(dst, value...), 0)
	case UWSGI:
		dst = binary.LittleEndian.AppendUint16(dst, uint16(len(name)))
		dst = append(dst, name...)
		dst = binary.LittleEndian.AppendUint16(dst, uint16(len(value)))
		return append(dst, value...)
	}
	return appendParam(dst, name, value)
}

// headerParam is a header field's parameter name: "HTTP_" and the name in
// upper case with "-" as "_"; empty for a name with other characters than
// letters, digits and "-" (nginx drops those as invalid headers).
func headerParam(name string) string {
	b := make([]byte, 0, 5+len(name))
	b = append(b, "HTTP_"...)
	for i := range len(name) {
		c := name[i]
		switch {
		case c >= 'a' && c <= 'z':
			c -= 'a' - 'A'
		case c == '-':
			c = '_'
		case c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		default:
			return ""
		}
		b = append(b, c)
	}
	return string(b)
}

// fail answers code through the writer's error pages when it has them.
func fail(w http.ResponseWriter, code int) {
	if f, ok := w.(Failer); ok {
		f.Fail(code)
		return
	}
	http.Error(w, http.StatusText(code), code)
}

// bodyErrorStatus is the status for a request body that could not be read.
func bodyErrorStatus(r *http.Request, err error) int {
	var tooBig *http.MaxBytesError
	switch {
	case errors.Is(err, bodyspool.ErrTempFile):
		return http.StatusInternalServerError
	case errors.As(err, &tooBig):
		return http.StatusRequestEntityTooLarge
	case r.Context().Err() != nil:
		return 499
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return http.StatusRequestTimeout
	}
	return http.StatusBadRequest
}

// logRequest describes the request for an error log line.
func (req *request) logRequest() *errlog.Request {
	line := req.st.RequestLine
	if line == "" {
		line = req.r.Method + " " + req.r.RequestURI + " " + req.r.Proto
	}
	lr := &errlog.Request{Conn: req.st.Conn, Client: req.st.RemoteAddr(), Server: req.st.ServerName,
		Request: line, Upstream: req.upstream, Host: req.r.Host}
	lr.Referrer, lr.ReferrerSent = req.st.Referer()
	return lr
}

// noAddr is the attempt address of a request that found no server.
var noAddr netip.AddrPort

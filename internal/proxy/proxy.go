// Package proxy is the location handler that forwards requests to an upstream:
// it builds the upstream request head from scratch (headers from trusted sources
// first, then the client's, minus hop-by-hop fields), picks servers through the
// balancer, retries per proxy_next_upstream, enforces the proxy timeouts,
// streams the response back (rewriting Location/Refresh per proxy_redirect),
// passes WebSocket upgrades through, and records every attempt for $upstream_*
// variables and the logs.
//
// The whole exchange runs on the request's goroutine: the upstream request is
// written from bytes with h1, the response head is read by h1's strict parser,
// and the body is copied to the client's ResponseWriter through a pooled
// buffer. There is no *http.Request clone, no header map for the upstream
// request and no transport goroutine. The balancer, router and vars packages
// never see *http.Request.
package proxy

import (
	"context"
	"errors"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"fulcrum/internal/balancer"
	"fulcrum/internal/bindaddr"
	"fulcrum/internal/bodyspool"
	"fulcrum/internal/byterange"
	"fulcrum/internal/cache"
	"fulcrum/internal/cacherule"
	"fulcrum/internal/config"
	"fulcrum/internal/errlog"
	"fulcrum/internal/errpage"
	"fulcrum/internal/h1"
	"fulcrum/internal/store"
	"fulcrum/internal/upstream"
	"fulcrum/internal/upstreamtls"
	"fulcrum/internal/vars"
)

// Handler forwards the requests of one location. It is built once per config
// snapshot and is safe for concurrent use.
type Handler struct {
	set       *config.Settings
	pass      *config.ProxyPass
	target    Target        // where requests go, unless dynamic is set
	dynamic   DynamicTarget // proxy_pass with variables: the target per request
	uri       uriRewrite
	headers   []headerRule
	ruleNames []string // names proxy_set_header sets, as written (they replace the client's, whatever its case)
	// connlessBlock is blockSigs(nil), set by New with ruleNames: the
	// block of a request without a Connection field. Zero (a Handler not
	// made by New) has prepare ask blockSigs every time.
	connlessBlock uint64
	// setsConnection and setsUpgrade record a proxy_set_header for that
	// field: it then replaces fulcrum's default upgrade pass-through.
	setsConnection, setsUpgrade bool
	// setsLength records a proxy_set_header Content-Length: then no
	// length goes for a body announced but not sent (AnnouncedBody), as
	// nginx's documented `proxy_set_header Content-Length "";` for mirrors.
	setsLength bool
	hide       nameSet // proxy_hide_header and the defaults, less proxy_pass_header
	// ownPassed lists Server and Date when proxy_pass_header passes them
	// (not hidden): fulcrum then writes none of its own (copyHeader).
	ownPassed []string
	redirects []redirectRule
	// cookies rewrites Set-Cookie fields (proxy_cookie_domain, _path,
	// _flags); nil when the location has no such rules.
	cookies *cookieRewriter
	setBody *vars.Template
	// method is proxy_method compiled (it may hold variables, as in nginx
	// since 1.11.6); nil without proxy_method.
	method  *vars.Template
	log     *errlog.Logger
	now     func() time.Time
	server  string // Server header value
	buffers *BufferPool
	// tls is how upstreams are spoken to over TLS (proxy_pass https://);
	// nil for plain HTTP.
	tls *upstreamTLS
	// earlyHints is early_hints: when an upstream's 103 goes on to the
	// client (earlyhints.go); nil drops them all.
	earlyHints earlyHints
	// sslName is proxy_ssl_name when it has variables (with https://),
	// evaluated per attempt; nil means the TLS client's own name.
	sslName *vars.Template
	// sslCert and sslKey are proxy_ssl_certificate and
	// proxy_ssl_certificate_key when either has variables (with
	// https://), evaluated per attempt (certValue); nil otherwise.
	sslCert, sslKey *vars.Template
	// scheme is "http://" or "https://", for the upstream URLs of log lines.
	scheme string
	// keyStart begins the implicit cache key of a proxy_pass naming a UNIX
	// socket (unixKeyStart); empty for others, whose key begins with the
	// scheme and $proxy_host.
	keyStart string
	// bind is proxy_bind, nil when the system picks the local address.
	bind bindaddr.Bind
	// cache is the location's proxy cache, per zone when proxy_cache has
	// variables (the request's is request.cache); nil when it has none.
	cache *cacherule.Choice[*cacheRule]
	// store is the location's proxy_store; nil when it has none.
	store *store.Rule
	// ranges is nginx's range filter (Options.Ranges), run on the 200s
	// the cache serves or stores, and on every 200 with forceRanges
	// (proxy_force_ranges on, and a filter to run); nil for none.
	ranges      cacherule.Ranger
	forceRanges bool
	// spool says how a request body is read whole (memory, then a
	// temporary file) with proxy_request_buffering on.
	spool bodyspool.Options
	// maxHead is proxy_buffer_size, at least 1 (nginx takes 0, and then
	// no head fits): the longest response head an upstream may send.
	maxHead int
}

// request is one request's state while it is proxied. Requests are pooled.
type request struct {
	h         *Handler
	st        *vars.State
	in        *http.Request
	w         http.ResponseWriter
	body      *replayBody
	bodyStore replayBody // what body points to, unless proxy_set_body replaced it
	start     time.Time
	at        balancer.Attempt
	target    Target // the target of this request
	uri       string // the request target when proxy_pass with variables names one
	hasURI    bool
	out       outgoing         // the upstream request
	resp      upstreamResponse // the current attempt's response
	cur       attemptState     // the attempt whose response is passed on
	// sentFrom and sentTo bound the request target in out.head (prepare):
	// the URI the error log lines name after the server (sentURI).
	sentFrom, sentTo int
	// ctx governs the upstream exchange: in's context, or, with
	// proxy_ignore_client_abort on, one that a client going away does not
	// cancel. Whether the client went away is judged by it too.
	ctx context.Context
	// upgrade is the protocol the client asks to switch to ("" for none).
	upgrade string
	// lengths is the client's Content-Length values (ServeHTTP), looked
	// up once.
	lengths []string
	// bodyVar says the body step is done: finish sets $request_body
	// then, if nothing did, from bodyAnnounced (the client announced a
	// body).
	bodyVar, bodyAnnounced bool
	// typeSeen says copyHeader met the upstream's first Content-Type field,
	// and eventStream that it named text/event-stream (copyBody flushes
	// such a body piece by piece).
	typeSeen, eventStream bool
	// order is the upstream's field order for the client's response, kept
	// across uses (FieldOrderer copies it).
	order []FieldPos
	// arena is the free tail of the chunk the upstream fields' text is
	// written in (fieldText): its bytes, past its length, were never
	// handed out; the strings before it keep what they hold.
	arena []byte
	// renamed has bit i set when fieldStrings made the name of the
	// upstream's field i canonical (fields past the 64th are compared
	// instead): sentName then copies the name as received.
	renamed uint64
	// stickyID holds the request's sticky server ID (Sticky.AppendID) and
	// cookieBuf builds a per-request sticky cookie; both are reused.
	stickyID, cookieBuf []byte
	// The proxy cache's state (cache.go); zero when the location does not
	// cache. caching says the upstream request is built for the cache (HEAD
	// sent as GET, the client's conditional fields dropped); ims and inm
	// revalidate a stale entry; noStore keeps the response out of the cache.
	// passRange is proxy_cache_max_range_offset's verdict: the client's
	// Range and conditional fields go upstream and the response is not
	// stored (noStore is set with it). staleError says the expired entry's
	// stale-if-error (or stale-while-revalidate) still covers a failed
	// exchange (serveExpired).
	caching, noStore, passRange, staleError bool
	ims, inm                                string
	// log is the request's error log: the location's (Handler.log), or
	// the one the writer names (errlog.Chooser: a subrequest's main request's).
	log *errlog.Logger
	// errKey is the entry an intercepted error's status is stored under
	// (storeError) when errKeep says the request may store one: it went
	// through the cache's look-up (not a bypass) and may store its
	// response (not short of proxy_cache_min_uses, after a lock timeout
	// or past proxy_cache_max_range_offset).
	errKey  cache.Key
	errKeep bool
	// cache is the request's cache (Handler.cache's pick); nil when the
	// request does not go through one.
	cache *cacheRule
	// rangeable says the response may be cut by the range filter, as
	// nginx's r->allow_ranges once the upstream's Accept-Ranges arrives:
	// it comes from the cache, or may go to it (rangeCheck). acceptRanges
	// says the field came (copyHeader drops it then, as nginx does). With
	// proxy_force_ranges both are set before the fields are read: the
	// field is dropped whatever the response, and the filter runs on any
	// 200. cut is the filter's 206, nil for the whole response.
	rangeable, acceptRanges bool
	cut                     *byterange.Cut
	// fill stores the response being passed on; fillHead is its head,
	// fillExpires and fillAt its expiry and date; fillDone says the whole
	// body went through, and fillBody that the response has one.
	fill               *cache.Fill
	fillHead           []byte
	fillExpires        time.Time
	fillAt             time.Time
	fillDone, fillBody bool
	// fillSized says the upstream gave the body's length.
	fillSized bool
	// store is the file proxy_store writes the response to (store.go); nil
	// when the location does not store or this response is not stored.
	store *store.File
	// buffered says nginx reads the response buffered (respond):
	// proxy_buffering, turned off or on by the upstream's X-Accel-Buffering
	// unless proxy_ignore_headers lists it. An unbuffered body is flushed
	// piece by piece, not paced, and not stored.
	buffered bool
	// accelBuffering says the response has an X-Accel-Buffering field
	// (copyHeader): only then is buffered asked of its fields.
	accelBuffering bool
	// reset notes an HTTP/2 stream reset under proxy_ignore_client_abort
	// on (ignoredReset); nil elsewhere.
	reset *streamReset
	// The ntlm state (ntlm.go), zero unless the target has ntlm: binds is
	// the client connection's bound connections (nil under a writer that
	// cannot hold them), bound the one this request took to use, and bind
	// says the attempt's connection is to be bound (the request has an
	// NTLM or Negotiate Authorization, or came over a bound connection).
	binds *Bindings
	bound boundConn
	bind  bool
	// home is where release keeps the request for its writer's next one
	// (RequestKeeper); nil sends it back to the pool.
	home *RequestSlot
	// caps is what w can do beyond http.ResponseWriter, kept with the
	// request's buffers: a request kept for its writer's next one asserts
	// nothing again (takeRequest). Another writer goes in w only through
	// setWriter, which gives it caps of its own while it is there.
	caps *writerCaps
}

// writerCaps holds the optional interfaces the proxy asks of a request's
// writer on every request, asserted once per writer (assert) rather than
// each where it is used: an assertion costs about 30 instructions, and a
// connection's requests go through the same writer one after the other.
type writerCaps struct {
	w         http.ResponseWriter // the writer they are of; nil for none
	out       io.Writer           // w as an io.Writer: a conversion costs as much
	chooser   errlog.Chooser
	continuer Continuer
	noter     BodyReadNoter
	values    ValueStore
	orderer   FieldOrderer
	lister    FieldLister
	reason    ReasonSetter
	headTimer HeadTimer
	namer     UpstreamNamer
	filter    HeadFilter
	refuser   BodyRefuser
	watcher   ClientWatcher
	accel     AccelRedirector
}

// assert fills c with what w can do. Out of line: it runs once per writer.
//
//go:noinline
func (c *writerCaps) assert(w http.ResponseWriter) {
	c.w, c.out = w, w
	c.chooser, _ = w.(errlog.Chooser)
	c.continuer, _ = w.(Continuer)
	c.noter, _ = w.(BodyReadNoter)
	c.values, _ = w.(ValueStore)
	c.orderer, _ = w.(FieldOrderer)
	c.lister, _ = w.(FieldLister)
	c.reason, _ = w.(ReasonSetter)
	c.headTimer, _ = w.(HeadTimer)
	c.namer, _ = w.(UpstreamNamer)
	c.filter, _ = w.(HeadFilter)
	c.refuser, _ = w.(BodyRefuser)
	c.watcher, _ = w.(ClientWatcher)
	c.accel, _ = w.(AccelRedirector)
}

// setWriter makes w the writer req answers through, with caps asserted from
// it: req.w and req.caps change together, never one without the other
// (takeRequest pairs them for the writer ServeHTTP is given). It returns
// what puts the writer and caps there were before back.
func (req *request) setWriter(w http.ResponseWriter) (restore func()) {
	prevW, prevCaps := req.w, req.caps
	req.w, req.caps = w, new(writerCaps)
	req.caps.assert(w)
	return func() { req.w, req.caps = prevW, prevCaps }
}

var requests = sync.Pool{New: func() any { return new(request) }}

// RequestSlot holds the proxy's state of a finished request, its buffers
// included, for the next request its writer serves (RequestKeeper): a busy
// connection's requests then take none from the pool and give none back.
// Its zero value holds none.
type RequestSlot struct{ req *request }

// A RequestKeeper is a ResponseWriter that keeps the proxy's state of a
// request for the next one it serves (the daemon's, for an HTTP/1
// connection's requests one after the other). KeptRequest returns nil when
// it keeps none.
type RequestKeeper interface {
	KeptRequest() *RequestSlot
}

// takeRequest returns the request state for a request answered through w:
// the one w kept, if any, else one from the pool. A request state is used
// by one request at a time: one w kept is taken out while in use.
func takeRequest(w http.ResponseWriter) *request {
	req := keptRequest(w)
	if req == nil {
		req = requests.Get().(*request)
	}
	if req.caps == nil {
		req.caps = new(writerCaps)
	}
	if req.caps.w != w {
		req.caps.assert(w)
	}
	return req
}

// keptRequest returns the request state w kept, if any, taken out of its
// slot; one from the pool when w keeps one but its slot is empty; else nil.
func keptRequest(w http.ResponseWriter) *request {
	rk, ok := w.(RequestKeeper)
	if !ok {
		return nil
	}
	home := rk.KeptRequest()
	if home == nil {
		return nil
	}
	req := home.req
	if req != nil {
		home.req = nil
	} else {
		req = requests.Get().(*request)
	}
	req.home = home
	return req
}

// finish ends a request ServeHTTP took: a streamed body's $request_body,
// known once the body went through, is set when nothing set it (bodyVar),
// then req goes back to the pool. One deferred call for both keeps
// ServeHTTP's defers open-coded (no defer records, no deferreturn walk).
func (req *request) finish() {
	if req.bodyVar && req.st.Body == nil {
		req.st.Body = req.bodyStore.variable(req.bodyAnnounced)
	}
	req.release()
}

// release clears req, keeping its buffers, and puts it back where it came
// from: the writer that keeps it (home), else the pool. The
// struct is cleared in place: a composite literal would be built on the stack
// first, and this frame is on every request's stack.
func (req *request) release() {
	_ = req.bodyStore.spool.Close() // a kept file (client_body_in_file_only on) stays
	head, method, order, arena := req.out.head[:0], req.out.method[:0], req.order[:0], req.arena[:0]
	stickyID, cookieBuf := req.stickyID[:0], req.cookieBuf[:0]
	home, caps := req.home, req.caps
	clear(req.order) // the strings may go
	if cap(arena) > maxKeptHead {
		arena = nil // an unusually long upstream head (up to 64 KiB): not kept in the pool
	}
	*req = request{}
	req.out.head, req.out.method, req.order, req.arena = head, method, order, arena
	req.stickyID, req.cookieBuf = stickyID, cookieBuf
	req.caps = caps
	if home != nil && home.req == nil {
		home.req = req
		return
	}
	if caps != nil {
		*caps = writerCaps{} // the writer may go
	}
	requests.Put(req)
}

// Target is an upstream block ready to take requests: its pool, balancing and
// connection pool.
type Target struct {
	Pool    *upstream.Pool
	Policy  balancer.Policy
	HashKey *vars.Template // the upstream's hash key, for hash methods
	// Sticky is the upstream's session persistence; nil when it has none.
	Sticky *Sticky
	// NTLM is the upstream's ntlm directive: a client connection's
	// requests after one with NTLM or Negotiate authorization go over the
	// same upstream connection (Bindings).
	NTLM      bool
	Transport *ConnPool
	// PoolOptions are the keep-alive limits applied per upstream connection.
	PoolOptions PoolOptions
	// TLS is how to speak TLS to the target's servers when a proxy_pass with
	// variables names it with https:// (its name is the evaluated host); nil
	// means the location's own settings (plain HTTP, or its static https://
	// upstream's).
	TLS *upstreamtls.Client
}

// DynamicTarget resolves a proxy_pass with variables for one request: the
// target, and the URI to request when the evaluated URL has one. It sets
// $proxy_host and $proxy_port in st. An error is logged and answered with
// 500 when it is an *InvalidTargetError, else with 502.
type DynamicTarget func(st *vars.State) (t Target, uri string, hasURI bool, err error)

// InvalidTargetError is an evaluated proxy_pass or grpc_pass that is no
// valid URL or address (an empty host, a bad port): nginx answers 500, not
// 502, as its eval step fails before any upstream is chosen. Msg is nginx's
// error log text ("invalid port in upstream \"127.0.0.1:abc\"").
type InvalidTargetError struct{ Msg string }

func (e *InvalidTargetError) Error() string { return e.Msg }

// targetErrorStatus is the status of a request whose target could not be
// resolved from its variables: 500 for an invalid one, 502 otherwise.
func targetErrorStatus(err error) int {
	var ie *InvalidTargetError
	if errors.As(err, &ie) {
		return http.StatusInternalServerError
	}
	return http.StatusBadGateway
}

// ServeHTTP proxies r. st must already hold the request view, the server name
// and the location's captures; ServeHTTP records the attempts and the status.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request, st *vars.State) {
	req := takeRequest(w)
	req.h, req.st, req.in, req.w, req.start, req.target = h, st, r, w, h.now(), h.target
	req.ctx = r.Context()
	req.log = h.errorLog(req.caps)
	defer req.finish()
	if h.dynamic != nil {
		t, uri, hasURI, err := h.dynamic(st)
		if err != nil {
			h.targetFailed(req, err)
			return
		}
		req.target, req.uri, req.hasURI = t, uri, hasURI
	}
	// nginx reads the body here (ngx_http_read_client_request_body), which
	// first answers "Expect: 100-continue", whether a body follows or not.
	if c := req.caps.continuer; c != nil {
		_ = c.Continue()
	}
	if err := setReplayBody(&req.bodyStore, r, h.set, &h.spool); err != nil {
		h.bodyRefused(req, err)
		return
	}
	req.body = &req.bodyStore
	if req.bodyStore.file {
		h.spooled(req)
	}
	if h.set.ProxyIgnoreClientAbort {
		ignoreClientAbort(req)
		if h2Stream(st) != 0 {
			h.ignoredReset(req)
			defer h.logIgnoredReset(req)
		}
	}
	// $request_body: a buffered body is known now (proxy_set_header may use
	// it); a streamed one once it went through.
	req.lengths = r.Header["Content-Length"]
	announced := r.ContentLength != 0 || len(req.lengths) > 0
	st.Body = req.bodyStore.variable(announced)
	if b := &req.bodyStore; (b.buffered || b.file) && !b.empty && len(req.lengths) == 0 {
		// A chunked body read whole: its length is $content_length now
		// (nginx's headers_in.content_length_n, which proxy_set_header
		// X-Length $content_length sends as "10" for a 10-byte body).
		st.ChunkedLength, st.ChunkedRead = b.size(), true
	}
	if n := req.caps.noter; n != nil && (req.bodyStore.buffered || req.bodyStore.file) {
		n.RequestBodyRead()
	}
	req.bodyVar, req.bodyAnnounced = true, announced
	if c := h.cache.Base(); c != nil && h.answerFromCache(req, c) {
		return
	}
	h.prepare(req)
	if err := h.roundTrip(req); err != nil {
		h.roundTripFailed(req, err)
		return
	}
	if req.reset != nil {
		req.reset.body.Store(true)
	}
	h.respond(req)
}

// targetFailed answers a request whose proxy_pass with variables could not
// be resolved (err), and logs it. Out of line: ServeHTTP's code and frame
// stay small.
//
//go:noinline
func (h *Handler) targetFailed(req *request, err error) {
	req.log.LogRequest(errlog.Error, req.logRequest(""), err.Error())
	status := targetErrorStatus(err)
	if status == http.StatusBadGateway {
		// A name not resolved (or no resolver): nginx finalizes the
		// upstream (ngx_http_upstream_finalize_request), and the
		// connection says "sending to client" from then on, as
		// auth_request's "auth request unexpected status: 502 while
		// sending to client" shows (recorded with 1.22.1).
		req.st.LogAction = errlog.ActionToClient
	}
	fail(req.w, status, h.server)
}

// answerFromCache goes through the cache c (h.cache's base) for a request
// it may answer, and reports whether the request was answered: from the
// cache, by its purge, or with an error; false sends it upstream. Out of
// line: ServeHTTP's code and frame stay small where no cache is set.
//
//go:noinline
func (h *Handler) answerFromCache(req *request, c *cacheRule) bool {
	// NGINX Plus's proxy_cache_purge, before the method test: a PURGE
	// request is not one the cache answers. nginx names the zone of a
	// proxy_cache with variables after the method test.
	purge := c.rule.Purges(req.st)
	if !purge && !c.method(req.in.Method) {
		return false
	}
	if !h.pickCache(req) {
		return true // answered: proxy_cache's value names no zone
	}
	if req.cache == nil {
		return false
	}
	if purge {
		fail(req.w, req.cache.rule.PurgeKey(h.cacheKey(req)), h.server)
		return true
	}
	h.serveCached(req)
	return true
}

// spooled notes a body that went to a temporary file: its name is
// $request_body_file, and nginx logs the file (a warning, a notice with
// client_body_in_file_only) once, where it was read: not again for a body
// read for the mirrors or the post action.
func (h *Handler) spooled(req *request) {
	req.st.BodyFile = req.bodyStore.spool.FileName()
	if req.bodyStore.spool.Shared() {
		return // read, and logged, for the mirrors or the post action
	}
	notice, msg := req.bodyStore.spool.LogLine(&h.spool)
	level := errlog.Warn
	if notice {
		level = errlog.Notice
	}
	if req.log != nil && req.log.Enabled(level) {
		lr := req.logRequest("")
		lr.Action = req.st.LogAction // the body is read before this proxy's own actions
		req.log.LogRequest(level, lr, msg)
	}
}

// BodyReadNoter is a ResponseWriter whose server counts the request's bytes
// ($request_length): RequestBodyRead tells it the body was read whole, so
// the variables evaluated from then on count the body's bytes too.
type BodyReadNoter interface{ RequestBodyRead() }

// streamReset is what ignoredReset notes of an HTTP/2 stream's reset while
// proxy_ignore_client_abort on lets its upstream request go on, and what
// keepForCache notes of a client gone while its response is fetched for
// the cache (kept).
type streamReset struct {
	stop func() bool
	// kept says the exchange goes on for the cache: the line is
	// errlog.ClientGoneKept's.
	kept bool
	// body is set by the request's goroutine once the response's body is
	// read; action is nginx's action when the stream was reset (nil: not
	// reset).
	body   atomic.Bool
	action atomic.Pointer[string]
}

// ignoredReset watches an HTTP/2 stream whose client abort is ignored:
// nginx 1.22.1 still writes "client canceled stream 1 while sending
// request to upstream" when the client resets it (recorded with a backend
// answering after 3 s: the line, then the answer, logged 200). Only such
// requests pay for the watch.
func (h *Handler) ignoredReset(req *request) {
	rs := &streamReset{}
	rs.stop = context.AfterFunc(req.in.Context(), func() {
		action := errlog.ActionSend
		if rs.body.Load() {
			action = errlog.ActionBody
		}
		rs.action.Store(&action)
	})
	req.reset = rs
}

// logIgnoredReset ends ignoredReset's watch and writes its line, if the
// stream was reset: at the request's end, as the request's state is its
// goroutine's (nginx writes it at the reset).
func (h *Handler) logIgnoredReset(req *request) {
	rs := req.reset
	rs.stop()
	action := rs.action.Load()
	switch {
	case action == nil:
	case rs.kept:
		if req.log.Enabled(errlog.Info) {
			if msg := errlog.ClientGoneKept(context.Cause(req.in.Context()), h2Stream(req.st), *action); msg != "" {
				req.log.LogRequest(errlog.Info, req.logRequest(req.st.LastUpstream.String()), msg)
			}
		}
	default:
		h.logGone(req, context.Cause(req.in.Context()), req.st.LastUpstream.String(), *action)
	}
}

// AbortIgnorer is a ResponseWriter whose server watches the client for going
// away during a request, as the daemon's engine does (it peeks at the socket).
// IgnoreClientAbort ends that watch for the rest of the request: with
// proxy_ignore_client_abort on, only a failed write tells that the client is
// gone.
type AbortIgnorer interface {
	IgnoreClientAbort()
}

// ignoreClientAbort is proxy_ignore_client_abort on, as nginx does it (its
// upstream module then sets no broken-connection check): the upstream exchange
// goes on when the client goes away, and is ended only by a write to the client
// that fails, so a response read whole keeps its upstream connection alive, and
// the request is logged with the upstream's status. nginx sets it once the
// request body is read, as here.
func ignoreClientAbort(req *request) {
	req.ctx = context.WithoutCancel(req.ctx)
	if ai, ok := req.w.(AbortIgnorer); ok {
		ai.IgnoreClientAbort()
	}
}

// requestBodyVarMax is the longest buffered body $request_body shows: nginx's
// is the body read into its memory buffer, client_body_buffer_size (16k on
// 64-bit systems), and empty when the body went to a temporary file.
const requestBodyVarMax = 16 << 10

// Failer is a ResponseWriter that answers fulcrum's own errors itself (the
// daemon's, which applies error_page).
type Failer interface {
	Fail(code int)
}

// A TrailerAdder is a ResponseWriter that sends trailer fields in the
// order they are added (the daemon's, over HTTP/1.1), as nginx passes an
// upstream's; under another writer they go in http.TrailerPrefix fields.
type TrailerAdder interface {
	AddTrailer(name, value string)
}

// A RedirectPender is a Failer that tells whether its last Fail arranged
// an internal redirect (an error_page to a URI or a named location),
// which gets the request's body.
type RedirectPender interface {
	RedirectPending() bool
}

// A BodyKeeper is a ResponseWriter that can own a request body read whole
// into a temporary file for as long as the request lasts, past this
// handler: KeepBody takes b over (and closes it when the request ends),
// reporting false when it cannot (a subrequest's writer, or one that owns
// a body already). The daemon's main request writer is one.
type BodyKeeper interface {
	KeepBody(b *bodyspool.Body) bool
}

// fail answers with fulcrum's error page for code, through w's Fail when it
// has one.
func fail(w http.ResponseWriter, code int, server string) {
	if f, ok := w.(Failer); ok {
		f.Fail(code)
		return
	}
	errpage.Write(w, code, server)
}

// bodyErrorStatus is the status for a request body that could not be read: 413
// past client_max_body_size, 408 when the client stopped sending, 499 when it
// went away, else 400 (a malformed chunked body).
func bodyErrorStatus(r *http.Request, err error) int {
	var tooBig *http.MaxBytesError
	var strict h1.Error
	switch {
	case errors.Is(err, bodyspool.ErrTempFile):
		return http.StatusInternalServerError
	case errors.As(err, &strict): // the strict reader refused the body's framing
		return strict.Status()
	case errors.As(err, &tooBig):
		return http.StatusRequestEntityTooLarge
	case r.Context().Err() != nil:
		return 499
	case errlog.IsTimeout(err):
		return http.StatusRequestTimeout
	}
	return http.StatusBadRequest
}

// errorLog is the error log of a request that w answers: the one w names
// (errlog.Chooser), else the location's. Not inlined: ServeHTTP's frame is on
// every proxied request's stack.
//
//go:noinline
func (h *Handler) errorLog(caps *writerCaps) *errlog.Logger {
	if caps.chooser != nil {
		return caps.chooser.ErrorLog(h.log)
	}
	return h.log
}

// logRequest describes the request for an error log line (built only when a
// line is written), with the upstream URL being tried, if any.
func (req *request) logRequest(upstream string) *errlog.Request {
	r := req.in
	line := req.st.RequestLine // as received, as nginx logs it
	if line == "" {
		line = r.Method + " " + r.RequestURI + " " + r.Proto
	}
	lr := &errlog.Request{
		Conn:     req.st.Conn,
		Client:   req.st.RemoteAddr(),
		Server:   req.st.ServerName,
		Request:  line,
		Upstream: upstream,
		Host:     r.Host,
	}
	lr.Referrer, lr.ReferrerSent = req.st.Referer()
	if req.st.InSubrequest {
		// nginx names the subrequest's URI (an auth_request's:
		// subrequest: "/auth", recorded with nginx 1.22.1).
		lr.Subrequest = req.st.Path
	}
	return lr
}

// sentURI is the request target sent upstream (empty before prepare built
// it), in out.head: valid until the request is released or prepared again.
func (req *request) sentURI() []byte { return req.out.head[req.sentFrom:req.sentTo] }

// upstreamURL is the "upstream:" URL of an error log line about server, built
// only when a line is written: the scheme, the server and the request target
// sent upstream, as nginx's ngx_http_log_error_handler writes u->schema,
// u->peer.name and u->uri, which ngx_http_proxy_create_request sets to the
// URI it sent (after proxy_pass's URI part replaced the location's prefix,
// a "rewrite ... break" or an internal redirect changed the URI, or the URI
// a proxy_pass with variables gave; with the arguments it sent). nginx 1.22.1
// logs upstream: "http://127.0.0.1:8081/base/x?a=1" for "GET /p/x?a=1" in
// location /p/ { proxy_pass http://app/base/; }.
func (req *request) upstreamURL(scheme, server string) string {
	return vars.UpstreamURL(scheme, server, string(req.sentURI()))
}

// schemeOf is the scheme of req's upstream URL in log lines and
// $upstream_addr's references: the proxy_pass URL's, or, when a variable
// gives the scheme ("$upstream_proto://..."), the evaluated one's (a target
// with a TLS client is https://), as nginx logs "upstream: "https://...""
// for it (recorded with nginx 1.22.1).
func (h *Handler) schemeOf(req *request) string {
	if h.pass.Scheme == "" && req.target.TLS != nil {
		return "https://"
	}
	return h.scheme
}

// upstreamRef is the "upstream:" of lines the request may write after the
// proxy is done with it (vars.State.LastUpstream: a limit in an
// error_page's location), with the URI sent upstream as upstreamURL's. The
// URI is the client's string when the two are the same (a proxy_pass
// without a URI part): no allocation on the common path; a copy otherwise,
// as the proxy's buffer is reused.
func (req *request) upstreamRef(scheme, server string) vars.UpstreamRef {
	uri := req.st.RequestURI
	if sent := req.sentURI(); string(sent) != uri {
		uri = string(sent)
	}
	return vars.UpstreamRef{Scheme: scheme, Peer: server, URI: uri}
}

// roundTripFailed ends a request whose round trip failed: the early bytes
// of a streamed body no attempt read are counted (unreadStream), then the
// error is answered. Out of line: ServeHTTP's frame is on the deepest path
// of every client goroutine, whose stack doubles past 8 KiB
// (TestClientStackStaysSmall); inlined here, unreadStream added 16 bytes.
//
//go:noinline
func (h *Handler) roundTripFailed(req *request, err error) {
	unreadStream(req)
	h.answerError(req, err)
}

// answerError answers a request whose every attempt failed (or that found no
// server): 502 or 504 per the last failure, or nothing at all when the client
// went away (logged as 499).
func (h *Handler) answerError(req *request, err error) {
	var f *failure
	if errors.As(err, &f) {
		fail(req.w, f.status, h.server)
		req.keepBody(false)
		return
	}
	if req.ctx.Err() != nil || errors.Is(err, errClientGone) {
		req.st.Status = 499
		return
	}
	req.log.LogRequest(errlog.Error, req.logRequest(""), err.Error())
	fail(req.w, http.StatusBadGateway, h.server)
}

package proxy

import (
	"bufio"
	"context"
	"errors"
	"io"
	"iter"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"fulcrum/internal/cache"
	"fulcrum/internal/cacherule"
	"fulcrum/internal/config"
	"fulcrum/internal/errlog"
	"fulcrum/internal/h1"
	"fulcrum/internal/vars"
)

// The $upstream_cache_status values.
const (
	cacheMiss        = cacherule.Miss
	cacheBypass      = cacherule.Bypass
	cacheExpired     = cacherule.Expired
	cacheStale       = cacherule.Stale
	cacheUpdating    = cacherule.Updating
	cacheRevalidated = cacherule.Revalidated
	cacheHit         = cacherule.Hit
)

// cacheRule is a location's proxy cache (proxy_cache and its directives),
// compiled. A Handler without one has a nil *cacheRule, and its requests
// pay one field check for the cache.
type cacheRule struct {
	// rule is the cache's shared part: key, bypass, no_cache, lookups,
	// locks (package cacherule, which the FastCGI client shares).
	rule *cacherule.Rule
	zone *cache.Zone
	set  *config.CacheSettings
	// conditional is the not-modified filter (Options.Conditional).
	conditional func(h http.Header, mod time.Time, etag string) int
}

// compileCache compiles set for its zone (zone), or for each of zones (the
// proxy_cache_path zones by name) when proxy_cache has variables; nil when
// the location does not cache.
func compileCache(c *vars.Compiler, set *config.CacheSettings, zone *cache.Zone, zones map[string]*cache.Zone,
	conditional func(h http.Header, mod time.Time, etag string) int) (*cacherule.Choice[*cacheRule], error) {
	rule, err := cacherule.Compile(c, set, zone, "proxy")
	if rule == nil || err != nil {
		return nil, err
	}
	return cacherule.Choose(c, set, zone, zones, func(z *cache.Zone) *cacheRule {
		return &cacheRule{rule: rule.With(z), zone: z, set: set, conditional: conditional}
	})
}

// pickCache sets req.cache to the request's cache: the location's zone, or
// the one proxy_cache's value names (nil for an empty value or "off": the
// request goes to the upstream as in a location without a cache). A value
// that names no zone is answered as nginx 1.22.1 does (recorded): 500,
// logged `cache "NAME" not found`; pickCache then returns false.
func (h *Handler) pickCache(req *request) bool {
	c, ok, err := h.cache.Pick(req.st)
	if err != nil {
		req.log.LogRequest(errlog.Error, req.logRequest(""), err.Error())
		fail(req.w, http.StatusInternalServerError, h.server)
		return false
	}
	if ok {
		req.cache = c
	}
	return true
}

// method reports whether responses to m are cached: GET and HEAD always,
// POST when proxy_cache_methods lists it.
func (c *cacheRule) method(m string) bool { return c.rule.Method(m) }

// expiry decides whether a response may be stored and until when
// (cacherule.Expiry: its fields, then proxy_cache_valid for its status).
func (c *cacheRule) expiry(head *h1.Response, now time.Time) (time.Time, bool) {
	return cacherule.Expiry(c.set, headFields(head), head.Status, now)
}

// fieldsExpiry is expiry from the fields alone: false when they forbid
// storing, else the time they give (zero for none).
func (c *cacheRule) fieldsExpiry(head *h1.Response, now time.Time) (time.Time, bool) {
	return cacherule.FieldsExpiry(c.set, headFields(head), now)
}

// headFields yields the fields of head.
func headFields(head *h1.Response) iter.Seq2[string, string] {
	return func(yield func(string, string) bool) {
		for _, f := range head.Headers {
			if !yield(string(f.Name), string(f.Value)) {
				return
			}
		}
	}
}

// cacheLookup is one request's view of the cache.
type cacheLookup = cacherule.Lookup

// serveCached answers a request of a caching location: from the cache when
// it holds a fresh entry, else from the upstream, storing the response when
// it may be stored. It reports the $upstream_cache_status.
func (h *Handler) serveCached(req *request) {
	c, st := req.cache, req.st
	cl, bypass := c.rule.FindKey(h.cacheKey(req), st)
	if bypass {
		st.CacheStatus = cacheBypass
		h.fetch(req, &cl, nil)
		return
	}
	if cl.Look.Error != 0 {
		h.serveError(req, cl.Look.Error)
		return
	}
	if cl.Look.Fresh && h.serveEntry(req, cl.K, cacheHit) {
		return
	}
	if cl.Look.Exists {
		h.serveExpired(req, &cl)
		return
	}
	st.CacheStatus = cacheMiss
	if h.passesRange(req) {
		// Not stored, so no lock either: nginx takes it first, and the
		// requests for the entry would wait on a response that never
		// fills it.
		h.fetch(req, &cl, nil)
		return
	}
	if c.set.Lock && !h.awaitLock(req, &cl) {
		return // answered from the entry another request stored
	}
	defer c.rule.Unlock(&cl)
	// Short of proxy_cache_min_uses, nginx's NGX_HTTP_CACHE_SCARCE clears
	// u->cacheable: the request goes upstream with the client's Range and
	// conditional fields, as one that the cache does not store.
	req.passRange = req.passRange || cl.Look.Uses < c.set.MinUses
	h.fetch(req, &cl, nil)
}

// cacheKey is the request's proxy_cache_key, or without one nginx 1.22.1's
// implicit key (config.CacheSettings.ImplicitKey): the proxy_pass URL's
// scheme and host as written, then the URI sent upstream, as
// ngx_http_proxy_create_key joins ctx->vars.key_start and the URI.
func (h *Handler) cacheKey(req *request) string {
	c := req.cache
	if !c.set.ImplicitKey {
		return c.rule.Key(req.st)
	}
	var scratch [256]byte
	b := append(scratch[:0], h.keyStart...)
	if h.keyStart == "" {
		b = append(append(b, h.schemeOf(req)...), req.st.ProxyHost...)
	}
	return string(h.appendTarget(b, req))
}

// unixKeyStart is nginx's key_start for a proxy_pass URL naming a UNIX
// socket ("http://unix:/run/app.sock:/uri"): the URL up to the socket's
// path and one byte more, which is the ':' before a URI part, or without
// one the end of nginx's string, its NUL (ngx_http_proxy_set_vars counts
// the byte either way; nginx 1.22.1 stores "KEY: http://unix:/run/app.sock\0/x"
// for GET /x). Empty for another URL.
func unixKeyStart(url string) string {
	i := strings.Index(url, "://")
	if i < 0 || !strings.HasPrefix(url[i+3:], "unix:") {
		return ""
	}
	head := url[:i+3+len("unix:")]
	path, _, hasURI := strings.Cut(url[len(head):], ":")
	if hasURI {
		return head + path + ":"
	}
	return head + path + "\x00"
}

// awaitLock is proxy_cache_lock for a missing entry: the first request
// fills it, the others wait up to proxy_cache_lock_timeout for it and are
// then answered from it (HIT), or take the lock when it was not stored
// (cacherule.Rule.AwaitLock). It returns true when the request is to go to
// the upstream itself: it holds the lock, or waited in vain (its response is
// then not stored, as in nginx).
func (h *Handler) awaitLock(req *request, cl *cacheLookup) bool {
	// nginx does not watch the client while it waits on the lock: a
	// client gone meanwhile is answered from the entry, or its request
	// fetches (keepForCache), as nginx 1.22.1 does.
	switch req.cache.rule.AwaitLock(context.WithoutCancel(req.ctx), cl, func() bool { return h.serveLocked(req, cl) }) {
	case cacherule.Owner:
		return true
	case cacherule.TimedOut:
		// nginx's NGX_HTTP_CACHE_SCARCE, as short of min_uses: the
		// client's Range and conditional fields go upstream (recorded
		// from nginx 1.22.1).
		req.noStore, req.passRange = true, true
		return true
	case cacherule.Canceled:
		req.st.Status = 499
	}
	return false
}

// serveExpired answers a request whose entry is stored but expired: from the
// stale entry while another request updates it (proxy_cache_use_stale
// updating), in the background of a stale answer
// (proxy_cache_background_update), else from the upstream (EXPIRED), with
// the stale entry kept for proxy_cache_use_stale and
// proxy_cache_revalidate.
func (h *Handler) serveExpired(req *request, cl *cacheLookup) {
	c := req.cache
	updating, staleError := h.staleWindows(req, cl.K)
	updating = updating || c.set.StaleUpdating
	req.staleError = staleError
	owner, _ := c.rule.Lock(cl)
	if !owner && updating && h.serveEntry(req, cl.K, cacheUpdating) {
		return
	}
	defer c.rule.Unlock(cl)
	// nginx reports the stale answer of a background update as STALE; the
	// requests that come while it runs get UPDATING.
	if owner && c.set.BackgroundUpdate && updating && h.serveEntry(req, cl.K, cacheStale) {
		if bu, ok := req.w.(BackgroundUpdater); ok && bu.CanUpdateInBackground() {
			c.rule.Unlock(cl) // the request of its own takes it
			bu.UpdateInBackground()
			return
		}
		h.backgroundUpdate(req, cl)
		return
	}
	h.passesRange(req)
	stale, err := c.zone.Open(cl.K)
	if err != nil {
		req.st.CacheStatus = cacheMiss
		h.fetch(req, cl, nil)
		return
	}
	defer func() {
		if stale != nil {
			stale.Close()
		}
	}()
	req.st.CacheStatus = cacheExpired
	h.fetch(req, cl, &stale)
}

// staleWindows reports whether the expired entry of k is still within the
// stale-while-revalidate (updating) and stale-if-error (staleError) times
// it keeps (cacherule.StaleWindows).
func (h *Handler) staleWindows(req *request, k cache.Key) (updating, staleError bool) {
	e, err := req.cache.zone.Open(k)
	if err != nil {
		return false, false
	}
	defer e.Close()
	return cacherule.StaleWindows(e.Meta, h.now())
}

// passesRange applies proxy_cache_max_range_offset to a request the cache
// does not answer (cacherule.Rule.PassesRange) and reports its verdict:
// such a request goes upstream with the client's Range and conditional
// fields, without the cache's revalidation, and its response is not
// stored. An expired entry still answers for proxy_cache_use_stale, as in
// nginx.
func (h *Handler) passesRange(req *request) bool {
	if !req.cache.rule.PassesRange(req.in.Header) {
		return false
	}
	req.passRange, req.noStore = true, true
	return true
}

// fetch answers from the upstream. With stale, the expired entry (taken
// over, *stale set to nil, when it is served), it revalidates with
// proxy_cache_revalidate and answers with the entry per
// proxy_cache_use_stale. The response is stored when it may be.
func (h *Handler) fetch(req *request, cl *cacheLookup, stale **cache.Entry) {
	c := req.cache
	req.caching = true
	req.errKey = cl.K
	req.errKeep = req.st.CacheStatus != cacheBypass && !req.noStore && !req.passRange && cl.Look.Uses >= c.set.MinUses
	if stale != nil && c.set.Revalidate && !req.passRange {
		req.ims, req.inm = validators((*stale).Head)
	}
	if !req.noStore && !req.passRange && req.reset == nil && req.ctx.Done() != nil {
		h.keepForCache(req)
		defer h.logIgnoredReset(req)
	}
	h.prepare(req)
	err := h.roundTrip(req)
	if err != nil {
		if stale != nil && h.useStale(req, err, 0) {
			h.serveStale(req, stale, cacheStale)
			return
		}
		h.storeFailure(req, err)
		h.answerError(req, err)
		return
	}
	if rs := req.reset; rs != nil && rs.kept {
		if rs.action.Load() != nil {
			h.goneBeforeHead(req)
			return
		}
		rs.body.Store(true)
	}
	status := req.resp.head.Status
	if stale != nil && status == http.StatusNotModified && (req.ims != "" || req.inm != "") {
		h.revalidated(req, cl, stale)
		return
	}
	if stale != nil && h.useStale(req, nil, status) {
		discard(&req.resp, 64<<10)
		end := h.now()
		req.resp.closeAt(end)
		h.finishAttempt(req, end)
		h.serveStale(req, stale, cacheStale)
		return
	}
	h.startFill(req, cl)
	// Deferred: a response cut short panics out of respond
	// (http.ErrAbortHandler), and its fill must still be dropped.
	defer h.endFill(req)
	h.respond(req)
}

// serveLocked answers a request that waited on proxy_cache_lock from the
// entry another request stored (HIT). A client gone during the wait,
// which nginx does not watch, is answered all the same, as nginx 1.22.1
// does (logged 200 with the entry's bytes): its writes fail, not its
// reads of the entry.
func (h *Handler) serveLocked(req *request, cl *cacheLookup) bool {
	parent := req.ctx
	if parent.Err() != nil {
		req.ctx = context.WithoutCancel(parent)
	}
	if status := req.cache.zone.Error(cl.K); status != 0 {
		h.serveError(req, status)
		return true
	}
	if h.serveEntry(req, cl.K, cacheHit) {
		return true
	}
	req.ctx = parent // no entry: the request fetches, watched (keepForCache)
	return false
}

// keepForCache lets a response the cache is to store be fetched whatever
// the client does, as nginx's ngx_http_upstream_check_broken_connection
// does for a cacheable response (u->cacheable): a client that goes away
// gets the line without "so upstream connection is closed too"
// (errlog.ClientGoneKept, written when the request ends: logIgnoredReset)
// and the upstream request goes on. Recorded with nginx 1.22.1, a
// proxy_cache miss whose backend answers after 3 s or pauses in its body,
// and python clients that close or reset: gone before the response head,
// the request ends when the head comes, logged with the upstream's status
// and no body sent, nothing stored (goneBeforeHead); gone while the body
// streams, the body is read whole and stored (fillAfterClient), the
// request logged 200. A client already gone when the fetch starts (it
// waited on proxy_cache_lock, which nginx does not watch) gets "while
// connecting to upstream".
//
//go:noinline
func (h *Handler) keepForCache(req *request) {
	parent := req.ctx
	req.ctx = context.WithoutCancel(parent)
	rs := &streamReset{kept: true}
	if parent.Err() != nil {
		action := errlog.ActionConnect
		rs.action.Store(&action)
		rs.stop = func() bool { return false }
		req.reset = rs
		return
	}
	rs.stop = context.AfterFunc(parent, func() {
		action := errlog.ActionSend
		if rs.body.Load() {
			action = errlog.ActionBody
		}
		rs.action.Store(&action)
	})
	req.reset = rs
}

// goneBeforeHead ends a kept fetch (keepForCache) whose client went away
// before the response head came, as nginx does (its head cannot go out):
// the upstream connection closed, nothing stored, nothing sent, the
// request logged with the upstream's status.
//
//go:noinline
func (h *Handler) goneBeforeHead(req *request) {
	status := req.resp.head.Status
	end := h.now()
	req.resp.closeAt(end)
	h.finishAttempt(req, end)
	req.st.Status = status
}

// fillAfterClient reads the rest of a kept fetch's body (keepForCache)
// into the cache after a write to the client failed (werr), as nginx goes
// on reading a cacheable response for the cache when its client is gone.
// It returns werr when the fetch is not kept or not stored.
//
//go:noinline
func (h *Handler) fillAfterClient(req *request, werr error) error {
	if rs := req.reset; rs == nil || !rs.kept || req.fill == nil {
		return werr
	}
	return h.fillOnly(req)
}

// useStale reports whether proxy_cache_use_stale covers a failed exchange
// (err) or an upstream status; the entry's stale-if-error covers a failed
// exchange too (req.staleError).
func (h *Handler) useStale(req *request, err error, status int) bool {
	use := req.cache.set.UseStale
	if err != nil {
		f, ok := err.(*failure)
		return ok && (use&f.cond != 0 || req.staleError)
	}
	return use&config.StatusNextUpstream(status) != 0
}

// serveStale answers with the expired entry, taking it over.
func (h *Handler) serveStale(req *request, stale **cache.Entry, status string) {
	e := *stale
	*stale = nil
	req.st.CacheStatus = status
	h.serveOpen(req, e)
}

// revalidated handles a 304 to a revalidation: the entry is fresh again,
// with the expiry and stale times cacherule.Revalidate reads from the
// 304's fields and the stored response's, and the client gets the entry
// (REVALIDATED).
func (h *Handler) revalidated(req *request, cl *cacheLookup, stale **cache.Entry) {
	now := h.now()
	var head h1.Response
	_, err := h1.ParseResponse((*stale).Head, &head, []byte(http.MethodGet), storedHeadLimits((*stale).Head))
	// The 304's fields are read before the exchange ends, which lets them go.
	expires, st, ok := cacherule.Revalidate(req.cache.set, headFields(&req.resp.head), headFields(&head), head.Status, now)
	head.Reset()
	end := h.now()
	req.resp.closeAt(end)
	h.finishAttempt(req, end)
	if ok && err == nil {
		if err := req.cache.zone.Refresh(cl.K, expires, st); err != nil {
			req.log.LogRequest(errlog.Crit, req.logRequest(""), "cannot update cache entry: "+err.Error())
		}
	}
	h.serveStale(req, stale, cacheRevalidated)
}

// storedHeadLimits bounds the parse of a stored head by its own size: it
// passed the proxy_buffer_size of the location that stored it, which may
// have been larger than today's or than the default line limits.
func storedHeadLimits(head []byte) h1.Limits { return headLimits(len(head)) }

// validators returns a revalidation's If-Modified-Since and If-None-Match
// from a stored head (cacherule.Validators: nginx keeps them for a 200 or
// 206 alone).
func validators(head []byte) (ims, inm string) {
	var r h1.Response
	if _, err := h1.ParseResponse(head, &r, []byte(http.MethodGet), storedHeadLimits(head)); err != nil {
		return "", ""
	}
	defer r.Reset()
	return cacherule.Validators(r.Status, string(r.Headers.Get("Last-Modified")), string(r.Headers.Get("ETag")))
}

// serveError answers a request whose key holds an intercepted error's
// status (storeError) as nginx 1.22.1 answers it from the cache: a HIT
// that does not reach the upstream, finalized with the status, so the
// location's error_page for it answers (the upstream's head and body were
// not kept: $upstream_status and $upstream_http_* are empty; recorded).
//
//go:noinline
func (h *Handler) serveError(req *request, status int) {
	req.st.CacheStatus = cacheHit
	fail(req.w, status, h.server)
}

// storeError keeps the status of an upstream error that
// proxy_intercept_errors answers with an error page in the cache, as nginx
// 1.22.1's ngx_http_upstream_intercept_errors does when the response is
// cacheable (req.errKeep, and fields that allow it), for the time its
// fields give, else the one proxy_cache_valid has for the status; without
// a time nothing is kept, nor for a response from the cache (a stale
// entry). proxy_no_cache, which nginx tests later, does
// not count, and neither does buffering (recorded with nginx 1.22.1: an
// error fetched with proxy_no_cache true was a HIT next; Cache-Control
// no-cache or a Set-Cookie kept it out; max-age=2 kept it 2 s, after
// which the key was a MISS).
//
//go:noinline
func (h *Handler) storeError(req *request, status int) {
	if req.cache == nil || !req.caching || !req.errKeep || req.resp.entry != nil {
		return
	}
	if expires, ok := req.cache.expiry(&req.resp.head, h.now()); ok {
		req.cache.zone.StoreError(req.errKey, status, expires)
	}
}

// storeFailure keeps the 502 or 504 of a failed exchange (the upstream
// refused, timed out or sent an invalid head, and no other server was left)
// in the cache for the time proxy_cache_valid has for it, as nginx 1.22.1's
// ngx_http_upstream_finalize_request does for a cacheable request
// (req.errKeep); the next requests for the key are a HIT answered with the
// status, and its error_page, without the upstream (recorded: "location /a/
// { proxy_cache_valid any 1m; }" with a refused upstream answered 502 MISS,
// then 502 HIT; "proxy_cache_valid 200 1m" kept nothing; with
// "error_page 502 = @fb" the HIT went to @fb).
//
//go:noinline
func (h *Handler) storeFailure(req *request, err error) {
	var f *failure
	if !req.errKeep || !errors.As(err, &f) || f.status != http.StatusBadGateway && f.status != http.StatusGatewayTimeout {
		return
	}
	if d := cacherule.ValidFor(req.cache.set.Valid, f.status); d > 0 {
		req.cache.zone.StoreError(req.errKey, f.status, h.now().Add(d))
	}
}

// serveEntry answers from the stored entry of k, reporting status; false
// when the entry could not be opened (the caller goes on to the upstream).
func (h *Handler) serveEntry(req *request, k cache.Key, status string) bool {
	e, err := req.cache.zone.Open(k)
	if err != nil {
		return false
	}
	req.st.CacheStatus = status
	h.serveOpen(req, e)
	return true
}

// serveOpen passes the open entry e to the client as the proxy passes an
// upstream response: the same header rules apply (proxy_hide_header,
// proxy_redirect, X-Accel-Redirect...). It closes e.
func (h *Handler) serveOpen(req *request, e *cache.Entry) {
	resp := &req.resp
	if _, err := h1.ParseResponse(e.Head, &resp.head, []byte(http.MethodGet), storedHeadLimits(e.Head)); err != nil {
		e.Close()
		req.log.LogRequest(errlog.Crit, req.logRequest(""), "cache file has a broken header: "+err.Error())
		fail(req.w, http.StatusInternalServerError, h.server)
		return
	}
	br := entryReaders.Get().(*bufio.Reader)
	br.Reset(e.Body)
	resp.exchangeState = exchangeState{entry: e, entryReader: br, ctx: req.ctx}
	if err := resp.body.Reset(br, resp.head.Framing, resp.head.ContentLength, h1.BodyLimits{}); err != nil {
		resp.closeAt(time.Time{})
		fail(req.w, http.StatusInternalServerError, h.server)
		return
	}
	req.cur = attemptState{headAt: h.now()}
	h.respond(req)
}

// entryReaders lend the buffered readers of cache entries' bodies: small, as
// the body copy reads with its own 32 KiB buffer, which bufio passes through.
var entryReaders = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, 4<<10) }}

// startFill begins storing the response in req.resp when it may be stored:
// a method the cache takes, no proxy_no_cache, proxy_cache_min_uses met, a
// response nginx would buffer (proxy_buffering, X-Accel-Buffering), and
// fields and status that allow it (expiry).
func (h *Handler) startFill(req *request, cl *cacheLookup) {
	c := req.cache
	head := &req.resp.head
	if req.noStore || req.resp.upgraded || cl.Look.Uses < c.set.MinUses {
		return
	}
	if c.rule.HasNoCache() {
		exposeUpstreamFields(req.st, head)
		if c.rule.NoCache(req.st) {
			return
		}
	}
	if !cacherule.Buffered(headFields(head), h.set.ProxyBuffering, h.set.IgnoreAccelBuffering) {
		return // nginx stores no unbuffered response
	}
	now := h.now()
	expires, ok := c.expiry(head, now)
	if !ok {
		return
	}
	k, m := c.rule.FillTarget(cl, cacherule.Vary(headFields(head)), req.st)
	m.Stale = cacherule.FieldsStale(c.set, headFields(head), now)
	fl, err := c.zone.Begin(k, m)
	if err != nil {
		req.log.LogRequest(errlog.Crit, req.logRequest(""), "cannot create cache file: "+err.Error())
		return
	}
	req.fill, req.fillExpires, req.fillAt = fl, expires, now
	req.fillSized = head.Framing == h1.LengthBody
	req.fillHead = storedHead(req.fillHead[:0], head)
}

// exposeUpstreamFields makes head's fields the $upstream_http_* variables
// before proxy_no_cache is tested: nginx tests it once the response head is
// read (ngx_http_upstream_send_response), so "proxy_no_cache
// $upstream_http_set_cookie;" keeps a response with a Set-Cookie out of the
// cache (recorded with nginx 1.22.1: MISS, then MISS again). copyHeader
// sets them again, from the same head, as the response goes out.
func exposeUpstreamFields(st *vars.State, head *h1.Response) {
	text := string(head.Headers.AppendText(nil))
	fields := st.UpstreamFields()
	off := 0
	for _, f := range head.Headers {
		var name, value string
		name, _, value, off = h1.FieldText(text, off, f)
		fields = append(fields, vars.Field{Name: name, Value: value})
	}
	st.SetUpstreamFields(fields)
}

// endFill commits the fill when the whole body went through, else drops it.
func (h *Handler) endFill(req *request) {
	fl := req.fill
	if fl == nil {
		return
	}
	req.fill = nil
	if !req.fillDone {
		fl.Abort()
		return
	}
	head := req.fillHead
	// A body the upstream sent without a length (chunked, or up to the
	// close) is stored without one, as nginx keeps the upstream's head:
	// served from the cache it goes out chunked again, and is not cut in
	// ranges, which need the length.
	if req.fillBody && req.fillSized {
		head = append(head, "Content-Length: "...)
		head = strconv.AppendInt(head, fl.Len(), 10)
		head = append(head, "\r\n"...)
	}
	head = append(head, "\r\n"...)
	req.fillHead = head[:0]
	if err := fl.Commit(head, req.fillExpires, req.fillAt); err != nil {
		req.log.LogRequest(errlog.Crit, req.logRequest(""), "cannot store cache file: "+err.Error())
	}
}

// storedHead appends the head an entry keeps: the status line and the
// upstream's fields without hop-by-hop ones and without the framing, which
// Content-Length gives once the body is stored.
func storedHead(b []byte, head *h1.Response) []byte {
	b = append(b, "HTTP/1.1 "...)
	b = strconv.AppendInt(b, int64(head.Status), 10)
	b = append(b, ' ')
	b = append(b, head.Reason...)
	b = append(b, "\r\n"...)
	for _, f := range head.Headers {
		if head.Headers.HopByHop(f.Name) || h1.EqualFold(f.Name, "Content-Length") || h1.EqualFold(f.Name, "Trailer") {
			continue
		}
		b = append(b, f.Name...)
		b = append(b, ": "...)
		b = append(b, f.Value...)
		b = append(b, "\r\n"...)
	}
	return b
}

// cacheDropped are the client's fields that do not go upstream when the
// response may be cached, as nginx's proxy cache headers clear them: the
// cache answers conditional and range requests itself, and revalidates with
// its own validators.
var cacheDropped = []string{"If-Modified-Since", "If-Unmodified-Since", "If-None-Match", "If-Match", "Range", "If-Range"}

// appendCacheFields adds the revalidation fields of a caching request.
func (req *request) appendCacheFields(b []byte) []byte {
	if req.ims != "" {
		b = append(b, "If-Modified-Since: "...)
		b = append(b, req.ims...)
		b = append(b, "\r\n"...)
	}
	if req.inm != "" {
		b = append(b, "If-None-Match: "...)
		b = append(b, req.inm...)
		b = append(b, "\r\n"...)
	}
	return b
}

// fillWriter writes the body to the client (w: the ResponseWriter, or the
// range the range filter cut) and to the cache fill.
type fillWriter struct {
	w  io.Writer
	fl *cache.Fill
}

func (f fillWriter) Write(p []byte) (int, error) {
	_, _ = f.fl.Write(p) // a failed fill is dropped at Commit; the client's write goes on
	return f.w.Write(p)
}

// fillOnly reads the body into the cache fill without passing it on: the
// response to a HEAD request sent upstream as GET (proxy_cache_convert_head).
func (h *Handler) fillOnly(req *request) error {
	bp := h.buffers.Get()
	defer h.buffers.Put(bp)
	for {
		n, err := req.resp.Read(*bp)
		req.cur.n += int64(n)
		_, _ = req.fill.Write((*bp)[:n])
		if err != nil {
			if err == io.EOF {
				return nil
			}
			h.bodyReadFailed(req, err)
			return err
		}
	}
}

// answerConditional applies the not-modified filter to a 200 the cache serves
// or that is cacheable (stored or not), as nginx does: a 304 keeps the fields
// but Content-Type, Content-Length, Accept-Ranges and Content-Encoding, and
// has no body (the body still goes to the cache); a 412 is answered with
// fulcrum's page. It reports whether it answered.
func (h *Handler) answerConditional(req *request) bool {
	if req.cache.conditional == nil {
		return false
	}
	head := &req.resp.head
	var mod time.Time
	if v := head.Headers.Get("Last-Modified"); v != nil {
		mod, _ = http.ParseTime(string(v))
	}
	code := req.cache.conditional(req.in.Header, mod, string(head.Headers.Get("ETag")))
	switch code {
	case http.StatusNotModified:
		cacherule.NotModified(req.w)
	case http.StatusPreconditionFailed:
		clear(req.w.Header())
		fail(req.w, http.StatusPreconditionFailed, h.server)
	default:
		return false
	}
	if req.fill != nil {
		req.fillBody = head.Framing != h1.NoBody
		req.fillDone = !req.fillBody
		if req.fillBody && code == http.StatusNotModified {
			req.fillDone = h.fillOnly(req) == nil
		}
	}
	return true
}

// BackgroundUpdater is a ResponseWriter whose request hands the refresh of
// proxy_cache_background_update to a request of its own, as nginx runs it
// in a background subrequest that holds nothing back: the daemon's does for
// a subrequest whose body goes into a page (an SSI include), so that the
// page goes on with the stale entry at once. CanUpdateInBackground reports
// whether it does; UpdateInBackground then starts that request, which
// looks the entry up again and refreshes it (the caller has let go of the
// entry's lock first). A writer that does not is refreshed in place
// (backgroundUpdate).
type BackgroundUpdater interface {
	CanUpdateInBackground() bool
	UpdateInBackground()
}

// backgroundUpdate is proxy_cache_background_update: once the client has the
// stale entry (flushed), the request refreshes it from the upstream with a
// writer that drops the response, as nginx's background subrequest does; the
// client's connection waits for it before its next request, as in nginx.
func (h *Handler) backgroundUpdate(req *request, cl *cacheLookup) {
	// The update answers a Discard (Background flushes the client's
	// writer and hands it back): with its caps, not the client writer's,
	// until that writer is back. The defers run in reverse: the client's
	// writer and caps go back first, then Background restores st.
	w := req.w
	defer cacherule.Background(&w, req.st)()
	defer req.setWriter(w)()
	stale, err := req.cache.zone.Open(cl.K)
	if err != nil {
		h.fetch(req, cl, nil)
		return
	}
	h.fetch(req, cl, &stale)
	if stale != nil {
		stale.Close()
	}
}

// rangeCheck decides whether nginx's range filter may cut the response in
// req.resp, once its Accept-Ranges field is seen (copyHeader): a response
// from the cache may (nginx's r->cached), and so may one from the upstream
// that the cache could take (u->cacheable when the fields are read): the
// request went through the cache (not one that
// proxy_cache_max_range_offset or proxy_cache_min_uses passed on with its
// Range), and the response's fields do not forbid storing it. Neither
// proxy_no_cache nor proxy_cache_valid is asked: nginx judges them later.
// The status is not asked either: nginx's copy of the field
// (ngx_http_upstream_copy_allow_ranges) drops it from any response
// u->cacheable covers, and its range filter writes its own on a 200 only,
// so nginx 1.22.1 answered a 206, 404, 416 or 500 passed on from the
// upstream (a MISS, a BYPASS, a proxy_no_cache one) without the
// upstream's Accept-Ranges, and kept it where the location does not cache.
func (h *Handler) rangeCheck(req *request) {
	req.rangeable = req.resp.entry != nil || h.cacheable(req)
}

// cacheable reports whether the upstream's response in req.resp is
// cacheable as nginx's u->cacheable stands once its fields are read: the
// request went through the cache (not one that
// proxy_cache_max_range_offset, proxy_cache_min_uses or a
// proxy_cache_lock_timeout passed on with the client's Range and
// conditional fields) and the fields do not forbid storing it. Neither
// proxy_no_cache, proxy_cache_valid nor buffering is asked: nginx judges
// them later, and such a response, not stored, still goes through the
// range filter and the not-modified filter (r->disable_not_modified is
// !u->cacheable).
func (h *Handler) cacheable(req *request) bool {
	if !req.caching || req.passRange {
		return false
	}
	_, ok := req.cache.fieldsExpiry(&req.resp.head, h.now())
	return ok
}

// cutRanges runs the range filter (Options.Ranges) on a 200 that allows
// ranges and returns the status to send; false when it answered a 416
// itself. A response without a Content-Length (chunked, or up to the
// close) is sent whole, without Accept-Ranges, as nginx's filter needs the
// length; the answer to a HEAD has the length its field gives. A response
// from the upstream gets one range at most (nginx's r->single_range),
// which is cut out of the body as it streams.
func (h *Handler) cutRanges(req *request) (int, bool) {
	head := &req.resp.head
	sized := head.Framing == h1.LengthBody || head.Framing == h1.NoBody && head.ContentLength >= 0
	if !sized {
		return http.StatusOK, true
	}
	q := cacherule.Query(req.w.Header(), head.ContentLength, req.resp.entry == nil)
	cut, status := h.ranges(req.w, req.in, q)
	switch status {
	case http.StatusPartialContent:
		req.cut = cut
	case http.StatusRequestedRangeNotSatisfiable:
		return status, false
	}
	return status, true
}

// copyEntryCut sends the cut of a response from the cache: the range, or
// the parts of a multipart/byteranges body, read where they lie in the
// entry's body.
func (h *Handler) copyEntryCut(req *request) error {
	resp := &req.resp
	err := req.cut.WriteParts(onlyWriter{req.w}, resp.entry.Body)
	resp.done = err == nil
	return err
}

// onlyWriter hides a writer's ReadFrom from io.Copy, which then copies
// through its own buffer (a section of a file would otherwise be read into
// the ResponseWriter's small one).
type onlyWriter struct{ w io.Writer }

func (o onlyWriter) Write(p []byte) (int, error) { return o.w.Write(p) }

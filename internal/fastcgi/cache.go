package fastcgi

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"iter"
	"net/http"
	"strconv"
	"strings"
	"time"

	"fulcrum/internal/byterange"
	"fulcrum/internal/cache"
	"fulcrum/internal/cacherule"
	"fulcrum/internal/config"
	"fulcrum/internal/errlog"
	"fulcrum/internal/upstream"
	"fulcrum/internal/vars"
)

// cacheDropped are the parameters of the client's fields that do not go to
// the application when the response may be cached, as nginx's
// ngx_http_fastcgi_cache_headers (and scgi's, uwsgi's) clear them: the cache
// answers for every client, and revalidates with its own validators.
var cacheDropped = []string{"HTTP_IF_MODIFIED_SINCE", "HTTP_IF_UNMODIFIED_SINCE", "HTTP_IF_NONE_MATCH",
	"HTTP_IF_MATCH", "HTTP_RANGE", "HTTP_IF_RANGE"}

// compileCache compiles the location's *_cache (set; nil when it does not
// cache) for its zone, or for each of the module's zones when the
// directive has variables; prefix ("fastcgi", ...) words the errors.
func compileCache(o Options, set *config.CacheSettings, prefix string) (*cacherule.Choice[*cacherule.Rule], error) {
	rule, err := cacherule.Compile(o.Compiler, set, o.CacheZone, prefix)
	if rule == nil || err != nil {
		return nil, err
	}
	return cacherule.Choose(o.Compiler, set, o.CacheZone, o.CacheZones, rule.With)
}

// pickCache sets req.cache to the request's cache: the location's zone,
// or the one the *_cache value names (nil for an empty value or "off":
// the request goes to the application as in a location without a cache).
// A value that names no zone is answered as nginx 1.22.1 does (recorded
// with proxy_cache, whose code fastcgi_cache shares): 500, logged
// `cache "NAME" not found`; pickCache then returns false.
func (h *Handler) pickCache(req *request) bool {
	c, ok, err := h.cache.Pick(req.st)
	if err != nil {
		req.log.LogRequest(errlog.Error, req.logRequest(), err.Error())
		fail(req.w, http.StatusInternalServerError)
		return false
	}
	if ok {
		req.cache = c
	}
	return true
}

// serveCached answers a request of a caching location, as the proxy's
// cache does (nginx's upstream module is the same for every protocol):
// from a fresh entry (HIT), else from the application (MISS, EXPIRED,
// BYPASS), storing the response when it may be stored; an expired entry
// answers while another request updates it (fastcgi_cache_use_stale
// updating, UPDATING), when the application fails (STALE), or when it says
// the entry is unchanged (REVALIDATED). It sets $upstream_cache_status.
func (h *Handler) serveCached(req *request) {
	c, st := req.cache, req.st
	cl, bypass := c.Find(st)
	req.cl, req.cacheParams = &cl, true
	if bypass {
		st.CacheStatus = cacherule.Bypass
		h.serve(req)
		return
	}
	if cl.Look.Error != 0 {
		h.serveError(req, cl.Look.Error)
		return
	}
	if cl.Look.Fresh && h.serveEntry(req, cacherule.Hit) {
		return
	}
	if cl.Look.Exists {
		h.serveExpired(req)
		return
	}
	st.CacheStatus = cacherule.Miss
	if h.passesRange(req) {
		// Not stored, so no lock either: nginx takes it first, and the
		// requests for the entry would wait on a response that never
		// fills it.
		h.serve(req)
		return
	}
	if c.Set.Lock {
		// nginx does not watch the client while it waits on the lock:
		// a client gone meanwhile is answered from the entry, or its
		// request fetches (fetchKept), as the proxy's.
		switch c.AwaitLock(context.WithoutCancel(req.ctx), &cl, func() bool { return h.serveLocked(req) }) {
		case cacherule.Filled:
			return
		case cacherule.TimedOut:
			scarce(req) // as nginx: the response of a request that waited in vain is not stored
		case cacherule.Canceled:
			st.Status = 499
			return
		}
	}
	defer c.Unlock(&cl)
	// Short of fastcgi_cache_min_uses, nginx's NGX_HTTP_CACHE_SCARCE
	// clears u->cacheable: the request goes with the client's Range and
	// conditional fields (the parameters of an uncached request), and the
	// application's Accept-Ranges is passed on (nginx 1.22.1).
	if cl.Look.Uses < c.Set.MinUses {
		scarce(req)
	}
	h.fetchKept(req, h.serve)
}

// scarce is nginx's NGX_HTTP_CACHE_SCARCE, for a request short of
// fastcgi_cache_min_uses or one that waited for fastcgi_cache_lock in
// vain: it clears u->cacheable, so the application gets the client's Range
// and conditional fields, the response is not stored, and nginx's filters
// leave it as it comes (nginx 1.22.1 passed If-None-Match and Range on in
// both cases).
func scarce(req *request) {
	req.passRange, req.cacheParams, req.noStore = true, false, true
}

// serveExpired answers a request whose entry is stored but expired: from
// the stale entry while another request updates it (use_stale updating), in
// the background of a stale answer (fastcgi_cache_background_update), else
// from the application with the stale entry kept for use_stale and
// fastcgi_cache_revalidate (EXPIRED).
func (h *Handler) serveExpired(req *request) {
	c, cl := req.cache, req.cl
	updating, staleError := h.staleWindows(req, cl.K)
	updating = updating || c.Set.StaleUpdating
	req.staleError = staleError
	owner, _ := c.Lock(cl)
	if !owner && updating && h.serveEntry(req, cacherule.Updating) {
		return
	}
	defer c.Unlock(cl)
	// nginx reports the stale answer of a background update as STALE; the
	// requests that come while it runs get UPDATING.
	if owner && c.Set.BackgroundUpdate && updating && h.serveEntry(req, cacherule.Stale) {
		if bu, ok := req.w.(BackgroundUpdater); ok && bu.CanUpdateInBackground() {
			c.Unlock(cl) // the request of its own takes it
			bu.UpdateInBackground()
			return
		}
		h.backgroundUpdate(req)
		return
	}
	h.passesRange(req)
	h.fetchKept(req, h.serveWithStale)
}

// staleWindows reports whether the expired entry of k is still within the
// stale-while-revalidate (updating) and stale-if-error (staleError) times
// it keeps (cacherule.StaleWindows): the first stands for
// fastcgi_cache_use_stale updating, the second for use_stale on a failed
// exchange, as in nginx.
func (h *Handler) staleWindows(req *request, k cache.Key) (updating, staleError bool) {
	e, err := req.cache.Zone.Open(k)
	if err != nil {
		return false, false
	}
	defer e.Close()
	return cacherule.StaleWindows(e.Meta, h.now())
}

// passesRange applies *_cache_max_range_offset to a request the cache does
// not answer (cacherule.Rule.PassesRange) and reports its verdict: such a
// request sends the client's Range and conditional fields, without the
// cache's revalidation, and its response is not stored. An expired entry
// still answers for *_cache_use_stale, as in nginx.
func (h *Handler) passesRange(req *request) bool {
	if !req.cache.PassesRange(req.r.Header) {
		return false
	}
	req.passRange, req.cacheParams, req.noStore = true, false, true
	return true
}

// serveWithStale goes to the application with the expired entry open.
func (h *Handler) serveWithStale(req *request) {
	stale, err := req.cache.Zone.Open(req.cl.K)
	if err != nil {
		req.st.CacheStatus = cacherule.Miss
		h.serve(req)
		return
	}
	req.stale = stale
	defer func() {
		if req.stale != nil {
			req.stale.Close()
			req.stale = nil
		}
	}()
	req.st.CacheStatus = cacherule.Expired
	if req.cache.Set.Revalidate && !req.passRange {
		if hd, err := storedHead(stale.Head); err == nil {
			req.ims, req.inm = cacherule.Validators(hd.status, hd.get("Last-Modified"), hd.get("ETag"))
		}
	}
	h.serve(req)
}

// BackgroundUpdater is a ResponseWriter whose request hands the refresh of
// *_cache_background_update to a request of its own, as the proxy's
// (proxy.BackgroundUpdater): the daemon's does for an SSI include, whose
// page goes on with the stale entry at once. A writer that does not is
// refreshed in place (backgroundUpdate).
type BackgroundUpdater interface {
	CanUpdateInBackground() bool
	UpdateInBackground()
}

// backgroundUpdate is fastcgi_cache_background_update: once the client has
// the stale entry (flushed), the request refreshes it from the application
// with a writer that drops the response, as nginx's background subrequest
// does.
func (h *Handler) backgroundUpdate(req *request) {
	defer cacherule.Background(&req.w, req.st)()
	h.serveWithStale(req)
}

// serveLocked answers a request that waited on *_cache_lock from what the
// request that held it stored: an intercepted error's status or an entry
// (HIT); false when there is neither.
func (h *Handler) serveLocked(req *request) bool {
	if status := req.cache.Zone.Error(req.cl.K); status != 0 {
		h.serveError(req, status)
		return true
	}
	return h.serveEntry(req, cacherule.Hit)
}

// serveError answers a request whose key holds an intercepted error's
// status (storeError) as the proxy's cache does and nginx's upstream
// module for every protocol: a HIT that does not reach the application,
// answered with the status (the location's error_page for it).
func (h *Handler) serveError(req *request, status int) {
	req.st.CacheStatus = cacherule.Hit
	fail(req.w, status)
}

// storeError keeps the status of an application error that
// *_intercept_errors answers with an error page in the cache, as the
// proxy's cache does (nginx 1.22.1's ngx_http_upstream_intercept_errors,
// shared by every upstream module): when the fields allow storing it, for
// the time they give or *_cache_valid has for the status; *_no_cache and
// buffering do not count.
func (h *Handler) storeError(req *request, hd *head) {
	if expires, ok := cacherule.Expiry(req.cache.Set, hd.all(), hd.status, h.now()); ok {
		req.cache.Zone.StoreError(req.cl.K, hd.status, expires)
	}
}

// keepsError reports whether an error of a caching request's exchange is
// kept in the cache (storeError, storeFailure): the request went through
// the cache's look-up (not a bypass) and may store its response (not short
// of *_cache_min_uses, after a lock timeout or past
// *_cache_max_range_offset), as nginx's u->cacheable.
func keepsError(req *request) bool {
	return req.st.CacheStatus != cacherule.Bypass && !req.noStore && !req.passRange &&
		req.cl.Look.Uses >= req.cache.Set.MinUses
}

// storeFailure keeps the 502 or 504 of a failed exchange in the cache for
// the time *_cache_valid has for it, as the proxy's (nginx's
// ngx_http_upstream_finalize_request, common to every upstream module).
func (h *Handler) storeFailure(req *request, status int) {
	if d := cacherule.ValidFor(req.cache.Set.Valid, status); d > 0 {
		req.cache.Zone.StoreError(req.cl.K, status, h.now().Add(d))
	}
}

// serveEntry answers from the stored entry of the request's key, reporting
// status; false when it could not be opened or read (the caller goes on to
// the application).
func (h *Handler) serveEntry(req *request, status string) bool {
	e, err := req.cache.Zone.Open(req.cl.K)
	if err != nil {
		return false
	}
	req.stale = e
	return h.serveStale(req, status)
}

// serveStale answers with req.stale, the open entry, and closes it: its
// stored head passes through the same rules as a response from the
// application (fastcgi_hide_header, X-Accel-Redirect...), as nginx reads a
// cached response's head again. False when the head does not read (logged).
func (h *Handler) serveStale(req *request, status string) bool {
	e := req.stale
	req.stale = nil
	defer e.Close()
	hd, err := storedHead(e.Head)
	if err != nil {
		req.log.LogRequest(errlog.Crit, req.logRequest(), "cache file has a broken header: "+err.Error())
		return false
	}
	req.st.CacheStatus = status
	req.rangeable, req.acceptRanges = h.ranges != nil, h.forceRanges
	if !h.passHead(req, hd) || h.answerConditional(req, hd) || !h.cutRanges(req, hd, false) {
		return true
	}
	h.writeHead(req, hd)
	if req.cut != nil {
		if req.r.Method != http.MethodHead {
			_ = req.cut.WriteParts(onlyWriter{req.w}, e.Body) // a client that went away ends it
		}
		return true
	}
	buf := make([]byte, 32<<10)
	_, _ = io.CopyBuffer(onlyWriter{req.w}, e.Body, buf) // a client that went away ends it
	return true
}

// onlyWriter hides the ReadFrom of a ResponseWriter from io.CopyBuffer, so
// that the copy uses its buffer.
type onlyWriter struct{ w io.Writer }

func (o onlyWriter) Write(p []byte) (int, error) { return o.w.Write(p) }

// storedHead reads an entry's head: the CGI head as stored by startFill.
func storedHead(b []byte) (*head, error) {
	return readHead(bufio.NewReaderSize(bytes.NewReader(b), len(b)+1), len(b), nil)
}

// get is the value of the head's first field name; empty when none.
func (hd *head) get(name string) string {
	for _, f := range hd.fields {
		if equalFold(f.name, name) {
			return f.value
		}
	}
	return ""
}

// all yields the head's fields.
func (hd *head) all() iter.Seq2[string, string] {
	return func(yield func(string, string) bool) {
		for _, f := range hd.fields {
			if !yield(f.name, f.value) {
				return
			}
		}
	}
}

// staleAnswer handles, for a request with an expired entry, a head that
// the entry answers instead: a 304 to a revalidation (the entry is fresh
// again, REVALIDATED), or a status fastcgi_cache_use_stale lists (STALE).
// It ends the attempt and reports true when it answered.
func (h *Handler) staleAnswer(req *request, x *exchange, a *vars.Attempt, start, headAt time.Time) bool {
	status := x.head.status
	cond := config.StatusNextUpstream(status)
	revalidated := status == http.StatusNotModified && (req.ims != "" || req.inm != "")
	if !revalidated && (cond == 0 || req.cache.Set.UseStale&cond == 0) {
		return false
	}
	x.conn.Close()
	a.ResponseTime = headAt.Sub(start)
	a.BytesReceived, a.BytesSent = x.bytesIn(), x.out
	outcome := upstream.Success
	if cond != 0 && h.set.NextUpstream&cond != 0 && cond != config.NextHTTP403 && cond != config.NextHTTP404 {
		outcome = upstream.Failure
	}
	h.release(req, req.at.Server(), a, status, outcome, headAt, errlog.ActionHeader)
	if revalidated {
		h.refresh(req, x.head, headAt)
		h.serveStale(req, cacherule.Revalidated)
		return true
	}
	h.serveStale(req, cacherule.Stale)
	return true
}

// refresh makes the expired entry fresh again after a 304, with the expiry
// and stale times cacherule.Revalidate reads from the 304's fields and the
// stored response's, as nginx reads them.
func (h *Handler) refresh(req *request, notModified *head, now time.Time) {
	hd, err := storedHead(req.stale.Head)
	if err != nil {
		return
	}
	expires, st, ok := cacherule.Revalidate(req.cache.Set, notModified.all(), hd.all(), hd.status, now)
	if !ok {
		return
	}
	if err := req.cache.Zone.Refresh(req.cl.K, expires, st); err != nil {
		req.log.LogRequest(errlog.Crit, req.logRequest(), "cannot update cache file: "+err.Error())
	}
}

// startFill begins storing the response whose head is hd when it may be
// stored: no _no_cache, _min_uses met, not a request that waited for a lock
// in vain, a response nginx reads buffered (fastcgi_buffering, turned off
// or on by X-Accel-Buffering unless fastcgi_ignore_headers lists it: nginx
// stores no unbuffered response), and fields and status that allow it
// (cacherule.Expiry).
func (h *Handler) startFill(req *request, hd *head) {
	c, cl := req.cache, req.cl
	if req.noStore || cl.Look.Uses < c.Set.MinUses || c.NoCache(req.st) {
		return
	}
	if !req.buffered {
		return
	}
	now := h.now()
	expires, ok := cacherule.Expiry(c.Set, hd.all(), hd.status, now)
	if !ok {
		return
	}
	k, m := c.FillTarget(cl, cacherule.Vary(hd.all()), req.st)
	m.Stale = cacherule.FieldsStale(c.Set, hd.all(), now)
	fl, err := c.Zone.Begin(k, m)
	if err != nil {
		req.log.LogRequest(errlog.Crit, req.logRequest(), "cannot create cache file: "+err.Error())
		return
	}
	req.fill, req.expires, req.fillAt = fl, expires, now
	req.fillHead = appendStoredHead(req.fillHead[:0], hd)
}

// respondCaching passes a response of a caching location on, storing it
// when it may be; a cacheable response (cacheCheck), stored or not,
// answers a conditional request with 304 or 412 (nginx's not-modified
// filter, which it runs on cacheable responses only), its body then going
// to the cache alone (or nowhere: it is read to its end).
func (h *Handler) respondCaching(req *request, x *exchange) (int64, bool) {
	h.startFill(req, x.head)
	if (req.fill != nil || req.cacheable) && h.answerConditional(req, x.head) {
		w := req.w
		req.w = &cacherule.Discard{}
		n, ok := h.copyBody(req, x)
		req.w = w
		if req.fill != nil {
			h.endFill(req, ok && !x.short)
		}
		return n, ok
	}
	if !h.cutRanges(req, x.head, true) {
		if req.fill != nil {
			h.endFill(req, false) // nginx does not store a response it answered 416 for
		}
		return 0, false
	}
	h.writeHead(req, x.head)
	if req.cut != nil {
		w := req.w // one range: the response is read in order
		req.w = cutWriter{ResponseWriter: w, Writer: req.cut.Stream(w)}
		defer func() { req.w = w }()
	}
	n, ok := h.copyBody(req, x)
	if req.fill != nil {
		h.endFill(req, ok && !x.short)
	}
	return n, ok
}

// cacheCheck decides whether the application's response hd is cacheable
// as nginx's u->cacheable stands once the fields are read (req.cacheable):
// the request went through the cache (not one sent with the client's Range
// and conditional fields: passRange) and the fields do not forbid storing
// it. *_no_cache, *_cache_valid and buffering are judged later in nginx and
// do not count: such a response is not stored, but nginx's not-modified
// filter (r->disable_not_modified is !u->cacheable) and range filter
// (rangeCheck) still answer for it.
func (h *Handler) cacheCheck(req *request, hd *head) {
	if req.passRange {
		return
	}
	_, req.cacheable = cacherule.FieldsExpiry(req.cache.Set, hd.all(), h.now())
}

// rangeCheck decides whether the application's Accept-Ranges is dropped
// for the range filter's own (passHead): for a response that is cacheable
// (cacheCheck), whatever its status, as nginx drops the field from any
// response u->cacheable covers (a 404 or a 416 too); the filter itself
// cuts a 200 only (cutRanges).
func (h *Handler) rangeCheck(req *request) {
	req.rangeable = req.cacheable
}

// cutRanges runs the range filter (Options.Ranges) on a 200 that allows
// ranges; false when it answered a 416 itself (the response is then
// dropped). A head without a Content-Length is sent whole, without
// Accept-Ranges: nginx's filter needs the length. A response read from the
// application (single) gets one range at most (nginx's r->single_range);
// writeHead then sends the filter's 206.
func (h *Handler) cutRanges(req *request, hd *head, single bool) bool {
	if !req.acceptRanges || hd.status != http.StatusOK {
		return true
	}
	size, err := strconv.ParseInt(strings.TrimSpace(hd.get("Content-Length")), 10, 64)
	if err != nil || size < 0 {
		return true
	}
	q := cacherule.Query(req.w.Header(), size, single)
	cut, status := h.ranges(req.w, req.r, q)
	switch status {
	case http.StatusPartialContent:
		req.cut = cut
	case http.StatusRequestedRangeNotSatisfiable:
		return false
	}
	return true
}

// cutWriter is the ResponseWriter of a body the range filter cuts as it
// streams (byterange.Writer).
type cutWriter struct {
	http.ResponseWriter
	*byterange.Writer
}

func (c cutWriter) Write(p []byte) (int, error) { return c.Writer.Write(p) }

// Flush flushes the ResponseWriter when it can.
func (c cutWriter) Flush() {
	if f, ok := c.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// answerConditional applies the not-modified filter (Options.Conditional)
// to a 200 the cache serves or stores: a 304 keeps the fields but
// Content-Type, Content-Length, Accept-Ranges and Content-Encoding; a 412
// is answered as an error. It reports whether it answered.
func (h *Handler) answerConditional(req *request, hd *head) bool {
	if h.conditional == nil || hd.status != http.StatusOK {
		return false
	}
	var mod time.Time
	if v := hd.get("Last-Modified"); v != "" {
		mod, _ = http.ParseTime(v)
	}
	switch h.conditional(req.r.Header, mod, hd.get("ETag")) {
	case http.StatusNotModified:
		cacherule.NotModified(req.w)
	case http.StatusPreconditionFailed:
		clear(req.w.Header())
		fail(req.w, http.StatusPreconditionFailed)
	default:
		return false
	}
	return true
}

// endFill commits the fill when the whole body went through, else drops it.
func (h *Handler) endFill(req *request, complete bool) {
	fl := req.fill
	req.fill = nil
	if !complete {
		fl.Abort()
		return
	}
	if err := fl.Commit(req.fillHead, req.expires, req.fillAt); err != nil {
		req.log.LogRequest(errlog.Crit, req.logRequest(), "cannot store cache file: "+err.Error())
	}
}

// appendStoredHead appends the head an entry keeps: the CGI head as the
// application sent it, with its status as a Status field first (readHead
// reads it back as received).
func appendStoredHead(b []byte, hd *head) []byte {
	b = append(b, "Status: "...)
	b = strconv.AppendInt(b, int64(hd.status), 10)
	if hd.reason != "" {
		b = append(b, ' ')
		b = append(b, hd.reason...)
	}
	b = append(b, "\r\n"...)
	for _, f := range hd.fields {
		if equalFold(f.name, "Status") {
			continue
		}
		b = append(b, f.name...)
		b = append(b, ": "...)
		b = append(b, f.value...)
		b = append(b, "\r\n"...)
	}
	return append(b, "\r\n"...)
}

package daemon

import (
	"errors"
	"net/http"
	"strconv"
	"time"

	"fulcrum/internal/errlog"
	"fulcrum/internal/proxy"
	"fulcrum/internal/slice"
	"fulcrum/internal/static"
	"fulcrum/internal/vars"
)

// This file is nginx's slice module (ngx_http_slice_filter_module.c) on
// fulcrum's request path; the arithmetic is package slice's.
//
//   - $slice_range, read by the main request of a level with "slice SIZE"
//     (proxy_set_header Range $slice_range, a proxy_cache_key), starts
//     slicing: the request's sliceState is begun with the first slice,
//     and the recorder's slice field points at it.
//   - The first slice's answer goes through the slice header filter
//     (acceptSlice: from the proxy's FilterHead, else WriteHeader): a 206
//     for the expected range becomes the 200 of the whole object; any
//     other status stops slicing, and the answer goes out as it is.
//   - WriteHeader then applies the client's Range (rangeSlice: one range
//     at most, If-Range against the ETag or Last-Modified), and the
//     recorder passes on only the bytes of the client's window.
//   - Once the location's handler is done, sliceHandler fetches the
//     following slices, one subrequest each (runSlice: the same location's
//     handler, the request cloned, its method and body too: sliceBody),
//     until the window is sent. A slice that fails the filter's checks is
//     logged and ends the connection, the response cut short, as nginx's
//     NGX_ERROR does.
//   - A 416 from the range filter refuses the first slice's body
//     (RefusedBody): the proxy neither reads nor caches it.

// sliceState is one request's slice module state, kept in its scratch.
type sliceState struct {
	ctx slice.Context
	// cloning is true while a slice subrequest runs: $slice_range is read
	// by it (nginx sets the module's context on the subrequest only).
	cloning bool
	// accepted: the main request's answer was the first slice, turned into
	// the object's 200; headerOut: the range filter decided the response.
	accepted, headerOut bool
	// body: the client gets the bytes of win, which the following slices
	// are fetched for (not for HEAD, 304 or 416).
	body bool
	win  slice.Window
	// discard drops what the main request's handler writes: a 416 page
	// or nothing at all went out in its place.
	discard bool
}

// reset clears s for another request, keeping the context's buffer.
func (s *sliceState) reset() {
	s.ctx.Reset()
	*s = sliceState{ctx: s.ctx}
}

// defineSliceVariables makes $slice_range known to comp. nginx defines it
// whatever the configuration, and lets no set directive change it.
func (s *snapshot) defineSliceVariables(comp *vars.Compiler) {
	comp.Define("slice_range", s.getSliceRange)
	comp.Unchangeable("slice_range")
}

// getSliceRange is $slice_range, nginx's ngx_http_slice_range_variable:
// "bytes=START-LAST" of the slice being fetched. The main request's first
// read, before its response has a status, begins slicing when the level
// serving it has a slice size; it is not found in other subrequests, at a
// level without slice, or once the response's status is known and the
// request is not sliced.
func (s *snapshot) getSliceRange(dst []byte, st *vars.State) ([]byte, bool) {
	sc, set := levelOf(st)
	if sc == nil {
		return dst, false
	}
	sl := &sc.slice
	if sl.ctx.Active() {
		if st.InSubrequest && !sl.cloning {
			return dst, false
		}
		return append(dst, sl.ctx.Range()...), true
	}
	if st.InSubrequest || st.Status != 0 || sc.rec.wroteHeader || set == nil || set.Slice <= 0 {
		return dst, false
	}
	var rng string
	var present, ifRange bool
	if st.Header != nil {
		rng, _, present = st.Header.Lookup("Range", 0)
		_, _, ifRange = st.Header.Lookup("If-Range", 0)
	}
	sl.reset() // what an earlier request left
	sl.ctx.Begin(set.Slice, rng, present, ifRange)
	sc.rec.slice = sl
	return append(dst, sl.ctx.Range()...), true
}

// FilterHead implements proxy.HeadFilter with the slice header filter
// (acceptSlice), which must see a proxied answer before the proxy's
// not-modified filter.
func (w *recorder) FilterHead(status int) (int, bool) {
	if w.slice == nil || w.slice.accepted {
		return status, true
	}
	return w.acceptSlice(status)
}

var _ proxy.HeadFilter = (*recorder)(nil)

// RefusedBody implements proxy.BodyRefuser: the slice module's range
// filter answered the main request with a 416 page (or an error_page's
// redirect) in place of the slice's body.
func (w *recorder) RefusedBody() bool {
	return w.slice != nil && w.slice.discard
}

var _ proxy.BodyRefuser = (*recorder)(nil)

// upstreamName is the upstream whose response the request is reading, for
// the "upstream:" of the slice module's error log lines: the pieces of its
// URL, the zero value for none (a cached response, another handler). uri is
// the proxy's buffer (proxy.UpstreamNamer): read only while the response's
// head is being written, as every slice header check is.
type upstreamName struct {
	scheme, server string
	uri            []byte
}

// String is the URL, "" for none.
func (u upstreamName) String() string {
	if u.server == "" {
		return ""
	}
	return u.scheme + u.server + string(u.uri)
}

// NameUpstream implements proxy.UpstreamNamer.
func (w *recorder) NameUpstream(scheme, server string, uri []byte) {
	w.upstream = upstreamName{scheme, server, uri}
}

var _ proxy.UpstreamNamer = (*recorder)(nil)

// acceptSlice is the slice header filter for the main request's answer
// with code and the fields in the header: a 206 for the first slice becomes
// a 200 with the object's length, without Content-Range and
// Accept-Ranges (the range filter adds its own); another status ends the
// slicing (false is never returned for it). An answer that fails the
// checks is logged and the connection closed without a response: false.
func (w *recorder) acceptSlice(code int) (int, bool) {
	sl := w.slice
	h := w.ResponseWriter.Header()
	etag, hasETag := firstField(h, "Etag")
	cr, hasRange := firstField(h, "Content-Range")
	part, err := sl.ctx.Accept(true, code, etag, hasETag, cr, hasRange)
	if errors.Is(err, slice.ErrNotPartial) {
		w.endSlicing()
		return code, true
	}
	if err != nil {
		w.sliceFailed(err, "", w.upstream)
		// nginx's NGX_ERROR: no response, the connection closed; what
		// the handler still writes is dropped, nothing more is fetched.
		sl.accepted, sl.headerOut, sl.discard = true, true, true
		w.drop(code)
		return code, false
	}
	sl.accepted = true
	sl.win = slice.Window{Pos: part.Start, From: 0, To: part.Total}
	delete(h, "Content-Range")
	delete(h, "Accept-Ranges")
	if w.ew != nil {
		w.ew.dropOrder("Content-Range", 0)
		w.ew.dropOrder("Accept-Ranges", 0)
	}
	h.Set("Content-Length", strconv.FormatInt(part.Total, 10))
	return http.StatusOK, true
}

// endSlicing stops slicing the request: its answer goes out as it is.
func (w *recorder) endSlicing() {
	w.slice.reset()
	w.slice = nil
}

// firstField returns the first value of a response field and whether the
// field is there.
func firstField(h http.Header, key string) (string, bool) {
	if v := h[key]; len(v) > 0 {
		return v[0], true
	}
	return "", false
}

// sliceHeader is the slice module's part of WriteHeader for the main
// request: the header filter, unless FilterHead ran it, then the range
// filter for the object's 200. It returns the status to go on with, or
// false when the response was answered (a 416 page) or dropped instead.
func (w *recorder) sliceHeader(code int) (int, bool) {
	sl := w.slice
	if !sl.accepted {
		var ok bool
		if code, ok = w.acceptSlice(code); !ok || w.slice == nil {
			return code, ok
		}
	}
	sl.headerOut = true
	if code != http.StatusOK {
		return code, true // 304 or 412 from the not-modified filter: no body
	}
	return w.rangeSlice()
}

// rangeSlice is nginx's range filter for the object's 200 a slice was
// turned into (r->single_range: one range at most), unless a body filter
// that changes the bytes refuses ranges (AllowRanges): 200 with
// Accept-Ranges, 206 with the range's Content-Range and length, or 416,
// nginx's page with "Content-Range: bytes */LENGTH" and without the
// validators, which goes through the headers filter as the 200 it was.
func (w *recorder) rangeSlice() (int, bool) {
	sl := w.slice
	h := w.ResponseWriter.Header()
	total := sl.win.To
	from, to, status := int64(0), total, http.StatusOK
	ct, _ := firstField(h, "Content-Type")
	ranged := w.AllowRanges(ct, total)
	if ranged {
		etag, _ := firstField(h, "Etag")
		lm, _ := firstField(h, "Last-Modified")
		from, to, status = static.TaggedRange(w.req.Header, etag, lm, total)
	}
	switch status {
	case http.StatusRequestedRangeNotSatisfiable:
		// The page (or an error_page's redirect) in place of the
		// object; what the handler still writes is dropped. The
		// slicing ends, as the 416 goes through the slice filter.
		w.slice = nil
		w.failRange(total)
		w.slice, sl.discard = sl, true
		sl.ctx.Reset()
		return 0, false
	case http.StatusPartialContent:
		h.Set("Content-Range", "bytes "+strconv.FormatInt(from, 10)+"-"+strconv.FormatInt(to-1, 10)+"/"+strconv.FormatInt(total, 10))
		h.Set("Content-Length", strconv.FormatInt(to-from, 10))
	default:
		if ranged {
			h.Set("Accept-Ranges", "bytes")
		}
	}
	sl.win.From, sl.win.To = from, to
	sl.body = w.req.Method != http.MethodHead
	if sl.body {
		sl.ctx.Want(from, to)
	}
	return status, true
}

// writeSliced is Write for a sliced main request: only the bytes of the
// client's window go on.
func (w *recorder) writeSliced(p []byte) (int, error) {
	if sl := w.slice; sl.discard {
		return len(p), nil // nothing is to go out, or an error_page's answer later
	}
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	sl := w.slice
	if sl == nil || !sl.headerOut {
		return w.write(p) // not sliced after all
	}
	n := len(p)
	if q := sl.win.Cut(p); len(q) > 0 {
		if _, err := w.write(q); err != nil {
			return 0, err
		}
	}
	return n, nil
}

// resetSlice forgets the request's slicing, as nginx's internal redirect
// clears every module's context.
func (w *recorder) resetSlice() {
	if w.slice != nil {
		w.endSlicing()
	}
}

// sliceFailed logs a slice answer that failed the slice header filter's
// checks, with nginx's words; sub is the URI of the slice subrequest, ""
// for the main request's answer, and up the upstream that answered (the
// zero value for the cache). An answer from an upstream (not from the
// cache) gets the upstream module's context, as in nginx.
func (w *recorder) sliceFailed(err error, sub string, up upstreamName) {
	log := w.log()
	if !log.Enabled(errlog.Error) {
		return
	}
	lr := logRequest(w.st, w.req)
	lr.Subrequest = sub
	lr.Upstream = up.String()
	msg := err.Error()
	if len(w.st.Upstreams) > 0 {
		msg += " while reading response header from upstream"
	}
	log.LogRequest(errlog.Error, lr, msg)
}

// sliceHandler is a location handler under "slice": once the handler
// answered the main request with the first slice, it fetches the others
// (nginx's slice body filter starts a subrequest at the end of each
// slice's body).
type sliceHandler struct{ handler }

func (h sliceHandler) serve(w http.ResponseWriter, r *http.Request, st *vars.State) *internalRedirect {
	rec, ok := w.(*recorder)
	var body *sliceBody
	if ok && !rec.sub && hasRequestBody(r) {
		body = &sliceBody{rc: r.Body}
		r.Body = body
		defer body.release()
	}
	next := h.handler.serve(w, r, st)
	if body != nil && r.Body == body {
		r.Body = body.rc
	}
	if next != nil || !ok || rec.sub || rec.slice == nil || rec.pending != nil {
		return next
	}
	sl := rec.slice
	if !sl.body || sl.discard {
		return nil
	}
	if body != nil && sl.ctx.More() && !body.finish() {
		panic(http.ErrAbortHandler) // no whole body to send with the slices
	}
	sr := *r // the fields are shared, read only
	sr.Body, sr.ContentLength, sr.TransferEncoding = http.NoBody, 0, nil
	for sl.ctx.Next() {
		if body != nil {
			// Each slice sends the main request's body again.
			sr.Body, sr.ContentLength = body.reader(), body.n
		}
		if !rec.runSlice(h.handler, &sr, st) {
			// The response is cut short: the connection ends
			// without it (nginx terminates the main request).
			panic(http.ErrAbortHandler)
		}
	}
	rec.endSlicing() // all sent: $slice_range is not found from here on
	return nil
}

// runSlice serves the slice whose range the context holds with handler h,
// as nginx's NGX_HTTP_SUBREQUEST_CLONE subrequest: the same location and
// request, its own status and upstream state, no body. It reports whether
// the slice's answer was accepted and all of it went through.
func (w *recorder) runSlice(h handler, sr *http.Request, st *vars.State) bool {
	sl := w.slice
	sw := &sliceWriter{main: w, header: http.Header{}}
	sub := &recorder{ResponseWriter: sw, st: st, snap: w.snap, req: sr, set: w.set, server: w.server,
		keepSlashes: w.keepSlashes, realIPSet: true, sub: true, srv: w.srv}
	sw.sub = sub
	start := w.snap.subrequestStart()
	saved := st.BeginClone()
	sl.cloning = true
	defer func() {
		w.logSlice(sub, st, saved, start)
		sl.cloning = false
		st.EndSubrequest(saved)
		st.BodyBytesSent += sw.sent
	}()
	h.serve(sub, sr, st)
	switch {
	case sw.err != nil:
		return false
	case sw.code == 0:
		if sr.Context().Err() == nil { // not a client that went away (499)
			w.sliceFailed(errors.New("missing slice response"), st.Path, upstreamName{})
		}
		return false
	}
	return sl.ctx.Accepted() && sw.win.Pos == sw.end
}

// logSlice writes the access log line of the slice subrequest sub begun at
// start (log_subrequest on), while its $slice_range is still its own: as
// nginx 1.22.1 logs it, with the main response's $status (saved is what
// BeginClone kept), the slice's $upstream_* and $slice_range.
func (w *recorder) logSlice(sub *recorder, st *vars.State, saved vars.Subrequest, start time.Time) {
	if sub.set == nil || !sub.set.LogSubrequest {
		return
	}
	status := st.Status
	st.Status = saved.Status()
	w.snap.logSubrequest(sub, st, start, w.clientSent())
	st.Status = status
}

// sliceWriter is the writer under a slice subrequest's recorder: the slice
// header filter checks its answer, and the bytes of its body that lie in
// the client's window go into the main response where nginx's postpone
// filter puts a subrequest's output (through the main request's gzip
// filter: writeOut).
type sliceWriter struct {
	main   *recorder
	sub    *recorder // the subrequest's, over this writer
	header http.Header
	code   int
	// err is the header filter's verdict on the answer; its body is then
	// refused (errSliceRefused), which ends the proxy's exchange.
	err error
	win slice.Window
	// end is where the slice ends in the object; sent counts the bytes
	// written to the main response, for its $body_bytes_sent.
	end, sent int64
}

// errSliceRefused is the write error of a slice answer the slice header
// filter refused.
var errSliceRefused = errors.New("slice response refused")

func (s *sliceWriter) Header() http.Header { return s.header }

func (s *sliceWriter) WriteHeader(code int) {
	if s.code != 0 || code < 200 {
		return
	}
	s.code = code
	main := s.main
	sl := main.slice
	etag, hasETag := firstField(s.header, "Etag")
	cr, hasRange := firstField(s.header, "Content-Range")
	part, err := sl.ctx.Accept(false, code, etag, hasETag, cr, hasRange)
	if err != nil {
		s.err = err
		main.sliceFailed(err, main.st.Path, s.sub.upstream)
		return
	}
	s.win = slice.Window{Pos: part.Start, From: sl.win.From, To: sl.win.To}
	s.end = part.End
}

func (s *sliceWriter) Write(p []byte) (int, error) {
	if s.code == 0 {
		s.WriteHeader(http.StatusOK)
	}
	if s.err != nil {
		return 0, errSliceRefused
	}
	n := len(p)
	if q := s.win.Cut(p); len(q) > 0 {
		st := s.main.st
		before := st.BodyBytesSent
		_, err := s.main.writeOut(q)
		s.sent += st.BodyBytesSent - before
		if err != nil {
			return 0, err
		}
	}
	return n, nil
}

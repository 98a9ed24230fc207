package fastcgi

import (
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"

	"fulcrum/internal/cacherule"
	"fulcrum/internal/errlog"
	"fulcrum/internal/pace"
	"fulcrum/internal/vars"
)

// accelKept are the fields nginx keeps for the response of an
// X-Accel-Redirect.
var accelKept = map[string]bool{"content-type": true, "set-cookie": true, "content-disposition": true,
	"cache-control": true, "expires": true, "accept-ranges": true}

// respond passes the response whose head x holds on to the client: its
// fields (all of them in $upstream_http_NAME), its status and its body. An
// X-Accel-Redirect or an intercepted error status is answered instead. In a
// caching location the response goes to the cache too when it may, and in
// a storing one to its file (store.go). It
// returns the body bytes read and whether the response ended cleanly.
func (h *Handler) respond(req *request, x *exchange) (int64, bool) {
	if req.cl != nil {
		h.cacheCheck(req, x.head)
		req.errKeep = keepsError(req)
	}
	if h.forceRanges {
		// *_force_ranges: nginx drops the application's Accept-Ranges
		// and lets its range filter cut any 200, one range at most
		// unless it comes from the cache.
		req.rangeable, req.acceptRanges = true, true
	} else if req.cl != nil && h.ranges != nil {
		h.rangeCheck(req)
	}
	if !h.passHead(req, x.head) {
		return 0, false
	}
	if un, ok := req.w.(UpstreamNamer); ok {
		un.NameUpstream("", req.upstream, nil)
	}
	if req.cl != nil {
		return h.respondCaching(req, x)
	}
	if h.forceRanges && !h.cutRanges(req, x.head, true) {
		return 0, false // a 416: the writer answered; the response is dropped
	}
	if h.store != nil {
		h.startStore(req, x.head)
	}
	h.writeHead(req, x.head)
	if req.cut != nil {
		w := req.w // one range: the response is read in order
		req.w = cutWriter{ResponseWriter: w, Writer: req.cut.Stream(w)}
		defer func() { req.w = w }()
	}
	n, ok := h.copyBody(req, x)
	if req.store != nil {
		h.endStore(req, x.head, ok)
	}
	return n, ok
}

// writeHead sends the status of hd, with its reason phrase, or the 206 of
// the range filter's cut; a head without Content-Length has the writer
// frame the body as one of unknown length (LengthUnknowner).
func (h *Handler) writeHead(req *request, hd *head) {
	if req.cut != nil {
		req.w.WriteHeader(http.StatusPartialContent)
		return
	}
	if rs, ok := req.w.(ReasonSetter); ok && hd.reason != "" {
		rs.SetReason(hd.status, []byte(hd.reason))
	}
	if lu, ok := req.w.(LengthUnknowner); ok && len(req.w.Header()["Content-Length"]) == 0 {
		// nginx's content_length_n stays -1 without the application's
		// Content-Length: the body goes out chunked (close-delimited to
		// HTTP/1.0), a short one too, from the cache as well.
		lu.LengthUnknown()
	}
	req.w.WriteHeader(hd.status)
}

// passHead sets $upstream_http_NAME from the head hd, applies its
// X-Accel-Limit-Rate, X-Accel-Charset and X-Accel-Buffering (req.buffered)
// and puts its
// fields in the client's header, the status to be sent by writeHead; false when it
// answered otherwise (an X-Accel-Redirect, an intercepted error), and the
// body is not wanted.
func (h *Handler) passHead(req *request, hd *head) bool {
	fields := req.st.UpstreamFields()
	accel := ""
	for _, f := range hd.fields {
		fields = append(fields, vars.Field{Name: f.name, Value: f.value})
		if equalFold(f.name, "X-Accel-Redirect") && accel == "" {
			accel = f.value
		}
		if equalFold(f.name, "X-Accel-Limit-Rate") && !h.set.IgnoreAccelLimitRate {
			req.st.AccelLimitRate(f.value)
		}
		if equalFold(f.name, "X-Accel-Charset") && !h.set.IgnoreAccelCharset {
			// The charset filter's, the last one winning, as nginx's
			// upstream header handler (common to all its upstream
			// modules) sets it: before an X-Accel-Redirect is followed
			// or an error intercepted, whose answers then carry it too.
			req.st.OverrideCharset = f.value
		}
	}
	req.st.SetUpstreamFields(fields)
	out := req.w.Header()
	if accel != "" && !h.set.IgnoreAccelRedirect {
		if ar, ok := req.w.(AccelRedirector); ok {
			for _, f := range hd.fields {
				if accelKept[strings.ToLower(f.name)] {
					out.Add(f.name, f.value)
				}
			}
			ar.AccelRedirect(accel)
			return false
		}
	}
	if hd.status >= 300 && h.set.InterceptErrors {
		if ic, ok := req.w.(ErrorInterceptor); ok && ic.InterceptsError(hd.status) {
			for _, f := range hd.fields {
				if hd.status == http.StatusUnauthorized && equalFold(f.name, "WWW-Authenticate") {
					out.Set(f.name, f.value)
					break
				}
			}
			if req.errKeep {
				h.storeError(req, hd)
			}
			if req.stream != nil && req.st.Body == nil {
				// The error page sees the body that streamed
				// to the server whole as $request_body.
				req.st.Body = req.stream.variable()
			}
			fail(req.w, hd.status)
			return false
		}
	}
	orderer, _ := req.w.(FieldOrderer)
	var order []FieldPos
	for _, f := range hd.fields {
		if h.hide[strings.ToLower(f.name)] {
			continue
		}
		if req.rangeable && equalFold(f.name, "Accept-Ranges") {
			req.acceptRanges = true // the range filter writes its own
			continue
		}
		key := http.CanonicalHeaderKey(f.name)
		if orderer != nil {
			order = append(order, FieldPos{Name: f.name, Key: key, Index: len(out[key])})
		}
		out[key] = append(out[key], f.value)
	}
	if orderer != nil {
		orderer.SetCGIFieldOrder(order)
	}
	// fastcgi_buffering, which the application's X-Accel-Buffering turns
	// off or on (unless fastcgi_ignore_headers lists it), decides how the
	// body goes out: nginx sends an unbuffered response as it comes, with
	// no limit_rate, whatever the location or the application says.
	req.buffered = cacherule.Buffered(hd.all(), h.set.Buffering, h.set.IgnoreAccelBuffering)
	if !req.buffered {
		req.st.Unlimit()
	}
	return true
}

// copyBody streams STDOUT after the head to the client, each read bounded
// by fastcgi_read_timeout; a response read unbuffered (req.buffered:
// fastcgi_buffering off or X-Accel-Buffering: no) has each piece flushed at
// once, and a buffered one has fastcgi_limit_rate pace the reads from the
// time the head arrived.
func (h *Handler) copyBody(req *request, x *exchange) (int64, bool) {
	buf := make([]byte, 32<<10)
	flusher, _ := req.w.(http.Flusher)
	var pacer *pace.Pacer // fastcgi_limit_rate's; nil without one
	if h.set.LimitRate > 0 && req.buffered {
		pacer = &pace.Pacer{Limit: pace.Limit{Rate: h.set.LimitRate, Start: h.now()}, Clock: h.now, Sleep: h.sleep}
		defer pacer.Stop()
	}
	var n int64
	gone := false // a kept fetch's client went away
	declared := declaredLength(x.head, req.r.Method)
	headFill := declared < 0 && req.fill != nil && h.proto == FastCGI && req.r.Method == http.MethodHead
	for {
		if h.lengthEnds(x, declared, n) {
			return n, true
		}
		p := buf
		if pacer != nil {
			p = h.paceRead(req, pacer, buf, n)
		}
		x.setReadDeadline(h.now().Add(h.set.ReadTimeout))
		m, err := x.br.Read(p)
		if headFill && m > 0 {
			// A HEAD's response read for the cache is held to its
			// Content-Length once body bytes come, as nginx's
			// FastCGI input filter takes the length at the first
			// data (f->rest -2): bytes past it are dropped with the
			// warn, and a body that ends short is an error and not
			// stored; no body at all is stored empty, as in nginx
			// (recorded; nginx-tests' fastcgi_extra_data.t).
			declared, headFill = declaredLength(x.head, http.MethodGet), false
		}
		over := declared >= 0 && n+int64(m) > declared
		if over {
			// More than the Content-Length: nginx 1.22.1 passes the
			// length's bytes, warns, and ends the response there
			// cleanly (the client's connection kept); the rest never
			// goes anywhere, nor does the upstream connection.
			m = int(declared - n)
			req.log.LogRequest(errlog.Warn, req.logRequest(), `upstream sent more data than specified in "Content-Length" header while `+errlog.ActionBody)
		}
		if m > 0 {
			n += int64(m)
			if req.fill != nil {
				_, _ = req.fill.Write(buf[:m]) // a failed fill is dropped at Commit
			}
			if req.store != nil {
				_, _ = req.store.Write(buf[:m]) // a failed write drops the file at Close
			}
			if gone {
				// The client went away: the body goes to the cache
				// alone (keepForCache).
			} else if _, werr := req.w.Write(buf[:m]); werr != nil {
				if req.kept == nil || req.fill == nil {
					h.logGone(req, errlog.ActionBody)
					return n, false
				}
				gone = true
			}
			if !req.buffered && flusher != nil {
				flusher.Flush()
			}
		}
		if over {
			x.extra = true
			return n, true
		}
		if err == io.EOF && n < declared {
			// The response ended short of its Content-Length: nginx's
			// error, and the client's connection closed (x.broken).
			req.log.LogRequest(errlog.Error, req.logRequest(), h.closedEarly()+" while "+errlog.ActionBody)
			x.broken = true
			return n, false
		}
		if err == io.EOF {
			return n, true
		}
		if h.closeEnds(req, err) {
			x.short = !lengthIs(x.head, n)
			return n, true
		}
		if err != nil && req.ctx.Err() != nil {
			// The client went away and the watch stopped the read: not
			// the application's fault, nginx's 499 while nothing was
			// passed on.
			if n == 0 {
				req.st.Status = 499
			}
			h.logGone(req, errlog.ActionBody)
			x.broken = true
			return n, false
		}
		if err != nil {
			msg := errlog.ReadFailed(err, errlog.ActionBody)
			if !errors.Is(err, errCaughtStderr) { // its stderr line is logged
				req.log.LogRequest(errlog.Error, req.logRequest(), msg)
			}
			if flusher != nil {
				flusher.Flush() // nginx sent the head and what it read before the break
			}
			x.broken = true
			return n, false
		}
	}
}

// lengthEnds reports whether an SCGI or uwsgi response body ends after n
// of its bytes: those of its Content-Length (declared) have come and
// nothing more was read with them. nginx 1.22.1's SCGI and uwsgi input
// filters set the upstream's length from Content-Length and end the
// response when it is read, not at the server's close (recorded with uwsgi
// and suwsgi servers that keep their connections open: each answer came
// at once, where waiting for the close took uwsgi_read_timeout and logged
// "upstream timed out"); bytes read with the length's last ones are the
// warning of copyBody, and the connection is closed all the same, as
// nginx never keeps an SCGI or uwsgi connection. FastCGI's body ends
// with its records, whatever its Content-Length.
func (h *Handler) lengthEnds(x *exchange, declared, n int64) bool {
	return h.proto != FastCGI && declared >= 0 && n >= declared && x.br.Buffered() == 0
}

// paceRead returns the part of buf the next read of the body may fill under
// fastcgi_limit_rate (pacer), after read bytes, first waiting as long as
// nothing may be read. Before a wait, what the client's writer holds goes
// out. When the client goes away during a wait, it returns buf at once
// (the write that follows fails).
func (h *Handler) paceRead(req *request, pacer *pace.Pacer, buf []byte, read int64) []byte {
	for {
		n, wait := pacer.Allow(read, pacer.Now())
		if n > 0 {
			return buf[:min(n, int64(len(buf)))]
		}
		if f, ok := req.w.(http.Flusher); ok {
			f.Flush()
		}
		if err := pacer.Wait(req.ctx, wait); err != nil {
			return buf
		}
	}
}

// closeEnds reports whether err, met while reading the body, is the
// FastCGI server closing the connection in a way nginx takes as the end of
// the response (recorded from nginx 1.22.1): a close in the middle of a
// STDOUT record or between records, before END_REQUEST, ends the body
// cleanly (200, a chunked body terminated, the client's connection kept,
// nothing logged) unless fastcgi_keep_conn is on and the response is read
// buffered (fastcgi_buffering on, not turned off by the application's
// X-Accel-Buffering: req.buffered, as nginx 1.22.1 ended an "X-Accel-
// Buffering: no" response cleanly under keep_conn and buffering on), where
// it is "upstream prematurely closed connection while reading
// upstream" and a broken response. Without keep_conn nginx waits for the
// close, not END_REQUEST (ngx_http_fastcgi_input_filter); without
// buffering the close with no length is the end
// (ngx_http_upstream_process_non_buffered_request). The connection is not
// kept: the record reader did not see END_REQUEST.
func (h *Handler) closeEnds(req *request, err error) bool {
	return h.proto == FastCGI && errors.Is(err, io.ErrUnexpectedEOF) && (!h.set.KeepConn || !req.buffered)
}

// declaredLength is how long the body after hd should be, -1 when it is
// not known (readHead leaves at most one Content-Length, of digits alone),
// as nginx 1.22.1's input filters set it: no length for a HEAD request's
// response, whatever its head says (a HEAD's answer with a Content-Length
// and no body is no premature end), none (0) for a 204's or a 304's, so
// that bytes after one are warned about and dropped (recorded with a raw
// FastCGI server: HEAD with "Content-Length: 10" and no body, 204 and 304
// with "Content-Length: 5" and no body kept the client's connection and
// logged nothing; a 204 with a body logged the warn).
func declaredLength(hd *head, method string) int64 {
	switch {
	case method == http.MethodHead:
		return -1
	case hd.status == http.StatusNoContent || hd.status == http.StatusNotModified:
		return 0
	}
	v := hd.get("Content-Length")
	if v == "" {
		return -1 // no ParseInt: its error allocates, for most responses
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return -1
	}
	return n
}

// closedEarly is nginx's words for a response stream that ended: FastCGI's
// END_REQUEST, or the close of an SCGI or uwsgi connection.
func (h *Handler) closedEarly() string {
	if h.proto == FastCGI {
		return "upstream prematurely closed FastCGI stdout"
	}
	return "upstream prematurely closed connection"
}

// lengthIs reports whether hd has no Content-Length or one of n.
func lengthIs(hd *head, n int64) bool {
	v := hd.get("Content-Length")
	return v == "" || strings.TrimSpace(v) == strconv.FormatInt(n, 10)
}

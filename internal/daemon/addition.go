package daemon

import (
	"net/http"
	"slices"
	"strings"

	"fulcrum/internal/bodyspool"
	"fulcrum/internal/config"
	"fulcrum/internal/gzipfilter"
	"fulcrum/internal/router"
	"fulcrum/internal/vars"
)

// addition is the addition filter's state for one response
// (ngx_http_addition_filter_module): the subrequests still to run.
type addition struct {
	before, after string // the URIs; "" once run or when not written
	srv           *router.Server
}

// wantsAddition reports whether set has add_before_body or add_after_body.
func wantsAddition(set *config.Settings) bool {
	return set != nil && (set.AddBeforeBody != "" || set.AddAfterBody != "")
}

// startAddition is nginx's addition header filter for a main request's
// response about to go out with code and header h: a 200 whose type is in
// addition_types (text/html always) loses Content-Length and Accept-Ranges,
// its ETag turns weak, and, unless it is a HEAD, its body gets the
// subrequests' bodies before and after it.
func (w *recorder) startAddition(code int, h http.Header) {
	if code != http.StatusOK || w.sub || w.srv == nil || !additionType(w.set, h.Get("Content-Type")) {
		return
	}
	delete(h, "Content-Length")
	delete(h, "Accept-Ranges")
	gzipfilter.WeakETag(h)
	if w.ew != nil {
		w.ew.lengthUnknown()
	}
	if w.req == nil || w.req.Method == http.MethodHead {
		return
	}
	w.add = &addition{before: w.set.AddBeforeBody, after: w.set.AddAfterBody, srv: w.srv}
}

// additionType reports whether the media type of contentType is one
// addition_types lists (compared without case and parameters).
func additionType(set *config.Settings, contentType string) bool {
	if set.AdditionAnyType {
		return true
	}
	mt, _, _ := strings.Cut(contentType, ";")
	mt = strings.ToLower(strings.TrimSpace(mt))
	return mt == "text/html" || slices.Contains(set.AdditionTypes, mt)
}

// addBefore runs add_before_body's subrequest, once, before the first byte
// of the main body (or at the end of an empty one).
func (w *recorder) addBefore() {
	if uri := w.add.before; uri != "" {
		w.add.before = ""
		w.addSubrequest(uri)
	}
}

// addAfter runs add_after_body's subrequest, once, at the end of the main
// body: after the bytes the gunzip and sub filters held back (the caller
// ends them first), before the end of gzip's output.
func (w *recorder) addAfter() {
	if uri := w.add.after; uri != "" {
		w.add.after = ""
		w.addSubrequest(uri)
	}
}

// addSubrequest runs a GET subrequest to uri (taken whole as the path: a
// "?" in it is part of the file name, as nginx passes the directive's
// value as the URI) with the client's header fields and no body, as
// nginx's ngx_http_subrequest; its body, whatever its status (an error
// page too), goes into the main response where the subrequest was made.
// Its header fields are dropped. As nginx's range and not-modified filters
// leave subrequests alone, the client's Range and conditional fields are
// not passed to it.
//
// An image filter in the subrequest's location filters its body as
// nginx's does (finishIncludedImage), and may end the main response.
func (w *recorder) addSubrequest(uri string) {
	if w.bodyEnded {
		return // an image filter ended the response: nginx makes no more subrequests
	}
	sr := includeRequest(w.req)
	st := w.st
	saved := st.BeginSubrequest(uri, http.MethodGet)
	fw := &additionWriter{main: w, st: st}
	sw := &subWriter{header: http.Header{}, body: fw, included: true, owner: w.mainRecorder(), mainLog: w.log()}
	start, sub := w.snap.subrequestStart(), new(recorder)
	w.snap.serveSubrequestTo(sub, w.keepSlashes, &sr, st, w.add.srv, sw)
	w.snap.logSubrequest(sub, st, start, w.clientSent())
	st.EndSubrequest(saved)
	st.BodyBytesSent += fw.sent
	w.endIncluded(sw.imageEnd)
}

// mainOnlyFields are the request fields nginx's range and not-modified
// filters read for a main request only.
var mainOnlyFields = []string{"Range", "If-Range", "If-Match", "If-None-Match", "If-Modified-Since", "If-Unmodified-Since"}

// includeRequest is the request of a subrequest whose body goes into r's
// response (addition, SSI include): a GET of r with its header fields but
// not the main-only ones, and r's body when it was read whole
// (keepIncludeBody), with its length, as nginx's ngx_http_subrequest shares
// the request body it read (recorded with nginx 1.22.1: a POST with a
// 20-byte body, chunked or not, gives an include "GET /auth" with
// "Content-Length: 20" and the 20 bytes); none otherwise.
func includeRequest(r *http.Request) http.Request {
	sr := *r
	sr.Method = http.MethodGet
	sr.Body, sr.ContentLength, sr.TransferEncoding = http.NoBody, 0, nil
	if br, ok := r.Body.(*bodyspool.Reader); ok && br.Body().Size() > 0 {
		sr.Body, sr.ContentLength = br.Body().NewReader(), br.Body().Size()
	}
	sr.Header = r.Header.Clone()
	for _, k := range mainOnlyFields {
		delete(sr.Header, k)
	}
	return sr
}

// additionWriter passes a subrequest's body into the main response's
// body where nginx's postpone filter puts it: after the main request's
// gunzip and sub filters, through its gzip filter; it counts the bytes
// $body_bytes_sent of the main request must show once the subrequest's
// state is gone.
type additionWriter struct {
	main *recorder
	st   *vars.State
	sent int64
}

func (a *additionWriter) Write(p []byte) (int, error) {
	before := a.st.BodyBytesSent
	n, err := a.main.writeOut(p)
	a.sent += a.st.BodyBytesSent - before
	return n, err
}

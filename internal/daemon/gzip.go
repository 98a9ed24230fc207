package daemon

import (
	"net/http"
	"slices"
	"strconv"
	"time"

	"fulcrum/internal/config"
	"fulcrum/internal/errlog"
	"fulcrum/internal/gzipfilter"
	"fulcrum/internal/subfilter"
)

// startGzip is nginx's gzip header filter for the response about to go out
// with code and header h, after add_header (nginx's headers filter runs
// first): a response gzip applies to by the location's settings gets
// "Vary: Accept-Encoding" under gzip_vary, and, when the client takes gzip,
// the compressed head (gzipfilter.Prepare) and a compressor for its body. A
// HEAD gets the head alone, as nginx 1.22 gives it.
func (w *recorder) startGzip(code int, h http.Header) {
	g := &w.set.Gzip
	if !gzipfilter.Eligible(g, code, h) {
		if w.rangeGzipVary {
			w.varyAcceptEncoding(h) // the 200 was eligible before the range filter cut it
		}
		return
	}
	compress := w.gzipClientOK(g, h, !w.fileResponse)
	if compress {
		gzipfilter.Prepare(h)
	}
	if w.ew != nil {
		w.ew.gzipFields(g.Vary, compress)
	} else if g.Vary {
		w.varyAcceptEncoding(h)
	}
	if compress && w.req.Method != http.MethodHead {
		w.gz.Reset(w.ResponseWriter, g.Level)
		w.gzipping = true
	}
}

// gzipClientOK is gzipfilter.ClientOK for this request and a response
// with header h. A gzip_disable regex whose match hits its bound refuses
// gzip for the rest of the request, its error logged at alert once, as
// nginx's ngx_http_gzip_ok does (it keeps its answer in r->gzip_ok).
func (w *recorder) gzipClientOK(g *config.Gzip, h http.Header, upstreamLastModified bool) bool {
	if w.gzipRefused || w.sub {
		// nginx's ngx_http_gzip_ok declines for a subrequest whatever
		// the client takes: an included gzip response under "gunzip on"
		// goes out decompressed, and gzip_static on sends no .gz
		// (recorded with nginx 1.22.1 and "Accept-Encoding: gzip";
		// nginx-tests' gunzip_ssi.t)
		return false
	}
	req := gzipfilter.Request{Header: w.req.Header, HTTP10: !w.req.ProtoAtLeast(1, 1)}
	ok, err := gzipfilter.ClientCheck(g, req, h, upstreamLastModified, time.Now())
	if err != nil {
		w.gzipRefused = true
		w.log().LogRequest(errlog.Alert, logRequest(w.st, w.req), err.Error()+" while sending response to client")
	}
	return ok
}

// writeGzip compresses p into the response; $body_bytes_sent counts the
// compressed bytes, as nginx's.
func (w *recorder) writeGzip(p []byte) (int, error) {
	before := w.gz.Out()
	n, err := w.gz.Write(p)
	w.st.BodyBytesSent += w.gz.Out() - before
	return n, err
}

// endGzip ends a compressed body: the rest of it and the gzip trailer go
// out, and the compressor goes back to its pool.
func (w *recorder) endGzip() {
	if !w.gzipping || !w.gz.Active() {
		return
	}
	before := w.gz.Out()
	_ = w.gz.Close() // a write error is the client's, which the writer keeps
	w.st.BodyBytesSent += w.gz.Out() - before
}

// AllowRanges implements static.RangeFilter: a file that the addition
// filter adds to (a 200 of a type in addition_types, add_before_body or
// add_after_body set) is not served in ranges, and neither is a file that the gzip filter
// will compress is not served in ranges (nginx's gzip filter clears
// allow_ranges before its range filter runs). The file's head is judged with
// the fields it will have: its ETag, no Last-Modified field (nginx keeps a
// file's date apart), and what the response has already (an upstream's
// fields across an X-Accel-Redirect).
//
// The sub and SSI filters refuse ranges too: they remove the
// Content-Length, which nginx's range filter needs.
func (w *recorder) AllowRanges(contentType string, size int64) bool {
	if w.set == nil {
		return true
	}
	if w.set.ImageFilter.Op != config.ImageOff && !w.sub {
		return false // nginx's image filter clears allow_ranges
	}
	if wantsAddition(w.set) && !w.sub && additionType(w.set, contentType) {
		return false // the addition filter clears Accept-Ranges first
	}
	if sc := &w.set.SubFilter; sc.Pairs != nil && !w.sub && size != 0 && subfilter.TypeMatches(sc.Types, sc.AnyType, contentType) {
		return false
	}
	if w.set.SSI.On && size != 0 && ssiType(&w.set.SSI, contentType) {
		return false // the SSI filter clears the Content-Length too
	}
	if !w.set.Gzip.On {
		return true
	}
	h := w.Header().Clone()
	h["Content-Type"] = []string{contentType}
	h["Content-Length"] = []string{strconv.FormatInt(size, 10)}
	h["Etag"] = []string{`"file"`}
	g := &w.set.Gzip
	if !gzipfilter.Eligible(g, http.StatusOK, h) {
		return true
	}
	// nginx's gzip header filter marks the 200 for "Vary: Accept-Encoding"
	// before it asks whether the client takes gzip, and before its range
	// filter runs: a 206 or 416 cut from it keeps the field (recorded with
	// nginx 1.22.1: "Range: bytes=0-3" without Accept-Encoding got 206 with
	// Vary), which startGzip adds.
	w.rangeGzipVary = g.Vary
	return !w.gzipClientOK(g, h, false)
}

// startGunzip is nginx's gunzip header filter for the response about to go
// out with header h, after add_header and before sub, charset and gzip: a
// response with "Content-Encoding: gzip" under "gunzip on" gets "Vary:
// Accept-Encoding" under gzip_vary, and, for a client that does not take
// gzip (gzipfilter.ClientOK), the decompressed head
// (gzipfilter.PrepareGunzip) and a decompressor for its body.
func (w *recorder) startGunzip(h http.Header) {
	g := &w.set.Gzip
	if !gzipfilter.GunzipApplies(g, h) {
		return
	}
	if g.Vary {
		w.varyAcceptEncoding(h)
	}
	if w.gzipClientOK(g, h, !w.fileResponse) {
		return
	}
	gzipfilter.PrepareGunzip(h)
	w.LengthUnknown() // the decompressed length is not known before the body
	if w.req.Method == http.MethodHead {
		return
	}
	bf := w.bodyFilters()
	bf.gunzip.Reset((*afterGunzip)(w))
	bf.gunzipping = true
}

// varyAcceptEncoding marks the response for "Vary: Accept-Encoding", where
// nginx's header filter writes it for r->gzip_vary (the gzip, gunzip and
// gzip_static modules set it).
func (w *recorder) varyAcceptEncoding(h http.Header) {
	if w.ew != nil {
		w.ew.gzipFields(true, false)
	} else if !slices.Contains(h["Vary"], "Accept-Encoding") {
		h.Add("Vary", "Accept-Encoding")
	}
}

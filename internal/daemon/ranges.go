package daemon

import (
	"net/http"

	"fulcrum/internal/byterange"
	"fulcrum/internal/cacherule"
)

// upstreamRanges is nginx's range filter (cacherule.Ranger) for the 200s
// the proxy's and the FastCGI client's caches serve or store, and for
// every 200 of theirs under proxy_force_ranges (fastcgi_, scgi_,
// uwsgi_force_ranges) on. It sends the
// whole response, untouched, in a subrequest (nginx's filter skips r !=
// r->main), under "max_ranges 0", in a request the slice module cuts
// itself, and when a filter that changes the body refuses ranges
// (AllowRanges: gzip, sub, SSI, addition). Otherwise it reads the Range
// and If-Range fields against the response's ETag and Last-Modified, at
// most max_ranges ranges, one for a response read from the upstream.
func upstreamRanges(w http.ResponseWriter, r *http.Request, q cacherule.RangeQuery) (*byterange.Cut, int) {
	rec, ok := w.(*recorder)
	if !ok || rec.sub || rec.slice != nil || rec.set == nil || rec.set.RangesOff {
		return nil, http.StatusOK
	}
	if !rec.AllowRanges(q.ContentType, q.Size) {
		return nil, http.StatusOK
	}
	limit := rec.set.MaxRanges
	if q.Single {
		limit = 1
	}
	etag, lastModified := rec.RangeValidators(q.ETag, q.LastModified) // add_header's
	cut, status := byterange.Tagged(r.Header, etag, lastModified, q.Size, limit)
	h := rec.Header()
	switch status {
	case http.StatusPartialContent:
		cut.SetHeader(h, q.ContentType)
	case http.StatusRequestedRangeNotSatisfiable:
		rec.failRange(q.Size)
	default:
		h.Set("Accept-Ranges", "bytes")
	}
	return cut, status
}

// failRange answers nginx's range filter's 416 for a body of size bytes
// whose fields are in the header already: the error page (or error_page's
// answer) with "Content-Range: bytes */SIZE", which goes through the
// headers filter (add_header, expires) as the 200 it was. nginx's own page
// goes without the response's validators; an error_page's answer keeps them.
func (w *recorder) failRange(size int64) {
	h := w.Header()
	byterange.SetUnsatisfiable(h, size)
	if !w.InterceptsError(http.StatusRequestedRangeNotSatisfiable) || w.errorPageUsed {
		delete(h, "Etag")
		delete(h, "Last-Modified")
	}
	w.filterStatus = http.StatusOK
	w.fail(http.StatusRequestedRangeNotSatisfiable)
}

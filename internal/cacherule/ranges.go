package cacherule

import (
	"net/http"

	"fulcrum/internal/byterange"
)

// Ranger is nginx's range filter for a 200 that the cache serves (a HIT, a
// stale or revalidated entry) or that is on its way to it (a response the
// upstream's fields let be cached), which nginx lets the filter cut when the
// upstream sent an Accept-Ranges field (r->allow_ranges, set by
// ngx_http_upstream_copy_allow_ranges, which then drops the field). The
// daemon supplies it: it knows the filters that run before nginx's range
// filter (gzip, sub, SSI, addition refuse ranges), max_ranges, and
// error_page for the 416.
//
// It returns the status to go on with. 200: the whole response, the
// writer's header given "Accept-Ranges: bytes" when the filter ran. 206:
// the header holds the cut's fields (Content-Range or the multipart type,
// Content-Length), and the caller sends the cut's bytes (byterange.Cut). 416:
// the writer answered (nginx's page, or an error_page's redirect, with
// "Content-Range: bytes */SIZE"); the caller writes nothing more and drops
// the response, which nginx does not store either.
type Ranger func(w http.ResponseWriter, r *http.Request, q RangeQuery) (*byterange.Cut, int)

// RangeQuery is the response a Ranger judges, as its head will go out.
type RangeQuery struct {
	// Size is the body's length (its Content-Length).
	Size int64
	// Single allows one range at most (nginx's r->single_range): the
	// response is read from the upstream, in order, not from the cache.
	Single bool
	// ContentType, ETag and LastModified are its fields ("" for none).
	ContentType, ETag, LastModified string
}

// Query is the RangeQuery of a response of size bytes whose client fields
// are h, single for a response not read from the cache.
func Query(h http.Header, size int64, single bool) RangeQuery {
	return RangeQuery{Size: size, Single: single, ContentType: firstOf(h, "Content-Type"),
		ETag: firstOf(h, "Etag"), LastModified: firstOf(h, "Last-Modified")}
}

// firstOf is the first value of the canonical key in h, "" for none.
func firstOf(h http.Header, key string) string {
	if v := h[key]; len(v) > 0 {
		return v[0]
	}
	return ""
}

package static

import (
	"net/http"
	"strings"
	"time"

	"fulcrum/internal/byterange"
	"fulcrum/internal/config"
	"fulcrum/internal/httptime"
)

// This file holds what nginx's not-modified and range filters
// (ngx_http_not_modified_filter_module.c, ngx_http_range_filter_module.c) do
// to a 200 from the static module, ported so that fulcrum answers the same
// requests with the same statuses and heads.

// precond is the outcome of the conditional request headers.
type precond int

const (
	precondNone        precond = iota // send the file
	precondNotModified                // 304
	precondFailed                     // 412
)

// notModified evaluates the conditional headers in nginx's order:
// If-Unmodified-Since and If-Match can fail the request (412); then, when
// If-Modified-Since or If-None-Match is present, every one present must say
// "not modified" for a 304 (modifiedSince tests If-Modified-Since under
// ims). tag is the response's ETag, "" for none.
func notModified(h http.Header, mod time.Time, tag string, ims config.IMSMode) precond {
	if v, ok := first(h, "If-Unmodified-Since"); ok && httptime.Unix(v) < mod.Unix() {
		return precondFailed // an unparsable date fails too, as in nginx
	}
	if v, ok := first(h, "If-Match"); ok && !matchETag(v, tag, false) {
		return precondFailed
	}
	since, hasIMS := first(h, "If-Modified-Since")
	inm, hasINM := first(h, "If-None-Match")
	switch {
	case !hasIMS && !hasINM:
		return precondNone
	case hasIMS && modifiedSince(since, mod, ims):
		return precondNone
	case hasINM && !matchETag(inm, tag, true):
		return precondNone
	}
	return precondNotModified
}

// modifiedSince is nginx's ngx_http_test_if_modified: whether the response
// with Last-Modified mod counts as modified since the If-Modified-Since
// value v. "off" says always (so that a request with If-Modified-Since
// never gets a 304, whatever If-None-Match says), "exact" unless the
// dates are the same second, "before" unless v is that second or later.
func modifiedSince(v string, mod time.Time, mode config.IMSMode) bool {
	if mode == config.IMSOff {
		return true
	}
	t := httptime.Unix(v)
	switch {
	case t == mod.Unix():
		return false
	case mode == config.IMSBefore:
		return t < mod.Unix()
	}
	return true
}

// first returns a request header's first value and whether the header is
// present (an empty value counts, as in nginx). Keys are canonical.
func first(h http.Header, key string) (string, bool) {
	if v := h[key]; len(v) > 0 {
		return v[0], true
	}
	return "", false
}

// matchETag reports whether tag is in list, an If-Match or If-None-Match
// value: "*", or entity tags separated by commas. weak (If-None-Match) lets a
// "W/" prefix match too, on either side. Like ngx_http_test_if_match, it
// compares bytes: the tag must be followed by blanks and a comma or the end;
// without a tag only "*" matches.
func matchETag(list, tag string, weak bool) bool {
	if list == "*" {
		return true
	}
	if tag == "" {
		return false // no ETag (etag off): only "*" matches
	}
	if weak && len(tag) > 2 && tag[0] == 'W' && tag[1] == '/' {
		tag = tag[2:] // a weak response tag compares by its opaque part
	}
	for s := list; s != ""; {
		if weak && len(s) > 2 && s[0] == 'W' && s[1] == '/' {
			s = s[2:]
		}
		if len(tag) > len(s) {
			return false
		}
		if s[:len(tag)] == tag {
			if rest := strings.TrimLeft(s[len(tag):], " \t"); rest == "" || rest[0] == ',' {
				return true
			}
		}
		i := strings.IndexByte(s, ',')
		if i < 0 {
			return false
		}
		s = strings.TrimLeft(s[i:], " \t,")
	}
	return false
}

// rangeVerdict, byteRange: the range filter's types (package byterange).
type (
	rangeVerdict = byterange.Verdict
	byteRange    = byterange.ByteRange
)

const (
	rangeIgnored       = byterange.Ignored
	rangeSatisfiable   = byterange.Satisfiable
	rangeUnsatisfiable = byterange.Unsatisfiable
)

// rangeSet is byterange.Parse.
func rangeSet(v string, size int64, limit int) ([]byteRange, rangeVerdict) {
	return byterange.Parse(v, size, limit)
}

// parseRanges applies Range and If-Range to a file of size bytes the way
// nginx's range filter does: a value shorter than 7 bytes or in another unit
// than "bytes" (any case) is ignored, so is one whose If-Range (an entity tag
// compared exactly, else a date compared to the second with mod, a Unix
// time or -1 for none) does not match. A
// limit above 0 (max_ranges) sends the whole file for more ranges than it.
func parseRanges(h http.Header, tag string, mod int64, size int64, limit int) ([]byteRange, rangeVerdict) {
	v, ok := first(h, "Range")
	if !ok || len(v) < 7 || !strings.EqualFold(v[:6], "bytes=") {
		return nil, rangeIgnored
	}
	if ir, ok := first(h, "If-Range"); ok && !ifRange(ir, tag, mod) {
		return nil, rangeIgnored
	}
	return rangeSet(v[6:], size, limit)
}

// SingleRange is nginx's range filter for a 200 of size bytes from an
// upstream that lets ranges be forced (r->single_range, as for
// memcached_pass) and has neither an entity tag nor a date: it reads the
// Range and If-Range fields of h and returns the status to answer with.
// 206 comes with the range [start, end); 416 is a Range that is malformed
// or names no byte; 200 sends the whole response (no Range, or one in
// another unit; an If-Range, which such a response never matches; more than
// one range; ranges nginx declines).
func SingleRange(h http.Header, size int64) (start, end int64, status int) {
	v, ok := first(h, "Range")
	if !ok || len(v) < 7 || !strings.EqualFold(v[:6], "bytes=") {
		return 0, size, http.StatusOK
	}
	if _, ok := first(h, "If-Range"); ok {
		return 0, size, http.StatusOK
	}
	ranges, verdict := rangeSet(v[6:], size, 1)
	switch verdict {
	case rangeSatisfiable:
		return ranges[0].Start, ranges[0].End, http.StatusPartialContent
	case rangeUnsatisfiable:
		return 0, size, http.StatusRequestedRangeNotSatisfiable
	}
	return 0, size, http.StatusOK
}

// TaggedRange is nginx's range filter for a 200 of size bytes that allows
// one range (r->single_range) and carries an entity tag (etag, "" for
// none) and a Last-Modified date (lastModified, "" for none): the whole
// response nginx's slice module makes of its slices. It reads the Range
// and If-Range fields of h as SingleRange does, except that If-Range may
// match: an entity tag (a value ending in a quote) compared exactly with
// etag, else a date compared, to the second, with lastModified's. A
// response without the one If-Range needs is sent whole.
func TaggedRange(h http.Header, etag, lastModified string, size int64) (start, end int64, status int) {
	c, status := byterange.Tagged(h, etag, lastModified, size, 1)
	if c == nil {
		return 0, size, status
	}
	return c.Ranges[0].Start, c.Ranges[0].End, status
}

// ifRange reports whether an If-Range value lets the ranges apply to a
// response with the entity tag tag and the Unix time mod (-1 for no
// Last-Modified, which no date matches).
func ifRange(v, tag string, mod int64) bool {
	if len(v) >= 2 && v[len(v)-1] == '"' {
		return v == tag
	}
	return mod != -1 && httptime.Unix(v) == mod
}

// sendRanges sends the 206 of ranges (byterange.Cut): one range with its
// Content-Range, or several as nginx's multipart/byteranges body, each part
// with the file's Content-Type.
func (o *output) sendRanges(ranges []byteRange) {
	c := &byterange.Cut{Ranges: ranges, Size: o.size}
	c.SetHeader(o.w.Header(), o.ctype)
	o.w.WriteHeader(http.StatusPartialContent)
	if o.r.Method != http.MethodHead {
		_ = c.WriteParts(o.w, o.src) // a client that went away ends it
	}
}

// Conditional evaluates a request's conditional headers against a response
// that has Last-Modified mod and ETag tag ("" for none), as nginx's
// not-modified filter does for any 200 (empty_gif's too), with the default
// "if_modified_since exact": 0 means send the response, else 304 or 412.
func Conditional(h http.Header, mod time.Time, tag string) int {
	return ConditionalWith(h, mod, tag, config.IMSExact)
}

// ConditionalFor is Conditional under the if_modified_since mode ims, for a
// location's cached responses (chosen once, when the location is built).
func ConditionalFor(ims config.IMSMode) func(h http.Header, mod time.Time, tag string) int {
	if ims == config.IMSExact {
		return Conditional
	}
	return func(h http.Header, mod time.Time, tag string) int { return ConditionalWith(h, mod, tag, ims) }
}

// ConditionalWith is Conditional under the if_modified_since mode ims.
func ConditionalWith(h http.Header, mod time.Time, tag string, ims config.IMSMode) int {
	switch notModified(h, mod, tag, ims) {
	case precondFailed:
		return http.StatusPreconditionFailed
	case precondNotModified:
		return http.StatusNotModified
	}
	return 0
}

// Package gzipfilter is nginx's gzip filter (ngx_http_gzip_filter_module and
// ngx_http_gzip_ok of its core module) for fulcrum's responses: the decision
// whether a response is compressed, as pure functions of the location's
// config.Gzip, the request and the response head, the head changes that go
// with it, and a pooled gzip compressor for the body.
//
// The decision has nginx's two steps:
//
//   - Eligible: the location and the response alone (gzip on, status 200, 403
//     or 404, no Content-Encoding, a Content-Length of at least
//     gzip_min_length or none, a type in gzip_types). When it holds, nginx
//     sends "Vary: Accept-Encoding" under gzip_vary, whatever the client
//     accepts;
//   - ClientOK: the request (Accept-Encoding, HTTP version, Via with
//     gzip_proxied, User-Agent with gzip_disable).
//
// A response that passes both goes out with Prepare's head and its body
// through a Writer.
package gzipfilter

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"fulcrum/internal/config"
	"fulcrum/internal/h1"
)

// Eligible reports whether g compresses a response with status and header h
// as far as the location and the response go (the first test of nginx's
// gzip header filter): gzip on, status 200, 403 or 404, no Content-Encoding
// with a value, a Content-Length (when there is one) of at least
// gzip_min_length, and a Content-Type in gzip_types. A HEAD request is no
// exception: nginx 1.22 gives it the compressed response's head.
func Eligible(g *config.Gzip, status int, h http.Header) bool {
	if !g.On || (status != http.StatusOK && status != http.StatusForbidden && status != http.StatusNotFound) {
		return false
	}
	if v := h["Content-Encoding"]; len(v) > 0 && v[0] != "" {
		return false
	}
	if v := h["Content-Length"]; len(v) > 0 {
		if n, err := strconv.ParseInt(v[0], 10, 64); err == nil && n < g.MinLength {
			return false
		}
	}
	return TypeMatches(g, first(h, "Content-Type"))
}

// TypeMatches reports whether a response with Content-Type ct is of a type
// in gzip_types. As nginx, the type is the whole value, lower-cased, unless
// a "charset=" parameter follows a ';', which ends it there: "text/html;
// charset=utf-8" is text/html, "text/html; foo=bar" and "text/html
// ;charset=utf-8" are not. "gzip_types *" matches any response, one without
// a Content-Type too.
func TypeMatches(g *config.Gzip, ct string) bool {
	if g.AnyType {
		return true
	}
	if ct == "" {
		return false
	}
	t, _ := h1.SplitContentType(ct)
	if strings.EqualFold(t, "text/html") {
		return true
	}
	return slices.ContainsFunc(g.Types, func(s string) bool { return strings.EqualFold(s, t) })
}

// Request is what ClientOK reads of the client's request.
type Request struct {
	// Header is the request's header, keys canonical; of each field the
	// first value counts, as nginx keeps the first.
	Header http.Header
	// HTTP10 is an HTTP/1.0 request (gzip_http_version 1.1 leaves it out).
	HTTP10 bool
}

// ClientOK is nginx's ngx_http_gzip_ok: whether the client gets a compressed
// response. It needs an Accept-Encoding that accepts gzip (AcceptsGzip), not
// a User-Agent of MSIE 4 to 6 under "gzip_disable msie6", an HTTP version of
// at least gzip_http_version, and, for a request with a Via field (one that
// came through a proxy), gzip_proxied's leave, which looks at the response
// header h (Expires against Date, or now without one; Cache-Control;
// Last-Modified; ETag). Then no gzip_disable expression may match the
// User-Agent.
//
// upstreamLastModified tells whether h's Last-Modified, if any, is one nginx
// keeps as a field (an upstream's): a static file's is not, so
// no_last_modified does not refuse it.
func ClientOK(g *config.Gzip, req Request, h http.Header, upstreamLastModified bool, now time.Time) bool {
	ok, _ := ClientCheck(g, req, h, upstreamLastModified, now)
	return ok
}

// ClientCheck is ClientOK with the error of a gzip_disable regex whose
// match hit its bound (it wraps pcre.ErrMatchLimit): the client does not
// get gzip then, as nginx's ngx_http_gzip_ok refuses it after
// ngx_regex_exec_array logged the failure at alert; the caller logs err.
func ClientCheck(g *config.Gzip, req Request, h http.Header, upstreamLastModified bool, now time.Time) (bool, error) {
	ae, ok := req.Header["Accept-Encoding"]
	if !ok || len(ae) == 0 || !AcceptsGzip(ae[0]) {
		return false, nil
	}
	ua := first(req.Header, "User-Agent")
	if g.DisableMSIE6 && MSIE6(ua) {
		return false, nil
	}
	if req.HTTP10 && !g.HTTP10 {
		return false, nil
	}
	if _, via := req.Header["Via"]; via && !proxiedOK(g.Proxied, req, h, upstreamLastModified, now) {
		return false, nil
	}
	if _, hasUA := req.Header["User-Agent"]; hasUA {
		for _, re := range g.Disable {
			if matched, err := re.Match(ua); matched || err != nil {
				return false, err
			}
		}
	}
	return true, nil
}

// proxiedOK applies gzip_proxied p to a request that came through a proxy,
// in nginx's order: off refuses, any and (with Authorization) auth allow;
// an Expires field decides alone (expired: it lies before the response's
// Date), then a Cache-Control field (no-cache, no-store, private); without
// either, no_last_modified and no_etag refuse a response with that field
// and anything else passes.
func proxiedOK(p config.GzipProxied, req Request, h http.Header, upstreamLastModified bool, now time.Time) bool {
	switch {
	case p&config.GzipProxiedOff != 0:
		return false
	case p&config.GzipProxiedAny != 0:
		return true
	case p&config.GzipProxiedAuth != 0 && len(req.Header["Authorization"]) > 0:
		return true
	}
	if exp, ok := h["Expires"]; ok && len(exp) > 0 {
		return p&config.GzipProxiedExpired != 0 && expired(exp[0], first(h, "Date"), now)
	}
	if cc := h["Cache-Control"]; len(cc) > 0 {
		return p&config.GzipProxiedNoCache != 0 && hasDirective(cc, "no-cache") ||
			p&config.GzipProxiedNoStore != 0 && hasDirective(cc, "no-store") ||
			p&config.GzipProxiedPrivate != 0 && hasDirective(cc, "private")
	}
	if _, lm := h["Last-Modified"]; lm && upstreamLastModified && p&config.GzipProxiedNoLastModified != 0 {
		return false
	}
	if _, tag := h["Etag"]; tag && p&config.GzipProxiedNoETag != 0 {
		return false
	}
	return true
}

// expired reports whether an Expires value lies before date (the response's
// Date field, or now without one). A date that does not parse is not
// expired, as nginx declines then.
func expired(expires, date string, now time.Time) bool {
	e, err := http.ParseTime(expires)
	if err != nil {
		return false
	}
	d := now
	if date != "" {
		if d, err = http.ParseTime(date); err != nil {
			return false
		}
	}
	return e.Unix() < d.Unix()
}

// hasDirective reports whether one of the Cache-Control values holds name as
// a directive without a value, as nginx's ngx_http_parse_multi_header_lines
// finds it: at the start of the value or after ',' or ';' and spaces, then
// only spaces before the end or a ','. "no-cache" matches "max-age=0,
// No-Cache" but not no-cache="set-cookie".
func hasDirective(values []string, name string) bool {
	for _, v := range values {
		for start := 0; start < len(v); {
			if len(v)-start >= len(name) && strings.EqualFold(v[start:start+len(name)], name) {
				i := start + len(name)
				for i < len(v) && v[i] == ' ' {
					i++
				}
				if i == len(v) || v[i] == ',' {
					return true
				}
			}
			for start < len(v) { // skip to the next ',' or ';'
				c := v[start]
				start++
				if c == ',' || c == ';' {
					break
				}
			}
			for start < len(v) && v[start] == ' ' {
				start++
			}
		}
	}
	return false
}

// first is a header field's first value, "" without one.
func first(h http.Header, key string) string {
	if v := h[key]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// Prepare turns h into the head of a compressed response, as nginx's gzip
// header filter does: Content-Encoding: gzip, no Content-Length (the body
// goes out chunked, or up to the close on HTTP/1.0), no Accept-Ranges (a
// compressed body is not served in ranges), and the ETag weakened (WeakETag).
func Prepare(h http.Header) {
	h["Content-Encoding"] = contentEncodingGzip
	delete(h, "Content-Length")
	delete(h, "Accept-Ranges")
	WeakETag(h)
}

// contentEncodingGzip is shared by every compressed response's header: no
// one appends to it.
var contentEncodingGzip = []string{"gzip"}

// WeakETag makes the ETag of h weak, as nginx's ngx_http_weak_etag does for
// a body it changes: a strong one ("x") becomes W/"x", a weak one stays, and
// one that is not a quoted string is removed.
func WeakETag(h http.Header) {
	v, ok := h["Etag"]
	if !ok || len(v) == 0 {
		return
	}
	tag := v[0]
	switch {
	case len(tag) > 2 && strings.HasPrefix(tag, "W/"):
	case strings.HasPrefix(tag, `"`):
		h["Etag"] = []string{"W/" + tag}
	default:
		delete(h, "Etag")
	}
}

// Package charsetfilter is nginx's charset header filter
// (ngx_http_charset_filter_module) without recoding: the Content-Type a
// response goes out with under a location's config.Charset, as a pure
// function of the settings, the status and the Content-Type it had.
//
// fulcrum never recodes a body. The configuration refuses the settings under
// which nginx would (a charset_map that applies); what remains is nginx's
// header logic: which responses get "; charset=NAME", when a proxied
// response's own charset is replaced (override_charset), and when nginx logs
// that it has no charset_map between two charsets and leaves the response
// as it is.
package charsetfilter

import (
	"slices"
	"strings"

	"fulcrum/internal/config"
	"fulcrum/internal/h1"
)

// Result is what the filter did besides the Content-Type.
type Result struct {
	// UnknownOverride reports an override charset (X-Accel-Charset) the
	// configuration does not know: nginx logs `unknown charset "NAME" to
	// override` and sends the response as it is, without the location's
	// charset.
	UnknownOverride bool
	// NoMapSource, when not empty, is the source charset nginx found no
	// charset_map for (to the destination it was given): nginx logs
	// `no "charset_map" between the charsets "SOURCE" and "DEST"` and sends
	// the response as it is.
	NoMapSource string
}

// Response is what the filter reads of the response head.
type Response struct {
	// Status is the response's status code.
	Status int
	// ContentType is its Content-Type value ("" for none).
	ContentType string
	// Encoded reports a Content-Encoding with a value.
	Encoded bool
	// Override is an upstream's X-Accel-Charset ("" for none): the
	// destination charset in place of the location's, whatever
	// charset_types says, when the configuration knows its name.
	Override string
}

// ContentType returns the Content-Type value for response r under the
// charset settings c and the destination charset
// dst (c.Name, or the value of its variable). source gives the value of a
// source_charset variable, called only when nginx reads it; it is nil for a
// static source_charset. ok false means that variable was not found, which
// fails the request in nginx. When nothing changes, ContentType returns ct
// itself and allocates nothing.
//
// As nginx (ngx_http_charset_header_filter and ngx_http_header_filter):
//   - a response without a Content-Type is left alone, under "charset_types *" too;
//   - the type compared with charset_types is ct without case, up to a ';'
//     that a "charset=" parameter follows (as the upstream module splits it);
//   - a ct with a non-empty charset parameter is left alone unless
//     override_charset is on; then it is replaced ("TYPE; charset=DST")
//     when it names the destination charset without case, else nginx
//     would recode (refused at load) or logs NoMapSource, except that it
//     leaves an encoded response between two charsets the configuration
//     names without a word;
//   - a 301 or 302 gets no charset (for old browsers, says nginx); a
//     replaced charset of one is dropped, so "text/html" goes out;
//   - "; charset=" is added only to a ct without parameter;
//   - an upstream's X-Accel-Charset (r.Override) is the destination
//     charset, for any type and over a ct's own charset (which is then the
//     source), when the configuration knows the name; an unknown one
//     leaves the response as it is (UnknownOverride). Recorded with nginx
//     1.22.1.
func ContentType(c *config.Charset, r Response, dst string, source func() (string, bool)) (string, Result, bool) {
	ct := r.ContentType
	if ct == "" {
		return ct, Result{}, true
	}
	typ, cs := h1.SplitContentType(ct)
	switch {
	case r.Override != "":
		if !known(c, r.Override) {
			return ct, Result{UnknownOverride: true}, true
		}
		dst = r.Override
	case cs != "":
		if !c.Override {
			return ct, Result{}, true
		}
	case !typeMatches(c, typ):
		return ct, Result{}, true
	}
	src, srcOff := cs, false
	if src == "" {
		switch {
		case c.Source == "":
			srcOff = true
		case source != nil:
			v, found := source()
			if !found {
				return ct, Result{}, false
			}
			src = v
		default:
			src = c.Source
		}
	}
	base := ct
	if !srcOff {
		if !strings.EqualFold(src, dst) {
			if r.Encoded && known(c, src) && known(c, dst) {
				return ct, Result{}, true
			}
			return ct, Result{NoMapSource: src}, true
		}
		// nginx cuts the response's own charset parameter only when both
		// names are charsets it knows (the same index).
		if known(c, dst) {
			base = typ
		}
	}
	if r.Status == 301 || r.Status == 302 || dst == "" || len(base) != len(typ) {
		return base, Result{}, true
	}
	return base + "; charset=" + dst, Result{}, true
}

// typeMatches reports whether typ is in charset_types, without case.
func typeMatches(c *config.Charset, typ string) bool {
	if c.AnyType {
		return true
	}
	return slices.ContainsFunc(c.Types, func(t string) bool { return strings.EqualFold(t, typ) })
}

// known reports whether name is a charset the configuration writes.
func known(c *config.Charset, name string) bool {
	return slices.ContainsFunc(c.Known, func(k string) bool { return strings.EqualFold(k, name) })
}

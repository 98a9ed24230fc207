package daemon

import (
	"net/http"
	"strings"

	"fulcrum/internal/errlog"
	"fulcrum/internal/proxy"
	"fulcrum/internal/vars"
)

var _ proxy.AccelRedirector = (*recorder)(nil)

// AccelRedirect implements proxy.AccelRedirector: it keeps the upstream's
// X-Accel-Redirect target for proxyHandler.serve, which follows it.
func (w *recorder) AccelRedirect(target string) {
	w.accel, w.hasAccel = target, true
}

// takeAccel returns the X-Accel-Redirect target AccelRedirect kept, if any.
func (w *recorder) takeAccel() (string, bool) {
	t, ok := w.accel, w.hasAccel
	w.accel, w.hasAccel = "", false
	return t, ok
}

// followAccel turns an upstream's X-Accel-Redirect into the internal redirect
// nginx's ngx_http_upstream_process_headers makes: a named location keeps the
// method and arguments; a URI takes the target's arguments (none without a
// '?') and turns the method into GET (HEAD stays HEAD); an unsafe URI is
// logged and answered 404.
func followAccel(rec *recorder, r *http.Request, st *vars.State, target string) *internalRedirect {
	if strings.HasPrefix(target, "@") {
		return &internalRedirect{named: target}
	}
	uri, args, ok := unsafeURI(target)
	if !ok {
		rec.log().LogRequest(errlog.Error, logRequest(st, r),
			`unsafe URI "`+target+`" was detected while reading response header from upstream`)
		rec.fail(http.StatusNotFound)
		return nil
	}
	if r.Method != http.MethodHead {
		r.Method, st.Method = http.MethodGet, http.MethodGet
	}
	// nginx's ngx_http_parse_unsafe_uri points $args after a '?', even an
	// empty one.
	return &internalRedirect{uri: uri, args: args, argsFound: strings.Contains(target, "?")}
}

// unsafeURI splits target at its '?' into a URI and arguments and checks the
// URI as nginx's ngx_http_parse_unsafe_uri does: not empty, no NUL, no ".."
// segment, before and after its %XX escapes are decoded (the decoded URI is
// the one returned). ok is false for an unsafe one.
func unsafeURI(target string) (uri, args string, ok bool) {
	uri, args, _ = strings.Cut(target, "?")
	if uri == "" || !safePath(uri) {
		return "", "", false
	}
	if strings.Contains(uri, "%") {
		uri = unescapeLoose(uri)
		if uri == "" || !safePath(uri) {
			return "", "", false
		}
	}
	return uri, args, true
}

// safePath reports a path without NUL and without a ".." segment.
func safePath(p string) bool {
	if strings.IndexByte(p, 0) >= 0 {
		return false
	}
	for seg := range strings.SplitSeq(p, "/") {
		if seg == ".." {
			return false
		}
	}
	return true
}

// unescapeLoose decodes %XX escapes, leaving a malformed one as it is, as
// nginx's ngx_unescape_uri does.
func unescapeLoose(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]) {
			b.WriteByte(unhex(s[i+1])<<4 | unhex(s[i+2]))
			i += 2
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c <= '9':
		return c - '0'
	case c >= 'a':
		return c - 'a' + 10
	}
	return c - 'A' + 10
}

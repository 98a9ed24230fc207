package proxy

import (
	"bytes"

	"fulcrum/internal/h1"
	"fulcrum/internal/vars"
)

// AccelRedirector is a ResponseWriter that follows an upstream's
// X-Accel-Redirect, as the daemon's does: target is the field's value as
// received ("/uri?args" or "@name"), and the writer makes the internal
// redirect (or its 404 for an unsafe URI) once ServeHTTP returns. Under any
// other writer the field is only hidden, as before.
type AccelRedirector interface {
	AccelRedirect(target string)
}

// accelKept are the upstream fields nginx 1.22 keeps for the response of an
// X-Accel-Redirect: those whose ngx_http_upstream_headers_in entry has
// redirect set. proxy_hide_header does not apply to them, as in nginx.
var accelKept = map[string]bool{
	"Content-Type": true, "Set-Cookie": true, "Content-Disposition": true,
	"Cache-Control": true, "Expires": true, "Accept-Ranges": true,
}

// accelRedirect hands an X-Accel-Redirect in the upstream's response to the
// writer, and reports whether it did: the upstream's body is not read (its
// connection is closed, not reused), the fields of accelKept go to the
// client's header, and every field stays in $upstream_http_NAME. A request
// body read into memory becomes the request's body again, so that a
// proxy_pass where the redirect leads sends it too, as nginx does with the
// body it keeps (with the method turned into GET for a URI).
func (h *Handler) accelRedirect(req *request) bool {
	ar := req.caps.accel
	if ar == nil || req.resp.upgraded || h.set.IgnoreAccelRedirect {
		return false
	}
	head := &req.resp.head
	target, ok := head.Headers.Lookup("X-Accel-Redirect")
	if !ok {
		return false
	}
	h.accelCharset(req)
	fields := req.st.UpstreamFields()
	out := req.w.Header()
	for _, f := range head.Headers {
		name, value := string(h1.AppendCanonical(nil, f.Name)), string(f.Value)
		fields = append(fields, vars.Field{Name: name, Value: value})
		if accelKept[name] {
			out[name] = append(out[name], value)
		}
	}
	req.st.SetUpstreamFields(fields)
	req.keepBody(true)
	ar.AccelRedirect(string(target))
	return true
}

// accelCharset sets the response's charset from the upstream's last
// X-Accel-Charset (unless proxy_ignore_headers lists it) for an answer
// other than the upstream's own: nginx's upstream header handler sets it
// as it reads the head, so an X-Accel-Redirect's answer and an intercepted
// error's page carry it too (recorded with nginx 1.22.1). copyHeader sets
// it for the upstream's own answer.
func (h *Handler) accelCharset(req *request) {
	if h.set.IgnoreAccelCharset {
		return
	}
	for _, f := range req.resp.head.Headers {
		if bytes.EqualFold(f.Name, accelCharsetName) {
			req.st.OverrideCharset = string(f.Value)
		}
	}
}

// accelCharsetName is the field accelCharset looks for.
var accelCharsetName = []byte("X-Accel-Charset")

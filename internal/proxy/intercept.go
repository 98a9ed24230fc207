package proxy

import (
	"net/http"

	"fulcrum/internal/h1"
	"fulcrum/internal/vars"
)

// ErrorInterceptor is a ResponseWriter that can answer an upstream's error
// status with an error page of its own, as the daemon's does for
// proxy_intercept_errors on: its error_page for the status. The proxy asks
// only when proxy_intercept_errors is on and the status is 300 or more, after
// the proxy_next_upstream decision, and answers through the writer's Fail.
type ErrorInterceptor interface {
	// InterceptsError reports whether the writer has an error page for
	// status (nginx looks at the location's error_page list alone, even when
	// an error page is being served already).
	InterceptsError(status int) bool
}

// interceptError answers the upstream response in req.resp with the writer's
// error page for its status, and reports whether it did, as nginx 1.22's
// ngx_http_upstream_intercept_errors: the upstream's header fields stay in
// $upstream_http_NAME but none goes to the client, except the first
// WWW-Authenticate of a 401 (spelled as received); the body is not read, so
// the connection is reused only when the response has none (Content-Length 0,
// 204, 304, a HEAD request), as nginx's u->keepalive. A caching location
// keeps the status in the cache (storeError).
func (h *Handler) interceptError(req *request) bool {
	resp := &req.resp
	status := resp.head.Status
	ic, ok := req.w.(ErrorInterceptor)
	if !ok || resp.upgraded || !ic.InterceptsError(status) {
		return false
	}
	fields := req.st.UpstreamFields()
	out := req.w.Header()
	challenged := false
	for _, f := range resp.head.Headers {
		name, value := string(h1.AppendCanonical(nil, f.Name)), string(f.Value)
		fields = append(fields, vars.Field{Name: name, Value: value})
		if status == http.StatusUnauthorized && !challenged && h1.EqualFold(f.Name, "WWW-Authenticate") {
			out[string(f.Name)] = []string{value}
			challenged = true
		}
	}
	req.st.SetUpstreamFields(fields)
	resp.done = resp.body.Remaining() == 0
	h.storeError(req, status)
	fail(req.w, status, h.server)
	req.keepBody(false)
	return true
}

package proxy

import (
	"net/http"
	"net/http/httputil"
	"net/textproto"
	"net/url"
	"slices"
	"strings"

	"fulcrum/internal/vars"
)

// headerRule is a compiled proxy_set_header.
type headerRule struct {
	name  string // canonical
	value *vars.Template
}

// dropped are request headers fulcrum never forwards, besides the hop-by-hop
// ones: Expect is answered by fulcrum itself.
var dropped = []string{"Expect"}

// rewrite builds the upstream request from scratch: the client's end-to-end
// headers first (without hop-by-hop fields, those the client's Connection header
// names, and underscore names unless allowed), then fulcrum's own headers on top,
// so a client can never delete or spoof a header fulcrum sets.
func (h *Handler) rewrite(pr *httputil.ProxyRequest) {
	req := fromContext(pr.In.Context())
	in, out := pr.In, pr.Out
	out.Header = h.clientHeaders(in)
	up := upgradeType(in.Header)
	var buf []byte
	for _, rule := range h.headers {
		buf = rule.value.Append(buf[:0], req.st)
		if len(buf) == 0 {
			delete(out.Header, rule.name)
			if rule.name == "Host" {
				out.Host = ""
			}
			continue
		}
		if rule.name == "Host" {
			out.Host = string(buf)
			delete(out.Header, "Host")
			continue
		}
		out.Header[rule.name] = []string{string(buf)}
	}
	if up != "" && !strings.EqualFold(up, "h2c") {
		out.Header["Connection"] = []string{"Upgrade"}
		out.Header["Upgrade"] = []string{up}
	}
	if _, ok := out.Header["User-Agent"]; !ok {
		out.Header["User-Agent"] = []string{""} // no Go default User-Agent
	}
	h.rewriteTarget(out, req)
	h.rewriteBody(out, req)
	if h.set.ProxyMethod != "" {
		out.Method = h.set.ProxyMethod
	}
	out.Close = h.set.ProxyHTTPVersion == "1.0"
}

// clientHeaders copies the client's forwardable header fields.
func (h *Handler) clientHeaders(in *http.Request) http.Header {
	out := make(http.Header, len(in.Header))
	if !h.set.ProxyPassRequestHeaders {
		return out
	}
	named := connectionTokens(in.Header)
	for name, values := range in.Header {
		if slices.Contains(hopByHop, name) || slices.Contains(named, name) || slices.Contains(dropped, name) {
			continue
		}
		if !h.set.UnderscoresInHeaders && strings.IndexByte(name, '_') >= 0 {
			continue
		}
		out[name] = values
	}
	return out
}

// upgradeType returns the protocol a client asks to upgrade to, if its Connection
// header names Upgrade.
func upgradeType(h http.Header) string {
	for _, tok := range connectionTokens(h) {
		if tok == "Upgrade" {
			return h.Get("Upgrade")
		}
	}
	return ""
}

// rewriteTarget sets the request target per proxy_pass's URI rules. The query
// string is forwarded byte for byte.
// With variables in proxy_pass, a URI in the evaluated URL replaces the request
// URI as it is (nginx's rule); without one the client's URI is passed.
func (h *Handler) rewriteTarget(out *http.Request, req *request) {
	st := req.st
	var target string
	if req.hasURI {
		target = req.uri
	} else {
		target = h.uri.target(st.RequestURI, st.Path, st.Args, strings.IndexByte(st.RequestURI, '?') >= 0)
	}
	u := &url.URL{Scheme: "http", Host: "upstream"}
	if !strings.HasPrefix(target, "//") {
		u.Opaque = target // written as is by the client
	} else {
		path, query, _ := strings.Cut(target, "?")
		u.RawQuery = query
		u.RawPath = path
		if p, err := url.PathUnescape(path); err == nil {
			u.Path = p
		} else {
			u.Path = path
		}
	}
	out.URL = u
}

// rewriteBody applies proxy_pass_request_body and proxy_set_body.
func (h *Handler) rewriteBody(out *http.Request, req *request) {
	switch {
	case h.setBody != nil:
		body := h.setBody.String(req.st)
		out.Body = nil
		out.ContentLength = int64(len(body))
		req.body = &replayBody{buf: []byte(body), buffered: true, empty: body == ""}
		delete(out.Header, "Transfer-Encoding")
	case !h.set.ProxyPassRequestBody:
		out.Body = nil
		out.ContentLength = 0
		req.body = &replayBody{empty: true, buffered: true}
		delete(out.Header, "Content-Length")
	}
	out.Header.Del(textproto.CanonicalMIMEHeaderKey("Content-Length"))
}

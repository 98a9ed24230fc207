package proxy

import (
	"net/http"

	"fulcrum/internal/h1"
	"fulcrum/internal/vars"
)

// earlyHints is early_hints (nginx 1.29.0): the conditions under which an
// upstream's 103 (Early Hints) responses are passed on to the client.
// nginx's words: "If at least one value of the string parameters is not
// empty and is not equal to "0" then the response will be passed." Without
// the directive (nil) every interim response is dropped, as before 1.29.
type earlyHints []*vars.Template

// compileEarlyHints compiles the directive's parameters; nil without it.
func compileEarlyHints(c *vars.Compiler, srcs []string) (earlyHints, error) {
	var out earlyHints
	for _, s := range srcs {
		t, err := c.Compile(s)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, nil
}

// allow reports whether one of the conditions holds for the request.
func (e earlyHints) allow(st *vars.State) bool {
	for _, t := range e {
		if v := t.String(st); v != "" && v != "0" {
			return true
		}
	}
	return false
}

// hintsFor returns the function the upstream exchange calls with each 103
// the upstream sends before its final response, or nil when none is to be
// passed: no early_hints, a subrequest (its response is not the client's,
// as nginx sends hints for the main request only), or a client older than
// HTTP/1.1, which must not get an interim response (RFC 9110 section 15.2).
// The conditions are evaluated at the first 103, then kept for the request.
func (h *Handler) hintsFor(req *request) func(*h1.Response) {
	if len(h.earlyHints) == 0 || req.st.InSubrequest || !req.in.ProtoAtLeast(1, 1) {
		return nil
	}
	decided, pass := false, false
	return func(head *h1.Response) {
		if !decided {
			decided, pass = true, h.earlyHints.allow(req.st)
		}
		if pass {
			h.passEarlyHints(req.w, head)
		}
	}
}

// passEarlyHints writes the 103 to the client with the upstream's fields,
// less the hop-by-hop ones, those its Connection field names, framing and
// those proxy_hide_header hides (Server, Date, X-Pad, X-Accel-* unless
// proxy_pass_header passes them). The response's own fields, already set on
// w, are kept aside meanwhile and put back after.
func (h *Handler) passEarlyHints(w http.ResponseWriter, head *h1.Response) {
	hdr := w.Header()
	saved := make(http.Header, len(hdr))
	for k, v := range hdr {
		saved[k] = v
		delete(hdr, k)
	}
	n := 0
	for _, f := range head.Headers {
		if head.Headers.HopByHop(f.Name) || h1.EqualFold(f.Name, "Content-Length") {
			continue
		}
		name := string(h1.AppendCanonical(nil, f.Name))
		if h.hide[name] {
			continue
		}
		hdr[name] = append(hdr[name], string(f.Value))
		n++
	}
	if n > 0 {
		w.WriteHeader(http.StatusEarlyHints)
	}
	for k := range hdr {
		delete(hdr, k)
	}
	for k, v := range saved {
		hdr[k] = v
	}
}

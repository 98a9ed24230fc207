package proxy

import (
	"errors"
	"net/http"
	"net/textproto"
	"sync"

	"fulcrum/internal/h1"
	"fulcrum/internal/vars"
)

// earlyHints is early_hints (nginx 1.29.0): the conditions under which an
// upstream's 103 (Early Hints) responses are passed on to the client.
// nginx's words: "If at least one value of the string parameters is not
// empty and is not equal to "0" then the response will be passed." Without
// the directive (nil) every interim response is dropped, as before 1.29.
type earlyHints []*vars.Template

// errGRPCInterim is a gRPC upstream that sent more interim heads than
// maxGRPCInterim allows.
var errGRPCInterim = errors.New("upstream sent too many interim responses")

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
// proxy_pass_header passes them).
func (h *Handler) passEarlyHints(w http.ResponseWriter, head *h1.Response) {
	writeEarlyHints(w, func(hdr http.Header) int {
		n := 0
		for _, f := range head.Headers {
			if head.Headers.HopByHop(f.Name) || h1.EqualFold(f.Name, "Content-Length") {
				continue
			}
			name := string(h1.AppendCanonical(nil, f.Name))
			if h.hide.has(name) {
				continue
			}
			hdr[name] = append(hdr[name], string(f.Value))
			n++
		}
		return n
	})
}

// writeEarlyHints writes a 103 to w with the fields fill adds to its
// (emptied) header; fill returns how many it added, and a 103 left without
// fields is not sent. The response's own fields, already set on w, are
// kept aside meanwhile and put back after.
func writeEarlyHints(w http.ResponseWriter, fill func(hdr http.Header) int) {
	hdr := w.Header()
	saved := make(http.Header, len(hdr))
	for k, v := range hdr {
		saved[k] = v
		delete(hdr, k)
	}
	if fill(hdr) > 0 {
		w.WriteHeader(http.StatusEarlyHints)
	}
	for k := range hdr {
		delete(hdr, k)
	}
	for k, v := range saved {
		hdr[k] = v
	}
}

// maxGRPCInterim bounds the bytes of the interim (1xx) heads one gRPC
// request may receive while early_hints passes them: net/http's HTTP/2
// client leaves that bound to whoever reads them.
const maxGRPCInterim = 1 << 20

// grpcHints passes a gRPC upstream's 103 responses on to the client under
// early_hints (nginx 1.29.0 does so for grpc_pass as for proxy_pass). The
// HTTP/2 client calls got1xx on its connection's read goroutine while the
// handler waits in RoundTrip; mu orders those calls with the handler's own
// use of the writer and the request's variables, and active (set around
// each attempt's RoundTrip) keeps a late call, after an attempt ended with
// an error, from writing.
type grpcHints struct {
	h  *GRPCHandler
	w  http.ResponseWriter
	st *vars.State
	// mu guards the fields below, and w and st during got1xx.
	mu            sync.Mutex
	active        bool
	decided, pass bool
	size          int
}

// grpcHintsFor returns the request's grpcHints, or nil when no 103 is to
// be passed: no early_hints, a subrequest, or a client older than HTTP/1.1
// (see hintsFor).
func (h *GRPCHandler) grpcHintsFor(w http.ResponseWriter, r *http.Request, st *vars.State) *grpcHints {
	if len(h.earlyHints) == 0 || st.InSubrequest || !r.ProtoAtLeast(1, 1) {
		return nil
	}
	return &grpcHints{h: h, w: w, st: st}
}

// setActive starts (true) or ends (false) an attempt's wait for its head.
func (g *grpcHints) setActive(on bool) {
	if g == nil {
		return
	}
	g.mu.Lock()
	g.active = on
	g.mu.Unlock()
}

// got1xx is the HTTP/2 client's Got1xxResponse: a 103 goes on to the
// client when early_hints's conditions (evaluated at the first one) hold,
// with the upstream's fields less those HTTP/2 forbids, Content-Length and
// those grpc_hide_header hides. Other interim statuses are dropped. An
// error (too many interim bytes) fails the attempt.
func (g *grpcHints) got1xx(code int, hdr textproto.MIMEHeader) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	for name, vs := range hdr {
		g.size += len(name) + 32
		for _, v := range vs {
			g.size += len(v)
		}
	}
	if g.size > maxGRPCInterim {
		return errGRPCInterim
	}
	if code != http.StatusEarlyHints || !g.active {
		return nil
	}
	if !g.decided {
		g.decided, g.pass = true, g.h.earlyHints.allow(g.st)
	}
	if !g.pass {
		return nil
	}
	writeEarlyHints(g.w, func(out http.Header) int {
		n := 0
		for name, vs := range hdr {
			if grpcHop(name) || name == "Content-Length" || g.h.hide[name] {
				continue
			}
			out[name] = append(out[name], vs...)
			n += len(vs)
		}
		return n
	})
	return nil
}

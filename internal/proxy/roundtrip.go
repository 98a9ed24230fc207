package proxy

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/netip"

	"fulcrum/internal/balancer"
	"fulcrum/internal/config"
	"fulcrum/internal/errlog"
	"fulcrum/internal/upstream"
	"fulcrum/internal/vars"
)

// roundTripper sends one client request to the upstream, trying servers in the
// balancer's order until one answers acceptably or the proxy_next_upstream rules
// stop it. It is the only place that talks to upstream servers.
type roundTripper struct{ h *Handler }

// RoundTrip implements http.RoundTripper for the Handler's ReverseProxy.
func (rt roundTripper) RoundTrip(out *http.Request) (*http.Response, error) {
	req := fromContext(out.Context())
	h := rt.h
	in := balancer.Input{ClientAddr: req.st.Remote.Addr(), MaxTries: h.set.ProxyNextUpstreamTries}
	t := req.target
	if t.HashKey != nil {
		in.Key = t.HashKey.String(req.st)
	}
	req.at.Reset(t.Pool, t.Policy, in)
	var last *failure
	for {
		srv, err := req.at.Next(h.now())
		if err != nil {
			if last != nil {
				return nil, last
			}
			h.log.LogRequest(errlog.Error, req.logRequest(""), "no live upstreams while connecting to upstream")
			a := req.st.StartAttempt(netip.AddrPort{}, t.Pool.Name())
			a.Status = http.StatusBadGateway
			return nil, &failure{cond: config.NextError, status: http.StatusBadGateway, msg: "no live upstreams"}
		}
		resp, f := rt.attempt(req, out, srv)
		if f == nil {
			return resp, nil
		}
		if f.status == 0 { // the client went away
			return nil, context.Canceled
		}
		last = f
		if !req.mayRetry(f.cond, f.sent) {
			return nil, f
		}
	}
}

// mayRetry applies proxy_next_upstream, _tries and _timeout to a failed attempt.
// It runs after the failed server was released, so the attempt's Tries already
// counts it.
func (req *request) mayRetry(cond config.NextUpstream, sent bool) bool {
	set := req.h.set
	mask := set.ProxyNextUpstream
	switch {
	case mask&config.NextOff != 0, mask&cond == 0:
		return false
	case sent && !idempotent(req.in.Method) && mask&config.NextNonIdempotent == 0:
		return false
	case sent && !req.body.replayable():
		return false
	case req.at.Tries() <= 0:
		return false
	case set.ProxyNextUpstreamTimeout > 0 && req.h.now().Sub(req.start) >= set.ProxyNextUpstreamTimeout:
		return false
	}
	return true
}

// attempt sends the request to srv. It returns the response to pass on, or a
// failure; a failure with status 0 means the client went away. A failure may
// carry the response (an http_5xx condition) to pass on if no retry follows.
func (rt roundTripper) attempt(req *request, out *http.Request, srv *upstream.Server) (*http.Response, *failure) {
	h := rt.h
	a := req.st.StartAttempt(addrPort(srv), srvName(srv))
	start := h.now()
	ctx := out.Context()
	t := exchangeTimeouts{connect: h.set.ProxyConnectTimeout, send: h.set.ProxySendTimeout, read: h.set.ProxyReadTimeout}
	pool := req.target.Transport
	var resp *http.Response
	var err error
	// A reused connection the server had already closed is tried again once on
	// a fresh one, without counting a failure, when the body can be sent again.
	for range 2 {
		var pc *poolConn
		var reused bool
		pc, reused, err = pool.get(ctx, srv.Network(), srv.Addr(), t.connect)
		if err != nil {
			break
		}
		a.ConnectTime = h.now().Sub(start)
		body, n := req.body.reader()
		resp, _, err = pool.exchange(ctx, pc, reused, out, body, n, t)
		if !errors.Is(err, errStale) || !req.body.replayable() {
			break
		}
	}
	if err != nil {
		a.ResponseTime = h.now().Sub(start)
		return nil, rt.failed(req, srv, a, err)
	}
	a.HeaderTime = h.now().Sub(start)
	a.Status = resp.StatusCode
	if cond := statusCondition(resp.StatusCode); cond != 0 && h.set.ProxyNextUpstream&cond != 0 {
		// A listed status: retry if the rules allow, else pass it on as is.
		outcome := upstream.Failure
		if cond == config.NextHTTP403 || cond == config.NextHTTP404 {
			outcome = upstream.Neutral
		}
		if req.at.Tries() > 1 && req.mayRetry(cond, true) {
			io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
			resp.Body.Close()
			a.ResponseTime = h.now().Sub(start)
			h.release(req, srv, outcome)
			return nil, &failure{cond: cond, status: resp.StatusCode, sent: true}
		}
	}
	resp.Body = newUpstreamBody(resp, h, req, srv, start, a)
	return resp, nil
}

// failed records a transport error: logs it, releases the server with the right
// outcome, and classifies it for the retry decision.
func (rt roundTripper) failed(req *request, srv *upstream.Server, a *vars.Attempt, err error) *failure {
	h := rt.h
	f := classify(req.in.Context(), err)
	if f == nil {
		h.release(req, srv, upstream.Neutral)
		return &failure{}
	}
	a.Status = f.status
	h.log.LogRequest(errlog.Error, req.logRequest("http://"+srv.Name()+req.st.RequestURI), f.msg)
	h.release(req, srv, upstream.Failure)
	return f
}

// release ends an attempt on srv and logs when it disabled the server.
func (h *Handler) release(req *request, srv *upstream.Server, o upstream.Outcome) {
	if req.at.Release(h.now(), o) {
		h.log.LogRequest(errlog.Warn, req.logRequest("http://"+srv.Name()+req.st.RequestURI), "upstream server temporarily disabled while connecting to upstream")
	}
}

// addrPort returns srv's TCP address for $upstream_addr; zero for unix sockets.
func addrPort(srv *upstream.Server) netip.AddrPort {
	if srv.Network() != "tcp" {
		return netip.AddrPort{}
	}
	ap, err := netip.ParseAddrPort(srv.Addr())
	if err != nil {
		return netip.AddrPort{}
	}
	return ap
}

// srvName is what $upstream_addr prints for a server without a TCP address.
func srvName(srv *upstream.Server) string {
	if srv.Network() == "unix" {
		return "unix:" + srv.Addr()
	}
	return srv.Name()
}

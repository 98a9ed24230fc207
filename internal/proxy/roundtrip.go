package proxy

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/netip"
	"time"

	"fulcrum/internal/balancer"
	"fulcrum/internal/config"
	"fulcrum/internal/errlog"
	"fulcrum/internal/upstream"
	"fulcrum/internal/upstreamtls"
	"fulcrum/internal/vars"
)

// errClientGone is a round trip given up because the client went away: no
// answer, logged as 499.
var errClientGone = errors.New("client went away")

// roundTrip sends the request to the upstream, trying servers in the
// balancer's order until one answers acceptably or the proxy_next_upstream
// rules stop it. On success req.resp holds the response to pass on. It is the
// only place that talks to upstream servers.
func (h *Handler) roundTrip(req *request) error {
	req.st.StartUpstreamGroup()
	in := balancer.Input{ClientAddr: req.st.Remote.Addr(), MaxTries: h.set.ProxyNextUpstreamTries}
	t := &req.target
	if t.HashKey != nil {
		in.Key = t.HashKey.String(req.st)
	}
	if t.Sticky != nil {
		req.stickyID = t.Sticky.AppendID(req.stickyID, req.st, req.start)
		in.StickyID = req.stickyID
	}
	if t.NTLM {
		req.takeBound(&in, req.start)
		defer req.dropBound()
	}
	req.at.Reset(t.Pool, t.Policy, in)
	// now is the clock reading the attempt counts from. Without a body to
	// read first, the request's start serves the first attempt: like nginx's
	// time cached per event loop iteration, one reading per event, not one
	// per use.
	now := req.start
	if b := req.in.Body; b != nil && b != http.NoBody {
		now = h.now()
	}
	for first := true; ; first = false {
		srv, err := h.next(req, &now, first)
		if err != nil {
			return h.notPicked(req, err)
		}
		f := h.attempt(req, srv, now)
		if f == nil {
			return nil
		}
		if f.status == 0 {
			return errClientGone
		}
		if !req.mayRetry(f.cond, f.sent, f.end) {
			return f
		}
		now = f.end
	}
}

// notPicked ends a round trip for which next found no server (err): the
// client went away while the request waited in the queue, the queue was
// full or its wait timed out, or no server may be tried. Out of line, as
// noServer: roundTrip's frame is on every proxied request's stack.
//
//go:noinline
func (h *Handler) notPicked(req *request, err error) error {
	if errors.Is(err, errClientGone) {
		return err
	}
	if errors.Is(err, balancer.ErrQueueFull) || errors.Is(err, balancer.ErrQueueTimeout) {
		// NGINX Plus: "If the queue is filled up, or the server to pass
		// the request to cannot be selected within the time period
		// specified in the timeout parameter, the 502 (Bad Gateway)
		// error will be returned to the client."
		return h.noServer(req, err.Error())
	}
	// nginx (ngx_http_upstream_connect, NGX_BUSY): no server may be tried,
	// on the first attempt or on a retry the rules allowed (the others are
	// out for fail_timeout). The request ends with 502 whatever the last
	// attempt got.
	return h.noServer(req, "no live upstreams")
}

// noServer ends a request for which no server could be picked (msg: "no
// live upstreams", or the queue's error) with 502: the error line, and the
// attempt listed under the upstream's name, with a response time, as
// nginx does. It is kept out of roundTrip so that the rare path's locals
// do not grow the frame every proxied request's stack carries (a client
// goroutine's deepest path, the upstream head's parse, then passed 8 KiB
// and every connection's stack doubled to 16 KiB).
//
//go:noinline
func (h *Handler) noServer(req *request, msg string) *failure {
	name := req.target.Pool.Name()
	req.log.LogRequest(errlog.Error, req.logRequest(req.upstreamURL(h.schemeOf(req), name)), msg+" while connecting to upstream")
	a := req.st.StartAttempt(netip.AddrPort{}, name)
	req.st.LastUpstream = req.upstreamRef(h.schemeOf(req), name)
	a.Status = http.StatusBadGateway
	a.ResponseTime = 0
	return &failure{cond: config.NextError, status: http.StatusBadGateway, msg: msg}
}

// next picks the server of an attempt. An attempt to an upstream with a
// queue waits in it, in its turn, when requests wait there already or no
// server may take it now (balancer.Attempt.First, and Retry for a retry,
// which waits no longer than proxy_next_upstream_timeout allows);
// errClientGone says the client went away while it waited. After a wait,
// *now is when the request left the queue: its attempt starts then, with
// the wait as its $upstream_queue_time.
func (h *Handler) next(req *request, now *time.Time, first bool) (*upstream.Server, error) {
	var srv *upstream.Server
	var left time.Time
	var err error
	if first {
		srv, left, err = req.at.First(req.ctx, *now, h.now)
	} else {
		srv, left, err = req.at.Retry(req.ctx, *now, h.now, balancer.RetryDeadline(req.start, h.set.ProxyNextUpstreamTimeout))
	}
	req.st.SetQueueTime(left.Sub(*now))
	*now = left
	if err == balancer.ErrClientGone {
		h.logQueueGone(req)
		return nil, errClientGone
	}
	return srv, err
}

// mayRetry applies proxy_next_upstream, _tries and _timeout to a failed attempt
// that ended at now. It runs after the failed server was released, so the
// attempt's Tries already counts it.
func (req *request) mayRetry(cond config.NextUpstream, sent bool, now time.Time) bool {
	set := req.h.set
	switch {
	case !set.ProxyNextUpstream.Allows(cond, sent, req.in.Method):
		return false
	case sent && !req.body.replayable():
		return false
	case req.at.Tries() <= 0:
		return false
	case set.ProxyNextUpstreamTimeout > 0 && now.Sub(req.start) >= set.ProxyNextUpstreamTimeout:
		return false
	}
	return true
}

// attempt sends the request to srv, starting at start (a clock reading). On
// success req.resp holds the response to pass on and the server stays acquired
// until the body is done (finishAttempt). A failure with status 0 means the
// client went away; a failure's end is when the attempt ended.
func (h *Handler) attempt(req *request, srv *upstream.Server, start time.Time) *failure {
	a := req.st.StartAttempt(srv.AddrPort(), srv.AddrText())
	req.st.LastUpstream = req.upstreamRef(h.schemeOf(req), srv.Name())
	ctx := req.ctx
	t := exchangeTimeouts{connect: h.set.ProxyConnectTimeout, send: h.set.ProxySendTimeout, read: h.set.ProxyReadTimeout}
	pool := req.target.Transport
	req.resp.in, req.resp.out = 0, 0
	req.out.watcher = nil
	req.out.hints = h.hintsFor(req)
	req.out.resendable = config.Idempotent(req.in.Method) || h.set.ProxyNextUpstream&config.NextNonIdempotent != 0
	if ctx.Done() != nil { // else proxy_ignore_client_abort: nothing to watch
		req.out.watcher = req.caps.watcher
	}
	var err error
	// A reused connection the server had already closed is tried again once on
	// a fresh one, without counting a failure, when the body can be sent again
	// (and, when the request had gone out, when it may go twice: resendable).
	dst := dialTarget{network: srv.Network(), addr: srv.Addr(), timeout: t.connect, tls: h.tls, keepalive: h.set.ProxySocketKeepalive, noDelayOff: h.set.NoDelayOff}
	if req.target.TLS != nil {
		dst.tls = req.target.TLS
	}
	if h.sslName != nil && dst.tls != nil {
		dst.named, dst.name = true, upstreamtls.NameWithoutPort(h.sslName.String(req.st))
	}
	if h.sslCert != nil && dst.tls != nil {
		dst.name = h.withCert(req, dst.name)
	}
	if h.bind.Set() {
		dst.local, dst.transparent = h.local(req), h.bind.Control() != nil
	}
	bound := req.useBound(srv, start)
	for range 2 {
		var pc *poolConn
		var reused bool
		if bound != nil {
			pc, reused, bound = bound, true, nil
		} else if pc, reused, err = pool.get(ctx, &dst, start); err != nil {
			break
		}
		// A reused connection took no time to get: nginx's connect time is
		// 0 then, from the same cached clock reading ("0.000", not "-").
		t.start = start
		a.ConnectTime = 0
		if !reused {
			t.start = h.now()
			a.ConnectTime = t.start.Sub(start)
		}
		req.out.body, req.out.bodyLen = req.body.reader()
		req.out.inMemory = req.body.inMemory()
		_, err = pool.exchange(ctx, pc, reused, &req.out, t, &req.resp)
		if err == nil || !errors.Is(err, errStale) || !req.body.replayable() {
			break
		}
	}
	if err != nil {
		end := h.now()
		a.ResponseTime = end.Sub(start)
		a.BytesReceived, a.BytesSent = req.resp.in, req.resp.out
		return h.failed(req, srv, a, err, end, dst.local)
	}
	if req.bind {
		req.resp.bind, req.resp.binds, req.resp.bindSrv = true, req.binds, srv
	}
	headAt := h.now()
	a.HeaderTime = headAt.Sub(start)
	req.at.Sample(upstream.MetricHeader, a.HeaderTime)
	status := req.resp.head.Status
	a.Status = status
	if cond := config.StatusNextUpstream(status); cond != 0 && h.set.ProxyNextUpstream&cond != 0 {
		// A listed status: retry if the rules allow, else pass it on as is.
		outcome := upstream.Failure
		if cond == config.NextHTTP403 || cond == config.NextHTTP404 {
			outcome = upstream.Neutral
		}
		if req.at.Tries() > 1 && req.mayRetry(cond, true, headAt) {
			// nginx moves on at once, without reading the body: only a
			// body already read with the head is dropped, so that the
			// connection may be reused; else it is closed. Waiting for
			// the rest would hold the retry up to proxy_read_timeout.
			_, _, _ = req.resp.writeBuffered(io.Discard)
			end := h.now()
			req.resp.closeAt(end)
			a.ResponseTime = end.Sub(start)
			a.BytesReceived, a.BytesSent = req.resp.in, req.resp.out
			h.release(req, srv, a, status, outcome, end, errlog.ActionHeader)
			return &failure{cond: cond, status: status, sent: true, end: end, action: errlog.ActionHeader}
		}
	}
	c := &req.cur // set in place: a composite literal would be built in this frame first
	*c = attemptState{}
	c.srv, c.start, c.headAt, c.headIn, c.attempt = srv, start, headAt, req.resp.received(), a
	return nil
}

// discard reads and drops up to limit bytes of a response body, so that a
// short one leaves its connection reusable.
func discard(resp *upstreamResponse, limit int64) {
	var buf [4 << 10]byte
	for limit > 0 {
		n, err := resp.Read(buf[:min(int64(len(buf)), limit)])
		limit -= int64(n)
		if err != nil {
			return
		}
	}
}

// attemptState is the successful attempt whose response is being passed on.
type attemptState struct {
	srv   *upstream.Server
	start time.Time
	// headAt is when the head had arrived, and headIn how many bytes the
	// connection had read then: a body that came with the head ends at
	// headAt, without another clock reading (nginx's header and response
	// times are equal then too, from its cached clock).
	headAt  time.Time
	headIn  int64
	attempt *vars.Attempt
	n       int64 // body bytes received
	readErr bool  // the body ended with an upstream error
}

// finishAttempt records the attempt's timings and length and releases the
// server: a read error after the header went out counts no failure, as in
// nginx, nor does a client that went away.
func (h *Handler) finishAttempt(req *request, end time.Time) {
	c := &req.cur
	if c.srv == nil {
		return
	}
	c.attempt.ResponseTime = end.Sub(c.start)
	if !c.readErr {
		req.at.Sample(upstream.MetricLastByte, c.attempt.ResponseTime)
	}
	c.attempt.ResponseLength = c.n
	if ch := req.resp.body.Chunked(); ch != nil {
		// nginx counts the bytes read after the head: a chunked body's
		// coding (size lines, CRLFs, trailer section) with its data.
		c.attempt.ResponseLength += ch.Framing()
	}
	c.attempt.BytesReceived, c.attempt.BytesSent = req.resp.in, req.resp.out
	outcome := upstream.Success
	if c.readErr || req.ctx.Err() != nil {
		outcome = upstream.Neutral
	}
	h.release(req, c.srv, c.attempt, c.attempt.Status, outcome, end, errlog.ActionHeader)
	c.srv = nil
}

// failed records a transport error of an attempt that ended at end: logs it,
// releases the server with the right outcome, and classifies it for the retry
// decision.
func (h *Handler) failed(req *request, srv *upstream.Server, a *vars.Attempt, err error, end time.Time, local netip.AddrPort) *failure {
	if cerr := req.body.clientErr; cerr != nil && req.ctx.Err() == nil {
		return h.bodyFailed(req, srv, a, cerr, end)
	}
	if cf := certFailure(err); cf != nil {
		cf.end = end
		h.log.LogRequest(errlog.Error, req.logRequest(req.upstreamURL(h.schemeOf(req), srv.Name())), cf.msg)
		h.release(req, srv, a, 0, upstream.Neutral, end, errlog.ActionConnect)
		return cf
	}
	f := classify(req.ctx, err)
	if f != nil && local.IsValid() {
		if bf := bindFailure(err, local); bf != nil {
			bf.end = end
			req.log.LogRequest(bf.bindLevel, req.logRequest(req.upstreamURL(h.schemeOf(req), srv.Name())), bf.msg)
			h.release(req, srv, a, 0, upstream.Neutral, end, errlog.ActionConnect)
			return bf
		}
	}
	if f == nil {
		h.logClientGone(req, srv.Name(), abortAction(err, req.resp.in))
		h.release(req, srv, a, 0, upstream.Neutral, end, errlog.ActionHeader)
		return &failure{end: end}
	}
	f.end = end
	a.Status = f.status
	errlog.FailureInOrder(f.cond == config.NextTimeout,
		func() { h.release(req, srv, a, 0, upstream.Failure, end, f.action) },
		func() {
			req.log.LogRequest(f.level(), req.logRequest(req.upstreamURL(h.schemeOf(req), srv.Name())), f.msg)
		})
	return f
}

// bodyFailed ends an attempt whose client body failed while it streamed
// (proxy_request_buffering off): a chunk past client_max_body_size, a
// malformed chunk, a client_body_timeout. As nginx 1.22.1 (and the FastCGI
// handler): the engine's line for the failure "while sending request to
// upstream" with the upstream, the server released without a failure, and
// the body's status (413, 400, 408) for the request, not 502.
func (h *Handler) bodyFailed(req *request, srv *upstream.Server, a *vars.Attempt, err error, end time.Time) *failure {
	var d errlog.Described
	if errors.As(err, &d) {
		level, msg := d.LogLine()
		req.log.LogRequest(level, req.logRequest(req.upstreamURL(h.schemeOf(req), srv.Name())), msg+" while "+errlog.ActionSend)
	}
	h.release(req, srv, a, 0, upstream.Neutral, end, errlog.ActionSend)
	req.st.BodyCut = true
	return &failure{status: bodyErrorStatus(req.in, err), sent: true, end: end}
}

// logClientGone writes nginx's info line for a client that went away while
// server was doing action for it (errlog.ClientGone), on the abort path
// only: the request's context tells how the client left.
//
//go:noinline
func (h *Handler) logClientGone(req *request, server, action string) {
	if req.log.Enabled(errlog.Info) {
		h.logGone(req, context.Cause(req.ctx), req.upstreamURL(h.schemeOf(req), server), action)
	}
}

// logGone writes the line of errlog.ClientGone for cause, if it has one,
// naming the upstream URL.
func (h *Handler) logGone(req *request, cause error, url, action string) {
	if msg := errlog.ClientGone(cause, h2Stream(req.st), action); msg != "" {
		req.log.LogRequest(errlog.Info, req.logRequest(url), msg)
	}
}

// logQueueGone writes the info line of a client that went away while its
// request waited in the upstream's queue, with no upstream connection yet:
// nginx's ngx_http_upstream_check_broken_connection then writes the line
// without "so upstream connection is closed too", and the request names no
// upstream (errlog.ClientGoneKept; "while connecting to upstream", the
// action nginx's ngx_http_upstream_connect sets before it asks for a
// server). The queue is NGINX Plus's, so this is nginx's code, not a
// recording.
//
//go:noinline
func (h *Handler) logQueueGone(req *request) {
	if !req.log.Enabled(errlog.Info) {
		return
	}
	if msg := errlog.ClientGoneKept(context.Cause(req.ctx), h2Stream(req.st), errlog.ActionConnect); msg != "" {
		req.log.LogRequest(errlog.Info, req.logRequest(""), msg)
	}
}

// abortAction is nginx's action when a client's abort stopped an exchange
// that failed with err after reading in bytes of the response: connecting,
// else sending the request (nginx keeps that action while it waits for the
// answer, until the first bytes of the head arrive), else reading the head.
func abortAction(err error, in int64) string {
	var opErr *net.OpError
	switch {
	case errors.As(err, &opErr) && opErr.Op == "dial":
		return errlog.ActionConnect
	case in > 0:
		return errlog.ActionHeader
	}
	return errlog.ActionSend
}

// h2Stream is the HTTP/2 stream id of the request for nginx's "client
// canceled stream N" line, 0 for HTTP/1.x. Go's server does not tell the
// id: it is the one a client that opens its streams in order (1, 3, 5, ...)
// gave the connection's n-th request.
func h2Stream(st *vars.State) uint64 {
	if st.Proto != "HTTP/2.0" || st.ConnRequests == 0 {
		return 0
	}
	return 2*st.ConnRequests - 1
}

// release ends attempt a on srv at now, adds it to the server's counters
// (status is the response the server sent, 0 for none) and logs when it
// disabled the server, with nginx's action of the moment ("while reading
// response header from upstream").
func (h *Handler) release(req *request, srv *upstream.Server, a *vars.Attempt, status int, o upstream.Outcome, now time.Time, action string) {
	srv.Account(status, a.BytesSent, a.BytesReceived)
	if req.at.Release(now, o) {
		req.log.LogRequest(errlog.Warn, req.logRequest(req.upstreamURL(h.schemeOf(req), srv.Name())), "upstream server temporarily disabled while "+action)
	}
}

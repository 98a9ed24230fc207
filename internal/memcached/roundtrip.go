package memcached

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"fulcrum/internal/balancer"
	"fulcrum/internal/bindaddr"
	"fulcrum/internal/clientwatch"
	"fulcrum/internal/config"
	"fulcrum/internal/deadline"
	"fulcrum/internal/errlog"
	"fulcrum/internal/sock"
	"fulcrum/internal/upstream"
	"fulcrum/internal/vars"
)

// failure is why an attempt did not answer, in memcached_next_upstream's
// terms.
type failure struct {
	cond   config.NextUpstream
	status int // 404, 500, 502 or 504; 0 when the client went away
	// final is an answer no other server is asked for (a 404 that is not
	// retried, a bind that failed).
	final bool
	end   time.Time
	// crit says the attempt's line is logged at crit, not error
	// (errlog.ConnectFailed).
	crit bool
}

// roundTrip tries servers in the balancer's order until one answers or the
// memcached_next_upstream rules stop it; when the value went to the client
// it returns nil.
func (h *Handler) roundTrip(req *request) *failure {
	req.st.StartUpstreamGroup()
	in := balancer.Input{ClientAddr: req.st.Remote.Addr(), MaxTries: h.set.NextUpstreamTries}
	if h.hashKey != nil {
		in.Key = h.hashKey.String(req.st)
	}
	req.at.Reset(h.pool, h.policy, in)
	now := req.start
	for first := true; ; first = false {
		var srv *upstream.Server
		var err error
		// NGINX Plus's queue: an attempt waits in the upstream's
		// queue when no server may take it now (a retry no longer
		// than the next_upstream_timeout allows).
		var left time.Time
		if first {
			srv, left, err = req.at.First(req.r.Context(), now, h.now)
		} else {
			srv, left, err = req.at.Retry(req.r.Context(), now, h.now, balancer.RetryDeadline(req.start, h.set.NextUpstreamTimeout))
		}
		req.st.SetQueueTime(left.Sub(now))
		now = left
		if err != nil {
			return h.noServer(req, err)
		}
		f := h.attempt(req, srv, now)
		if f == nil || f.final || f.status == 0 || !h.mayRetry(req, f) {
			return f
		}
		now = f.end
	}
}

// noServer ends a request for which no server could be picked with 502
// (nginx's ngx_http_upstream_connect, NGX_BUSY: on the first attempt or on
// a retry the rules allowed, whatever the last attempt got), or with
// nothing for a client that went away while it waited in the queue (499).
// The attempt is listed under the upstream's name with a response time,
// and the log line names the upstream (upstream: "memcached://NAME"): "no
// live upstreams", or the queue's error (NGINX Plus: "If the queue is
// filled up, or the server to pass the request to cannot be selected
// within the time period specified in the timeout parameter, the 502 (Bad
// Gateway) error will be returned to the client"). It is kept out of
// roundTrip so that the rare path's locals do not grow the frame every
// request's stack carries.
//
//go:noinline
func (h *Handler) noServer(req *request, err error) *failure {
	if errors.Is(err, balancer.ErrClientGone) {
		// No connection to memcached yet: nginx's shorter line, naming
		// no upstream (proxy.Handler.logQueueGone).
		req.upstream = ""
		h.logLine(req, errlog.ClientGoneKept, errlog.ActionConnect)
		return &failure{cond: config.NextError, end: h.now()}
	}
	req.upstream = "memcached://" + h.pool.Name()
	req.log.LogRequest(errlog.Error, req.logRequest(), err.Error()+" while "+errlog.ActionConnect)
	a := req.st.StartAttempt(noAddr, h.pool.Name())
	a.Status = http.StatusBadGateway
	a.ResponseTime = 0
	return &failure{cond: config.NextError, status: http.StatusBadGateway}
}

// mayRetry applies memcached_next_upstream, _tries and _timeout to a
// failed attempt (whose server was released already).
func (h *Handler) mayRetry(req *request, f *failure) bool {
	switch {
	case !h.set.NextUpstream.Allows(f.cond, false, http.MethodGet): // a get is repeatable
		return false
	case req.at.Tries() <= 0:
		return false
	}
	return h.set.NextUpstreamTimeout == 0 || f.end.Sub(req.start) < h.set.NextUpstreamTimeout
}

// exchange is one attempt's connection.
type exchange struct {
	conn   net.Conn
	key    string // the idle pool's key of the server
	reused bool
	cr     countReader
	br     *bufio.Reader
	out    int64
	// src reads conn's socket (sock.Reader): bytes that came as
	// memcached_read_timeout passed are read, as nginx reads them.
	src sock.Reader
	// aborted is set by Abort (another goroutine) and never cleared.
	aborted atomic.Bool
}

// attempt asks srv for the key and answers the client with the value. A
// nil failure means the value went out.
func (h *Handler) attempt(req *request, srv *upstream.Server, start time.Time) *failure {
	a := req.st.StartAttempt(srv.AddrPort(), srv.AddrText())
	req.upstream = vars.UpstreamURL("memcached://", srv.AddrText(), "")
	var x *exchange
	var hd Head
	var err error
	for range 2 {
		x, err = h.send(req, srv, a, start)
		if err == nil {
			req.watch = clientwatch.Start(req.r.Context(), req.watcher, x)
			if req.r.Context().Err() != nil {
				// The client left before the watch began: the engine's
				// watcher does not call Abort for that.
				x.Abort()
			}
			hd, err = h.readHead(req, x)
			if err != nil {
				req.watch.End()
			}
		}
		// An idle connection the server had closed is tried again once on
		// a fresh one, without counting a failure.
		if err == nil || x == nil || !x.reused || x.cr.n > 0 {
			break
		}
		x.conn.Close()
	}
	if err != nil {
		if x != nil {
			x.conn.Close()
			a.BytesReceived, a.BytesSent = x.cr.n, x.out
		}
		if req.r.Context().Err() != nil {
			h.logGone(req, goneAction(err, x))
		}
		end := h.now()
		a.ResponseTime = end.Sub(start)
		return h.failed(req, a, err, end)
	}
	headAt := h.now()
	a.HeaderTime = headAt.Sub(start)
	if !hd.Found {
		req.watch.End()
		return h.notFound(req, srv, a, x, start, headAt)
	}
	a.Status = http.StatusOK
	out := h.head(req, hd)
	if out.status == http.StatusRequestedRangeNotSatisfiable {
		// nginx's range filter answers before the value is read.
		req.watch.End()
		x.conn.Close()
		a.ResponseTime = headAt.Sub(start)
		a.BytesReceived, a.BytesSent = x.cr.n, x.out
		h.release(req, srv, a, http.StatusOK, upstream.Success, headAt, errlog.ActionHeader)
		return &failure{status: out.status, final: true, end: headAt}
	}
	n, ok, clean := h.respond(req, x, hd, out)
	if !req.watch.End() {
		ok, clean = false, false
	}
	end := h.now()
	a.ResponseTime = end.Sub(start)
	a.ResponseLength = n
	a.BytesReceived, a.BytesSent = x.cr.n, x.out
	h.finish(x, clean)
	outcome := upstream.Success
	if !ok {
		outcome = upstream.Neutral
	}
	h.release(req, srv, a, http.StatusOK, outcome, end, errlog.ActionHeader)
	if !ok && req.r.Context().Err() == nil && !clean {
		// The head went out and the value broke off: end the client's
		// connection, as nginx does.
		panic(http.ErrAbortHandler)
	}
	return nil
}

// notFound handles an "END" reply: nginx logs it at info, asks the next
// server under memcached_next_upstream not_found while tries are left, and
// otherwise answers 404 (through error_page).
func (h *Handler) notFound(req *request, srv *upstream.Server, a *vars.Attempt, x *exchange, start, now time.Time) *failure {
	req.log.LogRequest(errlog.Info, req.logRequest(),
		fmt.Sprintf(`key: "%s" was not found by memcached while reading response header from upstream`, req.key))
	a.Status = http.StatusNotFound
	a.ResponseTime = now.Sub(start)
	a.BytesReceived, a.BytesSent = x.cr.n, x.out
	h.finish(x, true)
	f := &failure{cond: config.NextHTTP404, status: http.StatusNotFound, end: now}
	if h.set.NextUpstream&config.NextHTTP404 != 0 && req.at.Tries() > 1 && h.mayRetryAfter(req, now) {
		h.release(req, srv, a, http.StatusNotFound, upstream.Neutral, now, errlog.ActionHeader)
		return f
	}
	h.release(req, srv, a, http.StatusNotFound, upstream.Success, now, errlog.ActionHeader)
	f.final = true
	return f
}

// Abort implements the watcher's Aborter: the exchange's pending and
// future reads and writes fail at once.
// It stays in force: a read deadline set afterwards (setReadDeadline)
// does not lift it.
func (x *exchange) Abort() {
	x.aborted.Store(true)
	_ = x.conn.SetDeadline(time.Unix(1, 0))
}

// setReadDeadline sets conn's read deadline to t, unless Abort was called
// (before or while it set it): then conn keeps Abort's past deadline.
func (x *exchange) setReadDeadline(t time.Time) {
	_ = x.conn.SetReadDeadline(t)
	if x.aborted.Load() {
		_ = x.conn.SetDeadline(time.Unix(1, 0))
	}
}

// goneAction is nginx's action when a client's leaving stopped an attempt
// that failed with err before the reply's first line: connecting, else
// sending the request (nginx keeps that action until the reply's first
// bytes arrive), else reading the reply's first line.
func goneAction(err error, x *exchange) string {
	var op *net.OpError
	switch {
	case errors.As(err, &op) && op.Op == "dial":
		return errlog.ActionConnect
	case x != nil && x.cr.n > 0:
		return errlog.ActionHeader
	}
	return errlog.ActionSend
}

// logGone writes nginx 1.22.1's info line for a client that went away
// while the exchange was doing action (errlog.ClientGone), recorded with
// a memcached server answering after 3 s or sending part of a value:
//
//	epoll_wait() reported that client prematurely closed connection, so upstream connection is closed too while sending request to upstream
//	epoll_wait() reported that client prematurely closed connection, so upstream connection is closed too while sending to client
//
// It is on the abort path only.
//
//go:noinline
func (h *Handler) logGone(req *request, action string) {
	h.logLine(req, errlog.ClientGone, action)
}

// logLine writes the info line line gives for the request's context's
// cause, its HTTP/2 stream and action, if it gives one.
func (h *Handler) logLine(req *request, line func(error, uint64, string) string, action string) {
	if !req.log.Enabled(errlog.Info) {
		return
	}
	stream := uint64(0)
	if req.st.Proto == "HTTP/2.0" && req.st.ConnRequests > 0 {
		stream = 2*req.st.ConnRequests - 1 // as the proxy's h2Stream
	}
	if msg := line(context.Cause(req.r.Context()), stream, action); msg != "" {
		req.log.LogRequest(errlog.Info, req.logRequest(), msg)
	}
}

// mayRetryAfter is memcached_next_upstream_timeout for a reply that nginx
// may retry while it still holds the server.
func (h *Handler) mayRetryAfter(req *request, now time.Time) bool {
	return h.set.NextUpstreamTimeout == 0 || now.Sub(req.start) < h.set.NextUpstreamTimeout
}

// finish keeps the connection for another request when its reply was read
// cleanly to its end and nothing more came, and closes it otherwise.
func (h *Handler) finish(x *exchange, clean bool) {
	if clean && h.idle != nil && x.br.Buffered() == 0 {
		h.idle.Put(x.key, x.conn)
		return
	}
	x.conn.Close()
}

// send connects (or takes an idle connection) and writes "get KEY".
func (h *Handler) send(req *request, srv *upstream.Server, a *vars.Attempt, start time.Time) (*exchange, error) {
	x := &exchange{key: srv.Network() + " " + srv.Addr()}
	if h.idle != nil {
		x.conn = h.idle.Get(x.key, sock.Pending)
		x.reused = x.conn != nil
	}
	if x.conn == nil {
		c, err := h.dial(req, srv)
		if err != nil {
			return nil, err
		}
		x.conn = c
		a.ConnectTime = h.now().Sub(start)
	} else {
		// A kept-alive connection took no time to get: nginx logs its
		// connect time as 0.000, not "-" (ngx_http_upstream_send_request).
		a.ConnectTime = 0
	}
	// memcached_send_timeout, written at the stall edge as nginx would.
	n, err := deadline.NewSendWriter(x.conn, h.set.SendTimeout, h.now).Write(req.cmd)
	x.out = int64(n)
	if err != nil {
		x.conn.Close()
		return nil, &sendError{err}
	}
	x.cr.r = x.src.Conn(x.conn)
	x.br = bufio.NewReaderSize(&x.cr, max(int(h.set.BufferSize), 16))
	return x, nil
}

// dial connects to srv, from memcached_bind's address, with
// memcached_connect_timeout and memcached_socket_keepalive.
func (h *Handler) dial(req *request, srv *upstream.Server) (net.Conn, error) {
	d := net.Dialer{Timeout: h.set.ConnectTimeout, KeepAlive: -1}
	if h.set.SocketKeepalive {
		// SO_KEEPALIVE with the system's intervals, as nginx sets it.
		d.KeepAliveConfig = net.KeepAliveConfig{Enable: true, Idle: -1, Interval: -1, Count: -1}
	}
	if ap := h.local(req); ap.IsValid() && srv.Network() != "unix" {
		d.LocalAddr = net.TCPAddrFromAddrPort(ap)
		d.Control = h.bind.Control()
	}
	return d.DialContext(req.r.Context(), srv.Network(), srv.Addr())
}

// sendError is a failed write of the command.
type sendError struct{ err error }

func (e *sendError) Error() string { return e.err.Error() }
func (e *sendError) Unwrap() error { return e.err }

// readHead reads the reply's first line within memcached_read_timeout.
func (h *Handler) readHead(req *request, x *exchange) (Head, error) {
	x.setReadDeadline(h.now().Add(h.set.ReadTimeout))
	return ReadHead(x.br, req.key, h.set.GzipFlag)
}

// output is how the value goes to the client: its status, its head's
// fields, and the part of it sent.
type output struct {
	status      int
	contentType string
	start, end  int64
}

// head decides the response to a VALUE reply: its Content-Type by $uri and
// its Content-Encoding by the flags, set on the response's fields before
// the range filter gives its verdict (which a filter that would change the
// body may refuse).
func (h *Handler) head(req *request, hd Head) output {
	out := output{end: hd.Length}
	fields := req.w.Header()
	if h.contentType != nil {
		out.contentType = h.contentType(req.st.Path)
	}
	if out.contentType != "" {
		fields.Set("Content-Type", out.contentType)
	}
	if hd.Gzip {
		fields.Set("Content-Encoding", "gzip")
	}
	if h.ranges != nil {
		out.start, out.end, out.status = h.ranges(req.w, req.r, out.contentType, hd.Length)
	}
	if out.status == http.StatusRequestedRangeNotSatisfiable {
		// The error page has its own type and no encoding.
		fields.Del("Content-Type")
		fields.Del("Content-Encoding")
	}
	return out
}

// respond sends the value: its head (the fields head set, Content-Length,
// the range's Content-Range or Accept-Ranges) and, but for HEAD, its bytes (or those of the range),
// each read within memcached_read_timeout and sent on at once, then checks
// the trailer. It returns the bytes read after the first line, whether the
// client got the whole response, and whether the reply ended cleanly (the
// connection may be kept).
func (h *Handler) respond(req *request, x *exchange, hd Head, o output) (n int64, ok, clean bool) {
	fields := req.w.Header()
	status := http.StatusOK
	switch o.status {
	case http.StatusOK:
		fields.Set("Accept-Ranges", "bytes")
	case http.StatusPartialContent:
		status = o.status
		fields.Set("Content-Range", "bytes "+strconv.FormatInt(o.start, 10)+"-"+strconv.FormatInt(o.end-1, 10)+
			"/"+strconv.FormatInt(hd.Length, 10))
	default: // no ranges
		o.start, o.end = 0, hd.Length
	}
	fields.Set("Content-Length", strconv.FormatInt(o.end-o.start, 10))
	req.w.WriteHeader(status)
	if req.r.Method == http.MethodHead {
		return 0, true, false
	}
	n, err := h.copyValue(req, x, hd.Length, o.start, o.end)
	switch {
	case err != nil && req.r.Context().Err() != nil:
		// The client went away: the watch stopped the read, or the
		// write found it gone.
		h.logGone(req, errlog.ActionToClient)
		return n, false, false
	case errors.Is(err, errClient):
		return n, false, false
	case err != nil:
		h.readError(req, err)
		return n, false, false
	}
	m, clean := h.trailer(req, x)
	return n + m, true, clean
}

// errClient is a write to the client that failed.
var errClient = errors.New("client write failed")

// copyValue reads the value's length bytes and sends the client those in
// [start, end), flushing each piece that leaves more to come (nginx sends
// the value as it arrives).
func (h *Handler) copyValue(req *request, x *exchange, length, start, end int64) (int64, error) {
	flusher, _ := req.w.(http.Flusher)
	buf := make([]byte, min(length, 32<<10))
	var n int64
	for n < length {
		x.setReadDeadline(h.now().Add(h.set.ReadTimeout))
		m, err := x.br.Read(buf[:min(int64(len(buf)), length-n)])
		// The part of buf[:m], which holds the bytes [n, n+m), to send.
		from, to := max(start-n, 0), min(end-n, int64(m))
		n += int64(m)
		if from < to {
			if _, werr := req.w.Write(buf[from:to]); werr != nil {
				return n, errClient
			}
			if n < end && flusher != nil {
				flusher.Flush()
			}
		}
		if err != nil && n < length {
			return n, err
		}
	}
	return n, nil
}

// trailer reads and checks the "\r\nEND\r\n" after the value. The value
// went out whole already, so a wrong or missing trailer is only logged (and
// the connection not kept), as nginx does.
func (h *Handler) trailer(req *request, x *exchange) (int64, bool) {
	var t [len(Trailer)]byte
	x.setReadDeadline(h.now().Add(h.set.ReadTimeout))
	m, err := io.ReadFull(x.br, t[:])
	if string(t[:m]) != Trailer[:m] || err == nil && x.br.Buffered() > 0 {
		req.log.LogRequest(errlog.Error, req.logRequest(), "memcached sent invalid trailer while reading upstream")
		return int64(m), false
	}
	if err != nil {
		h.readError(req, err)
		return int64(m), false
	}
	return int64(m), true
}

// readError logs a read of the value that failed, in nginx's words.
func (h *Handler) readError(req *request, err error) {
	req.log.LogRequest(errlog.Error, req.logRequest(), errlog.ReadFailed(err, errlog.ActionBody))
}

// failed logs and releases an attempt that got no usable first line, and
// classifies it.
func (h *Handler) failed(req *request, a *vars.Attempt, err error, end time.Time) *failure {
	srv := req.at.Server()
	if req.r.Context().Err() != nil {
		h.release(req, srv, a, 0, upstream.Neutral, end, errlog.ActionConnect)
		return &failure{end: end}
	}
	if msg, level, ok := bindaddr.Failure(err, h.local(req)); ok {
		// nginx's ngx_event_connect_peer fails: 500, logged (at crit for
		// bind, alert for IP_TRANSPARENT), no retry and no failure counted
		// against the server.
		req.log.LogRequest(level, req.logRequest(), msg)
		a.Status = http.StatusInternalServerError
		h.release(req, srv, a, 0, upstream.Neutral, end, errlog.ActionConnect)
		return &failure{status: http.StatusInternalServerError, final: true, end: end}
	}
	f, msg, action := classify(err)
	f.end = end
	a.Status = f.status
	errlog.FailureInOrder(f.cond == config.NextTimeout,
		func() { h.release(req, srv, a, 0, upstream.Failure, end, action) },
		func() {
			level := errlog.ConnectLevel(f.crit)
			req.log.LogRequest(level, req.logRequest(), msg)
		})
	return f
}

// classify turns an attempt's error into a failure, nginx's log text and
// what nginx was doing (errlog.ActionConnect, ...).
func classify(err error) (*failure, string, string) {
	var op *net.OpError
	dial := errors.As(err, &op) && op.Op == "dial"
	var send *sendError
	action := errlog.ActionHeader
	switch {
	case dial:
		action = errlog.ActionConnect
	case errors.As(err, &send):
		action = errlog.ActionSend
	}
	var reply *ReplyError
	switch {
	case errlog.IsTimeout(err):
		return &failure{cond: config.NextTimeout, status: http.StatusGatewayTimeout}, errlog.TimedOut(action), action
	case dial:
		msg, crit := errlog.ConnectFailed(err, action)
		return &failure{cond: config.NextError, status: http.StatusBadGateway, crit: crit}, msg, action
	case errors.As(err, &reply), errors.Is(err, ErrTooBig):
		return &failure{cond: config.NextInvalidHeader, status: http.StatusBadGateway},
			err.Error() + " while " + action, action
	case send != nil && !errors.Is(err, io.EOF):
		return &failure{cond: config.NextError, status: http.StatusBadGateway},
			fmt.Sprintf("send() failed (%s) while %s", errlog.Errno(err), action), action
	}
	return &failure{cond: config.NextError, status: http.StatusBadGateway}, errlog.ReadFailed(err, action), action
}

// release ends the attempt on srv and counts it; when that took the
// server out it logs so, with what nginx was doing (action).
func (h *Handler) release(req *request, srv *upstream.Server, a *vars.Attempt, status int, o upstream.Outcome, now time.Time, action string) {
	if srv != nil {
		srv.Account(status, a.BytesSent, a.BytesReceived)
	}
	if req.at.Release(now, o) {
		req.log.LogRequest(errlog.Warn, req.logRequest(), errlog.Disabled(action))
	}
}

// countReader counts the bytes read through it.
type countReader struct {
	r io.Reader
	n int64
}

func (c *countReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

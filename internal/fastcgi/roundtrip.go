package fastcgi

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"fulcrum/internal/balancer"
	"fulcrum/internal/clientwatch"
	"fulcrum/internal/config"
	"fulcrum/internal/deadline"
	"fulcrum/internal/errlog"
	"fulcrum/internal/sock"
	"fulcrum/internal/upstream"
	"fulcrum/internal/vars"
)

// failure is why an attempt failed, in fastcgi_next_upstream's terms.
type failure struct {
	cond   config.NextUpstream
	status int  // 502 or 504; 0 when the client went away
	sent   bool // the request may have reached the server
	// action is what nginx was doing when the attempt failed, the end of
	// its error log lines (errlog.ActionConnect, ...).
	action string
	end    time.Time
	// crit says the attempt's line is logged at crit, not error
	// (errlog.ConnectFailed).
	crit bool
	// body says the client's streaming body failed (status is then its
	// 413, 408 or 400): the request ends, with no retry.
	body bool
}

// roundTrip tries servers in the balancer's order until one answers or the
// fastcgi_next_upstream rules stop it; on success the response went to the
// client and roundTrip returns nil.
func (h *Handler) roundTrip(req *request) *failure {
	req.st.StartUpstreamGroup()
	in := balancer.Input{ClientAddr: req.st.Remote.Addr(), MaxTries: h.set.NextUpstreamTries}
	t := req.target
	if t.HashKey != nil {
		in.Key = t.HashKey.String(req.st)
	}
	req.at.Reset(t.Pool, t.Policy, in)
	now := req.start
	for first := true; ; first = false {
		var srv *upstream.Server
		var err error
		// NGINX Plus's queue: an attempt waits in the upstream's
		// queue when no server may take it now (a retry no longer
		// than the next_upstream_timeout allows).
		var left time.Time
		if first {
			srv, left, err = req.at.First(req.ctx, now, h.now)
		} else {
			srv, left, err = req.at.Retry(req.ctx, now, h.now, balancer.RetryDeadline(req.start, h.set.NextUpstreamTimeout))
		}
		req.st.SetQueueTime(left.Sub(now))
		now = left
		if err != nil {
			return h.noServer(req, err)
		}
		f := h.attempt(req, srv, now)
		if f == nil || f.status == 0 || !h.mayRetry(req, f) {
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
// and the log line names the upstream (upstream: "fastcgi://app"): "no
// live upstreams", or the queue's error (NGINX Plus: "If the queue is
// filled up, or the server to pass the request to cannot be selected
// within the time period specified in the timeout parameter, the 502 (Bad
// Gateway) error will be returned to the client"). It is kept out of
// roundTrip so that the rare path's locals do not grow the frame every
// request's stack carries.
//
//go:noinline
func (h *Handler) noServer(req *request, err error) *failure {
	name := req.target.Pool.Name()
	if errors.Is(err, balancer.ErrClientGone) {
		// No connection to the application yet: nginx's shorter line,
		// naming no upstream (proxy.Handler.logQueueGone).
		req.upstream = ""
		h.logGoneKept(req, errlog.ActionConnect)
		return &failure{cond: config.NextError, action: errlog.ActionConnect, end: h.now()}
	}
	req.upstream = h.schemeOf(req) + name
	req.st.LastUpstream = vars.UpstreamRef{Scheme: h.schemeOf(req), Peer: name}
	req.log.LogRequest(errlog.Error, req.logRequest(), err.Error()+" while "+errlog.ActionConnect)
	a := req.st.StartAttempt(noAddr, name)
	a.Status = http.StatusBadGateway
	a.ResponseTime = 0
	return &failure{cond: config.NextError, status: http.StatusBadGateway, action: errlog.ActionConnect}
}

// mayRetry applies fastcgi_next_upstream, _tries and _timeout to a failed
// attempt (whose server was released already).
func (h *Handler) mayRetry(req *request, f *failure) bool {
	switch {
	case f.body:
		return false
	case !h.set.NextUpstream.Allows(f.cond, f.sent, req.r.Method):
		return false
	case f.sent && req.stream != nil:
		// nginx's ngx_http_upstream_next: once a request whose body is not
		// buffered went out, it is not sent again.
		return false
	case req.at.Tries() <= 0:
		return false
	case h.set.NextUpstreamTimeout > 0 && f.end.Sub(req.start) >= h.set.NextUpstreamTimeout:
		return false
	}
	return true
}

// exchange is one attempt's connection and response.
type exchange struct {
	conn   net.Conn
	key    string
	reused bool
	rr     recordReader
	br     *bufio.Reader // STDOUT
	head   *head
	out    int64
	// src reads conn's socket (sock.Reader): bytes that came as
	// fastcgi_read_timeout passed are read, as nginx reads them.
	src sock.Reader
	// broken is a body that broke off after the head went to the client.
	broken bool
	// pump carries the result of the goroutine that sends a streaming
	// body (sendStream) while the response is read, nil without one or
	// once it was taken (pumpEnd); cw counts the bytes written, read once
	// the pump ended. headIn says the response head was read, so a
	// failing pump no longer cuts the reads.
	pump   chan error
	cw     *countWriter
	headIn atomic.Bool
	// sw writes a buffered request (nil for a streaming body), set before
	// the watch of the client starts; aborted is set by Abort (another
	// goroutine) and never cleared.
	sw      *deadline.SendWriter
	aborted atomic.Bool
	// sendStopped is set by pumpStop (the pump still ran: its writes must
	// end) and never cleared; unlike aborted, it leaves the reads alone.
	sendStopped atomic.Bool
	// short is a body that the server's close ended (closeEnds) at a
	// length other than its Content-Length: passed on as it came but not
	// cached, as nginx caches a body ended so only when the lengths agree
	// (fastcgi_store checks the length itself).
	short bool
	// extra is a body that went on past its Content-Length: the rest was
	// not read, so the connection is not kept.
	extra bool
}

// attempt sends the request to srv and, when the server answers acceptably,
// passes the response on. A nil failure means the response went out.
func (h *Handler) attempt(req *request, srv *upstream.Server, start time.Time) *failure {
	a := req.st.StartAttempt(srv.AddrPort(), srv.AddrText())
	req.upstream = vars.UpstreamURL(h.schemeOf(req), srv.AddrText(), "")
	// The daemon's lines about the request name it from now on, as nginx's
	// r->upstream (vars.State.LastUpstream).
	req.st.LastUpstream = vars.UpstreamRef{Scheme: h.schemeOf(req), Peer: srv.AddrText()}
	var x *exchange
	var err error
	for range 2 {
		x, err = h.send(req, srv, a, start) // starts the watch of the client
		if err == nil {
			err = h.readHead(req, x)
			if x.pump != nil {
				x.headIn.Store(true)
				if err != nil {
					err = h.headFailed(req, x, err)
				}
			}
		}
		if err != nil {
			req.watch.End()
		}
		// An idle connection the server had closed is tried again once on
		// a fresh one, without counting a failure; once the request went out,
		// only when it may go twice (the application may have acted on a
		// POST before it closed: RFC 9110 9.2.2).
		if err == nil || x == nil || !x.reused || x.bytesIn() > 0 || req.stream != nil && req.stream.read ||
			x.out > 0 && !h.resendable(req) {
			break
		}
		x.conn.Close()
	}
	if err != nil && isBodyError(err) {
		if x != nil {
			x.conn.Close()
			a.BytesSent = x.out
		}
		return h.bodyFailed(req, a, err, start)
	}
	if err != nil {
		if x != nil {
			x.conn.Close()
			a.BytesReceived, a.BytesSent = x.bytesIn(), x.out
		}
		var send *sendError
		switch {
		case req.ctx.Err() == nil:
		case x != nil:
			h.logClientGone(req, x)
		case errors.As(err, &send):
			// The client left while the request was written (the watch
			// stopped the write), as nginx 1.22.1 logs it.
			h.logGone(req, errlog.ActionSend)
		}
		end := h.now()
		a.ResponseTime = end.Sub(start)
		return h.failed(req, a, err, end)
	}
	headAt := h.now()
	a.HeaderTime = headAt.Sub(start)
	a.Status = x.head.status
	if cond := config.StatusNextUpstream(x.head.status); cond != 0 && h.set.NextUpstream&cond != 0 && req.at.Tries() > 1 {
		outcome := upstream.Failure
		if cond == config.NextHTTP403 || cond == config.NextHTTP404 {
			outcome = upstream.Neutral
		}
		f := &failure{cond: cond, status: x.head.status, sent: true, end: headAt, action: errlog.ActionHeader}
		if h.mayRetryAfter(req, f) {
			req.watch.End()
			x.conn.Close()
			a.ResponseTime = headAt.Sub(start)
			a.BytesReceived, a.BytesSent = x.bytesIn(), x.out
			h.release(req, srv, a, x.head.status, outcome, headAt, errlog.ActionHeader)
			return f
		}
	}
	if req.stale != nil && h.staleAnswer(req, x, a, start, headAt) {
		h.pumpDone(req, x)
		req.watch.End()
		return nil
	}
	if req.kept != nil && h.goneBeforeHead(req, x, srv, a) {
		h.pumpDone(req, x)
		return nil
	}
	n, ok := h.respond(req, x)
	if x.pump != nil && h.pumpEnd(req, x) != nil {
		// The answer ended before the body did: the connection to the
		// server goes, as nginx closes it at the finalization.
		ok = false
	}
	ok = req.watch.End() && ok
	end := h.now()
	a.ResponseTime = end.Sub(start)
	a.ResponseLength = n
	a.BytesReceived, a.BytesSent = x.bytesIn(), x.out
	if ok && x.rr.ended && !x.extra && x.rr.r.Buffered() == 0 && req.idle != nil {
		// Kept only when nothing came after END_REQUEST: records read
		// ahead would be lost, or the rest of them read as the next
		// request's response.
		req.idle.Put(x.key, x.conn)
	} else {
		x.conn.Close()
	}
	outcome := upstream.Success
	if req.ctx.Err() != nil || x.broken {
		outcome = upstream.Neutral
	}
	h.release(req, srv, a, x.head.status, outcome, end, errlog.ActionBody)
	if x.broken {
		// The head went out: end the client's connection, as nginx does.
		panic(http.ErrAbortHandler)
	}
	return nil
}

// Abort implements the watcher's Aborter: the exchange's pending and
// future reads and writes fail at once.
// It is set before the request is written, so the send itself stops too,
// as nginx closes the upstream connection of a client that left
// (ngx_http_upstream_check_broken_connection), and it stays in force: every
// deadline the exchange sets afterwards (setReadDeadline, setWriteDeadline,
// the SendWriter's) looks at aborted after setting.
func (x *exchange) Abort() {
	x.aborted.Store(true)
	if x.sw != nil {
		x.sw.Abort()
	}
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

// setWriteDeadline is setReadDeadline for the write deadline; it also
// keeps stopSend's past write deadline.
func (x *exchange) setWriteDeadline(t time.Time) {
	_ = x.conn.SetWriteDeadline(t)
	if x.aborted.Load() {
		_ = x.conn.SetDeadline(time.Unix(1, 0))
	}
	if x.sendStopped.Load() {
		_ = x.conn.SetWriteDeadline(time.Unix(1, 0))
	}
}

// stopSend makes the exchange's pending and future writes fail at once,
// for good: a streaming body's pump that re-arms fastcgi_send_timeout
// (setWriteDeadline) just after cannot lift it, as the flag is set before
// the past deadline and setWriteDeadline looks at it after setting.
func (x *exchange) stopSend() {
	x.sendStopped.Store(true)
	_ = x.conn.SetWriteDeadline(time.Unix(1, 0))
}

// logClientGone writes nginx's info line for a client that went away
// while x waited for its head (errlog.ClientGone): "while sending request
// to upstream" as nginx keeps that action until the head's first bytes
// arrive, then "while reading response header from upstream".
//
//go:noinline
func (h *Handler) logClientGone(req *request, x *exchange) {
	action := errlog.ActionSend
	if x.bytesIn() > 0 {
		action = errlog.ActionHeader
	}
	h.logGone(req, action)
}

// logGoneKept is logGone with errlog.ClientGoneKept's line, for a client
// that went away while the request had no connection to the application.
func (h *Handler) logGoneKept(req *request, action string) {
	if !req.log.Enabled(errlog.Info) {
		return
	}
	if msg := errlog.ClientGoneKept(context.Cause(req.ctx), h2Stream(req), action); msg != "" {
		req.log.LogRequest(errlog.Info, req.logRequest(), msg)
	}
}

// h2Stream is the HTTP/2 stream id of req for nginx's "client canceled
// stream N" line, 0 for HTTP/1.x (as the proxy's).
func h2Stream(req *request) uint64 {
	if req.st.Proto != "HTTP/2.0" || req.st.ConnRequests == 0 {
		return 0
	}
	return 2*req.st.ConnRequests - 1
}

// logGone writes the line of a client that went away while the exchange
// was doing action, if the request's context says it went away.
func (h *Handler) logGone(req *request, action string) {
	if !req.log.Enabled(errlog.Info) {
		return
	}
	if msg := errlog.ClientGone(context.Cause(req.ctx), h2Stream(req), action); msg != "" {
		req.log.LogRequest(errlog.Info, req.logRequest(), msg)
	}
}

// mayRetryAfter is mayRetry for a listed status: Tries counts the server
// still held, so it must leave another one.
// resendable reports whether req may go to the application again once it
// was sent: an idempotent method, or next_upstream non_idempotent.
func (h *Handler) resendable(req *request) bool {
	return config.Idempotent(req.r.Method) || h.set.NextUpstream&config.NextNonIdempotent != 0
}

func (h *Handler) mayRetryAfter(req *request, f *failure) bool {
	mask := h.set.NextUpstream
	if !config.Idempotent(req.r.Method) && mask&config.NextNonIdempotent == 0 || req.stream != nil {
		return false
	}
	return h.set.NextUpstreamTimeout == 0 || f.end.Sub(req.start) < h.set.NextUpstreamTimeout
}

// send connects (or takes an idle connection) and writes the request:
// BEGIN_REQUEST, PARAMS, STDIN.
func (h *Handler) send(req *request, srv *upstream.Server, a *vars.Attempt, start time.Time) (*exchange, error) {
	x := &exchange{key: srv.Network() + " " + srv.Addr()}
	if req.idle != nil {
		x.conn = req.idle.Get(x.key, sock.Pending)
		x.reused = x.conn != nil
	}
	if x.conn == nil {
		d := h.dialer(req, srv.Network())
		c, err := d.DialContext(req.ctx, srv.Network(), srv.Addr())
		if err != nil {
			return nil, err
		}
		if req.tls != nil {
			if c, err = h.handshake(req.ctx, req, c, srv); err != nil {
				return nil, err
			}
		}
		x.conn = c
		a.ConnectTime = h.now().Sub(start)
	} else {
		// A kept-alive connection took no time to get: nginx logs its
		// connect time as 0.000, not "-" (ngx_http_upstream_send_request).
		a.ConnectTime = 0
	}
	// fastcgi_send_timeout is "set only between two successive write
	// operations, not for the transmission of the whole request": a
	// buffered body goes out through a SendWriter, which re-arms it as the
	// bytes move (and writes at the stall edge). A streaming body's pump
	// sets it before each flush itself, and pumpStop ends the pump with a
	// past deadline that nothing may re-arm.
	var dst io.Writer = x.conn
	if req.stream == nil {
		x.sw = deadline.NewSendWriter(x.conn, h.set.SendTimeout, h.now)
		dst = x.sw
	}
	// The client is watched from here on: one that goes away while the
	// request is written stops the write (Abort).
	req.watch = clientwatch.Start(req.ctx, req.watcher, x)
	if req.ctx.Err() != nil {
		// The client left before the watch began: the engine's watcher
		// does not call Abort for that.
		x.Abort()
	}
	if req.stream != nil {
		x.setWriteDeadline(h.now().Add(h.set.SendTimeout))
	}
	cw := &countWriter{w: dst}
	bw := bufio.NewWriterSize(cw, 16<<10)
	if req.stream != nil {
		return h.sendStreaming(req, x, bw, cw)
	}
	var err error
	switch h.proto {
	case SCGI:
		writeSCGI(bw, req.params, int(req.spool.Size()))
		err = writeBody(bw, req, false)
	case UWSGI:
		writeUWSGIHead(bw, h.set, req.params)
		err = writeBody(bw, req, false)
	default:
		writeBegin(bw, h.set.KeepConn)
		writeStream(bw, typeParams, req.params)
		writeRecord(bw, typeParams, nil)
		err = writeBody(bw, req, true)
		writeRecord(bw, typeStdin, nil)
	}
	if err == nil {
		err = bw.Flush()
	}
	x.out = cw.n
	if err != nil {
		x.conn.Close()
		return nil, &sendError{err}
	}
	return x, nil
}

// writeBody writes the body read whole: in STDIN records for FastCGI
// (records), as it is for SCGI and uwsgi; one in a temporary file is read
// from it for each attempt.
func writeBody(bw *bufio.Writer, req *request, records bool) error {
	if !req.spool.InFile() {
		if records {
			return writeStream(bw, typeStdin, req.body)
		}
		_, err := bw.Write(req.body)
		return err
	}
	r := req.spool.Reader()
	if !records {
		_, err := bw.ReadFrom(r)
		return err
	}
	buf := make([]byte, maxRecord)
	for {
		n, err := io.ReadFull(r, buf)
		if n > 0 {
			if werr := writeRecord(bw, typeStdin, buf[:n]); werr != nil {
				return werr
			}
		}
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("read the request body's temporary file: %w", err)
		}
	}
}

// writeUWSGIHead writes a uwsgi packet's header and its variables.
func writeUWSGIHead(bw *bufio.Writer, set *config.FastCGI, params []byte) {
	bw.Write([]byte{byte(set.Modifier1), byte(len(params)), byte(len(params) >> 8), byte(set.Modifier2)})
	bw.Write(params)
}

// sendStreaming is send for a body that streams: the head goes out at once
// (an SCGI or FastCGI one with the body bytes that came with the request's
// head, nginx's preread part), then the body as it arrives. On an error the
// exchange is returned too, for its byte count; the caller closes it.
func (h *Handler) sendStreaming(req *request, x *exchange, bw *bufio.Writer, cw *countWriter) (*exchange, error) {
	var err error
	switch h.proto {
	case SCGI:
		var pre []byte
		if pre, err = req.stream.preread(); err == nil {
			writeSCGI(bw, req.params, len(pre))
			bw.Write(pre)
		}
	case UWSGI:
		writeUWSGIHead(bw, h.set, req.params)
	default:
		// The body bytes that came with the request's head go in STDIN
		// records with the params, as nginx 1.22.1 sends them (recorded:
		// "Content-Length: 10" and "01234" with the head; the server's
		// first read had the params and "01234"; nginx-tests
		// fastcgi_request_buffering.t "preread").
		var pre []byte
		if pre, err = req.stream.preread(); err == nil {
			writeBegin(bw, h.set.KeepConn)
			writeStream(bw, typeParams, req.params)
			writeRecord(bw, typeParams, nil)
			writeStream(bw, typeStdin, pre)
		}
	}
	if err == nil {
		if err = bw.Flush(); err != nil {
			err = sendFailed(err)
		}
	}
	if err == nil {
		// The rest of the body goes out while the response is read, so
		// that an answer the application gives before it read the whole
		// body reaches the client at once, as nginx relays it.
		x.cw, x.pump = cw, make(chan error, 1)
		x.setReadDeadline(h.now().Add(h.set.ReadTimeout))
		go h.pumpBody(req, x, bw)
		return x, nil
	}
	x.out = cw.n
	if err == errServerStopped {
		return x, nil // the response head, or the reason there is none
	}
	return x, err
}

// bytesIn is how many bytes the attempt read from its connection.
func (x *exchange) bytesIn() int64 { return x.rr.in + x.rr.raw.n }

// countReader counts the bytes read through it (an SCGI response).
type countReader struct {
	r io.Reader
	n int64
}

func (c *countReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// countWriter counts the bytes written through it.
type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// readHead reads the response head, logging STDERR records as nginx does.
func (h *Handler) readHead(req *request, x *exchange) error {
	if x.pump == nil { // else set before the pump started, which may cut it
		x.setReadDeadline(h.now().Add(h.set.ReadTimeout))
	}
	phase := "while " + errlog.ActionHeader
	limit := h.headLimit()
	in := x.src.Conn(x.conn)
	x.rr = recordReader{r: bufio.NewReaderSize(in, 16<<10), stderr: func(b []byte) error {
		return h.stderr(req, b, phase)
	}, limit: int64(limit), fit: -1}
	var src io.Reader = &x.rr
	records := &x.rr
	if h.proto != FastCGI { // the response is the connection's bytes up to its end
		src, records = &x.rr.raw, nil
		x.rr.raw.r = in
	}
	x.br = bufio.NewReaderSize(src, limit+1)
	hd, err := readHead(x.br, limit, records)
	phase = "while " + errlog.ActionBody
	if err == io.EOF && h.proto != FastCGI {
		// The connection closed before the head ended: nginx's
		// "upstream prematurely closed connection" (a FastCGI stream
		// that ended is "... FastCGI stdout").
		err = io.ErrUnexpectedEOF
	}
	if err != nil {
		return err
	}
	x.head = hd
	return nil
}

// headLimit is fastcgi_buffer_size (scgi_, uwsgi_buffer_size), at least 1
// (nginx takes 0, and then no head fits): the bytes the server may send
// before its head ends.
func (h *Handler) headLimit() int { return int(max(h.set.BufferSize, 1)) }

// stderr logs what the application wrote to STDERR, as nginx:
// FastCGI sent in stderr: "..." while ... Text that holds one of the
// fastcgi_catch_stderr strings ends the response with errCaughtStderr.
func (h *Handler) stderr(req *request, b []byte, phase string) error {
	msg := bytes.TrimRight(b, "\r\n")
	req.log.LogRequest(errlog.Error, req.logRequest(), fmt.Sprintf("FastCGI sent in stderr: \"%s\" %s", msg, phase))
	for _, s := range h.set.CatchStderr {
		if bytes.Contains(msg, []byte(s)) {
			return errCaughtStderr
		}
	}
	return nil
}

// errCaughtStderr is a STDERR record that fastcgi_catch_stderr caught: in
// the head, nginx's invalid header (502, or the next server under
// fastcgi_next_upstream invalid_header); in the body, a broken response.
// nginx logs nothing more than the stderr line.
var errCaughtStderr = errors.New("FastCGI stderr caught")

// sendError is an error writing the request to the upstream: nginx
// reports it "while sending request to upstream".
type sendError struct{ err error }

func (e *sendError) Error() string { return e.err.Error() }
func (e *sendError) Unwrap() error { return e.err }

// failed logs and releases a transport error and classifies it, in
// nginx's order: a timeout is logged after the balancer took the failure
// ("temporarily disabled" first, as ngx_http_upstream_next logs it), the
// other errors before, where nginx meets them.
func (h *Handler) failed(req *request, a *vars.Attempt, err error, end time.Time) *failure {
	srv := req.at.Server()
	if req.ctx.Err() != nil {
		h.release(req, srv, a, 0, upstream.Neutral, end, errlog.ActionHeader)
		return &failure{end: end}
	}
	f := h.bindFailed(req, err)
	if f == nil {
		f = h.certFailed(req, err)
	}
	if f != nil {
		f.end = end
		a.Status = f.status
		h.release(req, srv, a, 0, upstream.Neutral, end, errlog.ActionConnect)
		return f
	}
	f, msg := classify(err)
	f.end = end
	a.Status = f.status
	errlog.FailureInOrder(f.cond == config.NextTimeout,
		func() { h.release(req, srv, a, 0, upstream.Failure, end, f.action) },
		func() {
			if msg != "" {
				level := errlog.ConnectLevel(f.crit)
				req.log.LogRequest(level, req.logRequest(), msg)
			}
		})
	return f
}

// classify turns an attempt's error into a failure and its log text, in
// nginx's words and with what nginx was doing ("while connecting to
// upstream", "while sending request to upstream", "while reading response
// header from upstream").
func classify(err error) (*failure, string) {
	if f, msg, ok := handshakeFailure(err); ok {
		return f, msg
	}
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
	timeout := errlog.IsTimeout(err)
	switch {
	case timeout:
		return &failure{cond: config.NextTimeout, status: http.StatusGatewayTimeout, sent: !dial, action: action},
			errlog.TimedOut(action)
	case dial:
		msg, crit := errlog.ConnectFailed(err, action)
		return &failure{cond: config.NextError, status: http.StatusBadGateway, action: action, crit: crit}, msg
	case send != nil:
		return &failure{cond: config.NextError, status: http.StatusBadGateway, sent: true, action: action},
			fmt.Sprintf("writev() failed (%s) while %s", errlog.Errno(err), action)
	case errors.Is(err, errCaughtStderr):
		return &failure{cond: config.NextInvalidHeader, status: http.StatusBadGateway, sent: true, action: action}, ""
	case errors.Is(err, errMalformed):
		_, msg, _ := strings.Cut(err.Error(), ": ")
		return &failure{cond: config.NextInvalidHeader, status: http.StatusBadGateway, sent: true, action: action},
			msg + " while " + action
	case errors.Is(err, errInvalidHeader), errors.Is(err, errTooBigHeader), errors.Is(err, errInvalidStatus):
		return &failure{cond: config.NextInvalidHeader, status: http.StatusBadGateway, sent: true, action: action},
			err.Error() + " while " + action
	case err == io.EOF:
		// The FastCGI stream ended (END_REQUEST) before the head did:
		// nginx's NGX_HTTP_UPSTREAM_INVALID_HEADER, so
		// "fastcgi_next_upstream invalid_header" tries the next server
		// (recorded with nginx 1.22.1: a server that wrote "BAD" and
		// ended its stdout, the next one answered; nginx-tests
		// fastcgi_split.t).
		return &failure{cond: config.NextInvalidHeader, status: http.StatusBadGateway, sent: true, action: action},
			"upstream prematurely closed FastCGI stdout while " + action
	}
	// The connection closed ("upstream prematurely closed connection") or
	// a read failed ("recv() failed (104: Connection reset by peer)").
	return &failure{cond: config.NextError, status: http.StatusBadGateway, sent: true, action: action},
		errlog.ReadFailed(err, action)
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

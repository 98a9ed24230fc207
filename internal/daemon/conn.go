package daemon

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"fulcrum/internal/deadline"
	"fulcrum/internal/errlog"
	"fulcrum/internal/errpage"
	"fulcrum/internal/h1"
	"fulcrum/internal/idlepark"
	"fulcrum/internal/proxy"
	"fulcrum/internal/proxyproto"
	"fulcrum/internal/router"
	"fulcrum/internal/sock"
	"fulcrum/internal/vars"
)

// outOfDescriptors reports an accept that failed because the process (EMFILE)
// or the system (ENFILE) has no file descriptor left; the accept loop waits and
// tries again.
func outOfDescriptors(err error) bool {
	return errors.Is(err, syscall.EMFILE) || errors.Is(err, syscall.ENFILE)
}

// Connection states, for Shutdown: only an idle connection (waiting for the
// first byte of its next request) may be closed under a client's feet.
const (
	connActive int32 = iota
	connIdle
	connClosing
)

// clientReadBufSize is the size of each connection's read buffer, held while
// the connection is busy. A request head longer than it still parses (h1
// collects it in a pooled head buffer) at the cost of a second read, as with
// nginx, whose first buffer is 1 KiB (client_header_buffer_size). 2 KiB takes
// most heads in one read and took 1.5-2.5 MiB off RSS with 400 busy
// connections against 4 KiB; a 2.6 KiB head then costs 14% more CPU
// (bench/README.md, "Memory under load").
const clientReadBufSize = 2 << 10

// clientWriteBufSize is the size of the write buffer a response borrows; body
// writes larger than it go straight to the socket.
const clientWriteBufSize = 4 << 10

var (
	readerPool = h1.NewReaderPool(clientReadBufSize)
	writerPool = sync.Pool{New: func() any { return bufio.NewWriterSize(nil, clientWriteBufSize) }}
)

// abortCheckInterval is how often the server looks for clients that went away
// while their request is still being served (nginx notices at once through
// epoll; a goroutine blocked on the upstream cannot, so the server polls the
// sockets of requests that have run for at least one interval).
const abortCheckInterval = 500 * time.Millisecond

// clientConn is one client connection and everything reused across its
// requests.
type clientConn struct {
	srv    *httpServer
	c      net.Conn
	raw    syscall.Conn  // c's socket when c is a plain one (limitedConn aside); nil if not
	in     h1.LentReader // the read buffer, over src
	src    connSource
	bw     *bufio.Writer
	ci     connInfo
	ctx    context.Context         // cancelled when the client is gone or the connection ends
	cancel context.CancelCauseFunc // with an *errlog.ClientAbort when found gone (clientLeft)
	state  atomic.Int32
	// abortMu guards aborter, the upstream exchange watching the client
	// (proxy.ClientWatcher), and aborted, set when clientGone stopped it.
	abortMu sync.Mutex
	aborted bool
	aborter proxy.Aborter

	// connScratch holds the structures a request works in, reused from one
	// request to the next; nil while the connection is parked (park,
	// resume), when nothing may touch them.
	*connScratch
	base     *http.Request // carries ctx into each request
	hijacked bool
	// version and closeReq are the current request head's version and
	// whether it asked to close; the head itself is released early.
	version  h1.Version
	closeReq bool
	// headDeadline is set while the head's deadline may still be on the
	// connection (see clearReadDeadline).
	headDeadline bool
	// minIdleUntil is when the keepalive_min_timeout of the last response
	// ends, in milliseconds of connClock, modulo 2^32 (0 for none): until
	// then a graceful stop leaves the connection open while it waits for
	// its next request. 32 bits fill the padding before firstIn
	// (structsize_internal_test.go).
	minIdleUntil atomic.Uint32
	// firstIn, when set, is when the wait for the first request ends, from
	// the accept (ci.born): the client_header_timeout that began there and
	// bounded the PROXY protocol header goes on for the first request, as
	// nginx's one timer. A duration, not a time.Time: 16 bytes less.
	firstIn time.Duration
	// ticket is the connection's place in the daemon's parker while it
	// idles there without a goroutine (park); nil otherwise. idlepark sets
	// and clears it under its own lock.
	ticket atomic.Pointer[idlepark.Ticket]
	// rd is the connection's read deadline as last set (setReadDeadline, or
	// lazily for the wait between requests).
	rd deadline.Lazy

	// handlerSince is the server's tick count (plus one) when the running
	// handler started; 0 outside a handler or after a hijack.
	handlerSince atomic.Uint64
	// watched is the socket under c's wrappers, TLS included, which the
	// abort check looks at (peerClosed); nil if none.
	watched syscall.RawConn

	// rawc is the socket, for sending a response's last bytes and waiting
	// for the next request in one step (flushThenAwait); nil when the
	// connection is not a plain socket.
	rawc syscall.RawConn
	// out is the write buffer's destination (the connection, or the socket
	// itself inside flushThenAwait).
	out connWriter
	// awaitFn is flushThenWait as a method value made once.
	awaitFn func(fd uintptr) bool
	// binds are the upstream connections bound to this client connection
	// (ntlm), made by the first request to an upstream with ntlm; they
	// close with it. A pointer, here, so that the small fields around
	// share one word (TestPerConnectionStructsStaySmall).
	binds *proxy.Bindings
	// flushPending says finish left the response's last bytes in the write
	// buffer for flushThenAwait to send.
	flushPending bool
	// readFirst turns flushThenAwait off for the connection once a request
	// was found waiting when its bounded wait ended: a pipelining client,
	// whose requests may come before the wait begins.
	readFirst bool
	// idled records that flushThenWait sent everything and marked the
	// connection idle.
	idled bool

	// timedOut says a timeout ended the connection (client_header_timeout,
	// client_body_timeout, send_timeout) or "return 444" did: with
	// reset_timedout_connection it is reset. lingerAfter says it closes
	// after a response, which lingering_close may follow (endSocket).
	timedOut, lingerAfter bool

	// refusedErr is why the head reader refused the head being answered
	// (zero for a head that timed out or was cut short), for nginx's
	// $request_length of it (refusedLength).
	refusedErr h1.Error
}

// connScratch is what a client connection's requests work in: the head,
// the body reader, the http.Request with its URL and header, their text,
// and the response writer. A busy connection keeps one (no allocation per
// request); a parked one lets it go (shed) and takes a new one when it
// comes back (resume).
type connScratch struct {
	req    h1.Request
	body   reqBody
	hreq   http.Request
	url    url.URL
	header http.Header
	values []string // backing of header's value slices, reused
	keys   []string // buildRequest's distinct header keys, reused
	// names are the last request's field names (sentName), for the next
	// one to reuse when it sends the same.
	names []sentName
	arena []byte // the request's strings before conversion, reused
	w     respWriter
}

// newScratch gives cc a fresh connScratch, as a new connection has.
func (cc *clientConn) newScratch() {
	cc.connScratch = &connScratch{header: http.Header{}}
	cc.w = respWriter{cc: cc, header: http.Header{}}
	cc.body.cc = cc
}

func newClientConn(s *httpServer, c net.Conn) *clientConn {
	cc := &clientConn{srv: s, c: c}
	cc.newScratch()
	cc.ci = connInfo{id: s.nextID(), born: time.Now()}
	if sc, ok := c.(*sslConn); ok {
		sc.id = cc.ci.id // $connection for a certificate loaded at the handshake
	}
	if ta, ok := c.LocalAddr().(*net.TCPAddr); ok {
		cc.ci.local = ta.AddrPort()
	}
	cc.ci.remote = c.RemoteAddr().String()
	cc.ci.remoteAddr, _ = netip.ParseAddrPort(cc.ci.remote)
	cc.ci.unix = c.LocalAddr().Network() == "unix"
	base, raw := rawSocket(c)
	cc.watched = raw
	if _, ok := base.(*net.TCPConn); ok {
		cc.ci.sock = raw // for tcp_nodelay (applyNoDelay); not a unix socket
	}
	if lc, ok := c.(*limitedConn); ok {
		cc.raw, _ = lc.Conn.(syscall.Conn)
	} else {
		cc.raw, _ = c.(syscall.Conn)
	}
	if cc.raw != nil {
		cc.rawc, _ = cc.raw.SyscallConn()
		cc.ci.rawc = cc.rawc
		cc.awaitFn = cc.flushThenWait
	}
	cc.out.c, cc.out.sock = c, cc.raw
	cc.ctx, cc.cancel = context.WithCancelCause(context.Background())
	cc.base = (&http.Request{}).WithContext(cc.ctx)
	return cc
}

// serve runs the connection's requests one after the other until it closes.
// It tells the daemon's counters (stub_status) where each request is: a
// request starts with its first byte (Reading), is being served once its
// head was read (Writing, an upgraded stream included, until the handler
// returns), and is done when its response is; between requests the
// connection is Waiting.
func (cc *clientConn) serve() {
	if !cc.readProxyProtocol() {
		cc.closeUnserved()
		return
	}
	if hc, ok := cc.c.(*h2cConn); ok && cc.srv.h2 != nil {
		cc.serveH2C(hc)
		return
	}
	if sc, ok := cc.c.(*sslConn); ok && cc.srv.h2 != nil && sc.addr.h2 {
		tc, ok := cc.handshake(sc)
		if tc != nil {
			cc.serveH2(sc, tc)
			return
		}
		if !ok {
			cc.closeUnserved()
			return
		}
	}
	cc.src.reset(cc.c, cc.rawc)
	cc.in.Init(readerPool, &cc.src)
	cc.serveRequests(true, false)
}

// serveRequests reads and serves the connection's requests until it closes,
// or until it parks (park) while it waits for one: then the goroutine ends
// and resume goes on in another. waited says the next request's wait is
// over already (resume's).
func (cc *clientConn) serveRequests(first, waited bool) {
	parked := false
	defer func() {
		if !parked {
			cc.close()
		}
	}()
	stats := cc.srv.stats
	for ; ; first = false {
		if !waited {
			switch cc.waitRequest(first) {
			case waitClosed:
				return
			case waitParked:
				parked = true
				return
			}
		}
		waited = false
		stats.requestStarted()
		err := h1.ReadRequest(cc.in.Reader(), &cc.req, cc.srv.limits().h1)
		stats.headRead()
		if err != nil {
			cc.refuse(err)
			stats.requestFinished()
			return
		}
		ok := cc.serveRequest()
		stats.requestFinished()
		// A graceful stop ends the connection after its request, unless
		// the response kept it alive for keepalive_min_timeout.
		if !ok || (cc.srv.shuttingDown() && cc.w.kaMin <= 0) {
			return
		}
	}
}

// readProxyProtocol reads the PROXY protocol header of a connection to a
// "listen ... proxy_protocol" address before anything else (the TLS
// handshake, HTTP/2's preface, the first request), as nginx 1.22's
// ngx_http_wait_request_handler and ngx_http_ssl_handshake do: within
// client_header_timeout of the accept, from what the first read finds
// (client_header_buffer_size of it, 108 bytes on an ssl address). Only the
// header's bytes are taken from the socket, so a request sent with it is
// served. False means the connection ends: a broken header (logged at
// error, as nginx), a timeout or a close (at info).
func (cc *clientConn) readProxyProtocol() bool {
	size, ssl, ok := cc.srv.proxyProtocol(cc.ci.local)
	if !ok {
		return true
	}
	base, raw := rawSocket(cc.c)
	if raw == nil {
		return true
	}
	// On the socket itself: an sslConn keeps read deadlines aside until
	// its handshake.
	if t := cc.srv.limits().headerTimeout; t > 0 {
		cc.firstIn = t
		_ = base.SetReadDeadline(cc.ci.born.Add(t))
	}
	h, err := proxyproto.Read(raw, size, !ssl)
	_ = base.SetReadDeadline(time.Time{})
	if err != nil {
		cc.logProxyProtocol(err)
		cc.refuseH2C(err)
		return false
	}
	if h != nil {
		cc.ci.proxy = &vars.ProxyProtocol{Addr: h.SrcAddr, Port: h.SrcPort, ServerAddr: h.DstAddr, ServerPort: h.DstPort, TLVs: h}
	}
	return true
}

// refuseH2C answers a plain HTTP/2 connection ("listen ... proxy_protocol
// http2" without ssl) whose PROXY protocol header was broken or did not
// come within client_header_timeout with GOAWAY PROTOCOL_ERROR, as nginx
// 1.22.1 does: it reads the header in its HTTP/2 state machine and ends
// the connection as for a bad preface (recorded on a raw socket: "BOGUS
// TCP4 ...", "PROX", and nothing at all for client_header_timeout 1s each
// got SETTINGS, WINDOW_UPDATE, then GOAWAY last stream 0, code 1). fulcrum
// closed the connection without a frame. A client that closed gets
// nothing.
func (cc *clientConn) refuseH2C(err error) {
	c, ok := cc.c.(*h2cConn)
	if !ok {
		return
	}
	if _, bad := proxyproto.IsInvalid(err); bad || errors.Is(err, os.ErrDeadlineExceeded) {
		goAwayProtocol(c)
	}
}

// logProxyProtocol logs why reading the PROXY protocol header failed, in
// nginx 1.22.1's words (recorded): its own error line at error, a timeout
// or a close at info. On a plain HTTP/2 address nginx reads the header in
// its HTTP/2 state machine, so a timeout is its "while processing HTTP/2
// connection" (recorded).
func (cc *clientConn) logProxyProtocol(err error) {
	log := cc.log()
	level, msg := errlog.Info, ""
	where := " while reading PROXY protocol"
	if e, ok := proxyproto.IsInvalid(err); ok {
		if e.Msg == "" {
			return // nginx logs nothing for it
		}
		level, msg = errlog.Error, e.Msg
	} else {
		switch {
		case errors.Is(err, io.EOF):
			msg = "client closed connection"
		case errors.Is(err, os.ErrDeadlineExceeded):
			msg = "client timed out (110: Connection timed out)"
			if _, h2c := cc.c.(*h2cConn); h2c {
				where = " while processing HTTP/2 connection"
			}
		case errlog.IsConnReset(err):
			msg = "recv() failed (" + errlog.Errno(err) + ")"
		default:
			return
		}
	}
	if !log.Enabled(level) {
		return
	}
	log.LogRequest(level, &errlog.Request{Conn: cc.ci.id, Client: cc.clientAddr(), Server: cc.c.LocalAddr().String()},
		msg+where)
}

// rawSocket is the connection under c's wrappers (TCP or unix, TLS or not)
// and its socket; nil if none.
func rawSocket(c net.Conn) (net.Conn, syscall.RawConn) {
	for {
		switch w := c.(type) {
		case *limitedConn:
			c = w.Conn
		case *sslConn:
			c = w.Conn
		case *h2cConn:
			c = w.Conn
		case syscall.Conn:
			raw, err := w.SyscallConn()
			if err != nil {
				return nil, nil
			}
			return c, raw
		default:
			return nil, nil
		}
	}
}

// handshake makes the TLS handshake of a connection on an address that may
// offer HTTP/2, before any request, as an idle connection (a shutdown may
// close it). It returns the TLS connection when ALPN chose "h2", else nil
// and whether the connection goes on with HTTP/1.1 (a failed handshake
// goes on too: the engine's first read ends it as before).
func (cc *clientConn) handshake(sc *sslConn) (*tls.Conn, bool) {
	if !cc.state.CompareAndSwap(connActive, connIdle) {
		return nil, false
	}
	tc := sc.negotiate()
	if !cc.state.CompareAndSwap(connIdle, connActive) {
		return nil, false // Shutdown closed it
	}
	if tc != nil && tc.ConnectionState().NegotiatedProtocol == "h2" {
		return tc, true
	}
	return nil, true
}

// closeUnserved ends a connection that served nothing (closed by a
// shutdown during its handshake).
func (cc *clientConn) closeUnserved() {
	cc.srv.stats.close()
	cc.clientGone()
	cc.srv.untrack(cc)
	cc.c.Close()
}

// waitRequest waits for the first byte of the next request: the first request
// within client_header_timeout of the connection's start, later ones within
// the keepalive_timeout of the previous response (its location's, as nginx's
// ngx_http_set_keepalive). The byte's arrival is the request's start ($request_time). The rest of the head then gets client_header_timeout,
// unless it is already buffered whole (the common case: one deadline change
// per request instead of two). A connection still idle after idleGrace gives
// its read buffer back and waits on a one-byte read (waitIdle).
//
// The wait for a new connection's first request is not idle: as nginx's
// (which marks only keep-alive connections idle), a graceful stop serves
// the first request of a connection it accepted, within
// client_header_timeout, instead of closing it unanswered. So a connection
// accepted just as the listener closes (QUIT after a binary upgrade, whose
// new process accepts on the same socket; a reload that removes an
// address) is not lost.
func (cc *clientConn) waitRequest(first bool) waitResult {
	lim := cc.srv.limits()
	wait := cc.w.kaTimeout
	if first {
		wait = lim.headerTimeout
	}
	var deadline time.Time
	if !first {
		cc.startMinIdle()
	}
	br := cc.in.Reader()
	cc.ci.pipelined = !first && br.Buffered() > 0
	grace := wait > idleGrace && br.Buffered() == 0
	awaiting := cc.flushPending
	if wait > 0 {
		now := time.Now()
		deadline = now.Add(wait)
		if first && cc.firstIn > 0 {
			deadline = cc.ci.born.Add(cc.firstIn)
			grace = grace && deadline.Sub(now) > idleGrace
		}
		switch {
		case awaiting:
			// Lazily: the bound needs no precision, and a busy connection
			// keeps one deadline for many requests (never past the
			// keepalive_timeout itself).
			b := min(awaitBound, wait)
			if t, ok := cc.rd.Within(now, b, min(2*b, wait)); ok {
				_ = cc.c.SetReadDeadline(t)
			}
		case grace:
			cc.setReadDeadline(now.Add(idleGrace))
		default:
			cc.setReadDeadline(deadline)
		}
		cc.headDeadline = true
	}
	var checkSince time.Time // when a bounded wait ended unanswered
	if awaiting {
		switch cc.flushThenAwait() {
		case awaitClosed:
			return waitClosed
		case awaitExpired:
			// Nothing within awaitBound: an idle client, or a request that
			// came before the wait began (pipelined while the handler ran).
			// Read to find out, with the usual deadline. The request
			// scratch kept for a busy client's next request goes back:
			// an idle connection holds none (idle.sh: 1.8 KiB more per
			// idle connection while it kept it until it parked).
			cc.ci.dropScratch()
			checkSince = time.Now()
			cc.setWaitDeadline(checkSince, deadline, grace)
		case awaitSent:
			// Sent without the bounded wait: the bound's deadline must not
			// end the read that follows.
			cc.setWaitDeadline(time.Now(), deadline, grace)
		}
	} else if !first && !cc.state.CompareAndSwap(connActive, connIdle) {
		return waitClosed
	}
	if !first && cc.srv.shuttingDown() && !cc.inMinIdle(time.Now()) {
		return waitClosed
	}
	_, err := br.Peek(1)
	if err == nil && !checkSince.IsZero() && time.Since(checkSince) < pipelinedWithin {
		cc.readFirst = true // the request was there all along: a pipelining client
	}
	if err != nil && grace && errors.Is(err, os.ErrDeadlineExceeded) {
		cc.in.Drop()
		if cc.park(first, deadline) {
			return waitParked
		}
		err = cc.waitIdle(deadline)
	}
	if !cc.endWait(first, err, grace, deadline) {
		return waitClosed
	}
	return waitReady
}

// waitResult is how waitRequest ended.
type waitResult int

const (
	// waitReady: the next request's first byte is in the read buffer.
	waitReady waitResult = iota
	// waitClosed: the connection ends (closed, timed out, stopped).
	waitClosed
	// waitParked: the connection idles in the daemon's parker, and the
	// goroutine that waited must let go of it (park).
	waitParked
)

// endWait ends the wait for a request that the read err concluded: false
// if the connection ends (the reason logged as nginx), else the request
// starts and its head gets its deadline.
func (cc *clientConn) endWait(first bool, err error, grace bool, deadline time.Time) bool {
	if err != nil {
		cc.logWaitEnd(first, err)
		return false
	}
	if !first && !cc.state.CompareAndSwap(connIdle, connActive) {
		return false // Shutdown closed it
	}
	lim := cc.srv.limits()
	cc.ci.start = time.Now()
	if lim.headerTimeout > 0 && !headBuffered(cc.in.Reader()) {
		switch {
		case !first:
			cc.setReadDeadline(cc.ci.start.Add(lim.headerTimeout))
		case grace:
			// The wait had idleGrace's deadline: the first head keeps
			// client_header_timeout from the accept, as nginx's timer.
			cc.setReadDeadline(deadline)
		}
	}
	return true
}

// startMinIdle starts the keepalive_min_timeout of the response just sent
// (its location's), as nginx's ngx_http_set_keepalive: the connection is
// not marked idle (closable by a graceful stop) until it passes.
func (cc *clientConn) startMinIdle() {
	until := uint32(0)
	if m := cc.w.kaMin; m > 0 {
		until = max(connMillis(time.Now())+uint32(m), 1) // 0 is none
	}
	cc.minIdleUntil.Store(until)
}

// connClock is the origin of minIdleUntil's clock (its monotonic reading).
var connClock = time.Now()

// connMillis is now in milliseconds of connClock, modulo 2^32: compared
// as differences (serial number arithmetic), good for spans under 24 days.
func connMillis(now time.Time) uint32 { return uint32(now.Sub(connClock).Milliseconds()) }

// inMinIdle reports whether now is within the keepalive_min_timeout of the
// connection's last response.
func (cc *clientConn) inMinIdle(now time.Time) bool {
	until := cc.minIdleUntil.Load()
	return until != 0 && int32(until-connMillis(now)) > 0
}

// awaitBound bounds flushThenAwait's wait, so that a pipelined request whose
// arrival it cannot see waits at most this long (up to twice as long: the
// deadline is kept lazily, see waitRequest); a busy keep-alive client's next
// request comes well within it. pipelinedWithin is how soon after the
// bound a read must find a request for the client to count as pipelining.
const (
	awaitBound      = 20 * time.Millisecond
	pipelinedWithin = time.Millisecond
)

// flushThenAwait sends what finish left in the write buffer and waits for the
// next request in one step, as the proxy's sendThenAwait does upstream: the
// write comes after Go's poller has reset the socket's readiness, so the wait
// needs no read that finds nothing first (most keep-alive clients send their
// next request only after this response), and that read was close to one
// system call per request. The cost: a request that arrived before the wait
// began (a pipelining client's) is seen only when the wait's deadline
// (awaitBound) ends it. It reports how the wait ended (awaitEnd).
func (cc *clientConn) flushThenAwait() awaitEnd {
	cc.idled = false
	err := cc.rawc.Read(cc.awaitFn)
	if cc.flushPending { // the step never ran
		cc.flushPending = false
		if !errors.Is(err, os.ErrDeadlineExceeded) {
			return awaitClosed // the socket is closed
		}
		// The bound's deadline, kept lazily from an earlier wait, passed
		// before this one began (the goroutine stalled since waitRequest
		// found it in its window: a loaded machine): the poller refused
		// the wait before its first step. Send with the usual writer.
		if cc.bw != nil {
			if cc.bw.Flush() != nil {
				return awaitClosed
			}
		}
	}
	if cc.out.err != nil {
		cc.out.err = nil
		return awaitClosed
	}
	if len(cc.out.rest) > 0 { // the socket buffer was full: finish with the usual writer
		_, werr := cc.out.write(cc.out.rest)
		cc.out.rest = nil // rare: not worth keeping with every connection
		if werr != nil {
			return awaitClosed
		}
	}
	cc.releaseWriter()
	if !cc.idled {
		if !cc.state.CompareAndSwap(connActive, connIdle) {
			return awaitClosed
		}
		return awaitSent // sent, not waited: read as usual
	}
	if err != nil && errors.Is(err, os.ErrDeadlineExceeded) {
		return awaitExpired
	}
	return awaitReady
}

// awaitEnd is how flushThenAwait ended.
type awaitEnd int

const (
	// awaitReady: the response went out and the socket became readable
	// within the bound (the next request, or the client's close).
	awaitReady awaitEnd = iota
	// awaitExpired: the response went out and the bound's deadline ended
	// the wait: an idle client, or a request that came before it began.
	awaitExpired
	// awaitSent: the response went out without the bounded wait (the
	// socket buffer was full, or the bound's deadline had passed before
	// the wait began); the bound's deadline may still be on the socket.
	awaitSent
	// awaitClosed: the connection must close (a write failed, the socket
	// is closed, or Shutdown closed it while idle).
	awaitClosed
)

// setWaitDeadline gives the read for the next request its usual deadline
// from now: the keep-alive one (deadline), or idleGrace's when grace.
func (cc *clientConn) setWaitDeadline(now, deadline time.Time, grace bool) {
	if grace {
		cc.setReadDeadline(now.Add(idleGrace))
	} else {
		cc.setReadDeadline(deadline)
	}
}

// flushThenWait is flushThenAwait's step, called by RawConn.Read with the
// socket: the first call writes the buffered bytes with non-blocking writes
// and, when all of them went, marks the connection idle and asks to wait
// (false); the next call, once the socket is readable, ends the wait.
func (cc *clientConn) flushThenWait(fd uintptr) bool {
	if !cc.flushPending {
		return true
	}
	cc.flushPending = false
	if cc.bw != nil { // none when the response's bytes all went out already
		cc.out.fd, cc.out.raw = int(fd), true
		_ = cc.bw.Flush() // connWriter keeps what the socket did not take, and its error
		cc.out.raw = false
	}
	if cc.out.err != nil || len(cc.out.rest) > 0 {
		return true
	}
	// All sent: the write buffer goes back before the wait, which may be
	// long (at 400 connections, 1.6 MiB less held).
	cc.releaseWriter()
	cc.idled = cc.state.CompareAndSwap(connActive, connIdle)
	return !cc.idled
}

// connWriter is where a connection's write buffer goes: the connection, or,
// inside flushThenWait, the socket with non-blocking writes. There it never
// fails the buffered writer (whose errors stick): what the socket does not
// take is kept in rest, a write error in err, for flushThenAwait.
//
// Its blocking writes get send_timeout as nginx arms it: only for a write
// that may wait, between two of them. Bytes that fit in the socket buffer
// (a small response, all of it, in flushThenWait) need no deadline, and most
// responses set none.
type connWriter struct {
	c    net.Conn
	fd   int
	rest []byte
	err  error
	// timeout is the current response's send_timeout (0: none); fixed says
	// a handler set the write deadline itself (or took the connection), so
	// arm leaves it. wd is the write deadline, set lazily.
	timeout time.Duration
	wd      deadline.Lazy
	fixed   bool
	// raw says Write sends to fd itself, with non-blocking raw calls
	// (inside flushThenAwait).
	raw bool
	// sock is c's socket (nil under TLS, which cannot write again after a
	// timeout), polled at the stall edge (write).
	sock syscall.Conn
}

// arm gives the next blocking write its send_timeout, or lifts an earlier
// response's deadline when the timeout is off.
func (w *connWriter) arm() {
	if w.fixed {
		return
	}
	var now time.Time
	if w.timeout > 0 {
		now = time.Now()
	}
	if t, ok := w.wd.Due(now, w.timeout); ok {
		_ = w.c.SetWriteDeadline(t)
	}
}

func (w *connWriter) Write(p []byte) (int, error) {
	if !w.raw {
		return w.write(p)
	}
	sent := 0
	for sent < len(p) && w.err == nil && len(w.rest) == 0 {
		n, e := sock.Write(w.fd, p[sent:])
		switch {
		case e == syscall.EINTR:
			continue
		case e == syscall.EAGAIN || e == 0 && n <= 0:
		case e != 0:
			w.err = os.NewSyscallError("write", e)
		default:
			sent += n
			continue
		}
		break
	}
	if sent < len(p) && w.err == nil {
		w.rest = append(w.rest, p[sent:]...)
	}
	return len(p), nil
}

// write is the blocking write, with send_timeout armed (arm). At the stall
// edge (the deadline passed while the socket had room: the goroutine
// stalled past it) it writes the rest once more with the timeout armed
// afresh, as nginx, which handles the write event before it expires the
// timer, writes and moves the timer; a socket the client left full times
// out. A deadline a handler set (fixed) is the handler's to keep.
func (w *connWriter) write(p []byte) (int, error) {
	w.arm()
	n, err := w.c.Write(p)
	if err != nil && !w.fixed && w.sock != nil && errors.Is(err, os.ErrDeadlineExceeded) && deadline.Writable(w.sock) {
		w.arm()
		var more int
		more, err = w.c.Write(p[n:])
		n += more
	}
	return n, err
}

// idleGrace is how long a connection waits for its next request holding its
// read buffer. A busy keep-alive connection's next request comes well within
// it; past it, the buffer goes back to the pool, so an idle connection (a
// browser keeps them open for a minute) costs 4 KiB less.
const idleGrace = time.Second

// waitIdle waits until deadline for the first byte of the next request
// without a read buffer, then takes one back with that byte in front. The
// byte is read from the socket's sock.Reader when there is one, which
// reads a request that came as keepalive_timeout passed (the stall edge),
// as nginx does.
func (cc *clientConn) waitIdle(deadline time.Time) error {
	cc.in.Drop() // done already on waitRequest's way; resume's too
	cc.setReadDeadline(deadline)
	n, err := cc.src.c.Read(cc.src.first[:])
	cc.src.pending = cc.src.first[:n]
	cc.in.Reader()
	if n > 0 {
		return nil
	}
	if err == nil {
		err = io.ErrNoProgress
	}
	return err
}

// connSource is what a connection's read buffer reads from: the byte waitIdle
// read while the connection held no buffer, then the connection itself (c:
// raw, the socket read with raw reads, when there is one).
type connSource struct {
	c io.Reader
	// raw reads the socket; its RawConn is also what reads that must not
	// wait (noWait) use, nil when the connection is not a plain one (TLS).
	raw     sock.Reader
	pending []byte
	first   [1]byte
	// noWait makes Read take only what the socket holds: errWouldBlock
	// when it holds nothing, never a wait (readNow).
	noWait bool
	// ready is nginx's read event flag (rev->ready) for the socket: the
	// last read filled the space it was given, so the socket may hold
	// more, or the request waited since (recorder.waited), when nginx
	// goes back to its event loop and takes the socket's read event. A
	// read that got less than it asked (or nothing) clears it: on Linux
	// nginx's recv then marks the socket not ready (EPOLLRDHUP), and bytes
	// that come after it are read only once an event says so.
	ready bool
}

// errWouldBlock is a read that must not wait (connSource.noWait) finding
// the socket empty.
var errWouldBlock = errors.New("socket holds nothing to read")

// reset makes s read from c, through its socket when it has one (rawc).
func (s *connSource) reset(c net.Conn, rawc syscall.RawConn) {
	s.c, s.ready = c, false
	s.raw.Reset(rawc)
	if rawc != nil {
		s.c = &s.raw
	}
}

func (s *connSource) Read(p []byte) (int, error) {
	if len(s.pending) > 0 {
		n := copy(p, s.pending)
		s.pending = s.pending[n:]
		return n, nil
	}
	if s.noWait {
		return s.readNow(p)
	}
	n, err := s.c.Read(p)
	s.ready = n == len(p)
	return n, err
}

// readNow reads what the socket holds into p without waiting, as nginx's
// recv on a non-blocking socket: errWouldBlock when it holds nothing, io.EOF
// after the client's FIN, the socket's error (a reset) otherwise. It keeps
// ready as Read does.
func (s *connSource) readNow(p []byte) (int, error) {
	var n int
	var errno syscall.Errno
	err := s.raw.RawConn().Control(func(fd uintptr) {
		for {
			n, errno = sock.Read(int(fd), p)
			if errno != syscall.EINTR {
				return
			}
		}
	})
	s.ready = false
	switch {
	case err != nil:
		return 0, err
	case errno == syscall.EAGAIN:
		return 0, errWouldBlock
	case errno != 0:
		return 0, os.NewSyscallError("read", errno)
	case n == 0:
		return 0, io.EOF
	}
	s.ready = n == len(p)
	return n, nil
}

// fillNow adds to the read buffer what the socket holds, without waiting,
// when nginx's discard would read the socket at this point (ready): a
// discard before the answer takes it as nginx's
// ngx_http_read_discarded_request_body does. It reports whether it added
// bytes. A connection that is not a plain socket (TLS) is never read so.
func (cc *clientConn) fillNow() bool {
	src := &cc.src
	if !src.ready || src.raw.RawConn() == nil || cc.hijacked {
		return false
	}
	br := cc.in.Reader()
	n := br.Buffered()
	if n == br.Size() {
		return false // a step longer than the buffer: the body's reader waits for it
	}
	src.noWait = true
	_, err := br.Peek(n + 1)
	src.noWait = false
	return err == nil
}

// headBuffered reports whether a whole request head (up to the empty line)
// is already in br's buffer. The usual buffer holds one request without a
// body, which ends with the empty line: that is checked first, without a
// search.
func headBuffered(br *bufio.Reader) bool {
	b, _ := br.Peek(br.Buffered())
	if bytes.HasSuffix(b, []byte("\r\n\r\n")) {
		return true
	}
	return bytes.Contains(b, []byte("\r\n\r\n"))
}

// clearReadDeadline lifts the head's deadline before anything else reads the
// connection (a body without client_body_timeout, an upgraded stream). It is
// done only when needed: most requests read nothing more before the next head.
func (cc *clientConn) clearReadDeadline() {
	if cc.headDeadline {
		cc.setReadDeadline(time.Time{})
		cc.headDeadline = false
	}
}

// setReadDeadline sets the connection's read deadline to t exactly (the zero
// time: none), keeping rd, the lazy record, in step.
func (cc *clientConn) setReadDeadline(t time.Time) {
	cc.rd.Set(t)
	_ = cc.c.SetReadDeadline(t)
}

// refuse answers a head the strict reader refused with its status, and a head
// that did not arrive whole within client_header_timeout with 408
// (http-hardening.md), then closes. A connection that ended mid-head, or
// after empty lines only, closes quietly, logged as a 400 as nginx logs it
// (with what arrived of the request line); one that sent nothing at all
// (waitRequest) is not logged.
func (cc *clientConn) refuse(err error) {
	var perr h1.Error
	cc.refusedErr = 0
	switch {
	case errors.As(err, &perr):
		cc.refusedErr = uriFirst(&cc.req, perr)
		cc.logOverflow(perr)
		cc.logRefusedHead(cc.refusedErr)
		cc.answerRefused(perr.Status(), headWhole(perr))
	case errors.Is(err, os.ErrDeadlineExceeded):
		cc.timedOut = true
		cc.logHeadEnd("client timed out (110: Connection timed out)")
		if cc.srv.limits().closing.ResetTimedout {
			// nginx closes a head that timed out without an answer, and
			// the reset would destroy one: only the log says 408.
			cc.logRefused(http.StatusRequestTimeout, false)
			return
		}
		cc.answerAndClose(http.StatusRequestTimeout, false)
	case err != io.EOF:
		if errlog.IsConnReset(err) && !cc.overTLS() {
			cc.logHeadEnd("recv() failed (" + errlog.Errno(err) + ")")
		} else if err == io.ErrUnexpectedEOF || errlog.IsConnReset(err) {
			cc.logHeadEnd("client prematurely closed connection")
		}
		cc.logRefused(http.StatusBadRequest, false)
	}
}

// overTLS reports whether the connection's bytes come through TLS (its
// handshake done; not a plain request on an ssl address). nginx 1.22.1 reads
// a reset under TLS as a close (ngx_ssl_handle_recv: no OpenSSL error
// queued, "peer shutdown SSL cleanly"), so a TLS client that resets before
// its first request or in the middle of a head gets "client closed
// connection while waiting for request" or "client prematurely closed
// connection", not "recv() failed (104: ...)" (recorded with nginx 1.22.1;
// the keep-alive wait keeps its "(104: ...)").
func (cc *clientConn) overTLS() bool {
	sc, ok := cc.c.(*sslConn)
	return ok && sc.tc.Load() != nil
}

// logWaitEnd logs at info, in nginx 1.22.1's words (recorded on raw
// sockets), why a connection waiting for a request ended with err: the
// first request's wait (ngx_http_wait_request_handler) ends "while waiting
// for request" on a close, a reset or client_header_timeout; a keep-alive
// wait (ngx_http_keepalive_handler) logs "client ADDR closed keepalive
// connection", with the errno after a reset, and nothing on
// keepalive_timeout. A connection closed by a stop is not logged.
func (cc *clientConn) logWaitEnd(first bool, err error) {
	log := cc.log()
	if !log.Enabled(errlog.Info) || cc.srv.shuttingDown() {
		return
	}
	eof, reset := err == io.EOF, errlog.IsConnReset(err)
	if first && reset && cc.overTLS() {
		eof, reset = true, false // see overTLS
	}
	client := cc.clientAddr()
	if !first {
		msg := "client " + client + " closed keepalive connection"
		switch {
		case reset:
			msg += " (" + errlog.Errno(err) + ")"
		case !eof:
			return
		}
		// nginx writes no client and server after this one.
		log.LogRequest(errlog.Info, &errlog.Request{Conn: cc.ci.id}, msg)
		return
	}
	var msg string
	switch {
	case eof:
		msg = "client closed connection"
	case reset:
		msg = "recv() failed (" + errlog.Errno(err) + ")"
	case errors.Is(err, os.ErrDeadlineExceeded):
		msg = "client timed out (110: Connection timed out)"
	default:
		return
	}
	log.LogRequest(errlog.Info, &errlog.Request{Conn: cc.ci.id, Client: client, Server: cc.c.LocalAddr().String()},
		msg+" while waiting for request")
}

// logHeadEnd logs at info, as nginx does, a head that ended before its end:
// what (a close, a reset, a timeout), then "while reading client request
// line" or "headers", with what arrived of the request line and the Host.
// The server is the default server's name (nginx's is the one a Host
// already read chose).
func (cc *clientConn) logHeadEnd(what string) {
	req := &cc.req
	action := " while reading client request line"
	if bytes.IndexByte(req.Raw(), '\n') >= 0 {
		action = " while reading client request headers"
	}
	host := string(req.ArrivedHeaders().Get("Host"))
	name, log := cc.refusedServer(host, false)
	log.LogRequest(errlog.Info, &errlog.Request{Conn: cc.ci.id, Client: cc.clientAddr(), Server: name,
		Request: string(req.RawLine()), Host: host}, what+action)
}

// refusedServer is the name of the server a refused head with the Host
// host ("" when none was read) belongs to, for its error log line, and the
// error log the line goes to: that server's when the Host chose it, else
// the connection's (see snapshot.refusedName); whole says the head was read
// to its end (see snapshot.refusedServer).
func (cc *clientConn) refusedServer(host string, whole bool) (string, *errlog.Logger) {
	if cc.srv.refusedName == nil {
		return cc.srv.limits().serverName, cc.log()
	}
	st := new(vars.State) // a refused head is rare: no pool
	st.Local = cc.ci.local
	if sc, ok := cc.c.(*sslConn); ok {
		sc.describe(&cc.ci)
	}
	st.TLS = cc.ci.tls // its server name may choose the server (connServer)
	name, log := cc.srv.refusedName(st, host, whole)
	if log == nil {
		log = cc.log()
	}
	return name, log
}

// log is the connection's error log, nginx's c->log: the error log of the
// level that served its last request (ngx_http_update_location_config
// moves it there), or before any, the error log of its address's default
// server (ngx_http_init_connection). A level log that a reload took out of
// use and closed since (after the replaced configuration's last request)
// is passed over for the connection's address's in force: nginx's old
// worker still had the old file open, fulcrum has none, and the line
// would be lost. Never nil.
func (cc *clientConn) log() *errlog.Logger {
	if l := cc.ci.log; l != nil && !l.Closed() {
		return l
	}
	if l := cc.srv.limits().log; l != nil {
		return l
	}
	return cc.srv.mainLog()
}

// maxErrorLine is how much of a header line nginx's "client sent too long
// header line" quotes (NGX_MAX_ERROR_STR - 300).
const maxErrorLine = 2048 - 300

// logOverflow logs at info, in nginx 1.22.1's words (recorded on raw
// sockets), a head its header buffers could not hold (h1.Overflow): "client
// sent too long URI" with the request line as the buffer held it, or
// "client sent too long header line" quoting what the buffer held of the
// line (nginx quotes the line before when the refused one began at the
// buffer's end, as parsed: NUL after its name and its value), or "client
// sent too large request".
func (cc *clientConn) logOverflow(err h1.Error) {
	if cc.srv.limits().h1.HeaderBuffer == 0 {
		return
	}
	log := cc.log()
	req := &cc.req
	ov := req.Overflow()
	er := &errlog.Request{Conn: cc.ci.id, Client: cc.clientAddr(), Server: cc.srv.limits().serverName}
	switch err {
	case h1.ErrURITooLong:
		er.Request = string(ov.Held)
		log.LogRequest(errlog.Info, er, "client sent too long URI while reading client request line")
	case h1.ErrHeaderTooLarge:
		er.Request, er.Host = string(req.RawLine()), string(req.Headers.Get("Host"))
		er.Server, log = cc.refusedServer(er.Host, false)
		var msg string
		switch {
		case len(ov.Held) > 0:
			msg = `client sent too long header line: "` + string(ov.Held[:min(len(ov.Held), maxErrorLine)]) + `..."`
		case ov.Prev != nil:
			line := parsedLine(ov.Prev)
			msg = `client sent too long header line: "` + string(line[:min(len(line), maxErrorLine)]) + `..."`
		default:
			msg = "client sent too large request"
		}
		log.LogRequest(errlog.Info, er, msg+" while reading client request headers")
	}
}

// parsedLine is a field line (CRLF included) as nginx's buffer holds it
// once parsed: a NUL after the name (for the colon) and after the value.
func parsedLine(l []byte) []byte {
	b := append([]byte(nil), l...)
	colon := bytes.IndexByte(b, ':')
	if colon < 0 || len(b) < 2 {
		return b
	}
	b[colon] = 0
	content := b[:len(b)-2]
	end := len(bytes.TrimRight(content, " \t"))
	if end <= colon { // an empty value: nginx's ends at the CR
		end = len(content)
	}
	b[end] = 0
	return b
}

// clientAddr is the client's address as nginx's error lines give it.
func (cc *clientConn) clientAddr() string {
	if cc.ci.unix && !cc.ci.remoteAddr.Addr().IsValid() {
		return "unix:"
	}
	return cc.ci.remoteAddr.Addr().String()
}

// headWhole reports whether the head reader refused a head it had read to
// its end: the error is one of the field section as a whole (no Host, a
// duplicate one, the body's framing), not of a line in it. An invalid
// Host is a line's: nginx refuses it as it reads the line, in the default
// server, not the one that takes requests without a Host (recorded with
// nginx 1.22.1: "Host: b/test" and "Host: " were logged with the default
// server's name and got its add_header fields beside a server_name "").
func headWhole(err h1.Error) bool {
	switch err {
	case h1.ErrMissingHost, h1.ErrDuplicateHost, h1.ErrDuplicateField, h1.ErrTEAndCL,
		h1.ErrTransferEncoding, h1.ErrUnknownCoding, h1.ErrContentLength, h1.ErrTrailerDecl:
		return true
	}
	return false
}

// uriFirst returns h1.ErrTargetEscape, the refusal of a request line's URI,
// for a head refused with 400 in its header fields whose request line
// parsed but whose path does not (router.NormalizePath: "%00", a climb
// above the root): nginx parses the URI with the request line and refuses
// it before it reads a field, so the 400 is the URI's, logged as "client
// sent invalid request while reading client request line" with $uri ""
// and the line's bytes in $request_length (recorded with nginx 1.22.1:
// "GET /ret/a/%00" with an empty or bad Host, or none). Else err.
func uriFirst(req *h1.Request, err h1.Error) h1.Error {
	if err.Status() != http.StatusBadRequest {
		return err
	}
	if _, headers := refusalMessage(err, req); !headers {
		return err
	}
	var parsed h1.Request
	if h1.ParseRequestLine(req.RawLine(), &parsed) != nil || parsed.Path == nil || parsed.Form == h1.AsteriskForm {
		return err
	}
	if _, perr := router.NormalizePath(rawPath(originForm(string(parsed.Target)))); perr == nil {
		return err
	}
	return h1.ErrTargetEscape
}

// answerAndClose writes fulcrum's error page for code and marks the
// connection to close; whole says the head was read to its end.
func (cc *clientConn) answerAndClose(code int, whole bool) {
	w := &cc.w
	w.reset(false)
	cc.closeReq = true
	w.Header()["Connection"] = []string{"close"}
	page := cc.pageLook(code, whole)
	errpage.WriteFor(w, code, page.server, cc.refusedQuirks(page.paddingOff))
	w.finish()
	cc.lingerAfter = code != http.StatusRequestTimeout && w.err == nil
	cc.logRefused(code, whole)
}

// ownPage is what fulcrum's own page for a refused head takes from the
// server the head belongs to: server is the Server field's value (its
// server_tokens), paddingOff its msie_padding off.
type ownPage struct {
	server     string
	paddingOff bool
}

// pageLook readies fulcrum's own page for a head refused with code (whole:
// read to its end) as nginx 1.22.1's special response handler makes it,
// with the configuration of the server the head belongs to (recorded on
// raw sockets): that server's "always" add_header fields go into the
// answer's header, and its server_tokens and msie_padding are returned.
// Without that server (no hook, a listener the configuration dropped) the
// default server's server_tokens and msie_padding apply.
func (cc *clientConn) pageLook(code int, whole bool) ownPage {
	lim := cc.srv.limits()
	page := ownPage{server: lim.server, paddingOff: lim.msiePaddingOff}
	if cc.srv.refusedLook != nil {
		st := new(vars.State) // a refused head is rare: no pool
		cc.fillRefused(st, code)
		if p, ok := cc.srv.refusedLook(&cc.w, st, string(cc.req.Headers.Get("Host")), whole, code); ok {
			page = p
		}
	}
	if page.server == "" {
		page.server = "fulcrum"
	}
	return page
}

// logRefused has the access log record a request the engine answered (or
// dropped) itself, before any handler: nginx logs its 400s and 408s too,
// with the request line as received and what of the request parsed: the
// header fields read before the refusal ($http_NAME) and the answer's
// ($sent_http_NAME). whole says the head was read to its end.
func (cc *clientConn) logRefused(status int, whole bool) {
	if cc.srv.refused == nil {
		return
	}
	st := &vars.State{}
	cc.fillRefused(st, status)
	total, head := cc.w.sentBytes()
	st.BytesSent, st.BodyBytesSent = total, max(total-head, 0)
	if total > 0 {
		st.SentHeader = vars.HeaderMap(cc.w.Header())
		st.Completed = cc.w.err == nil
	}
	cc.srv.refused(st, string(cc.req.Headers.Get("Host")), whole)
}

// refusedLength is nginx 1.22.1's $request_length of a head refused for err
// (recorded with scripts/request-nginx-sweep.py): the bytes its parser had
// taken when it gave up. A malformed field line is refused at its start
// ("X-A: a\r\n\tb" counts the lines before the fold); a field nginx checks
// as it reads the line (a second Host, Content-Length, Transfer-Encoding
// or other unique field, an invalid Host) at the end of that line; a head
// whose fields are checked together (no Host, the body's framing) whole.
// A head cut short (err 0: client_header_timeout, the client's close)
// counts the lines nginx parsed, each at its LF: "GET /b HTTP/1.1\r\nHo"
// is 17, a request line without its LF 0 (recorded on raw sockets).
func refusedLength(req *h1.Request, err h1.Error) int64 {
	raw := req.Raw()
	switch err {
	case 0:
		return int64(bytes.LastIndexByte(raw, '\n') + 1)
	case h1.ErrBareLF, h1.ErrBareCR, h1.ErrControlChar, h1.ErrFieldName,
		h1.ErrSpaceBeforeColon, h1.ErrMissingColon, h1.ErrLeadingWhitespace, h1.ErrObsFold:
		if text, _, ok := h1.LineFault(raw); ok {
			return int64(cap(raw) - cap(text)) // where the line starts
		}
	case h1.ErrInvalidHost:
		return fieldLineEnd(raw, req.Headers, "Host", 1)
	case h1.ErrDuplicateHost:
		return fieldLineEnd(raw, req.Headers, "Host", 2)
	case h1.ErrContentLength, h1.ErrTransferEncoding:
		name := "Content-Length"
		if err == h1.ErrTransferEncoding {
			name = "Transfer-Encoding"
		}
		if req.Headers.Count(name) > 1 {
			return fieldLineEnd(raw, req.Headers, name, 2)
		}
	case h1.ErrDuplicateField:
		for i := range req.Headers {
			if name := req.Headers[i].Name; h1.UniqueField(name) && req.Headers[:i].Count(string(name)) > 0 {
				return lineEndAfter(raw, req.Headers[i].Value)
			}
		}
	}
	return int64(len(raw))
}

// fieldLineEnd is the offset in raw just past the line of the nth field
// of hs named name (1 for the first), or len(raw) when there is none.
func fieldLineEnd(raw []byte, hs h1.Headers, name string, nth int) int64 {
	for i := range hs {
		if h1.EqualFold(hs[i].Name, name) {
			if nth--; nth == 0 {
				return lineEndAfter(raw, hs[i].Value)
			}
		}
	}
	return int64(len(raw))
}

// lineEndAfter is the offset in raw just past the LF that ends the line
// holding value (a slice of raw), or len(raw).
func lineEndAfter(raw, value []byte) int64 {
	at := cap(raw) - cap(value) + len(value)
	if at < 0 || at > len(raw) {
		return int64(len(raw))
	}
	if i := bytes.IndexByte(raw[at:], '\n'); i >= 0 {
		return int64(at + i + 1)
	}
	return int64(len(raw))
}

// lineEnd is the offset just past raw's first line and its LF, or len(raw).
func lineEnd(raw []byte) int {
	if i := bytes.IndexByte(raw, '\n'); i >= 0 {
		return i + 1
	}
	return len(raw)
}

// fillRefused fills st with what nginx's variables hold for a request
// refused with status before any handler: the request line as received,
// what of the request parsed, the header fields read before the refusal.
func (cc *clientConn) fillRefused(st *vars.State, status int) {
	req := &cc.req
	st.Status = status
	line := req.RawLine()
	if status == http.StatusRequestURITooLong {
		// nginx logs what its buffer held, however much more had arrived
		// when it gave up.
		if held := req.Overflow().Held; len(held) > 0 {
			line = held
		} else if len(line) > cc.srv.limits().h1.MaxRequestLine {
			line = line[:cc.srv.limits().h1.MaxRequestLine]
		}
	} else if first := cc.srv.limits().h1.HeaderBuffer; first > 0 && len(line) > first && h1.RequestLineFaultWithin(line, first) {
		// nginx's parser refused the line within its first buffer
		// (client_header_buffer_size), and its $request is the line as
		// that buffer held it: the first read, for a client that sent
		// the line in one go (recorded with nginx 1.22.1: "G1 /a?zz..."
		// and "PATCH ?xx..." over 4000 bytes log their first 1024; a
		// fault past them logs the whole line).
		line = line[:first]
	}
	// What arrived of the request line; empty lines alone log as "".
	st.RequestLine, st.EmptyRequestLine = string(line), len(line) == 0
	parsed := req
	// uriFirst's refusal: the line parsed (its own ErrTargetEscape is the
	// case below), its path did not.
	uriRefused := cc.refusedErr == h1.ErrTargetEscape && h1.ParseRequestLine(line, &h1.Request{}) == nil
	if uriRefused {
		parsed = &h1.Request{} // nothing of the line is kept but $request
		st.Rewritten = true
	} else if cc.refusedErr == h1.ErrBareCR && bareCRInRequestLine(req.Raw()) {
		parsed = &h1.Request{} // nginx's request line parser refused it
	} else if req.Method == nil { // a head cut short: its request line may be whole
		parsed = &h1.Request{}
		switch h1.ParseRequestLine(line, parsed) {
		case h1.ErrTargetHost:
			// nginx's host check after the request line refused an
			// empty host: the path parsed ($uri), the line counted.
			if p, err := router.NormalizePath(string(parsed.Path)); err == nil {
				st.Path = p
			}
			if parsed.Query != nil {
				// and its args (recorded with nginx 1.22.1: "GET
				// http:///ret/a?x=1" logs $args x=1)
				st.Args, st.ArgsFound = string(parsed.Query), true
			}
			st.Length = int64(lineEnd(req.Raw()))
		case h1.ErrTargetEscape:
			// nginx's request line parser took the line and its URI
			// parser refused it (ngx_http_process_request_uri): r->uri
			// is found and empty, $request_uri and $args are not found,
			// as for a path above the root (serveFound). Recorded with
			// nginx 1.22.1: GET /%zz, /%2, /% and http://h/%zz log $uri
			// and $document_uri as "", $request_uri and $args as "-";
			// GET /%zz\x01 (its line refused) logs "-" for all four.
			st.Rewritten = true
		}
	}
	if parsed.Method != nil { // the request line parsed
		st.Method = string(parsed.Method)
		st.RequestURI = originForm(string(parsed.Target))
		if _, q, ok := strings.Cut(st.RequestURI, "?"); ok {
			st.Args = q // $args, as the request line parsed it (nginx 1.22.1 logs x=1)
		}
		st.Proto = parsed.Version.String()
		if p, err := router.NormalizePath(rawPath(st.RequestURI)); err == nil {
			st.Path = p
		}
		// nginx counts the head read so far once the line parsed (none
		// for a refused line).
		st.Length = refusedLength(req, cc.refusedErr)
	} else if st.Rewritten {
		// The URI parser's refusal comes after the request line's end.
		st.Length = int64(lineEnd(req.Raw()))
	}
	st.Remote, st.Local, st.RemoteUnix = cc.ci.remoteAddr, cc.ci.local, cc.ci.unix
	// The head came over TLS: $scheme, $https and the $ssl_* variables say
	// so, as nginx's do for the 400 it logs (recorded with nginx 1.22.1).
	if sc, ok := cc.c.(*sslConn); ok {
		sc.describe(&cc.ci)
	}
	if cc.ci.tls != nil {
		st.Scheme, st.TLS = "https", cc.ci.tls
	}
	st.Conn, st.ConnRequests = cc.ci.id, cc.ci.requests+1
	st.Start, st.ConnStart = cc.ci.start, cc.ci.born
	st.Pipelined = cc.ci.pipelined
	if cc.ci.rawc != nil {
		st.Socket = &cc.ci
	}
	if cc.srv.stats != nil {
		st.Connections = cc.srv.stats
	}
	if len(req.Headers) > 0 && !uriRefused { // nginx read no field then
		fields := make(vars.HeaderList, len(req.Headers))
		for i, h := range req.Headers {
			fields[i] = vars.Field{Name: string(h.Name), Value: string(h.Value)}
		}
		st.Header = fields
	}
}

// serveRequest runs one request through the handler and ends its response.
// It reports whether the connection may carry another request.
func (cc *clientConn) serveRequest() bool {
	req := &cc.req
	if req.Expect == h1.ExpectUnsupported {
		cc.answerAndClose(http.StatusExpectationFailed, true)
		return false
	}
	r := cc.buildRequest()
	cc.version, cc.closeReq = req.Version, req.Close
	cc.ci.length = int64(req.HeadLen)
	cc.w.reset(req.Method != nil && string(req.Method) == http.MethodHead)
	if err := cc.body.reset(); err != nil {
		cc.answerAndClose(http.StatusBadRequest, true)
		return false
	}
	// Everything the request needs was copied out of the head: its buffer goes
	// back to the pool now, not after the response (at 400 connections that is
	// 400 fewer 4 KiB buffers held while upstreams answer). So does the read
	// buffer when nothing more will be read for this request (no body) and
	// nothing is buffered after it: the next wait takes one back.
	if req.Framing == h1.NoBody {
		cc.in.Release()
	}
	req.Reset()
	cc.startWatch()
	ok := cc.runHandler(r)
	cc.stopWatch()
	if cc.hijacked || !ok {
		return false
	}
	keep := cc.w.finish() && cc.body.done()
	if !keep {
		cc.lingerAfter = cc.w.err == nil && !cc.w.dropped && cc.ctx.Err() == nil
	}
	// cc.hreq is not cleared here: the next request's buildRequest writes
	// all of it again from cc.base; until then it keeps what this request
	// left, as the rest of the scratch does (let go when the connection
	// parks, shed).
	cc.releaseWriter()
	return keep
}

// runHandler runs the handler and reports whether it returned normally. A
// handler that panics with http.ErrAbortHandler (the proxy, when an upstream
// body breaks off after the head went out) ends the connection without
// finishing the response, so the client sees it cut short; any other panic is
// logged with its stack and ends the connection too, as net/http does, instead
// of the process.
func (cc *clientConn) runHandler(r *http.Request) (ok bool) {
	defer func() {
		if p := recover(); p != nil {
			if p != http.ErrAbortHandler {
				cc.srv.mainLog().Logf(errlog.Alert, "panic serving %s: %v\n%s", cc.ci.remote, p, debug.Stack())
			} else {
				cc.w.flushCut()
			}
			ok = false
		}
	}()
	cc.srv.handler(&cc.w, r, cc)
	return true
}

// sentVersion is the version of req's request line as received (after
// the method, the target and their single spaces), or the parsed version's
// name when the line is not there to read.
func sentVersion(req *h1.Request) []byte {
	line := req.RawLine()
	if at := len(req.Method) + 1 + len(req.Target) + 1; at < len(line) {
		return line[at:]
	}
	return []byte(req.Version.String())
}

// buildRequest fills the connection's reused http.Request from the parsed
// head. Header names and values, the request line and the host share one string,
// so a request costs one allocation for all of its text.
//
// r.URL is empty on purpose: the path a handler must use is the normalised
// one in vars.State (st.Path, st.Args), and the raw target is r.RequestURI;
// parsing the target into a url.URL per request would only invite a second,
// different reading of it.
//
// It is kept out of line: its locals would otherwise join serveRequest's
// frame, which stays on the stack while the handler runs (the connection's
// deepest path, TestClientStackStaysSmall).
//
//go:noinline
func (cc *clientConn) buildRequest() *http.Request {
	req := &cc.req
	// The text starts with the request line as received ($request), the
	// target inside it.
	a := appendRequestLine(cc.arena[:0], req)
	lineLen := len(a)
	a = append(a, req.Host...)
	same := sameNames(cc.names, req.Headers)
	if same {
		for _, f := range req.Headers {
			a = append(a, f.Value...)
		}
	} else {
		a = req.Headers.AppendText(a)
	}
	s := string(a)
	cc.arena = a[:0]
	cc.ci.requestLine = s[:lineLen]
	targetAt := len(req.Method) + 1

	vals := cc.values[:0]
	if cap(vals) < len(req.Headers) {
		vals = make([]string, 0, len(req.Headers))
	}
	fields := cc.ci.fields[:0]
	if fields == nil {
		fields = vars.HeaderList{} // none is an empty list, not "no order known"
	}
	off := lineLen + len(req.Host)
	names := cc.names
	if !same {
		names = names[:0]
	}
	for i, f := range req.Headers {
		var sent, value string
		if same {
			sent = names[i].sent
			value, off = s[off:off+len(f.Value)], off+len(f.Value)
		} else {
			var name string
			name, sent, value, off = h1.FieldText(s, off, f)
			names = append(names, sentName{sent: sent, key: name})
		}
		vals = append(vals, value)
		fields = append(fields, vars.Field{Name: sent, Value: value})
	}
	cc.names = names
	cc.values = vals
	cc.ci.fields = fields
	cc.ci.plainNames = req.Underscores == 0 && req.OddNames == 0
	// The header keeps its keys from the previous request when this one
	// sent the same names and nothing changed the header since: its value
	// slices are vals' entries, written above.
	if !same || !keptHeader(cc.header, names, vals) {
		cc.fillHeader(names, vals)
	}

	r := &cc.hreq
	*r = *cc.base // every field, whatever the previous request's handler set
	r.Method = methodString(req.Method)
	r.RequestURI = s[targetAt : targetAt+len(req.Target)]
	r.Host = s[lineLen : lineLen+len(req.Host)]
	r.Header = cc.header
	r.Proto, r.ProtoMajor, r.ProtoMinor = "HTTP/1.1", 1, 1
	if req.Version == h1.HTTP10 {
		r.Proto, r.ProtoMinor = "HTTP/1.0", 0
	}
	cc.url = url.URL{}
	r.URL = &cc.url
	r.RemoteAddr = cc.ci.remote
	r.Close = req.Close
	switch req.Framing {
	case h1.LengthBody:
		r.ContentLength = req.ContentLength
	case h1.ChunkedBody:
		r.ContentLength = -1
		r.TransferEncoding = chunkedCoding
	}
	r.Body = http.NoBody
	if r.ContentLength != 0 {
		r.Body = &cc.body
	}
	return r
}

// appendRequestLine appends req's request line as received to a, in one
// piece from its head (Raw): the strict reader takes single spaces only, so
// the line is the method, the target and the version as sent, up to the
// CR. "HTTP/1.2" and "HTTP/1.01" are served as HTTP/1.1, and logged as
// sent, as nginx 1.22.1 logs them.
func appendRequestLine(a []byte, req *h1.Request) []byte {
	raw := req.Raw()
	// The version follows the target's space, eight bytes at least
	// ("HTTP/1." and a digit or more), and a CR ends it.
	end := len(req.Method) + 1 + len(req.Target) + 1 + len("HTTP/1.1")
	if end > len(raw) || len(req.Method) == 0 || &raw[0] != &req.Method[0] {
		return appendRebuiltLine(a, req)
	}
	for end < len(raw) && raw[end] != '\r' && raw[end] != '\n' {
		end++
	}
	return append(a, raw[:end]...)
}

// appendRebuiltLine is appendRequestLine for a head whose line does not
// start its Raw (not one h1.ReadRequest read): the line rebuilt from its
// parts.
//
//go:noinline
func appendRebuiltLine(a []byte, req *h1.Request) []byte {
	a = append(a, req.Method...)
	a = append(a, ' ')
	a = append(a, req.Target...)
	a = append(a, ' ')
	return append(a, sentVersion(req)...)
}

var chunkedCoding = []string{"chunked"}

// fillHeader fills cc.header with the request's fields, named names (their
// keys) and valued vals: a key's first value is its entry of vals, so that
// the next request with the same names writes its values there
// (keptHeader).
func (cc *clientConn) fillHeader(names []sentName, vals []string) {
	clear(cc.header)
	keys := cc.keys[:0]
	var sigs uint64 // keySig of every distinct key so far
	for i, n := range names[:len(vals)] {
		name := n.key
		sig := keySig(name)
		if sigs&sig != 0 && seenKey(cc.header, keys, name) {
			prev := cc.header[name]
			cc.header[name] = append(prev[:len(prev):len(prev)], vals[i])
			continue
		}
		sigs |= sig
		if len(keys) < scanKeys {
			keys = append(keys, name)
		}
		cc.header[name] = vals[i : i+1 : i+1]
	}
	cc.keys = keys[:0] // its strings are the header's, released with it
}

// keptHeader reports whether h is as fillHeader left it for fields named
// names with no key repeated, each key's value the entry of vals (the same
// backing) at its field's index: nothing added, removed or replaced a key
// or its value slice since. A repeated key fails it (its one value cannot
// be two entries), and so does a header filled from other names: only
// fillHeader makes slices of vals' entries, and the caller fills it anew
// whenever the names change.
func keptHeader(h http.Header, names []sentName, vals []string) bool {
	if len(h) != len(vals) {
		return false
	}
	for i := range vals {
		v := h[names[i].key]
		if len(v) != 1 || &v[0] != &vals[i] {
			return false
		}
	}
	return true
}

// scanKeys is how many distinct keys buildRequest looks through before it
// asks the header map whether a field repeats one: a few string compares
// cost less than a map look-up per field, many would cost more.
const scanKeys = 16

// sentName is a field name as sent and its canonical form, the header's key.
type sentName struct{ sent, key string }

// sameNames reports whether a request's fields are named exactly as the
// previous request's (names), in the same order: then buildRequest takes
// their text from that request instead of copying each name and putting it
// in canonical form again (a browser sends the same fields on every request
// of a connection). All or nothing, so that the names held point into one
// earlier request's text: a connection keeps at most that one alive, and
// lets it go with its scratch when it parks.
func sameNames(names []sentName, hs h1.Headers) bool {
	if len(names) != len(hs) {
		return false
	}
	for i := range hs {
		if names[i].sent != string(hs[i].Name) {
			return false
		}
	}
	return true
}

// keySig is one bit of 64 chosen by a key's length and last byte: a key
// whose bit no earlier key of a request set is new, with no compare at all
// (most requests repeat no field, and few of their names share both).
// Keys are canonical names of fields, never empty.
func keySig(key string) uint64 {
	return 1 << ((uint(len(key))*7 + uint(key[len(key)-1])) & 63)
}

// seenKey reports whether the request's header already has key: among keys,
// the distinct keys so far while they are fewer than scanKeys, else in h.
func seenKey(h http.Header, keys []string, key string) bool {
	if len(keys) < scanKeys {
		return slices.Contains(keys, key)
	}
	_, ok := h[key]
	return ok
}

// methodString returns the method as a string, without allocating for the
// common ones.
func methodString(m []byte) string {
	switch string(m) {
	case http.MethodGet:
		return http.MethodGet
	case http.MethodHead:
		return http.MethodHead
	case http.MethodPost:
		return http.MethodPost
	case http.MethodPut:
		return http.MethodPut
	case http.MethodDelete:
		return http.MethodDelete
	case http.MethodOptions:
		return http.MethodOptions
	case http.MethodPatch:
		return http.MethodPatch
	}
	return string(m)
}

// close ends the connection: buffers back to their pools, the socket closed
// (unless a handler took it over, which closed it before its request
// finished), the server and the counters told.
func (cc *clientConn) close() {
	if !cc.hijacked {
		cc.endSocket() // still tracked: a graceful stop ends a lingering one
	}
	cc.srv.stats.close()
	cc.clientGone()
	if cc.binds != nil {
		cc.binds.Close() // an authenticated upstream context never outlives its client
	}
	cc.srv.untrack(cc)
	if cc.hijacked {
		return // the hijacker owns the socket and the buffers now
	}
	if cc.bw != nil {
		_ = cc.bw.Flush()
	}
	cc.c.Close()
	cc.in.Drop()
	cc.releaseWriter()
	cc.req.Reset()
	cc.ci.dropScratch()
}

// writer returns the connection's write buffer, taking one from the pool
// when the connection holds none: between responses it holds none, so idle
// and waiting connections cost no write buffer.
func (cc *clientConn) writer() *bufio.Writer {
	if cc.bw == nil {
		cc.bw = writerPool.Get().(*bufio.Writer)
		cc.bw.Reset(&cc.out)
	}
	return cc.bw
}

// releaseWriter gives an empty write buffer back to the pool (a buffer still
// holding bytes stays: its connection is being closed after a failed write).
func (cc *clientConn) releaseWriter() {
	if cc.bw == nil || cc.bw.Buffered() > 0 || cc.hijacked {
		return
	}
	cc.bw.Reset(nil)
	writerPool.Put(cc.bw)
	cc.bw = nil
}

// hijack hands the connection to a handler: the server stops tracking it and
// stops checking the socket (the handler now owns both directions).
func (cc *clientConn) hijack() {
	cc.hijacked = true
	cc.handlerSince.Store(0)
	cc.srv.untrack(cc)
}

// clientGone cancels the connection's context and stops the upstream exchange
// watching the client, if there is one.
func (cc *clientConn) clientGone() {
	cc.cancel(nil)
	cc.abortMu.Lock()
	if cc.aborter != nil {
		cc.aborter.Abort()
		cc.aborter, cc.aborted = nil, true
	}
	cc.abortMu.Unlock()
}

// clientLeft is clientGone for a client the abort check or an HTTP/2
// connection's read found gone: cause (an *errlog.ClientAbort) becomes the
// context's cause, for the line the request's 499 path writes.
func (cc *clientConn) clientLeft(cause error) {
	cc.cancel(cause)
	cc.clientGone()
}

// startWatch marks the connection as inside a handler, for the server's
// client check (watchClients): an atomic store, no timer per request.
func (cc *clientConn) startWatch() {
	if cc.watched != nil {
		cc.handlerSince.Store(cc.srv.tick.Load() + 1)
	}
}

func (cc *clientConn) stopWatch() { cc.handlerSince.Store(0) }

// peerClosed looks at the socket (rc, under TLS too) without blocking or
// consuming: an end of stream or a reset means the client is gone
// (peerGone), and the socket's pending error (ECONNRESET for a reset, 0
// for a close) goes in the cause. Control takes no read lock, so this is
// safe while the connection's goroutine reads.
func peerClosed(rc syscall.RawConn) *errlog.ClientAbort {
	var cause *errlog.ClientAbort
	_ = rc.Control(func(fd uintptr) {
		if gone, errno := peerGone(fd); gone {
			cause = &errlog.ClientAbort{Errno: errno}
		}
	})
	return cause
}

// reqBody is the request body as handlers read it: h1's reader for the head's
// framing, with "100 Continue" sent before the first read when the client
// waits for it.
type reqBody struct {
	cc       *clientConn
	b        h1.Body
	expect   bool // 100-continue asked (with a body or not) and not sent yet
	framing  h1.Framing
	finished bool // read to its end
	// early says a discard before the answer (recorder.earlyBodyFault)
	// found the chunked body malformed and logged it.
	early bool
	// peerClosed says the client closed the connection before the end of
	// its body (nginx's c->error): the request ends with no answer. Set
	// by the read that failed, read after its error came back.
	peerClosed bool
	// preread is the body bytes that came with the head as nginx reads
	// them (see headLength and prereadOf), at most 65535: a uint16 in the
	// struct's padding.
	preread uint16
	// abandoned says the handler gave up the rest of a body that streamed
	// upstream (respWriter.AbandonBody): reads fail with errBodyAbandoned,
	// nothing more is read or discarded, and the connection closes after
	// the answer, lingering (nginx's r->reading_body at the finalization).
	abandoned atomic.Bool
	// headLength is ci.length when the body began (the head's bytes): a
	// chunked body refused within the preread bytes counts none of its
	// bytes in $request_length, as nginx 1.22.1 counts what came with the
	// head only once its body filter took it (recorded with
	// scripts/request-nginx-sweep.py: "8\r\nabc\r\ndef\r0..." after a
	// 56-byte head logs 56). An int32 in the struct's padding.
	headLength int32
	framed     int64 // chunk framing bytes counted in ci.length so far
	limit      int64 // limitChunked's cap; 0: none
}

// errBodyAbandoned is a body read after (or interrupted by) the handler's
// AbandonBody.
var errBodyAbandoned = errors.New("request body abandoned by the handler")

// errNoContinue is a body read after the final status was decided for a client
// that waits for 100 Continue: the body will not come, the connection closes.
var errNoContinue = errors.New("client waits for 100 Continue after the final status")

func (b *reqBody) reset() error {
	req := &b.cc.req
	b.framing, b.finished = req.Framing, req.Framing == h1.NoBody || req.ContentLength == 0
	b.framed, b.cc.ci.chunked, b.limit, b.early = 0, chunkedBody{}, 0, false
	b.abandoned.Store(false)
	b.peerClosed = false
	b.headLength, b.preread = int32(b.cc.ci.length), uint16(min(prereadOf(req, b.cc.in.Buffered()), 65535))
	// A bodiless request that asked is answered too, when a handler takes its
	// body the way nginx reads or discards one (see respWriter.Continue).
	b.expect = req.Expect == h1.ExpectContinue
	return b.b.Reset(b.cc.in.Reader(), req.Framing, req.ContentLength, h1.BodyLimits{})
}

// prereadOf returns how many body bytes nginx would have read with req's
// head, buffered of them read ahead by fulcrum: nginx reads a head into
// its header buffers, each read taking as much as the buffer has room for,
// so the body bytes that came with the head fill the rest of the buffer
// the head ended in (h1.Request.BufferRoom), no more. fulcrum's own read
// buffer (2 KiB) may hold less, or more: when some body came with the
// head, the rest of nginx's room is taken to have come too (a client
// sends a request in one go; one that paused inside the room's bytes is
// counted as if it had not). Recorded with nginx 1.22.1: after a
// 4077-byte head (a 4000-byte target, in a large buffer of 8k), a chunk
// whose data ends in "\r0" counts none of the body, 4077; after a 78-byte
// head (first buffer 1k), a fault 1,100 bytes into the body counts every
// byte, 1219.
func prereadOf(req *h1.Request, buffered int) int {
	room := req.BufferRoom()
	if room == 0 || buffered == 0 {
		return buffered
	}
	return room
}

// Read implements io.Reader.
func (b *reqBody) Read(p []byte) (int, error) {
	if b.abandoned.Load() {
		return 0, errBodyAbandoned
	}
	b.cc.clearReadDeadline() // unless client_body_timeout set its own
	if b.expect {
		if err := b.sendContinue(); err != nil {
			return 0, err
		}
	}
	return b.account(b.b.Read(p))
}

// account counts a read of the body (n bytes, err) in $request_length and
// $content_length and turns its error into the handlers' (a *bodyFault for
// a malformed body, a *chunkTooLarge past limitChunked).
func (b *reqBody) account(n int, err error) (int, error) {
	b.cc.ci.length += int64(n)
	if c := b.b.Chunked(); c != nil {
		b.countChunked(c)
	}
	switch {
	case err == io.EOF:
		b.finished = true
	case err != nil && b.abandoned.Load():
		err = errBodyAbandoned // AbandonBody's deadline, not a timeout
	case err != nil && errors.Is(err, os.ErrDeadlineExceeded):
		b.cc.timedOut = true // client_body_timeout
		// nginx counts every byte it read before the timeout, those of
		// a line not finished too (recorded with nginx 1.22.1: a body
		// "3\r\nabc\r\n0\r\n\r" that stalls logs 408 with all 91
		// bytes of the request, fulcrum counted 90 without its "\r").
		b.cc.ci.length += int64(b.cc.in.Buffered())
	case b.limit > 0 && errors.Is(err, h1.ErrBodyTooLarge):
		err = &chunkTooLarge{max: http.MaxBytesError{Limit: b.limit}}
		if c := b.b.Chunked(); c != nil {
			err.(*chunkTooLarge).read, err.(*chunkTooLarge).size = c.Declared(), c.Refused()
		}
		// nginx counts in $request_length every byte its reads took from
		// the socket, those read past the refused chunk's size line too
		// (the 413 closes the connection, so they are never read again):
		// 107 for a 107-byte request whose second chunk is refused.
		b.cc.ci.length += int64(b.cc.in.Buffered())
	case err == io.ErrUnexpectedEOF:
		b.peerClosed = true
		err = &bodyFault{err: err, level: errlog.Info, msg: "client prematurely closed connection"}
	case err != nil && isChunkedFault(err):
		err = &bodyFault{err: err, level: errlog.Error, msg: "client sent invalid chunked body"}
		if b.cc.ci.length-int64(b.headLength) <= int64(b.preread) {
			b.cc.ci.length = int64(b.headLength) // see headLength
		} else {
			// Past the preread, nginx counts what its read took from the
			// socket, the bytes after the fault too (see prereadOf).
			b.cc.ci.length += int64(b.cc.in.Buffered())
		}
	}
	return n, err
}

// PrereadFault implements proxy.PrereadChecker: the fault of a chunked body
// within the bytes that came with its head (its preread, see prereadOf; as
// many of them as fulcrum's read buffer holds), found without reading
// them, as a *bodyFault; nil when there is none, the body is not chunked,
// or some of it was read already. nginx's body filter takes the preread
// before a streamed body's upstream is connected (recorded with nginx
// 1.22.1, proxy_request_buffering off: "3\r\nabc\r\nzz\r\n" with the
// head is 400, "client sent invalid chunked body", nothing upstream, a dead
// upstream not tried; "zz\r\n" sent 300 ms after the first chunk is 502
// there, the connect having failed first).
func (b *reqBody) PrereadFault() error {
	c := b.b.Chunked()
	if c == nil || b.finished || b.expect || c.Consumed() > 0 || c.Err() != nil {
		return nil
	}
	n := min(int(b.preread), b.cc.in.Buffered())
	if n == 0 {
		return nil
	}
	p, _ := b.cc.in.Reader().Peek(n)
	if err := h1.ChunkedPrefixFault(p); err != nil && isChunkedFault(err) {
		// The handler logs it; the discard after the answer must not
		// read into the fault and log it again (see discardBody).
		b.early = true
		return &bodyFault{err: err, level: errlog.Error, msg: "client sent invalid chunked body"}
	}
	return nil
}

// CountUnread implements proxy.UnreadBody, for a body that streams to no
// server (every attempt failed before reading any of it): nginx read what
// came with the head before it connected (its preread, see prereadOf) and
// counted it in $request_length, so it is counted here too; whole reports
// whether that was the whole body. When it was not, nginx's request ends
// while its body is still being read: no keep-alive, the rest not parsed,
// and the caller abandons the body for that (recorded with nginx 1.22.1,
// proxy_request_buffering off, a dead upstream: "3\r\nabc\r\n0\r\n\r\n"
// with the head then a pipelined request got two 502s, $request_length 73;
// "3\r\nabc\r\n" with the head and the rest 300 ms later one 502,
// $request_length 68, and the connection closed).
func (b *reqBody) CountUnread() (whole bool) {
	if b.finished {
		return true
	}
	if b.expect || b.cc.ci.length != int64(b.headLength) {
		return false // nothing came yet, or some was read: not nginx's preread
	}
	n := min(int(b.preread), b.cc.in.Buffered())
	p, _ := b.cc.in.Reader().Peek(n)
	counted := int64(n)
	if c := b.b.Chunked(); c != nil {
		if end, err := h1.ChunkedPrefix(p); err == nil && end >= 0 {
			counted, whole = int64(end), true
		}
	} else if left := b.b.Remaining(); left <= counted {
		counted, whole = left, true
	}
	b.cc.ci.length += counted
	return whole
}

// isChunkedFault reports whether err is the strict reader refusing a
// chunked body's framing (its size lines, extensions, data ends, trailer).
func isChunkedFault(err error) bool {
	var perr h1.Error
	if !errors.As(err, &perr) {
		return false
	}
	switch perr {
	case h1.ErrChunkSize, h1.ErrChunkExtension, h1.ErrChunkData, h1.ErrTrailerTooLarge,
		h1.ErrBareLF, h1.ErrBareCR, h1.ErrControlChar, h1.ErrFieldName, h1.ErrSpaceBeforeColon,
		h1.ErrMissingColon, h1.ErrObsFold, h1.ErrLeadingWhitespace:
		return true
	}
	return false
}

// bodyFault is a request body that failed, with the line nginx 1.22.1's
// ngx_http_read_client_request_body writes for it (errlog.Described):
// "client sent invalid chunked body" at error, "client prematurely closed
// connection" at info (recorded on raw sockets with proxy_pass). It wraps
// the reader's own error, which decides the status.
type bodyFault struct {
	err   error
	level errlog.Level
	msg   string
}

func (e *bodyFault) Error() string { return e.err.Error() }
func (e *bodyFault) Unwrap() error { return e.err }

// LogLine returns the fault's level and nginx's words for it.
func (e *bodyFault) LogLine() (errlog.Level, string) { return e.level, e.msg }

// chunkTooLarge is a chunk that would take a chunked body past
// client_max_body_size (limitChunked): an *http.MaxBytesError for the
// handlers, which may log the sizes as nginx does ("client intended to
// send too large chunked body: 5+5 bytes").
type chunkTooLarge struct {
	max        http.MaxBytesError
	read, size int64 // the body's bytes before the chunk, and the chunk's size
}

func (e *chunkTooLarge) Error() string { return e.max.Error() }
func (e *chunkTooLarge) Unwrap() error { return &e.max }

// ChunkTooLarge returns the body's size before the refused chunk and the
// chunk's size.
func (e *chunkTooLarge) ChunkTooLarge() (read, size int64) { return e.read, e.size }

// LogLine returns nginx's line for the refused chunk, at error.
func (e *chunkTooLarge) LogLine() (errlog.Level, string) {
	return errlog.Error, "client intended to send too large chunked body: " +
		strconv.FormatInt(e.read, 10) + "+" + strconv.FormatInt(e.size, 10) + " bytes"
}

// countChunked adds the chunk framing read since the last call to
// $request_length, which nginx counts with the data, and notes the chunk
// sizes read for $content_length.
func (b *reqBody) countChunked(c *h1.ChunkedReader) {
	ci := &b.cc.ci
	f := c.Framing()
	ci.length += f - b.framed
	b.framed = f
	ci.chunked = chunkedBody{read: true, declared: c.Declared()}
}

// sendContinue tells the client to send its body.
func (b *reqBody) sendContinue() error {
	w := &b.cc.w
	if w.status != 0 {
		return errNoContinue
	}
	b.expect = false
	w.write([]byte("HTTP/1.1 100 Continue\r\n\r\n"))
	w.flush()
	return w.err
}

// Close implements io.Closer; the connection decides what happens to unread
// bytes.
func (b *reqBody) Close() error { return nil }

// WireBytes implements bodyspool.WireCounter for a chunked body: its bytes
// read from the connection so far, data and framing (size lines, CRLFs,
// trailer section); -1 (unknown) for another.
func (b *reqBody) WireBytes() int64 {
	if c := b.b.Chunked(); c != nil {
		return c.Consumed()
	}
	return -1
}

// limitChunked caps a chunked body at max bytes at its chunk size lines,
// as nginx does: a chunk that would go past the limit is refused before its
// data is read (it never reaches a handler that streams the body), with the
// *http.MaxBytesError the handlers know.
func (b *reqBody) limitChunked(max int64) {
	b.limit = max
	b.b.LimitChunked(max)
}

// Buffered returns how many body bytes can be read without waiting: those
// that came with the head (a length-delimited body's only; 0 while a
// 100 Continue is still to be sent). The SCGI handler sends them as nginx's
// preread part with scgi_request_buffering off.
func (b *reqBody) Buffered() int {
	if b.expect {
		return 0
	}
	return b.b.Buffered()
}

// Pending reports whether bytes of a chunked body came with the head or
// since (h1.Body.Pending); false while a 100 Continue is still to be sent.
func (b *reqBody) Pending() bool { return !b.expect && b.b.Pending() }

// done reports whether the body was read to its end, so the next request
// starts at the right byte.
func (b *reqBody) done() bool { return b.finished || b.b.Done() }

// drainBuffered reads a chunked body as far as it is in the connection's
// buffer, and what the socket holds when nginx would read it too
// (clientConn.fillNow), without waiting for more, and returns the fault that
// stopped it:
// a *bodyFault for a malformed body, else nil. Only a body no handler
// started to read is drained (a handler's failed read logged its line), and
// not one whose client still waits for 100 Continue.
func (b *reqBody) drainBuffered() error {
	c := b.b.Chunked()
	if c == nil || b.finished || b.expect || c.Err() != nil {
		return nil
	}
	// A discarded body is not in $request_length or $content_length, as
	// after the answer (discardBody).
	ci := &b.cc.ci
	length, chunked := ci.length, ci.chunked
	defer func() { ci.length, ci.chunked = length, chunked }()
	var buf [512]byte
	for {
		n, err := b.account(c.ReadBuffered(buf[:]))
		if err != nil {
			var fault *bodyFault
			if errors.As(err, &fault) && fault.level == errlog.Error {
				return fault
			}
			return nil
		}
		if n == 0 && !b.cc.fillNow() {
			return nil // the rest is still to come: the answer does not wait for it
		}
	}
}

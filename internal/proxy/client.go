package proxy

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
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"fulcrum/internal/bindaddr"
	"fulcrum/internal/cache"
	"fulcrum/internal/clientwatch"
	"fulcrum/internal/deadline"
	"fulcrum/internal/errlog"
	"fulcrum/internal/h1"
	"fulcrum/internal/sock"
	"fulcrum/internal/upstream"
	"fulcrum/internal/upstreamtls"
)

// ConnPool keeps idle HTTP/1.1 connections to the servers of one upstream block
// and runs exchanges on them synchronously, on the request's own goroutine: no
// read or write goroutine per connection and no hand-offs (DESIGN.md, "The
// request path is ours"). Responses are read by the strict h1 reader, so a
// backend's bad framing fails the attempt and closes the connection. It is safe
// for concurrent use.
type ConnPool struct {
	opts PoolOptions

	mu sync.Mutex // guards idle, last and closed
	// idle holds the idle connections per server and way of connecting.
	// A list, once made, is reached through pointers: get looks it up
	// once (last, else the map) and its connections keep it (poolConn.home),
	// so a request's connection costs one key comparison, not four
	// look-ups of a struct key in a map.
	idle map[connKey]*idleList
	// last is the list get used last: one comparison of keys finds it
	// again when the requests go to one server.
	last *idleList
	// closed is set by Close: a configuration that used the pool was
	// replaced by one that does not, so connections coming back close.
	closed bool

	// sessions are the TLS sessions of the pool's servers, resumed by new
	// connections (proxy_ssl_session_reuse); crypto/tls keys them by the
	// server's name or address.
	sessions tls.ClientSessionCache
}

// connKey names the server a pooled connection goes to, and how: tls is
// empty for plain HTTP, else the TLS settings' key (upstreamTLS.Key), so
// plain and TLS connections to one address are never mixed.
// local is the proxy_bind address (zero when the system picks), so
// connections bound to different local addresses are not mixed either, nor
// are those with and without SO_KEEPALIVE (keepalive) or TCP_NODELAY
// (noDelayOff). name is dialTarget's: the TLS name of a proxy_ssl_name
// with variables (empty otherwise), so that a connection made for one name
// never carries a request for another, and the client certificate of a
// proxy_ssl_certificate with variables, so that a connection made with
// one certificate never carries a request that names another (nginx
// 1.22.1 shares them: its keepalive cache is per upstream).
type connKey struct {
	network, addr, tls    string
	name                  string
	local                 netip.AddrPort
	keepalive, noDelayOff bool
}

// idleList is the idle connections of one connKey, the most recently used
// last. dropped says CloseIdle took it out of its pool's map: connections
// that come back to it look their list up again.
type idleList struct {
	key     connKey
	conns   []*poolConn
	dropped bool
}

// dialTarget is where an attempt connects: the server's network and
// address, proxy_connect_timeout (which bounds the TLS handshake too), and
// the TLS settings, nil for plain HTTP, and the local address to bind
// (proxy_bind; zero when the system picks) and whether to bind it with
// IP_TRANSPARENT (proxy_bind ... transparent), whether to set SO_KEEPALIVE
// (proxy_socket_keepalive) and whether to clear TCP_NODELAY (tcp_nodelay
// off). With named (a proxy_ssl_name with variables), name is the TLS
// name of the handshake, even when empty. With a proxy_ssl_certificate
// with variables whose value is not empty, name is followed by a NUL byte,
// the certificate's value, another NUL byte and the key's (withCert): one
// field for both keeps the frames of the request path, which copy it,
// small (see TestClientStackStaysSmall).
type dialTarget struct {
	network, addr string
	timeout       time.Duration
	tls           *upstreamTLS
	name          string
	named         bool
	local         netip.AddrPort
	keepalive     bool
	noDelayOff    bool
	transparent   bool
}

// key is the pool key of d's connections.
func (d *dialTarget) key() connKey {
	k := connKey{network: d.network, addr: d.addr, local: d.local, keepalive: d.keepalive, noDelayOff: d.noDelayOff}
	if d.tls != nil {
		k.tls, k.name = d.tls.Key(), d.name
	}
	return k
}

// is reports whether k is d's key (d.key() == *k) without building that:
// get asks it of the pool's last list on every request, and the address,
// which differs first between two keys, is compared first.
func (k *connKey) is(d *dialTarget) bool {
	if k.addr != d.addr || k.network != d.network || k.local != d.local ||
		k.keepalive != d.keepalive || k.noDelayOff != d.noDelayOff {
		return false
	}
	if d.tls == nil {
		return k.tls == "" && k.name == ""
	}
	return k.tls == d.tls.Key() && k.name == d.name
}

// poolConn is one upstream connection with its buffers and history.
type poolConn struct {
	c net.Conn
	// raw is the socket under c, for the liveness peek and sendThenAwait's
	// direct write; nil when c is not a plain byte stream over one socket
	// (a TLS connection, say, whose bytes must go through c).
	raw syscall.RawConn
	// under is the socket under a TLS connection (raw is nil then), which
	// alive peeks at to learn whether anything arrived; nil otherwise.
	under syscall.RawConn
	// rbuf is the read buffer, held only while a response is read: an idle
	// connection, or one whose server has not answered yet, holds none, so
	// 400 requests waiting on their servers do not pin 400 buffers.
	rbuf h1.LentReader
	key  connKey
	// home is the pool's list for key, where put returns the connection
	// (set by get, under the pool's lock).
	home     *idleList
	born     time.Time
	lastUsed time.Time
	requests int
	// peekFn, peekBuf and peekQuiet are quiet's: its function for
	// RawConn.Control (made once), the byte a peek may find, and the answer.
	peekFn    func(fd uintptr)
	peekBuf   [1]byte
	peekQuiet bool
	// sendTimeout is the current attempt's proxy_send_timeout, applied before
	// each write to the connection.
	sendTimeout time.Duration
	// rd and wd are c's read and write deadlines, set lazily (nginx's lazy
	// timers): a busy connection's deadline moves a few times a second, not
	// with every request. An exchange without the timeout lifts the one an
	// earlier exchange left (put leaves them: every use sets its own).
	rd, wd deadline.Lazy
	// aborted is set by Abort (another goroutine: the client went away) and
	// never cleared: every deadline set after it is followed by a look at
	// it (stopped), so that a re-armed proxy_send_timeout or
	// proxy_read_timeout cannot lift Abort's past deadline. An aborted
	// connection is never reused (its watch's End reports false).
	aborted atomic.Bool
	// src is what the read buffer reads: c, or rawSrc, c's socket read with
	// raw reads (package sock), when raw is set.
	src    io.Reader
	rawSrc sock.Reader
	head   []byte // the request head being written, reused

	// sendThenAwait's state, kept here so that its step needs no closure
	// per request: the head still to write, how much of it went out, the
	// write's error, and the step itself as a method value made once.
	pending []byte
	sent    int
	sendErr error
	awaitFn func(fd uintptr) bool

	// in and out count the bytes read from and written to the socket in the
	// current exchange ($upstream_bytes_received, $upstream_bytes_sent).
	in, out int64
}

// connReader is what a pooled connection's read buffer reads from: the
// socket, with the bytes counted.
type connReader struct{ pc *poolConn }

func (r connReader) Read(p []byte) (int, error) {
	n, err := r.pc.src.Read(p)
	r.pc.in += int64(n)
	return n, err
}

// sendDeadline writes to the connection with proxy_send_timeout between two
// writes, as nginx's timeout means.
type sendDeadline struct{ pc *poolConn }

func (w sendDeadline) Write(p []byte) (int, error) {
	if len(p) <= deadline.SendPiece {
		return w.writePiece(p)
	}
	// A large write (a buffered body handed over whole) goes out in
	// pieces, each under a fresh deadline.
	return deadline.WritePieces(p, w.writePiece)
}

// writePiece writes p under proxy_send_timeout from now.
func (w sendDeadline) writePiece(p []byte) (int, error) {
	w.arm()
	n, err := w.pc.c.Write(p)
	if err != nil && w.stalled(err) {
		// The stall edge: the deadline passed while the socket had room
		// (the goroutine stalled past it). nginx handles the write event
		// before it expires the timer: it writes, and moves the timer.
		w.arm()
		var more int
		more, err = w.pc.c.Write(p[n:])
		n += more
	}
	w.pc.out += int64(n)
	return n, err
}

// arm sets proxy_send_timeout from now for the next write, lazily.
func (w sendDeadline) arm() {
	var now time.Time
	if w.pc.sendTimeout > 0 {
		now = time.Now()
	}
	if t, ok := w.pc.wd.Due(now, w.pc.sendTimeout); ok {
		_ = w.pc.c.SetWriteDeadline(t)
		w.pc.stopped()
	}
}

// stalled reports whether err is proxy_send_timeout's deadline, passed,
// on a plain socket with room for bytes (deadline.WriteStalled), and not
// Abort's.
func (w sendDeadline) stalled(err error) bool {
	at := w.pc.wd.At()
	return !at.IsZero() && !w.pc.aborted.Load() && time.Now().After(at) && deadline.WriteStalled(w.pc.c, err)
}

func newConnPool(o PoolOptions) *ConnPool {
	if o.Keepalive <= 0 {
		o.Keepalive = DefaultKeepalive
	}
	if o.KeepaliveTimeout <= 0 {
		o.KeepaliveTimeout = DefaultKeepaliveTimeout
	}
	return &ConnPool{opts: o, idle: map[connKey]*idleList{}, sessions: tls.NewLRUClientSessionCache(0)}
}

// get returns an idle connection to dst (reused true), or dials one (and
// runs the TLS handshake for an https upstream). Idle connections past
// keepalive_timeout, and those the server closed or sent bytes on while
// they were idle (alive), are closed on the way: every reuse is checked,
// however recent, for bytes nobody asked for would be read as this
// request's response (a second response to a request the server read as
// two, sent to another client), where nginx's keepalive close handler
// closes the connection on the read event. now is the attempt's clock
// reading: idle times count to it, and a dialed connection is born at it.
//
// It stays out of line: with the profile (PGO), the compiler inlined it
// into attempt, whose frame grew by 336 bytes (its connection keys and
// locks), and every proxied request's stack holds attempt's frame (see
// TestClientStackStaysSmall).
//
//go:noinline
func (p *ConnPool) get(ctx context.Context, dst *dialTarget, now time.Time) (*poolConn, bool, error) {
	var home *idleList
	for {
		// The connection leaves the list under the lock and is checked
		// after it: the check is a system call (a TLS one may wait
		// aliveTLSWait), which other requests to the pool need not wait for.
		p.mu.Lock()
		home = p.targetListLocked(dst)
		n := len(home.conns)
		if n == 0 {
			p.mu.Unlock()
			break
		}
		pc := home.conns[n-1]
		home.conns[n-1] = nil
		home.conns = home.conns[:n-1]
		p.mu.Unlock()
		if now.Sub(pc.lastUsed) < p.opts.KeepaliveTimeout && alive(pc) {
			return pc, true, nil
		}
		pc.close()
	}
	c, err := p.dial(ctx, *dst)
	if err != nil {
		return nil, false, err
	}
	pc := newPoolConn(c, home.key, now) // home's key is dst's
	pc.home = home
	return pc, false, nil
}

// targetListLocked is the idle list of dst's key (listLocked), the last
// one used found without building the key; p.mu must be held.
func (p *ConnPool) targetListLocked(dst *dialTarget) *idleList {
	if l := p.last; l != nil && l.key.is(dst) {
		return l
	}
	key := dst.key() // a struct, not a concatenation: no allocation per request
	return p.listLocked(&key)
}

// listLocked is the idle list of key, made when there is none; p.mu must be
// held.
func (p *ConnPool) listLocked(key *connKey) *idleList {
	if l := p.last; l != nil && l.key == *key {
		return l
	}
	l := p.idle[*key]
	if l == nil {
		l = &idleList{key: *key}
		p.idle[*key] = l
	}
	p.last = l
	return l
}

// idleLocked is the idle connections of key (nil for none); p.mu must be
// held.
func (p *ConnPool) idleLocked(key connKey) []*poolConn {
	if l := p.idle[key]; l != nil {
		return l.conns
	}
	return nil
}

// dial connects to dst, with the TLS handshake for an https upstream, on a
// goroutine of its own. The net package's dial path is deep (the dialer, its
// context watch, the poller's registration; a TLS handshake deeper still): on
// the request's goroutine, at the bottom of the engine's and the proxy's
// frames, it took every client connection that ever dialed from an 8 to a
// 16 KiB stack, 2.7 MiB more with 400 connections (Go never gives that back
// while the connection lives). With more requests in flight than keepalive
// keeps idle, connections are dialed all the time, as nginx's are.
//
// dst comes by value: only a dial copies it to the heap (for its goroutine),
// not every attempt that finds an idle connection.
func (p *ConnPool) dial(ctx context.Context, dst dialTarget) (net.Conn, error) {
	done := make(chan dialResult, 1)
	go func() {
		c, err := p.dialHere(ctx, &dst)
		done <- dialResult{c, err}
	}()
	r := <-done
	return r.c, r.err
}

// dialResult is what a dial goroutine hands back.
type dialResult struct {
	c   net.Conn
	err error
}

// dialHere is dial on the calling goroutine. SO_KEEPALIVE is off unless
// proxy_socket_keepalive is on, and then uses the system's intervals, as
// nginx sets it (Go's dialer would turn it on with its own 15 s).
func (p *ConnPool) dialHere(ctx context.Context, dst *dialTarget) (net.Conn, error) {
	d := net.Dialer{Timeout: dst.timeout, KeepAlive: -1, LocalAddr: localAddr(dst.network, dst.local)}
	if dst.transparent && d.LocalAddr != nil {
		d.Control = bindaddr.Transparent
	}
	if dst.keepalive {
		d.KeepAliveConfig = net.KeepAliveConfig{Enable: true, Idle: -1, Interval: -1, Count: -1}
	}
	c, err := d.DialContext(ctx, dst.network, dst.addr)
	if tc, ok := c.(*net.TCPConn); ok && dst.noDelayOff {
		// Go sets TCP_NODELAY on every connection; nginx never sets it
		// on an upstream's with tcp_nodelay off.
		_ = tc.SetNoDelay(false)
	}
	if err != nil || dst.tls == nil {
		return c, err
	}
	client, sessions := dst.tls, p.sessions
	name, pair, withCert := strings.Cut(dst.name, "\x00")
	if withCert {
		// Loaded once the connection is made, as nginx does; a session
		// made with one certificate is not offered with another.
		cert, key, _ := strings.Cut(pair, "\x00")
		if client, err = client.ForCertificate(cert, key); err != nil {
			c.Close()
			return nil, err
		}
		sessions = upstreamtls.PerCertificate(sessions, pair)
	}
	if dst.named {
		// A session made for one name is not offered for another.
		return client.HandshakeNamed(ctx, c, name, dst.timeout, upstreamtls.PerName(sessions, name))
	}
	return client.Handshake(ctx, c, "", dst.timeout, sessions)
}

// newPoolConn wraps a fresh connection with its buffers.
func newPoolConn(c net.Conn, key connKey, born time.Time) *poolConn {
	pc := &poolConn{c: c, key: key, born: born}
	pc.rbuf.Init(upstreamReaders, connReader{pc})
	if sc, ok := c.(syscall.Conn); ok {
		pc.raw, _ = sc.SyscallConn()
	}
	if tc, ok := c.(*tls.Conn); ok {
		if sc, ok := tc.NetConn().(syscall.Conn); ok {
			pc.under, _ = sc.SyscallConn()
		}
	}
	pc.src = c
	if pc.raw != nil {
		pc.rawSrc.Reset(pc.raw)
		pc.src = &pc.rawSrc
	}
	return pc
}

// upstreamReaders lends upstream connections their read buffers while they
// read a response. A buffer for each connection for its whole life was a
// fifth of the bytes fulcrum allocated with 400 client connections
// (bench/profile.sh) when connections came and went, and, kept, 1.2 MB of
// the 5.7 MB live heap (bench/pprof, wrk -c400 /small), nearly all of it on
// connections waiting for their server's answer.
var upstreamReaders = h1.NewReaderPool(4 << 10)

// close closes the connection and gives its read buffer back. Nothing may
// read from pc afterwards; a second call only closes again.
func (pc *poolConn) close() error {
	err := pc.c.Close()
	pc.rbuf.Drop()
	return err
}

// alive reports whether an idle connection is still open and quiet: one
// non-blocking peek (MSG_PEEK|MSG_DONTWAIT) tells a connection the server has
// closed (EOF) or that has stray bytes from one that can take a request. Without
// it, a server that closes idle connections sooner than keepalive_timeout would
// cost a failed attempt (and, for a body that cannot be sent twice, a 502).
// A TLS connection's bytes are records that only crypto/tls can read
// (aliveTLS).
func alive(pc *poolConn) bool {
	if pc.rbuf.Buffered() > 0 {
		return false
	}
	if pc.raw == nil {
		return aliveTLS(pc)
	}
	return pc.quiet(pc.raw)
}

// quiet peeks at an idle socket of pc's (raw, or the one under its TLS):
// true when nothing can be read from it (open and quiet), false when the
// peer closed it or sent bytes. Every reuse peeks, so it allocates nothing:
// the function Control runs is made once per connection (peekFn).
func (pc *poolConn) quiet(raw syscall.RawConn) bool {
	if pc.peekFn == nil {
		pc.peekFn = pc.peek
	}
	pc.peekQuiet = true
	// Control, not Read: it ignores the deadline an earlier exchange left on
	// the idle connection.
	_ = raw.Control(pc.peekFn)
	return pc.peekQuiet
}

// peek is quiet's look at socket fd, its answer in pc.peekQuiet: quiet
// only when there is nothing to read (EAGAIN); bytes nobody asked for, the
// server's close (0 bytes) or an error (a reset) are not. sock.Peek's raw
// call keeps the peek every reuse makes out of the runtime's system call
// bookkeeping.
func (pc *poolConn) peek(fd uintptr) {
	_, e := sock.Peek(int(fd), pc.peekBuf[:])
	pc.peekQuiet = e == syscall.EAGAIN
}

// aliveTLSWait bounds aliveTLS's read of what an idle TLS connection
// received.
const aliveTLSWait = 10 * time.Millisecond

// aliveTLS is alive for a TLS connection. The socket under it is peeked at
// only to learn whether anything arrived: otherwise crypto/tls reads it, for
// the bytes may be records that are no data (a TLS 1.3 session ticket, say):
// a close_notify or the end of the stream means the server closed the
// connection, data is stray bytes, and a read that finds no data before the
// short deadline (aliveTLSWait) leaves a usable connection. Nothing on the
// socket is not enough: crypto/tls may hold stray bytes already decrypted,
// the rest of the record that ended the last response (a server's second,
// unasked response written with it, in records of up to 16 KiB as OpenSSL
// writes them), which the last body read did not take; a read whose
// deadline has passed returns those at once and touches no socket
// otherwise. The lazy read deadline is told, so the next exchange sets its
// own.
func aliveTLS(pc *poolConn) bool {
	t := time.Now()
	if pc.under != nil && !pc.quiet(pc.under) {
		t = t.Add(aliveTLSWait)
	}
	_ = pc.c.SetReadDeadline(t)
	pc.rd.Set(t)
	_, err := pc.rbuf.Reader().Peek(1)
	return err != nil && errlog.IsTimeout(err)
}

// put returns a connection for reuse at now (a clock reading), or closes it
// when it is spent (keepalive_requests, keepalive_time) or the pool for its
// server is full.
func (p *ConnPool) put(pc *poolConn, now time.Time) {
	o := p.opts
	if p.spent(pc, now) {
		pc.close()
		return
	}
	pc.lastUsed = now
	pc.rbuf.Release()
	p.mu.Lock()
	home := pc.home
	if home == nil || home.dropped {
		home = p.listLocked(&pc.key)
		pc.home = home
	}
	if p.closed || len(home.conns) >= o.Keepalive {
		p.mu.Unlock()
		pc.close()
		return
	}
	home.conns = append(home.conns, pc)
	p.mu.Unlock()
}

// spent reports whether pc may carry no more requests at now
// (keepalive_requests, keepalive_time).
func (p *ConnPool) spent(pc *poolConn, now time.Time) bool {
	o := p.opts
	return o.KeepaliveRequests > 0 && pc.requests >= o.KeepaliveRequests ||
		o.KeepaliveTime > 0 && now.Sub(pc.born) >= o.KeepaliveTime
}

// retired reports whether Close retired the pool.
func (p *ConnPool) retired() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.closed
}

// CloseIdle closes every idle connection.
func (p *ConnPool) CloseIdle() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.closeIdleLocked()
}

// Close retires the pool: its idle connections close now, and those in use
// close when their exchanges end instead of coming back.
func (p *ConnPool) Close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.closed = true
	p.closeIdleLocked()
}

func (p *ConnPool) closeIdleLocked() {
	for key, list := range p.idle {
		for _, pc := range list.conns {
			pc.close()
		}
		list.conns, list.dropped = nil, true
		delete(p.idle, key)
	}
	p.last = nil
}

// maxInlineBody is the largest buffered request body written together with
// its head (one send(2), and the wait for the answer in the same step); a
// longer one goes through the usual writer after the head.
const maxInlineBody = 2 << 10

// maxKeptHead is the largest head buffer a connection keeps for its next
// request; a longer one (a long head, or one with an inline body) is dropped
// after use, so that idle connections hold little.
const maxKeptHead = 4 << 10

// exchangeTimeouts are one attempt's proxy timeouts, and start, the clock
// reading the exchange begins at, which the first read deadline counts from.
type exchangeTimeouts struct {
	connect, send, read time.Duration
	start               time.Time
}

// errStale is a reused connection that the server had closed before our request
// reached it: the request may go again on a fresh connection, without counting a
// failure (nginx does the same for a stale keepalive connection).
var errStale = errors.New("upstream closed an idle keep-alive connection")

// outgoing is an upstream request ready to be written: its head without the
// body framing and the final empty line, and its body.
type outgoing struct {
	head    []byte    // request line and fields, each ending in CRLF
	method  []byte    // the method sent, which decides whether a response has a body
	body    io.Reader // nil without a body
	bodyLen int64     // the body's length, -1 when unknown (sent chunked)
	// inMemory is the whole body when it is buffered (the same bytes body
	// reads), else nil: a small one goes out with the head in one write.
	inMemory []byte
	// sendLength sends "Content-Length: 0" for an empty body (methods that
	// usually carry one).
	sendLength bool
	// announced is a Content-Length sent without its body (AnnouncedBody),
	// 0 for none: the connection is not reused after the response.
	announced int64
	// resendable says the request may go again on a fresh connection once it
	// was sent on a reused one that the server then closed unanswered: an
	// idempotent method, or proxy_next_upstream non_idempotent. The server
	// may have acted on it, so a POST, LOCK or PATCH is not sent twice
	// (RFC 9110 9.2.2; nginx 1.22.1 answers 502 there, recorded).
	resendable bool
	// framingAt is where in head the Connection and Content-Length fields
	// go: after proxy_set_header's fields and Host, before the client's, as
	// nginx's header template puts them (recorded with nginx 1.22.1). 0
	// appends them at the end of head.
	framingAt int
	// userLength is a proxy_set_header Content-Length: its value (or none,
	// for "") is the only length in head, never a second one, as in nginx;
	// the connection is not reused after the response, since the server
	// may read the body by a length that is not the body's.
	userLength bool
	close      bool // ask the server to close the connection after the response
	// closeAsked is a Connection field of proxy_set_header's with "close"
	// (as a WebSocket map gives for a request without Upgrade): like close,
	// the connection is not used again (RFC 9112 9.6), and the field says
	// it already.
	closeAsked bool
	// maxHead is proxy_buffer_size: the longest response head accepted
	// (headLimits); 0 means maxResponseHeaderBytes.
	maxHead int
	// watcher is the client's writer when it can watch for the client going
	// away (ClientWatcher); nil, or one that declines, leaves that to the
	// request's context.
	watcher ClientWatcher
	// hints, when set, is called with each 103 (Early Hints) the upstream
	// sends before its final response (early_hints); nil drops them.
	hints func(*h1.Response)
}

// An Aborter is an exchange another goroutine can stop: a *poolConn, whose
// Abort sets a past deadline, so that its pending read or write returns.
type Aborter = clientwatch.Aborter

// A ClientWatcher is a ResponseWriter that tells the proxy when its client
// goes away during an upstream exchange, as the daemon's engine does
// (clientwatch.Watcher).
type ClientWatcher = clientwatch.Watcher

// Abort implements Aborter: the connection's pending and future reads and
// writes fail at once.
func (pc *poolConn) Abort() {
	pc.aborted.Store(true)
	_ = pc.c.SetDeadline(time.Unix(1, 0))
}

// stopped sets Abort's past deadline again when Abort was called, and
// reports whether it was. Whoever sets a deadline on c calls it after:
// an Abort that came before the deadline was set is then not undone by
// it, and one that came after set its own past deadline last.
func (pc *poolConn) stopped() bool {
	if !pc.aborted.Load() {
		return false
	}
	_ = pc.c.SetDeadline(time.Unix(1, 0))
	return true
}

// exchange sends out on pc and reads the response head into resp. The body stays
// on pc: resp reads it and gives pc back to the pool (or closes it) in Close.
// wrote reports whether any of the request may have reached the server.
func (p *ConnPool) exchange(ctx context.Context, pc *poolConn, reused bool, out *outgoing, t exchangeTimeouts, resp *upstreamResponse) (wrote bool, err error) {
	watch := clientwatch.Start(ctx, out.watcher, pc)
	fail := func(e error) (bool, error) {
		watch.End()
		pc.close()
		resp.head.Reset()
		resp.in, resp.out = pc.in, pc.out
		return wrote, e
	}
	pc.requests++
	pc.in, pc.out = 0, 0
	pc.sendTimeout = t.send
	if t.start.IsZero() { // no clock reading given: take one
		t.start = time.Now()
	}
	if err := ctx.Err(); err != nil {
		return fail(err)
	}
	// msg is what goes out first: the head, and a small buffered body with
	// it; body is what the usual writer sends after msg.
	msg := pc.appendHead(pc.head[:0], out)
	body, bodyLen, inMemory := out.body, out.bodyLen, out.inMemory
	if int64(len(inMemory)) != bodyLen {
		inMemory = nil
	}
	if out.userLength && bodyLen > 0 {
		if n := userBodyLen(out.userFields(), bodyLen); n < bodyLen {
			if body != nil {
				body = io.LimitReader(body, n)
			}
			bodyLen = n
			if inMemory != nil {
				inMemory = inMemory[:n]
			}
		}
	}
	if bodyLen > 0 && int64(len(inMemory)) == bodyLen && bodyLen <= maxInlineBody {
		msg = append(msg, inMemory...)
		body, bodyLen = nil, 0
	}
	pc.head = msg[:0]
	if cap(msg) > maxKeptHead {
		pc.head = nil // an unusually long head: not kept with an idle connection
	}
	sent := 0
	if pc.raw != nil && (body == nil || bodyLen == 0) && pc.rbuf.Buffered() == 0 {
		// The whole request is in msg: write it and wait for the answer in
		// one step (sendThenAwait). The read deadline goes first, as it
		// bounds the wait, and the client is checked after it, as below.
		pc.setReadTimeout(t.start, t.read)
		if err := ctx.Err(); err != nil {
			return fail(err)
		}
		var err error
		sent, err = pc.sendThenAwait(msg)
		pc.out += int64(sent)
		if err != nil {
			if sent == 0 && reused && errlog.IsConnReset(err) {
				return fail(errStale)
			}
			wrote = sent > 0
			return fail(&sendError{err})
		}
	}
	if sent < len(msg) {
		if err := pc.writeRequest(msg[sent:], body, bodyLen); err != nil {
			if sent == 0 && reused && errlog.IsConnReset(err) {
				return fail(errStale)
			}
			wrote = true
			return fail(&sendError{err})
		}
		pc.setReadTimeout(time.Now(), t.read) // the body may have taken long
	}
	wrote = true
	// Check the client after setting the deadline: a cancellation that came
	// before it would otherwise be overwritten by it.
	if err := ctx.Err(); err != nil {
		return fail(err)
	}
	br := pc.rbuf.Reader()
	for {
		err := h1.ReadResponse(br, &resp.head, out.method, headLimits(out.maxHead))
		if err != nil {
			if reused && out.resendable && (err == io.EOF || errlog.IsConnReset(err)) {
				return fail(errStale)
			}
			return fail(invalidHead(err, resp.head.Raw()))
		}
		if !resp.head.Informational() || resp.head.Status == http.StatusSwitchingProtocols {
			break
		}
		if resp.head.Status == http.StatusEarlyHints && out.hints != nil {
			out.hints(&resp.head)
		}
	}
	// Cleared in place, the head kept where it is: a composite literal
	// would be built in this frame first (on every request's deepest
	// path), and copying the head out and back cost two copies of it.
	resp.exchangeState = exchangeState{}
	resp.pool, resp.pc, resp.ctx, resp.watch, resp.readTimeout = p, pc, ctx, watch, t.read
	if resp.head.Status == http.StatusSwitchingProtocols {
		resp.upgraded = true
		return true, nil
	}
	// A connection the request asked to close is not used again (RFC 9112
	// 9.6: the server closes it after the response, maybe a moment later,
	// and the next request on it would meet the close; nginx 1.22.1 does not
	// keep such a connection either). The server may also wait for the
	// body, or have read part of it as the next request.
	resp.close = resp.head.Close || out.close || out.closeAsked || out.announced > 0 || out.userLength
	if err := resp.body.Reset(br, resp.head.Framing, resp.head.ContentLength, h1.BodyLimits{}); err != nil {
		return fail(err)
	}
	return true, nil
}

// headLimits bounds a response head as nginx's proxy_buffer_size does: the
// buffer holds the status line, the fields and the empty line, so each line
// and the whole head must fit in max bytes, or the head is "upstream sent too
// big header" (h1.ErrHeaderTooLarge, an invalid_header failure). max 0 (an
// exchange without a location's settings) is maxResponseHeaderBytes.
func headLimits(max int) h1.Limits {
	if max <= 0 {
		max = maxResponseHeaderBytes
	}
	return h1.Limits{MaxRequestLine: max, MaxFieldLine: max, MaxHeaderBytes: max}
}

// setReadTimeout arms proxy_read_timeout from now for the next read, or lifts
// an earlier exchange's deadline when the timeout is off.
func (pc *poolConn) setReadTimeout(now time.Time, d time.Duration) {
	if t, ok := pc.rd.Due(now, d); ok {
		_ = pc.c.SetReadDeadline(t)
		pc.stopped()
	}
}

// writers lends the write buffer a request is written through: a connection
// needs one only while it writes, so pooled connections hold none.
var writers = sync.Pool{New: func() any { return bufio.NewWriterSize(nil, 4<<10) }}

// appendHead appends out's head to buf, with the body framing, the
// connection's fate and the empty line that ends it.
func (pc *poolConn) appendHead(buf []byte, out *outgoing) []byte {
	user := out.userFields()
	at := len(user)
	if out.userLength && out.bodyLen < 0 {
		// A body that streams chunked goes without proxy_set_header's
		// Content-Length: nginx 1.22.1 sends both, a shape upstreams can
		// read two ways (http-hardening.md: never forward both).
		buf = appendWithoutLength(buf, user)
	} else {
		buf = append(buf, user...)
	}
	if out.close {
		buf = append(buf, "Connection: close\r\n"...)
	}
	switch {
	case out.userLength && out.bodyLen >= 0:
		// proxy_set_header Content-Length gave the length, or none.
	case out.bodyLen < 0:
		buf = append(buf, "Transfer-Encoding: chunked\r\n"...)
	case out.bodyLen > 0 || out.sendLength:
		buf = append(buf, "Content-Length: "...)
		buf = strconv.AppendInt(buf, out.bodyLen, 10)
		buf = append(buf, "\r\n"...)
	case out.announced > 0:
		buf = append(buf, "Content-Length: "...)
		buf = strconv.AppendInt(buf, out.announced, 10)
		buf = append(buf, "\r\n"...)
	}
	buf = append(buf, out.head[at:]...)
	return append(buf, "\r\n"...)
}

// appendWithoutLength appends the field lines of head to buf but those
// named Content-Length (in any case).
func appendWithoutLength(buf, head []byte) []byte {
	for len(head) > 0 {
		var line []byte
		line, head = cutLine(head)
		if !isLengthLine(line) {
			buf = append(buf, line...)
		}
	}
	return buf
}

// lengthField starts a Content-Length field line, in lower case.
const lengthField = "content-length:"

// cutLine returns head's first line, with its line end, and the rest.
func cutLine(head []byte) (line, rest []byte) {
	if i := bytes.IndexByte(head, '\n'); i >= 0 {
		return head[:i+1], head[i+1:]
	}
	return head, nil
}

// isLengthLine reports whether line is a Content-Length field line (the
// name in any case).
func isLengthLine(line []byte) bool {
	return len(line) >= len(lengthField) && strings.EqualFold(string(line[:len(lengthField)]), lengthField)
}

// userFields is the part of head with proxy_set_header's fields: up to
// framingAt, the whole head when it is unset (as appendHead places the
// framing).
func (out *outgoing) userFields() []byte {
	if out.framingAt <= 0 || out.framingAt > len(out.head) {
		return out.head
	}
	return out.head[:out.framingAt]
}

// userBodyLen is how many bytes of a body of bodyLen bytes (> 0) go after a
// head whose length proxy_set_header Content-Length gave (its field lines
// are in head): the set length when it is shorter, none when the value is
// not digits alone, several values differ, or "" sent none. nginx 1.22.1
// sends the whole body whatever the set length (recorded: "Content-Length:
// 3" with the body "abcdef" sends "def" after the message, "" sends the
// whole body after it), bytes the server reads as a next request on the
// connection: a request smuggled past every location rule
// (http-hardening.md: never forward a byte stream we did not parse). The
// server sees the message nginx's sees, without what follows it.
func userBodyLen(head []byte, bodyLen int64) int64 {
	n := int64(-1)
	for len(head) > 0 {
		var line []byte
		line, head = cutLine(head)
		if !isLengthLine(line) {
			continue
		}
		v := strings.Trim(string(line[len(lengthField):]), " \t\r\n")
		m, err := strconv.ParseInt(v, 10, 64)
		if err != nil || v == "" || v[0] < '0' || v[0] > '9' || n >= 0 && m != n {
			return 0
		}
		n = m
	}
	return min(max(n, 0), bodyLen)
}

// sendThenAwait writes head straight to the socket and then waits until the
// connection is readable (the response, the server closing, or the read
// deadline), all inside one RawConn.Read. It returns how much of head was
// written: the rest, when the socket buffer was full, is the caller's to write
// the usual way. The error is a failed write, or the wait refused before
// anything was written (a cancelled exchange).
//
// Why: Go's poller reads before it waits, so the read that follows a request
// finds nothing (EAGAIN) on nearly every exchange, a system call per request
// for nothing. RawConn.Read resets the descriptor's readiness before it calls
// writeThenWait, and the write comes after that reset, so the response's
// arrival cannot be missed; the head is then read by the buffered reader as
// usual, with one recv(2) that finds it. The write is non-blocking and never
// waits, so proxy_send_timeout has nothing to bound here.
func (pc *poolConn) sendThenAwait(head []byte) (int, error) {
	pc.pending, pc.sent, pc.sendErr = head, 0, nil
	if pc.awaitFn == nil {
		pc.awaitFn = pc.writeThenWait
	}
	err := pc.raw.Read(pc.awaitFn)
	called := pc.pending == nil
	pc.pending = nil
	switch {
	case pc.sendErr != nil:
		return pc.sent, pc.sendErr
	case !called && err != nil:
		return 0, err
	}
	// A wait that ended in an error (the deadline, a closed connection) is
	// found again by the read that follows, which reports it as before.
	return pc.sent, nil
}

// writeThenWait is sendThenAwait's step, called by RawConn.Read with the
// socket: the first call writes the pending head and asks to wait (false);
// the next call, once the socket is readable, ends the wait.
func (pc *poolConn) writeThenWait(fd uintptr) bool {
	if pc.pending == nil {
		return true
	}
	head := pc.pending
	pc.pending = nil
	for pc.sent < len(head) {
		n, e := sock.Write(int(fd), head[pc.sent:])
		switch {
		case e == syscall.EINTR:
			continue
		case e == syscall.EAGAIN:
			return true // the socket buffer is full: the caller writes the rest
		case e != 0:
			pc.sendErr = os.NewSyscallError("write", e)
			return true
		case n <= 0:
			return true // no progress and no error: leave the rest to the usual writer
		}
		pc.sent += n
	}
	return false
}

// nothingYet reports whether a streamed body of bodyLen bytes (chunked when
// -1) has none of its bytes readable without waiting, as the client's body
// tells (Buffered for a length, Pending for chunks); false for a body that
// cannot tell, such as one read whole before.
func nothingYet(body io.Reader, bodyLen int64) bool {
	switch {
	case bodyLen > 0:
		bb, ok := body.(interface{ Buffered() int })
		return ok && bb.Buffered() == 0
	case bodyLen < 0:
		p, ok := body.(interface{ Pending() bool })
		return ok && !p.Pending()
	}
	return false
}

// writeRequest writes head (or what is left of it), then the body (of
// bodyLen bytes, chunked when -1), and flushes, with proxy_send_timeout
// between two writes.
func (pc *poolConn) writeRequest(head []byte, body io.Reader, bodyLen int64) error {
	bw := writers.Get().(*bufio.Writer)
	bw.Reset(sendDeadline{pc})
	defer func() {
		bw.Reset(nil)
		writers.Put(bw)
	}()
	if _, err := bw.Write(head); err != nil {
		return err
	}
	if nothingYet(body, bodyLen) {
		// A streamed body none of which came with the head: the head
		// goes at once, as nginx 1.22.1 sends it before any body byte
		// (recorded: "Content-Length: 10", or "Transfer-Encoding:
		// chunked", and nothing more from the client; the server got
		// the head, then each part as it came).
		if err := bw.Flush(); err != nil {
			return err
		}
	}
	if body != nil && bodyLen != 0 {
		if bodyLen < 0 {
			var cw h1.ChunkedWriter
			cw.Reset(bw)
			if err := copyFlushing(bw, &cw, body); err != nil {
				return err
			}
			if err := cw.Finish(nil); err != nil {
				return err
			}
		} else if err := copyFlushing(bw, bw, body); err != nil {
			return err
		}
	}
	return bw.Flush()
}

// bodyBufs lend copyFlushing its buffer.
var bodyBufs = sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}

// copyFlushing copies body to w (bw, or a chunked writer over it) and
// flushes bw after each read, so that what the client sent goes on at once:
// with proxy_request_buffering off, nginx 1.22.1 sends the head and the
// body's first bytes as they come, the rest as it arrives (recorded: a
// client that sent 10 bytes of 20, then the rest a second later; the
// server got the head and 10 bytes at once). Through bw alone, the head and
// the first bytes of a slow body waited for 4 KiB.
func copyFlushing(bw *bufio.Writer, w io.Writer, body io.Reader) error {
	bp := bodyBufs.Get().(*[]byte)
	defer bodyBufs.Put(bp)
	for {
		n, err := body.Read(*bp)
		if n > 0 {
			if _, werr := w.Write((*bp)[:n]); werr != nil {
				return werr
			}
			if ferr := bw.Flush(); ferr != nil {
				return ferr
			}
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// upstreamResponse is one upstream response: its checked head, and its body
// read straight from the pooled connection. At the body's end the connection
// goes back to the pool when the response allows it; closed early or on an
// error, the connection is closed. After a 101 the connection is the upgraded
// stream (pc.c, with pc.rbuf holding what the server already sent).
type upstreamResponse struct {
	head h1.Response
	// exchangeState is the rest, which exchange clears for each
	// response, its head kept in place.
	exchangeState
}

// exchangeState is what an upstreamResponse holds besides its head.
type exchangeState struct {
	body        h1.Body
	pool        *ConnPool
	pc          *poolConn
	ctx         context.Context   // the client's request: when it ends, reads stop
	watch       clientwatch.Watch // ends the watch of the client (Close)
	readTimeout time.Duration
	// in and out are the exchange's bytes from and to the server, set when
	// it ends (Close, or a failed exchange).
	in, out  int64
	reads    int  // body reads so far
	close    bool // the response said the connection ends with it
	upgraded bool
	done     bool
	failed   bool
	// bind says the connection goes to binds, bound to the client
	// connection for its server bindSrv (ntlm), not back to the pool; a
	// nil binds closes it instead.
	bind    bool
	binds   *Bindings
	bindSrv *upstream.Server
	// entry is the cache entry the response comes from (pc is nil then),
	// read through entryReader (from entryReaders).
	entry       *cache.Entry
	entryReader *bufio.Reader
}

// Read reads the body with proxy_read_timeout between two reads. The first
// read keeps the deadline the head was read with, set moments ago: for a small
// body it is the only read, and re-arming it would cost a timer change.
func (b *upstreamResponse) Read(p []byte) (int, error) {
	if b.reads > 0 && b.readTimeout > 0 {
		if t, ok := b.pc.rd.Due(time.Now(), b.readTimeout); ok {
			_ = b.pc.c.SetReadDeadline(t)
			b.pc.stopped()
		}
	}
	b.reads++
	// After the deadline, as in exchange: a client that left stops the read.
	if err := b.ctx.Err(); err != nil {
		b.failed = true
		return 0, err
	}
	n, err := b.body.Read(p)
	switch {
	case err == io.EOF:
		b.done = true
	case err != nil:
		b.failed = true
	}
	return n, err
}

// writeBuffered writes the rest of a length-delimited body to w straight
// from the connection's read buffer, when all of it is already there (a
// small response arrives with its head): no read, no copy buffer. ok is
// false, and nothing written, when the body is not all buffered.
func (b *upstreamResponse) writeBuffered(w io.Writer) (n int64, ok bool, err error) {
	left := b.body.Remaining()
	if b.pc == nil || left < 0 || left > int64(b.pc.rbuf.Buffered()) {
		return 0, false, nil
	}
	n, err = b.body.WriteTo(w) // reads nothing from the socket: it is all buffered
	if err != nil {
		b.failed = true // the client's write failed (the body itself was there)
		return n, true, err
	}
	b.done = true
	return n, true, nil
}

// Close ends the exchange now (closeAt).
func (b *upstreamResponse) Close() error { return b.closeAt(time.Now()) }

// received returns how many bytes the exchange has read from the server so
// far.
func (b *upstreamResponse) received() int64 {
	if b.pc != nil {
		return b.pc.in
	}
	return b.in
}

// closeAt ends the exchange at now (a clock reading): the connection is reused
// only after a complete body with nothing left over and no close requested. It
// releases the head.
func (b *upstreamResponse) closeAt(now time.Time) error {
	if b.entry != nil {
		b.head.Reset()
		err := b.entry.Close()
		b.entryReader.Reset(nil)
		entryReaders.Put(b.entryReader)
		b.entry, b.entryReader = nil, nil
		return err
	}
	if b.pc == nil {
		return nil
	}
	// A stop that comes too late means the client's cancellation is setting
	// a past deadline on the connection: it must not be reused.
	watched := b.watch.End()
	pc := b.pc
	b.pc = nil
	b.head.Reset()
	b.in, b.out = pc.in, pc.out
	if watched && !b.upgraded && b.done && !b.failed && !b.close && pc.rbuf.Buffered() == 0 {
		if b.bind {
			b.binds.keep(b.pool, b.bindSrv, pc, now)
			return nil
		}
		b.pool.put(pc, now)
		return nil
	}
	return pc.close()
}

package daemon

import (
	"errors"
	"net"
	"sync"
	"syscall"
	"time"

	"fulcrum/internal/config"
)

// This file is how a client connection ends once fulcrum decided to close
// it after a response: lingering_close, lingering_time and
// lingering_timeout (ngx_http_finalize_connection,
// ngx_http_set_lingering_close, ngx_http_lingering_close_handler), and
// reset_timedout_connection (ngx_http_free_request).
//
// Closing a socket whose receive buffer still holds bytes makes the kernel
// send RST instead of FIN, and a client still uploading a body (after an
// early 413, say) may then get ECONNRESET before it reads the answer.
// Lingering half-closes instead: the answer and FIN go out, and what the
// client still sends is read and thrown away for up to lingering_timeout
// between reads and lingering_time in all, then the socket closes cleanly.

// lingerBufSize is the size of each discarding read, nginx's
// NGX_HTTP_LINGERING_BUFFER_SIZE.
const lingerBufSize = 4096

// lingerBufs are the discarding reads' buffers, shared by all connections
// (only lingering ones hold one).
var lingerBufs = sync.Pool{New: func() any { b := make([]byte, lingerBufSize); return &b }}

// endSocket does what the connection's closing settings ask before the
// socket is closed (close): reset it after a timeout, or linger after a
// response that may have left the client sending.
func (cc *clientConn) endSocket() {
	set := cc.w.closing
	if set == nil {
		set = &cc.srv.limits().closing
	}
	switch {
	case cc.timedOut:
		if set.ResetTimedout {
			resetOnClose(cc.c)
		}
	case cc.lingerAfter && cc.wantLinger(set):
		cc.linger(set)
	}
}

// wantLinger is ngx_http_finalize_connection's test: always lingers unless
// the client closed already, on when the client may still be sending (a
// request body not read to its end, bytes read after the request, bytes
// waiting on the socket), off never.
func (cc *clientConn) wantLinger(set *config.Closing) bool {
	if set.Lingering == config.LingerOff || set.LingeringTime <= 0 || set.LingeringTimeout <= 0 {
		return false
	}
	readable, eof := cc.peek()
	switch {
	case eof:
		return false // the client closed its side: nothing more will come
	case set.Lingering == config.LingerAlways:
		return true
	}
	return !cc.body.done() || cc.in.Buffered() > 0 || readable
}

// peek reports whether the socket has bytes to read now and whether the
// client closed its side, without reading them; a connection that is not
// a plain socket (TLS) reports neither.
func (cc *clientConn) peek() (readable, eof bool) {
	if cc.rawc == nil {
		return false, false
	}
	_ = cc.rawc.Control(func(fd uintptr) {
		var b [1]byte
		n, _, err := syscall.Recvfrom(int(fd), b[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		readable, eof = n > 0, n == 0 && err == nil || errors.Is(err, syscall.ECONNRESET)
	})
	return readable, eof
}

// linger half-closes the connection and reads and discards what the client
// still sends, lingering_timeout at most between reads and lingering_time
// in all. A lingering connection counts as idle for a graceful stop, which
// closes it at once, and keeps its worker_connections slot; fulcrum does
// not linger (closes at once) when more than half of those slots would then
// be lingering, or when three quarters of them are taken, so that lingering
// clients cannot crowd out new ones.
func (cc *clientConn) linger(set *config.Closing) {
	s := cc.srv
	if !s.lingerSlot(cc.c) {
		return
	}
	defer s.lingering.Add(-1)
	if cc.bw != nil && cc.bw.Flush() != nil {
		return
	}
	if closeWrite(cc.c) != nil {
		return
	}
	cc.in.Drop() // what was read ahead goes with the rest
	if !cc.state.CompareAndSwap(connActive, connIdle) || s.shuttingDown() {
		return // a graceful stop closes idle connections: this one now
	}
	bp := lingerBufs.Get().(*[]byte)
	defer lingerBufs.Put(bp)
	end := time.Now().Add(set.LingeringTime)
	for {
		now := time.Now()
		if !now.Before(end) {
			return
		}
		next := now.Add(set.LingeringTimeout)
		if next.After(end) {
			next = end
		}
		_ = cc.c.SetReadDeadline(next)
		if _, err := cc.c.Read(*bp); err != nil {
			return // the client closed, a timeout, or a stop closed the socket
		}
	}
}

// lingerSlot counts a connection into the lingering ones, or reports false
// when the server has enough of them (see linger).
func (s *httpServer) lingerSlot(c net.Conn) bool {
	limit := int64(maxLingering)
	if lc, ok := c.(*limitedConn); ok && lc.lim != nil {
		n := cap(lc.lim.slots)
		if len(lc.lim.slots) > n*3/4 {
			return false
		}
		limit = int64(max(n/2, 1))
	}
	if s.lingering.Add(1) > limit {
		s.lingering.Add(-1)
		return false
	}
	return true
}

// maxLingering bounds the lingering connections of a listener without a
// worker_connections limiter (tests, inherited sockets).
const maxLingering = 512

// closeWrite half-closes c: a TLS connection sends its close_notify, then
// the socket sends FIN and can still read.
func closeWrite(c net.Conn) error {
	switch c := c.(type) {
	case *limitedConn:
		return closeWrite(c.Conn)
	case *sslConn:
		if tc := c.tc.Load(); tc != nil {
			if err := tc.CloseWrite(); err != nil {
				return err
			}
		}
		return closeWrite(c.Conn)
	case interface{ CloseWrite() error }:
		return c.CloseWrite()
	}
	return errors.ErrUnsupported
}

// resetOnClose sets SO_LINGER to 0 on c's socket, so that closing it sends
// RST and frees it at once (reset_timedout_connection).
func resetOnClose(c net.Conn) {
	switch c := c.(type) {
	case *limitedConn:
		resetOnClose(c.Conn)
	case *sslConn:
		resetOnClose(c.Conn)
	case *net.TCPConn:
		_ = c.SetLinger(0)
	}
}

package deadline

import (
	"net"
	"sync"
	"time"
)

// SendPiece is the most a SendWriter (or WritePieces) writes under one
// deadline: about what
// a loopback socket's send buffer takes at once, so that a large body
// moving to a slow reader re-arms its timeout as it goes.
const SendPiece = 64 << 10

// SendWriter writes to Conn with Timeout between two writes, as nginx's
// fastcgi_send_timeout, scgi_send_timeout, uwsgi_send_timeout and
// memcached_send_timeout mean it: "set only between two successive write
// operations, not for the transmission of the whole request". A write of
// more than 64 KiB goes out in pieces, each with a fresh deadline, so a
// large request body to an application that reads it slowly does not time
// out while it moves; one that stops reading does, a timeout after its
// last progress.
//
// At the stall edge, where the deadline passed while the socket had room
// (the goroutine stalled past it; WriteStalled), it writes once more, as
// nginx handles the write event before it expires the timer.
//
// Abort makes the pending and every later write fail at once, whatever
// the writer re-arms afterwards. Write belongs to one goroutine; Abort may
// be called from any.
type SendWriter struct {
	conn    net.Conn
	timeout time.Duration
	now     func() time.Time

	mu      sync.Mutex
	aborted bool
	at      time.Time // the write deadline last set by Write
}

// NewSendWriter returns a SendWriter for c with timeout between writes
// (none when timeout <= 0), reading the clock with now (time.Now when nil).
func NewSendWriter(c net.Conn, timeout time.Duration, now func() time.Time) *SendWriter {
	if now == nil {
		now = time.Now
	}
	return &SendWriter{conn: c, timeout: timeout, now: now}
}

// Write writes p, in pieces under the timeout.
func (w *SendWriter) Write(p []byte) (int, error) {
	return WritePieces(p, w.writePiece)
}

// WritePieces writes p through write in pieces of at most 64 KiB, so that
// a writer that arms its send timeout per write re-arms it as a large
// buffer moves: nginx's timeout runs between two writes, not over the
// whole request. It stops at the first error.
func WritePieces(p []byte, write func([]byte) (int, error)) (int, error) {
	var n int
	for n < len(p) {
		m, err := write(p[n:min(len(p), n+SendPiece)])
		n += m
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// writePiece writes p under a fresh deadline, once more at the stall edge.
// After Abort it writes under Abort's past deadline, which fails at once
// with the connection's own timeout error.
func (w *SendWriter) writePiece(p []byte) (int, error) {
	w.arm()
	n, err := w.conn.Write(p)
	if err != nil && w.stalled(err) && w.arm() {
		var more int
		more, err = w.conn.Write(p[n:])
		n += more
	}
	return n, err
}

// arm sets a fresh write deadline, unless the writer was aborted: false
// then.
func (w *SendWriter) arm() bool {
	if w.timeout <= 0 {
		w.mu.Lock()
		defer w.mu.Unlock()
		return !w.aborted
	}
	at := w.now().Add(w.timeout)
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.aborted {
		return false
	}
	w.at = at
	_ = w.conn.SetWriteDeadline(at)
	return true
}

// stalled reports whether err is the writer's own deadline, passed, on a
// socket with room for bytes: not Abort's, and not a timeout that stands.
func (w *SendWriter) stalled(err error) bool {
	w.mu.Lock()
	at, aborted := w.at, w.aborted
	w.mu.Unlock()
	return !aborted && !at.IsZero() && !time.Now().Before(at) && WriteStalled(w.conn, err)
}

// Abort makes the pending write and every later one fail at once (and the
// connection's reads too: it sets both deadlines in the past, as the
// exchanges' Abort does).
func (w *SendWriter) Abort() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.aborted = true
	_ = w.conn.SetDeadline(time.Unix(1, 0))
}

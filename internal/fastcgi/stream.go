package fastcgi

import (
	"bufio"
	"errors"
	"io"
	"net/http"
	"sync/atomic"
	"time"

	"fulcrum/internal/errlog"
	"fulcrum/internal/upstream"
	"fulcrum/internal/vars"
)

// streamChunk is the most body bytes one read takes from the client, and so
// the most one STDIN record carries, while a body streams: nginx's
// client_body_buffer_size default (16k on 64-bit systems), the buffer its
// unbuffered reads fill.
const streamChunk = 16 << 10

// streamBody is a request body sent to the server as it arrives
// (fastcgi_request_buffering off), read once: nginx's
// request_body_no_buffering.
type streamBody struct {
	r io.Reader
	// read says an attempt took bytes from r, so no other attempt can send
	// the body whole again.
	read bool
	// err is the client's read error that ended the body (too large,
	// timed out, malformed, gone), which ends the request.
	err error
	buf []byte
	// seen keeps the first requestBodyVarMax bytes read, for
	// $request_body (overflow: there were more); length is the client's
	// Content-Length, -1 for chunked. ended is set, after both, once the
	// body was read to its end, so that the handler may read seen while
	// the pump still runs.
	seen     []byte
	overflow bool
	length   int64
	total    int64
	ended    atomic.Bool
}

// streams reports whether the request's body goes to the server as it
// arrives: with *_request_buffering off, for FastCGI any body, for SCGI
// and uwsgi only one of a known length (nginx's ngx_http_scgi_handler and
// ngx_http_uwsgi_handler keep buffering a chunked body, whose
// CONTENT_LENGTH they must send first).
func (h *Handler) streams(r *http.Request) bool {
	return !h.set.RequestBuffering && (h.proto == FastCGI || r.ContentLength > 0)
}

// Read reads from the client's body, keeping its error.
func (s *streamBody) Read(p []byte) (int, error) {
	s.read = true
	n, err := s.r.Read(p)
	if err != nil && err != io.EOF && s.err == nil {
		s.err = err
	}
	s.total += int64(n)
	switch {
	case n == 0 || s.overflow:
		// nothing to keep; seen stays as the handler may read it
	case len(s.seen)+n > requestBodyVarMax:
		s.seen, s.overflow = nil, true
	default:
		s.seen = append(s.seen, p[:n]...)
	}
	if err == io.EOF || s.length >= 0 && s.total == s.length {
		s.ended.Store(true)
	}
	return n, err
}

// variable returns the body as $request_body once it was read whole and
// is at most requestBodyVarMax bytes long, as the proxy module has it
// (nginx 1.22.1 gives an error page the body that went to the FastCGI
// server unbuffered: "body in error page" in nginx-tests
// fastcgi_request_buffering.t); nil before that.
func (s *streamBody) variable() []byte {
	if !s.ended.Load() || s.overflow {
		return nil
	}
	if s.seen == nil {
		return []byte{}
	}
	return s.seen
}

// preread reads the body bytes that are already in the connection's buffer
// (those that came with the head), without waiting: nginx sends them with
// an SCGI request's head, and only their number as its CONTENT_LENGTH
// (nginx 1.22.1 sends "5" for a 10-byte body of which 5 came with the
// head, then the other 5 as they arrive). A body reader that cannot tell
// gives none.
func (s *streamBody) preread() ([]byte, error) {
	b, ok := s.r.(interface{ Buffered() int })
	if !ok {
		return nil, nil
	}
	n := b.Buffered()
	if n == 0 {
		return s.prereadChunks()
	}
	p := make([]byte, n)
	n, err := io.ReadFull(s, p)
	if err == io.ErrUnexpectedEOF || err == io.EOF {
		err = nil
	}
	if err != nil {
		return nil, &clientBodyError{err}
	}
	return p[:n], nil
}

// prereadChunks is preread for a chunked body: the data of the chunks
// that are in the connection's buffer, up to streamChunk bytes (nginx
// 1.22.1 sends "01234", and "01234many" for two chunks, with a FastCGI
// request's params when they came with the head: nginx-tests
// fastcgi_request_buffering_chunked.t "preread", "chunks"). A body reader
// that cannot tell gives none.
func (s *streamBody) prereadChunks() ([]byte, error) {
	p, ok := s.r.(interface{ Pending() bool })
	if !ok || !p.Pending() {
		return nil, nil
	}
	buf := make([]byte, streamChunk)
	n := 0
	for n < len(buf) && p.Pending() {
		k, err := s.Read(buf[n:])
		n += k
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, &clientBodyError{err}
		}
	}
	return buf[:n], nil
}

// clientBodyError is the client's body failing while it streams to the
// server: it ends the request with the body's status (413, 408, 400, 499),
// as nginx's ngx_http_read_unbuffered_request_body, and is no failure of
// the server.
type clientBodyError struct{ err error }

func (e *clientBodyError) Error() string { return "reading client request body: " + e.err.Error() }
func (e *clientBodyError) Unwrap() error { return e.err }

// sendStream sends the rest of a streaming body after the request's head
// went out: each piece as it arrives, flushed at once (one STDIN record per
// piece for FastCGI, ended by an empty one), with fastcgi_send_timeout
// between two writes.
func (h *Handler) sendStream(req *request, x *exchange, bw *bufio.Writer) error {
	s := req.stream
	if s.buf == nil {
		s.buf = make([]byte, streamChunk)
	}
	for {
		n, rerr := s.Read(s.buf)
		if n > 0 {
			if h.proto == FastCGI {
				writeRecord(bw, typeStdin, s.buf[:n])
			} else {
				bw.Write(s.buf[:n])
			}
		}
		if rerr == io.EOF && h.proto == FastCGI {
			writeRecord(bw, typeStdin, nil)
		}
		if n > 0 || rerr == io.EOF {
			x.setWriteDeadline(h.now().Add(h.set.SendTimeout))
			if err := bw.Flush(); err != nil {
				return sendFailed(err)
			}
		}
		switch {
		case rerr == io.EOF:
			return nil
		case rerr != nil:
			return &clientBodyError{rerr}
		}
	}
}

// errServerStopped is a write to the server that failed, other than by
// send_timeout, while the body streamed: the server closed or reset the
// connection. nginx notices that on the read side first, so the attempt
// goes on to read the response head, which may have come (an application
// that answers before the body's end) or ends with "upstream prematurely
// closed connection while reading response header from upstream" (nginx
// 1.22.1, a FastCGI server that closed after the first 5 bytes of a
// 10-byte body).
var errServerStopped = errors.New("server stopped reading the request body")

// sendFailed classifies a failed write of a streaming body: a timeout is
// a send error, another failure errServerStopped.
func sendFailed(err error) error {
	if errlog.IsTimeout(err) {
		return &sendError{err}
	}
	return errServerStopped
}

// bodyFailed ends an attempt whose client body failed while it streamed:
// the server is released without a failure (nginx logs no status for it,
// "-"), and the request is answered with the body's status.
func (h *Handler) bodyFailed(req *request, a *vars.Attempt, err error, start time.Time) *failure {
	end := h.now()
	a.ResponseTime = end.Sub(start)
	var d errlog.Described
	if errors.As(err, &d) {
		level, msg := d.LogLine()
		req.log.LogRequest(level, req.logRequest(), msg+" while "+errlog.ActionSend)
	}
	h.release(req, req.at.Server(), a, 0, upstream.Neutral, end, errlog.ActionSend)
	req.st.BodyCut = true
	status := bodyErrorStatus(req.r, err)
	if status == 499 {
		return &failure{end: end}
	}
	return &failure{status: status, end: end, body: true}
}

// isBodyError reports whether err is the client's body failing.
func isBodyError(err error) bool {
	var be *clientBodyError
	return errors.As(err, &be)
}

// pumpBody sends the rest of a streaming body (sendStream) while the
// response is read, and reports how that ended on x.pump. A failure of its
// own before the response head came (the client's body: too large, timed
// out, malformed, gone; a send timeout) cuts the head's read short, so that
// the attempt ends with it at once, as nginx ends the request.
func (h *Handler) pumpBody(req *request, x *exchange, bw *bufio.Writer) {
	err := h.sendStream(req, x, bw)
	x.pump <- err // buffered: the result is there before the read is cut
	if err != nil && err != errServerStopped && !x.headIn.Load() {
		_ = x.conn.SetReadDeadline(time.Unix(1, 0))
	}
}

// headFailed ends the pump of an attempt whose response head could not be
// read and says why the attempt failed: the pump's own failure when it
// had one (the head's read was cut for it), else the head's error.
func (h *Handler) headFailed(req *request, x *exchange, headErr error) error {
	if own, err := h.pumpStop(req, x); own && err != nil && err != errServerStopped {
		return err
	}
	return headErr
}

// pumpEnd ends the pump once the response went out and returns its result:
// nil when the whole body went to the server. Else the answer came before
// the body's end, and, as nginx 1.22.1 finalizes such a request (recorded
// with FastCGI and SCGI applications that answer before they read the
// body), the rest of the body is neither sent nor read: the connection to
// the server closes, the client's closes after the answer (lingering), and
// a chunked body's $content_length is not found.
func (h *Handler) pumpEnd(req *request, x *exchange) error {
	_, err := h.pumpStop(req, x)
	if err != nil {
		req.st.BodyCut = true
	}
	return err
}

// pumpStop waits for the pump to end, stopping it first when it still
// runs: writes to the server fail at once and the client's body is
// abandoned (BodyAbandoner), so that a pending read of it ends too. It
// returns whether the pump had ended by itself, and its result. A
// body that did not go whole is abandoned either way, so that the engine
// does not read the rest.
func (h *Handler) pumpStop(req *request, x *exchange) (own bool, err error) {
	a, _ := req.w.(BodyAbandoner)
	select {
	case err = <-x.pump:
		own = true
		if err != nil && a != nil {
			a.AbandonBody()
		}
	default:
		x.stopSend()
		err = abandonWait(a, x.pump)
	}
	x.pump, x.out = nil, x.cw.n
	return own, err
}

// abandonWait abandons the client's body and waits for the pump's result.
// The call is repeated while the pump runs: a read that began after the
// previous call set its own deadline.
func abandonWait(a BodyAbandoner, pump <-chan error) error {
	if a != nil {
		a.AbandonBody()
	}
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case err := <-pump:
			return err
		case <-tick.C:
			if a != nil {
				a.AbandonBody()
			}
		}
	}
}

// pumpDone ends the pump, if any, of an attempt that ended otherwise.
func (h *Handler) pumpDone(req *request, x *exchange) {
	if x.pump != nil {
		h.pumpEnd(req, x)
	}
}

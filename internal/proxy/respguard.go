package proxy

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"strconv"
	"sync"

	"fulcrum/internal/h1"
)

// respGuard puts the strict h1 reader in front of net/http's client on one
// upstream connection, as the daemon does for clients: each response head is
// read and checked by h1 (both Content-Length and Transfer-Encoding, invalid
// lengths, framing a status forbids, oversized heads) and handed on
// re-serialised; chunked bodies are decoded and re-chunked; a body is passed on
// exactly as long as its framing says. Anything else is an error that fails the
// attempt (502, invalid_header) and closes the connection, so a bad response
// can never leave bytes behind for the next request on a pooled connection.
type respGuard struct {
	br   *bufio.Reader
	resp h1.Response
	// mu guards method and want, shared by the transport's write path and its
	// read loop (which peeks for the next response while a request is written).
	mu     sync.Mutex
	method []byte // method of the request in flight, from the written head
	want   bool   // the next write starts a request head
	state  respState
	out    []byte
	left   int64
	chunks h1.ChunkedReader
	buf    []byte
	err    error // sticky
}

type respState uint8

const (
	respHead    respState = iota // reading a response head
	respLength                   // a Content-Length body
	respChunked                  // a chunked body, re-chunked
	respClose                    // a body delimited by the connection's end
	respRaw                      // after a 101: a tunnel
)

// errNoRequest is a response on a connection with no request in flight.
var errNoRequest = errors.New("upstream sent data without a request")

func newRespGuard(r io.Reader) *respGuard {
	return &respGuard{br: bufio.NewReader(r), want: true}
}

// wrote notes the bytes net/http writes: the first write of an exchange starts
// with the request line, whose method decides the response framing.
func (g *respGuard) wrote(p []byte) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if !g.want || len(p) == 0 {
		return
	}
	g.want = false
	if i := bytes.IndexByte(p, ' '); i > 0 {
		g.method = append(g.method[:0], p[:i]...)
	}
}

// awaiting reports whether a request is in flight, and its method.
func (g *respGuard) awaiting() ([]byte, bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.method, !g.want
}

// done marks the exchange finished: the next write starts a new request.
func (g *respGuard) done() {
	g.mu.Lock()
	g.want = true
	g.mu.Unlock()
}

func (g *respGuard) Read(p []byte) (int, error) {
	if len(g.out) == 0 && g.err == nil {
		switch g.state {
		case respLength:
			return g.readLength(p)
		case respClose, respRaw:
			return g.br.Read(p)
		}
	}
	for len(g.out) == 0 {
		if g.err != nil {
			return 0, g.err
		}
		g.err = g.fill()
	}
	n := copy(p, g.out)
	g.out = g.out[n:]
	return n, nil
}

func (g *respGuard) fill() error {
	switch g.state {
	case respHead:
		return g.head()
	case respChunked:
		return g.chunk()
	}
	return io.EOF
}

// head reads and checks one response head.
func (g *respGuard) head() error {
	// net/http's read loop waits here for the next response (or the end of an
	// idle connection) while the request is still being written.
	if _, err := g.br.Peek(1); err != nil {
		return err
	}
	method, inFlight := g.awaiting()
	if !inFlight {
		return errNoRequest // bytes nobody asked for
	}
	if err := h1.ReadResponse(g.br, &g.resp, method, h1.Limits{MaxHeaderBytes: maxResponseHeaderBytes}); err != nil {
		return err
	}
	g.out = g.resp.AppendHead(g.out[:0])
	switch {
	case g.resp.Status == 101:
		g.state = respRaw
	case g.resp.Informational():
		// the final response follows on the same exchange
	case g.resp.Framing == h1.LengthBody && g.resp.ContentLength > 0:
		g.state, g.left = respLength, g.resp.ContentLength
	case g.resp.Framing == h1.ChunkedBody:
		g.state = respChunked
		g.chunks.Reset(g.br, h1.BodyLimits{})
	case g.resp.Framing == h1.CloseBody:
		g.state = respClose
	default:
		g.done()
	}
	return nil
}

// readLength passes on up to the rest of a Content-Length body, into p.
func (g *respGuard) readLength(p []byte) (int, error) {
	n, err := g.br.Read(p[:min(g.left, int64(len(p)))])
	g.left -= int64(n)
	if g.left == 0 {
		g.state = respHead
		g.done()
	}
	if err != nil && n > 0 {
		err = nil
	}
	if err != nil {
		g.err = err
	}
	return n, err
}

func (g *respGuard) chunk() error {
	if g.buf == nil {
		g.buf = make([]byte, 4<<10)
	}
	buf := g.buf
	n, err := g.chunks.Read(buf)
	out := g.out[:0]
	if n > 0 {
		out = strconv.AppendInt(out, int64(n), 16)
		out = append(out, '\r', '\n')
		out = append(out, buf[:n]...)
		out = append(out, '\r', '\n')
	}
	g.out = out
	switch {
	case err == io.EOF:
		g.out = append(g.out, "0\r\n\r\n"...)
		g.state = respHead
		g.done()
		return nil
	case err != nil && n == 0:
		return err
	}
	return nil
}

package daemon

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net"
	"strconv"
	"sync/atomic"

	"fulcrum/internal/h1"
)

// guardConn puts fulcrum's strict HTTP/1.1 reader (package h1) in front of
// net/http's more lenient one. Every request head is read and checked by h1
// first (http-hardening.md: bare LF, obs-fold, Transfer-Encoding with
// Content-Length, bad chunked coding, ...); only a head h1 accepts reaches
// net/http, re-serialised from what h1 parsed, and h1 decodes a chunked body
// and hands it on re-chunked, so both parsers always agree on where a request
// ends. A rejected head reaches net/http as a small stand-in request that the
// handler recognises (rejected) and answers with h1's status before closing the
// connection: net/http keeps the responses of pipelined requests in order.
//
// After a request that asks for an upgrade, the connection is passed through
// unchecked: it either switched protocols, or the response closes it (see
// recorder.closeUnlessUpgraded).
type guardConn struct {
	net.Conn
	br     *bufio.Reader
	lim    h1.Limits
	req    h1.Request
	state  guardState
	out    []byte // bytes ready for net/http
	left   int64  // LengthBody bytes still to pass on
	chunks h1.ChunkedReader
	cbuf   []byte // decoded chunk data, while a chunked body is read

	// rejected is the h1 error of the last head, once it was replaced by the
	// stand-in request; the handler reads it from another goroutine.
	rejected atomic.Uint32
}

type guardState uint8

const (
	guardHead    guardState = iota // reading the next request head
	guardLength                    // passing a Content-Length body on
	guardChunked                   // decoding and re-chunking a chunked body
	guardRaw                       // after an upgrade request: no more checks
	guardDone                      // after a rejection: nothing more
)

// standIn is what net/http reads in place of a rejected head.
const standIn = "GET /.fulcrum-rejected HTTP/1.1\r\nHost: rejected\r\nConnection: close\r\n\r\n"

func newGuardConn(c net.Conn, lim h1.Limits) *guardConn {
	return &guardConn{Conn: c, br: bufio.NewReader(c), lim: lim}
}

// rejectedStatus returns the status for a stand-in request, or 0 when the
// request is a real one.
func (g *guardConn) rejectedStatus() int {
	if e := h1.Error(g.rejected.Load()); e != 0 {
		return e.Status()
	}
	return 0
}

// Read gives net/http the checked byte stream. Body bytes and an upgraded
// stream go straight into p; only heads and re-chunked data use g.out.
func (g *guardConn) Read(p []byte) (int, error) {
	if len(g.out) == 0 {
		switch g.state {
		case guardLength:
			return g.readLength(p)
		case guardRaw:
			return g.br.Read(p)
		}
	}
	for len(g.out) == 0 {
		if err := g.fill(); err != nil {
			return 0, err
		}
	}
	n := copy(p, g.out)
	g.out = g.out[n:]
	return n, nil
}

// fill produces the next bytes for net/http according to the state.
func (g *guardConn) fill() error {
	switch g.state {
	case guardHead:
		return g.head()
	case guardChunked:
		return g.chunk()
	}
	return io.EOF
}

// head reads and checks one request head.
func (g *guardConn) head() error {
	err := h1.ReadRequest(g.br, &g.req, g.lim)
	var perr h1.Error
	switch {
	case errors.As(err, &perr):
		g.rejected.Store(uint32(perr))
		g.out = []byte(standIn)
		g.state = guardDone
		return nil
	case err != nil:
		return err
	}
	if g.req.Framing == h1.LengthBody {
		g.collapseContentLength()
	}
	g.out = g.req.AppendHead(g.out[:0])
	switch {
	case g.req.Upgrade:
		g.state = guardRaw
	case g.req.Framing == h1.LengthBody && g.req.ContentLength > 0:
		g.state, g.left = guardLength, g.req.ContentLength
	case g.req.Framing == h1.ChunkedBody:
		g.state = guardChunked
		g.chunks.Reset(g.br, h1.BodyLimits{})
	}
	return nil
}

// collapseContentLength leaves one Content-Length field with the single value h1
// accepted ("2, 2" or two identical fields become "2"), which is what net/http
// accepts (RFC 9112 section 6.3 allows either).
func (g *guardConn) collapseContentLength() {
	kept := g.req.Headers[:0]
	seen := false
	for _, f := range g.req.Headers {
		if bytes.EqualFold(f.Name, []byte("Content-Length")) {
			if seen {
				continue
			}
			seen = true
			f.Value = strconv.AppendInt(nil, g.req.ContentLength, 10)
		}
		kept = append(kept, f)
	}
	g.req.Headers = kept
}

// readLength passes on up to the rest of a Content-Length body.
func (g *guardConn) readLength(p []byte) (int, error) {
	n, err := g.br.Read(p[:min(g.left, int64(len(p)))])
	g.left -= int64(n)
	if g.left == 0 {
		g.state = guardHead
	}
	if err != nil && n > 0 {
		err = nil
	}
	return n, err
}

// chunk decodes the next piece of a chunked body and re-encodes it as one chunk;
// the end of the body becomes the last chunk without trailers.
func (g *guardConn) chunk() error {
	if cap(g.cbuf) == 0 {
		g.cbuf = make([]byte, 4<<10)
	}
	n, err := g.chunks.Read(g.cbuf[:cap(g.cbuf)])
	if n > 0 {
		g.out = strconv.AppendInt(g.out[:0], int64(n), 16)
		g.out = append(g.out, '\r', '\n')
		g.out = append(g.out, g.cbuf[:n]...)
		g.out = append(g.out, '\r', '\n')
	}
	switch {
	case err == io.EOF:
		g.out = append(g.out, "0\r\n\r\n"...)
		g.state = guardHead
		g.cbuf = nil // chunked bodies are rare: hold no buffer between them
		return nil
	case err != nil && n == 0:
		// A malformed chunked body: net/http's body read fails, the handler
		// answers 400 and the connection closes.
		g.state = guardDone
		return err
	}
	return nil
}

// guardOf returns the guard of the connection a request came on, if any.
func guardOf(ci *connInfo) *guardConn {
	if ci == nil {
		return nil
	}
	return ci.guard
}

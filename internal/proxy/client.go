package proxy

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/textproto"
	"strconv"
	"sync"
	"syscall"
	"time"

	"fulcrum/internal/h1"
)

// ConnPool keeps idle HTTP/1.1 connections to the servers of one upstream block
// and runs exchanges on them synchronously, on the request's own goroutine: no
// read or write goroutine per connection and no hand-offs (DESIGN.md, "The
// request path is ours"). Responses are read by the strict h1 reader, so a
// backend's bad framing fails the attempt and closes the connection. It is safe
// for concurrent use.
type ConnPool struct {
	opts PoolOptions

	mu   sync.Mutex // guards idle
	idle map[string][]*poolConn
}

// poolConn is one upstream connection with its buffers and history.
type poolConn struct {
	c        net.Conn
	br       *bufio.Reader
	bw       *bufio.Writer
	key      string
	born     time.Time
	lastUsed time.Time
	requests int
	// sendTimeout is the current attempt's proxy_send_timeout, applied before
	// each write to the connection.
	sendTimeout time.Duration
	head        []byte // the request head being written, reused
}

// sendDeadline writes to the connection with proxy_send_timeout between two
// writes, as nginx's timeout means.
type sendDeadline struct{ pc *poolConn }

func (w sendDeadline) Write(p []byte) (int, error) {
	if d := w.pc.sendTimeout; d > 0 {
		_ = w.pc.c.SetWriteDeadline(time.Now().Add(d))
	}
	return w.pc.c.Write(p)
}

func newConnPool(o PoolOptions) *ConnPool {
	if o.Keepalive <= 0 {
		o.Keepalive = DefaultKeepalive
	}
	if o.KeepaliveTimeout <= 0 {
		o.KeepaliveTimeout = DefaultKeepaliveTimeout
	}
	return &ConnPool{opts: o, idle: map[string][]*poolConn{}}
}

// get returns an idle connection to network/addr (reused true), or dials one.
// Idle connections past keepalive_timeout are closed on the way.
func (p *ConnPool) get(ctx context.Context, network, addr string, connectTimeout time.Duration) (*poolConn, bool, error) {
	key := network + " " + addr
	now := time.Now()
	p.mu.Lock()
	list := p.idle[key]
	for len(list) > 0 {
		pc := list[len(list)-1]
		list = list[:len(list)-1]
		if now.Sub(pc.lastUsed) < p.opts.KeepaliveTimeout && alive(pc) {
			p.idle[key] = list
			p.mu.Unlock()
			return pc, true, nil
		}
		pc.c.Close()
	}
	p.idle[key] = list
	p.mu.Unlock()
	d := net.Dialer{Timeout: connectTimeout, KeepAlive: 30 * time.Second}
	c, err := d.DialContext(ctx, network, addr)
	if err != nil {
		return nil, false, err
	}
	pc := &poolConn{c: c, br: bufio.NewReader(c), key: key, born: now}
	pc.bw = bufio.NewWriter(sendDeadline{pc})
	return pc, false, nil
}

// alive reports whether an idle connection is still open and quiet: one
// non-blocking peek (MSG_PEEK|MSG_DONTWAIT) tells a connection the server has
// closed (EOF) or that has stray bytes from one that can take a request. Without
// it, a server that closes idle connections sooner than keepalive_timeout would
// cost a failed attempt (and, for a body that cannot be sent twice, a 502).
func alive(pc *poolConn) bool {
	if pc.br.Buffered() > 0 {
		return false
	}
	sc, ok := pc.c.(syscall.Conn)
	if !ok {
		return true
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return true
	}
	ok = true
	var b [1]byte
	_ = rc.Read(func(fd uintptr) bool {
		n, _, err := syscall.Recvfrom(int(fd), b[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		ok = n < 0 || err == syscall.EAGAIN // nothing to read: open and quiet
		if n == 0 && err == nil || n > 0 {
			ok = false // closed by the server, or bytes nobody asked for
		}
		return true
	})
	return ok
}

// put returns a connection for reuse, or closes it when it is spent
// (keepalive_requests, keepalive_time) or the pool for its server is full.
func (p *ConnPool) put(pc *poolConn) {
	now := time.Now()
	o := p.opts
	if o.KeepaliveRequests > 0 && pc.requests >= o.KeepaliveRequests ||
		o.KeepaliveTime > 0 && now.Sub(pc.born) >= o.KeepaliveTime {
		pc.c.Close()
		return
	}
	pc.lastUsed = now
	_ = pc.c.SetDeadline(time.Time{})
	p.mu.Lock()
	if len(p.idle[pc.key]) >= o.Keepalive {
		p.mu.Unlock()
		pc.c.Close()
		return
	}
	p.idle[pc.key] = append(p.idle[pc.key], pc)
	p.mu.Unlock()
}

// CloseIdle closes every idle connection.
func (p *ConnPool) CloseIdle() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for key, list := range p.idle {
		for _, pc := range list {
			pc.c.Close()
		}
		delete(p.idle, key)
	}
}

// exchangeTimeouts are one attempt's proxy timeouts.
type exchangeTimeouts struct {
	connect, send, read time.Duration
}

// errStale is a reused connection that the server had closed before our request
// reached it: the request may go again on a fresh connection, without counting a
// failure (nginx does the same for a stale keepalive connection).
var errStale = errors.New("upstream closed an idle keep-alive connection")

// exchange sends out on pc and reads the response head. The response body stays
// on pc; the returned *http.Response's Body gives pc back to the pool (or closes
// it) when done. wrote reports whether any of the request may have reached the
// server.
func (p *ConnPool) exchange(ctx context.Context, pc *poolConn, reused bool, out *http.Request, body io.Reader, bodyLen int64, t exchangeTimeouts) (resp *http.Response, wrote bool, err error) {
	stop := context.AfterFunc(ctx, func() { _ = pc.c.SetDeadline(time.Unix(1, 0)) })
	fail := func(e error) (*http.Response, bool, error) {
		stop()
		pc.c.Close()
		return nil, wrote, e
	}
	pc.requests++
	pc.sendTimeout = t.send
	if err := ctx.Err(); err != nil {
		return fail(err)
	}
	if err := pc.writeRequest(out, body, bodyLen); err != nil {
		if reused && isConnReset(err) {
			return fail(errStale)
		}
		wrote = true
		return fail(err)
	}
	wrote = true
	if t.read > 0 {
		_ = pc.c.SetReadDeadline(time.Now().Add(t.read))
	}
	// Check the client after setting the deadline: a cancellation that came
	// before it would otherwise be overwritten by it.
	if err := ctx.Err(); err != nil {
		return fail(err)
	}
	var head h1.Response
	method := []byte(out.Method)
	for {
		err := h1.ReadResponse(pc.br, &head, method, h1.Limits{MaxHeaderBytes: maxResponseHeaderBytes})
		if err != nil {
			head.Reset()
			if reused && (err == io.EOF || isConnReset(err)) {
				return fail(errStale)
			}
			return fail(err)
		}
		if !head.Informational() || head.Status == http.StatusSwitchingProtocols {
			break
		}
	}
	resp = toHTTPResponse(&head, out)
	resp.Body = &poolBody{pool: p, pc: pc, ctx: ctx, stop: stop, readTimeout: t.read, upgraded: head.Status == http.StatusSwitchingProtocols}
	if head.Status != http.StatusSwitchingProtocols {
		b := resp.Body.(*poolBody)
		b.close = head.Close
		if err := b.body.Reset(pc.br, head.Framing, head.ContentLength, h1.BodyLimits{}); err != nil {
			head.Reset()
			return fail(err)
		}
		b.chunked = head.Framing == h1.ChunkedBody
		b.resp = resp
	}
	head.Reset()
	return resp, true, nil
}

// writeRequest writes the request head and body, framed by Content-Length or
// chunked, and flushes.
func (pc *poolConn) writeRequest(out *http.Request, body io.Reader, bodyLen int64) error {
	bw := pc.bw
	buf := pc.head[:0]
	defer func() { pc.head = buf[:0] }()
	buf = append(buf, out.Method...)
	buf = append(buf, ' ')
	buf = append(buf, out.URL.RequestURI()...)
	buf = append(buf, " HTTP/1.1\r\nHost: "...)
	buf = append(buf, out.Host...)
	buf = append(buf, "\r\n"...)
	for name, values := range out.Header {
		if name == "Host" || name == "Content-Length" || name == "Transfer-Encoding" || name == "Connection" && !isUpgrade(out) {
			continue
		}
		for _, v := range values {
			if v == "" && name == "User-Agent" {
				continue
			}
			buf = append(buf, name...)
			buf = append(buf, ": "...)
			buf = append(buf, v...)
			buf = append(buf, "\r\n"...)
		}
	}
	switch {
	case bodyLen > 0 || bodyLen == 0 && body != nil || out.Method == http.MethodPost || out.Method == http.MethodPut || out.Method == http.MethodPatch:
		if bodyLen >= 0 {
			buf = append(buf, "Content-Length: "...)
			buf = strconv.AppendInt(buf, max(bodyLen, 0), 10)
			buf = append(buf, "\r\n"...)
		}
	}
	if bodyLen < 0 {
		buf = append(buf, "Transfer-Encoding: chunked\r\n"...)
	}
	if out.Close {
		buf = append(buf, "Connection: close\r\n"...)
	}
	buf = append(buf, "\r\n"...)
	if _, err := bw.Write(buf); err != nil {
		return err
	}
	if body != nil && bodyLen != 0 {
		if bodyLen < 0 {
			var cw h1.ChunkedWriter
			cw.Reset(bw)
			if _, err := io.Copy(&cw, body); err != nil {
				return err
			}
			if err := cw.Finish(nil); err != nil {
				return err
			}
		} else if _, err := io.Copy(bw, body); err != nil {
			return err
		}
	}
	return bw.Flush()
}

func isUpgrade(out *http.Request) bool { return out.Header.Get("Upgrade") != "" }

// toHTTPResponse turns a checked response head into the *http.Response that
// ReverseProxy copies to the client.
func toHTTPResponse(head *h1.Response, out *http.Request) *http.Response {
	resp := &http.Response{
		Status:        strconv.Itoa(head.Status) + " " + string(head.Reason),
		StatusCode:    head.Status,
		Proto:         head.Version.String(),
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        make(http.Header, len(head.Headers)),
		ContentLength: -1,
		Request:       out,
	}
	if head.Version == h1.HTTP10 {
		resp.ProtoMinor = 0
	}
	for _, f := range head.Headers {
		name := textproto.CanonicalMIMEHeaderKey(string(f.Name))
		resp.Header[name] = append(resp.Header[name], string(f.Value))
	}
	switch head.Framing {
	case h1.LengthBody:
		resp.ContentLength = head.ContentLength
	case h1.NoBody:
		resp.ContentLength = 0
	case h1.ChunkedBody:
		resp.TransferEncoding = []string{"chunked"}
		delete(resp.Header, "Transfer-Encoding")
		resp.Trailer = http.Header{}
	}
	if head.Status == http.StatusSwitchingProtocols {
		resp.ContentLength = 0
	}
	return resp
}

// poolBody is an upstream response body read straight from the pooled
// connection. At its end the connection goes back to the pool when the response
// allows it; closed early or on an error, the connection is closed. After a 101
// it is the upgraded connection itself, readable and writable.
type poolBody struct {
	pool        *ConnPool
	pc          *poolConn
	ctx         context.Context // the client's request: when it ends, reads stop
	stop        func() bool
	body        h1.Body
	resp        *http.Response
	readTimeout time.Duration
	chunked     bool
	close       bool // the response said the connection ends with it
	upgraded    bool
	done        bool
	failed      bool
}

func (b *poolBody) Read(p []byte) (int, error) {
	if b.upgraded {
		_ = b.pc.c.SetReadDeadline(time.Time{})
		return b.pc.br.Read(p)
	}
	if b.readTimeout > 0 {
		_ = b.pc.c.SetReadDeadline(time.Now().Add(b.readTimeout))
	}
	// After the deadline, as in exchange: a client that left stops the read.
	if err := b.ctx.Err(); err != nil {
		b.failed = true
		return 0, err
	}
	n, err := b.body.Read(p)
	switch {
	case err == io.EOF:
		b.done = true
		if b.chunked && b.resp != nil {
			for _, f := range b.body.Trailers() {
				name := textproto.CanonicalMIMEHeaderKey(string(f.Name))
				b.resp.Trailer[name] = append(b.resp.Trailer[name], string(f.Value))
			}
		}
	case err != nil:
		b.failed = true
	}
	return n, err
}

// Write writes to an upgraded connection.
func (b *poolBody) Write(p []byte) (int, error) { return b.pc.c.Write(p) }

// Close ends the exchange: the connection is reused only after a complete body
// with nothing left over and no close requested.
func (b *poolBody) Close() error {
	if b.pc == nil {
		return nil
	}
	b.stop()
	pc := b.pc
	b.pc = nil
	if !b.upgraded && b.done && !b.failed && !b.close && pc.br.Buffered() == 0 {
		b.pool.put(pc)
		return nil
	}
	return pc.c.Close()
}

// isConnReset reports a connection reset or broken pipe: what writing to or
// reading from a connection the server closed gives.
func isConnReset(err error) bool {
	return errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}

package proxy

import (
	"bytes"
	"errors"
	"io"
	"net/http"

	"fulcrum/internal/bodyspool"
	"fulcrum/internal/config"
	"fulcrum/internal/errlog"
)

// replayBody is a request body that can be sent to more than one server when it
// was read whole (proxy_request_buffering on, the default): in memory, or in
// a temporary file (spool) past client_body_buffer_size, as nginx reads it
// before it connects.
type replayBody struct {
	buf      []byte // the whole body, when buffered in memory
	buffered bool   // buf holds the whole body
	file     bool   // spool holds the whole body, in a file
	spool    bodyspool.Body
	stream   io.ReadCloser // an unbuffered body (proxy_request_buffering off)
	// length is stream's length when the client announced it
	// (Content-Length), else -1: a streamed body keeps its length
	// upstream, as nginx sends it, and goes chunked only when the
	// client's was.
	length int64
	// announced is the client's Content-Length that goes without its
	// body (AnnouncedBody), 0 for none.
	announced int64
	read      bool // an attempt read from stream
	empty     bool // no body at all
	// seen keeps the first requestBodyVarMax bytes read from stream, for
	// $request_body; streamEnd records that stream was read to its end.
	seen      []byte
	overflow  bool
	streamEnd bool
	// clientErr is how reading stream from the client failed (too large,
	// malformed, timed out, gone), nil while it did not: the attempt that
	// was sending it failed by the client, not by its server.
	clientErr error
}

// setReplayBody prepares r's body in b. With buffering on, it reads the
// whole body now, into memory or a temporary file (o). When the read fails,
// b.buf keeps the part read in memory.
func setReplayBody(b *replayBody, r *http.Request, set *config.Settings, o *bodyspool.Options) error {
	if a, ok := r.Body.(*AnnouncedBody); ok {
		*b = replayBody{empty: true, buffered: true, announced: a.Length}
		return nil
	}
	switch {
	case r.Body == nil || r.Body == http.NoBody || r.ContentLength == 0:
		*b = replayBody{empty: true, buffered: true}
		return nil
	case !set.ProxyRequestBuffering && !isSpooled(r.Body):
		if pc, ok := r.Body.(PrereadChecker); ok {
			if err := pc.PrereadFault(); err != nil {
				*b = replayBody{}
				return err // refused before an upstream is chosen
			}
		}
		*b = replayBody{stream: r.Body, length: max(r.ContentLength, -1)}
		return nil
	}
	*b = replayBody{}
	err := b.spool.Read(r.Body, max(r.ContentLength, -1), o)
	switch {
	case err != nil:
		b.buf = b.spool.Memory() // the part read stays for $request_body (refusedBody)
	case b.spool.InFile():
		b.file = true
	default:
		b.buf, b.buffered = b.spool.Memory(), true
	}
	return err
}

// PrereadChecker is a request body that can tell, before any of it is read,
// whether the bytes that came with the head are already malformed (a
// chunked body's framing): an unbuffered body (proxy_request_buffering off)
// is then refused with that error before an upstream is chosen, as nginx
// refuses its preread before it connects, rather than streamed to a server
// (or a 502 for a dead one) and refused later.
type PrereadChecker interface {
	PrereadFault() error
}

// UnreadBody is a request body that streamed to no server, every attempt
// having failed before reading any of it: CountUnread counts in
// $request_length what nginx read of it with the head before it connected,
// and reports whether that was the whole body. When it was not, nginx's
// request ends while its body is still being read, and the connection
// closes after the answer without reading on (unreadStream).
type UnreadBody interface {
	CountUnread() (whole bool)
}

// BodyAbandoner is a ResponseWriter whose server can give up the rest of
// a request body: the connection closes after the answer, lingering,
// without reading it (the daemon's engine, HTTP/1.x; fastcgi's interface
// of the same name).
type BodyAbandoner interface{ AbandonBody() }

// unreadStream settles a body that streams from the client
// (proxy_request_buffering off) when the request failed before any
// attempt read it (see UnreadBody).
func unreadStream(req *request) {
	b := &req.bodyStore
	if b.stream == nil || b.read {
		return
	}
	u, ok := b.stream.(UnreadBody)
	if !ok || u.CountUnread() {
		return
	}
	if a, ok := req.w.(BodyAbandoner); ok {
		a.AbandonBody()
	}
}

// AnnouncedBody is the body of a request that announces the client's
// Content-Length without sending the body: a mirror subrequest's with
// mirror_request_body off. As nginx 1.22.1 sends it (recorded: "POST" with
// the client's "Content-Length: 20000" and no body; the mirror's backend
// that waited for the body got it at no point, its connection closed at
// proxy_read_timeout), the proxy sends Length as the Content-Length and no
// body, and closes the connection after the response, never reusing it:
// the server may still take the next bytes for the body. A
// proxy_set_header Content-Length (nginx's documented "" for mirrors)
// sends no length. Read gives io.EOF at once, to any other handler too.
type AnnouncedBody struct{ Length int64 }

// Read reads nothing: the body is not sent.
func (*AnnouncedBody) Read([]byte) (int, error) { return 0, io.EOF }

// Close does nothing.
func (*AnnouncedBody) Close() error { return nil }

// isSpooled reports that body was read whole already (for the mirrors or
// the post action): it is sent from where it was read, even with
// proxy_request_buffering off, as nginx sends the r->request_body another
// read.
func isSpooled(body io.Reader) bool {
	_, ok := body.(*bodyspool.Reader)
	return ok
}

// replayable reports whether another attempt can send the whole body again.
func (b *replayBody) replayable() bool { return b.buffered || b.file || !b.read }

// reader returns the body for one attempt, and its length (-1 when unknown:
// a chunked body that streams).
func (b *replayBody) reader() (io.ReadCloser, int64) {
	switch {
	case b.empty:
		return nil, 0
	case b.buffered:
		return io.NopCloser(bytes.NewReader(b.buf)), int64(len(b.buf))
	case b.file:
		return io.NopCloser(b.spool.Reader()), b.spool.Size()
	}
	return &onceReader{b: b}, b.length
}

// size is the length of a body read whole (0 for a streamed one).
func (b *replayBody) size() int64 {
	if b.file {
		return b.spool.Size()
	}
	return int64(len(b.buf))
}

// inMemory returns the whole body when it is buffered and not empty, else nil.
func (b *replayBody) inMemory() []byte {
	if b.buffered && !b.empty {
		return b.buf
	}
	return nil
}

// variable returns $request_body: the whole body when it was read into
// memory, or streamed through whole and is at most requestBodyVarMax bytes
// long (nginx: the body read into client_body_buffer_size's memory, not
// found when it went to a temporary file); empty, not nil, for a request
// that announced an empty body; nil otherwise.
func (b *replayBody) variable(announced bool) []byte {
	switch {
	case b.empty:
		if announced {
			return []byte{}
		}
		return nil
	case b.buffered:
		return b.buf
	case b.streamEnd && !b.overflow:
		if b.seen == nil {
			return []byte{}
		}
		return b.seen
	}
	return nil
}

// onceReader marks the stream as read as soon as an attempt reads from it. It
// never closes the client's body: the server does that.
type onceReader struct{ b *replayBody }

func (o *onceReader) Read(p []byte) (int, error) {
	b := o.b
	b.read = true
	n, err := b.stream.Read(p)
	switch {
	case b.overflow:
	case len(b.seen)+n > requestBodyVarMax:
		b.seen, b.overflow = nil, true
	default:
		b.seen = append(b.seen, p[:n]...)
	}
	switch {
	case err == io.EOF:
		b.streamEnd = true
	case err != nil:
		b.clientErr = err
	}
	return n, err
}

func (o *onceReader) Close() error { return nil }

// Pending reports whether bytes of a chunked client body are readable
// without waiting, as the client's body reports it; false when it does not
// say.
func (o *onceReader) Pending() bool {
	p, ok := o.b.stream.(interface{ Pending() bool })
	return ok && p.Pending()
}

// Buffered is how many body bytes can be read without waiting (the ones
// that came with the head), as the client's body reports it; 0 when it
// does not say.
func (o *onceReader) Buffered() int {
	if bb, ok := o.b.stream.(interface{ Buffered() int }); ok {
		return bb.Buffered()
	}
	return 0
}

// keepBody makes a request body read whole the client request's body
// again, for the proxy_pass an error_page or X-Accel-Redirect leads to: nginx
// keeps the body it read and sends it there too (with the method turned
// into GET for a URI target, kept for a named location, and the body's
// Content-Length either way; recorded with nginx 1.22.1). Only the paths
// that hand the request on call it (after fail, which arranges the
// error_page), so a proxied response costs nothing. A body in a temporary
// file goes on from the file, whatever its size: the writer (BodyKeeper)
// takes the file over, as this handler's request ends first, and the next
// handler shares it (bodyspool.Reader) without a second file or log line.
// Only under a writer that cannot keep it (a subrequest's) is it read
// back into memory, and then only when a redirect will take it (redirect:
// X-Accel-Redirect's; else an error_page fail arranged): a failure that no
// error_page catches must not read a body of up to client_max_body_size
// into memory.
func (req *request) keepBody(redirect bool) {
	b := &req.bodyStore
	if b.spool.Shared() {
		return // req.in.Body is still the whole body its owner keeps
	}
	buf := b.inMemory()
	if b.file {
		if p, ok := req.w.(RedirectPender); ok && !redirect && !p.RedirectPending() {
			return
		}
		if k, ok := req.w.(BodyKeeper); ok {
			kept := b.spool.Move()
			if k.KeepBody(kept) {
				req.in.Body, req.in.ContentLength = kept.NewReader(), kept.Size()
				req.in.TransferEncoding = nil
				return
			}
			b.spool = *kept // declined: this handler still owns the file
		}
		var err error
		if buf, err = io.ReadAll(b.spool.Reader()); err != nil {
			return
		}
	}
	if buf != nil {
		req.in.Body, req.in.ContentLength = io.NopCloser(bytes.NewReader(buf)), int64(len(buf))
	}
}

// bodyRefused answers a request whose body could not be read before it
// went upstream, logging the engine's line for the failure as nginx 1.22.1
// logs it there, with no upstream yet (errlog.Described: "client intended
// to send too large chunked body: 5+5 bytes", "client sent invalid chunked
// body", "client prematurely closed connection"). A body refused at a chunk
// past client_max_body_size, that stopped coming (client_body_timeout) or
// whose client closed the connection keeps the part read before it as
// $request_body (nginx 1.22.1 logs "hello" for a body refused at its second
// 5-byte chunk, "0123456789" for the first 10 bytes of 20 that timed out or
// were cut).
func (h *Handler) bodyRefused(req *request, err error) {
	var d errlog.Described
	switch {
	case errors.As(err, &d):
		level, msg := d.LogLine()
		req.log.LogRequest(level, req.logRequest(""), msg)
	case errors.Is(err, bodyspool.ErrTempFile):
		req.log.LogRequest(errlog.Crit, req.logRequest(""), err.Error())
	}
	var tooBig *http.MaxBytesError
	partial := errors.As(err, &tooBig) || errlog.IsTimeout(err) || errors.Is(err, io.ErrUnexpectedEOF)
	// nothing read is no body: nginx's request_body->bufs stays NULL and
	// $request_body is not found (recorded with nginx 1.22.1: a POST
	// announcing 10 bytes and sending none, client_body_timeout 1s, logs
	// "-" with its 408; nginx-tests' mirror_proxy.t, a mirror with
	// mirror_request_body off)
	if partial && len(req.bodyStore.buf) > 0 && len(req.bodyStore.buf) <= requestBodyVarMax {
		req.st.Body = req.bodyStore.buf
	}
	fail(req.w, bodyErrorStatus(req.in, err), h.server)
}

package proxy

import (
	"bytes"
	"errors"
	"io"
	"net/http"

	"fulcrum/internal/config"
	"fulcrum/internal/errlog"
)

// MaxReplayBody is the largest request body kept in memory so that a retry can
// send it again (with proxy_request_buffering on, the default). A larger body is
// streamed to the first server; it can still go to the next server if the first
// one failed before any of it was read (a refused connection), never after.
const MaxReplayBody = 1 << 20

// replayBody is a request body that can be sent to more than one server when it
// was buffered.
type replayBody struct {
	buf      []byte        // the whole body, when buffered
	buffered bool          // buf holds the whole body
	stream   io.ReadCloser // the rest of an unbuffered body
	// length is stream's length when the client announced it
	// (Content-Length), else -1: a streamed body keeps its length
	// upstream, as nginx sends it, and goes chunked only when the
	// client's was.
	length int64
	read     bool          // an attempt read from stream
	empty    bool          // no body at all
	// seen keeps the first requestBodyVarMax bytes read from stream, for
	// $request_body; streamEnd records that stream was read to its end.
	seen      []byte
	overflow  bool
	streamEnd bool
}

// setReplayBody prepares r's body in b. With buffering on, it reads up to
// MaxReplayBody bytes now; if the body is longer, those bytes and the rest of the
// stream are sent once. When the read fails, b.buf keeps the part read.
func setReplayBody(b *replayBody, r *http.Request, set *config.Settings) error {
	switch {
	case r.Body == nil || r.Body == http.NoBody || r.ContentLength == 0:
		*b = replayBody{empty: true, buffered: true}
		return nil
	case !set.ProxyRequestBuffering || r.ContentLength > MaxReplayBody:
		*b = replayBody{stream: r.Body, length: max(r.ContentLength, -1)}
		return nil
	}
	buf, err := io.ReadAll(io.LimitReader(r.Body, MaxReplayBody+1))
	if err != nil {
		// The part read stays for $request_body (refusedBody).
		*b = replayBody{buf: buf}
		return err
	}
	if len(buf) <= MaxReplayBody {
		*b = replayBody{buf: buf, buffered: true}
		return nil
	}
	*b = replayBody{stream: struct {
		io.Reader
		io.Closer
	}{io.MultiReader(bytes.NewReader(buf), r.Body), r.Body}, length: max(r.ContentLength, -1)}
	return nil
}

// replayable reports whether another attempt can send the whole body again.
func (b *replayBody) replayable() bool { return b.buffered || !b.read }

// reader returns the body for one attempt, and its length (-1 when unknown:
// a chunked body that streams).
func (b *replayBody) reader() (io.ReadCloser, int64) {
	switch {
	case b.empty:
		return nil, 0
	case b.buffered:
		return io.NopCloser(bytes.NewReader(b.buf)), int64(len(b.buf))
	}
	return &onceReader{b: b}, b.length
}

// inMemory returns the whole body when it is buffered and not empty, else nil.
func (b *replayBody) inMemory() []byte {
	if b.buffered && !b.empty {
		return b.buf
	}
	return nil
}

// variable returns $request_body: the whole body when it was buffered or
// streamed through whole, and is at most requestBodyVarMax bytes long (nginx:
// the body read into client_body_buffer_size's memory, not a temporary file);
// empty, not nil, for a request that announced an empty body; nil otherwise.
func (b *replayBody) variable(announced bool) []byte {
	switch {
	case b.empty:
		if announced {
			return []byte{}
		}
		return nil
	case b.buffered:
		if len(b.buf) <= requestBodyVarMax {
			return b.buf
		}
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
	if err == io.EOF {
		b.streamEnd = true
	}
	return n, err
}

func (o *onceReader) Close() error { return nil }

// keepBody makes a request body read into memory the client request's body
// again, for the proxy_pass an error_page or X-Accel-Redirect leads to: nginx
// keeps the body it read and sends it there too (with the method turned
// into GET for a URI target, kept for a named location). Only the paths that
// hand the request on call it, so a proxied response costs nothing.
func (req *request) keepBody() {
	if buf := req.bodyStore.inMemory(); buf != nil {
		req.in.Body, req.in.ContentLength = io.NopCloser(bytes.NewReader(buf)), int64(len(buf))
	}
}

// bodyRefused answers a request whose body could not be read before it
// went upstream, logging the engine's line for the failure as nginx 1.22.1
// logs it there, with no upstream yet (errlog.Described: "client intended
// to send too large chunked body: 5+5 bytes", "client sent invalid chunked
// body", "client prematurely closed connection"). A body refused at a chunk
// past client_max_body_size keeps the part read before it as
// $request_body (nginx logs "hello" for a body refused at its second
// 5-byte chunk).
func (h *Handler) bodyRefused(req *request, err error) {
	var d errlog.Described
	if errors.As(err, &d) {
		level, msg := d.LogLine()
		h.log.LogRequest(level, req.logRequest(""), msg)
	}
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) && len(req.bodyStore.buf) <= requestBodyVarMax {
		req.st.Body = req.bodyStore.buf
	}
	fail(req.w, bodyErrorStatus(req.in, err), h.server)
}

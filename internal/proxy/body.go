package proxy

import (
	"bytes"
	"io"
	"net/http"

	"fulcrum/internal/config"
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
	read     bool          // an attempt read from stream
	empty    bool          // no body at all
}

// newReplayBody prepares r's body. With buffering on, it reads up to
// MaxReplayBody bytes now; if the body is longer, those bytes and the rest of the
// stream are sent once.
func newReplayBody(r *http.Request, set *config.Settings) (*replayBody, error) {
	if r.Body == nil || r.Body == http.NoBody || r.ContentLength == 0 {
		return &replayBody{empty: true, buffered: true}, nil
	}
	if !set.ProxyRequestBuffering || r.ContentLength > MaxReplayBody {
		return &replayBody{stream: r.Body}, nil
	}
	buf, err := io.ReadAll(io.LimitReader(r.Body, MaxReplayBody+1))
	if err != nil {
		return nil, err
	}
	if len(buf) <= MaxReplayBody {
		return &replayBody{buf: buf, buffered: true}, nil
	}
	return &replayBody{stream: struct {
		io.Reader
		io.Closer
	}{io.MultiReader(bytes.NewReader(buf), r.Body), r.Body}}, nil
}

// replayable reports whether another attempt can send the whole body again.
func (b *replayBody) replayable() bool { return b.buffered || !b.read }

// reader returns the body for one attempt, and its length (-1 when unknown).
func (b *replayBody) reader() (io.ReadCloser, int64) {
	switch {
	case b.empty:
		return nil, 0
	case b.buffered:
		return io.NopCloser(bytes.NewReader(b.buf)), int64(len(b.buf))
	}
	return &onceReader{b: b}, -1
}

// onceReader marks the stream as read as soon as an attempt reads from it. It
// never closes the client's body: the server does that.
type onceReader struct{ b *replayBody }

func (o *onceReader) Read(p []byte) (int, error) {
	o.b.read = true
	return o.b.stream.Read(p)
}

func (o *onceReader) Close() error { return nil }

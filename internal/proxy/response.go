package proxy

import (
	"io"
	"net/http"
	"sync"
	"time"

	"fulcrum/internal/errlog"
	"fulcrum/internal/upstream"
	"fulcrum/internal/vars"
)

// hiddenByDefault are the upstream response headers nginx does not pass to the
// client unless proxy_pass_header names them.
var hiddenByDefault = []string{"Date", "Server", "X-Pad", "X-Accel-Expires", "X-Accel-Redirect",
	"X-Accel-Limit-Rate", "X-Accel-Buffering", "X-Accel-Charset"}

// modifyResponse prepares an upstream response for the client: hidden headers
// removed, Location and Refresh rewritten per proxy_redirect, and the upstream's
// headers made visible to $upstream_http_NAME.
func (h *Handler) modifyResponse(resp *http.Response) error {
	req := fromContext(resp.Request.Context())
	for name := range h.hide {
		delete(resp.Header, name)
	}
	if len(h.redirects) > 0 {
		for _, name := range [...]string{"Location", "Refresh"} {
			if v := resp.Header.Get(name); v != "" {
				resp.Header.Set(name, rewriteRedirect(h.redirects, name, v, req.st))
			}
		}
	}
	req.st.UpstreamHeader = vars.HeaderMap(resp.Header)
	return nil
}

// upstreamBody wraps an upstream response body: it counts the bytes for
// $upstream_response_length and, on Close, releases the server (a read error
// after the header went to the client counts no failure, as in nginx). The
// pooled body underneath enforces proxy_read_timeout between reads and gives the
// connection back to the pool.
type upstreamBody struct {
	rc      io.ReadCloser
	h       *Handler
	req     *request
	srv     *upstream.Server
	start   time.Time
	attempt *vars.Attempt
	n       int64
	readErr bool
	once    sync.Once
}

func newUpstreamBody(resp *http.Response, h *Handler, req *request, srv *upstream.Server, start time.Time, a *vars.Attempt) io.ReadCloser {
	b := &upstreamBody{rc: resp.Body, h: h, req: req, srv: srv, start: start, attempt: a}
	if rw, ok := resp.Body.(io.ReadWriteCloser); ok && resp.StatusCode == http.StatusSwitchingProtocols {
		return &upgradedBody{upstreamBody: b, w: rw} // ReverseProxy needs the writable body
	}
	return b
}

func (b *upstreamBody) Read(p []byte) (int, error) {
	n, err := b.rc.Read(p)
	b.n += int64(n)
	if err != nil && err != io.EOF {
		b.readErr = true
		// A client that went away cancels the attempt: that is a 499, not the
		// upstream's fault, and not worth an error line.
		if b.h.log != nil && b.req.in.Context().Err() == nil {
			msg := "upstream prematurely closed connection while reading upstream"
			if isTimeout(err) {
				msg = errBodyTimeout.Error()
			}
			b.h.log.LogRequest(errlog.Error, b.req.logRequest("http://"+b.srv.Name()+b.req.st.RequestURI), msg)
		}
	}
	return n, err
}

func (b *upstreamBody) Close() error {
	err := b.rc.Close()
	b.once.Do(func() {
		b.attempt.ResponseTime = b.h.now().Sub(b.start)
		b.attempt.ResponseLength = b.n
		outcome := upstream.Success
		if b.readErr || b.req.in.Context().Err() != nil {
			outcome = upstream.Neutral
		}
		b.h.release(b.req, b.srv, outcome)
	})
	return err
}

// upgradedBody is the body of a 101 response: the upgraded connection, readable
// and writable.
type upgradedBody struct {
	*upstreamBody
	w io.Writer
}

func (u *upgradedBody) Write(p []byte) (int, error) { return u.w.Write(p) }

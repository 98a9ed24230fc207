package proxy

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"fulcrum/internal/clientwatch"
)

// ignoringWriter records that the proxy asked it to ignore client aborts.
type ignoringWriter struct {
	*httptest.ResponseRecorder
	ignored bool
}

func (w *ignoringWriter) IgnoreClientAbort() { w.ignored = true }

// abortRecorder is a connection that records poolConn.Abort (a deadline set).
type abortRecorder struct {
	net.Conn
	aborted atomic.Bool
}

func (c *abortRecorder) SetDeadline(time.Time) error {
	c.aborted.Store(true)
	return nil
}

// TestIgnoreClientAbort: with proxy_ignore_client_abort on, the exchange's
// context outlives the client's, the writer stops its own watch, and the
// exchange watches nothing, so the client going away aborts no upstream
// connection; off, it aborts the connection at once.
func TestIgnoreClientAbort(t *testing.T) {
	for _, ignore := range []bool{false, true} {
		t.Run(map[bool]string{false: "off", true: "on"}[ignore], func(t *testing.T) {
			clientCtx, clientGone := context.WithCancel(context.Background())
			r := httptest.NewRequest(http.MethodGet, "/", nil).WithContext(clientCtx)
			w := &ignoringWriter{ResponseRecorder: httptest.NewRecorder()}
			req := &request{in: r, w: w, ctx: r.Context()}
			if ignore {
				ignoreClientAbort(req)
			}
			conn := &abortRecorder{}
			watch := clientwatch.Start(req.ctx, nil, &poolConn{c: conn})
			clientGone()
			if !ignore {
				deadline := time.Now().Add(5 * time.Second)
				for !conn.aborted.Load() && time.Now().Before(deadline) {
					time.Sleep(time.Millisecond)
				}
			} else if watch.Active() {
				t.Error("the exchange watches the client although its aborts are ignored")
			}
			if conn.aborted.Load() == ignore {
				t.Errorf("upstream connection aborted: %v, want %v", conn.aborted.Load(), !ignore)
			}
			if got := watch.End(); got != ignore {
				t.Errorf("watch.End() = %v, want %v (true: the connection may be reused)", got, ignore)
			}
			if w.ignored != ignore || (req.ctx.Err() == nil) != ignore {
				t.Errorf("writer told %v, exchange context error %v; want told %v, cancelled %v", w.ignored, req.ctx.Err(), ignore, !ignore)
			}
		})
	}
}

package memcached

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"fulcrum/internal/errlog"
	"fulcrum/internal/vars"
)

// lateWriter is a ResponseWriter that watches the client as the daemon's
// engine does (clientwatch.Watcher), for a client that left just before
// the watch began: the engine cancelled the request's context then, with
// no exchange to abort, and WatchClient does not abort the one it is
// given.
type lateWriter struct {
	*httptest.ResponseRecorder
	cancel  context.CancelCauseFunc
	mu      sync.Mutex // guards aborter
	aborter interface{ Abort() }
}

func (w *lateWriter) WatchClient(a interface{ Abort() }) bool {
	w.cancel(&errlog.ClientAbort{}) // the client is gone already
	w.mu.Lock()
	defer w.mu.Unlock()
	w.aborter = a
	return true
}

func (w *lateWriter) UnwatchClient() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.aborter = nil
	return true
}

// TestClientGoneBeforeWatch: a client that left as the command went to
// memcached ends the exchange at once (499), as nginx closes the upstream
// connection of a client that left, instead of waiting
// memcached_read_timeout for a reply nobody will read.
func TestClientGoneBeforeWatch(t *testing.T) {
	const readTimeout = 5 * time.Second
	srv := serve(t, func(string, net.Conn) bool { return true }) // never answers
	set := defaults()
	set.ReadTimeout = readTimeout
	f := newFixture(t, set, 0, srv.settings())
	ctx, cancel := context.WithCancelCause(context.Background())
	defer cancel(nil)
	r := httptest.NewRequest(http.MethodGet, "/k", nil).WithContext(ctx)
	st := &vars.State{}
	st.Method, st.Path, st.RequestURI = "GET", "/k", "/k"
	f.key.Set(st, []byte("k"))
	w := &lateWriter{ResponseRecorder: httptest.NewRecorder(), cancel: cancel}
	start := time.Now()
	f.h.ServeHTTP(w, r, st)
	if took := time.Since(start); took > readTimeout/2 {
		t.Errorf("the exchange took %v for a client that was gone; want it ended at once", took)
	}
	if st.Status != 499 {
		t.Errorf("logged status %d, want 499", st.Status)
	}
}

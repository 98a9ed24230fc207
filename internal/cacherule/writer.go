package cacherule

import (
	"net/http"

	"fulcrum/internal/vars"
)

// Discard is the ResponseWriter of a response that goes to the cache alone:
// a background update's (*_cache_background_update), or the body of a
// response stored while the client gets a 304 or 412. Its zero value is
// ready to use.
type Discard struct{ header http.Header }

// Header returns the fields set so far, which go nowhere.
func (d *Discard) Header() http.Header {
	if d.header == nil {
		d.header = http.Header{}
	}
	return d.header
}

// Write drops p.
func (d *Discard) Write(p []byte) (int, error) { return len(p), nil }

// WriteHeader drops the status.
func (d *Discard) WriteHeader(int) {}

// Background readies a request for a background update once its client has
// the stale entry: it flushes *w, so that the stale answer goes out now, and
// puts a Discard in its place, as nginx's background subrequest writes to
// no client. The function it returns puts *w back and restores st's Status
// and CacheStatus, which the update must not change in the request's log.
func Background(w *http.ResponseWriter, st *vars.State) (restore func()) {
	if f, ok := (*w).(http.Flusher); ok {
		f.Flush()
	}
	saved, status, cs := *w, st.Status, st.CacheStatus
	*w = &Discard{}
	return func() {
		*w = saved
		st.Status, st.CacheStatus = status, cs
	}
}

// NotModified answers 304 in place of a 200 that the cache serves or
// stores, as nginx's not-modified filter: the fields set on w but
// Content-Type, Content-Length, Accept-Ranges and Content-Encoding, and no
// body (a stored response's body still goes to the cache).
func NotModified(w http.ResponseWriter) {
	out := w.Header()
	for _, k := range []string{"Content-Type", "Content-Length", "Accept-Ranges", "Content-Encoding"} {
		delete(out, k)
	}
	w.WriteHeader(http.StatusNotModified)
}

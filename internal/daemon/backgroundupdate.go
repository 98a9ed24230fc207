package daemon

import (
	"fulcrum/internal/fastcgi"
	"fulcrum/internal/proxy"
)

var (
	_ proxy.BackgroundUpdater   = (*recorder)(nil)
	_ fastcgi.BackgroundUpdater = (*recorder)(nil)
)

// mainRecorder is the main request's recorder of w: w itself for a main
// request, the owner of an included subrequest (subWriter.owner), nil for
// another subrequest.
func (w *recorder) mainRecorder() *recorder {
	if !w.sub {
		return w
	}
	if sw, ok := w.ResponseWriter.(*subWriter); ok {
		return sw.owner
	}
	return nil
}

// CanUpdateInBackground implements proxy.BackgroundUpdater and
// fastcgi.BackgroundUpdater: an included subrequest (an SSI include,
// add_before_body, add_after_body) hands a cache's background update to a
// request of its own, as nginx 1.22.1 runs it in a background subrequest
// (nginx-tests proxy_cache_use_stale.t "s-w-r - not blocked in
// subrequest": the page went on with the stale entry while the refresh
// was read). A main request refreshes in place, after its answer went out,
// which the connection's next request waits for, as in nginx.
func (w *recorder) CanUpdateInBackground() bool {
	sw, ok := w.ResponseWriter.(*subWriter)
	return ok && sw.owner != nil
}

// UpdateInBackground implements proxy.BackgroundUpdater: a GET subrequest
// to the subrequest's URI and arguments, run as a mirror is (startMirror:
// a goroutine of its own, with copies of the request and its variables,
// its answer discarded) in the main request's group, which the main request
// waits for before it finishes (its log line, the connection's next
// request), as nginx's main request counts its background subrequests. The
// subrequest looks the entry up again: expired, it takes the entry's lock
// and refreshes it in place.
func (w *recorder) UpdateInBackground() {
	sw := w.ResponseWriter.(*subWriter)
	main := sw.owner
	if sw.running != nil { // includes may run at once (ssiEnv.Start)
		sw.running.mu.Lock()
		defer sw.running.mu.Unlock()
	}
	g := main.mirrors
	if g == nil {
		g = &mirrorGroup{}
		main.mirrors = g
	}
	w.snap.startMirror(g, main, w.req, w.st, w.srv, w.st.Path, nil)
}

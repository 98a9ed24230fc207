package fastcgi

import (
	"context"
	"sync/atomic"

	"fulcrum/internal/errlog"
	"fulcrum/internal/upstream"
	"fulcrum/internal/vars"
)

// keptFetch is what keepForCache notes of a client that goes away while
// its response is fetched for the cache.
type keptFetch struct {
	// stop ends the watch of the request's own context.
	stop func() bool
	// body is set by the request's goroutine once the response head is
	// read; action is nginx's action when the client went away (nil: it
	// did not).
	body   atomic.Bool
	action atomic.Pointer[string]
}

// fetchKept runs serve for a request whose response the cache is to
// store, keeping the fetch going whatever the client does (keepForCache);
// any other request (not stored, fastcgi_ignore_client_abort on) is
// served as usual.
func (h *Handler) fetchKept(req *request, serve func(*request)) {
	if req.noStore || h.set.IgnoreClientAbort || req.ctx.Done() == nil {
		serve(req)
		return
	}
	h.keepForCache(req)
	defer h.logKept(req)
	serve(req)
}

// keepForCache lets a response the cache is to store be fetched whatever
// the client does, as nginx's ngx_http_upstream_check_broken_connection
// does for a cacheable response (u->cacheable), and as the proxy's
// proxy_cache (proxy.Handler.keepForCache): a client that goes away gets
// the line without "so upstream connection is closed too"
// (errlog.ClientGoneKept, written when the request ends: logKept) and the
// exchange goes on. Recorded with nginx 1.22.1, a fastcgi_cache miss whose
// FastCGI responder answers after 2 s, or sends its head and half its body
// and pauses 2 s, and a client that closes after 0.5 s: gone before the
// head, the request ends when the head comes, logged with the
// application's status and no body sent, nothing stored (goneBeforeHead);
// gone while the body streams, the body is read whole and stored
// (copyBody), the request logged 200. A client already gone when the
// fetch starts (it waited on fastcgi_cache_lock, which nginx does not
// watch) gets "while connecting to upstream".
//
//go:noinline
func (h *Handler) keepForCache(req *request) {
	parent := req.ctx
	req.ctx = context.WithoutCancel(parent)
	k := &keptFetch{}
	req.kept = k
	if parent.Err() != nil {
		action := errlog.ActionConnect
		k.action.Store(&action)
		k.stop = func() bool { return false }
		return
	}
	k.stop = context.AfterFunc(parent, func() {
		action := errlog.ActionSend
		if k.body.Load() {
			action = errlog.ActionBody
		}
		k.action.Store(&action)
	})
}

// logKept ends keepForCache's watch and writes the line of a client that
// went away meanwhile: at the request's end, as the request's state is its
// goroutine's (nginx writes it when the client goes).
func (h *Handler) logKept(req *request) {
	k := req.kept
	k.stop()
	action := k.action.Load()
	if action == nil || !req.log.Enabled(errlog.Info) {
		return
	}
	if msg := errlog.ClientGoneKept(context.Cause(req.r.Context()), h2Stream(req), *action); msg != "" {
		req.log.LogRequest(errlog.Info, req.logRequest(), msg)
	}
}

// goneBeforeHead ends a kept fetch (keepForCache) whose client went away
// before the response head came, as nginx does (its head cannot go out):
// the application's connection closed, nothing stored, nothing sent, the
// request logged with the application's status. It reports false when the
// client is still there (the response head is then passed on).
//
//go:noinline
func (h *Handler) goneBeforeHead(req *request, x *exchange, srv *upstream.Server, a *vars.Attempt) bool {
	k := req.kept
	if k.action.Load() == nil {
		k.body.Store(true)
		return false
	}
	x.conn.Close()
	end := h.now()
	a.ResponseTime = end.Sub(req.start)
	a.BytesReceived, a.BytesSent = x.bytesIn(), x.out
	h.release(req, srv, a, x.head.status, upstream.Success, end, errlog.ActionHeader)
	req.st.Status = x.head.status
	return true
}

// Package proxy is the location handler that forwards requests to an upstream:
// it builds the upstream request from scratch (headers from trusted sources first,
// then the client's, minus hop-by-hop fields), picks servers through the balancer,
// retries per proxy_next_upstream, enforces the proxy timeouts, streams the
// response back (rewriting Location/Refresh per proxy_redirect), passes WebSocket
// upgrades through, and records every attempt for $upstream_* variables and the
// logs.
//
// This first engine is built on net/http's server and client (httputil's
// ReverseProxy does the streaming, trailers, 1xx and upgrade plumbing). The
// balancer, router and vars packages never see *http.Request, so a faster engine
// can replace this file's plumbing without touching them.
package proxy

import (
	"context"
	"errors"
	"net/http"
	"net/http/httputil"
	"time"

	"fulcrum/internal/balancer"
	"fulcrum/internal/config"
	"fulcrum/internal/errlog"
	"fulcrum/internal/errpage"
	"fulcrum/internal/h1"
	"fulcrum/internal/upstream"
	"fulcrum/internal/vars"
)

// Hijacks is told about connections taken over by an upgrade (WebSocket), so the
// daemon can close them at shutdown.
type Hijacks interface {
	Add(c interface{ Close() error })
	Remove(c interface{ Close() error })
}

// Handler forwards the requests of one location. It is built once per config
// snapshot and is safe for concurrent use.
type Handler struct {
	set       *config.Settings
	pass      *config.ProxyPass
	target    Target        // where requests go, unless dynamic is set
	dynamic   DynamicTarget // proxy_pass with variables: the target per request
	uri       uriRewrite
	headers   []headerRule
	hide      map[string]bool
	redirects []redirectRule
	setBody   *vars.Template
	log       *errlog.Logger
	now       func() time.Time
	server    string // Server header value
	rp        *httputil.ReverseProxy
}

// ctxKey carries the per-request state through ReverseProxy's hooks.
type ctxKey struct{}

// request is one request's state while it is proxied.
type request struct {
	h      *Handler
	st     *vars.State
	in     *http.Request
	body   *replayBody
	start  time.Time
	at     balancer.Attempt
	target Target // the target of this request
	uri    string // the request target when proxy_pass with variables names one
	hasURI bool
}

// Target is an upstream block ready to take requests: its pool, balancing and
// connection pool.
type Target struct {
	Pool      *upstream.Pool
	Policy    balancer.Policy
	HashKey   *vars.Template // the upstream's hash key, for hash methods
	Transport *ConnPool
	// PoolOptions are the keep-alive limits applied per upstream connection.
	PoolOptions PoolOptions
}

// DynamicTarget resolves a proxy_pass with variables for one request: the
// target, and the URI to request when the evaluated URL has one. It sets
// $proxy_host and $proxy_port in st. An error is answered with 502 and logged.
type DynamicTarget func(st *vars.State) (t Target, uri string, hasURI bool, err error)

func fromContext(ctx context.Context) *request {
	r, _ := ctx.Value(ctxKey{}).(*request)
	return r
}

// ServeHTTP proxies r. st must already hold the request view, the server name
// and the location's captures; ServeHTTP records the attempts and the status.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request, st *vars.State) {
	req := &request{h: h, st: st, in: r, start: h.now()}
	req.target = h.target
	if h.dynamic != nil {
		t, uri, hasURI, err := h.dynamic(st)
		if err != nil {
			h.log.LogRequest(errlog.Error, req.logRequest(""), err.Error())
			fail(w, http.StatusBadGateway, h.server)
			return
		}
		req.target, req.uri, req.hasURI = t, uri, hasURI
	}
	body, err := newReplayBody(r, h.set)
	if err != nil {
		fail(w, bodyErrorStatus(r, err), h.server)
		return
	}
	req.body = body
	ctx := context.WithValue(r.Context(), ctxKey{}, req)
	h.rp.ServeHTTP(w, r.WithContext(ctx))
}

// Failer is a ResponseWriter that answers fulcrum's own errors itself (the
// daemon's, which applies error_page).
type Failer interface {
	Fail(code int)
}

// fail answers with fulcrum's error page for code, through w's Fail when it
// has one.
func fail(w http.ResponseWriter, code int, server string) {
	if f, ok := w.(Failer); ok {
		f.Fail(code)
		return
	}
	errpage.Write(w, code, server)
}

// bodyErrorStatus is the status for a request body that could not be read: 413
// past client_max_body_size, 408 when the client stopped sending, 499 when it
// went away, else 400 (a malformed chunked body).
func bodyErrorStatus(r *http.Request, err error) int {
	var tooBig *http.MaxBytesError
	var strict h1.Error
	switch {
	case errors.As(err, &strict): // the strict reader refused the body's framing
		return strict.Status()
	case errors.As(err, &tooBig):
		return http.StatusRequestEntityTooLarge
	case r.Context().Err() != nil:
		return 499
	case isTimeout(err):
		return http.StatusRequestTimeout
	}
	return http.StatusBadRequest
}

// logRequest describes the request for an error log line (built only when a
// line is written), with the upstream URL being tried, if any.
func (req *request) logRequest(upstream string) *errlog.Request {
	r := req.in
	return &errlog.Request{
		Client:   req.st.Remote.Addr().String(),
		Server:   req.st.ServerName,
		Request:  r.Method + " " + r.RequestURI + " " + r.Proto,
		Upstream: upstream,
		Host:     r.Host,
	}
}

// errorHandler answers a request whose every attempt failed (or that found no
// server): 502 or 504 per the last failure, or nothing at all when the client
// went away (logged as 499).
func (h *Handler) errorHandler(w http.ResponseWriter, r *http.Request, err error) {
	req := fromContext(r.Context())
	var f *failure
	if errors.As(err, &f) {
		fail(w, f.status, h.server)
		return
	}
	if r.Context().Err() != nil || errors.Is(err, context.Canceled) {
		if req != nil {
			req.st.Status = 499
		}
		return
	}
	h.log.LogRequest(errlog.Error, req.logRequest(""), err.Error())
	fail(w, http.StatusBadGateway, h.server)
}

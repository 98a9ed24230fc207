package memcached

import (
	"fmt"
	"net/http"
	"net/netip"
	"sync"
	"time"

	"fulcrum/internal/balancer"
	"fulcrum/internal/bindaddr"
	"fulcrum/internal/clientwatch"
	"fulcrum/internal/config"
	"fulcrum/internal/errlog"
	"fulcrum/internal/upstream"
	"fulcrum/internal/vars"
)

// Failer is a ResponseWriter that answers an error status itself (the
// daemon's: through error_page). Under any other writer the handler writes
// a plain error page.
type Failer interface{ Fail(code int) }

// A ClientWatcher is a ResponseWriter that stops an exchange when its
// client goes away (the daemon's engine; clientwatch.Watcher).
type ClientWatcher = clientwatch.Watcher

// Options is what New needs to build a location's handler.
type Options struct {
	// Location is the location with memcached_pass; its
	// Settings.Memcached holds the memcached_* settings.
	Location *config.Location
	// Pool and Policy are the upstream group and its balancing method;
	// HashKey is the key of "hash KEY" (nil for other methods).
	Pool    *upstream.Pool
	Policy  balancer.Policy
	HashKey *vars.Template
	// Idle keeps the connections a complete reply leaves open, up to the
	// upstream block's keepalive per server; nil closes each one. The
	// caller owns it and closes it: the locations whose memcached_pass
	// names one upstream block share it, as they share nginx's keepalive
	// cache.
	Idle *upstream.IdleConns
	// Compiler compiles $memcached_key and a memcached_bind with variables.
	Compiler *vars.Compiler
	// ContentType gives the Content-Type of a value served for a $uri
	// (nginx's ngx_http_set_content_type: types by the extension, else
	// default_type); nil sends none.
	ContentType func(uri string) string
	// Range is nginx's range filter for a value of size bytes sent with
	// contentType (nginx forces ranges on memcached responses, one range
	// at most): it returns the status to answer with, 200 (the whole value,
	// with "Accept-Ranges: bytes"), 206 with the bytes [start, end), or 416
	// (having set the fields of that answer), or 0 when the response may not
	// go out in ranges (a filter changes its body). Nil is always 0.
	Range func(w http.ResponseWriter, r *http.Request, contentType string, size int64) (start, end int64, status int)
	// Log is the error log.
	Log *errlog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Handler answers a location's requests from memcached servers. It is
// safe for concurrent use.
type Handler struct {
	set         *config.Memcached
	key         *vars.Template // $memcached_key
	contentType func(string) string
	ranges      func(http.ResponseWriter, *http.Request, string, int64) (int64, int64, int)
	bind        bindaddr.Bind
	pool        *upstream.Pool
	policy      balancer.Policy
	hashKey     *vars.Template
	log         *errlog.Logger
	now         func() time.Time
	idle        *upstream.IdleConns
	attempts    sync.Pool // *balancer.Attempt
}

// New compiles a location's memcached settings into a Handler. It fails,
// in nginx's words, when no set directive defines $memcached_key.
func New(o Options) (*Handler, error) {
	set := &o.Location.Settings.Memcached
	key, err := o.Compiler.Compile("$memcached_key")
	if err != nil {
		return nil, err
	}
	h := &Handler{set: set, key: key, contentType: o.ContentType, ranges: o.Range, pool: o.Pool, policy: o.Policy,
		hashKey: o.HashKey, log: o.Log, now: o.Now, idle: o.Idle}
	if h.now == nil {
		h.now = time.Now
	}
	if h.bind, err = bindaddr.Compile(o.Compiler, set.Bind, "memcached_bind"); err != nil {
		return nil, err
	}
	return h, nil
}

// errorLog is the error log of a request that w answers: the one w names
// (errlog.Chooser), else the location's. Not inlined, to keep ServeHTTP's
// frame as it was.
//
//go:noinline
func (h *Handler) errorLog(w http.ResponseWriter) *errlog.Logger {
	return errlog.For(w, h.log)
}

// request is one request's state across its attempts.
type request struct {
	w  http.ResponseWriter
	r  *http.Request
	st *vars.State
	// log is the request's error log: the location's (Handler.log), or
	// the one the writer names (errlog.Chooser).
	log *errlog.Logger
	key []byte // escaped
	cmd []byte // "get KEY\r\n"
	at  *balancer.Attempt
	// start is when the request reached the handler.
	start time.Time
	// upstream names the server being tried in error log lines.
	upstream string
	// watcher stops the exchange when the client goes away (nil: the
	// writer cannot; the request's context stands in), and watch is the
	// current exchange's watch.
	watcher ClientWatcher
	watch   clientwatch.Watch
}

// ServeHTTP answers a GET or HEAD request with the value of
// $memcached_key from a server of the pool, retrying other servers as
// memcached_next_upstream says; other methods get 405, as in nginx.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request, st *vars.State) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		fail(w, http.StatusMethodNotAllowed)
		return
	}
	req := &request{w: w, r: r, st: st, start: h.now()}
	req.log = h.errorLog(w)
	req.watcher, _ = w.(ClientWatcher)
	key, found := h.key.AppendFound(nil, st)
	if !found || len(key) == 0 {
		req.log.LogRequest(errlog.Error, req.logRequest(), `the "$memcached_key" variable is not set`)
		fail(w, http.StatusInternalServerError)
		return
	}
	req.key = AppendKey(nil, key)
	req.cmd = AppendRequest(make([]byte, 0, len(req.key)+6), req.key)
	at, _ := h.attempts.Get().(*balancer.Attempt)
	if at == nil {
		at = new(balancer.Attempt)
	}
	defer h.attempts.Put(at)
	req.at = at
	f := h.roundTrip(req)
	switch {
	case f == nil:
	case f.status == 0: // the client went away
		st.Status = 499
	default:
		fail(w, f.status)
	}
}

// fail answers code through the writer's error pages when it has them.
func fail(w http.ResponseWriter, code int) {
	if f, ok := w.(Failer); ok {
		f.Fail(code)
		return
	}
	http.Error(w, http.StatusText(code), code)
}

// logRequest describes the request for an error log line.
func (req *request) logRequest() *errlog.Request {
	line := req.st.RequestLine
	if line == "" {
		line = req.r.Method + " " + req.r.RequestURI + " " + req.r.Proto
	}
	lr := &errlog.Request{Conn: req.st.Conn, Client: req.st.RemoteAddr(), Server: req.st.ServerName,
		Request: line, Upstream: req.upstream, Host: req.r.Host}
	lr.Referrer, lr.ReferrerSent = req.st.Referer()
	return lr
}

// local is the address req's connections bind to (bindaddr.Bind.Local); a
// value that is not an address is logged and binds nothing.
func (h *Handler) local(req *request) netip.AddrPort {
	ap, bad := h.bind.Local(req.st)
	if bad != "" {
		req.log.LogRequest(errlog.Error, req.logRequest(), fmt.Sprintf("invalid local address %q", bad))
	}
	return ap
}

// noAddr is the attempt address of a request that found no server.
var noAddr netip.AddrPort

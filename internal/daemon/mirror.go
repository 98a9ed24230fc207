package daemon

import (
	"context"
	"errors"
	"net/http"
	"os"
	"runtime/debug"
	"slices"
	"sync"

	"fulcrum/internal/bodyspool"
	"fulcrum/internal/config"
	"fulcrum/internal/errlog"
	"fulcrum/internal/proxy"
	"fulcrum/internal/router"
	"fulcrum/internal/static"
	"fulcrum/internal/vars"
)

// mirrorGroup is the mirror subrequests a main request started. They run
// beside its content handler, each on a goroutine of its own that the
// request owns: serveHTTP waits for them (wait) before it finishes the
// request.
type mirrorGroup struct {
	wg sync.WaitGroup
	// ended are the mirrors waiting for their access log lines
	// (log_subrequest on where they were served).
	ended endedMirrors
}

// wait blocks until every mirror the group started is done.
func (g *mirrorGroup) wait() { g.wg.Wait() }

// mirrorSettings are the settings the precontent phase of a request at loc
// uses: its limit_except block's when the method is limited there.
func mirrorSettings(loc *config.Location, limited bool) *config.Settings {
	if limited {
		return loc.LimitExcept.Settings
	}
	return loc.Settings
}

// tryFilesEnds reports whether loc's try_files, which nginx runs before
// the mirror module in the precontent phase, ends that phase with an
// internal redirect (a URI, a named location) or a code: then nginx starts
// no mirror in loc, only in the location the redirect reaches (recorded
// with nginx 1.22.1: "try_files /nothing /index.html; mirror /m;" mirrors
// once, from the location /index.html reaches; "try_files /nothing =404;"
// and "try_files /nothing @n;" not at all; "try_files $uri /index.html;"
// for an existing file mirrors there). It resolves try_files once more
// than the handler, for the locations that have both.
//
//go:noinline
func (s *snapshot) tryFilesEnds(loc *config.Location, limited bool, r *http.Request, st *vars.State) bool {
	if loc == nil || len(mirrorSettings(loc, limited).TryFiles) == 0 {
		return false
	}
	h := s.handlerOf(loc)
	if limited {
		h = s.limitHandlers[loc]
	}
	var files *staticHandler
	switch h := h.(type) {
	case *staticHandler:
		files = h
	case tryFilesFirst:
		files = h.files
	default:
		return false
	}
	res := files.rv.Resolve(static.Request{Method: r.Method, URI: st.Path, Args: st.Args, Expand: files.expand(st), TryOnly: true})
	return res.Kind != static.KindFile
}

// mirror is ngx_http_mirror_handler, for a main request at a level with
// mirror URIs: with mirror_request_body on it reads the whole request body
// first (readBody: in memory, or past client_body_buffer_size in a
// temporary file, which the content handler and each mirror then read
// again), then starts one mirror subrequest per URI, with the request's
// method, arguments, header fields and, when read, body, which run while
// the content handler does. It reports false when reading the body
// failed, the request answered (413 over client_max_body_size, 408 on
// client_body_timeout, 400 for a client that went away, 500 when the
// temporary file could not be written).
//
// As in nginx, the mirrors never hold the client's answer back, and the
// request is finished (its log line, the connection's next request) only
// once they are done: serveHTTP waits for rec.mirrors.
func (s *snapshot) mirror(rec *recorder, r *http.Request, st *vars.State, srv *router.Server, set *config.Settings) bool {
	g := rec.mirrors
	if g == nil {
		g = &mirrorGroup{}
		rec.mirrors = g
	}
	var body *bodyspool.Body
	if set.MirrorRequestBody && r.Body != nil && r.Body != http.NoBody {
		if !s.readBody(rec, r, st, set) {
			return false
		}
		if rec.body.Size() > 0 {
			body = rec.body
		}
	}
	for _, uri := range set.Mirrors {
		s.startMirror(g, rec, r, st, srv, uri, body)
	}
	return true
}

// readBody reads the whole request body of a main request, for its
// mirrors or its post action, as nginx's ngx_http_read_client_request_body
// reads it with the settings of the level it runs at (set): in memory up
// to client_body_buffer_size, else in a temporary file under
// client_body_temp_path, which nginx logs (a warning, a notice with
// client_body_in_file_only) and names in $request_body_file. r's Body is
// then a reader of it that the proxy and FastCGI handlers take as it is
// (bodyspool.Reader), with the body's length (a chunked body goes on with
// a Content-Length, as nginx sends it). The body is rec.body, which
// closeBody closes once the request, its mirrors and its post action are
// done. A body read already is kept. When reading fails, the request is
// answered and readBody reports false.
func (s *snapshot) readBody(rec *recorder, r *http.Request, st *vars.State, set *config.Settings) bool {
	if rec.body != nil {
		return true
	}
	o := bodyspool.FromSettings(set, s.bodySeq)
	b := new(bodyspool.Body)
	if err := b.Read(r.Body, max(r.ContentLength, -1), &o); err != nil {
		_ = b.Close()
		var tooBig *http.MaxBytesError
		switch {
		case errors.As(err, &tooBig):
			rec.fail(http.StatusRequestEntityTooLarge)
		case errors.Is(err, bodyspool.ErrTempFile):
			rec.log().LogRequest(errlog.Crit, logRequest(st, r), err.Error())
			rec.fail(http.StatusInternalServerError)
		case errors.Is(err, os.ErrDeadlineExceeded):
			rec.drop(http.StatusRequestTimeout)
		default:
			rec.drop(http.StatusBadRequest)
		}
		return false
	}
	rec.body = b
	if b.InFile() {
		st.BodyFile = b.FileName()
		notice, msg := b.LogLine(&o)
		level := errlog.Warn
		if notice {
			level = errlog.Notice
		}
		if rec.log().Enabled(level) {
			rec.log().LogRequest(level, logRequest(st, r), msg)
		}
	}
	r.Body = b.NewReader()
	r.ContentLength, r.TransferEncoding = b.Size(), nil
	return true
}

// closeBody closes the body readBody read, once nothing reads it any more.
func (rec *recorder) closeBody() {
	if rec.body != nil {
		_ = rec.body.Close()
		rec.body = nil
	}
}

// startMirror starts the mirror subrequest to uri on a goroutine of its
// own, in g. The subrequest gets copies of everything of the main request
// that either side may change: the request (its header fields too), the
// variables' State (st.Fork) and a scratch of its own, so neither sees the
// other's changes (nginx's subrequest shares the main request's set
// variables, which a single-threaded nginx can afford), and body, shared
// read only (each mirror reads it from its start), nil for none. It is routed from its URI as an internal
// redirect would be, with the main request's arguments (nginx's
// ngx_http_subrequest gives it r->args), and its answer is discarded.
func (s *snapshot) startMirror(g *mirrorGroup, main *recorder, r *http.Request, st *vars.State, srv *router.Server, uri string, body *bodyspool.Body) {
	sc := s.getScratch()
	ctx, end := mirrorContext(main, r)
	sr := r.Clone(ctx)
	switch {
	case body != nil:
		sr.Body, sr.ContentLength = body.NewReader(), body.Size()
	case r.ContentLength > 0 && len(r.Header["Content-Length"]) > 0:
		// mirror_request_body off: the client's length goes without the
		// body, as nginx sends it (proxy.AnnouncedBody); a chunked body
		// announces none.
		sr.Body, sr.ContentLength = &proxy.AnnouncedBody{Length: r.ContentLength}, 0
	default:
		sr.Body, sr.ContentLength = http.NoBody, 0
	}
	sr.TransferEncoding = nil
	mst := &sc.st
	st.Fork(mst)
	mst.Header, mst.Fields = vars.HeaderMap(sr.Header), slices.Clone(st.Fields)
	if _, ok := sr.Header["Upgrade"]; ok {
		// A mirror cannot take the client's connection over, so it does
		// not ask its backend to upgrade (nginx's never does: no Upgrade
		// goes up by default); $http_upgrade still reads the field.
		mst.Header = vars.HeaderMap(sr.Header.Clone())
		delete(sr.Header, "Upgrade")
	}
	mst.BeginSubrequest(uri, r.Method)
	mst.Args, mst.ArgsFound = st.Args, st.ArgsFound
	mst.Documents, mst.Engine, mst.Uninitialized = sc, sc, nil
	if s.settables {
		sc.r, sc.log = sr, s.log
		mst.Uninitialized = sc
	}
	keepSlashes := main.keepSlashes
	g.wg.Add(1)
	go s.runMirror(g, sc, sr, srv, keepSlashes, end, main.log())
}

// endWatcher is a writer whose server tells when the requests that outlive
// their client must end (httpServer.endedContext).
type endWatcher interface {
	serverEnded() context.Context
}

// mirrorContext returns the context of a mirror subrequest of r, which
// the client's leaving does not end: nginx 1.22.1 runs a mirror to its end
// (recorded: a mirror backend answering after 2 s, a client gone after the
// main answer; the mirror got its answer, the request logged 2.06 s) or to
// its own timeouts (proxy_read_timeout 1s: "upstream timed out" at 1 s),
// and a graceful stop waits for it, as for the request. It ends with the
// server (a fast stop, worker_shutdown_timeout), as nginx's worker exits;
// end releases it once the mirror is done.
func mirrorContext(main *recorder, r *http.Request) (ctx context.Context, end func()) {
	ctx, cancel := context.WithCancel(context.WithoutCancel(r.Context()))
	ew, ok := main.ResponseWriter.(endWatcher)
	if !ok {
		return ctx, cancel
	}
	stop := context.AfterFunc(ew.serverEnded(), cancel)
	return ctx, func() {
		stop()
		cancel()
	}
}

// runMirror serves one mirror subrequest and recycles its scratch, then
// releases its context (end). A panic in it is logged, as the engine logs
// a request's, and ends the mirror alone.
func (s *snapshot) runMirror(g *mirrorGroup, sc *requestScratch, sr *http.Request, srv *router.Server, keepSlashes bool, end func(), mainLog *errlog.Logger) {
	defer g.wg.Done()
	defer end()
	logged := false // its scratch waits for its log line
	defer func() {
		if !logged {
			s.putScratch(sc)
		}
	}()
	defer func() {
		if p := recover(); p != nil && p != http.ErrAbortHandler {
			s.log.Logf(errlog.Alert, "panic serving a mirror subrequest of %s: %v\n%s", sc.st.Remote, p, debug.Stack())
		}
	}()
	start := s.subrequestStart()
	s.serveSubrequest(&sc.rec, keepSlashes, sr, &sc.st, srv, nil, mainLog)
	if set := sc.rec.set; set != nil && set.LogSubrequest {
		g.ended.add(sc, start)
		logged = true
	}
}

// laterFinisher is a writer whose request may finish after its handler
// returns (an HTTP/2 stream's, which ends while its mirrors still run, as
// nginx's): finishLater runs what is left (waiting for the mirrors, the log
// line) on a goroutine the connection waits for.
type laterFinisher interface {
	finishLater(finish func())
}

// finishMirrors waits for the mirrors of a request whose handler is done
// and writes their log lines (log_subrequest on). When its response is
// complete (not after a panic), what is written goes to the client first:
// the mirrors never hold its answer back.
func (s *snapshot) finishMirrors(rec *recorder, completed bool) {
	if completed {
		if rec.ew != nil {
			rec.ew.flushNow()
		} else if f, ok := rec.ResponseWriter.(http.Flusher); ok {
			f.Flush() // an HTTP/2 stream's data; it ends after the mirrors
		}
	}
	rec.mirrors.wait()
	s.logMirrors(rec.mirrors, rec.clientSent())
}

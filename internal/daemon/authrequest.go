package daemon

import (
	"fmt"
	"fulcrum/internal/ssi"
	"io"
	"net/http"
	"strconv"

	"fulcrum/internal/config"
	"fulcrum/internal/errlog"
	"fulcrum/internal/proxy"
	"fulcrum/internal/rewrite"
	"fulcrum/internal/router"
	"fulcrum/internal/vars"
)

// authRequest is a compiled auth_request with the auth_request_set
// directives of its level.
type authRequest struct {
	uri  string
	sets []authRequestSet
}

// authRequestSet is a compiled auth_request_set.
type authRequestSet struct {
	variable vars.Settable
	value    *vars.Template
}

// defineAssigned makes every variable an auth_request_set assigns known to
// comp, before any template is compiled, as defineSettables does for set.
func defineAssigned(cfg *config.Config, comp *vars.Compiler) error {
	return walkSettings(cfg.HTTP.Servers, func(set *config.Settings) error {
		for _, a := range set.AuthRequestSets {
			if _, err := comp.DefineAssigned(a.Name); err != nil {
				return fmt.Errorf("%w in %s", err, a.Pos)
			}
		}
		return nil
	})
}

// compileAuthRequests compiles auth_request and its auth_request_set
// directives for every level (limit_except blocks included) where
// auth_request is on; auth_request_set elsewhere is compiled for its errors.
func (s *snapshot) compileAuthRequests(comp *vars.Compiler) error {
	s.authReqs = map[*config.Settings]*authRequest{}
	return walkSettings(s.cfg.HTTP.Servers, func(set *config.Settings) error {
		if s.authReqs[set] != nil || set.AuthRequest == "" && len(set.AuthRequestSets) == 0 {
			return nil
		}
		ar := &authRequest{uri: set.AuthRequest}
		for _, a := range set.AuthRequestSets {
			v, err := comp.DefineAssigned(a.Name)
			if err != nil {
				return fmt.Errorf("%w in %s", err, a.Pos)
			}
			t, err := comp.Compile(a.Value)
			if err != nil {
				return fmt.Errorf("%w in %s", err, a.Pos)
			}
			ar.sets = append(ar.sets, authRequestSet{variable: v, value: t})
		}
		if ar.uri != "" { // auth_request_set alone is compiled, as nginx does, and unused
			s.authReqs[set] = ar
		}
		return nil
	})
}

// authRequest is ngx_http_auth_request_handler: 0 when auth_request is off;
// otherwise it runs the subrequest, assigns the auth_request_set variables
// (whatever the answer, so an error_page sees them) and returns 200 for a
// 2xx answer, 401 (with the subrequest's first WWW-Authenticate copied) or
// 403 for those, and 500, logged, for any other status.
func (s *snapshot) authRequest(rec *recorder, r *http.Request, st *vars.State, srv *router.Server, set *config.Settings) int {
	ar := s.authReqs[set]
	if ar == nil {
		return 0
	}
	status, challenge := s.subrequest(rec, r, st, srv, ar)
	rec.waited() // a body sent meanwhile is seen by the answer's discard, as nginx's
	switch {
	case status == http.StatusForbidden:
		return status
	case status == http.StatusUnauthorized:
		if challenge.Name != "" {
			h := rec.Header()
			h[challenge.Name] = append(h[challenge.Name], challenge.Value)
		}
		return status
	case status >= 200 && status < 300:
		return http.StatusOK
	}
	if r.Context().Err() != nil {
		// The client went away during the subrequest: nginx terminates
		// the whole request (ngx_http_terminate_request), logged 499
		// with no answer and no line of auth_request's own (recorded
		// with nginx 1.22.1 and an auth backend answering after 3 s).
		return 499
	}
	if rec.log().Enabled(errlog.Error) {
		rec.log().LogRequest(errlog.Error, logRequest(st, r), "auth request unexpected status: "+strconv.Itoa(status))
	}
	return http.StatusInternalServerError
}

// subrequest runs nginx's auth_request subrequest to ar's URI: a GET with
// the client's header fields and no body (authBody), routed as an internal redirect
// would be (the server's rewrite phase, the location search, the
// location's rewrite phase) but, as in nginx, without the preaccess and
// access phases, answered into a recorder that keeps the status and drops
// the body. It returns the status and, from a proxied answer, its first
// WWW-Authenticate field. The auth_request_set values are evaluated in the
// subrequest ($uri, $upstream_http_*, $upstream_status are its own) and
// assigned once the main request's state is back.
func (s *snapshot) subrequest(main *recorder, r *http.Request, st *vars.State, srv *router.Server, ar *authRequest) (int, vars.Field) {
	sr := *r // the fields are shared, read only
	sr.Method = http.MethodGet
	sr.Body, sr.ContentLength, sr.TransferEncoding = authBody(r), 0, nil
	saved := st.BeginSubrequest(ar.uri, http.MethodGet)
	sw := s.runSubrequest(main, &sr, st, srv, nil)
	var challenge vars.Field
	if st.UpstreamHeader != nil && sw.code == http.StatusUnauthorized {
		if v, _, ok := st.UpstreamHeader.Lookup("Www-Authenticate", 0); ok {
			challenge = vars.Field{Name: sw.spelling("Www-Authenticate"), Value: v}
		}
	}
	var values [][]byte
	for _, a := range ar.sets {
		values = append(values, a.value.Append(nil, st))
	}
	if len(st.Upstreams) > 0 {
		// The subrequest went to an upstream (answered or not): nginx's
		// connection says "sending to client" from then on
		// (ngx_http_upstream_finalize_request), until an internal redirect.
		st.LogAction = errlog.ActionToClient
	}
	st.EndSubrequest(saved)
	for i, a := range ar.sets {
		if err := a.variable.Assign(st, values[i]); err != nil && main.log().Enabled(errlog.Error) {
			main.log().LogRequest(errlog.Error, logRequest(st, r), err.Error())
		}
	}
	return sw.code, challenge
}

// authBody is the body of r's auth_request subrequest: none, but the
// client's Content-Length goes with it (proxy.AnnouncedBody), as nginx
// 1.22.1 sends it (recorded: a POST with a 20-byte body gives "GET /auth"
// with "Content-Length: 20" and no body, and an auth server that waits for
// the body answers nothing until proxy_read_timeout, a 504 and the client's
// 500; a chunked body announces no length, the body not read yet). The
// proxy closes such a connection after the answer, where nginx keeps it
// alive (keepalive upstream): the server may take the next request for the
// body.
func authBody(r *http.Request) io.ReadCloser {
	if r.ContentLength > 0 && len(r.Header["Content-Length"]) > 0 {
		return &proxy.AnnouncedBody{Length: r.ContentLength}
	}
	return http.NoBody
}

// runSubrequest serves sr, whose URI and method st has from
// BeginSubrequest, as nginx serves a subrequest: routed as an internal
// redirect would be (the server's rewrite phase, the location search, the
// location's rewrite phase), without the preaccess and access phases,
// answered into a subWriter that keeps the status and drops the body, or
// passes it to body when that is not nil (add_before_body, add_after_body).
// It writes the subrequest's access log line when log_subrequest is on
// where it was served.
func (s *snapshot) runSubrequest(main *recorder, sr *http.Request, st *vars.State, srv *router.Server, body io.Writer) *subWriter {
	start, sub := s.subrequestStart(), new(recorder)
	sw := s.serveSubrequest(sub, main.keepSlashes, sr, st, srv, body, main.log())
	s.logSubrequest(sub, st, start, main.clientSent())
	return sw
}

// serveSubrequest is runSubrequest with the subrequest's recorder, sub,
// given (a mirror's lives in its own scratch) and filled here, the main
// request's merge_slashes choice, keepSlashes, and its error log, mainLog.
func (s *snapshot) serveSubrequest(sub *recorder, keepSlashes bool, sr *http.Request, st *vars.State, srv *router.Server, body io.Writer, mainLog *errlog.Logger) *subWriter {
	sw := &subWriter{header: http.Header{}, body: body, mainLog: mainLog}
	s.serveSubrequestTo(sub, keepSlashes, sr, st, srv, sw)
	return sw
}

// serveSubrequestTo is serveSubrequest with the subWriter the caller made
// (an SSI include's, which carries the SSI state to the subrequest).
func (s *snapshot) serveSubrequestTo(sub *recorder, keepSlashes bool, sr *http.Request, st *vars.State, srv *router.Server, sw *subWriter) {
	*sub = recorder{ResponseWriter: sw, st: st, snap: s, req: sr, keepSlashes: keepSlashes,
		realIPSet: true, sub: true, srv: srv}
	loc, res := s.subrequestLocation(sr, st, srv, sw.mainLog)
	s.runSubrequestAt(sub, sr, st, srv, loc, res)
	sub.gz.Abort()
	if sub.bf != nil && sub.bf.active() {
		// what the subrequest's gunzip and SSI filters held: a gunzipped
		// include's whole body (recorded with nginx 1.22.1: an SSI
		// include of a gzip_static or proxied gzip response under
		// "gunzip on" outputs it decompressed; nginx-tests' gunzip_ssi.t)
		sub.endBodyFilters()
	}
}

// subrequestLocation runs srv's rewrites for a subrequest at st.Path and
// finds the location it reaches (an internal one too), with its captures:
// nil when the rewrites answered it. The rewrites' lines go to mainLog (the
// main request's log; nil: the server's own).
func (s *snapshot) subrequestLocation(sr *http.Request, st *vars.State, srv *router.Server, mainLog *errlog.Logger) (*config.Location, rewrite.Result) {
	res := s.serverRewriteTo(sr, st, srv, mainLog)
	res.Internal = true // a subrequest may reach an internal location
	if res.Outcome != rewrite.Next {
		return nil, res
	}
	lm := srv.Location(st.Path)
	setLocationCaptures(st, lm)
	return lm.Location, res
}

// runSubrequestAt serves the subrequest sr with sub at loc (the server's
// level when nil), after the rewrites' result res.
func (s *snapshot) runSubrequestAt(sub *recorder, sr *http.Request, st *vars.State, srv *router.Server, loc *config.Location, res rewrite.Result) {
	sub.set = srv.Config.Settings
	if loc != nil {
		sub.set = loc.Settings
	}
	sub.server = serverHeader(sub.set)
	s.run(sub, sr, st, srv, loc, res)
}

// subWriter is the ResponseWriter under a subrequest's recorder: it keeps
// the status, the header fields and the names of a proxied answer's fields
// as the upstream spelled them, and drops the body, as nginx's
// auth_request subrequest is header only, or passes it to body (the
// addition filter's subrequests, whose bodies go into the main response).
type subWriter struct {
	header http.Header
	code   int
	names  map[string]string // canonical key: the upstream's spelling
	body   io.Writer         // nil: the body is dropped
	// failed records that the subrequest answered with an error of its
	// own (recorder.fail), as an SSI include's stub needs to know.
	failed bool
	// ssi is the SSI state of the request that included this one (nil
	// for other subrequests), ssiDepth how deep the includes nest.
	ssi      *ssi.Shared
	ssiDepth int
	// included marks a subrequest whose body goes into the including
	// response (an SSI include, add_before_body, add_after_body), which
	// the image filter filters as nginx's does; imageEnd is what that
	// filter did to the including response.
	included bool
	imageEnd imageEnd
	// mainLog is the error log the subrequest writes to: its main
	// request's (recorder.mainLog); nil: its location's.
	mainLog *errlog.Logger
	// owner is the main request an included subrequest belongs to: a
	// cache's background update started in it runs beside the main
	// request, which waits for it (backgroundupdate.go). nil for other
	// subrequests.
	owner *recorder
	// yield, for an SSI include, lets the including response go on
	// parsing once the include waits on an upstream (recorder.yield);
	// running is its main request's bound on includes running at once.
	yield   func()
	running *ssiRunning
}

// included reports whether w is the recorder of a subrequest whose body goes
// into the including response (subWriter.included).
func (w *recorder) included() bool {
	sw, ok := w.ResponseWriter.(*subWriter)
	return ok && sw.included
}

// setFieldOrder learns the upstream's spelling of its field names (see
// proxy.FieldOrderer).
func (w *subWriter) setFieldOrder(order []proxy.FieldPos) {
	for _, f := range order {
		if f.Name != f.Key {
			if w.names == nil {
				w.names = map[string]string{}
			}
			w.names[f.Key] = f.Name
		}
	}
}

// spelling is the name of the field key as the upstream wrote it.
func (w *subWriter) spelling(key string) string {
	if n, ok := w.names[key]; ok {
		return n
	}
	return key
}

func (w *subWriter) Header() http.Header { return w.header }

func (w *subWriter) WriteHeader(code int) {
	if w.code == 0 && code >= 200 {
		w.code = code
	}
}

func (w *subWriter) Write(p []byte) (int, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	if w.body != nil {
		return w.body.Write(p)
	}
	return len(p), nil
}

package daemon

import (
	"bufio"
	"cmp"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"fulcrum/internal/bodyspool"
	"fulcrum/internal/config"
	"fulcrum/internal/errlog"
	"fulcrum/internal/errpage"
	"fulcrum/internal/fastcgi"
	"fulcrum/internal/gzipfilter"
	"fulcrum/internal/h1"
	"fulcrum/internal/oidc"
	"fulcrum/internal/proxy"
	"fulcrum/internal/rewrite"
	"fulcrum/internal/router"
	"fulcrum/internal/statuszone"
	"fulcrum/internal/vars"
)

// serveHTTP routes one request arriving on the listener named key and runs the
// chosen location's handler. ci is the connection it came on.
func (s *snapshot) serveHTTP(w http.ResponseWriter, r *http.Request, ci *connInfo, key string) {
	s.life.Enter()
	scratch := ci.takeScratch()
	// finishedLater: the request's end (its mirrors, the log line, the
	// scratch) was handed to the writer's goroutine (laterFinisher).
	finishedLater := false
	defer func() {
		if !finishedLater {
			s.putScratch(scratch)
			s.life.Leave()
		}
	}()
	st := &scratch.st
	fillRequest(st, r, ci)
	if s.conns != nil {
		st.Connections = s.conns
	}
	st.Documents, st.Engine = scratch, scratch
	if s.settables {
		scratch.r, scratch.log = r, s.log
		st.Uninitialized = scratch
	}
	// The recorder is zero (a new scratch, or one putScratch cleared): its
	// fields are set, not the whole struct written again.
	rec := &scratch.rec
	rec.ResponseWriter, rec.st, rec.snap, rec.req, rec.ci = w, st, s, r, ci
	rec.kept = &scratch.proxy
	switch ew := w.(type) {
	case *respWriter: // the engine's: no run-time interface look-up
		rec.ew = ew
		scratch.home = ci // an HTTP/1 connection's: it keeps the scratch
	case engineWriter:
		rec.ew = ew
	}
	defer func() {
		// Once the request's end went to the writer's goroutine
		// (finishedLater), the recorder is that goroutine's: it clears it
		// in putScratch. An HTTP/2 stream is never hijacked anyway.
		if !finishedLater && rec.hijacked != nil {
			s.upgrades.remove(rec.hijacked)
		}
	}()
	l := ci.listener(s, key)
	if l == nil { // a listener left over from a previous configuration, draining
		errpage.Write(rec, http.StatusNotFound, "fulcrum")
		return
	}
	hosts := l.Hosts(ci.local)
	// Only an HTTP/1.0 request can come without a host (h1 refuses HTTP/1.1
	// without one): nginx serves it from the default server, $host empty.
	var host string
	var hostErr error
	if r.Host != "" {
		host, hostErr = router.NormalizeHost(r.Host)
	} else if ci.noHost {
		hostErr = errNoHost
	}
	if r.ProtoMajor == 2 && hostErr == nil {
		hostErr = malformedH2(r)
	}
	sm := hosts.Server(host)
	misdirect := false
	if hostErr == nil && sm.Err == nil {
		if sni := misdirected(hosts, ci, host, sm.Server); sni != nil {
			// Refused in the TLS server name's server, as nginx has not
			// left its configuration (misdirectedRequest).
			sm, misdirect = router.ServerMatch{Server: sni}, true
			misdirectedRequest(st)
		}
	}
	rec.keepSlashes = !hosts.MergeSlashes(sniName(ci))
	srv := sm.Server
	set := srv.Config.Settings
	rec.set, rec.server = set, serverHeader(set)
	st.ServerName = primaryName(srv.Config)
	s.dropInvalidFields(r, st, set, ci.plainNames)
	if rule := s.realIP[srv.Config]; rule != nil && !misdirect {
		rec.realIPSet = rule.apply(r, st)
	}
	// The response goes out whole before its log line, as in nginx, so the
	// line can say what was sent; not after a panic, which must leave the
	// response cut short (the engine closes the connection).
	// The request is finished, as in nginx, only once the mirror
	// subrequests it started are done, even when its handler panicked:
	// they read the engine's buffers, which the next request reuses.
	// A post_action runs once the response went out whole and the mirrors
	// are done, before the log line: the connection's next request waits
	// for it, as in nginx.
	completed := false
	var left *deadlineBody
	defer func() {
		if completed {
			rec.complete()
			rec.logSendTimeout()
			st.Completed = rec.sentWhole()
			discardBody(rec, ci, left)
		}
		ci.log = rec.log() // the connection's lines follow the request's level
		post := postActionTarget(rec, completed)
		logSet := rec.set // a post action's location logs instead
		if rec.mirrors != nil || post != "" {
			// Only a request with mirrors or a post action asks (its
			// writer is never replaced): the type check stays off the
			// common path.
			if lf, ok := rec.ResponseWriter.(laterFinisher); ok && completed {
				// HTTP/2: the stream ends now; the mirrors, the post
				// action, then the log line, finish the request on the
				// connection.
				rec.account(ci)
				s.countZones(rec)
				finishedLater = true
				lf.finishLater(func() {
					if rec.mirrors != nil {
						rec.mirrors.wait()
						s.logMirrors(rec.mirrors, st.BytesSent)
					}
					logSet := rec.set
					if post != "" {
						logSet = cmp.Or(s.runPostAction(rec, r, st, post), logSet)
					}
					s.access.log(logSet, st)
					s.logVariableErrors(rec, st, r)
					rec.closeBody()
					s.putScratch(scratch)
					s.life.Leave()
				})
				return
			}
			if rec.mirrors != nil {
				s.finishMirrors(rec, completed)
			}
			if post != "" {
				if rec.ew != nil {
					rec.ew.flushNow() // the client has its whole answer first
				}
				logSet = cmp.Or(s.runPostAction(rec, r, st, post), logSet)
			}
		}
		rec.closeBody()
		rec.account(ci)
		s.countZones(rec)
		s.access.log(logSet, st)
		s.logVariableErrors(rec, st, r)
	}()
	// The server's status zone counts the request from here on; the
	// deferred end above counts its end (countZones), also after a panic.
	if id := srv.Config.StatusZoneID; id > 0 && id < len(s.serverZones) {
		rec.zone = s.serverZones[id]
		rec.zone.Begin()
	}
	left = s.serveFound(rec, r, st, ci, sm, hostErr, hosts, misdirect)
	completed = true
}

// serveFound serves a request whose server block is chosen: the location, its
// checks, its handler. It returns the request body when the handler may have
// left some of it unread (nil when there is none). hosts are the address's
// servers: the connection's server among them (connServer: the TLS server
// name's, else the default server) answers a request nginx refuses before
// it read the Host (a request line it does not take, an HTTP/2 request
// without a host).
// misdirect says the request names another server than its connection's TLS
// server name chose, one that verifies client certificates (see
// misdirected): nginx's 421, answered by sm, the TLS server name's server.
func (s *snapshot) serveFound(rec *recorder, r *http.Request, st *vars.State, ci *connInfo, sm router.ServerMatch, hostErr error, hosts *router.Hosts, misdirect bool) (left *deadlineBody) {
	srv := sm.Server
	if hostErr == errNoHost { // nginx's words, whatever the version
		rec.logLine(errlog.Info, r, `client sent HTTP/1.1 request without "Host" header while reading client request headers`)
	}
	if hostErr != nil || !acceptableFraming(r) {
		msg := ""
		if hostErr == nil {
			msg = invalidRequestLine
			if r.ProtoMajor == 1 {
				// nginx's request line parser refused "OPTIONS *" at its
				// "*": nothing counted (recorded with nginx 1.22.1:
				// $request_length 0, as for "GET *", which h1 refuses).
				ci.length = 0
			}
		} else if m, ok := hostErr.(malformedError); ok {
			msg = string(m)
		}
		s.refuseAsDefault(rec, r, st, hosts, ci, msg)
		return
	}
	if sm.Err != nil { // a regex server_name over pcre.MatchLimit
		s.serverNameFailed(rec, r, st, sm.Err)
		return
	}
	if misdirect {
		rec.logLine(errlog.Info, r, "client attempted to request the server name different from the one that was negotiated while reading client request headers")
		rec.closeAfter = true // nginx has not turned keep-alive on yet
		s.refuse(rec, r, st, srv, http.StatusMisdirectedRequest)
		return
	}
	// nginx parsed the URI with the request line, before the checks of
	// the header fields below: a 405 for CONNECT or TRACE logs its $uri
	// (recorded with scripts/request-nginx-sweep.py: "TRACE /ka/a" logs
	// /ka/a), and a path that does not parse is their 400 instead.
	path, err := normalizePath(rawPath(st.RequestURI), rec.keepSlashes)
	if err == nil && r.Method == methodConnect && strings.HasPrefix(st.RequestURI, "/") { // ngx_http_process_request_header
		rec.logLine(errlog.Info, r, "client sent CONNECT method while reading client request headers")
		rec.closeAfter = true
		st.Path = path
		s.refuse(rec, r, st, srv, http.StatusMethodNotAllowed)
		return
	}
	if err == nil && r.Method == methodTrace { // ngx_http_process_request_header
		rec.logLine(errlog.Info, r, "client sent TRACE method while reading client request headers")
		rec.closeAfter = true // nginx has not turned keep-alive on yet
		st.Path = path
		s.refuse(rec, r, st, srv, http.StatusMethodNotAllowed)
		return
	}
	if err == nil && ci.plainOnSSL { // nginx's check in ngx_http_process_request
		rec.logLine(errlog.Info, r, "client sent plain HTTP request to HTTPS port while reading client request headers")
		s.refuse(rec, r, st, srv, statusToHTTPS)
		return
	}
	if err != nil {
		msg := invalidRequestLine
		if r.ProtoMajor == 2 { // nginx checks an HTTP/2 :path with the fields
			msg = "client sent invalid request while reading client request headers"
		}
		// nginx's ngx_http_process_request_uri leaves r->uri found and
		// empty when the path does not parse, and sets neither
		// $request_uri nor $args (recorded with nginx 1.22.1: GET
		// /a/../../x?a=1 logs "$uri" as "", "$request_uri" and "$args"
		// as "-"; nginx-tests' http_variables.t).
		st.RequestURI, st.Args, st.ArgsFound, st.Rewritten = "", "", false, true
		if r.ProtoMajor == 1 {
			// and $request_length counts the request line and its CRLF,
			// the bytes nginx had parsed (recorded: "TRACE /../x
			// HTTP/1.1" and a Host line log 22).
			ci.length = int64(len(ci.requestLine)) + 2
		}
		s.refuseAsDefault(rec, r, st, hosts, ci, msg)
		return
	}
	st.Path = path
	rec.srv = srv
	setCaptures(st, router.Captures{}, sm.Captures)
	if ci.tls != nil { // nginx's ssl_verify_client check in ngx_http_process_request
		if code, msg := clientCertRefusal(srv.Config.TLS, ci); code != 0 {
			rec.logLine(errlog.Info, r, msg)
			s.refuse(rec, r, st, srv, code)
			return
		}
	}
	// nginx's server rewrite phase: the server's rewrite, return, set and if
	// run before the location is chosen, with the rewritten URI.
	first := s.serverRewrite(r, st, srv)
	var lm router.LocationMatch
	if first.Outcome == rewrite.Next {
		lm = srv.Location(st.Path)
		if lm.Err != nil { // a regex location over pcre.MatchLimit: nginx's 500
			rec.logLine(errlog.Alert, r, lm.Err.Error())
			s.refuse(rec, r, st, srv, http.StatusInternalServerError)
			return
		}
		if lm.Location != nil {
			rec.set, rec.server = lm.Location.Settings, serverHeader(lm.Location.Settings)
		}
		// An internal location answers 404 before anything else (nginx's
		// find config phase) unless a rewrite led there: no 301 for its
		// slash, no 413; run sends the 404.
		internal := lm.Location != nil && lm.Location.Settings.Internal && !first.Internal
		if lm.Redirect != "" && !internal { // nginx's 301 to add the "/" of a proxying location
			slashRedirect(rec, st, lm.Redirect)
			if rec.pending != nil { // the location's error_page 301: run follows it
				s.run(rec, r, st, srv, lm.Location, first)
			}
			return
		}
		setLocationCaptures(st, lm)
		if !internal && !bodyWithinLimit(rec, r, rec.set) {
			if rec.pending != nil { // the location's error_page 413: run follows it
				// without the body, as nginx discards it: the page's
				// upstream gets "Content-Length: 0", never the body
				// the limit refused.
				r.Body, r.ContentLength = http.NoBody, 0
				s.run(rec, r, st, srv, lm.Location, first)
			}
			return
		}
	}
	rec.closeAfter = keepaliveSpent(ci, rec.set) || keepaliveDisabled(r, rec.set)
	ci.applyNoDelay(rec.set)
	body := applyClientTimeouts(rec, r, rec.set)
	s.run(rec, r, st, srv, lm.Location, first)
	return body
}

// discardBody discards what the handler left of the request body b, once the
// response went out whole, as nginx does (ngx_http_discard_request_body, then
// ngx_http_finalize_connection's lingering_timeout between reads and
// lingering_time in all): the client has its answer while the rest of its
// body is read, and the log line waits for the end. nginx does not count a
// discarded body in $request_length (1.22.1 logs the head's bytes alone for
// a POST to a return or a static file).
func discardBody(rec *recorder, ci *connInfo, b *deadlineBody) {
	if b == nil || b.eof {
		return
	}
	if _, ok := rec.ResponseWriter.(streamWriter); ok {
		// HTTP/2: nginx's discard reads nothing more (it marks the stream
		// to skip its DATA) and the stream ends with the response; Go's
		// server then resets the client's half with RST_STREAM NO_ERROR,
		// as nginx does. Recorded with nginx 1.22.1: a POST with
		// content-length 4 and 2 bytes sent got its answer (a static
		// file's 405, return 200, return 403) and RST_STREAM NO_ERROR at
		// once; reading on here held the answer until the body ended or
		// lingering_timeout passed.
		return
	}
	if rw, _ := rec.ew.(*respWriter); rw != nil && rw.cc.body.early {
		// The discard before the answer found the body malformed, logged
		// it, and the answer said the connection closes.
		return
	}
	failed := b.err != nil // the handler's read failed: it logged why
	if !failed {
		if rec.ew != nil {
			rec.ew.flushNow()
		}
		if set := rec.set; set != nil && set.Closing.LingeringTimeout > 0 {
			b.timeout = set.Closing.LingeringTimeout
			if set.Closing.LingeringTime > 0 {
				b.until = time.Now().Add(set.Closing.LingeringTime)
			}
		}
		if rec.ew != nil {
			// nginx's discarding leaves $content_length at 0 for a chunked
			// body (a Content-Length field still wins).
			ci.chunked = chunkedBody{read: true}
		}
	}
	length, chunked := ci.length, ci.chunked
	finishBody(rec, b)
	ci.length, ci.chunked = length, chunked
	var perr h1.Error
	if !failed && errors.As(b.err, &perr) {
		// A chunked body malformed after the answer: nginx's discard
		// filter logs it (the response stands, the connection closes).
		rec.log().LogRequest(errlog.Error, logRequest(rec.st, rec.req), "client sent invalid chunked body")
	}
}

// log returns the error log of the level serving the request (see
// snapshot.logAt); never nil. Not inlined, as logAt is not.
//
//go:noinline
func (w *recorder) log() *errlog.Logger {
	if w.snap == nil {
		return discard
	}
	if l := w.mainLog(); l != nil {
		return l
	}
	return w.snap.logAt(w.set)
}

// mainLog is a subrequest's error log: its main request's (the log of the
// main request's level when the subrequest started, subWriter.mainLog), as
// nginx's subrequests log to the connection's log, which only a main
// request moves (ngx_http_update_location_config). nil for a main request.
// Kept in the subWriter, not in the recorder, whose size the main request
// path's frames pay for.
func (w *recorder) mainLog() *errlog.Logger {
	if !w.sub {
		return nil
	}
	if sw, ok := w.ResponseWriter.(*subWriter); ok {
		return sw.mainLog
	}
	return nil
}

var (
	_ errlog.Chooser = (*recorder)(nil)
)

// ErrorLog implements errlog.Chooser, for proxy, fastcgi and memcached: a
// subrequest's upstream lines go to its main request's log (mainLog), as
// nginx 1.22.1 writes them (recorded: an SSI include, add_after_body and
// auth_request into a location with its own error_log; the lines went to
// the including location's log, at its level), a main request's to the
// location's own. Not inlined: the static handler's frames call it on their
// error branches.
//
//go:noinline
func (w *recorder) ErrorLog(own *errlog.Logger) *errlog.Logger {
	if l := w.mainLog(); l != nil {
		return l
	}
	return own
}

// logLine logs msg at level with the request r's context to the error log
// of the level serving it. It is not inlined, so that the request path's
// functions that log on an error branch keep small frames.
//
//go:noinline
func (w *recorder) logLine(level errlog.Level, r *http.Request, msg string) {
	w.log().LogRequest(level, logRequest(w.st, r), msg)
}

// earlyBodyFault discards what has come of a chunked request body the
// handler does not read, at the points where nginx 1.22.1 discards one before
// it answers (ngx_http_discard_request_body, called by ngx_http_send_response,
// the static module and the special response handler): the bytes that came
// with the head or are buffered since, and what the socket holds where
// nginx's discard reads it (after its last read filled its buffer, or after
// the request waited: see recorder.waited and clientConn.fillNow), without
// waiting for more. It reports whether the body is malformed. The first time
// it finds so it logs "client sent invalid chunked body" at error and has
// the connection close after the answer; it keeps reporting it at later
// points (an error_page's target), as nginx's discard does, logging once.
// Recorded on raw sockets against nginx 1.22.1: "return 200 text" and a
// static file then answer 400, an error status keeps its own, every one of
// them with Connection: close.
func (w *recorder) earlyBodyFault() bool {
	rw, _ := w.ew.(*respWriter) // HTTP/1.x; HTTP/2 bodies have no chunks
	if w.sub || w.req == nil || rw == nil || rw.cc.body.framing != h1.ChunkedBody {
		return false
	}
	rb := &rw.cc.body
	if rb.early {
		return true
	}
	fault := rb.drainBuffered()
	if fault == nil {
		return false
	}
	rb.early = true
	w.closeAfter = true
	level, msg := fault.(errlog.Described).LogLine()
	w.log().LogRequest(level, logRequest(w.st, w.req), msg)
	return true
}

// bodyPeerClosed reports that the client closed its HTTP/1.x connection
// before the end of the request body.
func (w *recorder) bodyPeerClosed() bool {
	rw, _ := w.ew.(*respWriter)
	return !w.sub && w.req != nil && rw != nil && rw.cc.body.peerClosed
}

// waited notes that the request waited (a timer, a subrequest) before its
// answer: nginx went back to its event loop meanwhile, whose read event for
// bytes the client sent since marks the socket ready, so its discard before
// the answer reads them (earlyBodyFault does then too). Without a wait
// nginx reads the socket only when its last read filled its buffer: a body
// that comes in a segment of its own after the head is left for after the
// answer (recorded on raw sockets against nginx 1.22.1).
func (w *recorder) waited() {
	if rw, ok := w.ew.(*respWriter); ok && !w.sub {
		rw.cc.src.ready = true
	}
}

// chunkedBody is what the log needs of a chunked request body: whether
// reading it began, and the sum of its chunk sizes read.
type chunkedBody struct {
	read     bool
	declared int64
}

// methodTrace is refused with 405 whatever the configuration, as nginx does:
// echoing a request back (TRACE's job) would show a page the headers an
// intermediary or the browser added, cookies included.
const methodTrace = "TRACE"

// methodConnect with a path ("CONNECT / HTTP/1.1") is refused with 405, as
// nginx 1.22.1 does once it read the head; with an authority
// ("CONNECT host:443") it is an invalid request line (400), as in nginx.
const methodConnect = "CONNECT"

// errNoHost is an HTTP/2 request with neither :authority nor Host, which
// nginx refuses with 400 as it refuses an HTTP/1.1 request without Host.
var errNoHost = errors.New("no host")

// logVariableErrors writes the lines the request's variables logged while
// evaluated (vars.State.VariableErrors: $proxy_protocol_tlv_NAME's unknown,
// invalid and broken TLVs, a map's regex over its match bound) to the
// error log at error level (alert for those marked so), with the request's
// context, as nginx logs them where it evaluates the variable: to the
// error log of rec's level.
func (s *snapshot) logVariableErrors(rec *recorder, st *vars.State, r *http.Request) {
	for _, e := range st.VariableErrors {
		level := errlog.Error
		if e.Alert {
			level = errlog.Alert
		}
		rec.log().LogRequest(level, logRequest(st, r), e.Message)
	}
}

// logRefused writes the access log line of a request the engine refused on
// the listener key, in the log of the server it belongs to
// (refusedServer), as nginx does. The server's root is $document_root, and
// $request_filename is $uri under it.
func (s *snapshot) logRefused(st *vars.State, key, host string, whole bool) {
	s.life.Enter()
	defer s.life.Leave()
	srv := s.refusedServer(st, key, host, whole)
	if srv == nil {
		return
	}
	if d := s.docRoots[srv.Config.Settings]; d != nil {
		st.Documents = d
	}
	s.access.log(srv.Config.Settings, st)
}

// refusedName is the name of the server a head the engine refused belongs
// to (refusedServer), as nginx's error log line names it: the server its
// Host chose when the Host line came before the fault, else the default
// server. st is scratch: refusedServer fills it. log is the error log of
// the server a Host (or a whole head) chose, where nginx's
// ngx_http_set_virtual_server moved the connection's log; nil when neither
// did, and the line goes to the connection's log.
func (s *snapshot) refusedName(st *vars.State, key, host string, whole bool) (name string, log *errlog.Logger) {
	s.life.Enter()
	defer s.life.Leave()
	srv := s.refusedServer(st, key, host, whole)
	if srv == nil {
		return "", nil
	}
	if st.Host != "" || whole {
		log = s.logAt(srv.Config.Settings)
	}
	return st.ServerName, log
}

// normalizePath is the request's $uri from its path as sent: slashes merged
// (router.NormalizePath) unless merge_slashes is off for it.
func normalizePath(raw string, keepSlashes bool) (string, error) {
	if keepSlashes {
		return router.NormalizePathKeepSlashes(raw)
	}
	return router.NormalizePath(raw)
}

// misdirected is nginx 1.22.1's check in ngx_http_set_virtual_server
// (recorded): on a connection whose TLS server name (SNI) chose a server by
// its server_name, a request whose host is another name, and whose server
// (srv: the host's, or the default) verifies client certificates
// (ssl_verify_client on, optional or optional_no_ca), is refused with 421
// Misdirected Request: the certificate was checked by the SNI server's
// rules, not by this one's. Another name of the same server counts too.
// It returns the SNI's server, which refuses the request, or nil.
func misdirected(hosts *router.Hosts, ci *connInfo, host string, srv *router.Server) *router.Server {
	sni := sniName(ci)
	if sni == "" || srv.Config.TLS == nil || srv.Config.TLS.ClientAuth.Verify == config.VerifyOff {
		return nil
	}
	name, err := router.NormalizeHost(sni)
	if err != nil || name == host {
		return nil
	}
	if sm := hosts.Server(name); !sm.Default {
		return sm.Server
	}
	return nil
}

// misdirectedRequest leaves in st what nginx 1.22.1 knows of a request it
// refuses as misdirected: it refuses it as it reads the Host line, before
// it takes the host ($host is the server's name) and before the fields
// after that line ($http_NAME of a later field is not found). Recorded over
// TLS with "X-A: 1", then "Host: b.test", then "User-Agent: ua1": the
// access log line of the SNI server a.test had $host a.test, $http_x_a 1,
// $http_user_agent "-", $http_host b.test. A request without a Host field
// (HTTP/1.0) was read whole.
func misdirectedRequest(st *vars.State) {
	st.Host = ""
	i := slices.IndexFunc(st.Fields, func(f vars.Field) bool { return strings.EqualFold(f.Name, "Host") })
	if i < 0 {
		return
	}
	read := st.Fields[: i+1 : i+1]
	st.Header, st.Fields = read, read
}

// sniName is the TLS server name the client sent on ci, "" on a plain
// connection or without SNI.
func sniName(ci *connInfo) string {
	if ci.tls == nil {
		return ""
	}
	return ci.tls.ServerName
}

// requestScratch is the per-request state serveHTTP recycles: the variables'
// view and the response recorder; r and log are set for the warning about
// uninitialized variables (UninitializedVariable) when the configuration
// has set directives.
type requestScratch struct {
	st  vars.State
	rec recorder
	r   *http.Request
	log *errlog.Logger
	// link is what $secure_link leaves for $secure_link_expires.
	link linkState
	// uid is the userid module's cookie and identifier.
	uid uidState
	// slice is the slice module's state (slice.go).
	slice sliceState
	// jwt is the last check of the request's JSON Web Token, for the
	// $jwt_* variables and the access phase (authjwt.go).
	jwt jwtState
	// oidc is the session auth_oidc let the request in with, for the
	// $oidc_ variables (authoidc.go).
	oidc *oidc.Session
	// home is the connection of an HTTP/1 request (served through the
	// engine's writer), which keeps the scratch for its next request
	// (connInfo.scratch); nil for others.
	home *connInfo
	// proxy is the proxy's state of the last proxied request, kept for
	// the next one served with this scratch (recorder.KeptRequest).
	proxy proxy.RequestSlot
}

// scratchPool recycles request scratches, between requests, subrequests
// and connections: every configuration's requests use the same kind.
var scratchPool = sync.Pool{New: func() any { return new(requestScratch) }}

// getScratch takes a request's scratch from the pool.
func (s *snapshot) getScratch() *requestScratch {
	return scratchPool.Get().(*requestScratch)
}

// putScratch clears a request's scratch, once the request is done, and
// puts it back in the pool, or in the HTTP/1 connection it came from
// (home) for its next request. Every scratch goes back through it, so one
// the pool or a connection gives has a zero recorder (serveHTTP relies on
// it).
func (s *snapshot) putScratch(scratch *requestScratch) {
	home := scratch.home
	clearScratch(scratch)
	if home != nil && home.scratch == nil {
		home.scratch = scratch
		return
	}
	scratchPool.Put(scratch)
}

// takeScratch returns the scratch ci kept from its last request, or one
// from the pool.
func (ci *connInfo) takeScratch() *requestScratch {
	if sc := ci.scratch; sc != nil {
		ci.scratch = nil
		return sc
	}
	return scratchPool.Get().(*requestScratch)
}

// dropScratch gives the scratch ci kept back to the pool, and forgets the
// snapshot its last request was served by: for a connection that closes
// or parks.
func (ci *connInfo) dropScratch() {
	if ci.scratch != nil {
		scratchPool.Put(ci.scratch)
		ci.scratch = nil
	}
	ci.snap, ci.lst = nil, nil
}

// listener returns s's listener for key, the connection's address (nil
// when s has none), looked up once per snapshot: ci remembers it for the
// connection's next request.
func (ci *connInfo) listener(s *snapshot, key string) *router.Listener {
	if ci.snap != s {
		ci.snap, ci.lst = s, s.byKey[key]
	}
	return ci.lst
}

// clearScratch clears a request's scratch for the next request.
func clearScratch(scratch *requestScratch) {
	if scratch.rec.bf != nil {
		scratch.rec.bf.abort() // first: includes still running end
	}
	scratch.st.Reset()
	scratch.rec.gz.Abort() // a response cut short: the compressor goes back
	scratch.rec = recorder{}
	scratch.r, scratch.log, scratch.home = nil, nil, nil
	scratch.link.expiresSet = false
	scratch.jwt = jwtState{}
	scratch.oidc = nil
	if scratch.slice.ctx.Active() {
		scratch.slice.reset()
	}
	if scratch.uid.read {
		scratch.uid = uidState{}
	}
}

// run serves the request with loc's handler, following internal redirects.
// first is what the server's script decided (nginx's server rewrite phase);
// when it lets the request go on, the location's script runs (the rewrite
// phase), searching the location again after a rewrite that changed the
// URI. A nil loc is a 404, which error_page may send elsewhere too. Before
// each handler, as nginx's preaccess and access phases do after every
// internal redirect too, a location's realip rule may set the client
// address and the allow and deny rules may refuse the client with 403. A
// location marked internal answers 404 (through its error_page) unless an
// internal redirect or a rewrite led there. An internal redirect to a URI
// runs the server's script again; one to a named location does not.
func (s *snapshot) run(rec *recorder, r *http.Request, st *vars.State, srv *router.Server, loc *config.Location, res rewrite.Result) {
	defer rec.releaseConnsSent()
	changes := maxURIChanges
	direct := !res.Internal // no rewrite made the request an internal one
	for i := 0; ; i++ {
		var next *internalRedirect
		// Most requests reach a location that runs nothing but its
		// handler (locEntry.plain): no check of the general path below
		// would do anything for them.
		var e *locEntry
		if i == 0 && loc != nil && rec.pending == nil && res.Outcome == rewrite.Next && res.NoUpstream == "" && rec.set == loc.Settings {
			e = s.handlers[loc]
		}
		if e != nil && e.plain {
			if e.plainHead {
				rec.plainSet = loc.Settings
			}
			rec.yieldBefore(e.h)
			next = rec.runHandler(e.h, r, st)
		} else {
			// A failure before the location ran (client_max_body_size's 413)
			// arranged an error_page: follow it at once.
			answered := i == 0 && rec.pending != nil
			if loc == nil { // no location matched: the server level serves it
				loc = s.serverLocs[srv.Config]
			}
			// An internal location refuses a request that reached it directly
			// (nginx's find config phase, before the rewrite phase).
			refused := res.Outcome == rewrite.Next && i == 0 && direct && loc != nil && loc.Settings.Internal
			// A method the location's limit_except restricts is served with the
			// block's configuration from here on (nginx's find config phase
			// swaps it in): no location script, no try_files.
			limited := loc != nil && loc.LimitExcept != nil && loc.LimitExcept.Applies(r.Method)
			if limited {
				rec.set, rec.server = loc.LimitExcept.Settings, serverHeader(loc.LimitExcept.Settings)
			}
			if res.Outcome == rewrite.Next && loc != nil && !refused && !limited && !answered {
				loc, res, answered = s.locationRewrite(rec, r, st, srv, loc, &changes)
				// a rewrite may have led to a location whose limit_except applies
				limited = loc != nil && loc.LimitExcept != nil && loc.LimitExcept.Applies(r.Method)
			}
			switch {
			case answered:
			case refused:
				rec.fail(http.StatusNotFound)
			case res.Outcome != rewrite.Next:
				answerScript(rec, r, st, res)
			case !rec.sub && !s.preaccess(rec, r, st, srv, loc):
			case s.redirectAfterAccess(rec, r, st, srv, &next):
			case loc == nil:
				rec.fail(http.StatusNotFound)
			case !rec.sub && mirrorSettings(loc, limited).Mirrors != nil && !s.tryFilesEnds(loc, limited, r, st) && !s.mirror(rec, r, st, srv, mirrorSettings(loc, limited)):
			case !rec.sub && mirrorSettings(loc, limited).PostAction != "" && !s.keepPostActionBody(rec, r, st, mirrorSettings(loc, limited)):
			case !rec.sub && includes(mirrorSettings(loc, limited)) && !s.keepIncludeBody(rec, r, st, mirrorSettings(loc, limited)):
			case limited:
				rec.yieldBefore(s.limitHandlers[loc])
				next = rec.runHandler(s.limitHandlers[loc], r, st)
			case res.NoUpstream != "": // an if block's proxy_pass, a later one's configuration
				failNoUpstream(rec, r, res.NoUpstream)
			default:
				h := s.handlerOf(loc)
				rec.yieldBefore(h)
				next = rec.runHandler(h, r, st)
			}
		}
		if next == nil && rec.img != nil && !rec.img.done {
			rec.finishImage() // the body is whole: filter it (415 may go to an error_page)
		}
		if next == nil {
			if next = rec.takePending(); next == nil {
				return
			}
			// nginx turns an error page request for a URI into a GET (HEAD
			// stays HEAD); a named location keeps the method
			// (ngx_http_send_error_page).
			if next.named == "" && r.Method != http.MethodHead {
				r.Method, st.Method = http.MethodGet, http.MethodGet
			}
		}
		if changes--; changes <= 0 {
			rec.log().LogRequest(errlog.Error, logRequest(st, r), cycleMessage(next))
			rec.errorPageUsed = true // nginx's uri_changes 0: no error_page either
			rec.fail(http.StatusInternalServerError)
			return
		}
		rec.resetSlice() // an internal redirect clears every module's context
		rec.img = nil
		from := loc
		loc, res = s.redirectInternally(rec, r, st, srv, next)
		if next.named != "" && loc == nil {
			loc = from // a missing named location fails where it was named: its error_page 500 applies
		}
		rec.useLevel(srv, loc)
	}
}

// useLevel makes the settings of loc, or the server's when loc is nil (a
// URI no location matches, a server rewrite that answered), those that
// serve the request from here on, as nginx's internal redirect starts
// again from the server's configuration (r->loc_conf) before it looks
// for a location.
func (w *recorder) useLevel(srv *router.Server, loc *config.Location) {
	set := srv.Config.Settings
	if loc != nil {
		set = loc.Settings
	}
	w.set, w.server = set, serverHeader(set)
}

// redirectInternally moves the request to next: a named location as it is
// (one the server does not have fails the request with 500, as nginx's
// error_page, try_files or X-Accel-Redirect to it does), or a URI through
// the server's script (nginx's internal redirect starts
// again at the server rewrite phase) and the location search.
//
// A URI replaces $uri and $args and marks the URI changed (st.Rewritten),
// as nginx's ngx_http_internal_redirect clears valid_unparsed_uri: a
// proxy_pass without a URI part then sends the new URI, escaped, and its
// arguments, not the client's request URI, which $request_uri keeps. It
// also clears st.WholeURI, as ngx_http_handler sets valid_location again
// even when a "rewrite ... break" led to the redirect: a proxy_pass with a
// URI part replaces the new location's prefix, and an alias maps the URI to
// a file ($request_filename). A named location leaves both as they are
// (ngx_http_named_location). rec's level (the one redirecting) logs a
// named location the server lacks.
func (s *snapshot) redirectInternally(rec *recorder, r *http.Request, st *vars.State, srv *router.Server, next *internalRedirect) (*config.Location, rewrite.Result) {
	if next.named != "" {
		loc := srv.Named(next.named)
		if loc == nil { // ngx_http_named_location: 500, whatever led there
			// logged at the level that named it (recorded with nginx
			// 1.22.1: a location's error_log has the line)
			rec.logLine(errlog.Error, r, `could not find named location "`+next.named+`"`)
			return nil, rewrite.Result{Outcome: rewrite.Fail}
		}
		return loc, rewrite.Result{}
	}
	st.LogAction = "" // ngx_http_handler clears the connection's action
	st.Path, st.Args, st.ArgsFound = next.uri, next.args, next.argsFound
	st.Rewritten, st.WholeURI = true, false
	res := s.serverRewriteTo(r, st, srv, rec.mainLog())
	if res.Outcome != rewrite.Next {
		return nil, res
	}
	lm := srv.Location(st.Path)
	if lm.Err != nil { // a regex location over pcre.MatchLimit: nginx's 500
		// nginx's internal redirect went back to the server's level
		// (ngx_http_update_location_config) and logs there.
		s.logAt(srv.Config.Settings).LogRequest(errlog.Alert, logRequest(st, r), lm.Err.Error())
		return nil, rewrite.Result{Outcome: rewrite.Fail}
	}
	if lm.Redirect != "" {
		// nginx's find config phase runs for an internal redirect too: a
		// URI that names a proxying location without its slash gets the
		// 301 (recorded with nginx 1.22.1: "error_page 302 /auto;" with
		// "location /auto/ { proxy_pass ...; }" answers 301, Location
		// http://host/auto/; nginx-tests' http_error_page.t).
		return lm.Location, rewrite.Result{Outcome: rewrite.Redirect, Code: http.StatusMovedPermanently, URL: slashTarget(st, lm.Redirect)}
	}
	setLocationCaptures(st, lm)
	return lm.Location, res
}

// refuse answers code for a request no location has seen yet, or follows
// the server's error_page for it to a URI as run does (nginx's
// ngx_http_finalize_request from ngx_http_process_request).
func (s *snapshot) refuse(rec *recorder, r *http.Request, st *vars.State, srv *router.Server, code int) {
	rec.fail(code)
	next := rec.takePending()
	if next == nil {
		return
	}
	if next.named == "" && r.Method != http.MethodHead { // as run does
		r.Method, st.Method = http.MethodGet, http.MethodGet
	}
	loc, res := s.redirectInternally(rec, r, st, srv, next)
	rec.useLevel(srv, loc)
	s.run(rec, r, st, srv, loc, res)
}

// serverNameFailed ends a request whose regex server_name match hit its
// bound (err) as nginx's ngx_http_set_virtual_server does when
// ngx_http_find_virtual_server fails: the alert is logged while reading
// the request's head, and the request is closed with 500 and no answer,
// logged with the default server's name for $host (nginx had not taken
// the Host as the request's server yet).
func (s *snapshot) serverNameFailed(rec *recorder, r *http.Request, st *vars.State, err error) {
	rec.log().LogRequest(errlog.Alert, logRequest(st, r), err.Error()+" while reading client request headers")
	st.Host = ""
	rec.drop(http.StatusInternalServerError)
}

// refuseAsDefault answers 400 for a request nginx refuses before it knows
// the virtual server (its request line parser refuses "/../x" and "*"):
// with the error_page of the connection's server among hosts (the
// address's default server, or over TLS the one the server name of ci
// chose: connServer), whose level serves and logs the request. msg, when
// not empty, is logged at info first with that server's name, as nginx
// logs the refusal. Kept out of line: its lookup's locals would otherwise
// grow the frame of every request's serveFound, and with it every client
// goroutine's stack (integration's TestClientStackStaysSmall).
//
//go:noinline
func (s *snapshot) refuseAsDefault(rec *recorder, r *http.Request, st *vars.State, hosts *router.Hosts, ci *connInfo, msg string) {
	dflt := connServer(hosts, sniName(ci))
	rec.useLevel(dflt, nil)
	rec.srv = dflt
	st.ServerName = primaryName(dflt.Config)
	if msg != "" {
		er := logRequest(st, r)
		er.Host = "" // nginx's parse stopped in the request line
		if r.ProtoMajor == 2 {
			// nginx refuses these as it reads the stream's fields, before
			// it makes its request line (recorded with curl --http2:
			// "... while reading client request headers, client:
			// 127.0.0.1, server: b.test" and no request).
			er.Request = ""
		}
		rec.log().LogRequest(errlog.Info, er, msg)
	}
	s.refuse(rec, r, st, dflt, http.StatusBadRequest)
}

// invalidRequestLine is nginx's info line for a request line its parser
// refuses in the target: a path that climbs above the root ("/../x"), "*"
// for a method other than OPTIONS, and "OPTIONS *".
const invalidRequestLine = "client sent invalid request while reading client request line"

// acceptableFraming refuses what h1 accepts as well-formed but no location can
// serve: a request target of "*" (OPTIONS *).
func acceptableFraming(r *http.Request) bool {
	return r.RequestURI != "*"
}

// fillRequest fills the engine-neutral request view from net/http's request.
func fillRequest(st *vars.State, r *http.Request, ci *connInfo) {
	st.Method = r.Method
	st.RequestLine = ci.requestLine
	st.RequestURI = originForm(r.RequestURI)
	if _, q, ok := strings.Cut(st.RequestURI, "?"); ok {
		st.Args = q
	}
	st.Host = r.Host
	st.Scheme = "http"
	if ci.tls != nil {
		st.Scheme, st.TLS = "https", ci.tls
	}
	st.Proto = r.Proto
	if r.ProtoMajor == 1 && !endsWithWord(ci.requestLine, r.Proto) {
		// $server_protocol is the version as sent ("HTTP/1.2" for a
		// request served as HTTP/1.1, as nginx 1.22.1 has it): the end of
		// the request line, whose parts are single-space separated.
		if i := strings.LastIndexByte(ci.requestLine, ' '); i >= 0 {
			st.Proto = ci.requestLine[i+1:]
		}
	}
	st.Header = vars.HeaderMap(r.Header)
	st.Fields = ci.fields
	st.Remote, st.RemoteUnix = ci.remoteAddr, ci.unix
	st.PeerAddr, st.ProxyProtocol = ci.remoteAddr, ci.proxy
	st.Local = ci.local
	st.Start, st.ConnStart = ci.start, ci.born
	st.Length = ci.length
	ci.requests++
	st.Conn, st.ConnRequests = ci.id, ci.requests
	st.Pipelined = ci.pipelined
	if ci.rawc != nil {
		st.Socket = ci
	}
}

// endsWithWord reports whether line ends with a space and word: then word,
// which has no space, is line's last part. Most request lines end with the
// version h1 read (r.Proto), which this finds without a scan of the line.
func endsWithWord(line, word string) bool {
	n := len(line) - len(word)
	return n > 0 && line[n-1] == ' ' && line[n:] == word
}

// originForm strips the scheme and authority of an absolute-form request target
// (RFC 9112 section 3.2.2), leaving path and query.
func originForm(target string) string {
	if strings.HasPrefix(target, "/") || target == "*" {
		return target
	}
	if i := strings.Index(target, "://"); i >= 0 {
		rest := target[i+3:]
		if j := strings.IndexAny(rest, "/?"); j >= 0 {
			if rest[j] == '?' {
				return "/" + rest[j:]
			}
			return rest[j:]
		}
		return "/"
	}
	return target
}

// rawPath is the path part of an origin-form target.
func rawPath(target string) string {
	p, _, _ := strings.Cut(target, "?")
	return p
}

// primaryName is a server's $server_name (and server_name_in_redirect's
// host): its first name as nginx keeps it, a regex one included, "" without
// one.
func primaryName(srv *config.Server) string {
	if len(srv.Names) == 0 {
		return ""
	}
	n := srv.Names[0]
	if n.Kind == config.NameRegex {
		return "~" + n.Name // nginx keeps a regex name as written
	}
	return n.Name
}

// setCaptures records the regex server_name's match, then the regex location's,
// in the order nginx makes them: $1..$9 are the location's groups when it is a
// regex, else the server name's, and the server name's named captures keep
// their values either way (nginx 1.22.1 answers "[foo][abc][abc]" for
// "$sub $word $1" with server_name ~^(?<sub>..)\. and location ~ ^/x/(?<word>..)).
func setCaptures(st *vars.State, loc, srv router.Captures) {
	if srv.Matched() {
		setCapture(st, srv)
	}
	if loc.Matched() {
		setCapture(st, loc)
	}
}

// setCapture records one regex match c.
func setCapture(st *vars.State, c router.Captures) {
	st.SetCaptures(vars.Captures{Subject: c.Subject, Index: c.Regexp.FindStringSubmatchIndex(c.Subject), Names: c.Regexp.SubexpNames()})
}

// setLocationCaptures records a location match's regexes in the order the
// router made them: the regex locations a nested regex location is inside
// of, then the chosen one, so that their named captures keep their values.
func setLocationCaptures(st *vars.State, lm router.LocationMatch) {
	for _, c := range lm.Outer {
		setCaptures(st, c, router.Captures{})
	}
	setCaptures(st, lm.Captures, router.Captures{})
}

// bodyWithinLimit enforces client_max_body_size: a declared length over the
// limit is refused with 413 before the body is read, logged as nginx logs it;
// a chunked body is cut off at the limit.
func bodyWithinLimit(rec *recorder, r *http.Request, set *config.Settings) bool {
	limit := set.ClientMaxBodySize
	if limit <= 0 {
		return true
	}
	if r.ContentLength > limit {
		rec.log().LogRequest(errlog.Error, logRequest(rec.st, r),
			"client intended to send too large body: "+strconv.FormatInt(r.ContentLength, 10)+" bytes")
		rec.fail(http.StatusRequestEntityTooLarge)
		return false
	}
	if r.ContentLength < 0 && r.Body != nil {
		if b, ok := r.Body.(*reqBody); ok {
			b.limitChunked(limit) // at the chunk size lines, as nginx
		}
		r.Body = limitBody(rec, r.Body, limit)
	}
	return true
}

// limitBody is http.MaxBytesReader(rec, body, limit) that still tells the
// spool how many bytes of the wire the body took (bodyspool.WireCounter)
// when body does.
func limitBody(rec *recorder, body io.ReadCloser, limit int64) io.ReadCloser {
	lim := http.MaxBytesReader(rec, body, limit)
	if wc, ok := body.(bodyspool.WireCounter); ok {
		return &wireLimited{ReadCloser: lim, wire: wc}
	}
	return lim
}

// wireLimited is a limited body with its wire count.
type wireLimited struct {
	io.ReadCloser
	wire bodyspool.WireCounter
}

// WireBytes implements bodyspool.WireCounter.
func (b *wireLimited) WireBytes() int64 { return b.wire.WireBytes() }

// PrereadFault passes on proxy.PrereadChecker (reqBody's).
func (b *wireLimited) PrereadFault() error { return prereadFault(b.wire) }

// CountUnread passes on proxy.UnreadBody (reqBody's).
func (b *wireLimited) CountUnread() bool { return countUnread(b.wire) }

// countUnread is body's proxy.UnreadBody answer; true (nothing to give up)
// when it has none.
func countUnread(body any) bool {
	if u, ok := body.(proxy.UnreadBody); ok {
		return u.CountUnread()
	}
	return true
}

// prereadFault is body's proxy.PrereadChecker answer, nil when it has none.
func prereadFault(body any) error {
	if pc, ok := body.(proxy.PrereadChecker); ok {
		return pc.PrereadFault()
	}
	return nil
}

// Pending passes on whether the chunked body's bytes are readable without
// waiting (reqBody.Pending); false when the body cannot tell.
func (b *wireLimited) Pending() bool {
	p, ok := b.wire.(interface{ Pending() bool })
	return ok && p.Pending()
}

// keepaliveSpent reports whether the connection has carried keepalive_requests
// requests or lived keepalive_time, so this response closes it.
func keepaliveSpent(ci *connInfo, set *config.Settings) bool {
	if n := set.KeepaliveRequests; n > 0 && ci.requests >= uint64(n) {
		return true
	}
	return set.KeepaliveTime > 0 && ci.start.Sub(ci.born) >= set.KeepaliveTime
}

// applyClientTimeouts enforces client_body_timeout between two reads of the
// request body and send_timeout between two writes of the response, as nginx
// does (not for the whole transfer; the engine's writer arms send_timeout
// itself, for the writes that may wait).
// It returns the wrapped body (nil when the request has none).
func applyClientTimeouts(rec *recorder, r *http.Request, set *config.Settings) *deadlineBody {
	if rec.ew != nil && set.SendTimeout > 0 {
		rec.ew.setSendTimeout(set.SendTimeout)
	} else if hw, ok := rec.ResponseWriter.(*h2Writer); ok && !rec.sub {
		hw.sendTimeout = set.SendTimeout
	}
	d := set.ClientBodyTimeout
	if d <= 0 || r.Body == nil || r.Body == http.NoBody {
		return nil
	}
	ctrl, ok := rec.ResponseWriter.(deadliner)
	if !ok {
		return nil
	}
	b := &deadlineBody{rc: r.Body, ctrl: ctrl, timeout: d}
	r.Body = b
	return b
}

// deadliner sets the client connection's deadlines (the engine's respWriter).
type deadliner interface {
	SetReadDeadline(time.Time) error
	SetWriteDeadline(time.Time) error
}

// maxDrain is how much of a body the handler left unread fulcrum reads to keep
// the connection; past it the connection is closed instead (as net/http does).
const maxDrain = 256 << 10

// finishBody reads what the handler left of the request body, with b's
// timeout between reads (discardBody's lingering_timeout), so a client
// trickling a body to a location that never reads it cannot hold the
// connection. A client that stalls, or a body too long to drain, gets its
// connection closed after the response.
func finishBody(rec *recorder, b *deadlineBody) {
	if b == nil || b.eof {
		return
	}
	failed := b.err != nil // the handler's read failed: it logged why
	if !failed {
		if _, err := io.CopyN(io.Discard, b, maxDrain); err == io.EOF {
			return
		}
	}
	if c, ok := rec.ResponseWriter.(interface{ closeAfter() }); ok {
		c.closeAfter()
	}
}

// deadlineBody extends the connection's read deadline before each body read and
// remembers how reading ended.
type deadlineBody struct {
	rc      io.ReadCloser
	ctrl    deadliner
	timeout time.Duration
	until   time.Time // when set, no read waits past it (lingering_time)
	eof     bool      // the whole body was read
	err     error     // the first read error other than EOF
}

func (b *deadlineBody) Read(p []byte) (int, error) {
	d := time.Now().Add(b.timeout)
	if !b.until.IsZero() && b.until.Before(d) {
		d = b.until
	}
	_ = b.ctrl.SetReadDeadline(d)
	n, err := b.rc.Read(p)
	switch {
	case err == io.EOF:
		b.eof = true
	case err != nil && b.err == nil:
		b.err = err
	}
	return n, err
}

func (b *deadlineBody) Close() error { return b.rc.Close() }

// ExactBuffer passes on bodyspool.ExactBuffer (an HTTP/2 body's).
func (b *deadlineBody) ExactBuffer() bool {
	eb, ok := b.rc.(bodyspool.ExactBuffer)
	return ok && eb.ExactBuffer()
}

// WireBytes implements bodyspool.WireCounter with the body's count; -1
// when it keeps none (the spool then judges by the data alone).
func (b *deadlineBody) WireBytes() int64 {
	if wc, ok := b.rc.(bodyspool.WireCounter); ok {
		return wc.WireBytes()
	}
	return -1
}

// PrereadFault passes on proxy.PrereadChecker (reqBody's).
func (b *deadlineBody) PrereadFault() error { return prereadFault(b.rc) }

// CountUnread passes on proxy.UnreadBody (reqBody's).
func (b *deadlineBody) CountUnread() bool { return countUnread(b.rc) }

// Buffered passes on the body's count of bytes readable without waiting
// (reqBody.Buffered); 0 when it keeps none.
func (b *deadlineBody) Buffered() int {
	if bb, ok := b.rc.(interface{ Buffered() int }); ok {
		return bb.Buffered()
	}
	return 0
}

// Pending passes on whether a chunked body's bytes are readable without
// waiting (reqBody.Pending); false when the body cannot tell.
func (b *deadlineBody) Pending() bool {
	p, ok := b.rc.(interface{ Pending() bool })
	return ok && p.Pending()
}

// recorder records the status and body size for logs and $status, and adds the
// Server header and add_header fields to every response.
type recorder struct {
	http.ResponseWriter
	st   *vars.State
	snap *snapshot
	set  *config.Settings
	// kept is where the proxy keeps its state of the request for the next
	// (proxy.RequestKeeper): the main request's scratch; nil for others.
	kept *proxy.RequestSlot
	// held are the limit_conn counts the request holds until run returns.
	held        [maxHeldConns]heldConn
	nheld       int
	moreHeld    []heldConn
	server      string
	wroteHeader bool
	// closeAfter closes the connection after this response (keepalive_requests,
	// keepalive_time).
	closeAfter bool
	// pending is the error_page redirect a failure arranged; errorPageUsed
	// stops another one (nginx's r->error_page: set by an error in a location
	// with error pages and recursive_error_pages off, or once the internal
	// redirects are used up); statusOverride is the status its answer goes out with
	// (the original error, error_page's =code, or 0 for the target's own).
	hijacked net.Conn // the upgraded connection, while the request runs
	// accel is an upstream's X-Accel-Redirect target (hasAccel: there is one).
	accel          string
	hasAccel       bool
	pending        *internalRedirect
	errorPageUsed  bool
	statusOverride int
	// errorPage records that the request failed with an error of fulcrum's
	// own (fail): nginx's r->err_status, which a post action's status does
	// not replace in the log line.
	errorPage bool
	// realIPSet records that realip set the client address (from the server's
	// rule, or a location's): nginx does it once per request.
	realIPSet bool
	// ew is the engine's writer under ResponseWriter, nil under another.
	ew engineWriter
	// upstream names the upstream whose response is being read, for the
	// slice module's error log lines (proxy.UpstreamNamer).
	upstream upstreamName
	// keepSlashes is merge_slashes off for the request's path (decided by
	// the address, see router.Hosts.MergeSlashes).
	keepSlashes bool
	// req is the request being answered (the gzip filter reads its header).
	req *http.Request
	// ci is the connection's counts for the request (RequestBodyRead); nil
	// for a recorder that has none.
	ci *connInfo
	// gz compresses the body when gzipping (the gzip filter, gzip.go);
	// fileResponse marks a static file's answer, whose Last-Modified nginx
	// does not keep as a field (gzip_proxied no_last_modified ignores it).
	gz           gzipfilter.Writer
	gzipping     bool
	fileResponse bool
	// gzipRefused is set once a gzip_disable regex hit its match bound:
	// the client does not get gzip for the rest of the request, as
	// nginx's ngx_http_gzip_ok keeps its answer (see gzipClientOK).
	gzipRefused bool
	// bf is the state of the body filters that run before gzip (gunzip,
	// sub: writeFiltered), allocated for a response that uses one; nil,
	// one field check, for every other.
	bf *bodyFilters
	// img is the image filter's state (imagefilter.go) for a response of
	// a location with image_filter; nil, one field check, for every other.
	img *imageState
	// filterStatus, when not 0, is the status nginx's headers filter (expires,
	// add_header) saw instead of the one sent: 200 for a static file's 416,
	// which nginx's range filter turns the 200 into only after that filter.
	filterStatus int
	// rangeGzipVary reports that nginx's gzip header filter marked the
	// response for "Vary: Accept-Encoding" as the 200 it was before the
	// range filter cut it to a 206 or 416 (AllowRanges): gzip's filter runs
	// first, so the cut response keeps the field.
	rangeGzipVary bool
	// pinned reports that the response's fields were placed before the
	// headers filter added any (pinFields).
	pinned bool
	// sub marks a subrequest's recorder (auth_request, addition, mirror): nginx runs no
	// preaccess or access phase for a subrequest.
	sub bool
	// bodyEnded reports that an included subrequest's image filter ended
	// this response (endIncluded): the rest of its body is dropped.
	bodyEnded bool
	// mirrors are the mirror subrequests the request started, running
	// beside it (nil for a request at a level without mirror).
	mirrors *mirrorGroup
	// post is what a main request kept for its post_action
	// (postaction.go).
	post postAction
	// body is the request body a main request read whole for its mirrors
	// or its post action (readBody), nil when it did not; closeBody
	// releases it once they are done.
	body *bodyspool.Body
	// trailers are the location's add_trailer fields when the response's
	// status lets one of them go out (expectTrailers), nil otherwise;
	// trailersAll reports that only those with "always" go out.
	trailers    []addHeader
	trailersAll bool
	// srv is the server block of a main request, for the addition
	// filter's subrequests; add is that filter's work when it applies to
	// the response (addition.go), nil otherwise.
	srv *router.Server
	add *addition
	// slice is the request's slice module state once $slice_range began
	// slicing it (slice.go), nil otherwise.
	slice *sliceState
	// zone is the status zone of the request's server (status_zone), nil
	// without one; countZones ends what serveHTTP began in it.
	zone *statuszone.HTTP
	// plainSet is the settings of a level that runs no header filter
	// (locEntry.plainHead), set by run for the location it serves: while
	// they are the ones in force (set), WriteHeader skips the filters.
	plainSet *config.Settings
}

// engineWriter is what the engine's response writer (respWriter) offers the
// request path beyond http.ResponseWriter.
// The proxy's optional writer interfaces are part of it, so the recorder
// forwards them through ew, found once per request, without an interface
// assertion per call.
type engineWriter interface {
	finish() bool
	failed() bool
	flushNow()
	sentBytes() (total, head int64)
	// sentChunked reports that the head went out with chunked framing.
	sentChunked() bool
	// flushedBytes is how many bytes of the response reached the
	// connection so far: sentBytes' total less what the write buffer holds.
	flushedBytes() int64
	drop()
	keepalive(set *config.Settings)
	closeAs(closing *config.Closing, reset bool)
	setSendTimeout(d time.Duration)
	paceAt(rate, free int64, start time.Time)
	gzipFields(vary, compressed bool)
	lengthUnknown()
	noChunking()
	stopped() <-chan struct{}
	watchNow()
	awaitGone(d time.Duration) (gone *errlog.ClientAbort, ok bool)
	pinFields()
	placeField(name, key string)
	listed(key string) bool
	renameField(key string, index int, name string)
	expectTrailers(code int)
	addTrailer(name, value string)
	dropOrder(key string, from int)
	listLocation()
	proxy.ValueStore
	proxy.ClientWatcher
	proxy.AbortIgnorer
	proxy.Continuer
	proxy.ReasonSetter
	proxy.FieldLister
	listServer(v string) bool
	sentHeader() vars.Headers
	proxy.HeadTimer
	proxy.ConnBinder
}

// The engine's writer must stay an engineWriter: if it did not, the
// recorder would silently treat it as a foreign writer.
var _ engineWriter = (*respWriter)(nil)

// drop ends the request without an answer, the connection closed, logged with
// code: what nginx does for "return 444" (and 408 and 499). Under a writer
// other than the engine's, an empty answer with code goes out instead.
func (w *recorder) drop(code int) {
	if ew := w.ew; ew != nil {
		w.wroteHeader = true
		w.st.Status = code
		ew.drop()
		if w.set != nil {
			// nginx's 444 (NGX_HTTP_CLOSE) marks the connection timed
			// out: reset_timedout_connection resets it.
			ew.closeAs(&w.set.Closing, code == 444)
		}
		return
	}
	if sw, ok := w.ResponseWriter.(streamWriter); ok {
		w.wroteHeader = true
		w.st.Status = code
		sw.dropStream()
		return
	}
	w.Header().Set("Content-Length", "0")
	w.WriteHeader(code)
}

// complete sends the rest of the response (the end of a compressed body
// first), when the engine's writer carries it.
func (w *recorder) complete() {
	if w.img != nil && !w.img.done {
		w.errorPageUsed = true // too late to follow an error_page
		w.finishImage()
	}
	if w.add != nil {
		w.addBefore() // an empty body: what goes before it still does
	}
	if w.bf != nil {
		w.endBodyFilters()
	}
	if w.add != nil {
		w.addAfter() // after what gunzip and sub held back
	}
	w.endGzip()
	if w.trailers != nil {
		w.sendTrailers()
	}
	if ew := w.ew; ew != nil {
		ew.finish()
	}
}

// sentWhole reports whether the response went out whole, nginx's
// r->request_complete ($request_completion): not a 444, not for a client
// that went away (499), not after a failed write (an HTTP/2 stream that
// send_timeout reset included).
func (w *recorder) sentWhole() bool {
	if w.st.Status == 444 || w.st.Status == 499 {
		return false
	}
	if w.ew == nil {
		hw, h2 := w.ResponseWriter.(*h2Writer)
		return !h2 || !hw.timedOut.Load()
	}
	return !w.ew.failed()
}

// logSendTimeout writes nginx 1.22.1's info line for a main request whose
// response send_timeout cut short: "client timed out (110: Connection
// timed out) while sending response to client" (recorded: a 20 MB file to
// a client that stopped reading, send_timeout 1s, HTTP/1.1; and an HTTP/2
// stream its client's flow control held). fulcrum wrote none. An HTTP/2
// response whose last DATA frame, which Go's server writes after the
// handler returned, timed out is not seen here.
func (w *recorder) logSendTimeout() {
	if w.sub || w.req == nil {
		return
	}
	timedOut := false
	if rw, ok := w.ew.(*respWriter); ok {
		timedOut = rw.err != nil && errors.Is(rw.err, os.ErrDeadlineExceeded)
	} else if hw, ok := w.ResponseWriter.(*h2Writer); ok {
		timedOut = hw.timedOut.Load()
	}
	if timedOut {
		w.logLine(errlog.Info, w.req, "client timed out (110: Connection timed out) while sending response to client")
	}
}

// account sets the byte counts the log reads: $request_length (head and body
// bytes read so far) and, from the engine's writer, $bytes_sent and
// $body_bytes_sent as nginx counts them (all bytes sent, and those past the
// head: chunk framing included).
func (w *recorder) account(ci *connInfo) {
	w.st.Length = ci.length
	w.st.ChunkedLength, w.st.ChunkedRead = ci.chunked.declared, ci.chunked.read
	if ew := w.ew; ew != nil {
		total, head := ew.sentBytes()
		w.st.BytesSent, w.st.BodyBytesSent = total, max(total-head, 0)
		w.st.SentChunked = ew.sentChunked()
	} else if sw, ok := w.ResponseWriter.(streamWriter); ok {
		total, _ := sw.sentBytes()
		w.st.BytesSent = total
	}
	if w.gzipping {
		w.st.GzipIn, w.st.GzipOut = w.gz.In(), w.gz.Out()
	}
}

// WriteHeader runs nginx's header filters on the response (headerFilters),
// except where the level in force runs none (plain: its settings are
// plainSet, locEntry.plainHead) and the response asks for none of its own,
// then writes the head.
func (w *recorder) WriteHeader(code int) {
	if w.wroteHeader || code < 200 && code != http.StatusSwitchingProtocols {
		if code < 200 {
			w.ResponseWriter.WriteHeader(code)
		}
		return
	}
	if w.slice != nil && !w.slice.headerOut { // nginx's first header filter
		var ok bool
		if code, ok = w.sliceHeader(code); !ok {
			return
		}
	}
	if w.img != nil && !w.img.done {
		return // the image filter holds the header until the body is read
	}
	// plain: no header filter runs for this response
	plain := w.set == w.plainSet && w.set != nil && w.filterStatus == 0 && w.st.OverrideCharset == "" && !w.st.LimitRateSet
	if !plain && w.img == nil && w.set != nil && w.set.ImageFilter.Op != config.ImageOff && (!w.sub || w.included()) && w.startImage(code) {
		return
	}
	w.wroteHeader = true
	code = cmp.Or(w.statusOverride, code) // an error_page's status
	w.st.Status = code
	if w.ew != nil && w.ew.listServer(w.server) {
		// The engine's writer holds the proxy's fields as a list: the
		// filters below that ask for Header() have the map built.
		w.st.SentHeader = w.ew.sentHeader()
	} else {
		h := w.ResponseWriter.Header()
		if _, passed := h["Server"]; !passed { // proxy_pass_header Server keeps the upstream's
			h["Server"] = serverField(w.server)
		}
		w.st.SentHeader = vars.HeaderMap(h)
	}
	if w.closeAfter {
		w.ResponseWriter.Header().Set("Connection", "close")
	}
	if !plain {
		if !w.headerFilters(code) {
			return
		}
	} else if w.ew != nil {
		// keepalive_timeout is the location's (nginx's clcf), not the
		// listener's: it decides Connection, Keep-Alive and the idle wait.
		w.ew.keepalive(w.set)
	}
	w.ResponseWriter.WriteHeader(code)
}

// headerFilters runs nginx's header filters on a response about to go out
// with code, in nginx's order, for WriteHeader, and sets what the level's
// settings say of the connection and the pace. It reports false when the
// response was dropped instead (a charset variable not found). A level
// whose settings select none of these filters skips them (plainHead, in
// snapshot.go): a filter added here must be added there too.
//
//go:noinline
func (w *recorder) headerFilters(code int) bool {
	// nginx's headers filter: expires, then add_header. A static file's
	// 416 went through it as the 200 it was (filterStatus).
	filterCode := code
	if w.filterStatus != 0 {
		filterCode = w.filterStatus
	}
	if w.set != nil && w.set.Expires.Mode != config.ExpiresOff && safeStatus(filterCode) {
		w.setExpires(w.ResponseWriter.Header())
	}
	if len(w.snap.adds) > 0 {
		w.addHeaders(w.ResponseWriter.Header(), filterCode)
	}
	if filterCode != code && code == http.StatusRequestedRangeNotSatisfiable {
		// nginx's range filter refuses the range only after the headers
		// filter, and its own 416 page clears the validators add_header
		// set (ngx_http_clear_etag, ngx_http_clear_last_modified).
		w.dropValidator(w.ResponseWriter.Header(), "Etag", 0)
		w.dropValidator(w.ResponseWriter.Header(), "Last-Modified", 0)
		w.addAlwaysValidators(w.ResponseWriter.Header())
	}
	if w.set != nil && w.set.Userid.Mode >= config.UseridV1 && !w.sub {
		w.setUserid(w.ResponseWriter.Header()) // nginx's filters: headers, userid, gunzip
	}
	if w.set != nil && w.set.AddTrailers != nil {
		w.expectTrailers(filterCode)
	}
	if w.set != nil && w.set.Gzip.Gunzip {
		w.startGunzip(w.ResponseWriter.Header())
	}
	if wantsAddition(w.set) { // nginx's filters: gunzip, addition, sub
		w.startAddition(code, w.ResponseWriter.Header())
	}
	if w.set != nil && w.set.SubFilter.Pairs != nil && !w.sub { // nginx's r == r->main
		w.startSub(w.ResponseWriter.Header())
	}
	if w.set != nil && (w.set.Charset.Name != "" || w.st.OverrideCharset != "") && !w.setCharset(code, w.ResponseWriter.Header()) {
		w.drop(code) // a charset variable not found: nginx's NGX_ERROR
		return false
	}
	if w.set != nil && w.set.SSI.On { // nginx's filters: charset, ssi, gzip
		w.startSSI(w.ResponseWriter.Header())
	}
	if w.set != nil && w.set.Gzip.On && !w.sub { // nginx never compresses a subrequest
		w.startGzip(code, w.ResponseWriter.Header())
	}
	if w.ew != nil && w.set != nil {
		// keepalive_timeout is the location's (nginx's clcf), not the
		// listener's: it decides Connection, Keep-Alive and the idle wait.
		w.ew.keepalive(w.set)
		if w.set.ChunkedOff {
			w.ew.noChunking()
		}
		if w.st.LimitRateSet || w.set.LimitRate.Active() {
			w.startLimitRate(w.ew)
		}
	} else if w.set != nil && (w.st.LimitRateSet || w.set.LimitRate.Active()) {
		if p, ok := w.ResponseWriter.(ratePacer); ok { // an HTTP/2 stream's
			w.startLimitRate(p)
		}
	}
	return true
}

func (w *recorder) Write(p []byte) (int, error) {
	if w.slice != nil {
		return w.writeSliced(p)
	}
	return w.write(p)
}

// runHandler runs a location's handler. A handler whose write image_filter
// refused (a body past image_filter_buffer, answered 415 at once) may end
// as it does for a client gone, with http.ErrAbortHandler: here that only
// ends the handler, and the 415 (or its error_page) goes out.
func (w *recorder) runHandler(h handler, r *http.Request, st *vars.State) (next *internalRedirect) {
	defer func() {
		if v := recover(); v != nil {
			if v != http.ErrAbortHandler || w.img == nil || !w.img.cut {
				panic(v)
			}
			next = nil
		}
	}()
	return h.serve(w, r, st)
}

// write is Write past the slice module's cut (writeSliced).
func (w *recorder) write(p []byte) (int, error) {
	if st := w.img; st != nil && (!st.done || st.cut) {
		if st.cut {
			return 0, errImageCut
		}
		if st.hold(p); st.tooBig && !st.byLength {
			// nginx answers 415 as soon as a body passes
			// image_filter_buffer and reads no more of it: the handler
			// is told to stop (an upstream that never ends holds nothing).
			w.finishImage()
			st.cut = true
			return 0, errImageCut
		}
		return len(p), nil
	}
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	if w.add != nil && w.add.before != "" {
		w.addBefore()
	}
	if w.bodyEnded {
		return len(p), nil // an included image ended the response (endIncluded)
	}
	if w.bf != nil && w.bf.active() {
		return w.writeFiltered(p)
	}
	if w.gzipping {
		return w.writeGzip(p)
	}
	n, err := w.ResponseWriter.Write(p)
	w.st.BodyBytesSent += int64(n)
	return n, err
}

// fail answers with one of fulcrum's own error pages, or, when the location has
// an error_page for code (and no error_page was followed yet, unless the
// locations it went through have recursive_error_pages on), arranges for it instead: an internal redirect that
// run follows, or a redirect to a URL. When the error page itself fails (a
// missing file, a refused client), its own status goes out, not the one the
// error_page meant for the page, as nginx does.
func (w *recorder) fail(code int) {
	w.errorPage = true
	// nginx's special response handler discards the body first: a
	// malformed one closes the connection, the status stays.
	w.earlyBodyFault()
	if (closesWithoutAnswer(code) || w.bodyPeerClosed()) && !w.wroteHeader && !w.sub {
		// A body that stopped coming (client_body_timeout), or a
		// limit_req_status or limit_conn_status of 444, 408 or 499 (the
		// nginx blog's "limit_req_status 444;"): nginx's
		// ngx_http_finalize_request terminates a request that ends with
		// one of those codes, without an answer or an error_page; only the
		// access log says the code (recorded with nginx 1.22.1). So does
		// a client that closed the connection before the end of its body
		// (c->error): logged 400 and 0 bytes, nothing sent (recorded).
		w.drop(code)
		return
	}
	if w.sub {
		if sw, ok := w.ResponseWriter.(*subWriter); ok {
			sw.failed = true // an SSI include's stub replaces its answer
		}
	}
	if errpage.ClosesConnection(code) {
		// nginx ends keep-alive by the error before it looks for an
		// error_page: "error_page 500 /page.html" closes too, while the
		// 500 of "error_page 503 =500 /page.html" does not.
		w.closeAfter = true
	}
	if w.wroteHeader || w.errorPageUsed || w.set == nil {
		// An error page that fails itself (its file is missing, deny refuses
		// it) goes out with its own status, not error_page's: nginx's
		// special response handler sets the status to the new error.
		if !w.wroteHeader {
			w.statusOverride = 0
		}
		errpage.WriteFor(w, code, w.server, w.pageQuirks(code, w.Header().Get("Location")))
		return
	}
	// As ngx_http_special_response_handler: the location where the error
	// happens decides whether its error page may fail over to another.
	if len(w.set.ErrorPages) > 0 && !w.set.RecursiveErrorPages {
		w.errorPageUsed = true
	}
	for _, ep := range w.set.ErrorPages {
		if !slices.Contains(ep.Codes, code) {
			continue
		}
		w.filterStatus = 0
		switch {
		case ep.UseTargetStatus:
			w.statusOverride = 0
		case ep.Response != 0:
			w.statusOverride = ep.Response
		default:
			// nginx's error_page makes "=400" of 494-497 written
			// without "=" (ngx_http_core_error_page).
			w.statusOverride = errpage.Status(code)
		}
		target := w.errorPageTarget(ep, code)
		switch {
		case strings.HasPrefix(target, "@"):
			w.pending = &internalRedirect{named: target}
		case strings.HasPrefix(target, "/"):
			uri, args, found := strings.Cut(target, "?")
			w.pending = &internalRedirect{uri: uri, args: args, argsFound: found}
		default: // a URL: redirect the client there
			redirectCode := http.StatusFound
			switch ep.Response {
			case 301, 302, 303, 307, 308:
				redirectCode = ep.Response
			}
			w.statusOverride = 0
			w.Header().Set("Location", target)
			w.listLocation() // a URL: after Connection, as nginx writes it
			errpage.WriteFor(w, redirectCode, w.server, w.pageQuirks(redirectCode, target))
		}
		return
	}
	errpage.WriteFor(w, code, w.server, w.pageQuirks(code, w.Header().Get("Location")))
}

// errorPageTarget evaluates the target of ep, an error_page for code, with
// $status as nginx's ngx_http_send_error_page has it then: the "=code" of
// ep, 0 for a bare "=" (the status the target answers with is not known
// yet), else the error, 494-497 as 400 ("error_page 404 /e?s=$status" asks
// for /e?s=404, "error_page 404 =301 http://h/?s=$status" redirects to
// http://h/?s=301).
func (w *recorder) errorPageTarget(ep config.ErrorPage, code int) string {
	status := errpage.Status(code)
	switch {
	case ep.UseTargetStatus:
		status = 0
	case ep.Response != 0:
		status = ep.Response
	}
	was := w.st.Status
	w.st.Status = status
	target := w.snap.errorTarget(ep.Target, w.st)
	w.st.Status = was
	return target
}

var _ proxy.ErrorInterceptor = (*recorder)(nil)

// InterceptsError implements proxy.ErrorInterceptor: whether the location has
// an error_page for an upstream's status (proxy_intercept_errors on). Like
// nginx's ngx_http_upstream_intercept_errors it does not ask whether an
// error_page was followed already: then fail sends the plain page.
func (w *recorder) InterceptsError(code int) bool {
	if w.wroteHeader || w.set == nil {
		return false
	}
	for _, ep := range w.set.ErrorPages {
		if slices.Contains(ep.Codes, code) {
			return true
		}
	}
	return false
}

// Fail implements proxy.Failer: the proxy's own errors (502, 504, ...) go
// through error_page too, and so do the upstream statuses InterceptsError
// claims.
func (w *recorder) Fail(code int) { w.fail(code) }

// AddTrailer implements proxy.TrailerAdder: the engine's writer keeps the
// field in order after the response's body; under another writer (an
// HTTP/2 stream's) it is an http.TrailerPrefix field, and net/http's
// HTTP/2 server sends those sorted by name (TestTrailerOrderHTTP2).
func (w *recorder) AddTrailer(name, value string) {
	if w.ew != nil {
		w.ew.addTrailer(name, value)
		return
	}
	h := w.ResponseWriter.Header()
	h[http.TrailerPrefix+name] = append(h[http.TrailerPrefix+name], value)
}

// RedirectPending implements proxy.RedirectPender: whether fail arranged
// an error_page redirect.
func (w *recorder) RedirectPending() bool { return w.pending != nil }

// KeepBody implements proxy.BodyKeeper: a main request's recorder keeps a
// body in a temporary file that its handler hands on (an error_page's
// proxy_pass sends it from the file) and closes it with the request
// (closeBody); a subrequest's declines, as does one that keeps a body
// already.
func (w *recorder) KeepBody(b *bodyspool.Body) bool {
	if w.sub || w.body != nil {
		return false
	}
	w.body = b
	return true
}

// takePending returns the error_page redirect fail arranged, if any.
func (w *recorder) takePending() *internalRedirect {
	p := w.pending
	w.pending = nil
	return p
}

// Unwrap lets http.ResponseController reach Flush, Hijack and deadlines.
func (w *recorder) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// HeaderValues implements proxy.ValueStore with the engine writer's storage,
// or fresh storage under another writer.
func (w *recorder) HeaderValues(n int) []string {
	if w.ew != nil {
		return w.ew.HeaderValues(n)
	}
	return make([]string, n)
}

// WatchClient implements proxy.ClientWatcher when the engine's writer does;
// under another writer it declines (the proxy watches the context).
func (w *recorder) WatchClient(a proxy.Aborter) bool {
	return w.ew != nil && w.ew.WatchClient(a)
}

// Bindings implements proxy.ConnBinder with the engine writer's client
// connection; under another writer (an HTTP/2 stream's) there is none, and
// a connection ntlm would bind is closed after its exchange.
func (w *recorder) Bindings() *proxy.Bindings {
	if w.ew != nil {
		return w.ew.Bindings()
	}
	return nil
}

// UnwatchClient implements proxy.ClientWatcher.
func (w *recorder) UnwatchClient() bool {
	return w.ew == nil || w.ew.UnwatchClient()
}

// IgnoreClientAbort implements proxy.AbortIgnorer when the engine's writer
// does; another writer has no watch to end.
func (w *recorder) IgnoreClientAbort() {
	if w.ew != nil {
		w.ew.IgnoreClientAbort()
	}
}

// RequestBodyRead implements proxy.BodyReadNoter and fastcgi's: a handler
// read the request body whole, so $request_length counts its bytes from
// now on, as nginx's does while it reads the body (proxy_set_header X-Len
// $request_length sends 101 for a 10-byte chunked body, not the head's
// 76), not only once the log line is written (account).
func (w *recorder) RequestBodyRead() {
	if w.ci != nil && !w.sub {
		w.st.Length = w.ci.length
	}
}

// AbandonBody passes fastcgi.BodyAbandoner's call on to the engine's
// writer (HTTP/1.x); over HTTP/2 it does nothing.
func (w *recorder) AbandonBody() {
	if rw, ok := w.ew.(*respWriter); ok && !w.sub {
		rw.AbandonBody()
	}
}

// KeptRequest implements proxy.RequestKeeper: a main request's recorder
// keeps the proxy's state in its scratch (nil for another recorder).
func (w *recorder) KeptRequest() *proxy.RequestSlot { return w.kept }

// Continue implements proxy.Continuer when the engine's writer does.
func (w *recorder) Continue() error {
	if w.ew != nil {
		return w.ew.Continue()
	}
	return nil
}

// SetReason implements proxy.ReasonSetter when the engine's writer does.
func (w *recorder) SetReason(status int, reason []byte) {
	if w.ew != nil {
		w.ew.SetReason(status, reason)
	}
}

// LengthUnknown tells the engine's writer, before the head, that this main
// request's response has no length known in advance (nginx's
// headers_out.content_length_n of -1: a FastCGI, SCGI or uwsgi response
// without Content-Length, a directory listing, a body a filter changes): it
// goes out chunked, or up to the close, even when all of it fits the
// writer's buffer. A subrequest's response, or one under another writer,
// is not framed by fulcrum: nothing to do.
func (w *recorder) LengthUnknown() {
	if w.img != nil && !w.img.done {
		return // the image filter sends the answer with its length
	}
	if w.ew != nil && !w.sub {
		w.ew.lengthUnknown()
	}
}

// SetHeadTime implements proxy.HeadTimer when the engine's writer does.
func (w *recorder) SetHeadTime(t time.Time) {
	if w.ew != nil {
		w.ew.SetHeadTime(t)
	}
}

// SetFieldOrder implements proxy.FieldOrderer when the engine's writer does.
func (w *recorder) SetFieldOrder(order []proxy.FieldPos) {
	if w.ew != nil {
		w.ew.SetFieldOrder(order)
	} else if sw, ok := w.ResponseWriter.(*subWriter); ok {
		sw.setFieldOrder(order)
	}
}

// SetFields implements proxy.FieldLister when the engine's writer does;
// under another writer it declines.
func (w *recorder) SetFields(order []proxy.FieldPos, values []string) bool {
	return w.ew != nil && w.ew.SetFields(order, values)
}

// SetCGIFieldOrder implements fastcgi.FieldOrderer as SetFieldOrder.
func (w *recorder) SetCGIFieldOrder(order []fastcgi.FieldPos) {
	po := make([]proxy.FieldPos, len(order))
	for i, f := range order {
		po[i] = proxy.FieldPos{Name: f.Name, Key: f.Key, Index: f.Index}
	}
	w.SetFieldOrder(po)
}

// Flush passes flushes through (streaming, server-sent events).
func (w *recorder) Flush() {
	if w.img != nil && !w.img.done {
		return // the image filter sends nothing before the whole body
	}
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	if w.gzipping {
		_ = w.gz.Flush() // an error is the client's, which the writer keeps
	}
	http.NewResponseController(w.ResponseWriter).Flush()
}

// Hijack passes the connection takeover of an upgrade through, and tracks the
// connection until the request ends so a graceful stop can wait for it.
func (w *recorder) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	c, brw, err := http.NewResponseController(w.ResponseWriter).Hijack()
	if err == nil && w.snap.upgrades != nil {
		w.snap.upgrades.add(c)
		w.hijacked = c
	}
	return c, brw, err
}

// addHeaders applies add_header: for the success and redirect statuses nginx
// lists (safeStatus), or any status with "always". The fields go out in the
// order written, after those the response had, as nginx appends them.
func (w *recorder) addHeaders(h http.Header, code int) {
	adds := w.snap.adds[w.set]
	if len(adds) == 0 {
		return
	}
	ok := safeStatus(code)
	for _, ah := range adds {
		if !ok && !ah.always {
			continue
		}
		v := ah.value.String(w.st)
		switch {
		case ah.key == "Etag" || ah.key == "Last-Modified":
			w.pinFields()
			w.setValidator(h, ah, v)
		case v != "":
			w.pinFields()
			h[ah.key] = append(h[ah.key], v)
			w.placeField(ah.name, ah.key)
		}
	}
}

// addAlwaysValidators is the second pass of nginx's headers filter over its
// own 416 page, which gives the page the "always" fields: the ETag and
// Last-Modified ones, which the page cleared, go after Content-Range
// (recorded with nginx 1.22.1: "Content-Range: bytes */2000", ETag: "x",
// "Last-Modified: yesterday"). The other "always" fields are there from
// the first pass, once (nginx repeats them; see docs/directives.md).
func (w *recorder) addAlwaysValidators(h http.Header) {
	placed := false
	for _, ah := range w.snap.adds[w.set] {
		if !ah.always || ah.key != "Etag" && ah.key != "Last-Modified" {
			continue
		}
		if !placed {
			w.placeField("Content-Range", "Content-Range")
			placed = true
		}
		w.setValidator(h, ah, ah.value.String(w.st))
	}
}

// setValidator applies an add_header of ETag or Last-Modified as nginx's
// headers filter does (ngx_http_set_response_header and
// ngx_http_set_last_modified, which any spelling of the name selects):
// the response's field, its last one if it has several (an upstream's),
// takes the value where it stands, spelt as configured; a response without
// one gets it after the fields so far. An empty value removes that field.
// A static file's Last-Modified is not a field of nginx's list but the
// header filter's own, written from the file's time, which the configured
// field replaces: it goes after the others, and an empty value leaves the
// response without one.
//
// Recorded with nginx 1.22.1 (scripts/static-filters-nginx-sweep.py):
// add_header ETag '"x"' on a static file sent ETag: "x" where the file's
// ETag stood and no second one; add_header Last-Modified yesterday sent
// "Last-Modified: yesterday" after the other fields and not the file's;
// add_header ETag "" and add_header Last-Modified "" sent neither.
func (w *recorder) setValidator(h http.Header, ah addHeader, v string) {
	n := len(h[ah.key])
	own := ah.key == "Last-Modified" && n > 0 && !w.listed(ah.key)
	switch {
	case v == "" && n > 0:
		if own {
			n = 1 // the header filter's one value
		}
		w.dropValidator(h, ah.key, n-1)
	case v == "":
	case n > 0 && !own:
		h[ah.key][n-1] = v
		w.renameField(ah.key, n-1, ah.name)
	default:
		if own {
			delete(h, ah.key)
		}
		h[ah.key] = append(h[ah.key], v)
		w.placeField(ah.name, ah.key)
	}
}

// RangeValidators is static.ValidatorFilter: the ETag and Last-Modified
// a 200 of this location goes out with once add_header replaced them
// (setValidator), which nginx's range filter, running after its headers
// filter, compares If-Range with. Recorded with nginx 1.22.1: under
// add_header ETag '"x"', "If-Range: "x"" got the 206 and the file's own
// tag the whole file.
func (w *recorder) RangeValidators(etag, lastModified string) (string, string) {
	if w.set == nil {
		return etag, lastModified
	}
	for _, ah := range w.snap.adds[w.set] {
		switch ah.key {
		case "Etag":
			etag = ah.value.String(w.st)
		case "Last-Modified":
			lastModified = ah.value.String(w.st)
		}
	}
	return etag, lastModified
}

// dropValidator removes key's values from index from on, and their places.
func (w *recorder) dropValidator(h http.Header, key string, from int) {
	if from >= len(h[key]) {
		return
	}
	if from == 0 {
		delete(h, key)
	} else {
		h[key] = h[key][:from]
	}
	if w.ew != nil {
		w.ew.dropOrder(key, from)
	}
}

// listed reports whether key's values have places in the response's field
// order (an upstream's fields, those a header filter added), as opposed to
// the front fields the engine writes first.
func (w *recorder) listed(key string) bool {
	return w.ew != nil && w.ew.listed(key)
}

// renameField spells the value of key at index as name, where it stands.
func (w *recorder) renameField(key string, index int, name string) {
	if w.ew != nil {
		w.ew.renameField(key, index, name)
	}
}

// pinFields fixes the place of the fields the response has so far, once,
// before the headers filter adds its own (respWriter.pinFields).
func (w *recorder) pinFields() {
	if w.ew != nil && !w.pinned {
		w.pinned = true
		w.ew.pinFields()
	}
}

// placeField places the last value of key, just added, after the others
// (respWriter.placeField).
func (w *recorder) placeField(name, key string) {
	if w.ew != nil {
		w.ew.placeField(name, key)
	}
}

// addHeader is a compiled add_header.
type addHeader struct {
	name   string // as written, the spelling nginx sends
	key    string // canonical, the header map's
	value  *vars.Template
	always bool
}

// compileAddHeaders compiles the add_header and add_trailer lists of every
// server and location.
func (s *snapshot) compileAddHeaders(comp *vars.Compiler) error {
	s.adds = map[*config.Settings][]addHeader{}
	s.trailers = map[*config.Settings][]addHeader{}
	add := func(set *config.Settings) error {
		if _, done := s.adds[set]; done || set == nil {
			return nil
		}
		var err error
		if s.adds[set], err = compileFieldTemplates(comp, set.AddHeaders); err != nil {
			return err
		}
		if set.AddTrailers != nil {
			s.trailers[set], err = compileFieldTemplates(comp, set.AddTrailers)
		}
		return err
	}
	if err := walkSettings(s.cfg.HTTP.Servers, add); err != nil {
		return err
	}
	// Only the lists that add something stay: without add_header anywhere
	// the map is empty and no response looks it up (WriteHeader).
	maps.DeleteFunc(s.adds, func(_ *config.Settings, l []addHeader) bool { return len(l) == 0 })
	return nil
}

// compileFieldTemplates compiles add_header or add_trailer lines.
func compileFieldTemplates(comp *vars.Compiler, hts []config.HeaderTemplate) ([]addHeader, error) {
	var list []addHeader
	for _, ah := range hts {
		t, err := comp.Compile(ah.Value)
		if err != nil {
			return nil, fmt.Errorf("%w in %s", err, ah.Pos)
		}
		list = append(list, addHeader{name: ah.Name, key: http.CanonicalHeaderKey(ah.Name), value: t, always: ah.Always})
	}
	return list, nil
}

// walkSettings calls f with the settings of every server and of every
// location (walkLevels), stopping at the first error.
func walkSettings(servers []*config.Server, f func(*config.Settings) error) error {
	return walkLevels(servers, func(set *config.Settings, _ *config.Location) error { return f(set) })
}

// walkLevels calls f with the settings of every level a request can be
// served with and its location (nil for a server): every server, every
// location (walkLocations), and every limit_except block, whose settings
// serve the methods it restricts. It stops at the first error.
func walkLevels(servers []*config.Server, f func(*config.Settings, *config.Location) error) error {
	for _, srv := range servers {
		if err := f(srv.Settings, nil); err != nil {
			return err
		}
		if err := walkLocations(srv.Locations, func(l *config.Location) error {
			if l.LimitExcept != nil {
				if err := f(l.LimitExcept.Settings, l); err != nil {
					return err
				}
			}
			return f(l.Settings, l)
		}); err != nil {
			return err
		}
	}
	return nil
}

// walkLocations calls f for every location, nested ones and the implicit
// locations of if blocks included.
func walkLocations(locs []*config.Location, f func(*config.Location) error) error {
	for _, l := range locs {
		if err := f(l); err != nil {
			return err
		}
		for _, il := range ifLocations(l.Settings.Rewrites) {
			if err := f(il); err != nil {
				return err
			}
		}
		if err := walkLocations(l.Locations, f); err != nil {
			return err
		}
	}
	return nil
}

// countZones counts the finished request in its server's status zone and
// in the status zone of the location that answered it (the last one, after
// internal redirects): its status, $request_length bytes received and
// $bytes_sent bytes sent. A request that sent nothing (444, a client that
// closed first: 499) counts as discarded, NGINX Plus's "requests completed
// without sending a response".
func (s *snapshot) countZones(rec *recorder) {
	var loc *statuszone.HTTP
	if rec.set != nil {
		if id := rec.set.LocationZoneID; id > 0 && id < len(s.locationZones) {
			loc = s.locationZones[id]
		}
	}
	if rec.zone == nil && loc == nil {
		return
	}
	st := rec.st
	sent := st.Status != 444 && st.Status != 499 && st.BytesSent > 0
	if rec.zone != nil {
		rec.zone.End(st.Status, sent, st.Length, st.BytesSent)
		rec.zone = nil
	}
	if loc != nil {
		loc.Count(st.Status, sent, st.Length, st.BytesSent)
	}
}

// cycleMessage is nginx's error line for the internal redirect that used up
// the request's URI changes, naming its target as ngx_http_internal_redirect
// and ngx_http_named_location do.
func cycleMessage(next *internalRedirect) string {
	if next.named != "" {
		return fmt.Sprintf("rewrite or internal redirection cycle while redirect to named location %q", next.named)
	}
	return fmt.Sprintf("rewrite or internal redirection cycle while internally redirecting to %q", next.uri)
}

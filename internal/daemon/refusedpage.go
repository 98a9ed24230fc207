package daemon

import (
	"cmp"
	"net/http"
	"net/url"
	"runtime/debug"
	"slices"

	"fulcrum/internal/config"
	"fulcrum/internal/errlog"
	"fulcrum/internal/router"
	"fulcrum/internal/vars"
)

// refusedPageCode is the code whose error_page among pages answers a head
// the engine refused with code, 0 when none does. fulcrum answers 431 where
// nginx 1.22.1 uses its own code 494 (a header line over
// large_client_header_buffers, see docs/directives.md "Where fulcrum
// differs"): "error_page 494" catches it as it does in nginx (answering 400,
// as nginx's error_page makes 494 without "="), and "error_page 431" too.
func refusedPageCode(pages []config.ErrorPage, code int) int {
	has := func(c int) bool {
		return slices.ContainsFunc(pages, func(ep config.ErrorPage) bool { return slices.Contains(ep.Codes, c) })
	}
	switch {
	case has(code):
		return code
	case code == http.StatusRequestHeaderFieldsTooLarge && has(494):
		return 494
	}
	return 0
}

// refusedServer is the server block a request the engine refused on the
// listener key belongs to, as nginx chooses it: the server its Host names
// (the connection's server with one that does not parse); without a Host,
// for a head read to its end (whole) the server that takes requests
// without one (server_name ""), as nginx looks it up once the head is
// through, for a head refused before its end the connection's server:
// the one its TLS server name chose (connServer), else the default server.
// It sets $host, $uri (with that server's merge_slashes) and $server_name,
// and returns nil for a listener the snapshot no longer has.
func (s *snapshot) refusedServer(st *vars.State, key, host string, whole bool) *router.Server {
	l := s.byKey[key]
	if l == nil {
		return nil
	}
	name, err := router.NormalizeHost(host)
	if err != nil {
		name = ""
	}
	hosts := l.Hosts(st.Local)
	sni := ""
	if st.TLS != nil {
		sni = st.TLS.ServerName
	}
	if !hosts.MergeSlashes(sni) && st.RequestURI != "" { // the request line parsed
		if p, err := router.NormalizePathKeepSlashes(rawPath(st.RequestURI)); err == nil {
			st.Path = p
		}
	}
	srv := connServer(hosts, sni)
	if name != "" || whole {
		srv = hosts.Server(name).Server
	}
	st.Host = name
	st.ServerName = primaryName(srv.Config)
	return srv
}

// connServer is the server whose configuration a connection has before a
// Host line chooses another: on TLS the one whose server_name its server
// name (SNI) matched (ngx_http_ssl_servername), else the address's default
// server. Recorded with nginx 1.22.1 over TLS with SNI b.test: a bad
// method, or a bad header line before the Host line, got b.test's
// add_header fields and server_tokens, its access log line ($server_name
// and $host b.test) and "server: b.test" in the error line.
func connServer(hosts *router.Hosts, sni string) *router.Server {
	if sni != "" {
		if name, err := router.NormalizeHost(sni); err == nil && name != "" {
			if sm := hosts.Server(name); !sm.Default && sm.Err == nil {
				return sm.Server
			}
		}
	}
	return hosts.DefaultServer
}

// serveRefused answers a head the engine refused with code through the
// error_page of the server it belongs to (refusedServer), as nginx 1.22.1
// does (ngx_http_finalize_request from the head reader runs the special
// response handler with the server's configuration; no location was chosen,
// so only the server level's error_page counts). It reports false, having
// written nothing, when that server has no error_page for code: the engine
// then answers with its own page. sc holds the request's variables as the
// access log has them for a refused head (clientConn.fillRefused); r is the
// request as far as it parsed. The target runs as any error_page target (a
// location, a named one, a static file, a URL to redirect to, proxy_pass),
// then the response is finished and logged by the location that answered;
// the connection closes after it (the engine marks it so: the head's
// framing cannot be trusted).
func (s *snapshot) serveRefused(w *respWriter, r *http.Request, sc *requestScratch, key, host string, whole bool, code int) bool {
	s.life.Enter()
	defer s.life.Leave()
	st := &sc.st
	srv := s.refusedServer(st, key, host, whole)
	if srv == nil {
		return false
	}
	pageCode := refusedPageCode(srv.Config.Settings.ErrorPages, code)
	if pageCode == 0 {
		return false
	}
	st.Documents, st.Engine = sc, sc
	if s.settables {
		sc.r, sc.log = r, s.log
		st.Uninitialized = sc
	}
	rec := &sc.rec
	*rec = recorder{ResponseWriter: w, st: st, snap: s, req: r, ew: w}
	defer func() {
		if rec.hijacked != nil {
			s.upgrades.remove(rec.hijacked)
		}
	}()
	set := srv.Config.Settings
	rec.set, rec.server, rec.srv = set, serverHeader(set), srv
	rec.closeAfter = true
	s.refuse(rec, r, st, srv, pageCode)
	rec.complete()
	st.Completed = rec.sentWhole()
	if rec.mirrors != nil {
		s.finishMirrors(rec, true)
	}
	rec.closeBody()
	total, head := w.sentBytes()
	st.BytesSent, st.BodyBytesSent = total, max(total-head, 0)
	s.access.log(rec.set, st)
	return true
}

// refusedLook readies fulcrum's own page for a head the engine refused
// with code on the listener key, from the configuration of the server it
// belongs to (refusedServer), as nginx 1.22.1's special response handler
// runs with that server's (no location was chosen): the server level's
// add_header fields marked "always" (its own lines, or those it inherits
// from http) go into w's header, evaluated with st (the refused request's
// variables, clientConn.fillRefused), and the page's Server field and
// padding follow its server_tokens and msie_padding. Recorded on raw
// sockets: a bad header line after "Host: b.test" got server b's fields
// and "Server: nginx" under its server_tokens off; a bad request line, a
// bad Host, or a fault before the Host line, the default server's. It
// reports false, having added nothing, for a listener the snapshot no
// longer has.
func (s *snapshot) refusedLook(w *respWriter, st *vars.State, key, host string, whole bool, code int) (ownPage, bool) {
	s.life.Enter()
	defer s.life.Leave()
	srv := s.refusedServer(st, key, host, whole)
	if srv == nil {
		return ownPage{}, false
	}
	set := srv.Config.Settings
	if len(s.adds[set]) > 0 {
		if d := s.docRoots[set]; d != nil {
			st.Documents = d
		}
		rec := &recorder{ResponseWriter: w, st: st, snap: s, set: set, ew: w}
		rec.addHeaders(w.Header(), code)
	}
	return ownPage{server: serverHeader(set), paddingOff: set.MSIEPaddingOff}, true
}

// answerRefused answers a head the strict reader refused with code: through
// the error_page of the server the request belongs to when it has one for
// code (a 408 never: nginx closes a head that timed out without an answer,
// and its error_page with it), else with fulcrum's own page. Either way the
// connection closes after the answer, which the access log records.
func (cc *clientConn) answerRefused(code int, whole bool) {
	if code != http.StatusRequestTimeout && cc.srv.refusedPage != nil && cc.answerErrorPage(code, whole) {
		return
	}
	cc.answerAndClose(code, whole)
}

// answerErrorPage serves the error_page a refused head gets (see
// snapshot.serveRefused) and reports whether there was one. A target that
// panics ends the connection as runHandler's do.
func (cc *clientConn) answerErrorPage(code int, whole bool) (served bool) {
	sc := new(requestScratch) // a refused head is rare: no pool
	cc.fillRefused(&sc.st, code)
	r := cc.refusedRequest(&sc.st)
	w := &cc.w
	w.reset(r.Method == http.MethodHead)
	cc.closeReq = true
	defer func() {
		if p := recover(); p != nil {
			if p != http.ErrAbortHandler {
				cc.srv.mainLog().Logf(errlog.Alert, "panic serving %s: %v\n%s", cc.ci.remote, p, debug.Stack())
			}
			served, cc.lingerAfter = true, false
		}
	}()
	if !cc.srv.refusedPage(w, r, sc, string(cc.req.Headers.Get("Host")), whole, code) {
		return false
	}
	w.finish()
	cc.lingerAfter = w.err == nil && !w.dropped && cc.ctx.Err() == nil
	return true
}

// refusedRequest is the request an error_page target sees for a refused
// head: the method and target of its request line when that parsed (GET
// and no target otherwise, as nginx's error_page makes the method GET for a
// URI anyway), the Host and the other header fields read before the
// refusal, and no body.
func (cc *clientConn) refusedRequest(st *vars.State) *http.Request {
	r := &cc.hreq
	*r = *cc.base
	r.Method, r.RequestURI = cmp.Or(st.Method, http.MethodGet), st.RequestURI
	r.Proto, r.ProtoMajor, r.ProtoMinor = "HTTP/1.1", 1, 1
	if st.Proto == "HTTP/1.0" {
		r.Proto, r.ProtoMinor = "HTTP/1.0", 0
	}
	r.Header = make(http.Header, len(cc.req.Headers))
	for _, f := range cc.req.Headers {
		r.Header.Add(string(f.Name), string(f.Value))
	}
	r.Host = r.Header.Get("Host")
	cc.url = url.URL{}
	r.URL = &cc.url
	r.RemoteAddr = cc.ci.remote
	r.Close = true
	r.Body = http.NoBody
	return r
}

package daemon

import (
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"syscall"

	"fulcrum/internal/config"
	"fulcrum/internal/errlog"
	"fulcrum/internal/errpage"
	"fulcrum/internal/mp4"
	"fulcrum/internal/router"
	"fulcrum/internal/static"
	"fulcrum/internal/vars"
)

// returnHandler answers with a return directive's status, text or redirect,
// once a rewrite script reached it (answerScript).
type returnHandler struct {
	code        int
	text        *vars.Template // nil without text
	redirect    bool
	types       map[string]string // the location's types map, by lower-case extension
	defaultType string
}

func (h *returnHandler) answer(w http.ResponseWriter, r *http.Request, st *vars.State) {
	rec := w.(*recorder)
	if h.text != nil || h.code < 400 {
		// ngx_http_send_response discards the request body first, which
		// answers "Expect: 100-continue" (a bodiless request's too); an error
		// code without text answers before that, without a 100.
		_ = rec.Continue()
		if rec.earlyBodyFault() {
			// The discard found a malformed chunked body: nginx's
			// ngx_http_send_response returns its 400.
			rec.fail(http.StatusBadRequest)
			return
		}
	}
	// ngx_http_send_response sets the status before it evaluates the text,
	// so $status there is the status going out: an error page's (err_status:
	// the error's, or error_page's =code), else return's code.
	if h.text != nil {
		st.Status = h.code
		if rec.statusOverride != 0 {
			st.Status = rec.statusOverride
		}
	}
	switch {
	case h.redirect && h.text != nil:
		redirect(rec, st, h.code, h.text.String(st))
	case h.redirect:
		// "return 301;" and "return 301 "";": nginx's
		// ngx_http_send_response sets a Location all the same, empty.
		rec.Header()["Location"] = []string{""}
		rec.listLocation()
		rec.fail(h.code)
	case h.text != nil || (h.code < 400 && !h.redirect):
		h.send(w, r, st)
	case closesWithoutAnswer(h.code):
		rec.drop(h.code)
	default:
		rec.fail(h.code)
	}
}

// send answers with the code and the text (empty without one), as nginx's
// ngx_http_send_response does for any code with text and for codes below 400
// other than the redirects: the Content-Type is chosen by $uri's extension
// through the types map, else default_type (static.ContentType). A 204 goes
// out without Content-Type and Content-Length, which nginx's header filter
// strips; a 304 keeps both but sends no body.
func (h *returnHandler) send(w http.ResponseWriter, r *http.Request, st *vars.State) {
	body := ""
	if h.text != nil {
		body = h.text.String(st)
	}
	if h.code != http.StatusNoContent {
		hdr := w.Header()
		// An upstream's Content-Type kept across an X-Accel-Redirect
		// stays, as ngx_http_set_content_type keeps one already set.
		if _, set := hdr["Content-Type"]; !set {
			if ct := static.ContentType(h.types, h.defaultType, st.Path); ct != "" {
				hdr.Set("Content-Type", ct)
			}
		}
		hdr.Set("Content-Length", strconv.Itoa(len(body)))
	}
	w.WriteHeader(h.code)
	if r.Method != http.MethodHead && body != "" && h.code != http.StatusNoContent && h.code != http.StatusNotModified {
		_, _ = w.Write([]byte(body))
	}
}

// staticFailure words a failed file lookup as nginx logs it: `open()
// "/srv/x" failed (2: No such file or directory)`, `"/srv/d/index.html" is
// not found (2: No such file or directory)`, `"/srv/d/index.html" is
// forbidden (13: Permission denied)`.
func staticFailure(err error) string {
	var ce *static.CallError
	if errors.As(err, &ce) {
		return ce.Call + `() "` + ce.Path + `" failed (` + errlog.Errno(systemErr(ce.Err)) + ")"
	}
	var nf *static.NotFoundError
	if errors.As(err, &nf) {
		return `"` + nf.Path + `" is not found (` + errlog.Errno(nf.Err) + ")"
	}
	var fe *static.ForbiddenError
	if errors.As(err, &fe) {
		return `"` + fe.Path + `" is forbidden (` + errlog.Errno(fe.Err) + ")"
	}
	return err.Error()
}

// systemErr is err, or ENOENT for a file fulcrum found missing without
// asking the system (a name beside the document root: "rewrite ^
// index.php last;" makes root + "index.php", whose open() nginx sees fail
// with "2: No such file or directory").
func systemErr(err error) error {
	var no syscall.Errno
	if !errors.As(err, &no) && errors.Is(err, fs.ErrNotExist) {
		return syscall.ENOENT
	}
	return err
}

// mp4Failure is the error log entry for a file the mp4 module could not
// cut, in nginx's words: an error for a file it refuses, crit for a failed
// read.
func mp4Failure(err error) (errlog.Level, string, bool) {
	var me *mp4.Error
	if !errors.As(err, &me) {
		return 0, "", false
	}
	if me.Read {
		return errlog.Crit, me.Msg, true
	}
	return errlog.Error, me.Msg, true
}

// closesWithoutAnswer reports the codes that "return CODE;" (without text)
// answers by closing the connection, as nginx does: its own 444, and 408 and
// 499, which it treats the same way. With text they go out as answers.
func closesWithoutAnswer(code int) bool {
	return code == 444 || code == http.StatusRequestTimeout || code == 499
}

// listLocation makes the Location of this answer go out after Connection,
// where nginx's header filter leaves a Location it does not make absolute
// itself (one that does not start with "/", or with absolute_redirect off).
func (w *recorder) listLocation() {
	if w.ew != nil {
		w.ew.listLocation()
	}
}

// redirect answers with a redirect to target. A relative target becomes
// absolute (vars.State.AbsoluteURL) when the location's absolute_redirect is
// on (nginx's default), shaped by its port_in_redirect and
// server_name_in_redirect.
func redirect(rec *recorder, st *vars.State, code int, target string) {
	if !strings.HasPrefix(target, "/") || rec.set != nil && !rec.set.AbsoluteRedirect {
		rec.listLocation()
	}
	quirks := rec.pageQuirks(code, target) // msie_refresh goes to the target as written
	if set := rec.set; set == nil || set.AbsoluteRedirect {
		port, name := true, false
		if set != nil {
			port, name = set.PortInRedirect, set.ServerNameInRedirect
		}
		target = st.AbsoluteURL(target, port, name)
	}
	rec.Header().Set("Location", target)
	if rec.redirectErrorPage(code) {
		// "error_page 302 /page;" takes a redirect as any other status
		// (ngx_http_special_response_handler): the page's answer goes
		// out with the redirect's status and its Location (recorded
		// with nginx 1.22.1: "error_page 302 /text; return 302 x;"
		// answers 302, Location: x, and /text's body).
		rec.fail(code)
		return
	}
	// In an error page's location the redirect's own code goes out, not
	// error_page's: nginx's ngx_http_send_response hands a redirect to
	// the special response handler, which makes it the error status
	// (recorded with nginx 1.22.1: "error_page 404 @x;" with "return 302
	// /login;" or "rewrite ^ /y redirect;" in @x answers 302, even under
	// "error_page 404 =200 @x;").
	rec.statusOverride = 0
	errpage.WriteFor(rec, code, rec.server, quirks)
}

// redirectErrorPage reports whether an error_page of the serving level
// takes the redirect code, before any error page was used.
func (w *recorder) redirectErrorPage(code int) bool {
	if w.wroteHeader || w.errorPageUsed || w.set == nil {
		return false
	}
	for _, ep := range w.set.ErrorPages {
		if slices.Contains(ep.Codes, code) {
			return true
		}
	}
	return false
}

// staticHandler serves files (root, alias, index, try_files) through the static
// package; try_files fallbacks come back as internal redirects, and so does an
// index file whose URI belongs to another location (srv routes it; loc is the
// handler's own location).
type staticHandler struct {
	rv        *static.Resolver
	templates map[string]*vars.Template
	log       *errlog.Logger
	srv       *router.Server
	loc       *config.Location
	listing   static.Listing // autoindex
	dav       *davConfig     // nil without dav_methods
	// flv is the location's flv: a file is sent from the "start" argument's
	// offset after the FLV header (static.Result.FLVStart), and neither
	// gzip_static nor dav applies, as nginx's flv handler replaces the
	// content phase's handlers.
	flv bool
	// mp4 is the location's mp4 options, nil without mp4: a file is cut to
	// the "start" and "end" arguments (static.Result.MP4); gzip_static and
	// dav do not apply and methods other than GET and HEAD get 405 before
	// the file is looked for, as nginx's mp4 handler answers.
	mp4 *mp4.Options
}

// staticHandler builds the static-file handler of loc (also the try_files
// phase before another content handler).
func (b *handlerBuilder) staticHandler(loc *config.Location) (handler, error) {
	return newStaticHandler(b.srv, loc, b.comp, b.snap.logAt(loc.Settings), b.snap.cfg.Prefix)
}

// newStaticHandler builds the static-file handler of loc; prefix is the
// configuration's prefix, which a root or alias with variables that comes out
// relative is taken from at request time.
func newStaticHandler(srv *router.Server, loc *config.Location, comp *vars.Compiler, log *errlog.Logger, prefix string) (handler, error) {
	rv, err := static.New(loc.Settings, loc.Settings.Types, static.Location{Path: loc.Path, Regex: loc.Regex != nil, Prefix: prefix})
	if err != nil {
		return nil, fmt.Errorf("location %q in %s: %w", loc.Path, loc.Pos, err)
	}
	h := &staticHandler{rv: rv, templates: map[string]*vars.Template{}, log: log, srv: srv, loc: loc, listing: listingOf(loc.Settings),
		dav: newDAVConfig(loc, rv.AliasPrefix()), flv: loc.Settings.FLV}
	if m := loc.Settings.MP4; m.On {
		h.mp4 = &mp4.Options{BufferSize: m.BufferSize, MaxBufferSize: m.MaxBufferSize, StartKeyFrame: m.StartKeyFrame}
	}
	for _, src := range rv.Templates() {
		t, err := comp.Compile(src)
		if err != nil {
			return nil, fmt.Errorf("%w in %s", err, loc.Pos)
		}
		h.templates[src] = t
	}
	return h, nil
}

// elsewhere reports whether nginx's internal redirect to the index file's uri
// would land in another location, with its own rules and handler (a
// "location ~ \.php$ { deny all; }" for index.php). When no location matches,
// the file is served here, with this location's settings, unless the
// location has try_files or the server or location rewrite-module
// directives, which nginx runs again on the index file's URI (recorded with
// nginx 1.22.1: "try_files $uri/ =404" answers 404 for it, "rewrite
// ^/index\.html$ /x last" goes to /x), or mirror, whose precontent phase
// runs again (recorded with nginx 1.22.1: "location / { mirror /m; }"
// mirrors GET /?a twice, for "/" and for "/index.html"; nginx-tests'
// mirror.t, "log - redirect").
func (h *staticHandler) elsewhere(uri string) bool {
	if h.loc != nil && (h.loc.Settings.TryFiles != nil || len(h.loc.Settings.Rewrites) > 0 || h.loc.Settings.Mirrors != nil) {
		return true
	}
	if cs := h.srv.Config; cs != nil && cs.Settings != nil && len(cs.Settings.Rewrites) > 0 {
		return true
	}
	loc := h.srv.Location(uri).Location
	return loc != nil && loc != h.loc
}

// expand evaluates the location's root, alias and try_files entries for st.
func (h *staticHandler) expand(st *vars.State) func(string) string {
	return func(src string) string {
		if t := h.templates[src]; t != nil {
			return t.String(st)
		}
		return src
	}
}

func (h *staticHandler) serve(w http.ResponseWriter, r *http.Request, st *vars.State) *internalRedirect {
	rec := w.(*recorder)
	handler := h.flv || h.mp4 != nil // a module's content handler, not the static files'
	if handler && r.Method != http.MethodGet && r.Method != http.MethodHead {
		// nginx's flv and mp4 handlers refuse other methods first, for a
		// missing file or a directory too.
		rec.fail(http.StatusMethodNotAllowed)
		return nil
	}
	if h.dav != nil && !handler && h.dav.methods.Has(r.Method) {
		return h.serveDAV(rec, r, st)
	}
	gzOK, gzTry := false, false
	if rec.set != nil && rec.set.Gzip.Static != config.GzipStaticOff && !handler {
		gzOK, gzTry = gzipStaticWanted(rec, r)
	}
	res := h.rv.Resolve(static.Request{Method: r.Method, URI: st.Path, Args: st.Args, Expand: h.expand(st),
		GzipStatic: gzOK, GzipVary: gzTry && rec.set.Gzip.Vary})
	if gzTry && res.Kind == static.KindFile {
		res = h.precompressed(rec, r, st, res, gzOK)
	} else if res.GzipVary {
		rec.varyAcceptEncoding(rec.Header())
	}
	if res.Kind == static.KindFile || res.Kind == static.KindRedirect || res.Kind == static.KindStatus || res.Kind == static.KindDirectory {
		// try_files and index change $uri in nginx (the index by an internal
		// redirect): the log, add_header and error_page see the new one.
		st.Path = res.URI
	}
	switch res.Kind {
	case static.KindFile:
		if res.Index && h.elsewhere(res.URI) {
			return &internalRedirect{uri: res.URI, args: st.Args, argsFound: st.ArgsFound}
		}
		if rec.statusOverride != 0 {
			// An error page (error_page 404 [=code] /404.html): ServeFile sends
			// the file with that status itself, so without Last-Modified,
			// ranges or a 304, except for a 200, which nginx's filters may
			// still turn into a 304 or a 206.
			res.Status, rec.statusOverride = rec.statusOverride, 0
		} else if h.flv {
			res.FLVStart = static.FLVStart(st.Args)
		} else if h.mp4 != nil {
			if rng, ok := static.MP4Range(st.Args); ok {
				res.MP4 = &static.MP4Cut{Range: rng, Options: *h.mp4}
			}
		}
		rec.fileResponse = true
		// The static module discards the body once it found the file, which
		// answers "Expect: 100-continue" (a bodiless request's too).
		_ = rec.Continue()
		if (r.Method == http.MethodGet || r.Method == http.MethodHead) && rec.earlyBodyFault() {
			// The discard found a malformed chunked body: the static
			// module returns its 400 (after its method check).
			rec.fail(http.StatusBadRequest)
			return nil
		}
		if err := static.ServeFile(rec, r, res); err != nil && !rec.wroteHeader {
			rec.fileResponse = false
			if level, msg, ok := mp4Failure(err); ok {
				rec.ErrorLog(h.log).LogRequest(level, logRequest(st, r), msg)
			} else if h.openFailed(err) {
				// The file's open failed where its lookup did not (a
				// mode 000 file): nginx's open() line.
				rec.ErrorLog(h.log).LogRequest(errlog.Error, logRequest(st, r), staticFailure(err))
			}
			if errors.Is(err, static.ErrRangeNotSatisfiable) {
				rec.filterStatus = http.StatusOK
			}
			rec.fail(static.ErrorStatus(err))
		}
	case static.KindRedirect:
		redirect(rec, st, http.StatusMovedPermanently, res.Location)
	case static.KindDirectory:
		h.list(rec, r, st, res)
	default:
		return h.notServedHere(rec, r, st, res)
	}
	return nil
}

// openFailed reports whether err, from ServeFile, is a failed open that
// nginx's static module logs: any but a missing file under log_not_found
// off.
func (h *staticHandler) openFailed(err error) bool {
	var ce *static.CallError
	return errors.As(err, &ce) && !(h.loc.Settings.LogNotFoundOff && static.Missing(err))
}

// notServedHere follows a result that serves no file here: a try_files fallback
// or index redirect (internally, to a URI or a named location), or a status
// (logged when the file system failed).
func (h *staticHandler) notServedHere(rec *recorder, r *http.Request, st *vars.State, res static.Result) *internalRedirect {
	switch res.Kind {
	case static.KindInternalRedirect:
		// try_files's fallback always leaves $args found, an index
		// redirect keeps the request's.
		return &internalRedirect{uri: res.URI, args: res.Args, argsFound: res.ArgsFound || st.ArgsFound}
	case static.KindNamedLocation:
		return &internalRedirect{named: res.Name}
	}
	if res.Err != nil && !(h.loc.Settings.LogNotFoundOff && static.Missing(res.Err)) {
		rec.ErrorLog(h.log).LogRequest(errlog.Error, logRequest(st, r), staticFailure(res.Err))
	}
	rec.fail(res.Status)
	return nil
}

// gzipStaticWanted is the start of nginx's gzip_static handler for a GET or
// HEAD: ok reports that the client gets FILE.gz ("gzip_static always", or
// "on" and gzipfilter.ClientOK), try that FILE.gz is looked for at all
// (ok, or gzip_vary, which its existence turns on).
func gzipStaticWanted(rec *recorder, r *http.Request) (ok, try bool) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		return false, false
	}
	g := &rec.set.Gzip
	ok = g.Static == config.GzipStaticAlways
	if !ok {
		ok = rec.gzipClientOK(g, rec.Header(), false)
	}
	return ok, ok || g.Vary
}

// precompressed is the rest of nginx's gzip_static handler for a file
// found: when FILE.gz exists (a directory too), the response gets "Vary:
// Accept-Encoding" under gzip_vary and, when the client gets it (ok) and
// it is a regular file, FILE.gz goes out in FILE's place, with FILE's
// Content-Type. A .gz that cannot be opened for
// another reason than its absence is logged, and FILE is served.
func (h *staticHandler) precompressed(rec *recorder, r *http.Request, st *vars.State, res static.Result, ok bool) static.Result {
	if res.Encoding == "" {
		if strings.HasSuffix(res.URI, "/") {
			return res
		}
		gz, found, err := static.Precompressed(res)
		exists := found || errors.Is(err, static.ErrNotRegular)
		if err != nil && !exists {
			rec.ErrorLog(h.log).LogRequest(errlog.Error, logRequest(st, r), staticFailure(err))
		}
		if !exists {
			return res
		}
		if ok && found {
			res = gz
		}
	}
	if rec.set.Gzip.Vary {
		rec.varyAcceptEncoding(rec.Header())
	}
	return res
}

// tryFilesFirst is nginx's try_files phase in front of a content handler other
// than the files' (proxy_pass): an entry that exists becomes $uri and the
// content handler runs with it (proxy_pass without a URI part still sends the
// client's URI, as nginx keeps its unparsed one; with a URI part the new
// $uri's rest follows it); when none does, the fallback redirects internally
// (a URI or a named location) or answers its =code.
type tryFilesFirst struct {
	files   *staticHandler // the location's root or alias and try_files
	content handler
}

func (h tryFilesFirst) serve(w http.ResponseWriter, r *http.Request, st *vars.State) *internalRedirect {
	rec := w.(*recorder)
	res := h.files.rv.Resolve(static.Request{Method: r.Method, URI: st.Path, Args: st.Args, Expand: h.files.expand(st), TryOnly: true})
	if res.Kind != static.KindFile {
		return h.files.notServedHere(rec, r, st, res)
	}
	st.Path = res.URI
	return h.content.serve(w, r, st)
}

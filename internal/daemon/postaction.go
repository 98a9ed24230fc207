package daemon

import (
	"context"
	"errors"
	"net/http"
	"runtime/debug"
	"strings"

	"fulcrum/internal/config"
	"fulcrum/internal/errlog"
	"fulcrum/internal/rewrite"
	"fulcrum/internal/vars"
)

// postAction is what a main request needs for its post_action.
type postAction struct {
	// read reports that the body was read (rec.body), or that there was
	// none.
	read bool
}

// keepPostActionBody reads the whole request body of a main request whose
// location has a post_action (readBody, with set's client_body_* settings),
// so that the post action sends it again as nginx's does (nginx keeps the
// body it read). The content handler then reads it from memory or its
// temporary file. A body the mirrors read is taken as it is. It reports
// false when reading failed, the request answered (413, 408, 400, 500),
// as mirror_request_body does.
func (s *snapshot) keepPostActionBody(rec *recorder, r *http.Request, st *vars.State, set *config.Settings) bool {
	if rec.post.read {
		return true
	}
	rec.post.read = true
	if r.Body == nil || r.Body == http.NoBody {
		return true
	}
	return s.readBody(rec, r, st, set)
}

// keepIncludeBody reads the whole request body before the content handler
// at a level whose response may include subrequests (ssi on,
// add_before_body, add_after_body), so that they send it too
// (includeRequest), as nginx's subrequests send the body the main request
// read. The content handler then reads it from memory or its temporary
// file (proxy_request_buffering off no longer streams it there). It
// reports false when reading failed, the request answered, as
// mirror_request_body does.
func (s *snapshot) keepIncludeBody(rec *recorder, r *http.Request, st *vars.State, set *config.Settings) bool {
	if r.Body == nil || r.Body == http.NoBody || r.ContentLength == 0 {
		return true
	}
	return s.readBody(rec, r, st, set)
}

// includes reports whether set's responses may include subrequests whose
// requests carry the body (keepIncludeBody).
func includes(set *config.Settings) bool {
	return set.SSI.On || set.AddBeforeBody != "" || set.AddAfterBody != ""
}

// postActionTarget is the post_action of a finished main request: that of
// the level that answered it (rec.set), "" when it has none or the request
// does not get one: one cut short (a panic), dropped with 444 (nginx's
// NGX_HTTP_CLOSE terminates the request without it), taken over by an
// upgrade, or refused before its server was chosen.
func postActionTarget(rec *recorder, completed bool) string {
	if !completed || rec.sub || rec.set == nil || rec.srv == nil || rec.hijacked != nil || rec.st.Status == 444 {
		return ""
	}
	return rec.set.PostAction
}

// errPostAction ends the response of a post action at its first body byte:
// nginx's post action is header only (r->header_only), so a proxied one
// ends, its upstream connection closed, once the head arrived.
var errPostAction = errors.New("post action: the body is not read")

// headOnly is the body writer under a post action's subWriter: it refuses
// every byte (errPostAction).
type headOnly struct{}

func (headOnly) Write(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	return 0, errPostAction
}

// runPostAction is ngx_http_post_action for a main request whose response
// went out whole: the request goes on, internally, to target (a URI, with
// no arguments, or a named location, with the request's URI and
// arguments), with its method, header fields and body, and the answer is
// dropped after its head. It runs even when the client went away (the
// context cannot be cancelled by it), bounded by the timeouts of the
// location it reaches (a proxied one's connect, send and read timeouts, up
// to the head). The request's one log line is then written as nginx 1.22.1
// writes it (recorded): by the access_log of the location the post action
// reached, whose settings runPostAction returns (nil: the main request's),
// with the post action's $uri and upstream attempts after the main
// request's, and its status unless the main request answered with an error
// page (vars.State.EndPostAction). Access checks and limits do not run again
// (as for fulcrum's other subrequests), and a post_action of the location
// the post action reaches is not followed (nginx follows it until its
// internal redirects run out, about ten times, and logs 500).
func (s *snapshot) runPostAction(main *recorder, r *http.Request, st *vars.State, target string) (logSet *config.Settings) {
	srv := main.srv
	path, args, found, rewritten, whole := st.Path, st.Args, st.ArgsFound, st.Rewritten, st.WholeURI
	saved := st.BeginSubrequest(target, r.Method)
	defer st.EndPostAction(saved, main.errorPage)
	sr := r.Clone(context.WithoutCancel(r.Context()))
	if _, ok := sr.Header["Upgrade"]; ok {
		delete(sr.Header, "Upgrade") // the connection is not to be taken over
	}
	sr.TransferEncoding = nil
	if body := main.body; body != nil && body.Size() > 0 {
		sr.Body, sr.ContentLength = body.NewReader(), body.Size()
	} else {
		sr.Body, sr.ContentLength = http.NoBody, 0
	}
	pw := &subWriter{header: http.Header{}, body: headOnly{}}
	sub := &recorder{ResponseWriter: pw, st: st, snap: s, req: sr, keepSlashes: main.keepSlashes,
		realIPSet: true, sub: true, srv: srv}
	defer func() {
		sub.gz.Abort()
		// A proxied answer ends at its head with a panic
		// (http.ErrAbortHandler): the location's settings still log.
		logSet = sub.set
		if p := recover(); p != nil && p != http.ErrAbortHandler {
			main.log().Logf(errlog.Alert, "panic serving the post action %q of %s: %v\n%s", target, st.Remote, p, debug.Stack())
		}
	}()
	var loc *config.Location
	res := rewrite.Result{Internal: true} // an internal location may take it
	if strings.HasPrefix(target, "@") {
		st.Path, st.Args, st.ArgsFound, st.Rewritten, st.WholeURI = path, args, found, rewritten, whole
		if loc = srv.Named(target); loc == nil {
			main.log().LogRequest(errlog.Error, logRequest(st, r), `could not find named location "`+target+`"`)
			return nil
		}
	} else {
		loc, res = s.subrequestLocation(sr, st, srv, nil) // the main request itself in nginx: its own log
	}
	s.runSubrequestAt(sub, sr, st, srv, loc, res)
	return sub.set
}

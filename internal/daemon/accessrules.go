package daemon

import (
	"context"
	"net/http"
	"net/netip"
	"time"

	"fulcrum/internal/config"
	"fulcrum/internal/errlog"
	"fulcrum/internal/router"
	"fulcrum/internal/vars"
)

// preaccess runs nginx's preaccess and access phases for a request about to
// be served at loc, or at the server's own level when no location matched:
// the location's realip rule, limit_req (which may reject the request or
// hold it for a while), the limit_conn counts, then the access phase: the
// allow and deny rules and auth_basic, combined by satisfy, with the
// location's limit_except block for a method it does not list. nginx's
// handlers run in that order. It reports whether the client may go on to
// the content handler; when not, it has answered (limit_req_status,
// limit_conn_status, 403 or 401, or 499 for a client that left during a
// delay) and logged the refusal as nginx does.
//
// A return (the location's or the server's) answers in nginx's rewrite phases,
// which run before these (see run), so a request it answers is never refused.
func (s *snapshot) preaccess(rec *recorder, r *http.Request, st *vars.State, srv *router.Server, loc *config.Location) bool {
	set := srv.Config.Settings
	if loc != nil {
		set = loc.Settings
	}
	s.locationRealIP(rec, r, st, loc)
	code, delay := s.limitReq(r, st, set)
	if code != 0 {
		rec.fail(code)
		return false
	}
	if delay > 0 && !s.waitLimitReq(rec, r, st, delay) {
		return false
	}
	if code := s.limitConn(rec, r, st, set); code != 0 {
		rec.fail(code)
		return false
	}
	set = accessSettings(set, loc, r.Method)
	if set.Access == nil && set.AuthBasic == nil && set.AuthRequest == "" && set.AuthJWT == nil && set.AuthOIDC == "" {
		return true // most requests: no access phase to run
	}
	if code := s.accessPhase(rec, r, st, srv, set); code != 0 {
		if code == accessAnswered { // auth_oidc wrote its page
			return false
		}
		if code == 499 { // the client left during auth_request's subrequest
			rec.drop(499)
			return false
		}
		if code == http.StatusUnauthorized && set.AuthDelay > 0 && !s.authDelay(rec, r, st, set.AuthDelay) {
			return false
		}
		rec.fail(code)
		return false
	}
	return true
}

// authDelay holds a 401 of the access phase for auth_delay, as nginx's
// ngx_http_core_auth_delay does, to slow down password guessing (a 403,
// and a 401 that a return or a content handler answers, go out at once, as
// in nginx). The wait is a timer on the request's goroutine, nothing runs
// meanwhile. It reports false when the client went away first (the
// server's client check sees it within abortCheckInterval): the request
// then ends as nginx's ngx_http_test_reading ends it, with 499 and no
// answer. A graceful stop ends the wait early, and the 401 goes out (with
// Connection: close) instead of holding the shutdown.
func (s *snapshot) authDelay(rec *recorder, r *http.Request, st *vars.State, d time.Duration) bool {
	rec.waited() // a body sent meanwhile is seen by the 401's discard, as nginx's
	if rec.log().Enabled(errlog.Info) {
		rec.log().LogRequest(errlog.Info, logRequest(st, r), "delaying unauthorized request")
	}
	var stop <-chan struct{}
	if rec.ew != nil {
		stop = rec.ew.stopped()
		rec.ew.watchNow()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-stop:
	case <-r.Context().Done():
		if rec.log().Enabled(errlog.Info) {
			rec.log().LogRequest(errlog.Info, logRequest(st, r), prematureClose(context.Cause(r.Context())))
		}
		rec.drop(499)
		return false
	}
	return true
}

// denied reports whether rules refuse client, an invalid Addr meaning a client
// on a unix socket. The first rule that matches decides; none matching lets the
// client in.
//
// nginx keeps one list per address family (all is in each) and checks an
// IPv4-mapped IPv6 client ("::ffff:10.0.0.1", as real_ip_header may give) as
// IPv4 when the IPv4 list is not empty, else against the IPv6 rules: so
// unmapping it only when some rule is IPv4 or all gives the same answers. Other
// rules of another family never match (netip.Prefix.Contains).
func denied(rules []config.AccessRule, client netip.Addr) bool {
	return ruleFor(rules, client) == ruleDeny
}

// ruleVerdict is what the allow and deny rules say of a client.
type ruleVerdict int

// The verdicts: no rule matched (nginx's access handler declines), or the
// first matching rule is an allow or a deny.
const (
	ruleNone ruleVerdict = iota
	ruleAllow
	ruleDeny
)

// ruleFor is the verdict of rules on client (see denied).
func ruleFor(rules []config.AccessRule, client netip.Addr) ruleVerdict {
	if client.Is4In6() && hasIPv4Rule(rules) {
		client = client.Unmap()
	}
	for i := range rules {
		r := &rules[i]
		switch {
		case r.All:
			return verdict(r.Deny)
		case r.Unix:
			if !client.IsValid() {
				return verdict(r.Deny)
			}
		case r.Prefix.Contains(client):
			return verdict(r.Deny)
		}
	}
	return ruleNone
}

// verdict is the verdict of a matching rule.
func verdict(deny bool) ruleVerdict {
	if deny {
		return ruleDeny
	}
	return ruleAllow
}

// hasIPv4Rule reports whether nginx's IPv4 list of rules would be non-empty.
func hasIPv4Rule(rules []config.AccessRule) bool {
	for i := range rules {
		if rules[i].All || rules[i].Prefix.Addr().Is4() {
			return true
		}
	}
	return false
}

// logRequest is the request context of an error log line, as nginx writes
// it: the connection's number, the client, the server, the request line as
// received, the upstream the request last tried (before an internal
// redirect, as nginx's r->upstream outlives it), the Host and the Referer.
func logRequest(st *vars.State, r *http.Request) *errlog.Request {
	req := &errlog.Request{Conn: st.Conn, Client: st.RemoteAddr(), Server: st.ServerName,
		Request: st.RequestLine, Upstream: st.LastUpstream.String(), Host: r.Host, Action: st.LogAction}
	req.Referrer, req.ReferrerSent = st.Referer()
	if st.InSubrequest { // nginx names the subrequest's $uri (ngx_http_log_error_handler)
		req.Subrequest = st.Path
	}
	return req
}

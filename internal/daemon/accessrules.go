package daemon

import (
	"net/http"
	"net/netip"

	"fulcrum/internal/config"
	"fulcrum/internal/errlog"
	"fulcrum/internal/router"
	"fulcrum/internal/vars"
)

// preaccess runs nginx's preaccess and access phases for a request about to
// be served at loc, or at the server's own level when no location matched:
// the location's realip rule, limit_req (which may reject the request or
// hold it for a while), the limit_conn counts, then the allow and deny rules
// (ngx_http_access_module): nginx's preaccess handlers run in that order. It
// reports whether the client may go on to the content handler; when not, it
// has answered (limit_req_status, limit_conn_status or 403, or 499 for a
// client that left during a delay) and logged the refusal as nginx does.
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
	if !s.permitted(r, st, set) {
		rec.fail(http.StatusForbidden)
		return false
	}
	return true
}

// permitted applies the allow and deny rules of set, logging a refusal.
func (s *snapshot) permitted(r *http.Request, st *vars.State, set *config.Settings) bool {
	if set.Access == nil {
		return true
	}
	if !denied(set.Access, st.Remote.Addr()) {
		return true
	}
	if s.log.Enabled(errlog.Error) {
		s.log.LogRequest(errlog.Error, logRequest(st, r), "access forbidden by rule")
	}
	return false
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
	if client.Is4In6() && hasIPv4Rule(rules) {
		client = client.Unmap()
	}
	for i := range rules {
		r := &rules[i]
		switch {
		case r.All:
			return r.Deny
		case r.Unix:
			if !client.IsValid() {
				return r.Deny
			}
		case r.Prefix.Contains(client):
			return r.Deny
		}
	}
	return false
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

// clientName is the client as nginx's error log names it: its address, or
// "unix:" for a unix socket.
// logRequest is the request context of an error log line, as nginx writes
// it: the connection's number, the client, the server, the request line as
// received and the Host.
func logRequest(st *vars.State, r *http.Request) *errlog.Request {
	return &errlog.Request{Conn: st.Conn, Client: st.RemoteAddr(), Server: st.ServerName,
		Request: st.RequestLine, Host: r.Host}
}

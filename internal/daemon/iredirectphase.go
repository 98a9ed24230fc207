package daemon

import (
	"fmt"
	"net/http"
	"strings"

	"fulcrum/internal/config"
	"fulcrum/internal/errlog"
	"fulcrum/internal/router"
	"fulcrum/internal/vars"
)

// compileRedirectTargets compiles the internal_redirect values that hold
// variables, keyed by their text; values without variables are used as
// written.
func (s *snapshot) compileRedirectTargets(comp *vars.Compiler) error {
	return walkSettings(s.cfg.HTTP.Servers, func(set *config.Settings) error {
		v := set.InternalRedirect
		if !strings.Contains(v, "$") || s.redirectTargets[v] != nil {
			return nil
		}
		t, err := comp.Compile(v)
		if err != nil {
			return fmt.Errorf("%w in %s", err, set.InternalRedirectPos)
		}
		if s.redirectTargets == nil {
			s.redirectTargets = map[string]*vars.Template{}
		}
		s.redirectTargets[v] = t
		return nil
	})
}

// redirectAfterAccess is NGINX Plus's internal_redirect: "In contrast to
// rewriting URIs, the redirection is made after checking request and
// connection processing limits, and access limits", so run calls it after
// preaccess (limit_req, limit_conn, then allow/deny, auth_basic,
// auth_request, auth_jwt) let the request in, and before mirror,
// try_files and the content handler. It reports whether it took the
// request: *next is the redirect (a URI, with its arguments after "?", or
// a named location; the method stays), or a named location that does not
// exist was answered with 500 as nginx's ngx_http_named_location does. An
// empty value (after its variables) makes no redirect: false.
func (s *snapshot) redirectAfterAccess(rec *recorder, r *http.Request, st *vars.State, srv *router.Server, next **internalRedirect) bool {
	set := rec.set
	if set == nil || set.InternalRedirect == "" {
		return false
	}
	target := set.InternalRedirect
	if t := s.redirectTargets[target]; t != nil {
		target = t.String(st)
	}
	switch {
	case target == "":
		return false
	case strings.HasPrefix(target, "@"):
		if srv.Named(target) == nil {
			rec.log().LogRequest(errlog.Error, logRequest(st, r), `could not find named location "`+target+`"`)
			rec.fail(http.StatusInternalServerError)
			return true
		}
		*next = &internalRedirect{named: target}
	default:
		uri, args, found := strings.Cut(target, "?")
		*next = &internalRedirect{uri: uri, args: args, argsFound: found}
	}
	return true
}

package daemon

import (
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"strings"
	"syscall"

	"fulcrum/internal/config"
	"fulcrum/internal/errlog"
	"fulcrum/internal/htpasswd"
	"fulcrum/internal/router"
	"fulcrum/internal/vars"
)

// authBasic is a compiled auth_basic with its auth_basic_user_file.
type authBasic struct {
	realm, file *vars.Template
	// confDir is where a relative path the file evaluates to is taken
	// from (config.AuthBasic.ConfDir).
	confDir string
}

// compileAuth compiles the realm and user file templates of every level
// with auth_basic, limit_except blocks included.
func (s *snapshot) compileAuth(comp *vars.Compiler) error {
	s.auths = map[*config.Settings]*authBasic{}
	add := func(set *config.Settings) error {
		ab := set.AuthBasic
		if ab == nil || s.auths[set] != nil {
			return nil
		}
		realm, err := comp.Compile(ab.Realm)
		if err != nil {
			return fmt.Errorf("%w in %s", err, ab.RealmPos)
		}
		file, err := comp.Compile(ab.UserFile)
		if err != nil {
			return fmt.Errorf("%w in %s", err, ab.UserFilePos)
		}
		s.auths[set] = &authBasic{realm: realm, file: file, confDir: ab.ConfDir}
		return nil
	}
	return walkSettings(s.cfg.HTTP.Servers, add)
}

// accessSettings are the settings the access phase of a request at loc
// uses: its limit_except block's when the method is not one the block
// lists (nginx swaps the whole location configuration; only the access
// directives may differ in fulcrum's blocks).
func accessSettings(set *config.Settings, loc *config.Location, method string) *config.Settings {
	if loc != nil && loc.LimitExcept != nil && loc.LimitExcept.Applies(method) {
		return loc.LimitExcept.Settings
	}
	return set
}

// accessPhase runs nginx's access phase (ngx_http_core_access_phase and
// its post-access step) for set: the access module, then auth_basic, then
// auth_request, in the order nginx runs them, with NGINX Plus's auth_jwt
// and auth_oidc between the last two (their place among them is fulcrum's
// choice: a bad token costs no subrequest). auth_oidc may also answer the
// request itself (its logout pages: accessAnswered). It returns 0 to let the request in, or the status
// to answer with, having logged as nginx does and set WWW-Authenticate on
// a 401.
//
// With satisfy all each check must not refuse, and the first refusal
// answers. With satisfy any the first check that allows ends the phase;
// refusals are remembered (a 401 is never replaced by a 403) and answered
// when no check allowed; an error other than 401 and 403 answers at once.
// A check that does not apply (no rules matched, no auth_basic) declines.
func (s *snapshot) accessPhase(w *recorder, r *http.Request, st *vars.State, srv *router.Server, set *config.Settings) int {
	code := 0
	for module := 0; module < 5; module++ {
		var rc int
		switch module {
		case 0:
			rc = s.accessRules(r, st, set)
		case 1:
			rc = s.authBasic(w, r, st, set)
		case 2:
			rc = s.authJWTCheck(w, r, st, srv, set)
		case 3:
			rc = s.authOIDC(w, r, st, set)
		default:
			rc = s.authRequest(w, r, st, srv, set)
		}
		switch {
		case rc == 0:
			continue
		case rc == accessAnswered:
			return rc
		case !set.SatisfyAny:
			if rc == http.StatusOK {
				continue
			}
			return rc
		case rc == http.StatusOK:
			delete(w.Header(), "WWW-Authenticate")
			return 0
		case rc == http.StatusForbidden || rc == http.StatusUnauthorized:
			if code != http.StatusUnauthorized {
				code = rc
			}
		default:
			return rc
		}
	}
	if code == http.StatusForbidden && w.log().Enabled(errlog.Error) {
		w.log().LogRequest(errlog.Error, logRequest(st, r), "access forbidden by rule")
	}
	return code
}

// accessRules is ngx_http_access_handler: 0 when no rule matches, 200 when
// an allow rule does, 403 when a deny rule does (logged here under satisfy
// all; under satisfy any the phase's end logs it if it stands).
func (s *snapshot) accessRules(r *http.Request, st *vars.State, set *config.Settings) int {
	if set.Access == nil {
		return 0
	}
	switch ruleFor(set.Access, st.Remote.Addr()) {
	case ruleAllow:
		return http.StatusOK
	case ruleDeny:
		if !set.SatisfyAny && s.logAt(set).Enabled(errlog.Error) {
			s.logAt(set).LogRequest(errlog.Error, logRequest(st, r), "access forbidden by rule")
		}
		return http.StatusForbidden
	}
	return 0
}

// authBasic is ngx_http_auth_basic_handler: 0 when off, 200 for a valid
// login, 401 (with WWW-Authenticate) for none or a wrong one, 403 for a
// missing user file and 500 for one that cannot be read or a hash fulcrum
// cannot check.
func (s *snapshot) authBasic(w http.ResponseWriter, r *http.Request, st *vars.State, set *config.Settings) int {
	ab := s.auths[set]
	if ab == nil {
		return 0
	}
	realm := ab.realm.String(st)
	if realm == "off" {
		return 0
	}
	user, password, ok := vars.BasicCredentials(st)
	if !ok {
		s.logAuth(set, errlog.Info, r, st, "no user/password was provided for basic authentication")
		return challenge(w, realm)
	}
	path := fullName(ab.confDir, ab.file.String(st))
	f, err := s.userFiles.Load(path)
	if err != nil {
		return s.userFileError(r, st, set, err)
	}
	hash, found := f.Lookup(user)
	if !found {
		s.logAuth(set, errlog.Error, r, st, `user "`+user+`" was not found in "`+path+`"`)
		return challenge(w, realm)
	}
	match, err := htpasswd.Verify(password, hash)
	if err != nil {
		s.logAuth(set, errlog.Crit, r, st, `crypt() failed: fulcrum cannot check the password hash of user "`+user+`" in "`+path+`" (DES or another crypt(3) scheme); use $apr1$, $5$, $6$, $2y$ or {SSHA}`)
		return http.StatusInternalServerError
	}
	if !match {
		s.logAuth(set, errlog.Error, r, st, `user "`+user+`": password mismatch`)
		return challenge(w, realm)
	}
	return http.StatusOK
}

// fullName is nginx's ngx_get_full_name for a path a variable gave: name
// when it is absolute, else under prefix (an empty name is prefix with its
// "/", which nginx 1.22.1 opens and fails to read: 500). A path written
// without variables was resolved at load.
func fullName(prefix, name string) string {
	if strings.HasPrefix(name, "/") || prefix == "" {
		return name
	}
	return strings.TrimSuffix(prefix, "/") + "/" + name
}

// challenge sets nginx's WWW-Authenticate (the realm copied as it is) and
// returns 401.
func challenge(w http.ResponseWriter, realm string) int {
	// nginx's spelling of the name, which Header().Set would canonicalize
	w.Header()["WWW-Authenticate"] = []string{`Basic realm="` + realm + `"`}
	return http.StatusUnauthorized
}

// userFileError logs a user file that cannot be read as nginx does: a
// missing file is an error answered with 403, anything else is critical
// and answered with 500.
func (s *snapshot) userFileError(r *http.Request, st *vars.State, set *config.Settings, err error) int {
	var pe *fs.PathError
	op, path := "open", ""
	if errors.As(err, &pe) {
		op, path = pe.Op, pe.Path
	}
	if op == "read" {
		op = "pread"
	}
	msg := op + `() "` + path + `" failed (` + errlog.Errno(err) + ")"
	if op == "open" && errors.Is(err, syscall.ENOENT) {
		s.logAuth(set, errlog.Error, r, st, msg)
		return http.StatusForbidden
	}
	s.logAuth(set, errlog.Crit, r, st, msg)
	return http.StatusInternalServerError
}

// logAuth writes an auth_basic line at level with the request's context to
// the error log of set's level.
func (s *snapshot) logAuth(set *config.Settings, level errlog.Level, r *http.Request, st *vars.State, msg string) {
	if log := s.logAt(set); log.Enabled(level) {
		log.LogRequest(level, logRequest(st, r), msg)
	}
}

package daemon

import (
	"fmt"
	"io/fs"
	"math"
	"net/http"
	"os"
	"strconv"

	"fulcrum/internal/config"
	"fulcrum/internal/errlog"
	"fulcrum/internal/h1"
	"fulcrum/internal/pcre"
	"fulcrum/internal/rewrite"
	"fulcrum/internal/router"
	"fulcrum/internal/vars"
)

// maxURIChanges is nginx's NGX_HTTP_MAX_URI_CHANGES + 1: a request may search
// its location again after a rewrite, or follow an internal redirect, ten
// times in all; the eleventh is a "rewrite or internal redirection cycle".
const maxURIChanges = 11

// eachStep calls f for every rewrite-module step of the configuration, the
// steps inside if blocks included.
func eachStep(cfg *config.Config, f func(*config.Step) error) error {
	var walkSteps func([]config.Step) error
	walkSteps = func(steps []config.Step) error {
		for i := range steps {
			if err := f(&steps[i]); err != nil {
				return err
			}
			if steps[i].Kind == config.StepIf {
				if err := walkSteps(steps[i].If.Steps); err != nil {
					return err
				}
			}
		}
		return nil
	}
	for _, srv := range cfg.HTTP.Servers {
		if err := walkSteps(srv.Settings.Rewrites); err != nil {
			return err
		}
		err := walkLocations(srv.Locations, func(l *config.Location) error { return walkSteps(l.Settings.Rewrites) })
		if err != nil {
			return err
		}
	}
	return nil
}

// declareRewriteCaptures declares the named groups of the regexes of every
// rewrite and if, as the compiler must know them before templates use them.
func declareRewriteCaptures(cfg *config.Config, declare func(*pcre.Regexp, config.Pos)) {
	_ = eachStep(cfg, func(s *config.Step) error {
		switch s.Kind {
		case config.StepRewrite:
			declare(s.Rewrite.Regex, s.Pos)
		case config.StepIf:
			declare(s.If.Cond.Regex, s.Pos)
		}
		return nil
	})
}

// defineSettables makes every variable a set directive assigns known to
// comp, before any template is compiled: in nginx a set anywhere in the http
// block makes its variable usable everywhere.
func defineSettables(cfg *config.Config, comp *vars.Compiler) (bool, error) {
	any := false
	err := eachStep(cfg, func(s *config.Step) error {
		if s.Kind != config.StepSet {
			return nil
		}
		any = true
		if _, err := comp.DefineSettable(s.Set.Name); err != nil {
			return fmt.Errorf("%w in %s", err, s.Pos)
		}
		return nil
	})
	return any, err
}

// compileScripts compiles the script of every server and location that has
// rewrite-module directives.
func (s *snapshot) compileScripts(comp *vars.Compiler) error {
	s.scripts = map[*config.Settings]*rewrite.Script{}
	add := func(set *config.Settings) error {
		if len(set.Rewrites) == 0 {
			return nil
		}
		sc, err := rewrite.Compile(set.Rewrites, set, comp)
		s.scripts[set] = sc
		return err
	}
	return walkSettings(s.cfg.HTTP.Servers, add)
}

// ifLocations returns the implicit locations of the if blocks in steps.
func ifLocations(steps []config.Step) []*config.Location {
	var out []*config.Location
	for i := range steps {
		if steps[i].Kind == config.StepIf && steps[i].If.Location != nil {
			out = append(out, steps[i].If.Location)
		}
	}
	return out
}

// scriptLog logs a script's lines about one request in the error log.
type scriptLog struct {
	log *errlog.Logger
	st  *vars.State
	r   *http.Request
	// files is the level's static handler, whose disable_symlinks the
	// file tests of if follow; nil: they follow every link.
	files *staticHandler
}

// StatForTest implements rewrite.FileStater.
func (l *scriptLog) StatForTest(path string) (fs.FileInfo, error) {
	if l.files == nil {
		return os.Stat(path)
	}
	return l.files.rv.StatForTest(path, l.files.expand(l.st))
}

// Log implements rewrite.Logger.
func (l *scriptLog) Log(level config.LogLevel, msg string) {
	lv := errlog.FromConfig(level)
	if l.log.Enabled(lv) {
		l.log.LogRequest(lv, logRequest(l.st, l.r), msg)
	}
}

// runScript runs the script of set, which has one. Its lines go to set's
// error log, or to mainLog when not nil (a subrequest's: recorder.mainLog).
func (s *snapshot) runScript(set *config.Settings, loc *config.Location, r *http.Request, st *vars.State, mainLog *errlog.Logger) rewrite.Result {
	log := mainLog
	if log == nil {
		log = s.logAt(set)
	}
	return s.scripts[set].Run(st, &scriptLog{log: log, st: st, r: r, files: s.filesOf(loc)})
}

// filesOf is loc's static handler (its own, or the one its try_files
// runs on), nil when it has none.
func (s *snapshot) filesOf(loc *config.Location) *staticHandler {
	if loc == nil {
		return nil
	}
	switch h := s.handlerOf(loc).(type) {
	case *staticHandler:
		return h
	case tryFilesFirst:
		return h.files
	}
	return nil
}

// serverRewrite runs the server's script, nginx's server rewrite phase,
// before the location is chosen. Its result's Outcome is Next when the
// server has none. It is not inlined: serveFound's frame, on every
// request's stack, would grow by its locals.
//
//go:noinline
func (s *snapshot) serverRewrite(r *http.Request, st *vars.State, srv *router.Server) rewrite.Result {
	set := srv.Config.Settings
	if len(set.Rewrites) == 0 {
		return rewrite.Result{}
	}
	return s.runScript(set, s.serverLocs[srv.Config], r, st, nil)
}

// serverRewriteTo is serverRewrite for a request whose lines go to mainLog
// when it is not nil (a subrequest's: recorder.mainLog), after an internal
// redirect or for a subrequest. A function of its own, so that the main
// request's call keeps serveFound's frame as it was.
//
//go:noinline
func (s *snapshot) serverRewriteTo(r *http.Request, st *vars.State, srv *router.Server, mainLog *errlog.Logger) rewrite.Result {
	set := srv.Config.Settings
	if len(set.Rewrites) == 0 {
		return rewrite.Result{}
	}
	return s.runScript(set, s.serverLocs[srv.Config], r, st, mainLog)
}

// locationRewrite runs the script of loc, nginx's rewrite phase, and, while
// a rewrite changed the URI without "break", searches the location again
// and runs that one's (the post-rewrite phase), each search costing one of
// changes. A location found again whose limit_except restricts the method
// runs no script (nginx serves it with the block's configuration, which
// has none): the request goes on to the access checks, as the NGINX API
// gateway's "rewrite ^ /_warehouse last;" to a location with limit_except
// relies on. It returns the location that serves the request (an if
// block's when its condition held), the script's result, and whether the
// request was answered already (the 301 that adds a slash, a 413).
func (s *snapshot) locationRewrite(rec *recorder, r *http.Request, st *vars.State, srv *router.Server, loc *config.Location, changes *int) (*config.Location, rewrite.Result, bool) {
	for {
		set := loc.Settings
		if len(set.Rewrites) == 0 || loc == s.serverLocs[srv.Config] {
			// nginx skips the location rewrite phase for the server's
			// null location: its script ran in the server phase.
			return loc, rewrite.Result{}, false
		}
		res := s.runScript(set, loc, r, st, rec.mainLog())
		if res.IfLocation != nil {
			loc = res.IfLocation
			rec.set, rec.server = loc.Settings, serverHeader(loc.Settings)
		}
		if res.Outcome != rewrite.Next || !res.Research {
			return loc, res, false
		}
		if *changes--; *changes <= 0 {
			rec.log().LogRequest(errlog.Error, logRequest(st, r), fmt.Sprintf("rewrite or internal redirection cycle while processing %q", st.Path))
			rec.errorPageUsed = true // nginx's uri_changes 0: no error_page either
			return loc, rewrite.Result{Outcome: rewrite.Fail}, false
		}
		lm := srv.Location(st.Path)
		if lm.Err != nil { // a regex location over pcre.MatchLimit: nginx's 500
			rec.log().LogRequest(errlog.Alert, logRequest(st, r), lm.Err.Error())
			return loc, rewrite.Result{Outcome: rewrite.Fail}, false
		}
		loc = lm.Location
		if loc == nil {
			loc = s.serverLocs[srv.Config]
		}
		rec.set, rec.server = loc.Settings, serverHeader(loc.Settings)
		if lm.Redirect != "" {
			slashRedirect(rec, st, lm.Redirect)
			return loc, rewrite.Result{}, true
		}
		setLocationCaptures(st, lm)
		limited := loc.LimitExcept != nil && loc.LimitExcept.Applies(r.Method)
		if limited { // nginx's find config phase swaps the block's configuration in
			rec.set, rec.server = loc.LimitExcept.Settings, serverHeader(loc.LimitExcept.Settings)
		}
		if !bodyWithinLimit(rec, r, rec.set) {
			return loc, rewrite.Result{}, true
		}
		if limited { // and the block has no script: the location's does not run
			return loc, rewrite.Result{}, false
		}
	}
}

// failNoUpstream answers 500 for a request whose content handler is an if
// block's directive (proxy_pass, fastcgi_pass, ...) and whose configuration
// a later if block's, which has no target for it (rewrite.Result.NoUpstream),
// with the lines nginx 1.22.1's handler logs (recorded): "no upstream
// configuration" at alert (ngx_http_upstream_init_request), but for
// memcached_pass, whose handler reads $memcached_key first through the
// index the later block never set (NGX_ERROR): "unknown variable index"
// at alert, then its own error.
func failNoUpstream(rec *recorder, r *http.Request, directive string) {
	if directive == "memcached_pass" {
		rec.logLine(errlog.Alert, r, "unknown variable index: "+strconv.FormatUint(math.MaxUint64, 10))
		rec.logLine(errlog.Error, r, `the "$memcached_key" variable is not set`)
	} else {
		rec.logLine(errlog.Alert, r, "no upstream configuration")
	}
	rec.fail(http.StatusInternalServerError)
}

// answerScript answers as a script decided: a return, a redirect, or 500.
func answerScript(rec *recorder, r *http.Request, st *vars.State, res rewrite.Result) {
	switch res.Outcome {
	case rewrite.Answer:
		h := returnHandler{code: res.Return.Code, text: res.Return.Text, types: rec.set.Types, defaultType: rec.set.DefaultType}
		h.redirect = isRedirectCode(h.code)
		h.answer(rec, r, st)
	case rewrite.Redirect:
		redirect(rec, st, res.Code, res.URL)
	case rewrite.Fail:
		rec.fail(http.StatusInternalServerError)
	}
}

// isRedirectCode reports the codes whose return text is a Location.
func isRedirectCode(code int) bool {
	switch code {
	case 301, 302, 303, 307, 308:
		return true
	}
	return false
}

// slashRedirect is nginx's 301 that adds the "/" of a proxying location:
// target is the location's name, escaped as nginx's escaped_name is
// (NGX_ESCAPE_URI: "/auto sp/" redirects to "/auto%20sp/").
func slashRedirect(rec *recorder, st *vars.State, target string) {
	redirect(rec, st, http.StatusMovedPermanently, slashTarget(st, target))
}

// slashTarget is slashRedirect's Location before it is made absolute: the
// location's name, escaped, with the request's arguments.
func slashTarget(st *vars.State, target string) string {
	for i := 0; i < len(target); i++ {
		if h1.PathByteNeedsEscape(target[i]) {
			target = string(h1.AppendEscapedPath(make([]byte, 0, len(target)+8), target))
			break
		}
	}
	if st.Args != "" { // a bare '?' is no arguments: nginx 1.22.1 drops it
		target += "?" + st.Args
	}
	return target
}

// VariableCycle implements vars.CycleReporter with nginx's error line.
func (sc *requestScratch) VariableCycle(name string) {
	rec := &sc.rec
	if log := rec.log(); log.Enabled(errlog.Error) {
		log.LogRequest(errlog.Error, logRequest(&sc.st, rec.req), `cycle while evaluating variable "`+name+`"`)
	}
}

// UninitializedVariable implements vars.Uninitialized: nginx's warning for
// a set variable read before any set, when the serving level's
// uninitialized_variable_warn is on. Read for the access log line
// (vars.State.Logging), it ends as nginx's does, "while logging request".
func (sc *requestScratch) UninitializedVariable(name string) {
	sc.uninitialized(name, "")
}

// bodyFilterWarn is the request's vars.Uninitialized while a body filter
// (SSI) reads variables: nginx's warning then ends with its log action,
// " while sending response to client" (recorded with nginx 1.22.1: an
// SSI echo of a variable a set names, read before any set).
type bodyFilterWarn requestScratch

// UninitializedVariable implements vars.Uninitialized.
func (w *bodyFilterWarn) UninitializedVariable(name string) {
	(*requestScratch)(w).uninitialized(name, " while sending response to client")
}

// uninitialized logs nginx's warning for name, with action (" while ...")
// after it unless the request is being logged.
func (sc *requestScratch) uninitialized(name, action string) {
	set, log := sc.rec.set, sc.log
	if set == nil || !set.UninitializedVariableWarn || log == nil {
		return
	}
	if sc.rec.snap != nil {
		log = sc.rec.log() // the serving level's error_log
	}
	if !log.Enabled(errlog.Warn) {
		return
	}
	msg := `using uninitialized "` + name + `" variable`
	if sc.st.Logging {
		msg += " while logging request"
	} else {
		msg += action
	}
	log.LogRequest(errlog.Warn, logRequest(&sc.st, sc.r), msg)
}

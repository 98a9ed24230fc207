// Package rewrite runs nginx's rewrite module (ngx_http_rewrite_module): the
// rewrite, return, set, break and if directives of one level, compiled once
// into a Script and run per request on a vars.State, in config order, as
// nginx's script engine runs its code array.
//
// A Script changes the request's URI, arguments, captures and set
// variables in the State, and says what should happen next in a Result:
// go on (searching the location again when the URI changed), answer with a
// return, redirect, or fail with 500. Routing, phases and answers stay with
// the caller (the daemon), which runs the server's script before it chooses
// a location and the location's script after.
package rewrite

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strconv"
	"strings"
	"syscall"

	"fulcrum/internal/config"
	"fulcrum/internal/pcre"
	"fulcrum/internal/vars"
)

// Script is one level's compiled rewrite-module directives. It is immutable
// and safe for concurrent use.
type Script struct {
	steps []step
	// log is the level's rewrite_log: notice lines for each match and result.
	log bool
}

// Return is a compiled return directive.
type Return struct {
	Code int
	// Text is the body, or the URL of a redirect code; nil without one.
	Text *vars.Template
	Pos  config.Pos
}

// step is one compiled directive.
type step struct {
	kind config.StepKind
	pos  config.Pos

	// rewrite
	re       *pcre.Regexp
	pattern  string
	uri      *vars.Template // the replacement, up to its first '?'
	args     *vars.Template // after the '?'; nil when the replacement has none
	dropArgs bool
	flag     config.RewriteFlag
	redirect int
	full     *vars.Template // a redirect's whole replacement
	// ownArgs is a redirect whose replacement has a '?': the request's
	// arguments follow after '&'.
	ownArgs bool

	// return
	ret *Return

	// set
	settable vars.Settable
	value    *vars.Template

	// if
	cond condition
	body []step
	loc  *config.Location
	// handler is the content handler directive the if block writes
	// (config.If.Handler).
	handler string
}

// condition is a compiled if condition.
type condition struct {
	op    config.CondOp
	v     *vars.Template // the variable tested, or the file test's path
	value *vars.Template // what = and != compare with
	re    *pcre.Regexp
	// pattern is the regex as written, for rewrite_log.
	pattern string
	file    byte
}

// Compile compiles the steps of one level whose settings are set (for
// rewrite_log). Every set variable must already be defined in comp
// ([vars.Compiler.DefineSettable]). Errors name the directive's file and line.
func Compile(steps []config.Step, set *config.Settings, comp *vars.Compiler) (*Script, error) {
	out, err := compileSteps(steps, comp)
	if err != nil {
		return nil, err
	}
	return &Script{steps: out, log: set.RewriteLog}, nil
}

func compileSteps(steps []config.Step, comp *vars.Compiler) ([]step, error) {
	out := make([]step, 0, len(steps))
	for i := range steps {
		s, err := compileStep(&steps[i], comp)
		if err != nil {
			return nil, fmt.Errorf("%w in %s", err, steps[i].Pos)
		}
		out = append(out, s)
	}
	return out, nil
}

func compileStep(cs *config.Step, comp *vars.Compiler) (step, error) {
	s := step{kind: cs.Kind, pos: cs.Pos}
	var err error
	switch cs.Kind {
	case config.StepRewrite:
		err = s.compileRewrite(cs.Rewrite, comp)
	case config.StepReturn:
		s.ret, err = CompileReturn(cs.Return, comp)
	case config.StepSet:
		if s.settable, err = comp.DefineSettable(cs.Set.Name); err == nil {
			s.value, err = comp.Compile(cs.Set.Value)
		}
	case config.StepIf:
		s.loc, s.handler = cs.If.Location, cs.If.Handler
		if s.cond, err = compileCondition(&cs.If.Cond, comp); err == nil {
			s.body, err = compileSteps(cs.If.Steps, comp)
		}
	}
	return s, err
}

func (s *step) compileRewrite(rw *config.Rewrite, comp *vars.Compiler) error {
	s.re, s.pattern, s.dropArgs, s.flag, s.redirect = rw.Regex, rw.Pattern, rw.DropArgs, rw.Flag, rw.Redirect
	var err error
	if s.redirect != 0 {
		s.full, err = comp.Compile(rw.Replacement)
		s.ownArgs = strings.Contains(rw.Replacement, "?")
		return err
	}
	uri, args, hasArgs := strings.Cut(rw.Replacement, "?")
	if s.uri, err = comp.Compile(uri); err != nil {
		return err
	}
	if hasArgs {
		s.args, err = comp.Compile(args)
	}
	return err
}

// CompileReturn compiles a return directive.
func CompileReturn(r *config.Return, comp *vars.Compiler) (*Return, error) {
	out := &Return{Code: r.Code, Pos: r.Pos}
	if r.Text != "" {
		t, err := comp.Compile(r.Text)
		if err != nil {
			return nil, err
		}
		out.Text = t
	}
	return out, nil
}

func compileCondition(c *config.Condition, comp *vars.Compiler) (condition, error) {
	out := condition{op: c.Op, re: c.Regex, pattern: c.Pattern, file: c.File}
	var err error
	if c.Op == config.CondFile || c.Op == config.CondNotFile {
		out.v, err = comp.Compile(c.Value)
		return out, err
	}
	if out.v, err = comp.Variable(c.Var); err != nil {
		return out, err
	}
	if c.Op == config.CondEqual || c.Op == config.CondNotEqual {
		out.value, err = comp.Compile(c.Value)
	}
	return out, err
}

// Outcome is what the caller does once a script ran.
type Outcome int

// The outcomes.
const (
	// Next goes on with the request: the location is searched again when
	// Result.Research says so, else the content handler serves it.
	Next Outcome = iota
	// Answer answers with Result.Return (a return directive).
	Answer
	// Redirect answers Result.Code with Result.URL as Location.
	Redirect
	// Fail answers 500 (a rewritten URI of zero length).
	Fail
)

// Result is what a script decided.
type Result struct {
	Outcome Outcome
	Return  *Return
	Code    int
	URL     string
	// Research reports that a rewrite changed the URI without "break": the
	// location is searched again with it (nginx's post-rewrite phase).
	Research bool
	// Internal reports that a rewrite matched: the request counts as an
	// internal one from now on (nginx's r->internal), so an internal
	// location may serve it.
	Internal bool
	// IfLocation is the implicit location of the last if block inside a
	// location whose condition held: the request is served with its
	// settings. Nil when none held.
	IfLocation *config.Location
	// NoUpstream is the content handler directive (proxy_pass and its
	// kin, config.If.Handler) of an if block whose condition held when
	// IfLocation, a later one's location, has no target for it; empty
	// otherwise. nginx keeps the first block's handler (r->content_handler)
	// and runs it with the later block's configuration, which answers 500
	// (recorded with nginx 1.22.1: "if ($arg_x) { proxy_pass ...; } if
	// ($arg_y) { }" for ?x=1&y=1 logs "no upstream configuration").
	NoUpstream string
}

// Logger receives the lines a script logs about its request: rewrite_log's
// notices and errors, in nginx's words.
type Logger interface {
	Log(level config.LogLevel, msg string)
}

// engine is one run of a script.
type engine struct {
	st  *vars.State
	log Logger // nil: log nothing
	// notices is the level's rewrite_log: log what each regex did.
	notices bool
	res     Result
	// uriChanged is nginx's r->uri_changed: a rewrite without break changed
	// the URI.
	uriChanged bool
	// quoted is nginx's quoted_uri || plus_in_uri: the request's path had
	// an escape or a '+', so captures copied into arguments are escaped.
	quoted bool
	// quote is nginx's e->quote: set at the start of a run
	// (ngx_http_rewrite_handler), cleared by a rewrite that matched
	// (ngx_http_script_regex_end_code). While it is set, the captures a
	// set directive copies ($1, not named ones) are escaped as arguments
	// when quoted is: nginx 1.22.1 gives "set $s $1;" in
	// "location ~ ^/a/(.*)$" the value "x%20y" for /a/x%20y and "x%2By"
	// for /a/x+y (recorded), so "proxy_pass http://b/$s;" sends the
	// escapes on.
	quote bool
	buf   []byte
	// handler is the content handler directive of the last if block
	// whose condition held and that wrote one (nginx's r->content_handler).
	handler string
}

// Run runs the script for the request whose variables st holds. log, when
// not nil, gets the script's log lines; rewrite_log's notices go to it only
// when the level has rewrite_log on.
func (s *Script) Run(st *vars.State, log Logger) Result {
	e := engine{st: st, log: log, notices: s.log, quote: true}
	path, _, _ := strings.Cut(st.RequestURI, "?")
	e.quoted = strings.ContainsAny(path, "%+")
	e.run(s.steps)
	if e.res.Outcome == Next {
		e.res.Research = e.uriChanged
	}
	if il := e.res.IfLocation; il != nil && e.handler != "" {
		if !il.Settings.HasPass(e.handler) {
			e.res.NoUpstream = e.handler
		}
	}
	return e.res
}

// run runs steps and reports whether the script stopped.
func (e *engine) run(steps []step) bool {
	for i := range steps {
		if e.exec(&steps[i]) {
			return true
		}
	}
	return false
}

// exec runs one step and reports whether the script stopped.
func (e *engine) exec(s *step) bool {
	switch s.kind {
	case config.StepRewrite:
		return e.rewrite(s)
	case config.StepReturn:
		e.res.Outcome, e.res.Return = Answer, s.ret
		return true
	case config.StepSet:
		e.buf = e.appendValue(s.value, e.buf[:0])
		if err := s.settable.Assign(e.st, e.buf); err != nil && e.log != nil {
			e.log.Log(config.LevelError, err.Error())
		}
	case config.StepBreak:
		if e.uriChanged { // ngx_http_script_break_code
			e.st.WholeURI, e.uriChanged = true, false
		}
		return true
	case config.StepIf:
		if !e.test(&s.cond) {
			return e.res.Outcome == Fail // a regex over its match bound
		}
		if s.loc != nil {
			e.res.IfLocation = s.loc
		}
		if s.handler != "" {
			e.handler = s.handler
		}
		return e.run(s.body)
	}
	return false
}

// notice logs a rewrite_log line; callers test e.notices first, so that
// a level without rewrite_log does not box the arguments.
func (e *engine) notice(format string, args ...any) {
	if e.log != nil {
		e.log.Log(config.LevelNotice, fmt.Sprintf(format, args...))
	}
}

// match runs re on subject and makes its groups the captures, or clears
// them when it does not match (nginx sets r->ncaptures to 0). A match over
// the backtracking engine's bound (pcre.ErrMatchLimit) is logged at alert
// and fails the script with 500, as nginx's ngx_http_script_regex_start_code
// does when ngx_http_regex_exec fails; it reports no match.
func (e *engine) match(re *pcre.Regexp, pattern, subject string) bool {
	idx, err := re.Submatch(subject)
	if err != nil {
		if e.log != nil {
			e.log.Log(config.LevelAlert, err.Error())
		}
		e.res.Outcome = Fail
		return false
	}
	if idx == nil {
		if e.notices {
			e.notice(`"%s" does not match "%s"`, pattern, subject)
		}
		e.st.SetCaptures(vars.Captures{})
		return false
	}
	if e.notices {
		e.notice(`"%s" matches "%s"`, pattern, subject)
	}
	e.st.SetCaptures(vars.Captures{Subject: subject, Index: idx, Names: re.SubexpNames()})
	return true
}

// rewrite runs a rewrite directive (ngx_http_script_regex_start_code and
// ngx_http_script_regex_end_code).
func (e *engine) rewrite(s *step) bool {
	st := e.st
	if !e.match(s.re, s.pattern, st.Path) {
		return e.res.Outcome == Fail // a regex over its match bound
	}
	e.res.Internal = true
	if s.redirect != 0 {
		e.res.Outcome, e.res.Code, e.res.URL = Redirect, s.redirect, e.redirectURL(s)
		if e.notices {
			e.notice(`rewritten redirect: "%s"`, e.res.URL)
		}
		return true
	}
	e.buf = s.uri.Append(e.buf[:0], st)
	uri := string(e.buf)
	args, found := st.Args, st.ArgsFound
	switch {
	case s.args != nil:
		found = true // nginx points r->args into the new URI, even when empty
		e.buf = e.captures(s.args, e.buf[:0])
		if !s.dropArgs && st.Args != "" {
			e.buf = append(append(e.buf, '&'), st.Args...)
		}
		args = string(e.buf)
	case s.dropArgs:
		// Only the length goes: $args stays found if the request had some.
		args, found = "", args != "" || found
	}
	st.Args, st.ArgsFound = args, found
	if e.notices {
		e.notice(`rewritten data: "%s", args: "%s"`, uri, args)
	}
	// nginx sets the URI before it checks it: the 500 for an empty one
	// logs $uri as empty.
	st.Path, st.Rewritten = uri, true
	e.quote = false
	if uri == "" {
		if e.log != nil {
			e.log.Log(config.LevelError, "the rewritten URI has a zero length")
		}
		e.res.Outcome = Fail
		return true
	}
	switch s.flag {
	case config.FlagBreak:
		st.WholeURI, e.uriChanged = true, false
		return true
	case config.FlagLast:
		e.uriChanged = true
		return true
	}
	e.uriChanged = true
	return false
}

// appendValue appends the value of a set, of an if's file test path or of
// the string an if compares with: nginx compiles them as complex values of
// the rewrite engine, whose numbered captures are escaped as arguments while
// e->quote is on and the request's path was quoted (recorded with nginx
// 1.22.1: "if (-f DIR/$1)" for /e/a%20b tests "DIR/a%20b", "if ($arg_v =
// $1)" for /c/a%20b?v=a%20b holds).
func (e *engine) appendValue(t *vars.Template, dst []byte) []byte {
	if e.quote && e.quoted {
		return t.AppendEscapedCaptures(dst, e.st)
	}
	return t.Append(dst, e.st)
}

// captures appends t's value with its captures escaped when the request's
// URI was (nginx escapes them in arguments and redirects then).
func (e *engine) captures(t *vars.Template, dst []byte) []byte {
	if e.quoted {
		return t.AppendEscapedCaptures(dst, e.st)
	}
	return t.Append(dst, e.st)
}

// redirectURL is the Location of a redirecting rewrite: the replacement,
// unescaped up to its '?' as ngx_unescape_uri does for NGX_UNESCAPE_REDIRECT,
// and the request's arguments unless the replacement ended in '?' ('&' when
// it has arguments of its own).
func (e *engine) redirectURL(s *step) string {
	e.buf = e.captures(s.full, e.buf[:0])
	e.buf = unescapeRedirect(e.buf)
	if !s.dropArgs && e.st.Args != "" {
		sep := byte('?')
		if s.ownArgs {
			sep = '&'
		}
		e.buf = append(append(e.buf, sep), e.st.Args...)
	}
	return string(e.buf)
}

// unescapeRedirect decodes the %XX escapes of b before its first '?' whose
// byte is printable and above '%' (ngx_unescape_uri with
// NGX_UNESCAPE_REDIRECT); the rest is kept as it is. An escaped '?' (%3F)
// is decoded and ends the decoding as a '?' does: nginx 1.22.1 redirects
// "rewrite ^ /a%20b%3Fc%7e permanent;" to /a%20b?c%7e. It works in place.
func unescapeRedirect(b []byte) []byte {
	d := 0
	i := 0
	for i < len(b) {
		c := b[i]
		if c == '?' {
			break
		}
		if c == '%' && i+2 < len(b) {
			if v, ok := unhex(b[i+1], b[i+2]); ok && v > '%' && v < 0x7f {
				b[d] = v
				d++
				i += 3
				if v == '?' {
					break
				}
				continue
			}
		}
		b[d] = c
		d++
		i++
	}
	d += copy(b[d:], b[i:])
	return b[:d]
}

func unhex(h, l byte) (byte, bool) {
	hv, ok1 := hexVal(h)
	lv, ok2 := hexVal(l)
	return hv<<4 | lv, ok1 && ok2
}

func hexVal(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// test evaluates an if condition (nginx's if codes).
func (e *engine) test(c *condition) bool {
	st := e.st
	switch c.op {
	case config.CondFile, config.CondNotFile:
		e.buf = e.appendValue(c.v, e.buf[:0])
		return e.fileTest(c, string(e.buf))
	}
	e.buf = c.v.Append(e.buf[:0], st)
	switch c.op {
	case config.CondVar:
		return len(e.buf) > 0 && !(len(e.buf) == 1 && e.buf[0] == '0')
	case config.CondEqual, config.CondNotEqual:
		n := len(e.buf)
		e.buf = e.appendValue(c.value, e.buf)
		equal := string(e.buf[:n]) == string(e.buf[n:])
		return equal == (c.op == config.CondEqual)
	}
	subject := string(e.buf)
	matched := e.match(c.re, c.pattern, subject)
	return matched == (c.op == config.CondMatch)
}

// FileStater is a Logger that also stats the paths of -f, -d, -e and -x,
// as its level's disable_symlinks allows (nginx's open_file_cache test
// applies it); without it they follow every symbolic link.
type FileStater interface {
	StatForTest(path string) (fs.FileInfo, error)
}

// fileTest runs -f, -d, -e, -x and their negations on path, following
// symbolic links as nginx's open_file_cache test does. A failure other
// than a missing file is logged at crit and counts as missing.
func (e *engine) fileTest(c *condition, path string) bool {
	var fi fs.FileInfo
	var err error
	if fst, ok := e.log.(FileStater); ok {
		fi, err = fst.StatForTest(path)
	} else {
		fi, err = os.Stat(path)
	}
	var ok bool
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) && !errors.Is(err, syscall.ENOTDIR) && !errors.Is(err, syscall.ENAMETOOLONG) && e.log != nil {
			// nginx's "%s \"%s\" failed" with of.failed: "openat()"
			// when disable_symlinks refused a link on the way
			call := "stat()"
			var pe *fs.PathError
			if errors.As(err, &pe) && pe.Op == "openat" {
				call = "openat()"
			}
			e.log.Log(config.LevelCrit, fmt.Sprintf(`%s "%s" failed (%s)`, call, path, errnoWords(err)))
		}
	} else {
		switch c.file {
		case 'f':
			ok = fi.Mode().IsRegular()
		case 'd':
			ok = fi.IsDir()
		case 'e':
			ok = true
		case 'x':
			ok = fi.Mode().Perm()&0o100 != 0
		}
	}
	return ok == (c.op == config.CondFile)
}

// errnoWords is an error as nginx words a system error in a log line,
// "40: Too many levels of symbolic links", or its own text when it holds
// no errno.
func errnoWords(err error) string {
	var no syscall.Errno
	if !errors.As(err, &no) {
		return err.Error()
	}
	msg := no.Error()
	if msg != "" {
		msg = strings.ToUpper(msg[:1]) + msg[1:]
	}
	return strconv.Itoa(int(no)) + ": " + msg
}

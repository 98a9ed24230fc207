package config

import (
	"strings"

	"fulcrum/internal/pcre"
)

// StepKind says which rewrite-module directive a Step is.
type StepKind int

// The rewrite module's directives, as script steps.
const (
	StepRewrite StepKind = iota // rewrite regex replacement [flag]
	StepReturn                  // return code [text] | code URL | URL
	StepSet                     // set $variable value
	StepBreak                   // break
	StepIf                      // if (condition) { ... }
)

// String is the directive's name.
func (k StepKind) String() string {
	return [...]string{"rewrite", "return", "set", "break", "if"}[k]
}

// Step is one directive of the rewrite module (ngx_http_rewrite_module). The
// steps of a level run in config order as one script, the way nginx compiles
// them into one code array: the server's before the location is chosen
// (nginx's server rewrite phase), the chosen location's after (the rewrite
// phase). Exactly one of the pointers is set, as Kind says; break has none.
type Step struct {
	Kind    StepKind
	Rewrite *Rewrite
	Return  *Return
	Set     *SetVar
	If      *If
	Pos     Pos
}

// RewriteFlag is the optional last argument of rewrite.
type RewriteFlag int

// The rewrite flags. FlagNone goes on with the next step and, when the URI
// changed, searches the location again once the script ends.
const (
	FlagNone      RewriteFlag = iota
	FlagLast                  // stop the script; search the location with the new URI
	FlagBreak                 // stop the script; stay in this location
	FlagRedirect              // answer 302 with the result as Location
	FlagPermanent             // answer 301 with the result as Location
)

// String is the flag as written, "" for none.
func (f RewriteFlag) String() string {
	return [...]string{"", "last", "break", "redirect", "permanent"}[f]
}

// Rewrite is "rewrite regex replacement [flag]".
type Rewrite struct {
	// Pattern is the regex as written; Regex its compiled form, matched
	// against $uri (case-sensitive unless the pattern says (?i)).
	Pattern string
	Regex   *pcre.Regexp
	// Replacement is the new URI (or URL) with variables and $1..$9, without
	// the trailing "?" that DropArgs records.
	Replacement string
	// DropArgs is a replacement ending in "?": the request's arguments are
	// not appended.
	DropArgs bool
	Flag     RewriteFlag
	// Redirect is the status of a redirect: 301 (permanent), 302 (redirect,
	// or a replacement starting with http://, https:// or $scheme), else 0.
	Redirect int
}

// SetVar is "set $variable value".
type SetVar struct {
	// Name is the variable's name without "$".
	Name string
	// Value may contain variables.
	Value string
}

// CondOp is the operator of an if condition.
type CondOp int

// The if conditions, as nginx's ngx_http_rewrite_if_condition reads them.
const (
	CondVar      CondOp = iota // ($var): true unless empty or "0"
	CondEqual                  // ($var = value)
	CondNotEqual               // ($var != value)
	CondMatch                  // ($var ~ regex), ~* when the regex is caseless
	CondNotMatch               // ($var !~ regex), !~*
	CondFile                   // (-f path), -d, -e, -x
	CondNotFile                // (!-f path), !-d, !-e, !-x
)

// String is the operator as written ("" for a bare variable, "-" for a
// file test).
func (o CondOp) String() string {
	return [...]string{"", "=", "!=", "~", "!~", "-", "!-"}[o]
}

// Condition is the parenthesised condition of an if block.
type Condition struct {
	Op CondOp
	// Var is the variable tested or compared, without "$" (all but the file
	// tests).
	Var string
	// Value is what = and != compare with, or the path of a file test; it
	// may contain variables.
	Value string
	// Pattern and Regex are the regex of ~, ~*, !~ and !~*.
	Pattern string
	Regex   *pcre.Regexp
	// File is the file test's letter: 'f' (a plain file), 'd' (a
	// directory), 'e' (either, or a symbolic link), 'x' (executable).
	File byte
}

// If is an if block.
type If struct {
	Cond Condition
	// Steps are the rewrite-module directives inside the block. They belong
	// to the enclosing script: when the condition holds they run, and then
	// the steps after the block.
	Steps []Step
	// Location is the implicit location of an if inside a location: when
	// the condition holds, the request is served with its settings (the
	// enclosing location's, with the block's own directives on top), as
	// nginx's "if in location" does. Nil for an if in a server.
	Location *Location
	// Handler is the content handler directive the block writes itself
	// (proxy_pass, fastcgi_pass, scgi_pass, uwsgi_pass, grpc_pass or
	// memcached_pass, the last one written), nginx's clcf->handler of the
	// if's location; empty when it writes none. When its condition holds,
	// that handler serves the request even if a later if block whose
	// condition holds too becomes the request's configuration
	// (ngx_http_update_location_config changes r->content_handler only for
	// a location that has one): see Settings.HasPass.
	Handler string
	// scope is the block's level, kept until the builder fills Location's
	// settings (after the enclosing level's, see ifSettings).
	scope *scope
}

// rewriteNames are the directives that make up a level's script.
var rewriteNames = []string{"rewrite", "return", "set", "break", "if"}

// findRewrites finds the script of level s: its own rewrite-module
// directives. An if block's are part of its parent's script, so an if level
// has none of its own.
func findRewrites(s *scope, names ...string) ([]*Directive, *scope) {
	if s.ctx&ctxIfs != 0 {
		return nil, nil
	}
	return s.ownLevel(names...)
}

// findProxyPass finds the proxy_pass of level s: its own, or for an if or
// limit_except block the enclosing location's, which nginx's proxy module
// merges into these nameless locations.
func findProxyPass(s *scope, names ...string) ([]*Directive, *scope) {
	for l := s; l != nil; l = l.parent {
		if dirs, at := l.ownLevel(names...); dirs != nil {
			return dirs, at
		}
		if l.ctx&(ctxIfs|ctxLimitExcept) == 0 {
			return nil, nil
		}
	}
	return nil, nil
}

// applyRewrites compiles the script of one level.
func applyRewrites(b *builder, st *Settings, dirs []*Directive, at *scope) error {
	steps, err := b.steps(dirs, at)
	st.Rewrites = steps
	return err
}

// steps reads rewrite-module directives in config order; at is the level
// they are written at (a server, a location, or an if block).
func (b *builder) steps(dirs []*Directive, at *scope) ([]Step, error) {
	var out []Step
	for _, d := range dirs {
		s, err := b.step(d, at)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}

// step reads one rewrite-module directive.
func (b *builder) step(d *Directive, at *scope) (Step, error) {
	s := Step{Pos: d.Pos}
	var err error
	switch d.Name {
	case "rewrite":
		s.Kind = StepRewrite
		s.Rewrite, err = parseRewrite(d)
	case "return":
		s.Kind = StepReturn
		s.Return, err = parseReturn(d)
	case "set":
		s.Kind = StepSet
		s.Set, err = parseSet(d)
	case "break":
		s.Kind = StepBreak
	case "if":
		s.Kind = StepIf
		s.If, err = b.ifBlock(d, at)
	}
	return s, err
}

// parseRewrite reads "rewrite regex replacement [flag]" as nginx's
// ngx_http_rewrite does.
func parseRewrite(d *Directive) (*Rewrite, error) {
	a := d.Args
	if a[1] == "" {
		return nil, hintf(d.Pos, "write the new URI, or use return for an empty answer", "empty replacement")
	}
	re, err := compileRegex(d.Pos, a[0], false)
	if err != nil {
		return nil, err
	}
	rw := &Rewrite{Pattern: a[0], Regex: re, Replacement: a[1]}
	if r, ok := strings.CutSuffix(rw.Replacement, "?"); ok {
		rw.Replacement, rw.DropArgs = r, true
	}
	if isRedirectTarget(a[1]) {
		rw.Redirect, rw.Flag = 302, FlagRedirect
	}
	if len(a) == 3 {
		switch a[2] {
		case "last":
			rw.Flag = FlagLast
		case "break":
			rw.Flag = FlagBreak
		case "redirect":
			rw.Flag, rw.Redirect = FlagRedirect, 302
		case "permanent":
			rw.Flag, rw.Redirect = FlagPermanent, 301
		default:
			return nil, hintf(d.Pos, "the flags are last, break, redirect and permanent", `invalid parameter "%s"`, a[2])
		}
	}
	return rw, nil
}

// isRedirectTarget reports whether a rewrite replacement or a return
// argument is a URL: nginx redirects to one that starts with http://,
// https:// or $scheme.
func isRedirectTarget(s string) bool {
	return strings.HasPrefix(s, "http://") || strings.HasPrefix(s, "https://") || strings.HasPrefix(s, "$scheme")
}

// parseReturn reads "return code [text]", "return code URL" or "return URL"
// (302), as nginx's ngx_http_rewrite_return does.
func parseReturn(d *Directive) (*Return, error) {
	a := d.Args
	r := &Return{Pos: d.Pos}
	code, err := parseInt(a[0])
	if err != nil {
		if len(a) == 1 && isRedirectTarget(a[0]) {
			r.Code, r.Text = 302, a[0]
			return r, nil
		}
		return nil, hintf(d.Pos, "use a status code such as 301 or 404, or a URL starting with http://, https:// or $scheme", `invalid return code "%s"`, a[0])
	}
	if code > 999 {
		return nil, hintf(d.Pos, "use a status code such as 301 or 404, or a URL starting with http://, https:// or $scheme", `invalid return code "%s"`, a[0])
	}
	r.Code = code
	if len(a) == 2 {
		r.Text = a[1]
	}
	return r, nil
}

// parseSet reads "set $variable value".
func parseSet(d *Directive) (*SetVar, error) {
	name, ok := strings.CutPrefix(d.Args[0], "$")
	if !ok || name == "" || strings.IndexFunc(name, func(r rune) bool { return !isVarNameRune(r) }) >= 0 {
		return nil, hintf(d.Pos, `name the variable with a "$", such as set $backend "a";`, `invalid variable name "%s"`, d.Args[0])
	}
	return &SetVar{Name: name, Value: d.Args[1]}, nil
}

func isVarNameRune(r rune) bool {
	return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_'
}

// ifBlock reads an if block written at level at: its condition, its steps
// and, inside a location, its implicit location.
func (b *builder) ifBlock(d *Directive, at *scope) (*If, error) {
	cond, err := parseCondition(d)
	if err != nil {
		return nil, err
	}
	blk := &If{Cond: cond}
	inner := newScope(at, ctxServerIf, d.Block)
	if at.ctx&ctxLoc != 0 && at.loc != nil {
		inner.ctx = ctxLocationIf
		parent := at.loc
		blk.Location = &Location{Modifier: parent.Modifier, Path: parent.Path, Regex: parent.Regex, Implicit: true, Pos: d.Pos}
		inner.loc = blk.Location
		blk.scope = inner
		for _, in := range d.Block {
			if passDirectives[in.Name] {
				blk.Handler = in.Name
			}
		}
	}
	blk.Steps, err = b.steps(inner.own(rewriteNames...), inner)
	return blk, err
}

// passDirectives are the content handler directives nginx allows in an if
// block inside a location.
var passDirectives = map[string]bool{
	"proxy_pass": true, "fastcgi_pass": true, "scgi_pass": true,
	"uwsgi_pass": true, "grpc_pass": true, "memcached_pass": true,
}

// HasPass reports whether the level has the target of directive, one of
// the content handler directives an if block may write (If.Handler), its
// own or inherited: what nginx's handler for it finds in the level's
// configuration. Without one nginx's handler logs "no upstream
// configuration" at alert and answers 500.
func (s *Settings) HasPass(directive string) bool {
	switch directive {
	case "proxy_pass":
		return s.ProxyPass != nil
	case "fastcgi_pass":
		return s.FastCGI.Pass != nil
	case "scgi_pass":
		return s.SCGI.Pass != nil
	case "uwsgi_pass":
		return s.UWSGI.Pass != nil
	case "grpc_pass":
		return s.GRPCPass != nil
	case "memcached_pass":
		return s.Memcached.Pass != nil
	}
	return false
}

// conditionHint is the hint of a condition nginx cannot read.
const conditionHint = `write a condition as ($var), ($var = value), ($var != value), ($var ~ regex) (also ~*, !~, !~*), or (-f path) (also -d, -e, -x and !-f ...), with spaces around the operator`

// parseCondition reads the parenthesised condition of an if, argument by
// argument, as ngx_http_rewrite_if_condition does: "(" and ")" may stand
// alone or be glued to the first and last arguments.
func parseCondition(d *Directive) (Condition, error) {
	args := append([]string(nil), d.Args...)
	var c Condition
	first, last := 0, len(args)-1
	if !strings.HasPrefix(args[0], "(") {
		return c, hintf(d.Pos, conditionHint, `invalid condition "%s"`, args[0])
	}
	if args[0] == "(" {
		first = 1
	} else {
		args[0] = args[0][1:]
	}
	if !strings.HasSuffix(args[last], ")") {
		return c, hintf(d.Pos, conditionHint+`; close it with ")"`, `invalid condition "%s"`, args[last])
	}
	if args[last] == ")" {
		last--
	} else {
		args[last] = args[last][:len(args[last])-1]
	}
	if first >= len(args) {
		return c, hintf(d.Pos, conditionHint, `invalid condition "%s"`, d.Args[0])
	}
	cur := args[first]
	if first > last { // "()" or "( )": nginx reads the ")" as the condition
		return c, hintf(d.Pos, conditionHint, `invalid condition "%s"`, cur)
	}
	switch {
	case len(cur) > 1 && cur[0] == '$':
		return varCondition(d, args, first, last)
	case len(cur) == 2 && cur[0] == '-', len(cur) == 3 && cur[0] == '!' && cur[1] == '-':
		return fileCondition(d, args, first, last)
	}
	return c, hintf(d.Pos, conditionHint, `invalid condition "%s"`, cur)
}

// varCondition reads ($var), ($var op value).
func varCondition(d *Directive, args []string, cur, last int) (Condition, error) {
	c := Condition{Op: CondVar, Var: args[cur][1:]}
	if cur != last && cur+2 != last {
		return c, hintf(d.Pos, conditionHint, `invalid condition "%s"`, args[cur])
	}
	if cur == last {
		return c, nil
	}
	op, value := args[cur+1], args[last]
	switch op {
	case "=":
		c.Op, c.Value = CondEqual, value
	case "!=":
		c.Op, c.Value = CondNotEqual, value
	case "~", "~*", "!~", "!~*":
		c.Op = CondMatch
		if op[0] == '!' {
			c.Op = CondNotMatch
		}
		re, err := compileRegex(d.Pos, value, strings.HasSuffix(op, "*"))
		if err != nil {
			return c, err
		}
		c.Pattern, c.Regex = value, re
	default:
		return c, hintf(d.Pos, conditionHint, `unexpected "%s" in condition`, op)
	}
	return c, nil
}

// fileCondition reads (-f path) and its kin.
func fileCondition(d *Directive, args []string, cur, last int) (Condition, error) {
	op := args[cur]
	c := Condition{Op: CondFile, Value: args[last]}
	if cur+1 != last {
		return c, hintf(d.Pos, conditionHint, `invalid condition "%s"`, op)
	}
	if op[0] == '!' {
		c.Op = CondNotFile
		op = op[1:]
	}
	switch op[1] {
	case 'f', 'd', 'e', 'x':
		c.File = op[1]
		return c, nil
	}
	return c, hintf(d.Pos, conditionHint, `invalid condition "%s"`, args[cur])
}

// ifSettings fills the settings of the implicit locations of the if blocks
// in steps, once the enclosing location's own settings are built.
func (b *builder) ifSettings(steps []Step) error {
	for _, s := range steps {
		if s.Kind != StepIf || s.If.Location == nil {
			continue
		}
		set, err := b.settings(s.If.scope)
		if err != nil {
			return err
		}
		s.If.Location.Settings, s.If.scope = set, nil
	}
	return nil
}

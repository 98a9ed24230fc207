package vars

import (
	"errors"
	"strings"
	"time"
)

// ErrInvalidName reports a '$' that is not followed by a variable name
// (nginx: "invalid variable name").
var ErrInvalidName = errors.New("invalid variable name")

// UnknownVariableError reports a reference to a variable that is neither
// built in nor declared. Its text is nginx's; the caller adds the file and
// line.
type UnknownVariableError struct {
	// Name is the variable's name, lowercased as nginx prints it.
	Name string
}

func (e *UnknownVariableError) Error() string {
	return `unknown "` + e.Name + `" variable`
}

// MissingBracketError reports "${name" without the closing '}'.
type MissingBracketError struct {
	// Name is the part of the name read before the string or the name ended.
	Name string
}

func (e *MissingBracketError) Error() string {
	return `the closing bracket in "` + e.Name + `" variable is missing`
}

// Getter appends a variable's value to dst and reports whether the variable
// was found. When it was not, it must return dst unchanged. A Getter must be
// safe for concurrent use with distinct States.
type Getter func(dst []byte, st *State) ([]byte, bool)

// Compiler compiles strings into Templates. Its zero value is ready to use;
// set the fields before compiling, and do not change them while templates
// compiled from it are in use. A Compiler is not safe for concurrent
// Declare/Define; its templates are safe for concurrent evaluation.
type Compiler struct {
	// Hostname is the value of $hostname (nginx: the lowercased
	// gethostname()).
	Hostname string
	// PID is the value of $pid.
	PID int
	// Now is the clock of the time variables ($msec, $request_time,
	// $time_local, $time_iso8601); nil means time.Now. $time_local and
	// $time_iso8601 print the time in the location Now returns it in.
	Now func() time.Time

	// extra holds the Declare and Define names, lowercased; a nil Getter
	// means "declared": a named capture or a SetVar value.
	extra map[string]Getter
	// prefixes are the engine's prefix families (DefinePrefix), in the
	// order defined.
	prefixes []prefixFamily
	// slots counts the per-request cache slots DefineCached handed out.
	slots int
	// settable maps the names DefineSettable made to their slots.
	settable map[string]int
	// unchangeable holds the defined names that set may not assign
	// (Unchangeable).
	unchangeable map[string]bool
}

// Unchangeable marks name, which Define or DefineCached made, as a variable
// that set may not assign, as nginx's variables without
// NGX_HTTP_VAR_CHANGEABLE ($secure_link): DefineSettable then refuses it
// with [*DuplicateVariableError]. Call it before the sets are defined.
func (c *Compiler) Unchangeable(name string) {
	if c.unchangeable == nil {
		c.unchangeable = map[string]bool{}
	}
	c.unchangeable[strings.ToLower(name)] = true
}

// Declare allows names that are not built in, such as named captures found
// in the configuration's regular expressions or names assigned by `set`.
// At request time a declared variable is the named capture of that name in
// State.Captures when there is one, else the value given by State.SetVar,
// else not found.
func (c *Compiler) Declare(names ...string) {
	for _, n := range names {
		c.define(n, nil)
	}
}

// Define allows name and computes its value with g at each reference, for
// variables whose value is derived at request time (nginx's volatile map;
// see DefineCached for the others). Built-in names cannot be redefined: they
// keep their built-in meaning.
func (c *Compiler) Define(name string, g Getter) {
	c.define(name, g)
}

// DefineCached is Define for a value computed at most once per request, as
// nginx caches a variable's value (a map's, unless it is volatile): the first
// reference runs g, later ones, until [State.Reset], reuse what it appended
// and whether it found the variable. This matters when g has effects, such as
// a map regex that sets the captures ([State.SetCaptures]), or reads what a
// later step changes: nginx 1.22.1 answers "[m1][m2][m1][cc]" for
// "[$m1][$m2][$m1][$1]" with two maps matching ~^(a+)b$ and ~^(c+)$, as the
// second $m1 does not run its regex again. The cached value is kept in the
// State's own buffers: no allocation once the State is warm. A value that
// needs itself (map $a from $b, map $b from $a) is not found, with
// State.Engine told when it is a [CycleReporter], as nginx logs
// "cycle while evaluating variable" and goes on; the recursion would
// otherwise end only with the process, at Go's stack limit. When a named
// capture declares the same name, a value a match gave it wins over g.
func (c *Compiler) DefineCached(name string, g Getter) {
	slot := c.slots
	c.slots++
	lname := strings.ToLower(name)
	c.define(name, c.captureFirst(lname, func(dst []byte, st *State) ([]byte, bool) {
		if v, found, ok := st.cached(slot); ok {
			return append(dst, v...), found
		}
		if !st.enter(slot) {
			st.reportCycle(lname)
			return dst, false
		}
		start := len(dst)
		dst, found := g(dst, st)
		st.cache(slot, dst[start:], found)
		return dst, found
	}))
}

// DefineVolatile is Define for a block's variable evaluated at each use (a
// volatile map or geo): a value that needs itself is not found, with the
// cycle reported, as for DefineCached.
func (c *Compiler) DefineVolatile(name string, g Getter) {
	slot := c.slots
	c.slots++
	lname := strings.ToLower(name)
	c.define(name, c.captureFirst(lname, func(dst []byte, st *State) ([]byte, bool) {
		if !st.enter(slot) {
			st.reportCycle(lname)
			return dst, false
		}
		dst, found := g(dst, st)
		st.memo[slot].busy = false
		return dst, found
	}))
}

// prefixFamily is one DefinePrefix family.
type prefixFamily struct {
	prefix string
	getter func(suffix string) Getter
}

// DefinePrefix allows every name that starts with prefix (lowercased), as
// nginx's prefix variables such as NGINX Plus's $jwt_claim_NAME: a name
// neither built in nor defined whose start is prefix gets the Getter that
// getter returns for the rest of the name (lowercased, possibly empty),
// once, when a template using it is compiled. Families are tried in the
// order defined, after the exact names and before the built-in families
// ($http_NAME, $arg_NAME, ...).
func (c *Compiler) DefinePrefix(prefix string, getter func(suffix string) Getter) {
	c.prefixes = append(c.prefixes, prefixFamily{prefix: strings.ToLower(prefix), getter: getter})
}

func (c *Compiler) define(name string, g Getter) {
	if c.extra == nil {
		c.extra = make(map[string]Getter)
	}
	c.extra[strings.ToLower(name)] = g
}

func (c *Compiler) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

// Template is a compiled string with variables. It is immutable and safe
// for concurrent use.
type Template struct {
	src   string
	parts []part
	names []string
}

// part is the literal text lit, then the variable get; get is nil in a
// template's last part when the template ends with text, and in none other.
// capture marks $1..$9, and clean a variable whose values never hold a byte
// a log_format escape= mode changes (see cleanValue), which AppendEscaped
// does not check. A literal and the variable after it share a part, so a
// template such as log_format combined is evaluated in half the steps.
type part struct {
	lit     string
	get     Getter
	capture bool
	clean   bool
}

// Compile parses s once: `$name`, `${name}` (for a name followed by name
// characters), and `$1`..`$9` (one digit: `$10` is `$1` then "0").
// Variable names are letters, digits and '_' and are case-insensitive.
// There is no escape for '$', as in nginx. Errors are nginx's:
// [ErrInvalidName], [*MissingBracketError], [*UnknownVariableError].
func (c *Compiler) Compile(s string) (*Template, error) {
	t := &Template{src: s}
	for i := 0; i < len(s); {
		if s[i] != '$' {
			j := strings.IndexByte(s[i:], '$')
			if j < 0 {
				j = len(s) - i
			}
			t.addLiteral(s[i : i+j])
			i += j
			continue
		}
		name, next, err := scanName(s, i+1)
		if err != nil {
			return nil, err
		}
		ref := s[i+1 : next]
		g, err := c.resolveRef(ref, name)
		if err != nil {
			return nil, err
		}
		lname := strings.ToLower(name)
		t.addVariable(part{get: g, capture: isCaptureRef(ref), clean: cleanValue(lname)})
		t.names = append(t.names, lname)
		i = next
	}
	return t, nil
}

// scanName reads the variable reference that starts at s[i], just after
// the '$', as ngx_http_script_compile does, and returns its name and the
// index after it.
func scanName(s string, i int) (string, int, error) {
	if i == len(s) {
		return "", i, ErrInvalidName
	}
	if s[i] >= '1' && s[i] <= '9' {
		return s[i : i+1], i + 1, nil
	}
	bracket := s[i] == '{'
	if bracket {
		i++
		if i == len(s) {
			return "", i, ErrInvalidName
		}
	}
	start := i
	for i < len(s) && isNameByte(s[i]) {
		i++
	}
	name := s[start:i]
	if bracket {
		if i == len(s) || s[i] != '}' {
			return "", i, &MissingBracketError{Name: name}
		}
		i++
	}
	if name == "" {
		return "", i, ErrInvalidName
	}
	return name, i, nil
}

// resolveRef resolves the reference ref (the text after '$'), whose name
// is name: a bare digit is a capture, anything else a variable, so ${1} is
// the unknown variable "1" as in nginx.
func (c *Compiler) resolveRef(ref, name string) (Getter, error) {
	if isCaptureRef(ref) {
		return captureGetter(int(ref[0] - '0')), nil
	}
	return c.resolve(name)
}

// isCaptureRef reports whether the reference ref (the text after '$') is
// one of $1..$9.
func isCaptureRef(ref string) bool {
	return len(ref) == 1 && ref[0] >= '1' && ref[0] <= '9'
}

func isNameByte(b byte) bool {
	return b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b >= '0' && b <= '9' || b == '_'
}

// addLiteral adds the text s: to the last part's literal when that part has
// no variable yet, else as a new part.
func (t *Template) addLiteral(s string) {
	if n := len(t.parts); n > 0 && t.parts[n-1].get == nil {
		t.parts[n-1].lit += s
		return
	}
	t.parts = append(t.parts, part{lit: s})
}

// addVariable adds the variable of v (whose lit is empty): after the text
// of the last part when that part has no variable yet, else as a new part.
func (t *Template) addVariable(v part) {
	if n := len(t.parts); n > 0 && t.parts[n-1].get == nil {
		v.lit = t.parts[n-1].lit
		t.parts[n-1] = v
		return
	}
	t.parts = append(t.parts, v)
}

// Source returns the string the template was compiled from.
func (t *Template) Source() string { return t.src }

// Names returns the lowercased names of the variables the template uses,
// in order of appearance ("1" for $1). The caller must not modify it.
func (t *Template) Names() []string { return t.names }

// Constant reports whether the template has no variables, and if so its
// value, so a caller can precompute it.
func (t *Template) Constant() (string, bool) {
	switch {
	case len(t.parts) == 0:
		return "", true
	case len(t.parts) == 1 && t.parts[0].get == nil:
		return t.parts[0].lit, true
	}
	return "", false
}

// Append appends the template's value for st to dst and returns the
// extended buffer. A variable that is not found contributes nothing, as in
// proxy_set_header, add_header and return. st may be nil only for a
// constant template.
func (t *Template) Append(dst []byte, st *State) []byte {
	parts := t.parts
	for i := range parts {
		p := &parts[i]
		if p.lit != "" {
			dst = append(dst, p.lit...)
		}
		if p.get != nil {
			dst, _ = p.get(dst, st)
		}
	}
	return dst
}

// AppendEscapedCaptures is Append with the values of $1..$9 escaped by
// [AppendEscapeArgs], as nginx's rewrite copies captures into the
// arguments of a new URI, and into a redirect, when the request's URI had
// escapes or a '+'.
func (t *Template) AppendEscapedCaptures(dst []byte, st *State) []byte {
	parts := t.parts
	for i := range parts {
		p := &parts[i]
		if p.lit != "" {
			dst = append(dst, p.lit...)
		}
		switch {
		case p.get == nil:
		case p.capture:
			mark := len(dst)
			dst, _ = p.get(dst, st)
			st.scratch = append(st.scratch[:0], dst[mark:]...)
			dst = AppendEscapeArgs(dst[:mark], st.scratch)
		default:
			dst, _ = p.get(dst, st)
		}
	}
	return dst
}

// String returns the template's value for st. It allocates unless the
// template is constant; hot paths use Append with a reused buffer.
func (t *Template) String(st *State) string {
	if s, ok := t.Constant(); ok {
		return s
	}
	return string(t.Append(nil, st))
}

// AppendEscaped appends the template's value for st as an access log line
// with log_format escape=esc writes it: literals are copied unchanged,
// each variable value is escaped, and a variable that is not found is
// written as "-" with EscapeDefault and as nothing with EscapeJSON and
// EscapeNone (nginx's ngx_http_log_variable and its json and unescaped
// variants).
func (t *Template) AppendEscaped(dst []byte, st *State, esc Escape) []byte {
	parts := t.parts
	for i := range parts {
		p := &parts[i]
		if p.lit != "" {
			dst = append(dst, p.lit...)
		}
		if p.get == nil {
			continue
		}
		mark := len(dst)
		var ok bool
		dst, ok = p.get(dst, st)
		switch {
		case !ok:
			if esc == EscapeDefault {
				dst = append(dst, '-')
			}
		case !p.clean && esc.needed(dst[mark:]):
			dst = escapeFrom(dst, mark, st, esc)
		}
	}
	return dst
}

// escapeFrom escapes dst[mark:], a value that needs it, in mode esc (out of
// AppendEscaped's loop: most values need nothing).
//
//go:noinline
func escapeFrom(dst []byte, mark int, st *State, esc Escape) []byte {
	st.scratch = append(st.scratch[:0], dst[mark:]...)
	return esc.Append(dst[:mark], st.scratch)
}

// AppendFound is Append that also reports whether every variable of the
// template was found: nginx's directives that take a single variable (such
// as "charset $name") fail the request when it is not.
func (t *Template) AppendFound(dst []byte, st *State) ([]byte, bool) {
	found := true
	parts := t.parts
	for i := range parts {
		p := &parts[i]
		if p.lit != "" {
			dst = append(dst, p.lit...)
		}
		if p.get == nil {
			continue
		}
		var ok bool
		if dst, ok = p.get(dst, st); !ok {
			found = false
		}
	}
	return dst, found
}

// Variable compiles the single variable name (without '$') taken whole, as
// nginx's if takes its "$name" operand (ngx_http_rewrite_variable): name
// characters are not scanned, so "arg_add-to-cart" is the query argument
// "add-to-cart" (WooCommerce's skip-cache "if ($arg_add-to-cart != "")"),
// where a template would read $arg_add and the text "-to-cart". A digit is
// the unknown variable "1", not a capture, as in nginx. Errors are
// [ErrInvalidName] and [*UnknownVariableError].
func (c *Compiler) Variable(name string) (*Template, error) {
	if name == "" {
		return nil, ErrInvalidName
	}
	g, err := c.resolve(name)
	if err != nil {
		return nil, err
	}
	return &Template{src: "$" + name, parts: []part{{get: g}}, names: []string{strings.ToLower(name)}}, nil
}

// Lookup returns the getter of the variable name, as `$name` in a
// template would use it, for a name known only at request time (the SSI
// commands'). It only reads c: it is safe for concurrent use once c is no
// longer changed. An unknown name reports false.
func (c *Compiler) Lookup(name string) (Getter, bool) {
	g, err := c.resolve(name)
	return g, err == nil
}

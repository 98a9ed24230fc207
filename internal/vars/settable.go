package vars

import (
	"path/filepath"
	"strings"
)

// DuplicateVariableError reports a set of a built-in variable that cannot be
// changed, such as $uri. Its text is nginx's; the caller adds the file and
// line.
type DuplicateVariableError struct {
	// Name is the variable's name as written, as nginx prints it (`the
	// duplicate "URI" variable`).
	Name string
}

func (e *DuplicateVariableError) Error() string {
	return `the duplicate "` + e.Name + `" variable`
}

// Settable is a variable the rewrite module's set directive assigns. Its
// value lives in a per-request slot of the State; until a set runs, a
// reference reads what the name meant before (a map's value or a named
// capture, or the prefixed family's value, such as a request field's for
// $http_NAME), else an empty value, found, as nginx's ngx_http_rewrite_var
// gives (and with State.Uninitialized told, for nginx's "using
// uninitialized variable" warning). The zero value is not usable; get one
// from [Compiler.DefineSettable].
type Settable struct {
	slot int
	// args marks $args, which set changes in place (nginx's set handler
	// of $args): the request's arguments themselves.
	args bool
	// limitRate marks $limit_rate, whose set handler parses a size into
	// State.LimitRate (setLimitRate).
	limitRate bool
}

// userValue is the value of one Settable slot: userBuf[start:end].
type userValue struct {
	start, end int
	set        bool
}

// Uninitialized is told when a Settable variable is read before any set
// gave it a value in this request. The engine implements it to log nginx's
// warning when the location's uninitialized_variable_warn is on.
type Uninitialized interface {
	UninitializedVariable(name string)
}

// DefineSettable makes name a variable that set assigns, and returns the
// handle that assigns it. Every set of one name shares its slot, whatever
// the level, as nginx's variables are global to the http block. A built-in
// name is refused with [*DuplicateVariableError] unless nginx lets set
// change it ($args, $limit_rate). Call it for every set in the configuration before
// compiling any template: templates compiled earlier do not see the slot.
func (c *Compiler) DefineSettable(name string) (Settable, error) {
	return c.defineSettable(name, false)
}

// DefineAssigned is DefineSettable for a variable that auth_request_set
// assigns: until a value is assigned, a reference reads it as not found,
// without the warning of a set variable (nginx's
// ngx_http_auth_request_variable), unless a set directive defined the name
// already, whose reading it keeps.
func (c *Compiler) DefineAssigned(name string) (Settable, error) {
	return c.defineSettable(name, true)
}

// defineSettable defines name; notFound makes an unassigned value read as
// not found (DefineAssigned).
func (c *Compiler) defineSettable(name string, notFound bool) (Settable, error) {
	lname := strings.ToLower(name)
	switch lname {
	case "args":
		return Settable{args: true}, nil
	case "limit_rate":
		return Settable{limitRate: true}, nil
	}
	if c.builtin(lname) != nil || c.unchangeable[lname] {
		return Settable{}, &DuplicateVariableError{Name: name}
	}
	if slot, ok := c.settable[lname]; ok {
		return Settable{slot: slot}, nil
	}
	if c.settable == nil {
		c.settable = map[string]int{}
	}
	slot := len(c.settable)
	c.settable[lname] = slot
	before, declared := c.extra[lname]
	if declared && before == nil {
		before = declaredGetter(lname)
	}
	if notFound && before == nil {
		before = notFoundGetter
	}
	if before == nil {
		// set's variable is weak (NGX_HTTP_VAR_WEAK): a name of a
		// prefixed family keeps the family's value until a set runs
		// (nginx 1.22.1: "set $http_bar x;" in one location, $http_bar is
		// the Bar field in the others).
		before = c.prefixGetter(lname)
	}
	c.define(lname, settableGetter(lname, slot, before))
	return Settable{slot: slot}, nil
}

// CheckChangeable is nginx's check of a variable that a map, geo or
// split_clients block or a named capture defines (ngx_http_add_variable
// with NGX_HTTP_VAR_CHANGEABLE): a built-in name other than $args and
// $limit_rate is refused with [*DuplicateVariableError], as set refuses it
// (nginx 1.22.1: "map $uri $host" and "server_name ~^(?<host>.+)$" are `the
// duplicate "host" variable`). Other names, those another map or set
// defines included, are accepted.
func (c *Compiler) CheckChangeable(name string) error {
	lname := strings.ToLower(name)
	if lname == "args" || lname == "limit_rate" {
		return nil
	}
	if c.builtin(lname) != nil || c.unchangeable[lname] {
		return &DuplicateVariableError{Name: name}
	}
	return nil
}

// notFoundGetter reads a variable nothing assigned yet as not found.
func notFoundGetter(dst []byte, _ *State) ([]byte, bool) { return dst, false }

// settableGetter reads slot; before is what the name meant before set
// claimed it (nil: nothing).
func settableGetter(name string, slot int, before Getter) Getter {
	return func(dst []byte, st *State) ([]byte, bool) {
		if slot < len(st.user) && st.user[slot].set {
			u := st.user[slot]
			return append(dst, st.userBuf[u.start:u.end]...), true
		}
		if before != nil {
			return before(dst, st)
		}
		if st.Uninitialized != nil {
			st.Uninitialized.UninitializedVariable(name)
		}
		// nginx keeps the empty value it found for the rest of the
		// request: it warns once, and later reads are quiet.
		Settable{slot: slot}.Set(st, nil)
		return dst, true
	}
}

// Set gives the variable value for the rest of st's request. value is
// copied. A value the variable refuses ($limit_rate's that is not a size)
// changes nothing: use Assign to learn of it.
func (v Settable) Set(st *State, value []byte) { _ = v.Assign(st, value) }

// Assign is Set, and reports a value the variable refuses
// ([*InvalidLimitRateError]), which nginx logs at the error level.
func (v Settable) Assign(st *State, value []byte) error {
	if v.limitRate {
		return setLimitRate(st, value)
	}
	if v.args { // nginx's set handler of $args also drops the unparsed URI
		st.Args, st.Rewritten = string(value), true
		return nil
	}
	for len(st.user) <= v.slot {
		st.user = append(st.user, userValue{})
	}
	start := len(st.userBuf)
	st.userBuf = append(st.userBuf, value...)
	st.user[v.slot] = userValue{start: start, end: len(st.userBuf), set: true}
	return nil
}

// Documents maps a request to files the way the level that serves it does
// with root or alias. The engine implements it; vars calls it only when a
// template reads $document_root or $request_filename.
type Documents interface {
	// AppendDocumentRoot appends the root or alias in effect (its variables
	// evaluated), as nginx's $document_root.
	AppendDocumentRoot(dst []byte, st *State) ([]byte, bool)
	// AppendRequestFilename appends the file path of the request's URI
	// ($uri under root, or in place of the location's prefix under
	// alias), as nginx's $request_filename.
	AppendRequestFilename(dst []byte, st *State) ([]byte, bool)
}

func getDocumentRoot(dst []byte, st *State) ([]byte, bool) {
	if st.Documents == nil {
		return dst, false
	}
	return st.Documents.AppendDocumentRoot(dst, st)
}

func getRequestFilename(dst []byte, st *State) ([]byte, bool) {
	if st.Documents == nil {
		return dst, false
	}
	return st.Documents.AppendRequestFilename(dst, st)
}

// getRealpathRoot is nginx's $realpath_root: $document_root with every
// symbolic link resolved (realpath(3)); not found when that fails (the
// root does not exist).
func getRealpathRoot(dst []byte, st *State) ([]byte, bool) {
	if st.Documents == nil {
		return dst, false
	}
	mark := len(dst)
	dst, ok := st.Documents.AppendDocumentRoot(dst, st)
	if !ok {
		return dst[:mark], false
	}
	p, err := filepath.EvalSymlinks(string(dst[mark:]))
	if err != nil {
		return dst[:mark], false
	}
	return append(dst[:mark], p...), true
}

// FastCGIPaths splits the request's URI the way the level serving it says
// (fastcgi_split_path_info and fastcgi_index): $fastcgi_script_name and
// $fastcgi_path_info. [State.Documents] provides it when it implements it;
// otherwise the variables are not found.
type FastCGIPaths interface {
	AppendFastCGIScriptName(dst []byte, st *State) ([]byte, bool)
	AppendFastCGIPathInfo(dst []byte, st *State) ([]byte, bool)
}

func getFastCGIScriptName(dst []byte, st *State) ([]byte, bool) {
	if fp, ok := st.Documents.(FastCGIPaths); ok {
		return fp.AppendFastCGIScriptName(dst, st)
	}
	return dst, false
}

func getFastCGIPathInfo(dst []byte, st *State) ([]byte, bool) {
	if fp, ok := st.Documents.(FastCGIPaths); ok {
		return fp.AppendFastCGIPathInfo(dst, st)
	}
	return dst, false
}

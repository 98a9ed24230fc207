package config

import (
	"path/filepath"
	"strings"
)

// limitExceptMethods are the method names limit_except takes, as nginx's
// ngx_methods_names (compared without case).
var limitExceptMethods = []string{"GET", "HEAD", "POST", "PUT", "DELETE", "MKCOL", "COPY",
	"MOVE", "OPTIONS", "PROPFIND", "PROPPATCH", "LOCK", "UNLOCK", "PATCH"}

// findAuthBasic picks auth_basic and auth_basic_user_file each from the
// nearest level that writes it: nginx merges the two separately, so a
// location may set its own realm and inherit the file.
func findAuthBasic(s *scope, _ ...string) ([]*Directive, *scope) {
	realm, _ := s.nearest("auth_basic")
	file, _ := s.nearest("auth_basic_user_file")
	return append(realm, file...), s
}

// applyAuthBasic sets AuthBasic when both directives apply and the realm is
// not the literal "off".
func applyAuthBasic(b *builder, st *Settings, dirs []*Directive, _ *scope) error {
	var realm, file *Directive
	for _, d := range dirs {
		if d.Name == "auth_basic" {
			realm = d
		} else {
			file = d
		}
	}
	if realm == nil || file == nil || realm.Args[0] == "off" {
		return nil
	}
	st.AuthBasic = &AuthBasic{Realm: realm.Args[0], UserFile: b.confPath(file.Args[0]), ConfDir: b.confDir,
		RealmPos: realm.Pos, UserFilePos: file.Pos}
	return nil
}

// confPath resolves a path against the configuration's directory, as
// nginx's complex values with conf_prefix do: unless it is absolute or
// starts with a variable.
func (b *builder) confPath(p string) string {
	if p == "" || strings.HasPrefix(p, "$") || filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(b.confDir, p)
}

// applySatisfy reads "satisfy all | any" (the table checked the value).
func applySatisfy(_ *builder, st *Settings, dirs []*Directive, _ *scope) error {
	st.SatisfyAny = dirs[0].Args[0] == "any"
	return nil
}

// applyAuthRequest reads "auth_request uri | off;": "off" turns an outer
// level's off here, as nginx's empty URI does.
func applyAuthRequest(_ *builder, st *Settings, dirs []*Directive, _ *scope) error {
	d := dirs[0]
	if d.Args[0] == "off" {
		return nil
	}
	st.AuthRequest, st.AuthRequestPos = d.Args[0], d.Pos
	return nil
}

// applyInternalRedirect reads "internal_redirect uri;" (NGINX Plus). Its
// value is kept as written: it may hold variables, and one that evaluates
// empty makes no redirect.
func applyInternalRedirect(_ *builder, st *Settings, dirs []*Directive, _ *scope) error {
	d := dirs[0]
	st.InternalRedirect, st.InternalRedirectPos = d.Args[0], d.Pos
	return nil
}

// applyMirror reads the mirror directives of a level: "mirror off" turns
// an outer level's mirrors off here. As nginx, "off" cannot share a level
// with a URI ("is duplicate", whichever comes first).
func applyMirror(_ *builder, st *Settings, dirs []*Directive, _ *scope) error {
	var uris []string
	off := false
	for i, d := range dirs {
		isOff := d.Args[0] == "off"
		if i > 0 && (off || isOff) {
			return hintf(d.Pos, `"mirror off" stands alone in its block`, `"mirror" directive is duplicate`)
		}
		off = off || isOff
		if !isOff {
			uris = append(uris, d.Args[0])
		}
	}
	st.Mirrors = uris
	return nil
}

// applyPostAction reads post_action uri | @name | off. nginx 1.22 keeps any
// word: "off" names a location it then cannot find (ten error lines a
// request, which is logged with 500), and so does a word without "/" or
// "@"; fulcrum turns the post action off for "off", as the word says, and
// refuses the others.
func applyPostAction(_ *builder, st *Settings, dirs []*Directive, _ *scope) error {
	d := dirs[0]
	v := d.Args[0]
	switch {
	case v == "off":
		st.PostAction = ""
	case strings.HasPrefix(v, "/") || len(v) > 1 && v[0] == '@':
		st.PostAction = v
	default:
		return hintf(d.Pos, `write a URI such as /done or a named location such as @done, or "off"`,
			`invalid "post_action" target "%s": nginx would look for a named location "%s" after every response and find none`, v, v)
	}
	return nil
}

// checkAuthRequestSet refuses an auth_request_set whose variable is not
// written with its "$", as nginx does.
func checkAuthRequestSet(d *Directive) error {
	if name := d.Args[0]; !strings.HasPrefix(name, "$") {
		return hintf(d.Pos, `write the variable with its "$", as in auth_request_set $user $upstream_http_x_user`, `invalid variable name "%s"`, name)
	}
	return nil
}

// applyAuthRequestSet reads the auth_request_set directives of a level
// (checkAuthRequestSet checked their names).
func applyAuthRequestSet(_ *builder, st *Settings, dirs []*Directive, _ *scope) error {
	out := make([]AuthRequestSet, len(dirs))
	for i, d := range dirs {
		out[i] = AuthRequestSet{Name: d.Args[0][1:], Value: d.Args[1], Pos: d.Pos}
	}
	st.AuthRequestSets = out
	return nil
}

// limitExcept builds the limit_except block of the location at level sc, if
// any: its methods, and its settings as a level below the location's.
func (b *builder) limitExcept(sc *scope) (*LimitExcept, error) {
	dirs := sc.own("limit_except")
	if len(dirs) == 0 {
		return nil, nil
	}
	d := dirs[0]
	le := &LimitExcept{Pos: d.Pos}
	for _, a := range d.Args {
		m := strings.ToUpper(a)
		if !containsString(limitExceptMethods, m) {
			return nil, hintf(d.Pos, "the methods are "+strings.Join(limitExceptMethods, ", "), `invalid method "%s"`, a)
		}
		le.Methods = appendMethod(le.Methods, m)
		if m == "GET" {
			le.Methods = appendMethod(le.Methods, "HEAD")
		}
	}
	inner := newScope(sc, ctxLimitExcept, d.Block)
	inner.loc = sc.loc
	st, err := b.settings(inner)
	if err != nil {
		return nil, err
	}
	le.Settings = st
	return le, nil
}

// appendMethod adds m to list unless it is there.
func appendMethod(list []string, m string) []string {
	if containsString(list, m) {
		return list
	}
	return append(list, m)
}

func containsString(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

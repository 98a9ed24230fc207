package proxy

import (
	"fmt"
	"strings"

	"fulcrum/internal/config"
	"fulcrum/internal/pcre"
	"fulcrum/internal/vars"
)

// cookieRewriter is a location's compiled proxy_cookie_domain,
// proxy_cookie_path and proxy_cookie_flags rules, applied to each Set-Cookie
// field of an upstream's response as nginx's ngx_http_proxy_rewrite_cookie
// does. A Handler's is nil when the location has none of them.
type cookieRewriter struct {
	domains []cookieRule
	paths   []cookieRule
	flags   []cookieFlagsRule
}

// cookieRule is one compiled proxy_cookie_domain or proxy_cookie_path rule.
type cookieRule struct {
	// from is the text to match (text rules); re the pattern of a regex
	// rule, whose match replaces the whole value.
	from text
	re   *pcre.Regexp
	to   *vars.Template
	// domain matches the whole value, without case and after its leading
	// dot (which stays); otherwise from is a prefix, compared with case.
	domain bool
}

// cookieFlagsRule is one compiled proxy_cookie_flags rule.
type cookieFlagsRule struct {
	// name is the cookie name (text rules, compared without case); re the
	// pattern of a regex rule.
	name text
	re   *pcre.Regexp
	// mask is the flags written without variables; vflags the others,
	// evaluated per request.
	mask   cookieFlag
	vflags []*vars.Template
}

// text is a compiled string that may have variables: lit when it has none
// (no work per request), else t.
type text struct {
	lit string
	t   *vars.Template
}

func (x text) value(st *vars.State) string {
	if x.t == nil {
		return x.lit
	}
	return string(x.t.Append(nil, st))
}

func compileText(c *vars.Compiler, s string) (text, error) {
	t, err := c.Compile(s)
	if err != nil {
		return text{}, err
	}
	if lit, ok := t.Constant(); ok {
		return text{lit: lit}, nil
	}
	return text{t: t}, nil
}

// cookieFlag is a set of proxy_cookie_flags flags (nginx's
// NGX_HTTP_PROXY_COOKIE_* bits).
type cookieFlag uint8

const (
	flagSecure cookieFlag = 1 << iota
	flagNoSecure
	flagHTTPOnly
	flagNoHTTPOnly
	flagStrict
	flagLax
	flagNone
	flagNoSameSite
)

// cookieFlagNames are the flags by name, compared without case.
var cookieFlagNames = []struct {
	name string
	flag cookieFlag
}{
	{"secure", flagSecure}, {"nosecure", flagNoSecure},
	{"httponly", flagHTTPOnly}, {"nohttponly", flagNoHTTPOnly},
	{"samesite=strict", flagStrict}, {"samesite=lax", flagLax},
	{"samesite=none", flagNone}, {"nosamesite", flagNoSameSite},
}

// parseCookieFlag returns the flag named s, or 0 for an empty or unknown
// name (nginx skips both: an unknown one only makes a debug log line).
func parseCookieFlag(s string) cookieFlag {
	for _, f := range cookieFlagNames {
		if equalFoldASCII(f.name, s) {
			return f.flag
		}
	}
	return 0
}

// compileCookies compiles a location's proxy_cookie_* rules; nil when it has
// none, so a response pays one field check.
func compileCookies(c *vars.Compiler, set *config.Settings) (*cookieRewriter, error) {
	if len(set.ProxyCookieDomains) == 0 && len(set.ProxyCookiePaths) == 0 && len(set.ProxyCookieFlags) == 0 {
		return nil, nil
	}
	cr := &cookieRewriter{}
	var err error
	if cr.domains, err = compileCookieRules(c, set.ProxyCookieDomains, true); err != nil {
		return nil, err
	}
	if cr.paths, err = compileCookieRules(c, set.ProxyCookiePaths, false); err != nil {
		return nil, err
	}
	for _, f := range set.ProxyCookieFlags {
		r, err := compileCookieFlags(c, f)
		if err != nil {
			return nil, fmt.Errorf("%w in %s", err, f.Pos)
		}
		cr.flags = append(cr.flags, r)
	}
	return cr, nil
}

func compileCookieRules(c *vars.Compiler, rules []config.CookieRewrite, domain bool) ([]cookieRule, error) {
	var out []cookieRule
	for _, r := range rules {
		cr := cookieRule{re: r.Regex, domain: domain}
		var err error
		if cr.re == nil {
			cr.from, err = compileText(c, r.From)
		}
		if err == nil {
			cr.to, err = c.Compile(r.To)
		}
		if err != nil {
			return nil, fmt.Errorf("%w in %s", err, r.Pos)
		}
		out = append(out, cr)
	}
	return out, nil
}

func compileCookieFlags(c *vars.Compiler, f config.CookieFlags) (cookieFlagsRule, error) {
	r := cookieFlagsRule{re: f.Regex}
	var err error
	if r.re == nil {
		if r.name, err = compileText(c, f.Cookie); err != nil {
			return r, err
		}
	}
	for _, s := range f.Flags {
		t, err := c.Compile(s)
		if err != nil {
			return r, err
		}
		if lit, ok := t.Constant(); ok {
			r.mask |= parseCookieFlag(lit)
		} else {
			r.vflags = append(r.vflags, t)
		}
	}
	return r, nil
}

// cookieAttr is one "key=value" (or bare "key") part of a Set-Cookie value;
// the first is the cookie's name and value.
type cookieAttr struct {
	key, value string
	hasValue   bool
	removed    bool
}

// rewrite applies the rules to one Set-Cookie value. A value that no rule
// changes is returned as it came; a changed one is rebuilt from its parts
// joined by "; ", with the spaces around them and around "=" dropped, as
// nginx rebuilds it. A value whose first part has no "=" is left alone.
// ok is false when a proxy_cookie_flags regex went over its match bound
// (flagsFor): the value is then returned as it came, and the response is
// to fail (see Handler.copyHeader).
func (c *cookieRewriter) rewrite(value string, st *vars.State) (_ string, ok bool) {
	attrs := parseCookie(value)
	if !attrs[0].hasValue {
		return value, true
	}
	changed := false
	for i := 1; i < len(attrs); i++ {
		a := &attrs[i]
		if !a.hasValue {
			continue
		}
		var rules []cookieRule
		switch {
		case c.domains != nil && equalFoldASCII(a.key, "domain"):
			rules = c.domains
		case c.paths != nil && equalFoldASCII(a.key, "path"):
			rules = c.paths
		default:
			continue
		}
		// The first rule that matches applies.
		for _, r := range rules {
			if v, ok := r.apply(a.value, st); ok {
				a.value, changed = v, true
				break
			}
		}
	}
	if c.flags != nil {
		f, ok := c.flagsFor(attrs[0].key, st)
		if !ok {
			return value, false
		}
		if f != 0 {
			attrs, changed = editCookieFlags(attrs, f), true
		}
	}
	if !changed {
		return value, true
	}
	return joinCookie(attrs), true
}

// parseCookie splits a Set-Cookie value at each ';' into its parts, with
// the spaces (not other white space) around keys and values trimmed, as
// ngx_http_proxy_parse_cookie does. Empty parts (";;", a trailing ';') are
// kept as empty keys.
func parseCookie(value string) []cookieAttr {
	attrs := make([]cookieAttr, 0, strings.Count(value, ";")+1)
	for {
		part, rest, more := strings.Cut(value, ";")
		part = strings.TrimLeft(part, " ")
		var a cookieAttr
		if k, v, ok := strings.Cut(part, "="); ok {
			a = cookieAttr{key: strings.TrimRight(k, " "), value: strings.Trim(v, " "), hasValue: true}
		} else {
			a = cookieAttr{key: strings.TrimRight(part, " ")}
		}
		attrs = append(attrs, a)
		if !more {
			return attrs
		}
		value = rest
	}
}

// joinCookie writes the parts back as "key=value; key; ...".
func joinCookie(attrs []cookieAttr) string {
	var b strings.Builder
	for i, a := range attrs {
		if a.removed {
			continue
		}
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(a.key)
		if a.hasValue {
			b.WriteByte('=')
			b.WriteString(a.value)
		}
	}
	return b.String()
}

// apply returns the rewritten value when the rule matches it. A regex's
// captures become the request's, for $1... in the replacement and later.
func (r cookieRule) apply(value string, st *vars.State) (string, bool) {
	if r.re != nil {
		idx, err := r.re.Submatch(value)
		if err != nil {
			directive := "proxy_cookie_path"
			if r.domain {
				directive = "proxy_cookie_domain"
			}
			regexAlert(st, directive, r.re, err)
		}
		if idx == nil {
			return "", false
		}
		st.SetCaptures(vars.Captures{Subject: value, Index: idx, Names: r.re.SubexpNames()})
		return string(r.to.Append(nil, st)), true
	}
	from := r.from.value(st)
	if r.domain {
		dot := ""
		if strings.HasPrefix(value, ".") {
			dot, value = ".", value[1:]
		}
		if !equalFoldASCII(value, from) {
			return "", false
		}
		return dot + string(r.to.Append(nil, st)), true
	}
	if !strings.HasPrefix(value, from) {
		return "", false
	}
	return string(r.to.Append(nil, st)) + value[len(from):], true
}

// flagsFor returns the flags of the first proxy_cookie_flags rule that
// names the cookie (0 when none does, or its flags are all empty or unknown).
// A regex over its match bound stops it with ok false, after the alert, as
// ngx_http_proxy_rewrite_cookie_flags returns NGX_ERROR where
// ngx_http_regex_exec fails (recorded with nginx 1.22.1: the response
// fails with 500), while proxy_cookie_domain and proxy_cookie_path go on
// to their next rule (cookieRule.apply).
func (c *cookieRewriter) flagsFor(name string, st *vars.State) (_ cookieFlag, ok bool) {
	for _, r := range c.flags {
		if r.re != nil {
			idx, err := r.re.Submatch(name)
			if err != nil {
				regexAlert(st, "proxy_cookie_flags", r.re, err)
				return 0, false
			}
			if idx == nil {
				continue
			}
			st.SetCaptures(vars.Captures{Subject: name, Index: idx, Names: r.re.SubexpNames()})
		} else if !equalFoldASCII(name, r.name.value(st)) {
			continue
		}
		f := r.mask
		for _, t := range r.vflags {
			f |= parseCookieFlag(string(t.Append(nil, st)))
		}
		return f, true
	}
	return 0, true
}

// editCookieFlags sets and removes flags as ngx_http_proxy_edit_cookie_flags
// does: an attribute already there is kept where it is (a SameSite with
// another value is rewritten in place as "SameSite=Strict", "Lax" or
// "None"), a "no" flag removes every such attribute, and the flags still
// missing are appended in the order Secure, HttpOnly, SameSite. Setting a
// flag wins over removing it; samesite=strict over lax over none.
func editCookieFlags(attrs []cookieAttr, f cookieFlag) []cookieAttr {
	for i := 1; i < len(attrs); i++ {
		a := &attrs[i]
		switch {
		case equalFoldASCII(a.key, "secure"):
			if f&flagSecure != 0 {
				f &^= flagSecure
			} else if f&flagNoSecure != 0 {
				a.removed = true
			}
		case equalFoldASCII(a.key, "httponly"):
			if f&flagHTTPOnly != 0 {
				f &^= flagHTTPOnly
			} else if f&flagNoHTTPOnly != 0 {
				a.removed = true
			}
		case equalFoldASCII(a.key, "samesite"):
			set := false
			for _, s := range sameSites {
				if f&s.flag != 0 {
					f &^= s.flag
					if !equalFoldASCII(a.value, s.value) {
						*a = cookieAttr{key: "SameSite", value: s.value, hasValue: true}
					}
					set = true
					break
				}
			}
			if !set && f&flagNoSameSite != 0 {
				a.removed = true
			}
		}
	}
	if f&flagSecure != 0 {
		attrs = append(attrs, cookieAttr{key: "Secure"})
	}
	if f&flagHTTPOnly != 0 {
		attrs = append(attrs, cookieAttr{key: "HttpOnly"})
	}
	for _, s := range sameSites {
		if f&s.flag != 0 {
			attrs = append(attrs, cookieAttr{key: "SameSite", value: s.value, hasValue: true})
			break
		}
	}
	return attrs
}

// sameSites are the samesite= flags in the order nginx prefers them.
var sameSites = []struct {
	flag  cookieFlag
	value string
}{{flagStrict, "Strict"}, {flagLax, "Lax"}, {flagNone, "None"}}

// equalFoldASCII compares two strings ignoring ASCII case only, as nginx's
// ngx_strncasecmp.
func equalFoldASCII(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		x, y := a[i], b[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

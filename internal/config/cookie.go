package config

import (
	"strings"

	"fulcrum/internal/pcre"
)

// CookieRewrite is one proxy_cookie_domain or proxy_cookie_path rule: the
// Domain or Path attribute of an upstream's Set-Cookie that matches From (or
// Regex) is replaced by To.
type CookieRewrite struct {
	// From is the text to match; it may contain variables. For
	// proxy_cookie_domain a leading "." is already removed, as nginx does
	// with both arguments of a text rule.
	From string
	// Regex is set for "~" rules (proxy_cookie_domain's are always caseless,
	// proxy_cookie_path's when written "~*"); then From is the pattern's text.
	Regex *pcre.Regexp
	// To is the replacement; it may contain variables and, after a regex,
	// its captures.
	To  string
	Pos Pos
}

// CookieFlags is one proxy_cookie_flags rule.
type CookieFlags struct {
	// Cookie is the cookie name to match, without case; it may contain
	// variables. Regex is set instead for a "~" rule (always caseless).
	Cookie string
	Regex  *pcre.Regexp
	// Flags are the flags as written (secure, httponly, samesite=strict,
	// samesite=lax, samesite=none, nosecure, nohttponly, nosamesite); they
	// may contain variables and are checked at request time, as in nginx.
	Flags []string
	Pos   Pos
}

// CookieFlagNames are the values proxy_cookie_flags knows, compared without case.
var CookieFlagNames = []string{"secure", "nosecure", "httponly", "nohttponly",
	"samesite=strict", "samesite=lax", "samesite=none", "nosamesite"}

// applyCookieDomain reads the proxy_cookie_domain directives of one level.
func applyCookieDomain(_ *builder, st *Settings, dirs []*Directive, _ *scope) error {
	rules, err := cookieRewrites(dirs, true)
	st.ProxyCookieDomains = rules
	return err
}

// applyCookiePath reads the proxy_cookie_path directives of one level.
func applyCookiePath(_ *builder, st *Settings, dirs []*Directive, _ *scope) error {
	rules, err := cookieRewrites(dirs, false)
	st.ProxyCookiePaths = rules
	return err
}

// cookieRewrites reads the rules of one level as nginx's
// ngx_http_proxy_cookie_domain and _path do: "off" stands alone (it leaves
// no rules, so nothing is inherited); a text rule or "~regex" and its
// replacement otherwise. domain selects proxy_cookie_domain's forms: its
// "~" is always caseless (so "~*x" is the regex "*x") and a text rule
// drops a leading "." from both arguments.
func cookieRewrites(dirs []*Directive, domain bool) ([]CookieRewrite, error) {
	var rules []CookieRewrite
	for i, d := range dirs {
		if err := cookieDuplicate(dirs, i); err != nil {
			return nil, err
		}
		if len(d.Args) == 1 {
			if d.Args[0] != "off" {
				return nil, hintf(d.Pos, `use "off", or a value and its replacement`, `invalid parameter "%s"`, d.Args[0])
			}
			continue
		}
		r := CookieRewrite{From: d.Args[0], To: d.Args[1], Pos: d.Pos}
		if src, ok := strings.CutPrefix(r.From, "~"); ok {
			caseless := domain
			if !domain && strings.HasPrefix(src, "*") {
				src, caseless = src[1:], true
			}
			re, err := compileRegex(d.Pos, src, caseless)
			if err != nil {
				return nil, err
			}
			r.From, r.Regex = src, re
		} else if domain {
			r.From = strings.TrimPrefix(r.From, ".")
			r.To = strings.TrimPrefix(r.To, ".")
		}
		rules = append(rules, r)
	}
	return rules, nil
}

// cookieDuplicate applies nginx's rule for the directives of one level:
// "off" may not follow a rule nor be followed by anything.
func cookieDuplicate(dirs []*Directive, i int) error {
	if i == 0 {
		return nil
	}
	d := dirs[i]
	if isCookieOff(dirs[0]) || isCookieOff(d) {
		return hintf(d.Pos, `"off" stands alone`, `"%s" directive is duplicate`, d.Name)
	}
	return nil
}

func isCookieOff(d *Directive) bool { return len(d.Args) == 1 && d.Args[0] == "off" }

// applyCookieFlags reads the proxy_cookie_flags directives of one level:
// "off" alone, or a cookie name (or "~regex") and up to three flags.
func applyCookieFlags(b *builder, st *Settings, dirs []*Directive, _ *scope) error {
	var rules []CookieFlags
	for i, d := range dirs {
		if err := cookieDuplicate(dirs, i); err != nil {
			return err
		}
		if len(d.Args) == 1 {
			if d.Args[0] != "off" {
				return hintf(d.Pos, `name the flags to set after the cookie, or write "off"`, `invalid parameter "%s"`, d.Args[0])
			}
			continue
		}
		r := CookieFlags{Cookie: d.Args[0], Flags: d.Args[1:], Pos: d.Pos}
		if src, ok := strings.CutPrefix(r.Cookie, "~"); ok {
			re, err := compileRegex(d.Pos, src, true)
			if err != nil {
				return err
			}
			r.Cookie, r.Regex = src, re
		}
		for _, f := range r.Flags {
			if f != "" && !strings.Contains(f, "$") && !containsFold(CookieFlagNames, f) {
				b.warnDir(d, "the flags are "+strings.Join(CookieFlagNames, ", "),
					`unknown flag "%s" in "proxy_cookie_flags" is ignored`, f)
			}
		}
		rules = append(rules, r)
	}
	st.ProxyCookieFlags = rules
	return nil
}

func containsFold(list []string, s string) bool {
	for _, x := range list {
		if strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}

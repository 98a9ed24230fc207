package config

import (
	"fmt"
	"strings"
)

// maxRouteLen is the longest route= value, NGINX Plus's server ID length
// (NGX_HTTP_UPSTREAM_SID_LEN).
const maxRouteLen = 32

// setSticky reads "sticky cookie ...", "sticky route ..." or "sticky learn
// ..." (NGINX Plus's ngx_http_upstream_sticky_module), with its messages.
func setSticky(u *Upstream, d *Directive) error {
	if u.Sticky != nil {
		return hintf(d.Pos, "an upstream has one sticky directive; the first is in "+u.Sticky.Pos.String(), `"sticky" directive is duplicate`)
	}
	st := &Sticky{Pos: d.Pos}
	var err error
	switch d.Args[0] {
	case "cookie":
		err = stickyCookie(st, d)
	case "route":
		err = stickyRoute(st, d)
	case "learn":
		return hintf(d.Pos, "use sticky cookie, or sticky route with a map of the session cookie (see docs/load-balancing.md)",
			"fulcrum does not support sticky learn yet")
	default:
		return hintf(d.Pos, "use sticky cookie name ..., or sticky route $variable ...", `unknown parameter "%s"`, d.Args[0])
	}
	if err != nil {
		return err
	}
	u.Sticky = st
	return nil
}

// stickyRoute reads the variables of "sticky route $variable ...".
func stickyRoute(st *Sticky, d *Directive) error {
	st.Mode = StickyRoute
	for _, v := range d.Args[1:] {
		if len(v) < 2 || v[0] != '$' {
			return hintf(d.Pos, "each argument of sticky route is a variable such as $route_cookie", `invalid variable name "%s"`, v)
		}
		st.Lookup = append(st.Lookup, v)
	}
	return nil
}

// stickyCookie reads "sticky cookie name [parameters]".
func stickyCookie(st *Sticky, d *Directive) error {
	st.Mode = StickyCookie
	c := &StickyCookieSpec{Name: d.Args[1]}
	if c.Name == "" {
		return errorf(d.Pos, `"sticky" directive empty cookie name`)
	}
	seen := map[string]bool{}
	for _, p := range d.Args[2:] {
		key, val, hasVal := strings.Cut(p, "=")
		if !hasVal && key != "httponly" && key != "secure" {
			key = p // an unknown flag, or "domain" without "="
		}
		if seen[key] {
			return errorf(d.Pos, `"sticky" directive parameter "%s" is duplicate`, key)
		}
		seen[key] = true
		if err := stickyCookieParam(c, d, key, val, hasVal); err != nil {
			return err
		}
	}
	st.Cookie = c
	st.Lookup = []string{"$cookie_" + c.Name}
	return nil
}

// stickyCookieParam applies one parameter of "sticky cookie".
func stickyCookieParam(c *StickyCookieSpec, d *Directive, key, val string, hasVal bool) error {
	switch {
	case key == "domain" && hasVal:
		if val == "" {
			return errorf(d.Pos, `"sticky" directive no value for "domain"`)
		}
		c.Domain = val
	case key == "path" && hasVal:
		if val == "" {
			return errorf(d.Pos, `"sticky" directive no value for "path"`)
		}
		c.Path = val
	case key == "expires" && hasVal:
		c.ExpiresSet = true
		if val == "max" {
			c.ExpiresMax = true
			return nil
		}
		t, err := parseTime(val, true)
		if err != nil {
			return hintf(d.Pos, `expires is a time such as 1h, or "max"`, `"sticky" directive invalid "expires" parameter value`)
		}
		c.Expires = t
	case key == "samesite" && hasVal:
		if !strings.Contains(val, "$") && !validSameSite(val) {
			return hintf(d.Pos, "samesite is strict, lax, none or a variable", `"sticky" directive invalid "samesite" parameter value`)
		}
		c.SameSite = val
	case key == "httponly" && !hasVal:
		c.HTTPOnly = true
	case key == "secure" && !hasVal:
		c.Secure = true
	default:
		return hintf(d.Pos, "sticky cookie takes expires=, domain=, path=, samesite=, httponly and secure",
			`unknown parameter "%s"`, joinParam(key, val, hasVal))
	}
	return nil
}

// joinParam writes a parameter back as it was given.
func joinParam(key, val string, hasVal bool) string {
	if hasVal {
		return key + "=" + val
	}
	return key
}

// validSameSite reports a SameSite value NGINX Plus accepts: strict, lax or
// none, in any case.
func validSameSite(v string) bool {
	return strings.EqualFold(v, "strict") || strings.EqualFold(v, "lax") || strings.EqualFold(v, "none")
}

// ValidSameSite reports whether v, a samesite= value evaluated for a
// request, is strict, lax or none (any case). The daemon sends "strict" in
// place of another non-empty value, as NGINX Plus does.
func ValidSameSite(v string) bool { return validSameSite(v) }

// checkSlowStart refuses slow_start with the methods that cannot ramp a
// weight (NGINX Plus: hash, ip_hash and random), naming the parameter as
// written, as nginx's "balancing method does not support parameter".
func checkSlowStart(u *Upstream, block []*Directive) error {
	if u.Method != MethodHash && u.Method != MethodIPHash && u.Method != MethodRandom {
		return nil
	}
	for _, d := range block {
		if d.Name != "server" {
			continue
		}
		for _, p := range d.Args[1:] {
			if strings.HasPrefix(p, "slow_start=") {
				return hintf(d.Pos, fmt.Sprintf("%s cannot ramp a server's weight (NGINX Plus allows slow_start with round robin and least_conn only); remove slow_start or the method", u.Method),
					`balancing method does not support parameter "%s"`, p)
			}
		}
	}
	return nil
}

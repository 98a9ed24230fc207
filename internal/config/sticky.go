package config

import (
	"fmt"
	"strings"
	"time"
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
		err = stickyLearn(st, d)
	default:
		return hintf(d.Pos, "use sticky cookie name ..., sticky route $variable ..., or sticky learn create=$variable lookup=$variable zone=name:size", `unknown parameter "%s"`, d.Args[0])
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

// defaultLearnTimeout is how long a learned session lasts without a
// request, NGINX Plus's default for "sticky learn" timeout=.
const defaultLearnTimeout = 10 * time.Minute

// stickyLearn reads "sticky learn create=$variable lookup=$variable
// zone=name:size [timeout=time] [header] [sync]": create= and lookup= may
// repeat (the first non-empty value counts), zone= is required.
func stickyLearn(st *Sticky, d *Directive) error {
	st.Mode = StickyLearn
	st.Timeout = defaultLearnTimeout
	const usage = "sticky learn create=$upstream_cookie_NAME lookup=$cookie_NAME zone=name:size [timeout=time] [header] [sync]"
	seen := map[string]bool{}
	for _, p := range d.Args[1:] {
		key, val, hasVal := strings.Cut(p, "=")
		if (key == "timeout" || key == "zone") && hasVal {
			if seen[key] {
				return errorf(d.Pos, `"sticky" directive parameter "%s" is duplicate`, key)
			}
			seen[key] = true
		}
		switch {
		case (key == "create" || key == "lookup") && hasVal:
			if len(val) < 2 || val[0] != '$' {
				return hintf(d.Pos, "create= and lookup= name variables, such as create=$upstream_cookie_sid lookup=$cookie_sid", `invalid variable name "%s"`, val)
			}
			if key == "create" {
				st.Create = append(st.Create, val)
			} else {
				st.Lookup = append(st.Lookup, val)
			}
		case key == "zone" && hasVal:
			name, size, ok := strings.Cut(val, ":")
			n, err := parseSize(size)
			if !ok || name == "" || err != nil || n <= 0 {
				return hintf(d.Pos, "zone=name:size, such as zone=sessions:1m (about 4,000 sessions a megabyte)", `invalid zone "%s"`, val)
			}
			if n < minZoneSize {
				return hintf(d.Pos, "a zone needs at least 32k (eight pages)", `zone "%s" is too small`, name)
			}
			st.Zone, st.ZoneSize = name, n
		case key == "timeout" && hasVal:
			t, err := parseTime(val, false)
			if err != nil || t <= 0 {
				return hintf(d.Pos, "timeout is a time such as 10m", `invalid timeout "%s"`, val)
			}
			st.Timeout = t
		case p == "header":
			st.Header = true
		case p == "sync":
			// zone_sync shares sessions between the nodes of an NGINX
			// Plus cluster; a lone fulcrum keeps its own.
		default:
			return hintf(d.Pos, usage, `unknown parameter "%s"`, p)
		}
	}
	switch {
	case len(st.Create) == 0:
		return hintf(d.Pos, usage, `"sticky" directive requires at least one "create" parameter`)
	case len(st.Lookup) == 0:
		return hintf(d.Pos, usage, `"sticky" directive requires at least one "lookup" parameter`)
	case st.Zone == "":
		return hintf(d.Pos, usage, `"sticky" directive requires the "zone" parameter`)
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
				return hintf(d.Pos, fmt.Sprintf("%s cannot ramp a server's weight (NGINX Plus allows slow_start with round robin, least_conn and least_time only); remove slow_start or the method", u.Method),
					`balancing method does not support parameter "%s"`, p)
			}
		}
	}
	return nil
}

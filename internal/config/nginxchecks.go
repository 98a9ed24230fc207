package config

import (
	"slices"
	"strconv"
	"strings"
)

// Argument checks for directives fulcrum knows without acting on
// (table_nginx.go): each checks what nginx 1.22's handler checks, in its
// words, so that `fulcrum -t` refuses what `nginx -t` refuses.

// checkUpstreamBind checks "X_bind address [transparent] | off;" as nginx's
// ngx_http_upstream_bind_set_slot: "off" alone, an address (variables are
// checked per request), then only "transparent".
func checkUpstreamBind(d *Directive) error {
	addr := d.Args[0]
	if addr == "off" && len(d.Args) == 1 {
		return nil
	}
	if !strings.Contains(addr, "$") {
		if _, ok := ParseBindAddr(addr); !ok {
			return errorf(d.Pos, `invalid address "%s"`, addr)
		}
	}
	if len(d.Args) == 2 && d.Args[1] != "transparent" {
		return errorf(d.Pos, `invalid parameter "%s"`, d.Args[1])
	}
	return nil
}

// checkCacheValid checks "X_cache_valid [code ...] time;" as nginx's
// ngx_http_file_cache_valid_set_slot: the time (in seconds, ngx_parse_time),
// then each code, 100 to 599, or "any".
func checkCacheValid(d *Directive) error {
	last := d.Args[len(d.Args)-1]
	if _, err := parseTime(last, true); err != nil {
		return errorf(d.Pos, `invalid time value "%s"`, last)
	}
	for _, a := range d.Args[:len(d.Args)-1] {
		if a == "any" {
			continue
		}
		if n, err := strconv.Atoi(a); err != nil || n < 100 || n > 599 {
			return errorf(d.Pos, `invalid status "%s"`, a)
		}
	}
	return nil
}

// eventTypes are the connection processing methods nginx has modules for.
var eventTypes = []string{"epoll", "kqueue", "poll", "select", "/dev/poll", "eventport"}

// checkEventType checks "use method;" as nginx's ngx_event_use: a method
// nginx has a module for, by its exact name ("invalid event type "x"").
func checkEventType(d *Directive) error {
	if !slices.Contains(eventTypes, d.Args[0]) {
		return hintf(d.Pos, "the methods are "+strings.Join(eventTypes, ", ")+"; fulcrum picks one itself, so the line may go",
			`invalid event type "%s"`, d.Args[0])
	}
	return nil
}

// openCacheCheck returns the check of "open_file_cache" (logs false) or
// "open_log_file_cache" (logs true) as nginx's ngx_http_core_open_file_cache
// and ngx_http_log_open_file_cache read them: max=N, inactive=time and, for
// logs, min_uses=N and valid=time, or "off" (which wins wherever it stands);
// without "off", max is required.
func openCacheCheck(logs bool) func(d *Directive) error {
	return func(d *Directive) error {
		off, limit := false, 0
		for _, a := range d.Args {
			k, v, _ := strings.Cut(a, "=")
			ok := false
			switch {
			case a == "off":
				off, ok = true, true
			case k == "max" && strings.Contains(a, "="):
				limit, _ = strconv.Atoi(v)
				ok = isDigits(v) && (logs || limit > 0)
			case k == "inactive" || logs && k == "valid":
				_, err := parseTime(v, true)
				ok = strings.Contains(a, "=") && err == nil
			case logs && k == "min_uses":
				ok = strings.Contains(a, "=") && isDigits(v)
			}
			if !ok {
				return errorf(d.Pos, `invalid "%s" parameter "%s"`, d.Name, a)
			}
		}
		switch {
		case off || limit > 0:
			return nil
		case logs:
			return hintf(d.Pos, "write max=N, such as max=1000", `"%s" must have "max" parameter`, d.Name)
		}
		return hintf(d.Pos, "write max=N, such as max=1000", `"%s" must have the "max" parameter`, d.Name)
	}
}

// bitmaskCheck returns a check for a directive whose arguments are each
// one of values, compared as nginx's ngx_conf_set_bitmask_slot compares
// them (case-insensitively).
func bitmaskCheck(values ...string) func(d *Directive) error {
	return func(d *Directive) error {
		for _, a := range d.Args {
			if !slices.ContainsFunc(values, func(v string) bool { return strings.EqualFold(v, a) }) {
				return hintf(d.Pos, "use one of: "+strings.Join(values, ", "), `invalid value "%s"`, a)
			}
		}
		return nil
	}
}

// The values of the bitmask directives.
var (
	checkCacheMethods  = bitmaskCheck("GET", "HEAD", "POST")
	checkCGIUseStale   = bitmaskCheck("error", "timeout", "invalid_header", "updating", "http_500", "http_503", "http_403", "http_404", "http_429", "off")
	checkSSLProtocols  = bitmaskCheck("SSLv2", "SSLv3", "TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3")
	checkUseridFlags   = bitmaskCheck("off", "secure", "httponly", "samesite=strict", "samesite=lax", "samesite=none")
	modernBrowserNames = []string{"msie", "gecko", "opera", "safari", "konqueror"}
)

// powerOfTwoCheck returns a check for gzip_window and gzip_hash, whose
// sizes nginx's post handlers limit to powers of two from 512 to max.
func powerOfTwoCheck(max int64, words string) func(d *Directive) error {
	return func(d *Directive) error {
		n, err := parseSize(d.Args[0])
		if err != nil {
			return nil // the table's kindSize reports it
		}
		for v := int64(512); v <= max; v *= 2 {
			if n == v {
				return nil
			}
		}
		return errorf(d.Pos, `"%s" directive must be %s`, d.Name, words)
	}
}

// The zlib sizes.
var (
	checkGzipWindow = powerOfTwoCheck(32<<10, "512, 1k, 2k, 4k, 8k, 16k, or 32k")
	checkGzipHash   = powerOfTwoCheck(128<<10, "512, 1k, 2k, 4k, 8k, 16k, 32k, 64k, or 128k")
)

// checkModernBrowser checks "modern_browser browser version;" and
// "modern_browser unlisted;" as nginx's ngx_http_modern_browser: a browser
// nginx knows (in any case) and a version of digits and dots, possibly
// empty (version 0). One argument must be "unlisted", as written; nginx
// fails on any other without a message, fulcrum says which.
func checkModernBrowser(d *Directive) error {
	if len(d.Args) == 1 {
		if d.Args[0] != "unlisted" {
			return hintf(d.Pos, `write "modern_browser unlisted;" or "modern_browser browser version;", such as "modern_browser gecko 1.0;"`,
				`invalid value "%s" in "%s" directive`, d.Args[0], d.Name)
		}
		return nil
	}
	if !slices.ContainsFunc(modernBrowserNames, func(v string) bool { return strings.EqualFold(v, d.Args[0]) }) {
		return hintf(d.Pos, "use one of: "+strings.Join(modernBrowserNames, ", "), `unknown browser name "%s"`, d.Args[0])
	}
	if v := d.Args[1]; strings.Trim(v, "0123456789.") != "" {
		return hintf(d.Pos, `write the version as digits and dots, such as "9.0"`, `invalid browser version "%s"`, v)
	}
	return nil
}

// checkUseridMark checks "userid_mark letter | digit | = | off;".
func checkUseridMark(d *Directive) error {
	v := d.Args[0]
	if v == "off" || len(v) == 1 && (v == "=" || isAlnum(v[0])) {
		return nil
	}
	return hintf(d.Pos, `write one character, such as "userid_mark 1;", or "off"`,
		`"%s" directive value must be "off" or a single letter, digit or "="`, d.Name)
}

// isAlnum reports whether c is an ASCII letter or digit.
func isAlnum(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

// checkUseridExpires checks "userid_expires time | max | off;" (a time in
// seconds).
func checkUseridExpires(d *Directive) error {
	v := d.Args[0]
	if v == "max" || v == "off" {
		return nil
	}
	if _, err := parseTime(v, true); err != nil {
		return hintf(d.Pos, `write a time such as 365d or 12h, "max" or "off"`, `"%s" directive invalid value`, d.Name)
	}
	return nil
}

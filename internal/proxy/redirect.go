package proxy

import (
	"strings"

	"fulcrum/internal/pcre"
	"fulcrum/internal/vars"
)

// redirectRule is one compiled proxy_redirect: a text prefix or a regex, and the
// replacement template.
type redirectRule struct {
	// from is the prefix to replace (text rules); fromValue, when set,
	// gives it per response instead (a text with variables, as nginx's
	// "proxy_redirect http://$host:8080/ /;").
	from      string
	fromValue *vars.Template
	// re is the pattern for regex rules; its groups are available as $1...
	re *pcre.Regexp
	// to is the replacement; it may contain variables.
	to *vars.Template
}

// rewriteRedirect applies the first matching rule to a Location or Refresh value
// and returns the new value and true, or the value unchanged and false when no
// rule matches. For Refresh the rules apply to the part after "url=", as nginx
// does.
func rewriteRedirect(rules []redirectRule, header, value string, st *vars.State) (string, bool) {
	if len(rules) == 0 {
		return value, false
	}
	prefix, target := "", value
	if header == "Refresh" {
		i := strings.Index(strings.ToLower(value), "url=")
		if i < 0 {
			return value, false
		}
		prefix, target = value[:i+4], value[i+4:]
	}
	for _, r := range rules {
		if out, ok := r.apply(target, st); ok {
			return prefix + out, true
		}
	}
	return value, false
}

// apply rewrites target when the rule matches it.
func (r redirectRule) apply(target string, st *vars.State) (string, bool) {
	if r.re != nil {
		idx, err := r.re.Submatch(target)
		if err != nil {
			regexAlert(st, "proxy_redirect", r.re, err)
		}
		if idx == nil {
			return "", false
		}
		// The match is the request's last one, as in nginx: its captures
		// stay for the log line and whatever else is evaluated later.
		st.SetCaptures(vars.Captures{Subject: target, Index: idx, Names: r.re.SubexpNames()})
		// nginx replaces the whole value when a regex rule matches.
		return string(r.to.Append(nil, st)), true
	}
	from := r.from
	if r.fromValue != nil {
		from = r.fromValue.String(st)
	}
	if !strings.HasPrefix(target, from) {
		return "", false
	}
	return string(r.to.Append(nil, st)) + target[len(from):], true
}

// regexAlert logs a rule's regex whose match hit its bound (err) at alert,
// as nginx logs ngx_http_regex_exec's failure while it reads the
// upstream's head; the rule then does not match, the next one is tried
// (nginx's ngx_http_proxy_rewrite_regex_handler declines). The line goes
// out with the request's (see vars.State.LogVariableAlert), once per
// directive and pattern.
func regexAlert(st *vars.State, directive string, re *pcre.Regexp, err error) {
	st.LogVariableAlert(directive+" "+re.String(), err.Error()+" while reading response header from upstream")
}

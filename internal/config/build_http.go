package config

import (
	"errors"
	"fmt"
	"regexp/syntax"
	"strings"
	"time"

	"fulcrum/internal/pcre"
)

// combinedTemplate is nginx's predefined "combined" log format.
const combinedTemplate = `$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent"`

func combinedFormat() *LogFormat {
	return &LogFormat{Name: "combined", Escape: "default", Template: combinedTemplate}
}

// buildHTTP builds the http block. Upstreams come first so that proxy_pass may name
// one defined further down, as in nginx.
func (b *builder) buildHTTP(d *Directive) (*HTTP, error) {
	h := &HTTP{LogFormats: b.formats}
	b.cfg.HTTP = h
	http := newScope(nil, ctxHTTP, d.Block)
	steps := []func(*HTTP, *scope) error{
		b.logFormats, b.httpTypes, b.maps, b.geos, b.splitClients, b.jwtVarSets, b.limitConnZones, b.limitReqZones, b.keyvals, b.oidcProviders, b.geoIP2, b.geoIP, b.cachePaths, b.matches, b.explicitUpstreams, b.httpSettings, b.warnSSLDirectives, b.servers,
	}
	for _, step := range steps {
		if err := step(h, http); err != nil {
			return nil, err
		}
	}
	if err := checkDefaultServers(h.Servers); err != nil {
		return nil, err
	}
	applySSLOn(h.Servers)
	if err := checkTLSListens(tlsDefaults(h.Servers)); err != nil {
		return nil, err
	}
	if err := checkLimitConnZones(h); err != nil {
		return nil, err
	}
	if err := checkLimitReqZones(h); err != nil {
		return nil, err
	}
	if err := b.checkServerNames(h.Servers); err != nil {
		return nil, err
	}
	b.warnPlainHTTP2(h.Servers)
	b.warnNTLMClose(h)
	return h, nil
}

// httpSettings builds the http level's own Settings, to check the values of
// the directives written there even when no server inherits them, and
// keeps the access logs its access_log directives name (HTTP.AccessLogs).
func (b *builder) httpSettings(h *HTTP, http *scope) error {
	st, err := b.settings(http)
	if err == nil && len(http.own("access_log")) > 0 {
		h.AccessLogs = st.AccessLogs
	}
	return err
}

// logFormats reads "log_format name [escape=default|json|none] string ...".
func (b *builder) logFormats(_ *HTTP, http *scope) error {
	for _, d := range http.own("log_format") {
		f, err := parseLogFormat(d)
		if err != nil {
			return err
		}
		if b.formats[f.Name] != nil {
			return errorf(d.Pos, `duplicate "log_format" name "%s"`, f.Name)
		}
		b.formats[f.Name] = f
	}
	return nil
}

func parseLogFormat(d *Directive) (*LogFormat, error) {
	f := &LogFormat{Name: d.Args[0], Escape: "default", Pos: d.Pos}
	parts := d.Args[1:]
	if e, ok := strings.CutPrefix(parts[0], "escape="); ok {
		if e != "default" && e != "json" && e != "none" {
			return nil, hintf(d.Pos, "use escape=default, escape=json or escape=none", `unknown log format escaping "%s"`, e)
		}
		f.Escape = e
		parts = parts[1:]
	}
	f.Template = strings.Join(parts, "")
	return f, nil
}

// builtinTypes are nginx's types when no types block is written anywhere.
func builtinTypes() map[string]string {
	return map[string]string{"html": "text/html", "gif": "image/gif", "jpg": "image/jpeg"}
}

func (b *builder) defaultTypes() map[string]string {
	if b.defTypes == nil {
		b.defTypes = builtinTypes()
	}
	return b.defTypes
}

// httpTypes sets HTTP.Types from the http level's types blocks.
func (b *builder) httpTypes(h *HTTP, http *scope) error {
	h.Types = b.defaultTypes()
	if dirs := http.own("types"); len(dirs) > 0 {
		h.Types = b.types(dirs)
	}
	return nil
}

// types merges the types blocks of one level into one map from lower-case extension
// to MIME type. A later extension replaces an earlier one with a warning, as in nginx
// (even when both name the same type).
// The map of a level is built once and shared by every level that inherits it.
func (b *builder) types(dirs []*Directive) map[string]string {
	if m, ok := b.typesOf[dirs[0]]; ok {
		return m
	}
	m := map[string]string{}
	for _, d := range dirs {
		for _, line := range d.Block {
			for _, ext := range line.Args {
				ext = strings.ToLower(ext)
				if old, dup := m[ext]; dup {
					b.warn(line.Pos, "", `duplicate extension "%s", content type: "%s", previous content type: "%s"`, ext, line.Name, old)
				}
				m[ext] = line.Name
			}
		}
	}
	b.typesOf[dirs[0]] = m
	return m
}

// maps reads the map blocks.
func (b *builder) maps(h *HTTP, http *scope) error {
	for _, d := range http.own("map") {
		m, err := parseMap(d)
		if err != nil {
			return err
		}
		h.Maps = append(h.Maps, m)
	}
	return nil
}

// parseMap reads "map string $variable { ... }".
func parseMap(d *Directive) (*Map, error) {
	v := d.Args[1]
	if len(v) < 2 || v[0] != '$' {
		return nil, hintf(d.Pos, `the second argument names the variable to set, such as $name`, `invalid variable name "%s"`, v)
	}
	m := &Map{Source: d.Args[0], Variable: v[1:], Pos: d.Pos}
	p := mapParser{m: m, exact: map[string]bool{}}
	for _, line := range d.Block {
		if err := p.line(line); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// mapParser reads the lines of one map block.
type mapParser struct {
	m          *Map
	exact      map[string]bool // exact and wildcard keys seen
	hasDefault bool
}

func (p *mapParser) line(d *Directive) error {
	switch {
	case len(d.Args) == 0 && d.Name == "hostnames":
		p.m.Hostnames = true
		return nil
	case len(d.Args) == 0 && d.Name == "volatile":
		p.m.Volatile = true
		return nil
	case d.Name == "default":
		if p.hasDefault {
			return errorf(d.Pos, "duplicate default map parameter")
		}
		p.m.Default, p.hasDefault = d.Args[0], true
		return nil
	}
	entries, err := p.entries(d)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if e.Kind != NameRegex {
			if p.exact[e.Key] {
				return errorf(d.Pos, `conflicting parameter "%s"`, d.Name)
			}
			p.exact[e.Key] = true
		}
		p.m.Entries = append(p.m.Entries, e)
	}
	return nil
}

// entries turns one "key value" line into entries: a regex, a wildcard (with
// hostnames; ".example.org" gives two) or an exact string. A leading backslash makes
// the rest literal ("\default").
func (p *mapParser) entries(d *Directive) ([]MapEntry, error) {
	key, value := d.Name, d.Args[0]
	if strings.HasPrefix(key, `\`) {
		return []MapEntry{{Kind: NameExact, Key: strings.ToLower(key[1:]), Value: value, Pos: d.Pos}}, nil
	}
	if strings.HasPrefix(key, "~") {
		src, caseless := key[1:], false
		if strings.HasPrefix(src, "*") {
			src, caseless = src[1:], true
		}
		re, err := compileRegex(d.Pos, src, caseless)
		if err != nil {
			return nil, err
		}
		return []MapEntry{{Kind: NameRegex, Key: src, Regex: re, Value: value, Pos: d.Pos}}, nil
	}
	kinds := []NameKind{NameExact}
	keys := []string{strings.ToLower(key)}
	if p.m.Hostnames {
		if !validWildcardKey(key) {
			return nil, refererHostError(d, key)
		}
		kinds, keys = hostnameKinds(strings.ToLower(key))
	}
	out := make([]MapEntry, len(keys))
	for i := range keys {
		out[i] = MapEntry{Kind: kinds[i], Key: keys[i], Value: value, Pos: d.Pos}
	}
	return out, nil
}

// validWildcardKey reports whether nginx's ngx_hash_add_key takes name as a
// key of a hash with wildcards (a map with hostnames): at most one "*", no
// "..", and a "*" only as "*.x" or "x.*" (recorded with nginx 1.22.1:
// "*.example.*", "www.*.com", "*x.com", "*." and "a..b.com" are `invalid
// hostname or wildcard`).
func validWildcardKey(name string) bool {
	if strings.Count(name, "*") > 1 || strings.Contains(name, "..") {
		return false
	}
	switch {
	case len(name) > 2 && (strings.HasPrefix(name, "*.") || strings.HasSuffix(name, ".*")):
		return true
	}
	return !strings.Contains(name, "*")
}

// hostnameKinds classifies a lower-case host name with wildcards: "*.x" is a lead
// wildcard, "x.*" a trail wildcard, ".x" both "x" and "*.x", anything else exact.
func hostnameKinds(name string) ([]NameKind, []string) {
	switch {
	case strings.HasPrefix(name, "*."):
		return []NameKind{NameLeadWildcard}, []string{name}
	case strings.HasPrefix(name, ".") && len(name) > 1:
		return []NameKind{NameExact, NameLeadWildcard}, []string{name[1:], "*" + name}
	case strings.HasSuffix(name, ".*"):
		return []NameKind{NameTrailWildcard}, []string{name}
	}
	return []NameKind{NameExact}, []string{name}
}

// compileRegex compiles an nginx regex (see package pcre: RE2 when it can,
// the bounded backtracking engine for lookaround and backreferences);
// case-insensitive matching folds ASCII letters only, as nginx's PCRE.
func compileRegex(pos Pos, src string, caseless bool) (*pcre.Regexp, error) {
	re, err := pcre.Compile(src, caseless)
	if err != nil {
		var pe *pcre.SyntaxError
		if errors.As(err, &pe) {
			return nil, pcreError(pos, pe)
		}
		var se *syntax.Error
		if errors.As(err, &se) && pcreWords[se.Code] != "" {
			return nil, hintf(pos, `close it; quote a regular expression that holds "{", "}" or ";"`,
				`pcre2_compile() failed: %s in "%s"`, pcreWords[se.Code], src)
		}
		msg := err.Error()
		if i := strings.Index(msg, ": "); i >= 0 && strings.HasPrefix(msg, "error parsing regexp") {
			msg = msg[i+2:]
		}
		return nil, hintf(pos, "fulcrum reads PCRE syntax except recursion, \\K, \\R, \\X, \\C, (?|...), backtracking verbs and callouts",
			`invalid regular expression "%s": %s`, src, msg)
	}
	return re, nil
}

// pcreError words PCRE2's refusal of a pattern as nginx 1.22.1 does
// (recorded; see pcre.SyntaxError.Line), with a hint.
func pcreError(pos Pos, pe *pcre.SyntaxError) error {
	hint := pcreHints[pe.Msg]
	if hint == "" {
		hint = "fix the regular expression: nginx's PCRE2 refuses it too"
	}
	return hintf(pos, hint, "%s", pe.Line())
}

// pcreHints are the fixes of PCRE2's commonest refusals (by message).
var pcreHints = map[string]string{
	"missing closing parenthesis":                                       `close it; quote a regular expression that holds "{", "}" or ";"`,
	"missing terminating ] for character class":                         `close it; quote a regular expression that holds "{", "}" or ";"`,
	"invalid range in character class":                                  `escape the "-" as "\-" or put it last in the class`,
	"two named subpatterns have the same name (PCRE2_DUPNAMES not set)": "give each named group its own name",
	"subpattern name must start with a non-digit":                       `start the group's name with a letter or "_"`,
	"number too big in {} quantifier":                                   "repeat at most 65535 times",
	"quantifier does not follow a repeatable item":                      `escape a literal "*", "+", "?" or "{" with "\"`,
	`unrecognized character follows \`:                                  "remove the backslash: PCRE2 has no such escape",
}

// pcreWords are PCRE2's words for the syntax errors it reports at the end of
// the pattern, which nginx 1.22.1 logs as `pcre2_compile() failed: WORDS in
// "SRC"` (recorded), with no `at "..."` part. They are the errors of a regular
// expression that an unquoted "{" cut short (`location ~ ^/(\d{4})/ {`).
var pcreWords = map[syntax.ErrorCode]string{
	syntax.ErrMissingParen:   "missing closing parenthesis",
	syntax.ErrMissingBracket: "missing terminating ] for character class",
}

// applyAccessLog reads the access_log directives of one level: "off", or a path with
// an optional format and parameters.
func applyAccessLog(b *builder, st *Settings, dirs []*Directive, _ *scope) error {
	var logs []AccessLog
	var off *Directive
	for _, d := range dirs {
		if d.Args[0] == "off" {
			if len(d.Args) > 1 {
				return errorf(d.Pos, `invalid parameter "%s"`, d.Args[1])
			}
			if off == nil {
				off = d
			}
			continue
		}
		// Checked even beside "off", as nginx's ngx_http_log_set_log
		// reads every line ("off" wins when the level logs).
		l, err := b.accessLog(d)
		if err != nil {
			return err
		}
		logs = append(logs, l)
	}
	if off != nil {
		logs = []AccessLog{{Off: true, Pos: off.Pos}}
	}
	st.AccessLogs = logs
	return nil
}

func (b *builder) accessLog(d *Directive) (AccessLog, error) {
	l := AccessLog{Path: b.path(d.Args[0]), Format: b.formats["combined"], Pos: d.Pos}
	if isSyslog(d.Args[0]) {
		s, err := b.parseSyslog(d, d.Args[0])
		if err != nil {
			return l, err
		}
		l.Path, l.Syslog = d.Args[0], s
	}
	if len(d.Args) > 1 {
		f, ok := b.formats[d.Args[1]]
		if !ok {
			return l, b.unknownFormat(d)
		}
		l.Format = f
	}
	gzip := false
	for _, a := range d.Args[min(2, len(d.Args)):] {
		if l.Syslog.Addr != "" && (a == "gzip" || strings.HasPrefix(a, "gzip=")) {
			gzip = true
			continue
		}
		if err := b.accessLogParam(d, &l, a); err != nil {
			return l, err
		}
	}
	if l.Syslog.Addr != "" {
		return l, syslogUnbuffered(d, l, gzip)
	}
	return l, nil
}

// syslogUnbuffered refuses buffer=, flush= and gzip on a syslog: access
// log, in nginx's order and words (ngx_http_log_set_log, recorded with
// nginx 1.22.1): flush= without a buffer first, then any buffer.
func syslogUnbuffered(d *Directive, l AccessLog, gzip bool) error {
	if l.Flush > 0 && l.Buffer <= 0 && !gzip {
		return hintf(d.Pos, "a syslog: log sends each line at once: drop flush=", `no buffer is defined for access_log "%s"`, l.Path)
	}
	if l.Buffer > 0 || gzip {
		return hintf(d.Pos, "a syslog: log sends each line at once: drop buffer=, flush= and gzip", "logs to syslog cannot be buffered")
	}
	return nil
}

func (b *builder) unknownFormat(d *Directive) error {
	names := make([]string, 0, len(b.formats))
	for n := range b.formats {
		names = append(names, n)
	}
	if s := suggest(d.Args[1], names, nil); s != "" {
		return hintf(d.Pos, fmt.Sprintf(`did you mean "%s"?`, s), `unknown log format "%s"`, d.Args[1])
	}
	return hintf(d.Pos, "define it with log_format in the http block", `unknown log format "%s"`, d.Args[1])
}

// accessLogParam reads one of buffer=, flush=, if= and gzip[=level].
func (b *builder) accessLogParam(d *Directive, l *AccessLog, a string) error {
	key, val, _ := strings.Cut(a, "=")
	var err error
	switch key {
	case "buffer":
		l.Buffer, err = parseSize(val)
		if err == nil && l.Buffer == 0 {
			l.Buffer = -1 // an explicit buffer=0: write each line at once
		}
	case "flush":
		var t time.Duration
		t, err = parseTime(val, false)
		l.Flush = t
	case "if":
		l.If = val
	case "gzip":
		b.warnDir(d, "the log is written uncompressed", `fulcrum does not implement "access_log ... gzip" yet`)
	default:
		err = errBadValue
	}
	if err != nil {
		return hintf(d.Pos, "access_log takes buffer=size, flush=time, gzip[=level] and if=condition", `invalid parameter "%s"`, a)
	}
	return nil
}

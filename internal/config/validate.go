package config

import (
	"fmt"
	"net/netip"
	"path"
	"slices"
	"strings"
)

// validator checks a directive tree against the directive table: known names,
// contexts, blocks, argument counts, value kinds and duplicates. It collects the
// warnings for ignored and planned directives. It does not build anything.
type validator struct {
	warnings []Warning
}

// validate checks the main context's directives and returns the warnings, or the
// first error.
func validate(dirs []*Directive) ([]Warning, error) {
	v := &validator{}
	if err := v.block(dirs, ctxMain); err != nil {
		return nil, err
	}
	return v.warnings, nil
}

func (v *validator) warn(pos Pos, hint, format string, args ...any) {
	v.warnings = append(v.warnings, Warning{Pos: pos, Msg: fmt.Sprintf(format, args...), Hint: hint})
}

// block checks the directives of one block whose context is ctx.
func (v *validator) block(dirs []*Directive, ctx ctxSet) error {
	seen := map[*spec]bool{}
	for _, d := range dirs {
		var err error
		switch ctx {
		case ctxTypes:
			err = checkTypeLine(d)
		case ctxMap:
			err = checkMapLine(d)
		case ctxGeo, ctxSplit, ctxMatch, ctxGeoIP2:
			err = checkPlainLine(d)
		default:
			err = v.directive(d, ctx, seen)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// mirrorOffKey marks, in a block's seen set, that it holds "mirror off".
var mirrorOffKey = &spec{}

// http2PushOffKey marks, in a block's seen set, that it holds "http2_push off".
var http2PushOffKey = &spec{}

// checkHTTP2PushMix refuses what nginx's ngx_http_v2_push refuses in one
// block, where URIs may repeat: "off" twice, or "off" and a URI, in nginx
// 1.22.1's words (recorded with nginx -t).
func checkHTTP2PushMix(d *Directive, s *spec, seen map[*spec]bool) error {
	off := len(d.Args) == 1 && d.Args[0] == "off"
	const hint = `write either "http2_push off;" or the URIs (any number); fulcrum pushes none`
	switch {
	case !seen[s]:
	case off && seen[http2PushOffKey]:
		return errorf(d.Pos, `"http2_push" directive is duplicate`)
	case off:
		return hintf(d.Pos, hint, `"http2_push" directive "off" parameter cannot be used with URI`)
	case seen[http2PushOffKey]:
		return hintf(d.Pos, hint, `"http2_push" directive URI cannot be used with "off" parameter`)
	}
	if off {
		seen[http2PushOffKey] = true
	}
	return nil
}

// directive checks one directive in ctx; seen holds the specs already used in this
// block, for duplicates.
func (v *validator) directive(d *Directive, ctx ctxSet, seen map[*spec]bool) error {
	s, err := findSpec(d, ctx)
	if err != nil {
		return err
	}
	// nginx's order: the shape and the argument count (ngx_conf_handler), then
	// the handler, whose slot functions refuse a duplicate before they read
	// the value ("sendfile on; sendfile yes;" is duplicate).
	if err := checkShape(s, d); err != nil {
		return err
	}
	if s.status == unsupported && !s.asksForWhatFulcrumDoes(d) {
		return hintf(d.Pos, s.note, `fulcrum does not support the "%s" directive yet`, d.Name)
	}
	if seen[s] && !s.multi {
		return errorf(d.Pos, `"%s" directive is duplicate`, d.Name)
	}
	if err := checkFlag(s, d); err != nil {
		return err
	}
	if err := checkKinds(s, d); err != nil {
		return err
	}
	if d.Name == "mirror" {
		// nginx's ngx_http_mirror: "off" cannot share a block with a URI.
		off := len(d.Args) > 0 && d.Args[0] == "off"
		if seen[s] && (off || seen[mirrorOffKey]) {
			return hintf(d.Pos, `"mirror off" stands alone in its block`, `"mirror" directive is duplicate`)
		}
		if off {
			seen[mirrorOffKey] = true
		}
	}
	if d.Name == "http2_push" {
		if err := checkHTTP2PushMix(d, s, seen); err != nil {
			return err
		}
	}
	seen[s] = true
	if s.check != nil {
		if err := s.check(d); err != nil {
			return err
		}
	}
	if s.obsolete != "" {
		v.warn(d.Pos, "", `the "%s" directive is obsolete, use the "%s" directive instead`, d.Name, s.obsolete)
		return nil
	}
	if s.status != implemented && s.asksForWhatFulcrumDoes(d) {
		return nil
	}
	switch s.status {
	case ignored:
		v.warn(d.Pos, ignoredHint(s, d), `"%s" is ignored`, d.Name)
		return nil
	case planned:
		v.warn(d.Pos, s.note, `fulcrum does not implement "%s" yet`, d.Name)
		return nil
	}
	if d.IsBlock {
		return v.block(d.Block, childContext(s, ctx))
	}
	return nil
}

// childContext is the context inside the block of s, written in ctx. A location in
// a location is a nested location; an if in a server is a server's if.
func childContext(s *spec, ctx ctxSet) ctxSet {
	if s.child == ctxLocation && ctx&ctxLoc != 0 {
		return ctxNestedLocation
	}
	if s.child == ctxLocationIf && ctx == ctxServer {
		return ctxServerIf
	}
	return s.child
}

// findSpec returns the spec for d in ctx, or nginx's error for an unknown directive
// (with a suggestion) or one in the wrong place (with where it belongs).
func findSpec(d *Directive, ctx ctxSet) (*spec, error) {
	s, known, allowed := lookupSpec(d.Name, ctx)
	if !known {
		return nil, unknownDirective(d, ctx)
	}
	if !allowed && ctx == ctxLimitExcept && slices.Contains(limitExceptElsewhere, d.Name) {
		return nil, hintf(d.Pos, limitExceptHint, `fulcrum does not support "%s" inside "limit_except" yet`, d.Name)
	}
	if !allowed {
		return nil, hintf(d.Pos, "it is allowed in: "+allContexts(d.Name).String(), `"%s" directive is not allowed here`, d.Name)
	}
	return s, nil
}

// limitExceptElsewhere are the directives nginx 1.22 also accepts inside
// limit_except (NGX_HTTP_LMT_CONF) that fulcrum does not apply there.
var limitExceptElsewhere = []string{"proxy_pass", "access_log", "auth_request", "auth_request_set"}

// limitExceptHint is the hint of a directive refused inside limit_except.
const limitExceptHint = "inside limit_except fulcrum applies allow, deny, auth_basic and auth_basic_user_file; write the directive in the enclosing location"

// allContexts is the union of the contexts of every spec of name.
func allContexts(name string) ctxSet {
	var c ctxSet
	for _, s := range directiveIndex[name] {
		c |= s.ctx
	}
	return c
}

// unknownDirective is nginx's error for a name not in the table, with a "did you
// mean" hint for a close known name.
func unknownDirective(d *Directive, ctx ctxSet) error {
	if best := suggest(d.Name, directiveNames, func(n string) bool {
		_, _, ok := lookupSpec(n, ctx)
		return ok
	}); best != "" {
		return hintf(d.Pos, fmt.Sprintf(`did you mean "%s"?`, best), `unknown directive "%s"`, d.Name)
	}
	return errorf(d.Pos, `unknown directive "%s"`, d.Name)
}

// checkShape checks block versus simple directive and the argument count, in nginx's
// order and words.
func checkShape(s *spec, d *Directive) error {
	if s.args&argsBlock == 0 && d.IsBlock {
		return errorf(d.Pos, `directive "%s" is not terminated by ";"`, d.Name)
	}
	if s.args&argsBlock != 0 && !d.IsBlock {
		return errorf(d.Pos, `directive "%s" has no opening "{"`, d.Name)
	}
	if !s.args.ok(len(d.Args)) {
		return hintf(d.Pos, "syntax: "+s.syntax, `invalid number of arguments in "%s" directive`, d.Name)
	}
	return nil
}

// checkFlag checks the value of an on|off directive.
func checkFlag(s *spec, d *Directive) error {
	if s.args&argsFlag != 0 {
		if _, err := parseFlag(d.Args[0]); err != nil {
			return errorf(d.Pos, `invalid value "%s" in "%s" directive, it must be "on" or "off"`, d.Args[0], d.Name)
		}
	}
	return nil
}

// checkKinds checks each argument against its value kind.
func checkKinds(s *spec, d *Directive) error {
	if len(s.kinds) == 0 {
		return nil
	}
	for i, a := range d.Args {
		k := s.kinds[min(i, len(s.kinds)-1)]
		if err := checkKind(s, d, k, a); err != nil {
			return err
		}
	}
	return nil
}

// checkKind checks one argument a of d against kind k, with nginx's message for the
// slot function that parses that kind.
func checkKind(s *spec, d *Directive, k kind, a string) error {
	var err error
	switch k {
	case kindSize:
		_, err = parseSize(a)
		return valueError(d, err, "use a size such as 512, 8k or 1m")
	case kindOffset:
		_, err = parseOffset(a)
		return valueError(d, err, "use a size such as 512, 8k, 1m or 1g")
	case kindMsec:
		_, err = parseTime(a, false)
		return valueError(d, err, "use a time such as 500ms, 30s, 5m, 1h or 1m30s")
	case kindSec:
		_, err = parseTime(a, true)
		return valueError(d, err, "use a time such as 30s, 5m, 1h, 1d or 1M")
	case kindNumber:
		if _, err = parseNumber(a); err != nil {
			return hintf(d.Pos, "use a whole number such as 100", `"%s" directive invalid number`, d.Name)
		}
	case kindEnum:
		if !slices.Contains(s.enum, a) {
			return hintf(d.Pos, "use one of: "+strings.Join(s.enum, ", "), `invalid value "%s"`, a)
		}
	case kindAccess:
		if _, _, err := parseAccessRule(d.Name, a, d.Pos); err != nil {
			return accessParamError(d)
		}
	case kindAddress:
		// Not an address: a host name, which the directive's rule resolves
		// (set_real_ip_from, as nginx's realip modules).
	}
	return nil
}

// valueError is nginx's `"NAME" directive invalid value`, or nil when err is nil.
func valueError(d *Directive, err error, hint string) error {
	if err == nil {
		return nil
	}
	return hintf(d.Pos, hint, `"%s" directive invalid value`, d.Name)
}

// validAddress reports whether a is an IP address, a CIDR or "unix:".
func validAddress(a string) bool {
	if a == "unix:" {
		return true
	}
	if _, err := netip.ParseAddr(a); err == nil {
		return true
	}
	_, err := netip.ParsePrefix(a)
	return err == nil
}

// checkTypeLine checks one line of a types block: "mime/type ext ...;".
func checkTypeLine(d *Directive) error {
	if d.IsBlock {
		return errorf(d.Pos, `unexpected "{"`)
	}
	return nil
}

// checkMapLine checks one line of a map block: "key value;" or a special parameter.
func checkMapLine(d *Directive) error {
	if d.IsBlock {
		return errorf(d.Pos, `unexpected "{"`)
	}
	n := len(d.Args)
	switch d.Name {
	case "hostnames", "volatile":
		if n == 0 {
			return nil
		}
	}
	if n != 1 {
		return hintf(d.Pos, `each line of a map block is "source value;"`, `invalid number of the map parameters`)
	}
	return nil
}

// checkPlainLine checks a line of a geo or split_clients block, which has no
// block of its own; the builder reads its arguments.
func checkPlainLine(d *Directive) error {
	if d.IsBlock {
		return errorf(d.Pos, `unexpected "{"`)
	}
	return nil
}

// asksForWhatFulcrumDoes reports whether d's value is one of s.asIs: the
// directive, though not implemented, asks for what fulcrum does anyway.
func (s *spec) asksForWhatFulcrumDoes(d *Directive) bool {
	if len(d.Args) != 1 || d.IsBlock {
		return false
	}
	for _, v := range s.asIs {
		if strings.EqualFold(d.Args[0], v) {
			return true
		}
	}
	return false
}

// builtinModules are the dynamic modules of Debian's nginx packages whose
// directives fulcrum implements, by the file load_module names.
var builtinModules = map[string]string{
	"ngx_stream_module.so":        "stream",
	"ngx_http_geoip2_module.so":   "geoip2 (ngx_http_geoip2_module)",
	"ngx_stream_geoip2_module.so": "geoip2 in stream (ngx_stream_geoip2_module)",
	"ngx_http_geoip_module.so":    "the legacy GeoIP module (ngx_http_geoip_module)",
	"ngx_stream_geoip_module.so":  "the legacy GeoIP module in stream (ngx_stream_geoip_module)",
}

// ignoredHint is the hint of an ignored directive's warning: its note, or
// for load_module of a module fulcrum has built in, that its directives
// work.
func ignoredHint(s *spec, d *Directive) string {
	if d.Name != "load_module" || len(d.Args) != 1 {
		return s.note
	}
	if m, ok := builtinModules[path.Base(d.Args[0])]; ok {
		return "fulcrum has " + m + " built in: its directives work without loading it"
	}
	return s.note
}

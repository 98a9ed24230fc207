package config

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"fulcrum/internal/pcre"
)

// HealthCheck is NGINX Plus's health_check directive of a location
// (ngx_http_upstream_hc_module): periodic GET requests to every server of the
// upstream group the location's proxy_pass names, or, with type=grpc, gRPC
// health checks of the group its grpc_pass names. It is not inherited.
type HealthCheck struct {
	// Upstream is the group checked: the location's proxy_pass upstream
	// (grpc_pass's with GRPC).
	Upstream *Upstream
	HealthSchedule
	// URI is the request target of the checks (uri=, "/").
	URI string
	// Match is the match block a response must satisfy (match=); nil means
	// a status of 2xx or 3xx.
	Match *Match
	// GRPC is type=grpc: the check is the gRPC Health Checking Protocol's
	// grpc.health.v1.Health/Check call (URI and Match are then unused).
	// GRPCService is its service (grpc_service=, "": the whole server);
	// GRPCStatus, when not 0, a grpc-status that passes the check too
	// (grpc_status=).
	GRPC        bool
	GRPCService string
	GRPCStatus  int
	Pos         Pos
}

// Match is a "match name { ... }" block: the tests a health check response
// must all pass. A block without tests passes any 2xx or 3xx status.
type Match struct {
	Name  string
	Tests []MatchTest
	Pos   Pos
}

// MatchKind is what a match test looks at.
type MatchKind int

// The match tests.
const (
	// MatchStatus: the status is (Not: is not) in one of Ranges.
	MatchStatus MatchKind = iota
	// MatchHeader: the header field Header, with Op.
	MatchHeader
	// MatchBody: the first 256 KiB of the body match (Not: do not match) Regex.
	MatchBody
)

// HeaderOp is how a header test compares the field.
type HeaderOp int

// The header tests: "header Name;" (present), "header ! Name;" (absent, Not),
// "header Name = value;" and "!=", "header Name ~ regex;" and "!~".
const (
	HeaderPresent HeaderOp = iota
	HeaderEqual
	HeaderRegex
)

// MatchTest is one line of a match block.
type MatchTest struct {
	Kind MatchKind
	// Not negates the test ("!", "!=", "!~").
	Not bool
	// Ranges are the status codes and code ranges, inclusive ([200 200],
	// [200 399]).
	Ranges [][2]int
	// Header is the field name; Op how it is tested; Value the compared
	// text for HeaderEqual.
	Header string
	Op     HeaderOp
	Value  string
	// Regex is the body's or the header value's pattern.
	Regex *pcre.Regexp
	Pos   Pos
}

// Health check defaults, as NGINX Plus documents them.
const (
	defaultHealthInterval = 5 * time.Second
	maxMatchStatus        = 599
)

// matches reads every match block of the http level.
func (b *builder) matches(h *HTTP, http *scope) error {
	b.matchByName = map[string]*Match{}
	for _, d := range http.own("match") {
		if prev := b.matchByName[d.Args[0]]; prev != nil {
			return hintf(d.Pos, "match names must be unique; first defined in "+prev.Pos.String(), `duplicate match "%s"`, d.Args[0])
		}
		m := &Match{Name: d.Args[0], Pos: d.Pos}
		for _, line := range d.Block {
			t, err := parseMatchTest(line)
			if err != nil {
				return err
			}
			m.Tests = append(m.Tests, t)
		}
		b.matchByName[m.Name] = m
		h.Matches = append(h.Matches, m)
	}
	return nil
}

// matchHint lists the tests of a match block.
const matchHint = `a match block holds "status [!] code|range ...;", "header [!] name;", "header name =|!=|~|!~ value;" and "body ~|!~ regex;"`

// parseMatchTest reads one line of a match block.
func parseMatchTest(d *Directive) (MatchTest, error) {
	t := MatchTest{Pos: d.Pos}
	if d.IsBlock {
		return t, errorf(d.Pos, `unexpected "{"`)
	}
	switch d.Name {
	case "status":
		t.Kind = MatchStatus
		return t, parseStatusTest(&t, d)
	case "header":
		t.Kind = MatchHeader
		return t, parseHeaderTest(&t, d)
	case "body":
		t.Kind = MatchBody
		return t, parseBodyTest(&t, d)
	case "require":
		return t, hintf(d.Pos, "test the status, the header fields or the body instead", `fulcrum does not support "require" in "match" yet`)
	}
	return t, hintf(d.Pos, matchHint, `unknown directive "%s"`, d.Name)
}

// parseStatusTest reads "status [!] code|from-to ...".
func parseStatusTest(t *MatchTest, d *Directive) error {
	args := d.Args
	if len(args) > 0 && args[0] == "!" {
		t.Not, args = true, args[1:]
	}
	if len(args) == 0 {
		return hintf(d.Pos, "syntax: status [!] code|range ...;", `invalid number of arguments in "status" directive`)
	}
	for _, a := range args {
		from, to, isRange := strings.Cut(a, "-")
		lo, err1 := parseMatchCode(from)
		hi, err2 := lo, error(nil)
		if isRange {
			hi, err2 = parseMatchCode(to)
		}
		if err1 != nil || err2 != nil || hi < lo {
			return hintf(d.Pos, "a status is a code from 100 to 599, or a range such as 200-399", `invalid status "%s"`, a)
		}
		t.Ranges = append(t.Ranges, [2]int{lo, hi})
	}
	return nil
}

// parseMatchCode reads a three-digit status code.
func parseMatchCode(s string) (int, error) {
	n, err := strconv.Atoi(s)
	if err != nil || len(s) != 3 || n < 100 || n > maxMatchStatus {
		return 0, errBadValue
	}
	return n, nil
}

// parseHeaderTest reads "header [!] name" and "header name op value".
func parseHeaderTest(t *MatchTest, d *Directive) error {
	args := d.Args
	bad := hintf(d.Pos, "syntax: header [!] name; or header name =|!=|~|!~ value;", `invalid number of arguments in "header" directive`)
	switch {
	case len(args) == 1:
		t.Header = args[0]
	case len(args) == 2 && args[0] == "!":
		t.Not, t.Header = true, args[1]
	case len(args) == 3:
		t.Header = args[0]
		if err := setHeaderOp(t, d, args[1], args[2]); err != nil {
			return err
		}
	default:
		return bad
	}
	if t.Header == "" || strings.ContainsAny(t.Header, " \t:") {
		return errorf(d.Pos, `invalid header name "%s"`, t.Header)
	}
	return nil
}

// setHeaderOp applies a header test's operator and value.
func setHeaderOp(t *MatchTest, d *Directive, op, val string) error {
	switch op {
	case "=", "!=":
		t.Op, t.Not, t.Value = HeaderEqual, op == "!=", val
		return nil
	case "~", "!~":
		re, err := compileRegex(d.Pos, val, false)
		t.Op, t.Not, t.Regex = HeaderRegex, op == "!~", re
		return err
	}
	return hintf(d.Pos, `the operators are =, !=, ~ and !~`, `invalid operator "%s" in "header" directive`, op)
}

// parseBodyTest reads "body ~|!~ regex".
func parseBodyTest(t *MatchTest, d *Directive) error {
	if len(d.Args) != 2 {
		return hintf(d.Pos, "syntax: body ~|!~ regex;", `invalid number of arguments in "body" directive`)
	}
	switch d.Args[0] {
	case "~", "!~":
		t.Not = d.Args[0] == "!~"
	default:
		return hintf(d.Pos, `the operators are ~ and !~`, `invalid operator "%s" in "body" directive`, d.Args[0])
	}
	var err error
	t.Regex, err = compileRegex(d.Pos, d.Args[1], false)
	return err
}

// findHealthChecks finds a location's own health_check directives: they
// are not inherited.
func findHealthChecks(s *scope, names ...string) ([]*Directive, *scope) {
	return s.ownLevel(names...)
}

// applyHealthChecks reads the level's health_check directives. The level's
// proxy_pass (set by an earlier rule) must name an upstream with a zone.
func applyHealthChecks(b *builder, st *Settings, dirs []*Directive, _ *scope) error {
	st.HealthChecks = nil
	for _, d := range dirs {
		hc, err := b.healthCheck(d, st.ProxyPass, st.GRPCPass)
		if err != nil {
			return err
		}
		st.HealthChecks = append(st.HealthChecks, hc)
	}
	return nil
}

// healthCheck reads one health_check directive of a level whose
// proxy_pass is pass and grpc_pass gpass.
func (b *builder) healthCheck(d *Directive, pass *ProxyPass, gpass *GRPCPass) (*HealthCheck, error) {
	hc := &HealthCheck{HealthSchedule: defaultHealthSchedule, URI: "/", Pos: d.Pos}
	var order grpcOrder
	for _, p := range d.Args {
		if err := order.next(d, p); err != nil {
			return nil, err
		}
		if err := b.healthParam(hc, d, p); err != nil {
			return nil, err
		}
	}
	if hc.Persistent && !hc.Mandatory {
		return nil, hintf(d.Pos, `"persistent" keeps the state of "mandatory" checks across reloads; add "mandatory"`, `"persistent" requires "mandatory"`)
	}
	if hc.GRPC {
		return hc, hc.grpcUpstream(d, pass, gpass)
	}
	switch {
	case pass == nil && gpass != nil:
		return nil, hintf(d.Pos, `check gRPC servers with the gRPC health checking protocol: "health_check type=grpc;"`, `"health_check" in a location with "grpc_pass" requires "type=grpc"`)
	case pass == nil:
		return nil, hintf(d.Pos, "health checks test the upstream group of the location's own proxy_pass", `"health_check" requires "proxy_pass" in the same location`)
	}
	if err := checkHealthUpstream(d, pass.Upstream, `name an upstream block in proxy_pass, such as "proxy_pass http://backend;"`, "proxy_pass"); err != nil {
		return nil, err
	}
	hc.Upstream = pass.Upstream
	return hc, nil
}

// grpcUpstream sets the group a type=grpc check tests: the location's
// grpc_pass upstream.
func (hc *HealthCheck) grpcUpstream(d *Directive, pass *ProxyPass, gpass *GRPCPass) error {
	if gpass == nil {
		hint := "gRPC health checks test the upstream group of the location's own grpc_pass"
		if pass != nil {
			hint = `type=grpc checks gRPC servers: use "grpc_pass grpc://backend;", or drop type=grpc to check HTTP servers`
		}
		return hintf(d.Pos, hint, `"health_check type=grpc" requires "grpc_pass" in the same location`)
	}
	if err := checkHealthUpstream(d, gpass.Upstream, `name an upstream block in grpc_pass, such as "grpc_pass grpc://backend;"`, "grpc_pass"); err != nil {
		return err
	}
	hc.Upstream = gpass.Upstream
	return nil
}

// checkHealthUpstream checks the group the directive (pass, proxy_pass or
// grpc_pass) names: an upstream block with a zone.
func checkHealthUpstream(d *Directive, u *Upstream, nameHint, pass string) error {
	switch {
	case u == nil || u.Implicit:
		return hintf(d.Pos, nameHint, `"health_check" requires an upstream group in "%s"`, pass)
	case u.Zone == "":
		return hintf(d.Pos, fmt.Sprintf(`add "zone %s 64k;" to upstream "%s" in %s`, u.Name, u.Name, u.Pos),
			`upstream "%s" must reside in shared memory for "health_check"`, u.Name)
	}
	return nil
}

// grpcOrder checks the order NGINX Plus documents for the gRPC
// parameters: "type=grpc must be specified after all other health_check
// parameters", grpc_service= and grpc_status= follow it, and uri= and
// match= do not go with it.
type grpcOrder struct {
	grpc       bool   // type=grpc seen
	httpParam  string // a uri= or match= seen before it
	seenParams bool   // grpc_service= or grpc_status= seen
}

// next checks parameter p, in its place.
func (o *grpcOrder) next(d *Directive, p string) error {
	key, _, _ := strings.Cut(p, "=")
	switch {
	case p == "type=grpc":
		if o.httpParam != "" {
			return hintf(d.Pos, `a gRPC check sends grpc.health.v1.Health/Check and judges its answer: remove "`+o.httpParam+`"`, `"type=grpc" cannot be used with "%s"`, o.httpParam)
		}
		o.grpc = true
	case key == "grpc_service" || key == "grpc_status":
		if !o.grpc {
			return hintf(d.Pos, `write "type=grpc" before it, such as "health_check type=grpc `+p+`;"`, `"%s" must follow "type=grpc"`, key)
		}
	case key == "uri" || key == "match":
		if o.grpc {
			return hintf(d.Pos, `a gRPC check sends grpc.health.v1.Health/Check and judges its answer: remove "`+key+`="`, `"type=grpc" cannot be used with "%s="`, key)
		}
		o.httpParam = key + "="
	default:
		if o.grpc && slices.Contains(healthParams, key) { // an unknown one gets its own error
			return hintf(d.Pos, `as in NGINX Plus, type=grpc comes after all other parameters, followed only by grpc_service= and grpc_status=`, `"%s" must come before "type=grpc"`, p)
		}
	}
	return nil
}

// healthParams are the health_check parameters, for suggestions.
var healthParams = []string{"interval", "jitter", "fails", "passes", "uri", "match", "port", "mandatory", "persistent", "type", "grpc_service", "grpc_status"}

// healthParam applies one parameter of a health_check directive.
func (b *builder) healthParam(hc *HealthCheck, d *Directive, p string) error {
	key, val, hasVal := strings.Cut(p, "=")
	switch {
	case key == "uri" && hasVal:
		hc.URI = val
		if val == "" || strings.ContainsAny(val, " \t\r\n") {
			return hintf(d.Pos, healthParamHint(key), `invalid parameter "%s"`, p)
		}
		if !strings.HasPrefix(val, "/") {
			// Sent as written ("GET healthz HTTP/1.1"), which most servers
			// refuse with 400: every server would turn unhealthy.
			b.warnDir(d, "write uri=/"+val, `health_check "%s" is not a path: the checks send "GET %s", which most servers refuse with 400`, p, val)
		}
		return nil
	case key == "match" && hasVal:
		if hc.Match = b.matchByName[val]; hc.Match == nil {
			return hintf(d.Pos, `define "match `+val+` { ... }" in the http block`, `match "%s" not found`, val)
		}
		return nil
	case key == "type" || key == "grpc_service" || key == "grpc_status":
		return grpcHealthParam(hc, d, key, val, hasVal)
	case key == "keepalive_time":
		return hintf(d.Pos, "fulcrum's health checks open a new connection for each check", `fulcrum does not support the "%s" parameter of "health_check" yet`, key)
	}
	ok, err := hc.HealthSchedule.apply(d, p)
	if !ok {
		return unknownHealthParam(d, p)
	}
	return err
}

// maxGRPCCode is the highest gRPC status code (16, UNAUTHENTICATED).
const maxGRPCCode = 16

// grpcHealthParam applies type=grpc, grpc_service= or grpc_status=.
func grpcHealthParam(hc *HealthCheck, d *Directive, key, val string, hasVal bool) error {
	p := key
	if hasVal {
		p += "=" + val
	}
	switch key {
	case "type":
		if val != "grpc" {
			return hintf(d.Pos, `the only type is "type=grpc"; without it the checks are HTTP requests`, `invalid parameter "%s"`, p)
		}
		hc.GRPC = true
	case "grpc_service":
		if val == "" || strings.ContainsAny(val, " \t\r\n") {
			return hintf(d.Pos, "grpc_service is a gRPC service name such as grpc_service=helloworld.Greeter", `invalid parameter "%s"`, p)
		}
		hc.GRPCService = val
	case "grpc_status":
		n, err := strconv.Atoi(val)
		if err != nil || n < 1 || n > maxGRPCCode {
			return hintf(d.Pos, "grpc_status is a non-zero gRPC status code from 1 to 16, such as grpc_status=12 (UNIMPLEMENTED)", `invalid parameter "%s"`, p)
		}
		hc.GRPCStatus = n
	}
	return nil
}

// parsePositive reads a whole number of at least 1.
func parsePositive(s string) (int, error) {
	n, err := parseInt(s)
	if err == nil && n < 1 {
		err = errBadValue
	}
	return n, err
}

func healthParamHint(key string) string {
	switch key {
	case "interval":
		return "interval is a time above zero, such as 5s or 500ms"
	case "jitter":
		return "jitter is a time such as 1s or 500ms"
	case "uri":
		return "uri is a request target such as /health, without spaces"
	case "port":
		return "port is a number from 1 to 65535"
	}
	return key + " is a whole number, 1 or more"
}

// unknownHealthParam is the error for a parameter health_check does not
// know, with a suggestion for a typo.
func unknownHealthParam(d *Directive, p string) error {
	key, val, hasVal := strings.Cut(p, "=")
	hint := "health_check takes interval=, jitter=, fails=, passes=, uri=, match=, port=, mandatory, persistent, and type=grpc with grpc_service= and grpc_status="
	if s := suggest(key, healthParams, nil); s != "" {
		if hasVal {
			s += "=" + val
		}
		hint = fmt.Sprintf(`did you mean "%s"?`, s)
	}
	return hintf(d.Pos, hint, `invalid parameter "%s"`, p)
}

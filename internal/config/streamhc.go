package config

import (
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"fulcrum/internal/pcre"
)

// StreamHealthCheck is NGINX Plus's health_check directive of a stream
// server (ngx_stream_upstream_hc_module): every interval, a connection to
// each server of the upstream group the server's proxy_pass names, which
// must pass the match block (or, without one, just open for TCP; draw no
// ICMP "port unreachable" for UDP).
type StreamHealthCheck struct {
	// Upstream is the group checked: the server's proxy_pass upstream.
	Upstream *Upstream
	HealthSchedule
	// Match is the stream match block (match=); nil means connect only
	// (TCP), or "nginx health check" with no ICMP error (UDP).
	Match *StreamMatch
	// UDP checks over UDP instead of TCP (udp).
	UDP bool
	// Timeout is the server's health_check_timeout (5s): the time one
	// check may take, connect, send and expect included.
	Timeout time.Duration
	Pos     Pos
}

// StreamMatch is a stream "match name { ... }" block: what a health check
// sends and what the answer must hold. A block without send and expect
// only connects.
type StreamMatch struct {
	Name string
	// Send is sent once the connection is open (send, with \xHH escapes
	// decoded); nil sends nothing.
	Send []byte
	// Expect is a literal the data read from the server must contain
	// (expect "..."); ExpectRegex a pattern it must match (expect ~ or
	// ~*). Both nil: no expect, nothing is read.
	Expect      []byte
	ExpectRegex *pcre.Regexp
	Pos         Pos
}

// HasExpect reports whether the block has an expect line.
func (m *StreamMatch) HasExpect() bool {
	return m != nil && (m.Expect != nil || m.ExpectRegex != nil)
}

// defaultHealthTimeout is health_check_timeout's default, as NGINX Plus
// documents it.
const defaultHealthTimeout = 5 * time.Second

// streamMatches reads the stream block's match blocks into st.Matches and
// b.matchByStream (health_check's match= names one of them).
func (b *builder) streamMatches(st *Stream, top *scope) error {
	b.streamMatchByName = map[string]*StreamMatch{}
	for _, d := range top.own("match") {
		if prev := b.streamMatchByName[d.Args[0]]; prev != nil {
			return hintf(d.Pos, "match names must be unique; first defined in "+prev.Pos.String(), `duplicate match "%s"`, d.Args[0])
		}
		m, err := parseStreamMatch(d)
		if err != nil {
			return err
		}
		b.streamMatchByName[m.Name] = m
		st.Matches = append(st.Matches, m)
	}
	return nil
}

// streamMatchHint lists the lines of a stream match block.
const streamMatchHint = `a stream match block holds "send string;" and "expect string;" or "expect ~ regex;" (~* for a caseless one)`

// parseStreamMatch reads one stream match block.
func parseStreamMatch(d *Directive) (*StreamMatch, error) {
	m := &StreamMatch{Name: d.Args[0], Pos: d.Pos}
	seen := map[string]bool{}
	for _, line := range d.Block {
		if line.IsBlock {
			return nil, errorf(line.Pos, `unexpected "{"`)
		}
		if line.Name != "send" && line.Name != "expect" {
			return nil, hintf(line.Pos, streamMatchHint, `unknown directive "%s"`, line.Name)
		}
		if seen[line.Name] {
			return nil, hintf(line.Pos, "a stream match block has one send and one expect", `"%s" directive is duplicate`, line.Name)
		}
		seen[line.Name] = true
		var err error
		if line.Name == "send" {
			err = parseSend(m, line)
		} else {
			err = parseExpect(m, line)
		}
		if err != nil {
			return nil, err
		}
	}
	return m, nil
}

// parseSend reads "send string".
func parseSend(m *StreamMatch, d *Directive) error {
	if len(d.Args) != 1 {
		return hintf(d.Pos, `syntax: send string;`, `invalid number of arguments in "send" directive`)
	}
	b, err := unescapeHex(d.Args[0])
	if err != nil {
		return hintf(d.Pos, `write a byte as \x and two hex digits, such as \x00`, `invalid "send" string "%s": %v`, d.Args[0], err)
	}
	m.Send = b
	return nil
}

// parseExpect reads "expect string", "expect ~ regex" and "expect ~* regex".
func parseExpect(m *StreamMatch, d *Directive) error {
	switch {
	case len(d.Args) == 1:
		b, err := unescapeHex(d.Args[0])
		if err != nil {
			return hintf(d.Pos, `write a byte as \x and two hex digits, such as \x00`, `invalid "expect" string "%s": %v`, d.Args[0], err)
		}
		if len(b) == 0 {
			return hintf(d.Pos, `expect what the answer must contain; leave expect out to only send`, `empty "expect" string`)
		}
		m.Expect = b
		return nil
	case len(d.Args) == 2 && (d.Args[0] == "~" || d.Args[0] == "~*"):
		re, err := compileRegex(d.Pos, d.Args[1], d.Args[0] == "~*")
		m.ExpectRegex = re
		return err
	case len(d.Args) == 2:
		return hintf(d.Pos, `the operators are ~ and ~* (caseless)`, `invalid operator "%s" in "expect" directive`, d.Args[0])
	}
	return hintf(d.Pos, `syntax: expect string; or expect ~ regex;`, `invalid number of arguments in "expect" directive`)
}

// unescapeHex decodes the \xHH escapes of a send or expect string (the
// lexer already turned \r, \n, \t, \" and \\ into their bytes); any other
// backslash stays as written.
func unescapeHex(s string) ([]byte, error) {
	out := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		if s[i] != '\\' || i+1 >= len(s) || s[i+1] != 'x' {
			out = append(out, s[i])
			continue
		}
		if i+4 > len(s) {
			return nil, fmt.Errorf(`"\x" needs two hex digits`)
		}
		v, err := hex.DecodeString(s[i+2 : i+4])
		if err != nil {
			return nil, fmt.Errorf(`"%s" is not a hex byte`, s[i:i+4])
		}
		out = append(out, v[0])
		i += 3
	}
	return out, nil
}

// streamHealthChecks reads a stream server's health_check directives and
// its health_check_timeout (the server's, else the stream block's).
func (b *builder) streamHealthChecks(srv *StreamServer, sc *scope) error {
	timeout := defaultHealthTimeout
	if dirs, _ := sc.nearest("health_check_timeout"); len(dirs) > 0 {
		t, err := parseTime(dirs[0].Args[0], false)
		if err != nil || t <= 0 {
			return hintf(dirs[0].Pos, "health_check_timeout is a time above zero, such as 5s or 500ms", `invalid value "%s" in "health_check_timeout" directive`, dirs[0].Args[0])
		}
		timeout = t
	}
	srv.HealthCheckTimeout = timeout
	for _, d := range sc.own("health_check") {
		hc, err := b.streamHealthCheck(srv, d)
		if err != nil {
			return err
		}
		hc.Timeout = timeout
		srv.HealthChecks = append(srv.HealthChecks, hc)
	}
	return nil
}

// streamHealthCheck reads one health_check directive of a stream server.
func (b *builder) streamHealthCheck(srv *StreamServer, d *Directive) (*StreamHealthCheck, error) {
	hc := &StreamHealthCheck{HealthSchedule: defaultHealthSchedule, Pos: d.Pos}
	for _, p := range d.Args {
		key, val, hasVal := strings.Cut(p, "=")
		switch {
		case p == "udp":
			hc.UDP = true
		case key == "match" && hasVal:
			if hc.Match = b.streamMatchByName[val]; hc.Match == nil {
				return nil, hintf(d.Pos, `define "match `+val+` { ... }" in the stream block`, `match "%s" not found`, val)
			}
		default:
			ok, err := hc.HealthSchedule.apply(d, p)
			if err != nil {
				return nil, err
			}
			if !ok {
				return nil, unknownParam(d, p, streamHealthParams)
			}
		}
	}
	if hc.Persistent && !hc.Mandatory {
		return nil, hintf(d.Pos, `"persistent" keeps the state of "mandatory" checks across reloads; add "mandatory"`, `"persistent" requires "mandatory"`)
	}
	switch u := srv.Upstream; {
	case srv.HasReturn:
		return nil, hintf(d.Pos, "health checks test the upstream group of the server's own proxy_pass", `"health_check" requires "proxy_pass" in the same server`)
	case u == nil || u.Implicit:
		return nil, hintf(d.Pos, `name an upstream block in proxy_pass, such as "proxy_pass backend;"`, `"health_check" requires an upstream group in "proxy_pass"`)
	case u.Zone == "":
		return nil, hintf(d.Pos, fmt.Sprintf(`add "zone %s 64k;" to upstream "%s" in %s`, u.Name, u.Name, u.Pos),
			`upstream "%s" must reside in shared memory for "health_check"`, u.Name)
	}
	hc.Upstream = srv.Upstream
	return hc, nil
}

// streamHealthParams are a stream health_check's parameters, for
// suggestions and the hint of an unknown one.
var streamHealthParams = []string{"interval", "jitter", "fails", "passes", "match", "port", "udp", "mandatory", "persistent"}

// HealthSchedule is what the http and stream health checks share: when
// servers are checked, where, and how many results change their state.
type HealthSchedule struct {
	// Interval is the time between two checks of a server (interval=, 5s);
	// Jitter delays each check by a random time up to it (jitter=, 0).
	Interval, Jitter time.Duration
	// Fails consecutive failed checks make a server unhealthy (fails=, 1);
	// Passes consecutive passes make it healthy again (passes=, 1).
	Fails, Passes int
	// Port is the port checks connect to (port=); 0 means the server's.
	Port int
	// Mandatory starts servers in the "checking" state, unused until their
	// first check passes; Persistent (only with Mandatory) keeps a server
	// that was healthy before a reload healthy after it.
	Mandatory, Persistent bool
}

// defaultHealthSchedule is a health_check's schedule without parameters.
var defaultHealthSchedule = HealthSchedule{Interval: defaultHealthInterval, Fails: 1, Passes: 1}

// apply reads one shared parameter p of d into k; it reports false for any
// other parameter.
func (k *HealthSchedule) apply(d *Directive, p string) (bool, error) {
	key, val, hasVal := strings.Cut(p, "=")
	var err error
	switch {
	case key == "interval" && hasVal:
		k.Interval, err = parseTime(val, false)
		if k.Interval <= 0 {
			err = errBadValue
		}
	case key == "jitter" && hasVal:
		k.Jitter, err = parseTime(val, false)
	case key == "fails" && hasVal:
		k.Fails, err = parsePositive(val)
	case key == "passes" && hasVal:
		k.Passes, err = parsePositive(val)
	case key == "port" && hasVal:
		k.Port, err = parsePositive(val)
		if k.Port > 65535 {
			err = errBadValue
		}
	case p == "mandatory":
		k.Mandatory = true
	case p == "persistent":
		k.Persistent = true
	default:
		return false, nil
	}
	if err != nil {
		return true, hintf(d.Pos, healthParamHint(key), `invalid parameter "%s"`, p)
	}
	return true, nil
}

// unknownParam is the error for a health_check parameter outside known,
// with a suggestion for a typo.
func unknownParam(d *Directive, p string, known []string) error {
	key, val, hasVal := strings.Cut(p, "=")
	hint := "health_check takes " + strings.Join(known, ", ")
	if s := suggest(key, known, nil); s != "" {
		if hasVal {
			s += "=" + val
		}
		hint = fmt.Sprintf(`did you mean "%s"?`, s)
	}
	return hintf(d.Pos, hint, `invalid parameter "%s"`, p)
}

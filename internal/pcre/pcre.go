// Package pcre compiles and runs nginx's regular expressions (PCRE syntax).
//
// A pattern that Go's regexp package (RE2) accepts runs there: the common case,
// linear in time, and as fast and allocation-free as a bare *regexp.Regexp. A
// pattern RE2 refuses because it uses PCRE syntax RE2 lacks (lookahead,
// lookbehind, backreferences, atomic groups, possessive quantifiers), as
// h5bp's "location ~ /\.(?!well-known)" does, runs on regexp2's backtracking
// engine instead, with every match bounded in time (MatchLimit) the way PCRE's
// match limit bounds nginx's: a match that hits the bound fails with
// ErrMatchLimit and nginx's callers answer 500.
//
// Both engines report byte offsets into the subject, -1 for groups that did not
// take part, number groups left to right as PCRE does (named or not), accept
// both (?<name>...) and (?P<name>...), match bytes rather than UTF-8
// characters and fold case for ASCII letters only (nginx's PCRE runs without
// UTF mode and with the "C" tables; see bytePattern).
package pcre

import (
	"errors"
	"fmt"
	"regexp"
	"regexp/syntax"
	"strings"
	"time"

	"github.com/dlclark/regexp2/v2"
)

// MatchLimit bounds one match on the backtracking engine. PCRE's default match
// limit (10,000,000 steps) stops a catastrophic pattern in well under a second;
// this bound keeps a hostile request path from holding a core for more than a
// few tens of milliseconds (MatchLimit plus one clock period, see clockPeriod).
const MatchLimit = 20 * time.Millisecond

// clockPeriod is how often regexp2's shared timeout clock ticks while matches
// with a timeout run (its default, 100ms, would let a match run for up to
// 200ms past a 20ms bound). The clock goroutine stops a second after the last
// bounded match.
const clockPeriod = 5 * time.Millisecond

// init sets regexp2's process-wide clock period once, before any match can run;
// nothing changes it afterwards.
func init() {
	regexp2.SetTimeoutCheckPeriod(clockPeriod)
}

// ErrMatchLimit is returned (wrapped) when a match on the backtracking engine
// exceeds MatchLimit; nginx's equivalent is PCRE's match limit error (-8 with
// PCRE, -47 with PCRE2), after which ngx_regex_exec fails the request with 500.
var ErrMatchLimit = errors.New("regular expression match limit exceeded")

// Regexp is a compiled nginx regular expression, safe for concurrent use. It
// runs on exactly one engine: re2 when Go's regexp accepted the pattern, bt
// otherwise.
type Regexp struct {
	// re2 is the RE2 program; nil when the pattern needs the backtracking engine.
	re2 *regexp.Regexp
	// bt is the backtracking program, compiled from the pattern translated by
	// translate (named groups made plain, ASCII letters folded); nil with re2.
	bt *regexp2.Regexp
	// src is the pattern as written in the configuration.
	src string
	// names are the group names by number (names[0] is ""), for bt.
	names []string
}

// Compile compiles an nginx regular expression. A pattern PCRE2 refuses
// is refused with a *SyntaxError in PCRE2's words where check knows the
// error. caseless is "~*" (and the
// regexes nginx always compiles caseless: server_name, referer, gzip_disable);
// a pattern may also turn on case folding itself with (?i), and off with
// (?-i).
func Compile(src string, caseless bool) (*Regexp, error) {
	if err := check(src); err != nil {
		return nil, err
	}
	mapped, err := bytePattern(src)
	if err != nil {
		return nil, err
	}
	re, err := compileRE2(src, mapped, caseless)
	if err == nil {
		return &Regexp{re2: re, src: src}, nil
	}
	bt, btErr := compileBacktrack(src, mapped, caseless)
	if btErr == nil {
		return bt, nil
	}
	var se *syntax.Error
	if errors.As(err, &se) && (se.Code == syntax.ErrInvalidPerlOp || se.Code == syntax.ErrInvalidEscape || se.Code == syntax.ErrInvalidRepeatOp || se.Code == syntax.ErrInvalidNamedCapture) {
		return nil, btErr // PCRE syntax RE2 lacks: the backtracking engine's word
	}
	return nil, err // invalid in any syntax: RE2's words, which quote the pattern
}

// MustCompile is Compile for patterns known to be valid; it panics otherwise.
func MustCompile(src string, caseless bool) *Regexp {
	re, err := Compile(src, caseless)
	if err != nil {
		panic(err)
	}
	return re
}

// compileRE2 compiles mapped (src rewritten by bytePattern) with Go's
// regexp, under (?i) when caseless. When it fails, src's own error is
// returned if it has one, in the user's words.
func compileRE2(src, mapped string, caseless bool) (*regexp.Regexp, error) {
	if caseless {
		mapped = "(?i)" + mapped
	}
	re, err := regexp.Compile(mapped)
	if err == nil {
		return re, nil
	}
	if _, srcErr := regexp.Compile(src); srcErr != nil {
		return nil, srcErr
	}
	return nil, err
}

// compileBacktrack compiles mapped (src rewritten by bytePattern) for
// regexp2 in its RE2 mode (Go's \w, \d, \s and $, (?P<name>) accepted) after
// translate, with IgnoreCase when caseless.
func compileBacktrack(src, mapped string, caseless bool) (*Regexp, error) {
	tr, err := translate(mapped)
	if err != nil {
		return nil, err
	}
	opts := regexp2.RE2
	if caseless {
		opts |= regexp2.IgnoreCase
	}
	bt, err := regexp2.Compile(tr.pattern, opts)
	if err != nil {
		return nil, cleanError(err)
	}
	bt.MatchTimeout = MatchLimit
	return &Regexp{bt: bt, src: src, names: tr.names}, nil
}

// cleanError drops regexp2's "error parsing regexp: " prefix and its quote of
// the translated pattern, which the user never wrote.
func cleanError(err error) error {
	msg := strings.TrimPrefix(err.Error(), "error parsing regexp: ")
	if i := strings.LastIndex(msg, " in `"); i > 0 {
		msg = msg[:i]
	}
	return errors.New(msg)
}

// String returns the pattern as written in the configuration.
func (re *Regexp) String() string { return re.src }

// Compiled returns the program's own source: RE2's after ASCII case folding,
// or the pattern as translated for the backtracking engine (for config dumps).
func (re *Regexp) Compiled() string {
	if re.re2 != nil {
		return re.re2.String()
	}
	return re.bt.String()
}

// Backtracking reports whether the pattern runs on the backtracking engine
// (it uses syntax RE2 lacks).
func (re *Regexp) Backtracking() bool { return re.re2 == nil }

// MatchString reports whether s contains a match; a match that hits
// MatchLimit counts as none (callers that must answer 500 use Match).
func (re *Regexp) MatchString(s string) bool {
	ok, _ := re.Match(s)
	return ok
}

// Match is nginx's ngx_regex_exec reduced to a yes or no: whether s contains a
// match, or an error wrapping ErrMatchLimit that names the subject and the
// pattern, as nginx's "pcre2_match() failed" line does. On RE2 it never fails.
// s is matched as bytes (see bytePattern).
func (re *Regexp) Match(s string) (bool, error) {
	subject := s
	if hasHigh(s) {
		subject = mapSubject(s)
	}
	if re.re2 != nil {
		return re.re2.MatchString(subject), nil
	}
	ok, err := re.bt.MatchString(subject)
	if err != nil {
		return false, re.execError(s)
	}
	return ok, nil
}

// execError reports a regexp2 match error (its timeout, or its backtracking
// stack limit) as ErrMatchLimit, worded as nginx's "pcre2_match() failed: -47
// on "SUBJECT" using "PATTERN"".
func (re *Regexp) execError(s string) error {
	return fmt.Errorf("%w (%v) on \"%s\" using \"%s\"", ErrMatchLimit, MatchLimit, s, re.src)
}

// FindStringSubmatchIndex returns the byte offsets of the leftmost match and of
// its groups (pairs, -1 for a group that did not take part), or nil when there
// is no match or the match hit MatchLimit.
func (re *Regexp) FindStringSubmatchIndex(s string) []int {
	idx, _ := re.Submatch(s)
	return idx
}

// Submatch is FindStringSubmatchIndex with the error of a match that hit
// MatchLimit (see Match). The offsets are of s's bytes, where a group may
// begin or end inside a UTF-8 character, as in nginx.
func (re *Regexp) Submatch(s string) ([]int, error) {
	if !hasHigh(s) {
		if re.re2 != nil {
			return re.re2.FindStringSubmatchIndex(s), nil
		}
		return re.submatchBacktrack(s, s)
	}
	mapped := mapSubject(s)
	var idx []int
	var err error
	if re.re2 != nil {
		idx = re.re2.FindStringSubmatchIndex(mapped)
	} else {
		idx, err = re.submatchBacktrack(mapped, s)
	}
	unmapIndex(idx, s)
	return idx, err
}

// submatchBacktrack is Submatch on the backtracking engine, on subject
// (s, or s rewritten by mapSubject); s names the subject in an error.
func (re *Regexp) submatchBacktrack(subject, s string) ([]int, error) {
	m, err := re.bt.FindStringMatch(subject)
	if err != nil {
		return nil, re.execError(s)
	}
	if m == nil {
		return nil, nil
	}
	groups := m.Groups()
	idx := make([]int, 2*len(re.names))
	for i := range idx {
		idx[i] = -1
	}
	for n := range re.names {
		if n >= len(groups) || len(groups[n].Captures) == 0 {
			continue
		}
		at, length := groups[n].ByteRange()
		idx[2*n], idx[2*n+1] = at, at+length
	}
	return idx, nil
}

// FindStringSubmatch returns the text of the leftmost match and of its groups
// ("" for a group that did not take part), or nil when there is none.
func (re *Regexp) FindStringSubmatch(s string) []string {
	if re.re2 != nil && !hasHigh(s) {
		return re.re2.FindStringSubmatch(s)
	}
	idx := re.FindStringSubmatchIndex(s)
	if idx == nil {
		return nil
	}
	out := make([]string, len(idx)/2)
	for i := range out {
		if idx[2*i] >= 0 {
			out[i] = s[idx[2*i]:idx[2*i+1]]
		}
	}
	return out
}

// NumSubexp returns the number of groups.
func (re *Regexp) NumSubexp() int {
	if re.re2 != nil {
		return re.re2.NumSubexp()
	}
	return len(re.names) - 1
}

// SubexpNames returns the group names by number; names[0] and unnamed groups
// are "". The slice must not be modified.
func (re *Regexp) SubexpNames() []string {
	if re.re2 != nil {
		return re.re2.SubexpNames()
	}
	return re.names
}

// SubexpIndex returns the number of the first group with the given name, or -1.
func (re *Regexp) SubexpIndex(name string) int {
	if re.re2 != nil {
		return re.re2.SubexpIndex(name)
	}
	for i, n := range re.names {
		if n != "" && n == name {
			return i
		}
	}
	return -1
}

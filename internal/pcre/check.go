package pcre

import (
	"fmt"
	"strconv"
	"strings"
)

// SyntaxError is PCRE2's refusal of a pattern at compile time: its message,
// in pcre2_error.c's words, and the offset in the pattern at which PCRE2
// stopped. nginx 1.22.1 logs it as `pcre2_compile() failed: MSG in "SRC"
// at "REST"`, REST being the pattern from Offset on, and without the `at`
// part when Offset is the pattern's end (ngx_regex_compile).
type SyntaxError struct {
	// Msg is PCRE2's message.
	Msg string
	// Offset is PCRE2's error offset, a byte index into Pattern.
	Offset int
	// Pattern is the pattern refused.
	Pattern string
}

func (e *SyntaxError) Error() string { return e.Msg }

// maxErrorLine is the size of nginx's buffer for a regex's error
// (NGX_MAX_CONF_ERRSTR): a longer line is cut there (recorded with a
// 1,057-byte pattern: 1,024 bytes, its closing quote lost).
const maxErrorLine = 1024

// Line is the error as nginx 1.22.1's ngx_regex_compile words it, at load
// and in an SSI "if": `pcre2_compile() failed: MSG in "PATTERN" at "REST"`,
// without the `at` part when PCRE2 stopped at the pattern's end, cut at
// 1,024 bytes.
func (e *SyntaxError) Line() string {
	line := fmt.Sprintf(`pcre2_compile() failed: %s in "%s"`, e.Msg, e.Pattern)
	if e.Offset < len(e.Pattern) {
		line += fmt.Sprintf(` at "%s"`, e.Pattern[e.Offset:])
	}
	if len(line) > maxErrorLine {
		line = line[:maxErrorLine]
	}
	return line
}

// PCRE2 10.42's messages for the errors check finds (pcre2_error.c).
const (
	errEscapeAtEnd      = `\ at end of pattern`
	errCAtEnd           = `\c at end of pattern`
	errUnknownEscape    = `unrecognized character follows \`
	errRepeatOrder      = "numbers out of order in {} quantifier"
	errRepeatTooBig     = "number too big in {} quantifier"
	errMissingBracket   = "missing terminating ] for character class"
	errClassEscape      = "escape sequence is invalid in character class"
	errRangeOrder       = "range out of order in character class"
	errNotRepeatable    = "quantifier does not follow a repeatable item"
	errFlag             = "unrecognized character after (? or (?-"
	errPosixOutside     = "POSIX named classes are supported only within a class"
	errCollating        = "POSIX collating elements are not supported"
	errMissingParen     = "missing closing parenthesis"
	errNoSubpattern     = "reference to non-existent subpattern"
	errComment          = "missing ) after (?# comment"
	errUnmatchedParen   = "unmatched closing parenthesis"
	errPosixName        = "unknown POSIX class name"
	errCodePointMsg     = `character code point value in \x{} or \o{} is too large`
	errPerlCase         = `PCRE2 does not support \F, \L, \l, \N{name}, \U, or \u`
	errAfterP           = "unrecognized character after (?P"
	errNameSyntax       = "syntax error in subpattern name (missing terminator?)"
	errDupName          = "two named subpatterns have the same name (PCRE2_DUPNAMES not set)"
	errNameDigit        = "subpattern name must start with a non-digit"
	errNameTooLong      = "subpattern name is too long (maximum 32 code units)"
	errClassRange       = "invalid range in character class"
	errOctalTooBig      = `octal value is greater than \377 in 8-bit non-UTF-8 mode`
	errOBrace           = `missing opening brace after \o`
	errG                = `\g is not followed by a braced, angle-bracketed, or quoted name/number or by a plain number`
	errNameExpected     = "subpattern name expected"
	errNonOctal         = `non-octal character in \o{} (closing brace missing?)`
	errNonHex           = `non-hex character in \x{} (closing brace missing?)`
	errCPrintable       = `\c must be followed by a printable ASCII character`
	errK                = `\k is not followed by a braced, angle-bracketed, or quoted name`
	errNInClass         = `\N is not supported in a class`
	errDigitsMissing    = `digits missing in \x{} or \o{} or \N{U+}`
	errNUPlus           = `\N{U+dddd} is supported only in Unicode (UTF) mode`
	errLookbehind       = "lookbehind assertion is not fixed length"
	errRelativeZero     = "a relative value of zero is not allowed"
	errNesting          = "parentheses are too deeply nested"
	errDigitExpected    = "digit expected after (?+ or (?-"
	errCalloutNumber    = "number after (?C is greater than 255"
	errCalloutParen     = "closing parenthesis for (?C expected"
	errCalloutDelimiter = "unrecognized string delimiter follows (?C"
	errPropMalformed    = `malformed \P or \p sequence`
	errPropUnknown      = `unknown property after \P or \p`
	errVerb             = "(*VERB) not recognized or malformed"
	errAlpha            = "(*alpha_assertion) not recognized"
	errMark             = "(*MARK) must have an argument"
	maxNesting          = 250
	maxRepeat           = 65535
	maxNameSize         = 32
	knownEscapeLetters  = "aAbBcCdDeEfgGhHkKnNopPQrRsStuvVwWxXzZFLlU"
)

// posixNames are the POSIX class names PCRE2 knows ([:alpha:] ...).
var posixNames = map[string]bool{
	"alpha": true, "lower": true, "upper": true, "alnum": true, "ascii": true, "blank": true, "cntrl": true,
	"digit": true, "graph": true, "print": true, "punct": true, "space": true, "word": true, "xdigit": true,
}

// check refuses, as a *SyntaxError with PCRE2's (10.42, no UTF mode)
// message and offset, the syntax errors it finds in src the way PCRE2's
// parse_regex finds them: what Go's and regexp2's parsers take although
// PCRE2 refuses it (a class escape as a range's end, "[\w-.]", duplicate
// group names, repeat counts above 65535, a quantifier after an anchor),
// and errors both refuse, so that nginx's words are reported. It accepts
// what it does not know (verbs, recursion, conditions), leaving those to
// the engines.
func check(src string) error {
	c := checker{src: src, names: map[string]bool{}, deep: -1, notFixedAt: -1}
	if err := c.run(); err != nil {
		return err
	}
	if c.notFixedAt >= 0 {
		return c.fail(errLookbehind, c.notFixedAt)
	}
	return c.resolve()
}

// checker is one run of check.
type checker struct {
	src string
	i   int
	// ext holds, for each open group, whether it is in extended mode;
	// ext0 is the pattern level's.
	ext  []bool
	ext0 bool
	// behind holds, for each open group, the offset of the lookbehind it
	// is in ("(?<=" or "(?<!"), or -1; a lookahead inside a lookbehind is
	// not in it (PCRE2 wants a fixed length of what a lookbehind consumes).
	behind []int
	// lens holds, for each open group, the length of its branches, for
	// the groups inside a lookbehind (see span).
	lens []span
	// groups counts the capturing groups opened so far.
	groups int
	// names are the group names seen so far.
	names map[string]bool
	// dupOK is set by (?J) and by (?|, under which names may repeat.
	dupOK bool
	// refs are the references to check once all groups are known.
	refs []ref
	// repeatable reports whether a quantifier may follow the last item.
	repeatable bool
	// notFixedAt is the offset of the first lookbehind of no fixed
	// length, or -1: PCRE2 checks lookbehinds after the whole pattern
	// parses (recorded: "(?<=a+)(" is a missing parenthesis).
	notFixedAt int
	// deep is the offset at which the groups nested more than 250 deep,
	// or -1.
	deep int
}

// span follows the length in bytes of an open group's branches: PCRE2
// 10.42 wants every group inside a lookbehind to have one fixed length
// ("(?<=(a|bc))" is refused; the lookbehind's own branches may differ).
type span struct {
	cur     int  // the current branch's length so far
	first   int  // the first branch's length; -1 until a "|"
	last    int  // the last item's length (a {n} repeats it)
	unknown bool // an item of no known length (a backreference, \Q...)
	kind    byte // 'b' lookbehind, 'a' lookahead, 'g' any other group
}

// addLen adds an item of n bytes to the current group's branch.
func (c *checker) addLen(n int) {
	if len(c.lens) > 0 {
		top := &c.lens[len(c.lens)-1]
		top.cur += n
		top.last = n
	}
}

// unknownLen marks the current group's length as unknown.
func (c *checker) unknownLen() {
	if len(c.lens) > 0 {
		c.lens[len(c.lens)-1].unknown = true
	}
}

// alternative checks a "|": inside a lookbehind, a group's branches
// must have one length.
func (c *checker) alternative() error {
	if len(c.lens) == 0 {
		return nil
	}
	top := &c.lens[len(c.lens)-1]
	if top.kind == 'g' && c.lookbehind() >= 0 && !top.unknown {
		if top.first >= 0 && top.first != top.cur {
			c.notFixed(c.lookbehind())
		}
		top.first = top.cur
	}
	top.cur = 0
	return nil
}

// close closes the current group (at a ")").
func (c *checker) close() error {
	lb := c.lookbehind()
	top := c.lens[len(c.lens)-1]
	if top.kind == 'g' && lb >= 0 && !top.unknown && top.first >= 0 && top.first != top.cur {
		c.notFixed(lb)
	}
	c.ext = c.ext[:len(c.ext)-1]
	c.behind = c.behind[:len(c.behind)-1]
	c.lens = c.lens[:len(c.lens)-1]
	switch {
	case top.kind != 'g':
		c.addLen(0)
	case top.unknown:
		c.unknownLen()
	default:
		c.addLen(top.cur)
	}
	return nil
}

// ref is a reference to a group by number (name == "") or by name, and
// the offset PCRE2 reports when the group does not exist.
type ref struct {
	num  int
	name string
	at   int
}

func (c *checker) fail(msg string, at int) error {
	return &SyntaxError{Msg: msg, Offset: at, Pattern: c.src}
}

// extended reports whether the current group is in extended mode.
func (c *checker) extended() bool {
	if len(c.ext) == 0 {
		return c.ext0
	}
	return c.ext[len(c.ext)-1]
}

// run scans the whole pattern.
func (c *checker) run() error {
	if err := c.skipStartOptions(); err != nil {
		return err
	}
	for c.i < len(c.src) {
		ch := c.src[c.i]
		if c.extended() && (ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r' || ch == '\f' || ch == '\v') {
			c.i++
			continue
		}
		if c.extended() && ch == '#' {
			if nl := strings.IndexByte(c.src[c.i:], '\n'); nl >= 0 {
				c.i += nl + 1
			} else {
				c.i = len(c.src)
			}
			continue
		}
		if err := c.item(ch); err != nil {
			return err
		}
		if c.deep >= 0 {
			return c.fail(errNesting, c.deep)
		}
	}
	if len(c.ext) > 0 {
		return c.fail(errMissingParen, len(c.src))
	}
	return nil
}

// item checks the item that starts with ch at c.i.
func (c *checker) item(ch byte) error {
	switch ch {
	case '\\':
		return c.escape()
	case '[':
		return c.class()
	case '(':
		return c.group()
	case ')':
		if len(c.ext) == 0 {
			return c.fail(errUnmatchedParen, c.i)
		}
		if err := c.close(); err != nil {
			return err
		}
		c.i++
		c.repeatable = true
	case '|':
		if err := c.alternative(); err != nil {
			return err
		}
		c.i++
		c.repeatable = false
	case '^', '$':
		c.addLen(0)
		c.i++
		c.repeatable = false
	case '*', '+', '?':
		return c.quantifier(c.i, c.i+1, true)
	case '{':
		end, ok, err := c.repeatCounts(c.i + 1)
		if err != nil {
			return err
		}
		if !ok {
			c.addLen(1)
			c.i++
			c.repeatable = true
			return nil
		}
		return c.repeat(end)
	default:
		c.addLen(1)
		c.i++
		c.repeatable = true
	}
	return nil
}

// repeat checks the {n}, {n,} or {n,m} at c.i that ends at end; {n}
// repeats the last item's length.
func (c *checker) repeat(end int) error {
	q := c.src[c.i:end]
	variable := variableRepeat(q)
	if err := c.quantifier(end-1, end, variable); err != nil {
		return err
	}
	if n, err := strconv.Atoi(q[1 : len(q)-1]); err == nil && len(c.lens) > 0 {
		top := &c.lens[len(c.lens)-1]
		top.cur += top.last * (n - 1)
	}
	return nil
}

// notFixed notes that the lookbehind at lb has no fixed length.
func (c *checker) notFixed(lb int) {
	if c.notFixedAt < 0 {
		c.notFixedAt = lb
	}
}

// lookbehind returns the offset of the lookbehind the current group is
// in, or -1.
func (c *checker) lookbehind() int {
	if len(c.behind) == 0 {
		return -1
	}
	return c.behind[len(c.behind)-1]
}

// quantifier checks the quantifier that ends at end (at is where PCRE2
// reports it), and takes a lazy "?" or possessive "+" after it.
func (c *checker) quantifier(at, end int, variable bool) error {
	if !c.repeatable {
		return c.fail(errNotRepeatable, at)
	}
	if lb := c.lookbehind(); variable && lb >= 0 {
		c.notFixed(lb)
	}
	c.i = end
	if c.i < len(c.src) && (c.src[c.i] == '?' || c.src[c.i] == '+') {
		c.i++
	}
	c.repeatable = false
	return nil
}

// repeatCounts reads "n}", "n,}" or "n,m}" from i (just past "{") as
// PCRE2's read_repeat_counts does: ok is false for a "{" that is a
// literal; a number above 65535 or m < n is an error.
func (c *checker) repeatCounts(i int) (end int, ok bool, err error) {
	j, comma := i, false
	for ; ; j++ {
		if j >= len(c.src) {
			return 0, false, nil
		}
		ch := c.src[j]
		if ch == '}' {
			break
		}
		if ch == ',' && !comma {
			comma = true
			continue
		}
		if ch < '0' || ch > '9' {
			return 0, false, nil
		}
	}
	lo, p, good, err := c.readNumber(i)
	if err != nil || !good {
		return 0, false, err
	}
	if c.src[p] == '}' {
		return p + 1, true, nil
	}
	p++ // the comma
	if c.src[p] == '}' {
		return p + 1, true, nil
	}
	hi, p, _, err := c.readNumber(p)
	if err != nil {
		return 0, false, err
	}
	if hi < lo {
		return 0, false, c.fail(errRepeatOrder, p)
	}
	return p + 1, true, nil
}

// readNumber reads decimal digits from i, failing at the digit that takes
// the number above 65535 (where PCRE2's read_number stops).
func (c *checker) readNumber(i int) (n, end int, ok bool, err error) {
	j := i
	for j < len(c.src) && '0' <= c.src[j] && c.src[j] <= '9' {
		n = n*10 + int(c.src[j]-'0')
		j++
		if n > maxRepeat {
			return 0, 0, false, c.fail(errRepeatTooBig, j)
		}
	}
	return n, j, j > i, nil
}

// escapeKind is what an escape sequence stands for.
type escapeKind int

const (
	escChar      escapeKind = iota // one character (value)
	escSet                         // a class: \d \D \s \S \w \W \h \H \v \V \p \P
	escAssertion                   // \b \B \A \z \Z \G \K
	escOther                       // a backreference, \Q, \E, \N, \R, \X, \C ...
)

// escape checks the escape sequence at c.i outside a class.
func (c *checker) escape() error {
	if strings.HasPrefix(c.src[c.i:], `\E`) { // a lone \E: nothing
		c.i += 2
		return nil
	}
	if strings.HasPrefix(c.src[c.i:], `\Q`) { // literals up to \E
		quoted := c.src[c.i+2:]
		next := len(c.src)
		if end := strings.Index(quoted, `\E`); end >= 0 {
			quoted, next = quoted[:end], c.i+2+end+2
		}
		c.i = next
		c.repeatable = c.repeatable || quoted != ""
		c.unknownLen()
		return nil
	}
	kind, _, err := c.readEscape(false)
	if err != nil {
		return err
	}
	c.repeatable = kind != escAssertion
	switch kind {
	case escChar, escSet:
		c.addLen(1)
	case escAssertion:
		c.addLen(0)
	default:
		c.unknownLen()
	}
	return nil
}

// readEscape reads the escape sequence at c.i (a backslash) and moves
// past it, returning what it stands for (and a character's value).
func (c *checker) readEscape(inClass bool) (escapeKind, int, error) {
	start := c.i
	if start+1 >= len(c.src) {
		return 0, 0, c.fail(errEscapeAtEnd, len(c.src))
	}
	n := c.src[start+1]
	c.i = start + 2
	switch {
	case '1' <= n && n <= '9' && !inClass:
		return c.backref(start)
	case '0' <= n && n <= '7':
		return c.octal(start)
	case n == '8' || n == '9':
		return escChar, int(n), nil
	case n >= 0x80 || !isASCIILetter(n):
		return escChar, int(n), nil
	case strings.IndexByte(knownEscapeLetters, n) < 0:
		return 0, 0, c.fail(errUnknownEscape, start+1)
	}
	return c.letterEscape(start, n, inClass)
}

// letterEscape reads the escape of letter n (known to PCRE2) at start.
func (c *checker) letterEscape(start int, n byte, inClass bool) (escapeKind, int, error) {
	switch n {
	case 'F', 'L', 'l', 'U', 'u':
		return 0, 0, c.fail(errPerlCase, c.i)
	case 'd', 'D', 's', 'S', 'w', 'W', 'h', 'H', 'v', 'V':
		return escSet, 0, nil
	case 'p', 'P':
		return escSet, 0, c.property()
	case 'b':
		if inClass {
			return escChar, 8, nil
		}
		return escAssertion, 0, nil
	case 'B', 'R', 'X':
		if inClass {
			return 0, 0, c.fail(errClassEscape, start+1)
		}
		if n == 'B' {
			return escAssertion, 0, nil
		}
		if lb := c.lookbehind(); lb >= 0 {
			c.notFixed(lb)
		}
		return escOther, 0, nil
	case 'A', 'z', 'Z', 'G', 'K':
		if inClass {
			return 0, 0, c.fail(errClassEscape, start+1)
		}
		return escAssertion, 0, nil
	case 'N':
		return c.escapeN(inClass)
	case 'c':
		return c.control()
	case 'x':
		return c.hexEscape()
	case 'o':
		return c.octalBraces(start)
	case 'k', 'C':
		if inClass { // no class takes them (\g it does, recorded)
			return 0, 0, c.fail(errClassEscape, start+1)
		}
		if n == 'C' {
			return escOther, 0, nil
		}
		return c.namedRef(n)
	case 'g':
		if inClass {
			return escOther, 0, nil
		}
		return c.namedRef(n)
	case 'a':
		return escChar, 7, nil
	case 'e':
		return escChar, 27, nil
	case 'f':
		return escChar, 12, nil
	case 'n':
		return escChar, 10, nil
	case 'r':
		return escChar, 13, nil
	case 't':
		return escChar, 9, nil
	}
	return escOther, 0, nil // \E \Q
}

// property reads the name of \p or \P at c.i as PCRE2's get_ucp does: a
// letter, or a name in braces (recorded: "\p", "\p^", "\p1", "\p{L" are
// "malformed", reported after what was read, "\p{}" an unknown property).
// A name PCRE2 may not know is the engines' to refuse.
func (c *checker) property() error {
	if c.i >= len(c.src) {
		return c.fail(errPropMalformed, c.i)
	}
	ch := c.src[c.i]
	switch {
	case ch == '{':
		end := strings.IndexByte(c.src[c.i:], '}')
		if end < 0 {
			return c.fail(errPropMalformed, len(c.src))
		}
		name := c.src[c.i+1 : c.i+end]
		c.i += end + 1
		if name == "" || name == "^" {
			return c.fail(errPropUnknown, c.i)
		}
	case isASCIILetter(ch):
		c.i++
	default:
		c.i++
		return c.fail(errPropMalformed, c.i)
	}
	return nil
}

// escapeN checks \N: no class takes it, \N{U+...} needs UTF mode, and
// \N{name} PCRE2 does not support; \N{3} is \N repeated.
func (c *checker) escapeN(inClass bool) (escapeKind, int, error) {
	if inClass {
		return 0, 0, c.fail(errNInClass, c.i)
	}
	if c.i < len(c.src) && c.src[c.i] == '{' {
		if strings.HasPrefix(c.src[c.i:], "{U+") {
			return 0, 0, c.fail(errNUPlus, c.i)
		}
		if _, ok, err := c.repeatCounts(c.i + 1); err == nil && !ok {
			return 0, 0, c.fail(errPerlCase, c.i)
		}
	}
	return escOther, 0, nil
}

// control reads \cX: X must be a printable ASCII character.
func (c *checker) control() (escapeKind, int, error) {
	if c.i >= len(c.src) {
		return 0, 0, c.fail(errCAtEnd, c.i)
	}
	x := c.src[c.i]
	if x < 32 || x > 126 {
		return 0, 0, c.fail(errCPrintable, c.i)
	}
	c.i++
	if 'a' <= x && x <= 'z' {
		x -= 'a' - 'A'
	}
	return escChar, int(x ^ 0x40), nil
}

// hexEscape reads \xHH or \x{H...}.
func (c *checker) hexEscape() (escapeKind, int, error) {
	if c.i >= len(c.src) || c.src[c.i] != '{' {
		v, j := 0, c.i
		for j < len(c.src) && j < c.i+2 && isHex(c.src[j]) {
			d, _ := strconv.ParseUint(c.src[j:j+1], 16, 8)
			v = v*16 + int(d)
			j++
		}
		c.i = j
		return escChar, v, nil
	}
	return c.braced(c.i+1, isHex, 16, errNonHex)
}

// octalBraces reads \o{O...}.
func (c *checker) octalBraces(start int) (escapeKind, int, error) {
	if c.i >= len(c.src) || c.src[c.i] != '{' {
		return 0, 0, c.fail(errOBrace, start+1)
	}
	return c.braced(c.i+1, isOctal, 8, errNonOctal)
}

// braced reads the digits of \x{...} or \o{...} from i up to "}": no
// digits, another character, or a value above 0xFF is PCRE2's error.
func (c *checker) braced(i int, digit func(byte) bool, base int, nonDigit string) (escapeKind, int, error) {
	j, v := i, 0
	for j < len(c.src) && digit(c.src[j]) {
		d, _ := strconv.ParseUint(c.src[j:j+1], 16, 8)
		v = v*base + int(d)
		if v > 0xFF {
			for j < len(c.src) && digit(c.src[j]) {
				j++
			}
			return 0, 0, c.fail(errCodePointMsg, j)
		}
		j++
	}
	switch {
	case j < len(c.src) && c.src[j] == '}' && j == i:
		return 0, 0, c.fail(errDigitsMissing, j)
	case j < len(c.src) && c.src[j] == '}':
		c.i = j + 1
		return escChar, v, nil
	case j == len(c.src) && j == i:
		return 0, 0, c.fail(errDigitsMissing, j)
	case j == len(c.src):
		return 0, 0, c.fail(nonDigit, j-1)
	}
	return 0, 0, c.fail(nonDigit, j)
}

// octal reads \0, \0o, \0oo and \ooo (up to three octal digits); above
// \377 is PCRE2's error without UTF mode.
func (c *checker) octal(start int) (escapeKind, int, error) {
	j, v := start+1, 0
	for j < len(c.src) && j < start+4 && isOctal(c.src[j]) {
		v = v*8 + int(c.src[j]-'0')
		j++
	}
	c.i = j
	if v > 0xFF {
		return 0, 0, c.fail(errOctalTooBig, j)
	}
	return escChar, v, nil
}

// backref reads \N outside a class: a backreference when N is below 10,
// starts with 8 or 9, or is at most the number of groups opened so far;
// otherwise an octal escape (\10 with fewer than ten groups is \010).
func (c *checker) backref(start int) (escapeKind, int, error) {
	j, n := start+1, 0
	for j < len(c.src) && '0' <= c.src[j] && c.src[j] <= '9' && n <= maxRepeat {
		n = n*10 + int(c.src[j]-'0')
		j++
	}
	if n < 10 || c.src[start+1] >= '8' || n <= c.groups {
		c.i = j
		c.refs = append(c.refs, ref{num: n, at: j - 1})
		return escOther, 0, nil
	}
	return c.octal(start)
}

// namedRef reads \k<name>, \k'name', \k{name} and \g's forms (\gN,
// \g{N}, \g{-N}, \g{name}, \g<name>, \g'name').
func (c *checker) namedRef(n byte) (escapeKind, int, error) {
	rest := c.src[c.i:]
	closer := map[byte]byte{'<': '>', '\'': '\'', '{': '}'}
	malformed := errK
	if n == 'g' {
		malformed = errG
		if num, ok := gNumber(rest); ok {
			return escOther, 0, c.numberedRef(num)
		}
	}
	if len(rest) == 0 || closer[rest[0]] == 0 {
		return 0, 0, c.fail(malformed, c.i)
	}
	if n == 'g' && len(rest) > 1 && (rest[1] == '-' || rest[1] == '+' || '0' <= rest[1] && rest[1] <= '9') {
		return escOther, 0, nil // a numbered call \g<1>: left to the engines
	}
	at := c.i + 1
	name, end, err := c.readName(at, closer[rest[0]])
	if err != nil {
		return 0, 0, err
	}
	c.i = end + 1
	c.refs = append(c.refs, ref{name: name, at: at})
	return escOther, 0, nil
}

// gRef is a numbered \g reference: \gN, \g-N, \g+N, or one of them in
// braces.
type gRef struct {
	sign   byte // '-', '+' or 0
	n      int
	braced bool
	end    int // its length after "\g"
}

// gNumber reads a numbered \g reference from rest (after "\g"); ok is
// false when it is none (a name, or something malformed).
func gNumber(rest string) (gRef, bool) {
	var g gRef
	k := 0
	if strings.HasPrefix(rest, "{") {
		g.braced = true
		k++
	}
	if k < len(rest) && (rest[k] == '-' || rest[k] == '+') {
		g.sign = rest[k]
		k++
	}
	d := k
	for k < len(rest) && '0' <= rest[k] && rest[k] <= '9' && k-d < 6 {
		k++
	}
	if k == d {
		return g, false
	}
	g.n, _ = strconv.Atoi(rest[d:k])
	if g.braced {
		if k >= len(rest) || rest[k] != '}' {
			return g, false
		}
		k++
	}
	g.end = k
	return g, true
}

// numberedRef checks the \g reference g at c.i (after "\g") as PCRE2
// does (recorded offsets): a relative one to a group before the first is
// refused at once (after "\g" when braced, at its end otherwise), zero
// too; the others are checked at the end, at their last character.
func (c *checker) numberedRef(g gRef) error {
	start := c.i
	c.i += g.end
	early := c.i
	if g.braced {
		early = start
	}
	switch {
	case g.n == 0 && g.sign != 0:
		return c.fail(errRelativeZero, early)
	case g.n == 0:
		return c.fail(errNoSubpattern, c.i)
	case g.sign == '-' && g.n > c.groups:
		return c.fail(errNoSubpattern, early)
	case g.sign == '-':
		return nil
	case g.sign == '+':
		c.refs = append(c.refs, ref{num: c.groups + g.n, at: c.i - 1})
	default:
		c.refs = append(c.refs, ref{num: g.n, at: c.i - 1})
	}
	return nil
}

// class checks the character class at c.i ("[").
func (c *checker) class() error {
	if c.i+1 < len(c.src) && strings.IndexByte(":.=", c.src[c.i+1]) >= 0 {
		if _, ok := posixEnd(c.src, c.i+1); ok && c.src[c.i+1] == ':' {
			return c.fail(errPosixOutside, c.i)
		} else if ok {
			return c.fail(errCollating, c.i)
		}
	}
	c.i++
	if c.i < len(c.src) && c.src[c.i] == '^' {
		c.i++
	}
	first := true
	// lo is the character that may start a range (-1: none, after a
	// class escape, a POSIX class or a range); started is set after
	// "lo-".
	lo, started := -1, false
	for {
		if c.i >= len(c.src) {
			return c.fail(errMissingBracket, len(c.src))
		}
		ch := c.src[c.i]
		if ch == ']' && !first {
			c.i++
			c.repeatable = true
			c.addLen(1)
			return nil
		}
		first = false
		if ch == '[' && c.i+1 < len(c.src) && strings.IndexByte(":.=", c.src[c.i+1]) >= 0 {
			if end, ok := posixEnd(c.src, c.i+1); ok {
				if err := c.posixClass(end, started); err != nil {
					return err
				}
				lo, started = -1, false
				continue
			}
		}
		var v int
		if ch == '\\' {
			if strings.HasPrefix(c.src[c.i:], `\Q`) || strings.HasPrefix(c.src[c.i:], `\E`) {
				if err := c.classQuote(); err != nil {
					return err
				}
				lo, started = -1, false
				continue
			}
			kind, val, err := c.readEscape(true)
			if err != nil {
				return err
			}
			if kind == escSet {
				if started {
					return c.fail(errClassRange, c.i)
				}
				if err := c.hyphenAfterSet(); err != nil {
					return err
				}
				lo = -1
				continue
			}
			v = val
		} else {
			v = int(ch)
			c.i++
		}
		switch {
		case started:
			if v < lo {
				return c.fail(errRangeOrder, c.i-1)
			}
			lo, started = -1, false
		case v == '-' && lo >= 0 && c.i < len(c.src) && c.src[c.i] != ']' && ch == '-':
			started = true
		default:
			lo = v
		}
	}
}

// classQuote skips \Q...\E (or a lone \E) inside a class: its characters
// are literals.
func (c *checker) classQuote() error {
	if strings.HasPrefix(c.src[c.i:], `\E`) {
		c.i += 2
		return nil
	}
	c.i += 2
	if end := strings.Index(c.src[c.i:], `\E`); end >= 0 {
		c.i += end + 2
		return nil
	}
	return c.fail(errMissingBracket, len(c.src))
}

// hyphenAfterSet refuses a "-" after a class escape or a POSIX class
// unless the class ends right after it ("[\w-.]": PCRE2 does not take
// the hyphen as a literal, as Perl does with a warning).
func (c *checker) hyphenAfterSet() error {
	if c.i < len(c.src)-1 && c.src[c.i] == '-' && c.src[c.i+1] != ']' {
		return c.fail(errClassRange, c.i)
	}
	return nil
}

// posixClass checks the POSIX class at c.i ("[:name:]", or a collating
// element "[.x.]", "[=x=]"), which ends at end (its closing ":]").
func (c *checker) posixClass(end int, started bool) error {
	if c.src[c.i+1] != ':' {
		return c.fail(errCollating, c.i)
	}
	if started {
		return c.fail(errClassRange, c.i+1)
	}
	name := c.src[c.i+2 : end]
	name = strings.TrimPrefix(name, "^")
	if !posixNames[name] {
		return c.fail(errPosixName, end-len(name))
	}
	c.i = end + 2
	return c.hyphenAfterSet()
}

// posixEnd is PCRE2's check_posix_syntax: from i (the ":", "." or "="
// after "["), the index of the terminator before the closing "]", and
// whether the class is POSIX syntax at all.
func posixEnd(s string, i int) (int, bool) {
	term := s[i]
	for j := i + 1; j < len(s); j++ {
		switch {
		case s[j] == '\\' && j+1 < len(s) && (s[j+1] == ']' || s[j+1] == '\\'):
			j++
		case s[j] == '[' && j+1 < len(s) && s[j+1] == term, s[j] == ']':
			return 0, false
		case s[j] == term && j+1 < len(s) && s[j+1] == ']':
			return j, true
		}
	}
	return 0, false
}

// group checks the opening parenthesis at c.i and what follows it up to
// the group's body.
func (c *checker) group() error {
	rest := c.src[c.i+1:]
	switch {
	case strings.HasPrefix(rest, "*"):
		return c.verb()
	case !strings.HasPrefix(rest, "?"):
		c.groups++
		c.open(c.i + 1)
		return nil
	}
	rest = rest[1:]
	at := c.i + 2 // just past "(?"
	switch {
	case rest == "":
		return c.fail(errMissingParen, len(c.src))
	case rest[0] == '#':
		end := strings.IndexByte(rest, ')')
		if end < 0 {
			return c.fail(errComment, len(c.src))
		}
		c.i = at + end + 1
		return nil
	case strings.HasPrefix(rest, "<=") || strings.HasPrefix(rest, "<!"):
		c.open(at + 2)
		c.behind[len(c.behind)-1] = at - 2
		c.lens[len(c.lens)-1].kind = 'b'
	case rest[0] == '=' || rest[0] == '!':
		c.open(at + 1)
		c.behind[len(c.behind)-1] = -1
		c.lens[len(c.lens)-1].kind = 'a'
	case rest[0] == '<' || rest[0] == '\'':
		return c.namedGroup(at+1, map[byte]byte{'<': '>', '\'': '\''}[rest[0]])
	case rest[0] == 'P':
		return c.groupP(at + 1)
	case rest[0] == '|':
		c.dupOK = true
		c.open(at + 1)
	case rest[0] == '(':
		return c.condition(at)
	case rest[0] == '>' || rest[0] == ':':
		c.open(at + 1)
	case rest[0] == '&':
		name, _, err := c.readName(at+1, ')')
		if err != nil {
			return err
		}
		c.refs = append(c.refs, ref{name: name, at: at + 1})
		return c.skipGroup()
	case rest[0] == '+' || '0' <= rest[0] && rest[0] <= '9' || rest[0] == '-' && len(rest) > 1 && '0' <= rest[1] && rest[1] <= '9':
		if err := c.call(at); err != nil {
			return err
		}
		return c.skipGroup()
	case rest[0] == 'C':
		return c.callout(at + 1)
	case rest[0] == 'R':
		return c.skipGroup() // recursion: the engines' to refuse
	default:
		return c.flags(at)
	}
	return nil
}

// condition checks the condition of "(?(" at i (its "("): a group
// number or name must exist; an assertion is read as a group.
func (c *checker) condition(i int) error {
	if i+1 < len(c.src) && (c.src[i+1] == '?' || c.src[i+1] == '*') {
		c.open(i)
		return nil
	}
	end := strings.IndexByte(c.src[i:], ')')
	if end < 0 {
		return c.fail(errMissingParen, len(c.src))
	}
	cond := c.src[i+1 : i+end]
	switch {
	case cond != "" && strings.Trim(cond, "0123456789") == "":
		n, _ := strconv.Atoi(cond)
		c.refs = append(c.refs, ref{num: n, at: i})
	case len(cond) > 2 && (cond[0] == '<' && cond[len(cond)-1] == '>' || cond[0] == '\'' && cond[len(cond)-1] == '\''):
		c.refs = append(c.refs, ref{name: cond[1 : len(cond)-1], at: i + 2})
	case cond != "" && isASCIILetter(cond[0]) && cond[0] != 'R' && cond != "DEFINE" && !strings.HasPrefix(cond, "VERSION"):
		c.refs = append(c.refs, ref{name: cond, at: i + 1})
	}
	c.open(i + end + 1)
	return nil
}

// call records the group that "(?N)", "(?+N)" or "(?-N)" at i calls
// (relative to the groups opened so far), reported after its digits.
func (c *checker) call(i int) error {
	j := i
	if c.src[j] == '+' || c.src[j] == '-' {
		j++
	}
	k := j
	for k < len(c.src) && '0' <= c.src[k] && c.src[k] <= '9' {
		k++
	}
	if k == j && c.src[i] == '+' { // recorded: "(?+" at "+"
		return c.fail(errDigitExpected, i)
	}
	n, err := strconv.Atoi(c.src[j:k])
	if err != nil || k == j {
		return nil
	}
	switch c.src[i] {
	case '+':
		n += c.groups
	case '-':
		n = c.groups - n + 1
		if n <= 0 { // before the first group: refused at once
			return c.fail(errNoSubpattern, k)
		}
	}
	c.refs = append(c.refs, ref{num: n, at: k})
	return nil
}

// callout checks "(?C)" or "(?Cn)" from i (after "C"): n at most 255 and
// a ")" right after it (recorded: "(?C256)" "number after (?C is greater
// than 255" at ")", "(?C1" "closing parenthesis for (?C expected"). A
// string callout is the engines' to refuse; another character is no
// delimiter ("(?Cx" at "x").
func (c *checker) callout(i int) error {
	if i < len(c.src) && strings.IndexByte("`'\"^%#${", c.src[i]) >= 0 {
		return c.skipGroup()
	}
	j, n := i, 0
	for j < len(c.src) && '0' <= c.src[j] && c.src[j] <= '9' {
		n = n*10 + int(c.src[j]-'0')
		j++
		if n > 255 {
			for j < len(c.src) && '0' <= c.src[j] && c.src[j] <= '9' {
				j++
			}
			return c.fail(errCalloutNumber, j)
		}
	}
	switch {
	case j == i && j < len(c.src) && c.src[j] != ')':
		return c.fail(errCalloutDelimiter, j)
	case j >= len(c.src) || c.src[j] != ')':
		return c.fail(errCalloutParen, j)
	}
	c.i = j + 1
	c.repeatable = false // recorded: "a(?C)*" is refused
	return nil
}

// open opens a group whose body starts at i.
func (c *checker) open(i int) {
	if len(c.ext) == maxNesting && c.deep < 0 {
		c.deep = i // PCRE2's parens_nest_limit: refused after the opener
	}
	c.ext = append(c.ext, c.extended())
	c.behind = append(c.behind, c.lookbehind())
	c.lens = append(c.lens, span{first: -1, kind: 'g'})
	c.i = i
	c.repeatable = false
}

// skipGroup moves past a group PCRE2 takes as a whole item ("(?1)",
// "(*VERB)") to its ")".
func (c *checker) skipGroup() error {
	end := strings.IndexByte(c.src[c.i:], ')')
	if end < 0 {
		return c.fail(errMissingParen, len(c.src))
	}
	c.i += end + 1
	c.repeatable = true
	c.unknownLen()
	return nil
}

// verbs are PCRE2's backtracking verbs, by name ("" is (*:NAME)).
var verbs = map[string]bool{"ACCEPT": true, "F": true, "FAIL": true, "COMMIT": true, "PRUNE": true, "SKIP": true, "THEN": true, "MARK": true, "": true}

// alphaAssertions are PCRE2's named assertions, (*pla:...) and so on,
// with the kind of group each is (see span).
var alphaAssertions = map[string]byte{
	"pla": 'a', "positive_lookahead": 'a', "nla": 'a', "negative_lookahead": 'a',
	"napla": 'a', "non_atomic_positive_lookahead": 'a',
	"plb": 'b', "positive_lookbehind": 'b', "nlb": 'b', "negative_lookbehind": 'b',
	"naplb": 'b', "non_atomic_positive_lookbehind": 'b',
	"atomic": 'g', "sr": 'g', "script_run": 'g', "asr": 'g', "atomic_script_run": 'g',
}

// startOptions are the (*NAME) settings PCRE2 takes at the start of a
// pattern (the LIMIT_ ones with "=digits").
var startOptions = map[string]bool{
	"UTF": true, "UCP": true, "CR": true, "LF": true, "CRLF": true, "ANY": true, "NUL": true, "ANYCRLF": true,
	"BSR_ANYCRLF": true, "BSR_UNICODE": true, "NO_AUTO_POSSESS": true, "NO_DOTSTAR_ANCHOR": true,
	"NO_JIT": true, "NO_START_OPT": true, "NOTEMPTY": true, "NOTEMPTY_ATSTART": true,
	"LIMIT_HEAP=": true, "LIMIT_MATCH=": true, "LIMIT_DEPTH=": true, "LIMIT_RECURSION=": true,
}

// skipStartOptions moves past the (*UTF), (*LIMIT_MATCH=10) ... settings
// at the start of the pattern.
func (c *checker) skipStartOptions() error {
	for strings.HasPrefix(c.src[c.i:], "(*") {
		end := strings.IndexByte(c.src[c.i:], ')')
		if end < 0 {
			return nil
		}
		name := c.src[c.i+2 : c.i+end]
		if eq := strings.IndexByte(name, '='); eq >= 0 && startOptions[name[:eq+1]] {
			digits := name[eq+1:]
			k := 0
			for k < len(digits) && '0' <= digits[k] && digits[k] <= '9' {
				k++
			}
			switch { // recorded: "=)" and "=x)" at their ")" or "x", "=1x)" after the "x"
			case k == 0:
				return c.fail(errVerb, c.i+2+eq+1)
			case k < len(digits):
				return c.fail(errVerb, c.i+2+eq+1+k+1)
			}
			name = name[:eq+1]
		}
		if !startOptions[name] {
			return nil
		}
		c.i += end + 1
	}
	return nil
}

// verb checks "(*VERB)", "(*VERB:NAME)" or "(*alpha_assertion:" at c.i
// as PCRE2 reads them (recorded: "(*NOPE)" is not recognized at ")",
// "(*+)" at "+", "(*MARK)" needs an argument, "(*a" is no assertion); a
// "(*" before ")" or the end is "(" and a quantifier.
func (c *checker) verb() error {
	i := c.i + 2
	if i >= len(c.src) || c.src[i] == ')' {
		c.groups++
		c.open(c.i + 1)
		return nil
	}
	j := i
	for j < len(c.src) && isWord(c.src[j]) {
		j++
	}
	name := c.src[i:j]
	if 'a' <= c.src[i] && c.src[i] <= 'z' {
		kind, ok := alphaAssertions[name]
		if j >= len(c.src) || c.src[j] != ':' || !ok {
			return c.fail(errAlpha, j)
		}
		lb := c.lookbehind()
		c.open(j + 1)
		c.lens[len(c.lens)-1].kind = kind
		switch kind {
		case 'b':
			lb = i // PCRE2 reports it after "(*" (recorded)
		case 'a':
			lb = -1
		}
		c.behind[len(c.behind)-1] = lb
		return nil
	}
	if j >= len(c.src) || c.src[j] != ':' && c.src[j] != ')' || !verbs[name] {
		return c.fail(errVerb, j)
	}
	if (name == "MARK" || name == "") && (c.src[j] == ')' || strings.HasPrefix(c.src[j:], ":)")) {
		return c.fail(errMark, strings.IndexByte(c.src[j:], ')')+j)
	}
	c.i = j
	if strings.IndexByte(c.src[j:], ')') < 0 {
		return c.fail(errVerb, len(c.src))
	}
	err := c.skipGroup()
	c.repeatable = false
	return err
}

// groupP checks what follows "(?P" at i: "<name>", "=name)" or ">name)".
func (c *checker) groupP(i int) error {
	if i >= len(c.src) {
		return c.fail(errAfterP, i)
	}
	switch c.src[i] {
	case '<':
		return c.namedGroup(i+1, '>')
	case '=', '>':
		name, end, err := c.readName(i+1, ')')
		if err != nil {
			return err
		}
		c.refs = append(c.refs, ref{name: name, at: i + 1})
		c.i = end + 1
		c.repeatable = true
		c.unknownLen()
		return nil
	}
	return c.fail(errAfterP, i)
}

// namedGroup checks a group's name from i up to closer, and opens the group.
func (c *checker) namedGroup(i int, closer byte) error {
	name, end, err := c.readName(i, closer)
	if err != nil {
		return err
	}
	if c.names[name] && !c.dupOK {
		return c.fail(errDupName, end+1)
	}
	c.names[name] = true
	c.groups++
	c.open(end + 1)
	return nil
}

// readName is PCRE2's read_name: a name of word characters, not starting
// with a digit, of at most 32, ended by closer (at end).
func (c *checker) readName(i int, closer byte) (name string, end int, err error) {
	if i < len(c.src) && '0' <= c.src[i] && c.src[i] <= '9' {
		return "", 0, c.fail(errNameDigit, i)
	}
	j := i
	for j < len(c.src) && isWord(c.src[j]) {
		j++
	}
	switch {
	case j-i > maxNameSize:
		return "", 0, c.fail(errNameTooLong, j)
	case j == i:
		return "", 0, c.fail(errNameExpected, j)
	case j >= len(c.src) || c.src[j] != closer:
		return "", 0, c.fail(errNameSyntax, j)
	}
	return c.src[i:j], j, nil
}

// flags checks an option setting "(?imsx-imsx)" or "(?imsx-imsx:" at i
// (just past "(?").
func (c *checker) flags(i int) error {
	ext, on := c.extended(), true
	j := i
	for ; j < len(c.src) && c.src[j] != ')' && c.src[j] != ':'; j++ {
		switch f := c.src[j]; f {
		case '-':
			on = false
		case '^':
			ext = false
		case 'x':
			ext = on
		case 'J':
			c.dupOK = c.dupOK || on
		case 'i', 'm', 'n', 's', 'U':
		default:
			return c.fail(errFlag, j)
		}
	}
	if j >= len(c.src) {
		return c.fail(errMissingParen, len(c.src))
	}
	if c.src[j] == ':' {
		c.ext = append(c.ext, ext)
		c.behind = append(c.behind, c.lookbehind())
		c.lens = append(c.lens, span{first: -1, kind: 'g'})
	} else if len(c.ext) == 0 {
		c.ext0 = ext
	} else {
		c.ext[len(c.ext)-1] = ext
	}
	c.i = j + 1
	c.repeatable = false
	return nil
}

// resolve checks the references against the whole pattern's groups.
func (c *checker) resolve() error {
	for _, r := range c.refs {
		if r.name == "" && r.num > c.groups || r.name != "" && !c.names[r.name] {
			return c.fail(errNoSubpattern, r.at)
		}
	}
	return nil
}

func isWord(b byte) bool { return isASCIILetter(b) || '0' <= b && b <= '9' || b == '_' }

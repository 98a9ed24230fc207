package pcre

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// translation is a PCRE pattern rewritten for regexp2 (see translate).
type translation struct {
	// pattern is the rewritten pattern.
	pattern string
	// names are the group names by number, names[0] is the whole match; "" for
	// a group without a name.
	names []string
}

// unsupportedEscapes are PCRE escapes that regexp2 does not know and would
// read as the bare letter (\K would match a "K"): refused rather than
// silently matched differently.
const unsupportedEscapes = "KRXC"

// translate rewrites a PCRE pattern for regexp2 so that it matches as nginx's
// PCRE would:
//   - named groups ((?<n>...), (?P<n>...), (?'n'...)) become plain groups and
//     named backreferences (\k<n>, \k{n}, \k'n', \g{n}, (?P=n)) numbered ones:
//     regexp2 numbers named groups after the unnamed ones (.NET's rule),
//     PCRE numbers all groups left to right;
//   - lookbehinds with a variable-length quantifier are refused, as
//     PCRE2 refuses them.
//
// Case folding is regexp2's own (IgnoreCase, (?i)): on subjects rewritten
// by mapSubject it folds ASCII letters only, as nginx's PCRE does.
func translate(src string) (translation, error) {
	first := translator{src: src, behind: []bool{false}, ext: []bool{false}, names: []string{""}}
	if err := first.run(); err != nil {
		return translation{}, err
	}
	t := translator{src: src, behind: []bool{false}, ext: []bool{false}, names: []string{""}, known: first.names}
	if err := t.run(); err != nil {
		return translation{}, err
	}
	return translation{pattern: t.out.String(), names: t.names}, nil
}

// translator is one pass of translate over src.
type translator struct {
	src string
	i   int
	out strings.Builder
	// behind holds, for each open group, whether it is inside a lookbehind,
	// where PCRE2 (10.42, nginx's on Debian 12) wants a fixed length.
	behind []bool
	// ext holds, for each open group, whether it is in extended mode ((?x)),
	// where "#" starts a comment that runs to the end of the line.
	ext []bool
	// names collects the group names by number as groups open.
	names []string
	// known are the names of the whole pattern (from a first pass), so that a
	// backreference may name a group that opens later; nil in the first pass.
	known []string
}

// run rewrites the whole pattern into out.
func (t *translator) run() error {
	for t.i < len(t.src) {
		var err error
		switch c := t.src[t.i]; c {
		case '\\':
			err = t.escape()
		case '[':
			err = t.class()
		case '(':
			err = t.group()
		case ')':
			if len(t.behind) > 1 {
				t.behind = t.behind[:len(t.behind)-1]
				t.ext = t.ext[:len(t.ext)-1]
			}
			t.out.WriteByte(c)
			t.i++
		case '#':
			t.comment()
		case '*', '+', '?', '{':
			if t.behind[len(t.behind)-1] && variableRepeat(t.src[t.i:]) {
				return errors.New("lookbehind assertion is not fixed length")
			}
			t.out.WriteByte(c)
			t.i++
		default:
			t.out.WriteByte(t.src[t.i])
			t.i++
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// escape copies an escape sequence outside a class, translating \Q...\E and
// named backreferences.
func (t *translator) escape() error {
	if t.i+1 >= len(t.src) {
		t.out.WriteByte('\\')
		t.i++
		return nil
	}
	n := t.src[t.i+1]
	switch {
	case n == 'Q':
		return t.quote()
	case n == 'k' || n == 'g':
		return t.backref()
	case strings.IndexByte(unsupportedEscapes, n) >= 0:
		return fmt.Errorf(`PCRE escape \%c is not supported`, n)
	}
	seq := t.escapeSeq()
	t.out.WriteString(seq)
	return nil
}

// escapeSeq returns the escape sequence at t.i (a backslash and a character,
// a \p{...} or \x{...} with its braces, or \cX) and moves past it.
func (t *translator) escapeSeq() string {
	start := t.i
	n := t.src[t.i+1]
	_, size := utf8.DecodeRuneInString(t.src[t.i+1:])
	t.i += 1 + size
	switch {
	case (n == 'p' || n == 'P' || n == 'x' || n == 'o') && t.i < len(t.src) && t.src[t.i] == '{':
		if end := strings.IndexByte(t.src[t.i:], '}'); end >= 0 {
			t.i += end + 1
		}
	case n == 'c' && t.i < len(t.src):
		t.i++
	}
	return t.src[start:t.i]
}

// quote translates \Q...\E (or \Q to the end): every character is literal.
func (t *translator) quote() error {
	rest := t.src[t.i+2:]
	end := strings.Index(rest, `\E`)
	quoted, next := rest, len(t.src)
	if end >= 0 {
		quoted, next = rest[:end], t.i+2+end+2
	}
	for _, r := range quoted {
		s := string(r)
		if r < utf8.RuneSelf && !isASCIILetter(byte(r)) && !('0' <= r && r <= '9') {
			s = `\` + s
		}
		t.out.WriteString(s)
	}
	t.i = next
	return nil
}

// backref translates \k<name>, \k{name}, \k'name', \g{name}, \gN and \g{N}
// into a numbered backreference.
func (t *translator) backref() error {
	n := t.src[t.i+1]
	rest := t.src[t.i+2:]
	if g, ok := gNumber(rest); n == 'g' && ok {
		// \gN, \g{N}; \g-N and \g+N count from the groups opened so
		// far (PCRE2's relative references, checked by check).
		num := g.n
		switch g.sign {
		case '-':
			num = len(t.names) - g.n
		case '+':
			num = len(t.names) - 1 + g.n
		}
		t.out.WriteString(`(?:\` + strconv.Itoa(num) + `)`)
		t.i += 2 + g.end
		return nil
	}
	closers := map[byte]byte{'<': '>', '{': '}', '\'': '\''}
	if len(rest) == 0 || closers[rest[0]] == 0 {
		return fmt.Errorf(`invalid backreference \%c`, n)
	}
	end := strings.IndexByte(rest[1:], closers[rest[0]])
	if end < 0 {
		return fmt.Errorf(`unterminated backreference \%c%c`, n, rest[0])
	}
	name := rest[1 : 1+end]
	t.i += 2 + 1 + end + 1
	return t.writeRef(name)
}

// writeRef writes a backreference to a group given by name or number.
func (t *translator) writeRef(name string) error {
	if num, err := strconv.Atoi(name); err == nil && num > 0 {
		t.out.WriteString(`(?:\` + name + `)`)
		return nil
	}
	if t.known == nil { // first pass: names are not all known yet
		return nil
	}
	for num, n := range t.known {
		if n != "" && n == name {
			t.out.WriteString(`(?:\` + strconv.Itoa(num) + `)`)
			return nil
		}
	}
	return fmt.Errorf(`reference to non-existent subpattern "%s"`, name)
}

// group translates an opening parenthesis and what follows it up to the group's
// body: plain and named captures, lookaround, (?P=name), comments and inline
// flags.
func (t *translator) group() error {
	rest := t.src[t.i+1:]
	if !strings.HasPrefix(rest, "?") {
		t.open("", 1)
		return nil
	}
	rest = rest[1:]
	switch {
	case strings.HasPrefix(rest, "#"):
		end := strings.IndexByte(rest, ')')
		if end < 0 {
			return fmt.Errorf("missing ) after comment")
		}
		t.i += 2 + end + 1
		return nil
	case strings.HasPrefix(rest, "<=") || strings.HasPrefix(rest, "<!"):
		t.push("(?"+rest[:2], 4)
		t.behind[len(t.behind)-1] = true
		return nil
	case strings.HasPrefix(rest, "P="):
		end := strings.IndexByte(rest, ')')
		if end < 0 {
			return fmt.Errorf("missing ) after (?P=")
		}
		t.i += 2 + end + 1
		return t.writeRef(rest[2:end])
	case strings.HasPrefix(rest, "<"), strings.HasPrefix(rest, "P<"), strings.HasPrefix(rest, "'"):
		return t.namedGroup(rest)
	case len(rest) > 0 && (isASCIILetter(rest[0]) || rest[0] == '-' || rest[0] == ')' || rest[0] == ':'):
		return t.flags(rest)
	}
	// (?=, (?!, (?>, (?|, recursion and the rest: kept for regexp2 to judge.
	t.push("(?", 2)
	if strings.HasPrefix(rest, "=") || strings.HasPrefix(rest, "!") {
		// A lookahead consumes nothing: inside a lookbehind it may
		// repeat freely (PCRE2 takes "(?<=a(?=b*))", recorded).
		t.behind[len(t.behind)-1] = false
	}
	return nil
}

// open writes a capturing group "(" with name, consuming n bytes of src.
func (t *translator) open(name string, n int) {
	t.names = append(t.names, name)
	t.push("(", n)
}

// comment copies a "#" comment of extended mode up to its end of line (or
// a "#" outside extended mode).
func (t *translator) comment() {
	end := len(t.src)
	if !t.ext[len(t.ext)-1] {
		end = t.i + 1
	} else if nl := strings.IndexByte(t.src[t.i:], '\n'); nl >= 0 {
		end = t.i + nl + 1
	}
	t.out.WriteString(t.src[t.i:end])
	t.i = end
}

// push writes s, opens a group and moves n bytes on.
func (t *translator) push(s string, n int) {
	t.out.WriteString(s)
	t.ext = append(t.ext, t.ext[len(t.ext)-1])
	t.behind = append(t.behind, t.behind[len(t.behind)-1])
	t.i += n
}

// namedGroup translates (?<name>, (?P<name> and (?'name' into a plain group.
func (t *translator) namedGroup(rest string) error {
	skip, closer := 1, byte('>')
	switch {
	case strings.HasPrefix(rest, "P<"):
		skip = 2
	case rest[0] == '\'':
		closer = '\''
	}
	end := strings.IndexByte(rest[skip:], closer)
	if end < 0 {
		return fmt.Errorf("syntax error in subpattern name (missing terminator?)")
	}
	name := rest[skip : skip+end]
	t.open(name, 2+skip+end+1)
	return nil
}

// flags copies (?flags) and (?flags:; the latter opens a group.
func (t *translator) flags(rest string) error {
	end := strings.IndexAny(rest, ":)")
	if end < 0 {
		return fmt.Errorf("missing ) after (?")
	}
	t.out.WriteString(t.src[t.i : t.i+2+end+1])
	t.i += 2 + end + 1
	ext, on := t.ext[len(t.ext)-1], true
	for _, c := range rest[:end] {
		switch c {
		case '-':
			on = false
		case 'x':
			ext = on
		}
	}
	if rest[end] == ':' {
		t.behind = append(t.behind, t.behind[len(t.behind)-1])
		t.ext = append(t.ext, ext)
	} else {
		t.ext[len(t.ext)-1] = ext
	}
	return nil
}

// class copies a character class: its parentheses are no groups, and a
// PCRE escape regexp2 lacks is refused there too.
func (t *translator) class() error {
	j := t.i + 1
	if j < len(t.src) && t.src[j] == '^' {
		j++
	}
	first := true
	for {
		if j >= len(t.src) {
			return fmt.Errorf("missing terminating ] for character class")
		}
		c := t.src[j]
		switch {
		case c == ']' && !first:
			t.out.WriteString(t.src[t.i : j+1])
			t.i = j + 1
			return nil
		case c == '[' && strings.HasPrefix(t.src[j:], "[:"):
			end := strings.Index(t.src[j:], ":]")
			if end < 0 {
				j++
				break
			}
			j += end + 2
		case c == '\\' && j+1 < len(t.src):
			if strings.IndexByte(unsupportedEscapes, t.src[j+1]) >= 0 {
				return fmt.Errorf(`PCRE escape \%c is not supported`, t.src[j+1])
			}
			save := t.i
			t.i = j
			t.escapeSeq()
			j, t.i = t.i, save
		default:
			j++
		}
		first = false
	}
}

// variableRepeat reports whether the quantifier at the start of s repeats a
// variable number of times: *, +, ?, {n,} or {n,m} with n != m ({n} is
// fixed; a "{" that is no quantifier is a literal).
func variableRepeat(s string) bool {
	if s[0] != '{' {
		return true
	}
	end := strings.IndexByte(s, '}')
	if end < 0 {
		return false
	}
	lo, hi, found := strings.Cut(s[1:end], ",")
	if _, err := strconv.Atoi(lo); err != nil {
		return false
	}
	return found && hi != lo
}

func isASCIILetter(c byte) bool { return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }

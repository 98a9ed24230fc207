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
const unsupportedEscapes = "KRXhHVNC"

// translate rewrites a PCRE pattern for regexp2 so that it matches as nginx's
// PCRE would:
//   - named groups ((?<n>...), (?P<n>...), (?'n'...)) become plain groups and
//     named backreferences (\k<n>, \k{n}, \k'n', \g{n}, (?P=n)) numbered ones:
//     regexp2 numbers named groups after the unnamed ones (.NET's rule),
//     PCRE numbers all groups left to right;
//   - with caseless, or under an inline (?i), each ASCII letter becomes a
//     class of its two cases and classes gain the other case of their ASCII
//     letters, and the i flag is dropped: nginx's PCRE has no UTF mode and
//     folds ASCII letters only, where regexp2 folds Unicode (é with É, k with
//     the Kelvin sign).
func translate(src string, caseless bool) (translation, error) {
	first := translator{src: src, fold: []bool{caseless}, behind: []bool{false}, names: []string{""}}
	if err := first.run(); err != nil {
		return translation{}, err
	}
	t := translator{src: src, fold: []bool{caseless}, behind: []bool{false}, names: []string{""}, known: first.names}
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
	// fold holds, for each open group, whether ASCII letters fold there; the
	// last entry is the current one.
	fold []bool
	// behind holds, for each open group, whether it is inside a lookbehind,
	// where PCRE2 (10.42, nginx's on Debian 12) wants a fixed length.
	behind []bool
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
			if len(t.fold) > 1 {
				t.fold = t.fold[:len(t.fold)-1]
				t.behind = t.behind[:len(t.behind)-1]
			}
			t.out.WriteByte(c)
			t.i++
		case '*', '+', '?', '{':
			if t.behind[len(t.behind)-1] && variableRepeat(t.src[t.i:]) {
				return errors.New("lookbehind assertion is not fixed length")
			}
			t.out.WriteByte(c)
			t.i++
		default:
			t.literal(t.src[t.i : t.i+1])
			t.i++
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// folding reports whether ASCII letters fold at the current position.
func (t *translator) folding() bool { return t.fold[len(t.fold)-1] }

// literal writes literal text, each ASCII letter as a class of both cases
// when folding.
func (t *translator) literal(s string) {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if t.folding() && isASCIILetter(c) {
			t.out.WriteByte('[')
			t.out.WriteByte(c)
			t.out.WriteByte(otherCase(c))
			t.out.WriteByte(']')
			continue
		}
		t.out.WriteByte(c)
	}
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
		t.literal(s)
	}
	t.i = next
	return nil
}

// backref translates \k<name>, \k{name}, \k'name', \g{name}, \gN and \g{N}
// into a numbered backreference.
func (t *translator) backref() error {
	n := t.src[t.i+1]
	rest := t.src[t.i+2:]
	if n == 'g' && len(rest) > 0 && rest[0] >= '0' && rest[0] <= '9' {
		j := 0
		for j < len(rest) && rest[j] >= '0' && rest[j] <= '9' {
			j++
		}
		t.out.WriteString(`(?:\` + rest[:j] + `)`)
		t.i += 2 + j
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
	return nil
}

// open writes a capturing group "(" with name, consuming n bytes of src.
func (t *translator) open(name string, n int) {
	t.names = append(t.names, name)
	t.push("(", n)
}

// push writes s, opens a group that inherits the current folding and moves n
// bytes on.
func (t *translator) push(s string, n int) {
	t.out.WriteString(s)
	t.fold = append(t.fold, t.folding())
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

// flags translates (?flags) and (?flags:, taking the i flag out (folding is
// done by literal and class) and keeping the others for regexp2.
func (t *translator) flags(rest string) error {
	end := strings.IndexAny(rest, ":)")
	if end < 0 {
		return fmt.Errorf("missing ) after (?")
	}
	spec, kind := rest[:end], rest[end]
	fold, on, kept := t.folding(), true, ""
	for _, c := range spec {
		switch c {
		case '-':
			on = false
			kept += "-"
		case 'i':
			fold = on
		default:
			kept += string(c)
		}
	}
	kept = strings.TrimSuffix(kept, "-")
	t.i += 2 + end + 1
	if kind == ')' {
		t.fold[len(t.fold)-1] = fold
		if kept != "" {
			t.out.WriteString("(?" + kept + ")")
		}
		return nil
	}
	t.out.WriteString("(?" + kept + ":")
	t.fold = append(t.fold, fold)
	t.behind = append(t.behind, t.behind[len(t.behind)-1])
	return nil
}

// class copies a character class, adding the other case of its ASCII letters
// (single or in ranges) when folding; a negated class leaves out both cases.
func (t *translator) class() error {
	j := t.i + 1
	var body strings.Builder
	body.WriteByte('[')
	if j < len(t.src) && t.src[j] == '^' {
		body.WriteByte('^')
		j++
	}
	var items strings.Builder // the class's own items
	var extra strings.Builder // the other cases, when folding
	prev := -1                // the last literal byte, for a range
	first := true
	for {
		if j >= len(t.src) {
			return fmt.Errorf("missing terminating ] for character class")
		}
		c := t.src[j]
		switch {
		case c == ']' && !first:
			t.i = j + 1
			t.out.WriteString(body.String())
			t.out.WriteString(extra.String())
			t.out.WriteString(items.String())
			t.out.WriteByte(']')
			return nil
		case c == ']':
			items.WriteString(`\]`)
			prev = -1
			j++
		case c == '[' && strings.HasPrefix(t.src[j:], "[:"):
			end := strings.Index(t.src[j:], ":]")
			if end < 0 {
				items.WriteByte(c)
				j++
				break
			}
			items.WriteString(t.src[j : j+end+2])
			prev = -1
			j += end + 2
		case c == '\\' && j+1 < len(t.src):
			if strings.IndexByte(unsupportedEscapes, t.src[j+1]) >= 0 {
				return fmt.Errorf(`PCRE escape \%c is not supported`, t.src[j+1])
			}
			save := t.i
			t.i = j
			items.WriteString(t.escapeSeq())
			j, t.i = t.i, save
			prev = -1
		case c == '-' && prev >= 0 && j+1 < len(t.src) && t.src[j+1] != ']' && t.src[j+1] != '\\' && t.src[j+1] != '[':
			hi := t.src[j+1]
			items.WriteByte('-')
			items.WriteByte(hi)
			if t.folding() {
				writeRangeCases(&extra, byte(prev), hi)
			}
			prev = -1
			j += 2
		default:
			items.WriteByte(c)
			if t.folding() && isASCIILetter(c) {
				extra.WriteByte(otherCase(c))
			}
			prev = int(c)
			if c >= utf8.RuneSelf {
				prev = -1
			}
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

// writeRangeCases writes the other case of the ASCII letters in lo-hi as ranges.
func writeRangeCases(b *strings.Builder, lo, hi byte) {
	for _, span := range [][2]byte{{'a', 'z'}, {'A', 'Z'}} {
		a, z := max(lo, span[0]), min(hi, span[1])
		if a <= z {
			b.WriteByte(otherCase(a))
			b.WriteByte('-')
			b.WriteByte(otherCase(z))
		}
	}
}

func isASCIILetter(c byte) bool { return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }

// otherCase returns the other case of an ASCII letter.
func otherCase(c byte) byte {
	if 'a' <= c && c <= 'z' {
		return c - 'a' + 'A'
	}
	return c - 'A' + 'a'
}

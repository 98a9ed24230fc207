package pcre

import (
	"errors"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// nginx's PCRE runs without UTF mode: it matches bytes, not characters. "."
// and "[^/]" take one byte of "é" (two bytes in UTF-8), "\xC3" matches a
// byte, "é+" repeats the last byte of "é", and a capture may end inside a
// character. Both engines here match runes, so a subject with bytes of
// 0x80 and above is matched in a rewritten form in which each such byte is
// a rune of its own, byteBase+byte, in Unicode's private use area (which
// has no case and no properties); the pattern is rewritten the same way
// once, at compile time (bytePattern), and the offsets of a match are
// carried back to the subject's bytes (unmapIndex). An all-ASCII subject
// is its own rewritten form: it is matched as it is, with one scan to
// check, no copy and no allocation.
//
// Since the subject then holds ASCII letters and case-less runes only,
// Go's and regexp2's own case folding ((?i), IgnoreCase) folds ASCII
// letters only, as nginx's PCRE does with its "C" tables.
const byteBase = 0xE000

// errCodePoint is PCRE2's refusal, without UTF mode, of a \x{...} above
// 0xFF (nginx 1.22.1: "pcre2_compile() failed: character code point value
// in \x{} or \o{} is too large").
var errCodePoint = errors.New(`character code point value in \x{} or \o{} is too large`)

// hasHigh reports whether s has a byte of 0x80 or above.
func hasHigh(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return true
		}
	}
	return false
}

// mapSubject returns s with each byte of 0x80 and above as the rune
// byteBase+byte.
func mapSubject(s string) string {
	var b strings.Builder
	b.Grow(3 * len(s)) // at most: three UTF-8 bytes for each byte
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < utf8.RuneSelf {
			b.WriteByte(c)
		} else {
			b.WriteRune(byteBase + rune(c))
		}
	}
	return b.String()
}

// unmapIndex turns offsets into mapSubject(s) (pairs, -1 for a group that
// did not take part) into offsets into s, in place.
func unmapIndex(idx []int, s string) {
	for k, m := range idx {
		if m < 0 {
			continue
		}
		at, i := 0, 0 // at: offset in the mapped subject of s[i]
		for at < m && i < len(s) {
			if s[i] < utf8.RuneSelf {
				at++
			} else {
				at += 3 // byteBase+0x80..byteBase+0xFF are three bytes in UTF-8
			}
			i++
		}
		idx[k] = i
	}
}

// bytePattern rewrites a pattern for subjects rewritten by mapSubject: each
// byte of 0x80 and above (raw, or written \xHH, \x{HH}) becomes
// \x{byteBase+byte}, inside a class too, so "é" is two single-byte runes
// and "[à-ÿ]" the bytes PCRE's class holds; \Q...\E becomes escaped
// literals; \h, \H, \v, \V are PCRE2's byte sets, \N is [^\n], \cX is
// its byte; \p and \P also take (or leave out) the bytes 0x80-0xFF whose
// Latin-1 character has the property, as PCRE without UTF mode tests a
// byte's code point; \s takes the vertical tab, as PCRE2's; \200 to \377
// are bytes; (?x) comments are copied as they are. A \x{...} above 0xFF
// is PCRE2's error. A pattern of ASCII without a backslash or a "#" is
// returned as it is.
func bytePattern(src string) (string, error) {
	if !hasHigh(src) && !strings.Contains(src, `\`) && !strings.Contains(src, "#") {
		return src, nil
	}
	w := byteWriter{src: src}
	for w.i < len(src) {
		if err := w.step(); err != nil {
			return "", err
		}
	}
	return w.out.String(), nil
}

// byteWriter is one run of bytePattern.
type byteWriter struct {
	src     string
	i       int
	out     strings.Builder
	inClass bool // inside [...]
	// ext holds, for each open group, whether it is in extended mode
	// ((?x)), where "#" starts a comment to the end of the line; nil until
	// a group opens (the pattern's level is ext0).
	ext  []bool
	ext0 bool
}

// extended reports whether the current group is in extended mode.
func (w *byteWriter) extended() bool {
	if len(w.ext) == 0 {
		return w.ext0
	}
	return w.ext[len(w.ext)-1]
}

// setExtended sets the current group's extended mode.
func (w *byteWriter) setExtended(on bool) {
	if len(w.ext) == 0 {
		w.ext0 = on
		return
	}
	w.ext[len(w.ext)-1] = on
}

// group copies "(" and follows (?x), (?-x) and (?x: for extended mode.
func (w *byteWriter) group() {
	rest := w.src[w.i+1:]
	ext := w.extended()
	end := strings.IndexAny(rest, ":)")
	if strings.HasPrefix(rest, "?") && end > 0 && strings.Trim(rest[1:end], "imsxnUJ-") == "" {
		on := true
		for _, c := range rest[1:end] {
			switch c {
			case '-':
				on = false
			case 'x':
				ext = on
			}
		}
		if rest[end] == ')' { // (?flags): this group's mode from here
			w.setExtended(ext)
			w.out.WriteString(w.src[w.i : w.i+1+end+1])
			w.i += 1 + end + 1
			return
		}
	}
	w.ext = append(w.ext, ext)
	w.out.WriteByte('(')
	w.i++
}

// step rewrites what starts at w.i.
func (w *byteWriter) step() error {
	c := w.src[w.i]
	switch {
	case c >= utf8.RuneSelf:
		w.writeByte(c)
		w.i++
	case c == '\\' && w.i+1 < len(w.src):
		return w.escape()
	case c == '[' && !w.inClass:
		w.openClass()
	case c == '[' && strings.HasPrefix(w.src[w.i:], "[:"):
		end := strings.Index(w.src[w.i:], ":]")
		if end < 0 {
			end = 0
		}
		w.out.WriteString(w.src[w.i : w.i+end+2])
		w.i += end + 2
	case c == ']' && w.inClass:
		w.inClass = false
		w.out.WriteByte(c)
		w.i++
	case w.inClass:
		w.out.WriteByte(c)
		w.i++
	case c == '(':
		w.group()
	case c == ')':
		if len(w.ext) > 0 {
			w.ext = w.ext[:len(w.ext)-1]
		}
		w.out.WriteByte(c)
		w.i++
	case c == '#' && w.extended():
		end := len(w.src)
		if nl := strings.IndexByte(w.src[w.i:], '\n'); nl >= 0 {
			end = w.i + nl + 1
		}
		w.out.WriteString(w.src[w.i:end]) // a comment: copied as it is
		w.i = end
	default:
		w.out.WriteByte(c)
		w.i++
	}
	return nil
}

// openClass copies "[", "[^", and a "]" that is the class's first member.
func (w *byteWriter) openClass() {
	w.inClass = true
	w.out.WriteByte('[')
	w.i++
	if w.i < len(w.src) && w.src[w.i] == '^' {
		w.out.WriteByte('^')
		w.i++
	}
	if w.i < len(w.src) && w.src[w.i] == ']' {
		w.out.WriteString(`\]`)
		w.i++
	}
}

// writeByte writes the pattern for byte c (of 0x80 and above) as a literal.
func (w *byteWriter) writeByte(c byte) {
	w.out.WriteString(`\x{`)
	w.out.WriteString(strconv.FormatInt(int64(byteBase+rune(c)), 16))
	w.out.WriteByte('}')
}

// escape rewrites the escape sequence at w.i.
func (w *byteWriter) escape() error {
	n := w.src[w.i+1]
	switch {
	case n >= utf8.RuneSelf: // an escaped byte is that byte
		w.i++
		return nil
	case n == 'Q':
		w.quote()
		return nil
	case n == 'x':
		return w.hex()
	case n == 'p' || n == 'P':
		w.property()
		return nil
	case n == 's' || n == 'S':
		w.space(n == 'S')
		return nil
	case n == 'h' || n == 'H':
		w.byteClass(pcreHSpace, n == 'H')
		return nil
	case n == 'v' || n == 'V':
		w.byteClass(pcreVSpace, n == 'V')
		return nil
	case n == 'N' && !w.inClass && !strings.HasPrefix(w.src[w.i+2:], "{U+"):
		w.out.WriteString(`[^\n]`) // any byte but a newline
		w.i += 2
		return nil
	case n == 'c' && w.i+2 < len(w.src) && w.src[w.i+2] < utf8.RuneSelf:
		// \cX: X upper-cased, bit 0x40 flipped (any printable X in PCRE2;
		// Go's parser has no \c and regexp2 takes letters only).
		x := w.src[w.i+2]
		if 'a' <= x && x <= 'z' {
			x -= 'a' - 'A'
		}
		w.out.WriteString(`\x{` + strconv.FormatInt(int64(x^0x40), 16) + `}`)
		w.i += 3
		return nil
	case (n == '2' || n == '3') && w.i+3 < len(w.src) && isOctal(w.src[w.i+2]) && isOctal(w.src[w.i+3]):
		// \200 to \377: PCRE's octal byte (a backreference only with
		// that many groups), where Go reads the character U+0080...
		v := (n-'0')*64 + (w.src[w.i+2]-'0')*8 + (w.src[w.i+3] - '0')
		w.writeByte(v)
		w.i += 4
		return nil
	}
	w.out.WriteString(w.src[w.i : w.i+2])
	w.i += 2
	return nil
}

// quote rewrites \Q...\E (or \Q to the end) as escaped literals.
func (w *byteWriter) quote() {
	rest := w.src[w.i+2:]
	quoted, next := rest, len(w.src)
	if end := strings.Index(rest, `\E`); end >= 0 {
		quoted, next = rest[:end], w.i+2+end+2
	}
	for i := 0; i < len(quoted); i++ {
		c := quoted[i]
		switch {
		case c >= utf8.RuneSelf:
			w.writeByte(c)
		case 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9':
			w.out.WriteByte(c)
		default:
			w.out.WriteString(`\x{` + strconv.FormatInt(int64(c), 16) + `}`)
		}
	}
	w.i = next
}

// hex rewrites \xHH (up to two hex digits) and \x{H...}.
func (w *byteWriter) hex() error {
	start := w.i
	j := w.i + 2
	var digits string
	braced := j < len(w.src) && w.src[j] == '{'
	if braced {
		end := strings.IndexByte(w.src[j:], '}')
		if end < 0 { // not an escape RE2 or regexp2 take: theirs to refuse
			w.out.WriteString(w.src[start:j])
			w.i = j
			return nil
		}
		digits, j = w.src[j+1:j+end], j+end+1
	} else {
		k := j
		for k < len(w.src) && k < j+2 && isHex(w.src[k]) {
			k++
		}
		digits, j = w.src[j:k], k
	}
	if digits == "" && !braced {
		digits = "0" // \x without hex digits is a NUL byte in PCRE2
	}
	v, err := strconv.ParseUint(digits, 16, 32)
	if err != nil || digits == "" {
		w.out.WriteString(w.src[start:j])
		w.i = j
		return nil
	}
	if v > 0xFF {
		return errCodePoint
	}
	if v >= utf8.RuneSelf {
		w.writeByte(byte(v))
	} else {
		w.out.WriteString(`\x{` + strconv.FormatUint(v, 16) + `}`) // \x7 too
	}
	w.i = j
	return nil
}

func isOctal(c byte) bool { return '0' <= c && c <= '7' }

// space rewrites \s to take the vertical tab too, as PCRE2's \s does (Go's
// leaves it out), and \S to leave it out.
func (w *byteWriter) space(negated bool) {
	w.i += 2
	switch {
	case w.inClass && !negated:
		w.out.WriteString(`\s\x0B`)
	case w.inClass:
		w.out.WriteString(byteItems(func(b int) bool { return !pcreSpace(b) }))
	case negated:
		w.out.WriteString(`[^\s\x0B]`)
	default:
		w.out.WriteString(`[\s\x0B]`)
	}
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// property rewrites \p{Name}, \pL and their \P forms: the property, and
// the bytes 0x80-0xFF whose Latin-1 code point has it (PCRE without UTF
// mode tests a byte's value as a code point: \p{L} matches the byte 0xE9).
// A name Go does not know is left for the engines to refuse.
func (w *byteWriter) property() {
	start := w.i
	neg := w.src[w.i+1] == 'P'
	j := w.i + 2
	var name string
	if j < len(w.src) && w.src[j] == '{' {
		end := strings.IndexByte(w.src[j:], '}')
		if end < 0 {
			w.out.WriteString(w.src[start:j])
			w.i = j
			return
		}
		name, j = w.src[j+1:j+end], j+end+1
	} else if j < len(w.src) {
		name, j = w.src[j:j+1], j+1
	}
	w.i = j
	whole := w.src[start:j]
	if strings.HasPrefix(name, "^") {
		name, neg = name[1:], !neg
	}
	if in := specialProperty(name); in != nil { // PCRE2's own: bytes as Latin-1
		items := byteItems(func(b int) bool { return in(rune(b)) != neg })
		if !w.inClass {
			items = "[" + items + "]"
		}
		w.out.WriteString(items)
		return
	}
	name, table := propertyTable(name)
	if table == nil {
		w.out.WriteString(whole)
		return
	}
	if w.inClass { // the bytes that have it, or not, as a class's items
		w.out.WriteString(byteItems(func(b int) bool { return unicode.Is(table, rune(b)) != neg }))
		return
	}
	var extra strings.Builder
	for b := 0x80; b <= 0xFF; b++ {
		if unicode.Is(table, rune(b)) {
			extra.WriteString(`\x{` + strconv.FormatInt(int64(byteBase+b), 16) + `}`)
		}
	}
	positive := `\p{` + name + `}`
	open := "["
	if neg {
		open = "[^"
	}
	w.out.WriteString(open + positive + extra.String() + "]")
}

// byteClass rewrites \h, \H, \v or \V as the bytes in (or, negated, not
// in) PCRE2's set without UTF mode, as a class or as a class's items.
func (w *byteWriter) byteClass(in func(b int) bool, negated bool) {
	w.i += 2
	items := byteItems(func(b int) bool { return in(b) != negated })
	if w.inClass {
		w.out.WriteString(items)
		return
	}
	w.out.WriteString("[" + items + "]")
}

// pcreHSpace reports whether byte b is in PCRE2's \h without UTF mode
// (recorded with nginx 1.22.1): tab, space and 0xA0.
func pcreHSpace(b int) bool { return b == '\t' || b == ' ' || b == 0xA0 }

// pcreVSpace reports whether byte b is in PCRE2's \v without UTF mode
// (recorded): \n, \v, \f, \r and 0x85. Go reads \v as the vertical tab
// alone.
func pcreVSpace(b int) bool { return '\n' <= b && b <= '\r' || b == 0x85 }

// specialProperty returns the test of PCRE2's properties that are no
// Unicode category or script (Any, L&, Xan, Xwd, Xsp, Xps, Xuc), applied
// to a byte as a Latin-1 code point as without UTF mode (recorded with
// nginx 1.22.1: \p{Xan} takes 0xE9, 0xB2, 0xAA; \p{L&} 0xE9, 0xB5 and
// not 0xAA; \p{Xsp} 0x0B, 0x85, 0xA0; \p{Xuc} "$", "@", "`", 0xA0-0xFF);
// nil for another name.
func specialProperty(name string) func(r rune) bool {
	alnum := func(r rune) bool { return unicode.IsLetter(r) || unicode.IsNumber(r) }
	switch looseName(name) {
	case "any":
		return func(rune) bool { return true }
	case "l&":
		return func(r rune) bool { return unicode.In(r, unicode.Lu, unicode.Ll, unicode.Lt) }
	case "xan":
		return alnum
	case "xwd":
		return func(r rune) bool { return alnum(r) || r == '_' }
	case "xsp", "xps":
		return func(r rune) bool { return '\t' <= r && r <= '\r' || r == 0x85 || unicode.In(r, unicode.Z) }
	case "xuc":
		return func(r rune) bool { return r == '$' || r == '@' || r == '`' || r >= 0xA0 }
	}
	return nil
}

// propertyTable finds a Unicode category or script by name as PCRE2
// 10.42 does, ignoring case, spaces, hyphens and underscores (recorded:
// nginx takes \p{lu}, \p{L_u}, \p{latin}, \p{ n d }); it returns Go's
// name for it, or a nil table.
func propertyTable(name string) (string, *unicode.RangeTable) {
	if t := unicode.Categories[name]; t != nil {
		return name, t
	}
	if t := unicode.Scripts[name]; t != nil {
		return name, t
	}
	want := looseName(name)
	for _, tables := range []map[string]*unicode.RangeTable{unicode.Categories, unicode.Scripts} {
		for n, t := range tables {
			if looseName(n) == want {
				return n, t
			}
		}
	}
	return name, nil
}

// looseName is a property name lower-cased, without spaces, hyphens and
// underscores (PCRE2's loose matching).
func looseName(name string) string {
	var b strings.Builder
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case c == ' ' || c == '-' || c == '_':
		case 'A' <= c && c <= 'Z':
			b.WriteByte(c + 'a' - 'A')
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// pcreSpace reports whether byte b is in PCRE2's \s ("C" tables): space,
// \t, \n, \v, \f, \r.
func pcreSpace(b int) bool { return b == ' ' || '\t' <= b && b <= '\r' }

// byteItems returns, as the items of a class, the runes a rewritten
// subject can hold (ASCII, and byteBase+0x80 to byteBase+0xFF for the
// other bytes) whose byte has the property in: what a class's \p, \P or
// \S takes in PCRE without UTF mode, where Go's would take the wrong
// private-use runes (a class cannot take runes out of its items).
func byteItems(in func(b int) bool) string {
	var b strings.Builder
	for lo := 0; lo <= 0xFF; {
		if !in(lo) {
			lo++
			continue
		}
		hi := lo
		for hi+1 <= 0xFF && hi+1 != 0x80 && in(hi+1) {
			hi++
		}
		b.WriteString(classRune(lo))
		if hi > lo {
			b.WriteByte('-')
			b.WriteString(classRune(hi))
		}
		lo = hi + 1
	}
	if b.Len() == 0 { // byteBase itself, which no rewritten subject holds
		return `\x{` + strconv.FormatInt(byteBase, 16) + `}`
	}
	return b.String()
}

// classRune writes byte b's rune of a rewritten subject as \x{...}.
func classRune(b int) string {
	r := rune(b)
	if b >= 0x80 {
		r += byteBase
	}
	return `\x{` + strconv.FormatInt(int64(r), 16) + `}`
}

// Package subfilter is nginx's sub filter (ngx_http_sub_filter_module) for
// fulcrum's responses: strings replaced in a response body as it streams
// through, compared without case.
//
// nginx's rules, which Writer follows:
//
//   - the search strings are lower-cased once (ASCII only) and compared
//     with the body's bytes lower-cased the same way;
//   - the body is scanned from the left: at each position the strings are
//     tried in the order the configuration writes them, and the first that
//     matches there is replaced; the scan goes on after the replaced text
//     (a replacement is never searched again);
//   - under sub_filter_once each string is replaced at its first match
//     only, and once all have been, the rest of the body passes untouched;
//   - a match may span any number of writes: the bytes that may start one
//     (fewer than the longest string) are held back until the next write
//     decides, and the end of the body (Close) sends what is left.
//
// Nothing else of the body is buffered: a Writer holds at most the longest
// search string less one byte.
package subfilter

import (
	"io"
	"slices"
	"strings"

	"fulcrum/internal/h1"
)

// Set is a compiled list of search strings, immutable and shared by the
// requests of a location.
type Set struct {
	pats [][]byte // lower-case, in configuration order
	// first marks the bytes, in either case, that start some string: the
	// scan skips any other byte at the cost of one table look-up.
	first  [256]bool
	maxLen int
}

// MaxPatterns is nginx's limit on a level's sub_filter directives; a Set
// never holds more.
const MaxPatterns = 255

// NewSet compiles the search strings pats (already lower-case, as
// config.SubPair.Match is; dynamic ones evaluated and lowered by the
// caller). Empty strings are left out, as nginx leaves out a variable
// string that evaluates to nothing; a Set with no string is nil. Strings
// beyond MaxPatterns are left out.
func NewSet(pats []string) *Set {
	s := &Set{}
	for _, p := range pats {
		if p == "" || len(s.pats) == MaxPatterns {
			continue
		}
		b := []byte(Lower(p))
		s.pats = append(s.pats, b)
		s.first[b[0]] = true
		s.first[upper(b[0])] = true
		s.maxLen = max(s.maxLen, len(b))
	}
	if len(s.pats) == 0 {
		return nil
	}
	return s
}

// Len is the number of search strings.
func (s *Set) Len() int { return len(s.pats) }

// Pattern is the i-th search string, lower-case.
func (s *Set) Pattern(i int) string { return string(s.pats[i]) }

// Replacer gives the replacement of the i-th string of the Set. A Writer
// asks for each at most once per response, at its first match (nginx
// evaluates a replacement's variables then, and keeps the value for the
// rest of the response).
type Replacer interface {
	Replacement(i int) []byte
}

// Writer replaces the strings of a Set in a body written to it and writes
// the result to dst. Its zero value is idle; Reset starts a body, Close
// ends it. It is meant to live inside a longer-lived object (the daemon's
// per-request recorder).
type Writer struct {
	set  *Set
	dst  io.Writer
	repl Replacer
	once bool
	// held are the last bytes written that may start a match (fewer than
	// set.maxLen).
	held []byte
	// subs are the replacements asked for so far (nil: not yet); under
	// once, a string with one is used up.
	subs    [][]byte
	asked   []bool
	applied int
	// done: every string was replaced under once; the rest passes.
	done bool
	err  error
}

// Reset starts a body: set's strings are replaced (each only once when
// once is set) with what repl gives, and the result goes to dst.
func (w *Writer) Reset(dst io.Writer, set *Set, repl Replacer, once bool) {
	held, subs, asked := w.held[:0], w.subs[:0], w.asked[:0]
	*w = Writer{set: set, dst: dst, repl: repl, once: once, held: held}
	w.subs = append(subs, make([][]byte, set.Len())...)
	w.asked = append(asked, make([]bool, set.Len())...)
}

// Active reports whether a body is open (between Reset and Close or Abort).
func (w *Writer) Active() bool { return w.set != nil }

// Write filters p into dst. It reports len(p) unless dst failed.
func (w *Writer) Write(p []byte) (int, error) {
	if w.err != nil {
		return 0, w.err
	}
	if w.done {
		return w.emit(p)
	}
	w.scan(p, false)
	if w.err != nil {
		return 0, w.err
	}
	return len(p), nil
}

// Close ends the body: bytes held back for a match that the end of the body
// cut short are searched to the end and sent. The Writer becomes idle.
func (w *Writer) Close() error {
	if w.set != nil && !w.done && w.err == nil {
		w.scan(nil, true)
	}
	err := w.err
	w.Abort()
	return err
}

// Abort drops the body without sending what is held back (the response is
// cut short). The Writer becomes idle and forgets dst and repl.
func (w *Writer) Abort() {
	clear(w.subs)
	w.set, w.dst, w.repl = nil, nil, nil
	w.held = w.held[:0]
}

// scan searches the bytes held back followed by p (one virtual buffer v),
// sends what cannot start a match any more, with the replacements in place,
// and holds back the rest. At the end of the body (final) a string that
// runs past the end does not match, and nothing is held back.
func (w *Writer) scan(p []byte, final bool) {
	v := buffer{held: w.held, p: p}
	n := v.len()
	out := 0 // v[:out] is sent
	s := 0
	for s < n {
		if !w.set.first[v.at(s)] {
			s++
			continue
		}
		i, partial := w.match(&v, s, final)
		if partial {
			break
		}
		if i < 0 {
			s++
			continue
		}
		w.send(&v, out, s)
		w.emit(w.replacement(i))
		s += len(w.set.pats[i])
		out = s
		if w.once {
			w.applied++
			if w.applied == len(w.set.pats) {
				w.done = true
				w.send(&v, out, n)
				w.held = w.held[:0]
				return
			}
		}
	}
	w.send(&v, out, s)
	w.hold(&v, s)
}

// match finds the first string, in configuration order, that matches v at
// s (-1 for none). partial reports that one would need bytes past the end
// of v to decide (never when final): then s must wait for the next write,
// as nginx's parser does, even when a later string matches already.
func (w *Writer) match(v *buffer, s int, final bool) (i int, partial bool) {
	n := v.len()
	for i, pat := range w.set.pats {
		if w.once && w.asked[i] {
			continue
		}
		k := 0
		for ; k < len(pat); k++ {
			if s+k == n {
				break
			}
			if lower(v.at(s+k)) != pat[k] {
				break
			}
		}
		switch {
		case k == len(pat):
			return i, false
		case s+k == n && !final:
			return -1, true
		}
	}
	return -1, false
}

// replacement is the i-th string's replacement, asked for once.
func (w *Writer) replacement(i int) []byte {
	if !w.asked[i] {
		w.asked[i] = true
		w.subs[i] = w.repl.Replacement(i)
	}
	return w.subs[i]
}

// send writes v[from:to] to dst.
func (w *Writer) send(v *buffer, from, to int) {
	if from >= to {
		return
	}
	h := len(v.held)
	if from < h {
		w.emit(v.held[from:min(to, h)])
	}
	if to > h {
		w.emit(v.p[max(from-h, 0) : to-h])
	}
}

// hold keeps v[from:] back for the next write.
func (w *Writer) hold(v *buffer, from int) {
	h := len(v.held)
	if from < h {
		k := copy(w.held, w.held[from:h])
		w.held = append(w.held[:k], v.p...)
		return
	}
	w.held = append(w.held[:0], v.p[from-h:]...)
}

// emit writes b to dst, keeping the first error.
func (w *Writer) emit(b []byte) (int, error) {
	if len(b) == 0 || w.err != nil {
		return len(b), w.err
	}
	n, err := w.dst.Write(b)
	if err != nil {
		w.err = err
	}
	return n, err
}

// buffer is the bytes held back followed by a write's, indexed as one.
type buffer struct {
	held, p []byte
}

func (b *buffer) len() int { return len(b.held) + len(b.p) }

func (b *buffer) at(i int) byte {
	if i < len(b.held) {
		return b.held[i]
	}
	return b.p[i-len(b.held)]
}

// lower is nginx's ngx_tolower: ASCII letters only.
func lower(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// upper is lower's inverse for the letters.
func upper(c byte) byte {
	if 'a' <= c && c <= 'z' {
		return c - ('a' - 'A')
	}
	return c
}

// Lower lower-cases the ASCII letters of s, as nginx's ngx_strlow does to
// a search string (other bytes are left as they are).
func Lower(s string) string {
	i := strings.IndexFunc(s, func(r rune) bool { return 'A' <= r && r <= 'Z' })
	if i < 0 {
		return s
	}
	b := []byte(s)
	for j := i; j < len(b); j++ {
		b[j] = lower(b[j])
	}
	return string(b)
}

// TypeMatches reports whether a response with Content-Type ct is of a type
// in types (lower-case) or text/html, which nginx's sub_filter_types always
// holds, as nginx's ngx_http_test_content_type decides: the type is the
// value up to a "charset=" parameter (h1.SplitContentType), compared
// without case; any ("sub_filter_types *") matches every response, one
// without a Content-Type included.
func TypeMatches(types []string, any bool, ct string) bool {
	if any {
		return true
	}
	if ct == "" {
		return false
	}
	t, _ := h1.SplitContentType(ct)
	if strings.EqualFold(t, "text/html") {
		return true
	}
	return slices.ContainsFunc(types, func(s string) bool { return strings.EqualFold(s, t) })
}

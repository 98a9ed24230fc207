package pcre

import (
	"regexp/syntax"
	"strings"
	"unicode"
)

// asciiFold rewrites a regular expression parsed without case folding so
// that it folds ASCII letters only, as nginx's PCRE does for "~*" (and
// server_name and map regexes): nginx compiles without UTF mode and with the
// default "C" character tables, so "location ~* /é" does not match "/É", and
// "k" does not match the Kelvin sign, where Go's (?i) folds every Unicode
// letter. With caseless false only the parts under an inline (?i) are
// rewritten, and of those only ASCII letters (Go's parser keeps a folded
// literal in its canonical case, so the case a non-ASCII letter was written
// in is gone: it keeps Go's folding).
func asciiFold(re *syntax.Regexp, caseless bool) {
	for _, sub := range re.Sub {
		asciiFold(sub, caseless)
	}
	switch {
	case re.Op == syntax.OpLiteral && (caseless || re.Flags&syntax.FoldCase != 0):
		foldLiteral(re)
	case re.Op == syntax.OpCharClass && caseless:
		re.Rune = foldClass(re.Rune)
	}
}

// foldLiteral turns a literal into a concatenation in which each ASCII
// letter is a class of its two cases; other runes stay literal (folded by
// Go's rules when the literal was, see asciiFold).
func foldLiteral(re *syntax.Regexp) {
	folded := re.Flags&syntax.FoldCase != 0
	parts := make([]*syntax.Regexp, 0, len(re.Rune))
	for _, r := range re.Rune {
		lo, up := unicode.ToLower(r), unicode.ToUpper(r)
		if r < 0x80 && lo != up {
			parts = append(parts, &syntax.Regexp{Op: syntax.OpCharClass, Flags: re.Flags &^ syntax.FoldCase, Rune: []rune{up, up, lo, lo}})
			continue
		}
		flags := re.Flags
		if !folded {
			flags &^= syntax.FoldCase
		}
		parts = append(parts, &syntax.Regexp{Op: syntax.OpLiteral, Flags: flags, Rune: []rune{r}})
	}
	if len(parts) == 1 {
		*re = *parts[0]
		return
	}
	*re = syntax.Regexp{Op: syntax.OpConcat, Flags: re.Flags &^ syntax.FoldCase, Sub: parts}
}

// foldClass adds to a class (pairs of lo, hi) the other case of the ASCII
// letters in it. A class holding the last rune was negated ([^a] parses to
// everything but "a"): its complement is folded and complemented again, so
// [^a] leaves out "A" too.
func foldClass(ranges []rune) []rune {
	if len(ranges) > 0 && ranges[len(ranges)-1] == unicode.MaxRune {
		return complementClass(addASCIICases(complementClass(ranges)))
	}
	return addASCIICases(ranges)
}

// addASCIICases returns ranges with the other case of each ASCII letter in them
// added (unsorted; regexp's parser sorts a class it reads back).
func addASCIICases(ranges []rune) []rune {
	out := append([]rune(nil), ranges...)
	for i := 0; i+1 < len(ranges); i += 2 {
		lo, hi := ranges[i], ranges[i+1]
		for _, span := range [][2]rune{{'a', 'z'}, {'A', 'Z'}} {
			a, b := max(lo, span[0]), min(hi, span[1])
			if a <= b {
				d := rune('a' - 'A')
				if span[0] == 'a' {
					d = -d
				}
				out = append(out, a+d, b+d)
			}
		}
	}
	return normalizeClass(out)
}

// normalizeClass sorts and merges the pairs of a class.
func normalizeClass(ranges []rune) []rune {
	type pair struct{ lo, hi rune }
	ps := make([]pair, 0, len(ranges)/2)
	for i := 0; i+1 < len(ranges); i += 2 {
		ps = append(ps, pair{ranges[i], ranges[i+1]})
	}
	for i := 1; i < len(ps); i++ { // insertion sort: classes are short
		for j := i; j > 0 && ps[j].lo < ps[j-1].lo; j-- {
			ps[j], ps[j-1] = ps[j-1], ps[j]
		}
	}
	out := make([]rune, 0, len(ranges))
	for _, p := range ps {
		if n := len(out); n > 0 && p.lo <= out[n-1]+1 {
			out[n-1] = max(out[n-1], p.hi)
			continue
		}
		out = append(out, p.lo, p.hi)
	}
	return out
}

// complementClass returns the runes not in a sorted, merged class.
func complementClass(ranges []rune) []rune {
	out := make([]rune, 0, len(ranges)+2)
	next := rune(0)
	for i := 0; i+1 < len(ranges); i += 2 {
		if ranges[i] > next {
			out = append(out, next, ranges[i]-1)
		}
		next = ranges[i+1] + 1
	}
	if next <= unicode.MaxRune {
		out = append(out, next, unicode.MaxRune)
	}
	return out
}

// foldSource returns src rewritten so that Go's regexp folds case as nginx's
// PCRE does (see asciiFold), or src itself when nothing folds.
func foldSource(src string, caseless bool) (string, error) {
	if !caseless && !strings.Contains(src, "(?") {
		return src, nil
	}
	re, err := syntax.Parse(src, syntax.Perl)
	if err != nil {
		return "", err
	}
	if !caseless && !hasFoldCase(re) {
		return src, nil
	}
	asciiFold(re, caseless)
	return re.String(), nil
}

// hasFoldCase reports whether a part of re folds case (an inline (?i)).
func hasFoldCase(re *syntax.Regexp) bool {
	if re.Flags&syntax.FoldCase != 0 {
		return true
	}
	for _, sub := range re.Sub {
		if hasFoldCase(sub) {
			return true
		}
	}
	return false
}

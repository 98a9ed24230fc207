package config

// SubFilter is one level's ngx_http_sub_module settings (sub_filter,
// sub_filter_once, sub_filter_types, sub_filter_last_modified): text
// replaced in response bodies. Each field is inherited on its own, as
// nginx merges them.
type SubFilter struct {
	// Pairs are the nearest level's sub_filter directives, in the order
	// written; nil means none (the filter is off).
	Pairs []SubPair
	// Once is sub_filter_once (on by default): each string is replaced at
	// its first occurrence only.
	Once bool
	// LastModified is sub_filter_last_modified: keep Last-Modified (and the
	// ETag, made weak) of a changed response; off by default, which removes
	// both.
	LastModified bool
	// Types are sub_filter_types' MIME types, lower-case, besides text/html,
	// which is always filtered; AnyType is "sub_filter_types *" (every
	// response, one without a Content-Type included).
	Types   []string
	AnyType bool
}

// SubPair is one sub_filter directive.
type SubPair struct {
	// Match is the string searched for, lower-case (ASCII, as nginx's
	// ngx_strlow): it is compared without case. It may hold variables.
	Match string
	// Replacement is what replaces it; it may hold variables.
	Replacement string
	// Pos is where the directive is.
	Pos Pos
}

// maxSubPairs is nginx's limit on one level's sub_filter directives.
const maxSubPairs = 255

// applySubFilter reads the nearest level's sub_filter directives as nginx's
// ngx_http_sub_filter does: a search string may not be empty, and a level
// may have at most 255.
func applySubFilter(_ *builder, st *Settings, dirs []*Directive, _ *scope) error {
	pairs := make([]SubPair, 0, len(dirs))
	for _, d := range dirs {
		if d.Args[0] == "" {
			return hintf(d.Pos, "sub_filter needs a string to search for", "empty search pattern")
		}
		if len(pairs) == maxSubPairs {
			return hintf(d.Pos, "", "number of search patterns exceeds 255")
		}
		pairs = append(pairs, SubPair{Match: asciiLower(d.Args[0]), Replacement: d.Args[1], Pos: d.Pos})
	}
	st.SubFilter.Pairs = pairs
	return nil
}

// applySubFilterTypes reads sub_filter_types as gzip_types (typesSlot).
func applySubFilterTypes(b *builder, st *Settings, dirs []*Directive, _ *scope) error {
	st.SubFilter.Types, st.SubFilter.AnyType = typesSlot(b, dirs)
	return nil
}

// asciiLower lower-cases the ASCII letters of s, as nginx's ngx_strlow
// (other bytes are left as they are).
func asciiLower(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; 'A' <= c && c <= 'Z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				if 'A' <= b[j] && b[j] <= 'Z' {
					b[j] += 'a' - 'A'
				}
			}
			return string(b)
		}
	}
	return s
}

package ssi

import "strings"

// evaluate is nginx's ngx_http_ssi_evaluate_string: the $name and
// ${name} in text replaced by their values (an SSI variable first, then an
// nginx one; one not found is empty), and a backslash before \, ', " or $
// removed (before any other byte it stays). With addPrefix (include's
// URIs) a value that does not start with '/' is put under the directory of
// the request's URI.
func (f *Filter) evaluate(text string, addPrefix bool) (string, bool) {
	if !strings.Contains(text, "$") {
		out := make([]byte, 0, len(text))
		if addPrefix && (text == "" || text[0] != '/') {
			out = append(out, uriDir(f.env.URI())...)
		}
		return string(unescape(out, text)), true
	}
	var out []byte
	for i := 0; i < len(text); {
		if text[i] != '$' {
			j := i
			for j < len(text) && (text[j] != '$' || j > i && text[j-1] == '\\' && !escapedBackslash(text[i:j])) {
				j++
			}
			out = unescape(out, text[i:j])
			i = j
			continue
		}
		name, next, ok := f.varName(text, i+1)
		if !ok {
			return "", false
		}
		out, _ = f.variable(out, name)
		i = next
	}
	if addPrefix && len(out) > 0 && out[0] != '/' {
		out = append([]byte(uriDir(f.env.URI())), out...)
	}
	return string(out), true
}

// escapedBackslash reports whether s ends in a backslash that is itself
// escaped (an even run of backslashes), so a '$' after it is a variable.
func escapedBackslash(s string) bool {
	n := 0
	for i := len(s) - 1; i >= 0 && s[i] == '\\'; i-- {
		n++
	}
	return n%2 == 0
}

// varName reads the variable name after the '$' at text[i-1].
func (f *Filter) varName(text string, i int) (name string, next int, ok bool) {
	if i == len(text) {
		f.logf("invalid variable name in \"%s\"", text)
		return "", 0, false
	}
	bracket := text[i] == '{'
	if bracket {
		i++
		if i == len(text) {
			f.logf("invalid variable name in \"%s\"", text)
			return "", 0, false
		}
	}
	start := i
	for ; i < len(text); i++ {
		c := text[i]
		if c == '}' && bracket {
			name = text[start:i]
			i++
			bracket = false
			break
		}
		if 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '_' {
			continue
		}
		break
	}
	if bracket {
		f.logf("the closing bracket in \"%s\" variable is missing", text[start:i])
		return "", 0, false
	}
	if name == "" {
		name = text[start:i]
	}
	if name == "" {
		f.logf("invalid variable name in \"%s\"", text)
		return "", 0, false
	}
	return name, i, true
}

// unescape appends s with nginx's backslash rule: a backslash before \, ',
// " or $ is dropped; before any other byte it stays. A trailing backslash
// is dropped.
func unescape(dst []byte, s string) []byte {
	quoted := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !quoted {
			if c == '\\' {
				quoted = true
				continue
			}
		} else {
			quoted = false
			if c != '\\' && c != '\'' && c != '"' && c != '$' {
				dst = append(dst, '\\')
			}
		}
		dst = append(dst, c)
	}
	return dst
}

// uriDir is uri up to its last '/', included ("" without one).
func uriDir(uri string) string {
	return uri[:strings.LastIndexByte(uri, '/')+1]
}

package jwt

import (
	"encoding/json"
	"strings"
)

// Claim returns the value of the claim at path (names from the top level
// of the claims set down, as auth_jwt_claim_set walks them), and whether
// there is one. See [Format] for how values are written.
func (t *Token) Claim(path ...string) (string, bool) {
	return lookup(t.Claims, path)
}

// HeaderValue is Claim for the JOSE header (auth_jwt_header_set,
// $jwt_header_NAME).
func (t *Token) HeaderValue(path ...string) (string, bool) {
	return lookup(t.Header, path)
}

func lookup(m map[string]any, path []string) (string, bool) {
	if len(path) == 0 {
		return "", false
	}
	v, ok := m[path[0]]
	for _, name := range path[1:] {
		if !ok {
			break
		}
		obj, isObj := v.(map[string]any)
		if !isObj {
			return "", false
		}
		v, ok = obj[name]
	}
	if !ok {
		return "", false
	}
	return Format(v), true
}

// Format writes a JSON value as the variables show it: a string as it
// is, a number as written in the token, true and false as words, null as
// "", an array as its elements (each formatted so) separated by commas, as
// NGINX Plus's documentation says for auth_jwt_claim_set, and an object
// (which the documentation does not describe) as its compact JSON text.
func Format(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case json.Number:
		return x.String()
	case bool:
		if x {
			return "true"
		}
		return "false"
	case nil:
		return ""
	case []any:
		parts := make([]string, len(x))
		for i, e := range x {
			parts[i] = Format(e)
		}
		return strings.Join(parts, ",")
	}
	b, err := json.Marshal(v)
	if err != nil {
		return ""
	}
	return string(b)
}

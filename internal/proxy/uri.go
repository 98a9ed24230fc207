package proxy

import (
	"fulcrum/internal/h1"
	"strings"
)

// uriRewrite computes the request target sent upstream, following proxy_pass's
// rules:
//   - without a URI part, the client's request URI is passed unchanged, as
//     received, unless the URI changed (a rewrite, or an internal redirect
//     to a URI: appendRewritten);
//   - with a URI part, the part of the normalised path that matched the (prefix or
//     exact) location is replaced by that URI, the rest is escaped again as nginx's
//     ngx_escape_uri does when the client's path had a '%' (nginx's quoted_uri;
//     otherwise the decoded path holds only bytes the client sent raw, and they
//     go as they came), and the query string follows byte for byte.
type uriRewrite struct {
	// replace reports that the proxy_pass URL has a URI part.
	replace bool
	// uri is the URI part ("/api/").
	uri string
	// prefixLen is the length of the location's path that the URI part replaces.
	prefixLen int
}

// target returns the request target for the upstream request. rawURI is the
// client's request target as received (path and query), path the normalised
// decoded path, and args the raw query string. With a URI part, an empty
// query adds no '?': nginx 1.22.1 sends "GET /u" upstream for "GET /p?"
// (ngx_http_proxy_create_request tests r->args.len), while without one the
// bare '?' passes as received.
func (u uriRewrite) target(rawURI, path, args string) string {
	if !u.replace {
		if rawURI == "" {
			return "/"
		}
		return rawURI
	}
	rest := ""
	if len(path) >= u.prefixLen {
		rest = path[u.prefixLen:]
	}
	var b strings.Builder
	b.Grow(len(u.uri) + len(rest) + len(args) + 8)
	b.WriteString(u.uri)
	if quotedURI(rawURI) {
		var scratch [256]byte                            // the escaped rest, on the stack unless it is long
		b.Write(h1.AppendEscapedPath(scratch[:0], rest)) // nginx's NGX_ESCAPE_URI
	} else {
		b.WriteString(rest) // ngx_http_proxy_create_request copies r->uri as it is
	}
	if args != "" {
		b.WriteByte('?')
		b.WriteString(args)
	}
	return b.String()
}

// quotedURI reports whether the path of a request target (up to its '?') has
// a '%': nginx's r->quoted_uri, set by its request line parser, which decides
// whether proxy_pass escapes the path it passes after a URI part. nginx 1.22.1
// sends "GET /base/a\"b" upstream for "GET /p/a\"b" (location /p/ { proxy_pass
// http://up/base/; }) and "GET /base/a%22b" for "GET /p/a%22b".
func quotedURI(rawURI string) bool {
	for i := 0; i < len(rawURI); i++ {
		switch rawURI[i] {
		case '%':
			return true
		case '?':
			return false
		}
	}
	return false
}

// appendRewritten appends the request target for a URI the rewrite module
// or an internal redirect changed (nginx no longer has a valid unparsed
// URI; vars.State.Rewritten): the new path escaped as ngx_escape_uri does,
// with the URI part in place of the location's prefix unless whole (a
// "rewrite ... break": nginx's valid_location is off, and the whole new URI
// is passed), then the arguments.
func (u uriRewrite) appendRewritten(b []byte, path, args string, whole bool) []byte {
	if u.replace && !whole {
		b = append(b, u.uri...)
		if len(path) >= u.prefixLen {
			path = path[u.prefixLen:]
		} else {
			path = ""
		}
	}
	b = h1.AppendEscapedPath(b, path)
	if args != "" {
		b = append(append(b, '?'), args...)
	}
	return b
}

package static

import (
	"fulcrum/internal/h1"
	"strings"
)

// contentType chooses the Content-Type for a URI as ngx_http_set_content_type
// does: by the extension through the types map, else default_type.
func (rv *Resolver) contentType(uri string) string {
	return ContentType(rv.types, rv.defaultType, uri)
}

// ContentType is nginx's ngx_http_set_content_type for an answer whose $uri is
// uri: the type of uri's extension (compared in lower case) in types, else
// defaultType. A nil types means nginx's built-in map (html, gif, jpg). Static
// files and "return CODE text" answers both choose their type this way.
func ContentType(types map[string]string, defaultType, uri string) string {
	ext := extension(uri)
	if ext == "" {
		return defaultType
	}
	ext = strings.ToLower(ext)
	if types == nil {
		if t := builtinType(ext); t != "" {
			return t
		}
		return defaultType
	}
	if t, ok := types[ext]; ok {
		return t
	}
	return defaultType
}

// builtinType is nginx's types map when the configuration has no types block.
func builtinType(ext string) string {
	switch ext {
	case "html":
		return "text/html"
	case "gif":
		return "image/gif"
	case "jpg":
		return "image/jpeg"
	}
	return ""
}

// extension is nginx's $uri extension (ngx_http_set_exten): the text after the
// last "." of the last segment, unless that "." starts the segment (".hidden"
// has none). The first two bytes are never examined.
func extension(uri string) string {
	for i := len(uri) - 1; i > 1; i-- {
		switch uri[i] {
		case '.':
			if uri[i-1] != '/' {
				return uri[i+1:]
			}
		case '/':
			return ""
		}
	}
	return ""
}

// escapeURI escapes a decoded path for a Location header the way nginx's
// NGX_ESCAPE_URI does (h1.AppendEscapedPath, shared with the proxy's request
// line).
func escapeURI(s string) string {
	for i := 0; i < len(s); i++ {
		if h1.PathByteNeedsEscape(s[i]) {
			return string(h1.AppendEscapedPath(make([]byte, 0, len(s)+8), s))
		}
	}
	return s
}

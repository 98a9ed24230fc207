package ssi

// appendEscapeHTML appends v with nginx's ngx_escape_html: <, >, & and "
// as entities (echo's encoding="entity").
func appendEscapeHTML(dst, v []byte) []byte {
	for _, c := range v {
		switch c {
		case '<':
			dst = append(dst, "&lt;"...)
		case '>':
			dst = append(dst, "&gt;"...)
		case '&':
			dst = append(dst, "&amp;"...)
		case '"':
			dst = append(dst, "&quot;"...)
		default:
			dst = append(dst, c)
		}
	}
	return dst
}

// appendEscapeHTMLURI appends v with nginx's ngx_escape_uri under
// NGX_ESCAPE_HTML (echo's encoding="url"): space, ", #, %, ', <, >, the control
// bytes and those from 0x7f up as %XX.
func appendEscapeHTMLURI(dst, v []byte) []byte {
	const hex = "0123456789ABCDEF"
	for _, c := range v {
		if c <= ' ' || c >= 0x7f || c == '"' || c == '#' || c == '%' || c == '\'' || c == '<' || c == '>' {
			dst = append(dst, '%', hex[c>>4], hex[c&0xf])
			continue
		}
		dst = append(dst, c)
	}
	return dst
}

package proxy

import (
	"net/http"
	"net/textproto"
	"strings"
)

// hopByHop are the hop-by-hop header fields of RFC 9110 section 7.6.1, plus the
// legacy ones nginx and net/http also drop. They are never forwarded in either
// direction (the Upgrade handshake is added back on purpose for WebSocket).
var hopByHop = []string{
	"Connection",
	"Proxy-Connection",
	"Keep-Alive",
	"Proxy-Authenticate",
	"Proxy-Authorization",
	"Te",
	"Trailer",
	"Transfer-Encoding",
	"Upgrade",
}

// connectionTokens returns the canonical names listed in the Connection header
// fields of h (RFC 9110 section 7.6.1): each comma-separated token, trimmed.
func connectionTokens(h http.Header) []string {
	var out []string
	for _, v := range h["Connection"] {
		for tok := range strings.SplitSeq(v, ",") {
			tok = textproto.TrimString(tok)
			if tok != "" {
				out = append(out, textproto.CanonicalMIMEHeaderKey(tok))
			}
		}
	}
	return out
}

// removeHopByHop deletes the hop-by-hop fields of h and every field its
// Connection header names.
func removeHopByHop(h http.Header) {
	for _, name := range connectionTokens(h) {
		delete(h, name)
	}
	for _, name := range hopByHop {
		delete(h, name)
	}
}

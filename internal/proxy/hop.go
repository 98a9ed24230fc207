package proxy

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

package vars

import "strings"

// Variables nginx added after 1.22 that a configuration written for a
// current nginx uses.

// getHTTP3 is $http3 (nginx 1.25.0): "h3" or "hq" for a request over
// HTTP/3, else empty. fulcrum has no HTTP/3, so it is always empty; it
// exists so that early_hints $http2$http3 and the like load.
func getHTTP3(dst []byte, _ *State) ([]byte, bool) { return dst, true }

// requestPort is the port the request named in its target or Host field
// (nginx 1.29.3), "" when it named none.
func requestPort(h string) string {
	if strings.HasPrefix(h, "[") {
		i := strings.IndexByte(h, ']')
		if i < 0 {
			return ""
		}
		h = h[i+1:]
		if !strings.HasPrefix(h, ":") {
			return ""
		}
		return h[1:]
	}
	if i := strings.IndexByte(h, ':'); i >= 0 {
		return h[i+1:]
	}
	return ""
}

// getRequestPort is $request_port (nginx 1.29.3): the port from the request
// line or the Host field, empty when the request named none.
func getRequestPort(dst []byte, st *State) ([]byte, bool) {
	return append(dst, requestPort(st.Host)...), true
}

// getIsRequestPort is $is_request_port (nginx 1.29.3): ":" when the request
// named a port, else empty, so that $host$is_request_port$request_port
// rebuilds what the client asked for.
func getIsRequestPort(dst []byte, st *State) ([]byte, bool) {
	if requestPort(st.Host) != "" {
		dst = append(dst, ':')
	}
	return dst, true
}

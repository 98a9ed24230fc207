// Package errpage writes the small HTML pages fulcrum answers with when it
// produces a status itself (404 for no location, 502 when no upstream answered,
// 301 for a redirect, ...), shaped like nginx's built-in pages.
package errpage

import (
	"net/http"
	"strconv"
)

// Body returns the page for code: nginx's layout, with server as the signature
// line ("fulcrum" or "fulcrum/VERSION").
func Body(code int, server string) string {
	title := strconv.Itoa(code) + " " + Reason(code)
	return "<html>\r\n<head><title>" + title + "</title></head>\r\n<body>\r\n<center><h1>" + title +
		"</h1></center>\r\n<hr><center>" + server + "</center>\r\n</body>\r\n</html>\r\n"
}

// Reason returns the reason phrase nginx uses for code.
func Reason(code int) string {
	switch code {
	case http.StatusRequestEntityTooLarge:
		return "Request Entity Too Large"
	case http.StatusRequestURITooLong:
		return "Request-URI Too Large"
	case 499:
		return "Client Closed Request"
	}
	return http.StatusText(code)
}

// Write answers with code and its page. Statuses that carry no body (1xx, 204,
// 304) are written without one. The connection is closed after client errors
// that leave the stream in doubt (400, 408, 413, 414, 431), as nginx does.
func Write(w http.ResponseWriter, code int, server string) {
	h := w.Header()
	if server != "" {
		h.Set("Server", server)
	}
	switch code {
	case http.StatusBadRequest, http.StatusRequestTimeout, http.StatusRequestEntityTooLarge,
		http.StatusRequestURITooLong, http.StatusRequestHeaderFieldsTooLarge:
		h.Set("Connection", "close")
	}
	if code < 200 || code == http.StatusNoContent || code == http.StatusNotModified {
		w.WriteHeader(code)
		return
	}
	body := Body(code, server)
	h.Set("Content-Type", "text/html")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(code)
	_, _ = w.Write([]byte(body))
}

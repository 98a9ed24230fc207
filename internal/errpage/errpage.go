// Package errpage writes the small HTML pages fulcrum answers with when it
// produces a status itself (404 for no location, 502 when no upstream answered,
// 301 for a redirect, ...), shaped like nginx's built-in pages.
package errpage

import (
	"net/http"
	"strconv"
	"strings"

	"fulcrum/internal/h1"
)

// Body returns the page for code: nginx's layout, with server as the signature
// line ("fulcrum" or "fulcrum/VERSION"). It is "" for a code nginx has no page
// for (see Title): nginx 1.22.1 answers "return 418;" with an empty body.
func Body(code int, server string) string {
	if msg, ok := badRequests[code]; ok {
		return "<html>\r\n<head><title>400 " + msg + "</title></head>\r\n<body>\r\n" +
			"<center><h1>400 Bad Request</h1></center>\r\n<center>" + msg + "</center>\r\n" +
			"<hr><center>" + server + "</center>\r\n</body>\r\n</html>\r\n"
	}
	title, ok := Title(code)
	if !ok {
		return ""
	}
	title = strconv.Itoa(code) + " " + title
	return "<html>\r\n<head><title>" + title + "</title></head>\r\n<body>\r\n<center><h1>" + title +
		"</h1></center>\r\n<hr><center>" + server + "</center>\r\n</body>\r\n</html>\r\n"
}

// badRequests are nginx's own codes 494-497 ("return 497;", or error_page
// matching them), which go out as "400 Bad Request" with a page that says
// why (ngx_http_special_response.c, checked against nginx 1.22.1).
var badRequests = map[int]string{
	494: "Request Header Or Cookie Too Large",
	495: "The SSL certificate error",
	496: "No required SSL certificate was sent",
	497: "The plain HTTP request was sent to HTTPS port",
}

// Status is the status an answer with code goes out with: 400 for nginx's
// codes 494-497, code itself otherwise.
func Status(code int) int {
	if _, ok := badRequests[code]; ok {
		return http.StatusBadRequest
	}
	return code
}

// Title returns the title (and heading) of nginx's built-in page for code, and
// whether there is one: the redirects (301, 302, 303, 307, 308) and the errors
// that have a status line phrase (h1.ReasonPhrase). The title is that phrase,
// except where nginx's page says otherwise: "302 Found" under the status line
// "302 Moved Temporarily", and "401 Authorization Required" (its
// ngx_http_special_response.c, checked against nginx 1.22.1's answers).
func Title(code int) (string, bool) {
	switch code {
	case http.StatusFound:
		return "Found", true
	case http.StatusUnauthorized:
		return "Authorization Required", true
	case http.StatusNotModified:
		return "", false
	}
	phrase := h1.ReasonPhrase(code)
	return phrase, code >= 300 && phrase != ""
}

// Write answers with code and its page. Statuses that carry no body (1xx, 204,
// 304) are written without one, and so are those nginx has no page for
// ("Content-Length: 0"). nginx's codes 494-497 go out as 400 (Status). The
// connection is closed after the codes for which ClosesConnection is true.
func Write(w http.ResponseWriter, code int, server string) {
	WriteFor(w, code, server, Quirks{})
}

// Quirks are the changes nginx makes to its own pages for old or odd
// browsers (ngx_http_special_response_handler), decided by the caller
// from the location's settings and the request's User-Agent.
type Quirks struct {
	// Padding (msie_padding on, Internet Explorer or Chrome) appends six
	// comment lines to a 4xx or 5xx page, so that the browser shows it
	// instead of its own "friendly" page.
	Padding bool
	// RefreshTo, when not empty (msie_refresh on, Internet Explorer), is
	// the Location of a 301 or 302 as the configuration gave it: the
	// answer is then a 200 page that refreshes to it, without Location.
	RefreshTo string
}

// padding is nginx's ngx_http_msie_padding.
var padding = strings.Repeat("<!-- a padding to disable MSIE and Chrome friendly error page -->\r\n", 6)

// WriteFor is Write with nginx's quirks for the client's browser.
func WriteFor(w http.ResponseWriter, code int, server string, q Quirks) {
	if q.RefreshTo != "" && (code == http.StatusMovedPermanently || code == http.StatusFound) {
		writeRefresh(w, q.RefreshTo, server)
		return
	}
	h := w.Header()
	// nginx's special response handler clears Accept-Ranges (an upstream's,
	// kept across an X-Accel-Redirect to a missing file).
	delete(h, "Accept-Ranges")
	if server != "" {
		h.Set("Server", server)
	}
	if ClosesConnection(code) {
		h.Set("Connection", "close")
	}
	if code < 200 || code == http.StatusNoContent || code == http.StatusNotModified {
		w.WriteHeader(code)
		return
	}
	body := Body(code, server)
	if body != "" {
		h.Set("Content-Type", "text/html")
		if q.Padding && Status(code) >= http.StatusBadRequest {
			body += padding
		}
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(Status(code))
	_, _ = w.Write([]byte(body))
}

// ClosesConnection reports whether an error answer with code ends the
// connection, as nginx's ngx_http_special_response_handler ends keep-alive:
// for 400, 413, 414, 495-497 (sent as 400), 500 and 501 (checked against
// nginx 1.22.1, which keeps 401-412, 415-429, 494, 502-505 and 507), whether
// the page is nginx's own or an error_page's. 408 and 431 are fulcrum's own refusals of a request whose
// stream is in doubt.
func ClosesConnection(code int) bool {
	switch code {
	case http.StatusBadRequest, http.StatusRequestTimeout, http.StatusRequestEntityTooLarge,
		http.StatusRequestURITooLong, http.StatusRequestHeaderFieldsTooLarge,
		http.StatusInternalServerError, http.StatusNotImplemented, 495, 496, 497:
		return true
	}
	return false
}

// writeRefresh answers as nginx's ngx_http_send_refresh: 200 with a page
// whose meta refresh goes to location, escaped as NGX_ESCAPE_REFRESH
// escapes it; the Location field and the validators are dropped.
func writeRefresh(w http.ResponseWriter, location, server string) {
	h := w.Header()
	for _, name := range []string{"Location", "Accept-Ranges", "Last-Modified", "Etag"} {
		delete(h, name)
	}
	if server != "" {
		h.Set("Server", server)
	}
	body := `<html><head><meta http-equiv="Refresh" content="0; URL=` + escapeRefresh(location) + "\"></head><body></body></html>\r\n"
	h.Set("Content-Type", "text/html")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write([]byte(body))
}

// escapeRefresh percent-encodes what nginx's refresh escape does
// (recorded byte by byte from nginx 1.22.1): control bytes, space, the
// quotes, < > \ ^ ` { | ~, DEL and every byte above it; "%" stays.
func escapeRefresh(s string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte("\"'<>\\^`{|~", c) >= 0 {
			b.WriteByte('%')
			b.WriteByte(hex[c>>4])
			b.WriteByte(hex[c&0xf])
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

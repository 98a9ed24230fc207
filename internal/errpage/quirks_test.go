package errpage

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
)

// TestWriteForQuirks checks msie_padding's comments and msie_refresh's
// page against nginx 1.22.1's answers to an Internet Explorer 6 or
// Chrome User-Agent (recorded with curl -A).
func TestWriteForQuirks(t *testing.T) {
	const pad = "<!-- a padding to disable MSIE and Chrome friendly error page -->\r\n"
	tests := []struct {
		name     string
		code     int
		q        Quirks
		status   int
		body     string // the whole body, or its end after "..."
		location string
	}{
		{"404 padded", 404, Quirks{Padding: true}, 404, "...</html>\r\n" + strings.Repeat(pad, 6), "http://h/x"},
		{"403 padded", 403, Quirks{Padding: true}, 403, "...</html>\r\n" + strings.Repeat(pad, 6), "http://h/x"},
		{"497 padded as its 400", 497, Quirks{Padding: true}, 400, "...</html>\r\n" + strings.Repeat(pad, 6), "http://h/x"},
		{"404 without", 404, Quirks{}, 404, "...</html>\r\n", "http://h/x"},
		{"302 not padded", 302, Quirks{Padding: true}, 302, "...</html>\r\n", "http://h/x"},
		{"418 has no page to pad", 418, Quirks{Padding: true}, 418, "", "http://h/x"},
		{"302 refresh", 302, Quirks{RefreshTo: "/target"}, 200,
			`<html><head><meta http-equiv="Refresh" content="0; URL=/target"></head><body></body></html>` + "\r\n", ""},
		{"301 refresh escaped", 301, Quirks{RefreshTo: `http://example.com/x?a=1&b="<>'`}, 200,
			`<html><head><meta http-equiv="Refresh" content="0; URL=http://example.com/x?a=1&b=%22%3C%3E%27"></head><body></body></html>` + "\r\n", ""},
		{"303 never refreshes", 303, Quirks{RefreshTo: "/t"}, 303, "...</html>\r\n", "http://h/x"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := httptest.NewRecorder()
			w.Header().Set("Location", "http://h/x")
			w.Header().Set("Etag", `"1"`)
			WriteFor(w, tt.code, "fulcrum", tt.q)
			body := w.Body.String()
			ok := body == tt.body
			if end, cut := strings.CutPrefix(tt.body, "..."); cut {
				ok = strings.HasSuffix(body, end) && !strings.HasSuffix(body, pad+end)
			}
			if w.Code != tt.status || !ok || w.Header().Get("Location") != tt.location {
				t.Errorf("%d, Location %q, body %q; want %d, %q, %q", w.Code, w.Header().Get("Location"), body, tt.status, tt.location, tt.body)
			}
			if cl := w.Header().Get("Content-Length"); cl != strconv.Itoa(len(body)) {
				t.Errorf("Content-Length %s for %d bytes", cl, len(body))
			}
			if tt.status == http.StatusOK && (w.Header().Get("Etag") != "" || w.Header().Get("Content-Type") != "text/html") {
				t.Errorf("refresh headers %v", w.Header())
			}
		})
	}
}

// TestEscapeRefresh: the bytes nginx 1.22.1 escaped in msie_refresh's URL,
// found by sending each byte 0x01-0xff (but CR and LF) in a Location.
func TestEscapeRefresh(t *testing.T) {
	var escaped []byte
	for c := 1; c < 256; c++ {
		if s := string([]byte{byte(c)}); escapeRefresh(s) != s {
			escaped = append(escaped, byte(c))
		}
	}
	var want []byte
	for c := 1; c <= 0x20; c++ {
		want = append(want, byte(c))
	}
	want = append(want, `"'<>\^`+"`{|~"...)
	for c := 0x7f; c < 256; c++ {
		want = append(want, byte(c))
	}
	if string(escaped) != sortBytes(want) {
		t.Errorf("escaped %q\nwant    %q", escaped, sortBytes(want))
	}
	if got := escapeRefresh("/a b%\xff"); got != "/a%20b%%FF" {
		t.Errorf("escapeRefresh = %q", got)
	}
}

// sortBytes returns the distinct bytes of b in ascending order.
func sortBytes(b []byte) string {
	var seen [256]bool
	for _, c := range b {
		seen[c] = true
	}
	var out []byte
	for c := range 256 {
		if seen[c] {
			out = append(out, byte(c))
		}
	}
	return string(out)
}

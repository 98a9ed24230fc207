package errpage

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
)

// nginxPages are the built-in pages nginx 1.22.1 sent for "return CODE;" with
// every code from 200 to 599 (server "nginx/1.22.1"): title and size. It sent
// an empty body for the other codes (494-499 aside, which nginx turns into
// other answers: see TestBadRequestCodes for 494-497).
var nginxPages = map[int]struct {
	title string
	size  int
}{
	301: {"Moved Permanently", 169}, 302: {"Found", 145}, 303: {"See Other", 153},
	307: {"Temporary Redirect", 171}, 308: {"Permanent Redirect", 171},
	400: {"Bad Request", 157}, 401: {"Authorization Required", 179}, 402: {"Payment Required", 167},
	403: {"Forbidden", 153}, 404: {"Not Found", 153}, 405: {"Not Allowed", 157},
	406: {"Not Acceptable", 163}, 409: {"Conflict", 151}, 410: {"Gone", 143},
	411: {"Length Required", 165}, 412: {"Precondition Failed", 173},
	413: {"Request Entity Too Large", 183}, 414: {"Request-URI Too Large", 177},
	415: {"Unsupported Media Type", 179}, 416: {"Requested Range Not Satisfiable", 197},
	421: {"Misdirected Request", 173}, 429: {"Too Many Requests", 169},
	500: {"Internal Server Error", 177}, 501: {"Not Implemented", 165}, 502: {"Bad Gateway", 157},
	503: {"Service Temporarily Unavailable", 197}, 504: {"Gateway Time-out", 167},
	505: {"HTTP Version Not Supported", 187}, 507: {"Insufficient Storage", 175},
	// nginx closes the connection instead of sending its 408 page; fulcrum's
	// hardening answers 408, 417 and 431 with a page (http-hardening.md).
	408: {"Request Time-out", 0}, 417: {"Expectation Failed", 0}, 431: {"Request Header Fields Too Large", 0},
}

// TestBodyIsNginxPage: for every code, the page is nginx's byte for byte
// (with nginx's signature), or empty where nginx sends none.
func TestBodyIsNginxPage(t *testing.T) {
	for code := 200; code < 600; code++ {
		if code >= 494 && code <= 499 {
			continue
		}
		want := ""
		if p, ok := nginxPages[code]; ok {
			title := strconv.Itoa(code) + " " + p.title
			want = "<html>\r\n<head><title>" + title + "</title></head>\r\n<body>\r\n<center><h1>" + title +
				"</h1></center>\r\n<hr><center>nginx/1.22.1</center>\r\n</body>\r\n</html>\r\n"
			if p.size != 0 && len(want) != p.size {
				t.Fatalf("%d: test page is %d bytes, nginx's %d", code, len(want), p.size)
			}
		}
		if got := Body(code, "nginx/1.22.1"); got != want {
			t.Errorf("Body(%d) = %q, want %q", code, got, want)
		}
	}
}

func TestWrite(t *testing.T) {
	tests := []struct {
		code      int
		wantBody  string
		wantType  string
		wantClose bool
	}{
		{404, "<title>404 Not Found</title>", "text/html", false},
		{502, "<center><h1>502 Bad Gateway</h1></center>", "text/html", false},
		{405, "<title>405 Not Allowed</title>", "text/html", false},
		{413, "413 Request Entity Too Large", "text/html", true},
		{400, "400 Bad Request", "text/html", true},
		{204, "", "", false},
		{418, "", "", false}, // nginx: "Content-Length: 0", no Content-Type
	}
	for _, tt := range tests {
		t.Run(strconv.Itoa(tt.code), func(t *testing.T) {
			rec := httptest.NewRecorder()
			Write(rec, tt.code, "fulcrum")
			if rec.Code != tt.code {
				t.Errorf("code %d, want %d", rec.Code, tt.code)
			}
			if !strings.Contains(rec.Body.String(), tt.wantBody) || (tt.wantBody == "" && rec.Body.Len() != 0) {
				t.Errorf("body %q, want it to contain %q", rec.Body.String(), tt.wantBody)
			}
			if got := rec.Header().Get("Content-Type"); got != tt.wantType {
				t.Errorf("Content-Type %q, want %q", got, tt.wantType)
			}
			if got := rec.Header().Get("Connection") == "close"; got != tt.wantClose {
				t.Errorf("Connection close = %v, want %v", got, tt.wantClose)
			}
			if rec.Header().Get("Server") != "fulcrum" {
				t.Errorf("Server header %q", rec.Header().Get("Server"))
			}
			if cl := rec.Header().Get("Content-Length"); tt.code != http.StatusNoContent && cl != strconv.Itoa(rec.Body.Len()) {
				t.Errorf("Content-Length %q for a %d-byte body", cl, rec.Body.Len())
			}
		})
	}
}

// TestBadRequestCodes: nginx 1.22.1 answers "return 494;" to "return 497;"
// with 400 and a page that says why (its sizes, with its signature, given
// here); 495-497 close the connection, 494 does not.
func TestBadRequestCodes(t *testing.T) {
	tests := []struct {
		code      int
		msg       string
		size      int
		wantClose bool
	}{
		{494, "Request Header Or Cookie Too Large", 233, false},
		{495, "The SSL certificate error", 215, true},
		{496, "No required SSL certificate was sent", 237, true},
		{497, "The plain HTTP request was sent to HTTPS port", 255, true},
	}
	for _, tt := range tests {
		t.Run(strconv.Itoa(tt.code), func(t *testing.T) {
			want := "<html>\r\n<head><title>400 " + tt.msg + "</title></head>\r\n<body>\r\n" +
				"<center><h1>400 Bad Request</h1></center>\r\n<center>" + tt.msg + "</center>\r\n" +
				"<hr><center>nginx/1.22.1</center>\r\n</body>\r\n</html>\r\n"
			if len(want) != tt.size {
				t.Fatalf("test page is %d bytes, nginx's %d", len(want), tt.size)
			}
			rec := httptest.NewRecorder()
			Write(rec, tt.code, "nginx/1.22.1")
			if rec.Code != http.StatusBadRequest || rec.Body.String() != want {
				t.Errorf("got %d %q, want 400 %q", rec.Code, rec.Body.String(), want)
			}
			if got := rec.Header().Get("Connection") == "close"; got != tt.wantClose {
				t.Errorf("Connection close = %v, want %v", got, tt.wantClose)
			}
			if rec.Header().Get("Content-Type") != "text/html" {
				t.Errorf("Content-Type %q, want text/html", rec.Header().Get("Content-Type"))
			}
		})
	}
}

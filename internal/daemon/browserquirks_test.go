package daemon_test

import (
	"bufio"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"fulcrum/internal/testutil"
)

// TestMSIEPaddingAndRefresh runs nginx's pages for old browsers through
// the daemon, as nginx 1.22.1 answered the same configuration (recorded
// with curl -A for each User-Agent): msie_padding (on by default) pads a
// 4xx or 5xx page for Internet Explorer and Chrome, not Firefox;
// msie_refresh answers Internet Explorer's 301 and 302 (not 303, 307) with
// a 200 page that refreshes to the Location as written.
func TestMSIEPaddingAndRefresh(t *testing.T) {
	const (
		msie    = "Mozilla/4.0 (compatible; MSIE 6.0; Windows NT 5.1)"
		chrome  = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36"
		firefox = "Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0"
		pad     = "<!-- a padding to disable MSIE and Chrome friendly error page -->\r\n"
		refresh = `<html><head><meta http-equiv="Refresh" content="0; URL=%s"></head><body></body></html>` + "\r\n"
	)
	dir := t.TempDir()
	addr := startDaemon(t, dir, `
    access_log off;
    server {
        listen 127.0.0.1:0;
        location = /e404 { return 404; }
        location = /np { msie_padding off; return 404; }
        location = /e500 { return 500; }
        location = /r { return 302 /target; }
        location = /mr { msie_refresh on; return 302 /target; }
        location = /mr301 { msie_refresh on; return 301 "http://example.com/x?a=1&b=\"<>'"; }
        location = /mr303 { msie_refresh on; return 303 /t; }
        location = /mrerr { msie_refresh on; error_page 404 http://example.com/e; return 404; }
    }`)
	tests := []struct {
		path, ua string
		status   int
		want     string // the body's end, or the whole body for a refresh
	}{
		{"/e404", msie, 404, "</html>\r\n" + strings.Repeat(pad, 6)},
		{"/e404", chrome, 404, "</html>\r\n" + strings.Repeat(pad, 6)},
		{"/e404", firefox, 404, "</html>\r\n"},
		{"/e500", chrome, 500, "</html>\r\n" + strings.Repeat(pad, 6)},
		{"/np", msie, 404, "</html>\r\n"},
		{"/r", msie, 302, "</html>\r\n"},
		{"/mr", msie, 200, fmt.Sprintf(refresh, "/target")},
		{"/mr", chrome, 302, "</html>\r\n"},
		{"/mr301", msie, 200, fmt.Sprintf(refresh, "http://example.com/x?a=1&b=%22%3C%3E%27")},
		{"/mr303", msie, 303, "</html>\r\n"},
		{"/mrerr", msie, 200, fmt.Sprintf(refresh, "http://example.com/e")},
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for _, tt := range tests {
		req, _ := http.NewRequest("GET", "http://"+addr+tt.path, nil)
		req.Header.Set("User-Agent", tt.ua)
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		body := string(b)
		ok := strings.HasSuffix(body, tt.want) && (strings.HasSuffix(tt.want, pad) || !strings.HasSuffix(body, pad))
		if tt.status == 200 {
			ok = body == tt.want && resp.Header.Get("Location") == ""
		}
		if resp.StatusCode != tt.status || !ok {
			t.Errorf("%s %q: %d %q, want %d and %q", tt.path, tt.ua, resp.StatusCode, body, tt.status, tt.want)
		}
	}
}

// TestMSIEPaddingRefusedHead checks msie_padding on the page of a head the
// engine refuses before reading it all, as nginx 1.22.1 answered the same
// bytes on raw sockets: the 400 is padded when a User-Agent of Chrome or
// Internet Explorer came before the fault (a bad field line, a bad or
// missing Host), not when the request line or a field before the
// User-Agent was the fault (nginx's body: 157 bytes, 559 padded, with its
// 12-byte signature). A field over large_client_header_buffers after the
// User-Agent pads too (nginx pads its 400 "Request Header Or Cookie Too
// Large"; fulcrum answers 431, see http-hardening.md). msie_padding off
// in the default server turns it off.
func TestMSIEPaddingRefusedHead(t *testing.T) {
	const (
		chrome = "User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/120.0 Safari/537.36\r\n"
		msie   = "User-Agent: Mozilla/4.0 (compatible; MSIE 6.0; Windows NT 5.1)\r\n"
		pad    = "<!-- a padding to disable MSIE and Chrome friendly error page -->\r\n"
	)
	big := "X-Big: " + strings.Repeat("a", 2000) + "\r\n"
	conf := `
    access_log off;
    large_client_header_buffers 2 512;
    server { listen 127.0.0.1:0; %s location / { return 200 ok; } }`
	on := startDaemon(t, t.TempDir(), fmt.Sprintf(conf, ""))
	off := startDaemon(t, t.TempDir(), fmt.Sprintf(conf, "msie_padding off;"))
	tests := []struct {
		name, head string
		status     int
		padded     bool
	}{
		{"bad request line", "GET / HTTP/1.1 x\r\nHost: h\r\n" + chrome + "\r\n", 400, false},
		{"bad method", "GARBAGE\r\n" + chrome + "\r\n", 400, false},
		{"bad field after Chrome", "GET / HTTP/1.1\r\nHost: h\r\n" + chrome + "Bad Header: x\r\n\r\n", 400, true},
		{"bad field after MSIE", "GET / HTTP/1.1\r\nHost: h\r\n" + msie + "Bad Header: x\r\n\r\n", 400, true},
		{"bad field before Chrome", "GET / HTTP/1.1\r\nHost: h\r\nBad Header: x\r\n" + chrome + "\r\n", 400, false},
		{"bad Host after Chrome", "GET / HTTP/1.1\r\n" + chrome + "Host: a b\r\n\r\n", 400, true},
		{"no Host", "GET / HTTP/1.1\r\n" + chrome + "\r\n", 400, true},
		{"too large after Chrome", "GET / HTTP/1.1\r\nHost: h\r\n" + chrome + big + "\r\n", 431, true},
		{"too large after MSIE", "GET / HTTP/1.1\r\nHost: h\r\n" + msie + big + "\r\n", 431, true},
		{"too large before Chrome", "GET / HTTP/1.1\r\nHost: h\r\n" + big + chrome + "\r\n", 431, false},
	}
	for _, tt := range tests {
		for _, addr := range []string{on, off} {
			resp, body := sendHead(t, addr, tt.head)
			want := tt.padded && addr == on
			if resp.StatusCode != tt.status || strings.HasSuffix(body, "</html>\r\n"+strings.Repeat(pad, 6)) != want || !want && !strings.HasSuffix(body, "</html>\r\n") {
				t.Errorf("%s (padding on %v): %d %q, want %d padded %v", tt.name, addr == on, resp.StatusCode, body, tt.status, want)
			}
		}
	}
}

// sendHead sends head on a new connection and reads the answer.
func sendHead(t *testing.T, addr, head string) (*http.Response, string) {
	t.Helper()
	c := testutil.SendRaw(t, addr, head)
	defer c.Close()
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, string(b)
}

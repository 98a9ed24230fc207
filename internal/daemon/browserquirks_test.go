package daemon_test

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
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

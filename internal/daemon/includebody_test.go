package daemon_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// TestIncludeSubrequestsSendTheBody checks what an SSI include and an
// add_before_body subrequest of a POST send, as nginx 1.22.1 does
// (recorded with a backend printing what it got): "GET" with the body the
// main request read and its length, for a chunked body too.
func TestIncludeSubrequestsSendTheBody(t *testing.T) {
	var mu sync.Mutex
	var seen []string
	sub := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		seen = append(seen, fmt.Sprintf("%s %s cl=%q te=%q body=%q", r.Method, r.URL.Path, r.Header.Get("Content-Length"), r.TransferEncoding, body))
		mu.Unlock()
		io.WriteString(w, "[sub]")
	}))
	t.Cleanup(sub.Close)
	page := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprintf(w, "<p>%s</p><!--# include virtual=\"/sub\" -->", body)
	}))
	t.Cleanup(page.Close)
	addr := startDaemon(t, t.TempDir(), fmt.Sprintf(`
    access_log off;
    server {
        listen 127.0.0.1:0;
        location /ssi { ssi on; proxy_pass http://%[1]s; }
        location /add { add_before_body /sub; proxy_pass http://%[1]s; }
        location = /sub { internal; proxy_pass http://%[2]s; }
    }`, page.Listener.Addr(), sub.Listener.Addr()))
	const payload = "01234567890123456789"
	tests := []struct {
		path    string
		chunked bool
		want    string // the page
	}{
		{"/ssi", false, "<p>" + payload + "</p>[sub]"},
		{"/ssi", true, "<p>" + payload + "</p>[sub]"},
		{"/add", false, "[sub]<p>" + payload + "</p><!--# include virtual=\"/sub\" -->"},
		{"/add", true, "[sub]<p>" + payload + "</p><!--# include virtual=\"/sub\" -->"},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s chunked=%v", tt.path, tt.chunked), func(t *testing.T) {
			mu.Lock()
			seen = nil
			mu.Unlock()
			var body io.Reader = strings.NewReader(payload)
			if tt.chunked {
				body = io.MultiReader(body)
			}
			resp, err := http.Post("http://"+addr+tt.path, "text/plain", body)
			if err != nil {
				t.Fatal(err)
			}
			got, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if string(got) != tt.want {
				t.Errorf("page %q, want %q", got, tt.want)
			}
			mu.Lock()
			defer mu.Unlock()
			want := fmt.Sprintf("GET /sub cl=%q te=[] body=%q", "20", payload)
			if len(seen) != 1 || seen[0] != want {
				t.Errorf("the include's backend saw %q, want [%q]", seen, want)
			}
		})
	}
}

package daemon_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestUpstreamContentLength checks when a Content-Length goes upstream, as
// nginx 1.22.1's $proxy_internal_body_length decides: when the client
// announced a body (its Content-Length, "0" included, or chunked framing)
// or proxy_set_body gives one, whatever the method; a request without
// either gets none (a bodiless POST, a PUT made by proxy_method).
// proxy_set_body "" sends an empty body even when the client sent one.
func TestUpstreamContentLength(t *testing.T) {
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		fmt.Fprintf(w, "%s cl=%q body=%q", r.Method, r.Header.Values("Content-Length"), body)
	}))
	t.Cleanup(backend.Close)
	dir := t.TempDir()
	addr := startDaemon(t, dir, fmt.Sprintf(`server { listen 127.0.0.1:0;
        location / { proxy_pass http://%[1]s; }
        location /m/ { proxy_method PUT; proxy_pass http://%[1]s; }
        location /empty/ { proxy_set_body ""; proxy_pass http://%[1]s; }
        location /set/ { proxy_set_body "new"; proxy_pass http://%[1]s; }
    }`, backend.Listener.Addr()))
	tests := []struct {
		name, request, want string
	}{
		{"POST without a body", "POST /x HTTP/1.1\r\nHost: a\r\n\r\n", `POST cl=[] body=""`},
		{"POST with Content-Length 0", "POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n", `POST cl=["0"] body=""`},
		{"GET with Content-Length 0", "GET /x HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n", `GET cl=["0"] body=""`},
		{"PUT without a body", "PUT /x HTTP/1.1\r\nHost: a\r\n\r\n", `PUT cl=[] body=""`},
		{"empty chunked body", "POST /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", `POST cl=["0"] body=""`},
		{"proxy_method PUT of a GET", "GET /m/x HTTP/1.1\r\nHost: a\r\n\r\n", `PUT cl=[] body=""`},
		{`proxy_set_body ""`, "POST /empty/x HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc", `POST cl=["0"] body=""`},
		{`proxy_set_body "" on a GET`, "GET /empty/x HTTP/1.1\r\nHost: a\r\n\r\n", `GET cl=["0"] body=""`},
		{"proxy_set_body", "POST /set/x HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc", `POST cl=["3"] body="new"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, body := sendHead(t, addr, tt.request)
			if got := strings.TrimSpace(string(body)); got != tt.want {
				t.Errorf("backend got %s, want %s", got, tt.want)
			}
		})
	}
}

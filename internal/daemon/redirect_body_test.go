package daemon_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestRequestBodyAfterRedirect checks the method and body a proxy_pass
// sends after an internal redirect that follows a proxied attempt (which read
// the body already): an upstream's X-Accel-Redirect, an intercepted upstream
// error, the proxy's own 502, and error_page of a return. What nginx 1.22
// sent to its echo backend for the same requests (nginx-diff): the body
// read before the redirect again, with its Content-Length; GET for a URI
// target, the client's method for a named location, also after
// error_page; proxy_set_body's body is not the client's.
func TestRequestBodyAfterRedirect(t *testing.T) {
	echo := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		fmt.Fprintf(w, "%s %s length=%d body=%q", r.Method, r.URL.Path, r.ContentLength, body)
	}))
	t.Cleanup(echo.Close)
	dir := t.TempDir()
	addr := startDaemonLevel(t, dir, "warn", fmt.Sprintf(`
    access_log off;
    upstream b { server %s; }
    server {
        listen 127.0.0.1:0;
        location /ax/ { proxy_pass http://127.0.0.1:$server_port/src$uri; }
        location = /src/ax/uri { add_header X-Accel-Redirect "/fb?from=accel"; return 200 "x"; }
        location = /src/ax/named { add_header X-Accel-Redirect "@be"; return 200 "x"; }
        location /fb { proxy_pass http://b; }
        location @be { proxy_pass http://b; }
        location /intercept-named { proxy_intercept_errors on; error_page 404 = @be; proxy_pass http://127.0.0.1:$server_port/src404; }
        location /intercept-uri { proxy_intercept_errors on; error_page 404 /fb; proxy_pass http://127.0.0.1:$server_port/src404; }
        location /src404 { return 404; }
        location /down-named { error_page 502 = @be; proxy_pass http://127.0.0.1:1; }
        location /down-uri { error_page 502 /fb; proxy_pass http://127.0.0.1:1; }
        location /return-named { error_page 404 = @be; return 404; }
        location /setbody { proxy_set_body "replaced"; proxy_pass http://127.0.0.1:$server_port/src$uri; }
        location = /src/setbody { add_header X-Accel-Redirect "@be"; return 200 "x"; }
    }`, echo.Listener.Addr()))
	tests := []struct {
		method, path string
		chunked      bool
		want         string
	}{
		{"POST", "/ax/uri", false, `GET /fb length=7 body="payload"`},
		{"PUT", "/ax/uri", false, `GET /fb length=7 body="payload"`},
		{"POST", "/ax/named", false, `POST /ax/named length=7 body="payload"`},
		{"POST", "/ax/named", true, `POST /ax/named length=7 body="payload"`},
		{"POST", "/intercept-named", false, `POST /intercept-named length=7 body="payload"`},
		{"POST", "/intercept-uri", false, `GET /fb length=7 body="payload"`},
		{"POST", "/down-named", false, `POST /down-named length=7 body="payload"`},
		{"POST", "/down-uri", false, `GET /fb length=7 body="payload"`},
		{"POST", "/return-named", false, `POST /return-named length=7 body="payload"`},
		{"POST", "/setbody", false, `POST /setbody length=7 body="payload"`},
	}
	for _, tt := range tests {
		name := tt.method + " " + tt.path
		if tt.chunked {
			name += " chunked"
		}
		t.Run(name, func(t *testing.T) {
			var body io.Reader = strings.NewReader("payload")
			if tt.chunked {
				body = io.MultiReader(strings.NewReader("pay"), strings.NewReader("load")) // no length: chunked
			}
			req, err := http.NewRequest(tt.method, "http://"+addr+tt.path, body)
			if err != nil {
				t.Fatal(err)
			}
			resp, err := noRedirects.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			got, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if string(got) != tt.want {
				t.Errorf("backend saw %q, want %q (status %d)", got, tt.want, resp.StatusCode)
			}
		})
	}
}

package daemon_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestH2BodyBufferExact: an HTTP/2 request body longer than
// client_body_buffer_size goes to a temporary file whatever its
// content-length, as nginx 1.22.1 reads it (recorded over h2c with
// "client_body_buffer_size 512" and add_header X-Body-File
// $request_body_file: 512 bytes stayed in memory, 513, 600 and 640 went to
// a file; nginx-tests h2_auth_request.t "auth request body file"). fulcrum
// used HTTP/1's rule, the buffer and a quarter, so 513 to 639 bytes stayed
// in memory.
func TestH2BodyBufferExact(t *testing.T) {
	back := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	t.Cleanup(back.Close)
	dir := t.TempDir()
	addr := startDaemon(t, dir, `
    client_body_temp_path `+dir+`/cbt;
    server {
        listen 127.0.0.1:0 http2;
        location / {
            client_body_buffer_size 512;
            add_header X-Body-File $request_body_file;
            proxy_pass http://`+strings.TrimPrefix(back.URL, "http://")+`;
        }
    }`)
	c := h2cClient(t, addr)
	for _, tt := range []struct {
		size int
		file bool
	}{{512, false}, {513, true}, {600, true}} {
		resp, err := c.Post("http://"+addr+"/p", "text/plain", strings.NewReader(strings.Repeat("A", tt.size)))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if got := resp.Header.Get("X-Body-File") != ""; got != tt.file {
			t.Errorf("%d bytes: X-Body-File %q, want a file: %v", tt.size, resp.Header.Get("X-Body-File"), tt.file)
		}
	}
}

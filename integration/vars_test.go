package integration

import (
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"testing"
)

// TestBareQuestionMark: a request target ending in a bare '?' has no
// arguments, as in nginx 1.22.1: $args and $query_string are not found ("-"
// in the log), $is_args is empty, $request_uri keeps the '?', the 301 that
// adds a proxying location's '/' does not carry it, and proxy_pass with a URI
// part drops it (without one the request URI passes as received).
func TestBareQuestionMark(t *testing.T) {
	b := startBackend(t, "b")
	in := startFulcrum(t, fmt.Sprintf(`
events {}
http {
    log_format v 'ru=$request_uri|args=$args|qs=$query_string|is_args=$is_args';
    access_log %%DIR%%/v.log v;
    server {
        listen 127.0.0.1:0;
        location = /ret { return 200 "text\n"; }
        location /sl/ { proxy_pass http://%[1]s; }
        location /px/ { proxy_pass http://%[1]s/u/; }
    }
}`, b.addr()), 1)
	client := newClient()
	tests := []struct {
		path      string
		wantCode  int
		wantLog   string
		wantFirst string // the backend's first line, or the Location of a redirect
	}{
		{"/ret?", 200, "ru=/ret?|args=-|qs=-|is_args=", ""},
		{"/ret", 200, "ru=/ret|args=-|qs=-|is_args=", ""},
		{"/ret?a=1", 200, "ru=/ret?a=1|args=a=1|qs=a=1|is_args=?", ""},
		{"/ret??", 200, "ru=/ret??|args=?|qs=?|is_args=?", ""},
		{"/sl?", 301, "ru=/sl?|args=-|qs=-|is_args=", in.url(0) + "/sl/"},
		{"/sl?k=v", 301, "ru=/sl?k=v|args=k=v|qs=k=v|is_args=?", in.url(0) + "/sl/?k=v"},
		{"/px/x?", 200, "ru=/px/x?|args=-|qs=-|is_args=", "b GET /u/x"},
		{"/sl/x?", 200, "ru=/sl/x?|args=-|qs=-|is_args=", "b GET /sl/x?"},
	}
	for _, tt := range tests {
		req, err := http.NewRequest(http.MethodGet, in.url(0)+tt.path, nil)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("GET %s: %v", tt.path, err)
		}
		body := readBody(t, resp)
		if resp.StatusCode != tt.wantCode {
			t.Errorf("GET %s: status %d, want %d", tt.path, resp.StatusCode, tt.wantCode)
		}
		got := firstLine(body)
		if resp.StatusCode == http.StatusMovedPermanently {
			got = resp.Header.Get("Location")
		}
		if tt.wantFirst != "" && got != tt.wantFirst {
			t.Errorf("GET %s: got %q, want %q", tt.path, got, tt.wantFirst)
		}
	}
	lines := waitLines(t, filepath.Join(in.dir, "v.log"), len(tests))
	for i, tt := range tests {
		if lines[i] != tt.wantLog {
			t.Errorf("GET %s: log %q, want %q", tt.path, lines[i], tt.wantLog)
		}
	}
}

// readBody reads and closes resp's body.
func readBody(t *testing.T, resp *http.Response) string {
	t.Helper()
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(body)
}

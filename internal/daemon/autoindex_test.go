package daemon_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"fulcrum/internal/testutil"
)

// TestAutoindexServe lists the tree nginx 1.22.1's listings were recorded
// from through the daemon over real sockets, in every format, and checks
// status, Content-Type, the absence of Last-Modified and the body (byte for
// byte against nginx's, in internal/static/testdata/autoindex); then the
// answers nginx gave around it: HEAD, POST (403), a bad jsonp callback
// (400), a missing directory (404), a directory with an index file, and
// empty_gif with its 304, 412 and 405.
func TestAutoindexServe(t *testing.T) {
	addr, dir := runDaemon(t, func(dir string) string {
		return fmt.Sprintf(`
    access_log off;
    types { text/html html; image/gif gif; }
    server {
        listen 127.0.0.1:0;
        root %[1]s/root;
        location /list/ { autoindex on; }
        location /ex/ { alias %[1]s/root/list/; autoindex on; autoindex_exact_size off; }
        location /xml/ { alias %[1]s/root/list/; autoindex on; autoindex_format xml; }
        location /json/ { alias %[1]s/root/list/; autoindex on; autoindex_format json; }
        location /jsonp/ { alias %[1]s/root/list/; autoindex on; autoindex_format jsonp; }
        location /off/ { alias %[1]s/root/list/; }
        location /nodir/ { autoindex on; }
        location = /gif { empty_gif; }
    }`, dir)
	})
	list := filepath.Join(dir, "root", "list")
	if err := os.MkdirAll(list, 0o755); err != nil {
		t.Fatal(err)
	}
	testutil.ListingTree(t, list)
	golden := func(name string) string {
		b, err := os.ReadFile(filepath.Join("..", "static", "testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	tests := []struct {
		req    string
		status int
		ctype  string
		body   string // a golden file's name, or the body itself after "="
	}{
		{"GET /list/", 200, "text/html", "autoindex/html.golden"},
		{"GET /ex/", 200, "text/html", "autoindex/html_approx.golden"},
		{"GET /xml/", 200, "text/xml; charset=utf-8", "autoindex/xml.golden"},
		{"GET /json/", 200, "application/json", "autoindex/json.golden"},
		{"GET /jsonp/?callback=foo.bar_1", 200, "application/javascript", "autoindex/jsonp.golden"},
		{"GET /jsonp/", 200, "application/json", "autoindex/json.golden"},
		{"GET /list/Adir/a%3Cb%26c/", 200, "text/html", "autoindex/html_empty_escaped_uri.golden"},
		{"HEAD /list/", 200, "text/html", "="},
		{"POST /list/", 403, "text/html", ""},
		{"DELETE /list/", 405, "text/html", ""},
		{"GET /off/", 403, "text/html", ""},
		{"GET /jsonp/?callback=a-b", 400, "text/html", ""},
		{"GET /nodir/", 404, "text/html", ""},
		{"GET /list/k1023.bin/", 404, "text/html", ""},
		{"GET /gif", 200, "image/gif", "empty.gif.golden"},
		{"HEAD /gif", 200, "image/gif", "="},
		{"POST /gif", 405, "text/html", ""},
	}
	for _, tt := range tests {
		t.Run(tt.req, func(t *testing.T) {
			resp, body := exchange(t, addr, tt.req+" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d, want %d", resp.StatusCode, tt.status)
			}
			if ct := resp.Header.Get("Content-Type"); ct != tt.ctype {
				t.Errorf("Content-Type %q, want %q", ct, tt.ctype)
			}
			lm, gif := resp.Header.Get("Last-Modified"), tt.ctype == "image/gif"
			if gif != (lm != "") || gif && lm != "Mon, 28 Sep 1970 06:00:00 GMT" {
				t.Errorf("Last-Modified %q", lm)
			}
			switch {
			case strings.HasPrefix(tt.body, "="):
				if body != tt.body[1:] {
					t.Errorf("body %q, want %q", body, tt.body[1:])
				}
			case tt.body != "":
				if want := golden(tt.body); body != want {
					t.Errorf("body differs from nginx's\n got: %q\nwant: %q", body, want)
				}
			}
		})
	}
	t.Run("empty_gif conditionals", func(t *testing.T) {
		for hdr, want := range map[string]int{
			"If-Modified-Since: Mon, 28 Sep 1970 06:00:00 GMT":   304,
			"If-Modified-Since: Mon, 28 Sep 1970 06:00:01 GMT":   200,
			"If-Unmodified-Since: Mon, 28 Sep 1960 06:00:00 GMT": 412,
		} {
			resp, _ := exchange(t, addr, "GET /gif HTTP/1.1\r\nHost: x\r\n"+hdr+"\r\nConnection: close\r\n\r\n")
			if resp.StatusCode != want {
				t.Errorf("%s: %d, want %d", hdr, resp.StatusCode, want)
			}
		}
	})
	log, err := os.ReadFile(filepath.Join(dir, "error.log"))
	if err != nil {
		t.Fatal(err)
	}
	// As nginx: the index module answers for a directory that is a file,
	// before the autoindex module opens anything (nginx words it
	// `"…/k1023.bin/index.html" is not found (20: Not a directory)`).
	if want := `"` + filepath.Join(dir, "root", "list", "k1023.bin") + `/index.html" is not found`; !strings.Contains(string(log), want) {
		t.Errorf("error log lacks %s:\n%s", want, log)
	}
}

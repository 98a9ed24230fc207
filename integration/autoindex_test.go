package integration

import (
	"io"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"fulcrum/internal/testutil"
)

// TestAutoindexBinary runs the real binary with autoindex in html and json
// and empty_gif, and compares the answers with nginx 1.22.1's for the same
// tree (internal/static/testdata).
func TestAutoindexBinary(t *testing.T) {
	in := startFulcrum(t, `
events {}
http {
    types { text/html html; image/gif gif; }
    server {
        listen 127.0.0.1:0;
        root %DIR%;
        location /list/ { autoindex on; }
        location /json/ { alias %DIR%/list/; autoindex on; autoindex_format json; }
        location = /gif { empty_gif; }
    }
}`, 1)
	if err := os.Mkdir(filepath.Join(in.dir, "list"), 0o755); err != nil {
		t.Fatal(err)
	}
	testutil.ListingTree(t, filepath.Join(in.dir, "list"))
	base := "http://" + in.listening()[0]
	tests := []struct {
		path, golden, ctype string
	}{
		{"/list/", "autoindex/html.golden", "text/html"},
		{"/json/", "autoindex/json.golden", "application/json"},
		{"/gif", "empty.gif.golden", "image/gif"},
	}
	for _, tt := range tests {
		want, err := os.ReadFile(filepath.Join("..", "internal", "static", "testdata", tt.golden))
		if err != nil {
			t.Fatal(err)
		}
		resp, err := http.Get(base + tt.path)
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != tt.ctype || string(body) != string(want) {
			t.Errorf("%s: %d %q\n%q\nwant 200 %q\n%q", tt.path, resp.StatusCode, resp.Header.Get("Content-Type"), body, tt.ctype, want)
		}
	}
}

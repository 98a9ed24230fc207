package daemon_test

import (
	"io"
	"net"
	"net/http"
	"net/http/fcgi"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestFastCGIStoreOn: "fastcgi_store on" saves a 200 under root at the
// URI's path ($request_filename), a 404 nowhere, a HEAD's 200 with the body
// the application sent (as nginx 1.22 did), and the location with alias
// maps the URI as alias does.
func TestFastCGIStoreOn(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go fcgi.Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.Contains(r.URL.Path, "missing") {
			w.WriteHeader(http.StatusNotFound)
		}
		io.WriteString(w, "app says "+r.URL.Path)
	}))
	t.Cleanup(func() { ln.Close() })
	dir := t.TempDir()
	root, mirror := filepath.Join(dir, "root"), filepath.Join(dir, "mirror")
	for _, d := range []string{root, mirror} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	conf := strings.NewReplacer("DIR", dir, "APP", ln.Addr().String()).Replace(`
error_log DIR/error.log notice;
pid DIR/fulcrum.pid;
events {}
http {
    access_log off;
    fastcgi_param REQUEST_METHOD $request_method;
    fastcgi_param SERVER_PROTOCOL $server_protocol;
    fastcgi_param REQUEST_URI $request_uri;
    server {
        listen 127.0.0.1:0;
        root DIR/root;
        location / { fastcgi_pass APP; fastcgi_store on; fastcgi_store_access user:rw all:r; }
        location /m/ { alias DIR/mirror/; fastcgi_pass APP; fastcgi_store on; }
    }
}`)
	path := filepath.Join(dir, "fulcrum.conf")
	if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	addr, _ := runConfigFile(t, path)
	tests := []struct {
		method string
		uri    string
		file   string // "" when nothing is stored
		mode   os.FileMode
	}{
		{"GET", "/a/page.html?x=1", "root/a/page.html", 0o604},
		{"GET", "/missing.html", "", 0},
		{"GET", "/m/b/c.txt", "mirror/b/c.txt", 0o600},
		// nginx 1.22 saves the body the application sends for a HEAD.
		{"HEAD", "/head.html", "root/head.html", 0o604},
	}
	for _, tc := range tests {
		t.Run(tc.method+" "+tc.uri, func(t *testing.T) {
			req, err := http.NewRequest(tc.method, "http://"+addr+tc.uri, nil)
			if err != nil {
				t.Fatal(err)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			want := "app says " + strings.SplitN(tc.uri, "?", 2)[0]
			if tc.method == "GET" && string(b) != want || tc.method == "HEAD" && len(b) != 0 {
				t.Fatalf("body %q, want %q", b, want)
			}
			if tc.file == "" {
				if _, err := os.Stat(filepath.Join(root, strings.TrimPrefix(tc.uri, "/"))); err == nil {
					t.Error("stored, want nothing")
				}
				return
			}
			// The file is renamed into place as the body ends: wait for it.
			var fi os.FileInfo
			deadline := time.Now().Add(5 * time.Second)
			for fi, err = os.Stat(filepath.Join(dir, tc.file)); err != nil; fi, err = os.Stat(filepath.Join(dir, tc.file)) {
				if time.Now().After(deadline) {
					t.Fatal(err)
				}
				time.Sleep(10 * time.Millisecond)
			}
			if fi.Mode() != tc.mode {
				t.Errorf("mode %v, want %v", fi.Mode(), tc.mode)
			}
			if b, _ := os.ReadFile(filepath.Join(dir, tc.file)); string(b) != want {
				t.Errorf("file holds %q, want %q", b, want)
			}
		})
	}
}

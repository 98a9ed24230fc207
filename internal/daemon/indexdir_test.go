package daemon_test

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestIndexEntryDirectory: an index entry that names a directory, or
// evaluates to "" (the directory itself), is an internal redirect to
// uri+name, as nginx 1.22.1's index module does it (recorded with
// nginx-diff): the location of the new URI answers, the same location
// redirecting to itself is a cycle (500, logged), and a directory with no
// other location is the static module's 301 there. fulcrum answered all of
// them with a 301 to uri+name+"/" from the first location. An index file
// is reached by that redirect too when the location has try_files or
// rewrite-module directives, which nginx runs again on the file's URI.
func TestIndexEntryDirectory(t *testing.T) {
	dir := t.TempDir()
	html := filepath.Join(dir, "html")
	for _, d := range []string{"idx", "dir/sub"} {
		if err := os.MkdirAll(filepath.Join(html, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for name, body := range map[string]string{"idx/home.htm": "home\n", "dir/index.html": "dir-index\n", "dir/sub/f.txt": "f\n"} {
		if err := os.WriteFile(filepath.Join(html, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	addr := startDaemon(t, dir, fmt.Sprintf(`
    access_log off;
    server {
        listen 127.0.0.1:0;
        server_name idx.test;
        root %[1]s;
        location /idxv/ { index $arg_i home.htm; alias %[1]s/idx/; }
        location /dir/ { index $arg_i index.html; }
        location /dir/sub { return 200 "intercepted $uri $args\n"; }
        location = / { index dir; }
        location /al2/ { alias %[1]s/dir/; try_files $uri/ =404; }
        location /tf/ { alias %[1]s/dir/; try_files $uri $uri/ =404; }
        location /rw/ { alias %[1]s/dir/; rewrite ^/rw/index\.html$ /dir/sub/x last; }
        location /iff/ { alias %[1]s/dir/; if ($uri = /iff/index.html) { return 200 "if $uri\n"; } }
    }
    server {
        listen 127.0.0.1:0;
        server_name srw.test;
        root %[1]s;
        rewrite ^/dir/index\.html$ /y last;
        location /y { return 200 "y from $uri\n"; }
    }`, html))
	_, port, _ := net.SplitHostPort(addr)
	tests := []struct {
		path     string
		status   int
		body     string
		location string
	}{
		{"/idxv/", 500, "", ""},                                  // "" is the directory: a cycle
		{"/idxv/?i=home.htm", 200, "home\n", ""},                 // a file is served
		{"/idxv/?i=nothere", 200, "home\n", ""},                  // a missing one is skipped
		{"/dir/?i=sub", 200, "intercepted /dir/sub i=sub\n", ""}, // another location answers
		{"/dir/?i=sub/", 200, "intercepted /dir/sub/ i=sub/\n", ""},
		{"/dir/?i=sub/f.txt", 200, "intercepted /dir/sub/f.txt i=sub/f.txt\n", ""},
		{"/", 301, "", "http://idx.test:" + port + "/dir/"}, // the static module's 301 for /dir
		// the index file's URI runs the location's try_files again:
		// "/al2//index.html/" is no directory, so =404
		{"/al2/", 404, "", ""},
		{"/tf/", 200, "dir-index\n", ""},
		// and its rewrite-module directives
		{"/rw/", 200, "intercepted /dir/sub/x \n", ""},
		{"/iff/", 200, "if /iff/index.html\n", ""},
		{"srw.test/dir/", 200, "y from /y\n", ""}, // the server's too
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			host, path := "idx.test", tt.path
			if i := strings.IndexByte(path, '/'); i > 0 {
				host, path = path[:i], path[i:]
			}
			req, err := http.NewRequest(http.MethodGet, "http://"+addr+path, nil)
			if err != nil {
				t.Fatal(err)
			}
			req.Host = host
			resp, err := noRedirects.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tt.status || tt.body != "" && string(b) != tt.body {
				t.Errorf("%d %q, want %d %q", resp.StatusCode, b, tt.status, tt.body)
			}
			if got := resp.Header.Get("Location"); got != tt.location {
				t.Errorf("Location %q, want %q", got, tt.location)
			}
		})
	}
	// nginx's line, with the request's context as nginx 1.22.1 writes it.
	waitLogged(t, filepath.Join(dir, "error.log"), `[error]`, `: *`, `rewrite or internal redirection cycle while internally redirecting to "/idxv/", client: 127.0.0.1, server: idx.test, request: "GET /idxv/ HTTP/1.1", host: "idx.test"`)
}

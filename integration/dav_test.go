package integration

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestDAVAndAdditionBinary runs the real binary as a small WebDAV site
// whose pages get a header and a footer: pages are uploaded with PUT,
// organised with MKCOL, COPY and MOVE, read through add_before_body and
// add_after_body, and removed with DELETE. The answers are nginx 1.22.1's
// for the same configuration and requests.
func TestDAVAndAdditionBinary(t *testing.T) {
	in := startFulcrum(t, `
events {}
http {
    types { text/html html; text/plain txt; }
    access_log off;
    server {
        listen 127.0.0.1:0;
        root %DIR%/site;
        location /pages/ {
            dav_methods PUT DELETE MKCOL COPY MOVE;
            dav_access user:rw group:r;
            create_full_put_path on;
            min_delete_depth 2;
            client_max_body_size 64;
            add_before_body /parts/header.html;
            add_after_body /parts/footer.html;
        }
        location /parts/ { internal; }
    }
}`, 1)
	writeFiles(t, filepath.Join(in.dir, "site"), map[string]string{
		"parts/header.html": "<header>\n",
		"parts/footer.html": "<footer>\n",
	})
	base := "http://" + in.listening()[0]
	steps := []struct {
		method, path, body string
		fields             map[string]string
		status             int
		location           string // a path on base
		get                string // the body of a GET of path afterwards ("" for none)
	}{
		{method: "PUT", path: "/pages/a/index.html", body: "<p>a</p>\n", status: 201, location: "/pages/a/index.html",
			get: "<header>\n<p>a</p>\n<footer>\n"},
		{method: "PUT", path: "/pages/a/index.html", body: "<p>A</p>\n", status: 204, get: "<header>\n<p>A</p>\n<footer>\n"},
		{method: "PUT", path: "/pages/a/notes.txt", body: "plain\n", status: 201, location: "/pages/a/notes.txt", get: "plain\n"},
		{method: "PUT", path: "/pages/big.html", body: strings.Repeat("x", 65), status: 413},
		{method: "PUT", path: "/pages/a/", body: "x", status: 409},
		{method: "MKCOL", path: "/pages/b/", status: 201, location: "/pages/b/"},
		{method: "COPY", path: "/pages/a/index.html", fields: map[string]string{"Destination": "/pages/b/index.html"}, status: 204,
			get: "<header>\n<p>A</p>\n<footer>\n"},
		{method: "COPY", path: "/pages/a/index.html", fields: map[string]string{"Destination": "/pages/b/index.html", "Overwrite": "F"}, status: 412},
		{method: "MOVE", path: "/pages/b/", fields: map[string]string{"Destination": "/pages/c/"}, status: 201},
		{method: "GET", path: "/pages/c/index.html", status: 200, get: "<header>\n<p>A</p>\n<footer>\n"},
		{method: "DELETE", path: "/pages/", status: 409},
		{method: "DELETE", path: "/pages/c", status: 409},
		{method: "DELETE", path: "/pages/c/", status: 204},
		{method: "GET", path: "/pages/c/index.html", status: 404},
		{method: "DELETE", path: "/pages/a/notes.txt", status: 204},
		{method: "POST", path: "/pages/a/index.html", status: 405},
	}
	for i, s := range steps {
		t.Run(fmt.Sprintf("%02d %s %s", i, s.method, s.path), func(t *testing.T) {
			req, err := http.NewRequest(s.method, base+s.path, strings.NewReader(s.body))
			if err != nil {
				t.Fatal(err)
			}
			for k, v := range s.fields {
				req.Header.Set(k, v)
			}
			resp, err := http.DefaultTransport.RoundTrip(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != s.status {
				t.Fatalf("status %d, want %d (%q)", resp.StatusCode, s.status, body)
			}
			if want := s.location; want != "" && resp.Header.Get("Location") != base+want || want == "" && resp.Header.Get("Location") != "" {
				t.Errorf("Location %q, want %q", resp.Header.Get("Location"), s.location)
			}
			if s.get == "" {
				return
			}
			g, err := http.Get(base + s.path)
			if err != nil {
				t.Fatal(err)
			}
			got, _ := io.ReadAll(g.Body)
			g.Body.Close()
			if g.StatusCode != 200 || string(got) != s.get {
				t.Errorf("GET: %d %q, want 200 %q", g.StatusCode, got, s.get)
			}
		})
	}
	fi, err := os.Stat(filepath.Join(in.dir, "site", "pages", "a", "index.html"))
	if err != nil || fi.Mode().Perm() != 0o640 {
		t.Errorf("the uploaded page: %v %v, want mode 640 (dav_access user:rw group:r)", fi, err)
	}
	waitFor(t, "the PUT to a collection in the error log", func() bool { return in.logged("cannot PUT to a collection") })
}

// TestDAVConfigTest checks "fulcrum -t" on the dav and addition directives:
// nginx's errors, with file and line.
func TestDAVConfigTest(t *testing.T) {
	conf := func(inner string) string {
		return "events {}\nhttp {\n    server {\n        listen 127.0.0.1:8080;\n        location / {\n            " + inner + "\n        }\n    }\n}\n"
	}
	tests := []struct{ inner, want string }{
		{"dav_methods PUT DELETE MKCOL COPY MOVE; dav_access user:rw group:r all:r; create_full_put_path on; min_delete_depth 1; add_before_body /h; add_after_body /f; addition_types text/plain;", ""},
		{"dav_methods PUT GET;", `fulcrum: [emerg] invalid value "GET" in %s:6`},
		{"dav_access users:rw;", `fulcrum: [emerg] invalid value "users:rw" in %s:6`},
		{"min_delete_depth deep;", `fulcrum: [emerg] "min_delete_depth" directive invalid number in %s:6`},
		{"add_after_body /a /b;", `fulcrum: [emerg] invalid number of arguments in "add_after_body" directive in %s:6`},
	}
	for _, tt := range tests {
		t.Run(tt.inner, func(t *testing.T) {
			t.Parallel()
			dir := writeFiles(t, t.TempDir(), map[string]string{"fulcrum.conf": conf(tt.inner)})
			path := filepath.Join(dir, "fulcrum.conf")
			r := runFulcrum(t, "-t", "-c", path)
			if tt.want == "" {
				if r.code != 0 || r.stderr != okLines(path) {
					t.Errorf("exit %d, stderr %q; want 0 and no warning", r.code, r.stderr)
				}
				return
			}
			first, _, _ := strings.Cut(r.stderr, "\n")
			if want := fmt.Sprintf(tt.want, path); r.code != 1 || (first != want && !strings.HasPrefix(first, want+", ")) {
				t.Errorf("exit %d, first line %q, want 1 and %q", r.code, first, want)
			}
		})
	}
}

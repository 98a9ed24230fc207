package integration

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"fulcrum/internal/testutil"
)

// TestStaticFilesAndErrorPages serves Debian's default site shape (root, index,
// try_files $uri $uri/ =404) and error_page in its three forms. An error page
// that fails answers with its own status and nginx's plain page (nginx 1.22:
// 404 for a missing page, whatever error_page said; 403 for a denied one).
func TestStaticFilesAndErrorPages(t *testing.T) {
	refused := testutil.RefusedAddr(t)
	root := t.TempDir()
	writeFiles(t, root, map[string]string{
		"index.html":     "home",
		"docs/a.txt":     "alpha",
		"docs/index.htm": "docs index",
		"404.html":       "custom not found",
		"50x.html":       "custom upstream error",
	})
	in := startFulcrum(t, fmt.Sprintf(`
events {}
http {
    types { text/html html htm; text/plain txt; }
    default_type application/octet-stream;
    server {
        listen 127.0.0.1:0;
        root %s;
        index index.html index.htm;
        error_page 404 /404.html;
        location / { try_files $uri $uri/ =404; }
        location /up/ {
            error_page 502 =503 /50x.html;
            proxy_pass http://%s;
        }
        location /gone { return 410; error_page 410 http://example.test/gone; }
        location /named { error_page 502 = @fallback; proxy_pass http://%s; }
        location @fallback { return 200 "from fallback"; }
        location /page-missing { error_page 403 /nope.html; return 403; }
        location /page-status { error_page 410 =200 /nope.html; return 410; }
        location /page-denied { error_page 410 =200 /closed/x; return 410; }
        location /closed/ { deny all; }
    }
}`, root, refused, refused), 1)
	client := newClient()
	tests := []struct {
		path, wantBody, wantType, wantLocation string
		wantCode                               int
	}{
		{"/", "home", "text/html", "", 200},
		{"/docs/a.txt", "alpha", "text/plain", "", 200},
		{"/docs/", "docs index", "text/html", "", 200},
		{"/docs", "", "", "/docs/", 301},
		{"/missing", "custom not found", "text/html", "", 404},
		{"/up/x", "custom upstream error", "text/html", "", 503},
		{"/gone", "", "", "http://example.test/gone", 302},
		{"/named", "from fallback", "", "", 200},
		{"/page-missing", "", "text/html", "", 404},
		{"/page-status", "", "text/html", "", 404},
		{"/page-denied", "", "text/html", "", 403},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodGet, in.url(0)+tt.path, nil)
			resp, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body := readAll(resp)
			if resp.StatusCode != tt.wantCode {
				t.Errorf("status %d, want %d (%q)", resp.StatusCode, tt.wantCode, body)
			}
			if tt.wantBody != "" && body != tt.wantBody {
				t.Errorf("body %q, want %q", body, tt.wantBody)
			}
			if tt.wantType != "" && !strings.HasPrefix(resp.Header.Get("Content-Type"), tt.wantType) {
				t.Errorf("Content-Type %q, want %q", resp.Header.Get("Content-Type"), tt.wantType)
			}
			if loc := resp.Header.Get("Location"); tt.wantLocation != "" && !strings.HasSuffix(loc, tt.wantLocation) {
				t.Errorf("Location %q, want ...%q", loc, tt.wantLocation)
			}
		})
	}
	// A file outside the root stays unreachable, through a symlink too.
	secret := filepath.Join(t.TempDir(), "secret")
	os.WriteFile(secret, []byte("secret"), 0o644)
	os.Symlink(secret, filepath.Join(root, "link"))
	for _, p := range []string{"/link", "/../secret", "/%2e%2e/secret"} {
		code, body := get(t, client, in.url(0)+p)
		if strings.Contains(body, "secret") && code == 200 {
			t.Errorf("GET %s served a file outside the root", p)
		}
	}
}

func readAll(resp *http.Response) string {
	var b strings.Builder
	buf := make([]byte, 4096)
	for {
		n, err := resp.Body.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			return b.String()
		}
	}
}

// TestStaticURIAfterIndexAndTryFiles checks $uri and $document_uri where nginx
// changes them: an index file (its internal redirect), a try_files entry that
// matched, and what follows either (a 301 from a directory entry, a 405). The
// expectations are nginx 1.22.1's for the same configuration and requests;
// add_header sees the new $uri too.
func TestStaticURIAfterIndexAndTryFiles(t *testing.T) {
	root := t.TempDir()
	writeFiles(t, root, map[string]string{"index.html": "home", "d/index.html": "d index"})
	in := startFulcrum(t, fmt.Sprintf(`
events {}
http {
    log_format u '$http_x_req uri=$uri document_uri=$document_uri status=$status';
    access_log %%DIR%%/access.log u buffer=0;
    server {
        listen 127.0.0.1:0;
        root %s;
        location /tf/ { try_files /nonexist /index.html =404; }
        location /tfd/ { try_files /nonexist /d/ =404; }
        location / { add_header X-U "u=$uri"; }
    }
}`, root), 1)
	client := newClient()
	tests := []struct {
		method, path string
		status       int
		uri          string // $uri and $document_uri in the log
		header       string // X-U, from add_header ("" for none)
	}{
		{"GET", "/", 200, "/index.html", "u=/index.html"},
		{"GET", "/d/", 200, "/d/index.html", "u=/d/index.html"},
		{"GET", "/d", 301, "/d", "u=/d"},
		{"GET", "/tf/zzz", 200, "/index.html", ""},
		{"GET", "/tfd/zzz", 301, "/d", ""},
		{"PUT", "/tf/zzz", 405, "/index.html", ""},
		{"POST", "/d/", 405, "/d/index.html", ""},
		{"GET", "/missing", 404, "/missing", ""},
	}
	for i, tt := range tests {
		req, err := http.NewRequest(tt.method, in.url(0)+tt.path, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("X-Req", strconv.Itoa(i))
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", tt.method, tt.path, err)
		}
		resp.Body.Close()
		if resp.StatusCode != tt.status || resp.Header.Get("X-U") != tt.header {
			t.Errorf("%s %s: %d X-U %q, want %d %q", tt.method, tt.path, resp.StatusCode,
				resp.Header.Get("X-U"), tt.status, tt.header)
		}
	}
	lines := waitLines(t, filepath.Join(in.dir, "access.log"), len(tests))
	for i, tt := range tests {
		want := fmt.Sprintf("%d uri=%s document_uri=%s status=%d", i, tt.uri, tt.uri, tt.status)
		if !slices.Contains(lines, want) {
			t.Errorf("%s %s: no log line %q in\n%s", tt.method, tt.path, want, strings.Join(lines, "\n"))
		}
	}
}

// TestStaticHeadsLikeNginx checks the heads of static answers on the wire,
// field names as spelt, against what nginx 1.22.1 sent for the same files and
// requests: Last-Modified on a 304, no Accept-Ranges on a 206, nginx's error
// pages for 412 and 416, and an error_page served from a file without
// Last-Modified or Accept-Ranges, whole whatever Range or If-None-Match say.
func TestStaticHeadsLikeNginx(t *testing.T) {
	t.Parallel() // its own process, backends and temp dir; no upper time bound
	root := t.TempDir()
	writeFiles(t, root, map[string]string{"r.txt": "0123456789\n", "404.html": "not found page\n"})
	mod := time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, f := range []string{"r.txt", "404.html"} {
		if err := os.Chtimes(filepath.Join(root, f), mod, mod); err != nil {
			t.Fatal(err)
		}
	}
	in := startFulcrum(t, fmt.Sprintf(`
events {}
http {
    server {
        listen 127.0.0.1:0;
        root %s;
        error_page 404 /404.html;
        location / {}
        location /ok/ { error_page 404 =200 /404.html; }
        location /gone/ { error_page 404 =503 /nope.html; }
        location /gone200/ { error_page 404 =200 /nope.html; }
    }
}`, root), 1)
	const lastMod = "Last-Modified: Tue, 02 Jan 2024 03:04:05 GMT"
	tests := []struct {
		name, path, header string
		status             int
		fields             []string // lines the head must have, as spelt
		absent             []string // field names it must not have
		body               string   // exact, unless empty
	}{
		{"200", "/r.txt", "", 200,
			[]string{"Content-Type: text/plain", "Content-Length: 11", lastMod, `ETag: "65937d25-b"`, "Accept-Ranges: bytes"},
			[]string{"Content-Range"}, "0123456789\n"},
		{"304 If-None-Match", "/r.txt", `If-None-Match: "65937d25-b"`, 304,
			[]string{lastMod, `ETag: "65937d25-b"`}, []string{"Content-Type", "Content-Length", "Accept-Ranges"}, ""},
		{"304 If-Modified-Since", "/r.txt", "If-Modified-Since: Tue, 02 Jan 2024 03:04:05 GMT", 304,
			[]string{lastMod, `ETag: "65937d25-b"`}, []string{"Content-Type", "Content-Length", "Accept-Ranges"}, ""},
		{"206", "/r.txt", "Range: bytes=0-3", 206,
			[]string{"Content-Type: text/plain", "Content-Length: 4", lastMod, `ETag: "65937d25-b"`, "Content-Range: bytes 0-3/11"},
			[]string{"Accept-Ranges"}, "0123"},
		{"416", "/r.txt", "Range: bytes=20-30", 416,
			[]string{"Content-Type: text/html", "Content-Range: bytes */11"},
			[]string{"Last-Modified", "ETag", "Accept-Ranges"}, ""},
		{"412", "/r.txt", `If-Match: "x"`, 412,
			[]string{"Content-Type: text/html"}, []string{"Last-Modified", "ETag", "Accept-Ranges"}, ""},
		{"error page", "/missing", "", 404,
			[]string{"Content-Type: text/html", "Content-Length: 15", `ETag: "65937d25-f"`},
			[]string{"Last-Modified", "Accept-Ranges"}, "not found page\n"},
		{"error page with Range", "/missing", "Range: bytes=0-3", 404,
			[]string{"Content-Length: 15", `ETag: "65937d25-f"`},
			[]string{"Last-Modified", "Accept-Ranges", "Content-Range"}, "not found page\n"},
		{"error page with If-None-Match", "/missing", `If-None-Match: "65937d25-f"`, 404,
			[]string{"Content-Length: 15", `ETag: "65937d25-f"`}, []string{"Last-Modified", "Accept-Ranges"}, "not found page\n"},
		// error_page 404 =200: the page is a 200, which the filters still see.
		{"error page =200", "/ok/x", "", 200,
			[]string{"Content-Length: 15", lastMod, `ETag: "65937d25-f"`, "Accept-Ranges: bytes"}, nil, "not found page\n"},
		{"error page =200 with Range", "/ok/x", "Range: bytes=0-3", 206,
			[]string{"Content-Length: 4", lastMod, "Content-Range: bytes 0-3/15"}, []string{"Accept-Ranges"}, "not "},
		{"error page =200 with If-None-Match", "/ok/x", `If-None-Match: "65937d25-f"`, 304,
			[]string{lastMod, `ETag: "65937d25-f"`}, []string{"Content-Length"}, ""},
		// A missing error page is the 404 it found, whatever error_page's code.
		{"missing error page =503", "/gone/x", "", 404, []string{"Content-Type: text/html"}, []string{"ETag"}, ""},
		{"missing error page =200", "/gone200/x", "", 404, []string{"Content-Type: text/html"}, []string{"ETag"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			extra := ""
			if tt.header != "" {
				extra = tt.header + "\r\n"
			}
			status, fields, body := rawGet(t, in.listening()[0], tt.path, extra)
			if status != tt.status {
				t.Fatalf("status %d, want %d\n%s", status, tt.status, strings.Join(fields, "\n"))
			}
			for _, want := range tt.fields {
				if !slices.Contains(fields, want) {
					t.Errorf("no %q in\n%s", want, strings.Join(fields, "\n"))
				}
			}
			for _, name := range tt.absent {
				for _, f := range fields {
					if n, _, _ := strings.Cut(f, ":"); strings.EqualFold(n, name) {
						t.Errorf("unexpected %q", f)
					}
				}
			}
			if tt.body != "" && body != tt.body {
				t.Errorf("body %q, want %q", body, tt.body)
			}
		})
	}
}

// rawGet sends a GET with extra header lines on a new connection and returns
// the status, the head's field lines as they came, and the body.
func rawGet(t *testing.T, addr, path, extra string) (int, []string, string) {
	t.Helper()
	return rawExchange(t, addr, "GET", path, extra, "")
}

// rawExchange sends one request (Host "test", the extra field lines, then
// body) on a new connection that closes after it, and returns the status,
// the head's field lines as they came, and the body.
func rawExchange(t *testing.T, addr, method, target, extra, body string) (int, []string, string) {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	req := method + " " + target + " HTTP/1.1\r\nHost: test\r\n" + extra + "Connection: close\r\n\r\n" + body
	if _, err := io.WriteString(c, req); err != nil {
		t.Fatal(err)
	}
	raw, err := io.ReadAll(c)
	if err != nil {
		t.Fatalf("read the response: %v", err)
	}
	head, respBody, ok := strings.Cut(string(raw), "\r\n\r\n")
	if !ok {
		t.Fatalf("no end of head in %q", raw)
	}
	lines := strings.Split(head, "\r\n")
	var status int
	if _, err := fmt.Sscanf(lines[0], "HTTP/1.1 %d", &status); err != nil {
		t.Fatalf("status line %q: %v", lines[0], err)
	}
	return status, lines[1:], respBody
}

// TestIndexFileInAnotherLocation: nginx reaches an index file by an internal
// redirect, so the location that owns the file's URI decides: a
// "location ~ \.php$ { deny all; }" refuses GET / when the index is
// index.php (fulcrum used to send the PHP source), an exact location for
// the index file answers instead of the file. With no location for the URI,
// or the same location, the file is served. Answers from nginx 1.22.
func TestIndexFileInAnotherLocation(t *testing.T) {
	root := t.TempDir()
	writeFiles(t, root, map[string]string{
		"index.php":        "<?php secret(); ?>",
		"sub/index.html":   "sub index",
		"other/index.html": "other index",
		"exact/index.html": "exact index",
	})
	in := startFulcrum(t, fmt.Sprintf(`
events {}
http {
    server {
        listen 127.0.0.1:0;
        root %s;
        index index.php index.html;
        location / { }
        location ~ \.php$ { deny all; }
        location /other/ { }
        location = /other/index.html { return 200 "exact location\n"; }
        location = /exact/ { }
    }
}`, root), 1)
	client := newClient()
	for _, tt := range []struct {
		path, body string
		code       int
	}{
		{"/", "", 403},
		{"/sub/", "sub index", 200},
		{"/other/", "exact location\n", 200},
		{"/exact/", "exact index", 200},
	} {
		code, body := get(t, client, in.url(0)+tt.path)
		if code != tt.code || tt.body != "" && body != tt.body {
			t.Errorf("GET %s: %d %q, want %d %q", tt.path, code, body, tt.code, tt.body)
		}
	}
	waitFor(t, "the refusal in the error log", func() bool {
		return in.logged(`access forbidden by rule, client: 127.0.0.1, server: , request: "GET / HTTP/1.1"`)
	})
}

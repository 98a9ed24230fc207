package integration

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// TestStaticFilesAndErrorPages serves Debian's default site shape (root, index,
// try_files $uri $uri/ =404) and error_page in its three forms.
func TestStaticFilesAndErrorPages(t *testing.T) {
	refused := closedPort(t)
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
    access_log %%DIR%%/access.log u;
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

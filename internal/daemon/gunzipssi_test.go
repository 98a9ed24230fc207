package daemon_test

import (
	"bytes"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestGunzipInSubrequest: an SSI include whose response is gzip under
// "gunzip on" goes into the page decompressed, whether the client takes
// gzip or not, as nginx's ngx_http_gzip_ok declines for a subrequest
// (nginx-tests' gunzip_ssi.t; recorded with nginx 1.22.1: "xxx <!--#include
// virtual="/t1" --> xxx", /t1 from gzip_static always or from a proxied
// gzip response, gives "xxx X000XXXXXX... xxx" without and with
// "Accept-Encoding: gzip"). fulcrum output nothing for the include without
// Accept-Encoding (the gunzip filter's output never left the subrequest)
// and the gzip bytes with it.
func TestGunzipInSubrequest(t *testing.T) {
	dir := t.TempDir()
	root := filepath.Join(dir, "root")
	if err := os.MkdirAll(root, 0o755); err != nil {
		t.Fatal(err)
	}
	plain := strings.Repeat("X000XXXXXX", 100)
	gz := gzipBytes(t, plain)
	files := map[string]string{
		"t1.gz":   string(gz),
		"s.html":  `xxx <!--#include virtual="/direct/t1" --> xxx`,
		"p.html":  `xxx <!--#include virtual="/proxied/t1" --> xxx`,
		"ok.html": "ok",
	}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(root, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	backend := startDaemon(t, dir, fmt.Sprintf(`
    access_log off;
    server {
        listen 127.0.0.1:0;
        root %s;
        location / { default_type text/plain; gzip_static on; gzip_http_version 1.0; }
    }`, root))
	addr := startDaemon(t, t.TempDir(), fmt.Sprintf(`
    access_log off;
    server {
        listen 127.0.0.1:0;
        root %[1]s;
        location / { ssi on; }
        location /direct/ { gunzip on; gzip_static always; alias %[1]s/; }
        location /proxied/ { gunzip on; proxy_pass http://%[2]s/; proxy_set_header Accept-Encoding gzip; }
    }`, root, backend))
	want := "xxx " + plain + " xxx"
	for _, page := range []string{"/s.html", "/p.html"} {
		for _, ae := range []string{"", "gzip"} {
			req, _ := http.NewRequest("GET", "http://"+addr+page, nil)
			req.Header.Set("Accept-Encoding", ae)
			if ae == "" {
				req.Header.Del("Accept-Encoding")
			}
			tr := &http.Transport{DisableCompression: true}
			resp, err := (&http.Client{Transport: tr}).Do(req)
			if err != nil {
				t.Fatal(err)
			}
			var body bytes.Buffer
			body.ReadFrom(resp.Body)
			resp.Body.Close()
			tr.CloseIdleConnections()
			if body.String() != want {
				t.Errorf("%s with Accept-Encoding %q: %q, want the include decompressed", page, ae, body.String())
			}
		}
	}
}

// TestGzipStaticErrorPage: an error page that gzip_static serves from
// FILE.gz goes out with the error's status and "Content-Encoding: gzip",
// and gunzip decompresses it for a client without gzip, as nginx's
// gzip_static handler does not look at the error status (nginx-tests'
// gunzip_static.t, "errors gunzipped", "gunzip with gzip_tested";
// recorded with nginx 1.22.1: "error_page 500 /t1; return 500;" with only
// t1.gz answers 500 with the decompressed body, or the .gz and
// Content-Encoding for "Accept-Encoding: gzip"; so does "error_page 404
// @double;" to a named location with "rewrite ^ /t1 break; gunzip on;
// gzip_static always;"). fulcrum skipped gzip_static for an error page
// (404 for /t1), and sent a .gz as an error page without its
// Content-Encoding.
func TestGzipStaticErrorPage(t *testing.T) {
	dir := t.TempDir()
	root := filepath.Join(dir, "root")
	if err := os.MkdirAll(root, 0o755); err != nil {
		t.Fatal(err)
	}
	plain := strings.Repeat("X000XXXXXX", 100)
	gz := gzipBytes(t, plain)
	if err := os.WriteFile(filepath.Join(root, "t1.gz"), gz, 0o644); err != nil {
		t.Fatal(err)
	}
	addr := startDaemon(t, dir, fmt.Sprintf(`
    access_log off;
    server {
        listen 127.0.0.1:0;
        root %s;
        location / { gunzip on; gzip_static always; }
        location = /double { error_page 404 @double; gzip_static on; }
        location @double { rewrite ^ /t1 break; gunzip on; gzip_static always; }
        location /error { error_page 500 /t1; return 500; }
    }`, root))
	for _, tc := range []struct {
		target string
		code   int
	}{{"/error", 500}, {"/double", 404}} {
		for _, ae := range []string{"", "gzip"} {
			req, _ := http.NewRequest("GET", "http://"+addr+tc.target, nil)
			if ae != "" {
				req.Header.Set("Accept-Encoding", ae)
			}
			tr := &http.Transport{DisableCompression: true}
			resp, err := (&http.Client{Transport: tr}).Do(req)
			if err != nil {
				t.Fatal(err)
			}
			var body bytes.Buffer
			body.ReadFrom(resp.Body)
			resp.Body.Close()
			tr.CloseIdleConnections()
			want, wantCE := plain, ""
			if ae != "" {
				want, wantCE = string(gz), "gzip"
			}
			if resp.StatusCode != tc.code || body.String() != want || resp.Header.Get("Content-Encoding") != wantCE {
				t.Errorf("%s with Accept-Encoding %q: %d, Content-Encoding %q, body %q; want %d, %q and the file", tc.target, ae, resp.StatusCode, resp.Header.Get("Content-Encoding"), body.String(), tc.code, wantCE)
			}
		}
	}
}

package daemon_test

import (
	"bytes"
	"compress/gzip"
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
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write([]byte(plain))
	zw.Close()
	files := map[string]string{
		"t1.gz":   gz.String(),
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

package daemon_test

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestFLV checks the flv module's answers against what nginx 1.22.1 sent
// for the same file and requests: "?start=N" below the size sends the FLV
// header and the file from N, as one body for ETag, Content-Length, ranges
// and conditionals; anything else sends the file whole. An index file the
// location serves itself gets the same (nginx's internal redirect lands in
// the location again).
func TestFLV(t *testing.T) {
	dir := t.TempDir()
	const header = "FLV\x01\x05\x00\x00\x00\x09\x00\x00\x00\x00"
	file := header + "ABCDEFGHIJKLMNOPQRSTUVWXYZ" // 39 bytes
	if err := os.MkdirAll(filepath.Join(dir, "www/d.flv"), 0o755); err != nil {
		t.Fatal(err)
	}
	mod := time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, name := range []string{"v/a.flv", "p/a.flv", "v/dd/index.html"} {
		writeDated(t, filepath.Join(dir, "www", name), []byte(file), mod)
	}
	conf := strings.NewReplacer("DIR", dir).Replace(`
error_log DIR/error.log notice;
pid DIR/fulcrum.pid;
events {}
http {
    access_log off;
    types { video/x-flv flv; }
    server {
        listen 127.0.0.1:0;
        root DIR/www;
        location ~ \.flv$ { flv; }
        location ^~ /m/ { alias DIR/www/v/; flv; }
        location ^~ /p/ { proxy_pass http://127.0.0.1:9; flv; }
    }
}`)
	confPath := filepath.Join(dir, "fulcrum.conf")
	if err := os.WriteFile(confPath, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	addr, _ := runConfigFile(t, confPath)
	tag := func(size int) string { return fmt.Sprintf(`"%x-%x"`, mod.Unix(), size) }
	from20 := header + file[20:]
	tests := []struct {
		name, method, target string
		hdr                  []string
		code                 int
		body                 string // "" for HEAD and 304
		length               int
		etag                 string
	}{
		{"whole", "GET", "/v/a.flv", nil, 200, file, 39, tag(39)},
		{"start 0", "GET", "/v/a.flv?start=0", nil, 200, file, 39, tag(39)},
		{"start 20", "GET", "/v/a.flv?start=20", nil, 200, from20, 32, tag(32)},
		{"start 1", "GET", "/v/a.flv?start=1", nil, 200, header + file[1:], 51, tag(51)},
		{"start at the end", "GET", "/v/a.flv?start=39", nil, 200, file, 39, tag(39)},
		{"start past the end", "GET", "/v/a.flv?start=100", nil, 200, file, 39, tag(39)},
		{"not a number", "GET", "/v/a.flv?start=abc", nil, 200, file, 39, tag(39)},
		{"negative", "GET", "/v/a.flv?start=-5", nil, 200, file, 39, tag(39)},
		{"plus sign", "GET", "/v/a.flv?start=+20", nil, 200, file, 39, tag(39)},
		{"leading zero", "GET", "/v/a.flv?start=020", nil, 200, from20, 32, tag(32)},
		{"first start", "GET", "/v/a.flv?start=20&start=30", nil, 200, from20, 32, tag(32)},
		{"after another arg", "GET", "/v/a.flv?x=1&start=20", nil, 200, from20, 32, tag(32)},
		{"name in capitals", "GET", "/v/a.flv?START=20", nil, 200, from20, 32, tag(32)},
		{"HEAD", "HEAD", "/v/a.flv?start=20", nil, 200, "", 32, tag(32)},
		{"range of the new body", "GET", "/v/a.flv?start=20", []string{"Range", "bytes=0-4"}, 206, header[:5], 5, tag(32)},
		{"range across", "GET", "/v/a.flv?start=20", []string{"Range", "bytes=10-15"}, 206, from20[10:16], 6, tag(32)},
		{"If-None-Match of the new body", "GET", "/v/a.flv?start=20", []string{"If-None-Match", tag(32)}, 304, "", -1, tag(32)},
		{"If-None-Match of the file", "GET", "/v/a.flv?start=20", []string{"If-None-Match", tag(39)}, 200, from20, 32, tag(32)},
		{"If-Modified-Since", "GET", "/v/a.flv?start=20", []string{"If-Modified-Since", mod.Format(http.TimeFormat)}, 304, "", -1, tag(32)},
		{"alias", "GET", "/m/a.flv?start=20", nil, 200, from20, 32, tag(32)},
		{"index file in the location", "GET", "/m/dd/?start=20", nil, 200, from20, 32, tag(32)},
		{"flv after proxy_pass answers", "GET", "/p/a.flv?start=20", nil, 200, from20, 32, tag(32)},
		{"POST", "POST", "/v/a.flv", nil, 405, "", -1, ""},
		{"missing", "GET", "/v/none.flv", nil, 404, "", -1, ""},
		{"POST missing", "POST", "/v/none.flv", nil, 405, "", -1, ""},
		{"POST directory", "POST", "/m/", nil, 405, "", -1, ""},
		{"directory", "GET", "/d.flv", nil, 301, "", -1, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp, b := fetchWith(t, tc.method, "http://"+addr+tc.target, tc.hdr...)
			if resp.StatusCode != tc.code {
				t.Fatalf("status %d, want %d", resp.StatusCode, tc.code)
			}
			if tc.code >= 300 && tc.code != 304 {
				return
			}
			if string(b) != tc.body {
				t.Errorf("body %q, want %q", b, tc.body)
			}
			if tc.length >= 0 && resp.Header.Get("Content-Length") != strconv.Itoa(tc.length) {
				t.Errorf("Content-Length %q, want %d", resp.Header.Get("Content-Length"), tc.length)
			}
			if got := resp.Header.Get("Etag"); got != tc.etag {
				t.Errorf("ETag %q, want %q", got, tc.etag)
			}
			if tc.code == 200 && !strings.HasSuffix(tc.target, "/?start=20") && resp.Header.Get("Content-Type") != "video/x-flv" {
				t.Errorf("Content-Type %q", resp.Header.Get("Content-Type"))
			}
		})
	}
}

// writeDated writes b to path, with its directories, and dates it mod: a
// file whose Last-Modified and ETag a test can spell out.
func writeDated(t *testing.T, path string, b []byte, mod time.Time) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(path, mod, mod); err != nil {
		t.Fatal(err)
	}
}

// fetchWith sends method to url with the header fields given as name, value
// pairs, without following redirects, and returns the response and its body.
func fetchWith(t *testing.T, method, url string, hdr ...string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := noRedirects.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, b
}

package daemon_test

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"fulcrum/internal/mp4"
)

// TestMP4 checks the mp4 module's answers against what nginx 1.22.1 sent
// for the same files and requests (internal/mp4's TestNginx compares the
// bodies themselves): a file cut by "start" and "end" goes out as one
// body for Content-Length, the ETag, one byte range at most and the
// conditionals; a file nginx refuses gets 500 and nginx's error log line;
// without arguments, or from 0 on a file whose moov atom comes first, the
// file goes out whole.
func TestMP4(t *testing.T) {
	dir := t.TempDir()
	mod := time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC)
	files := map[string][]byte{"page.mp4": []byte("<html>not a movie</html>\n")}
	for _, name := range []string{"av.mp4", "av-fast.mp4"} {
		b, err := os.ReadFile(filepath.Join("..", "mp4", "testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		files[name] = b
	}
	if err := os.MkdirAll(filepath.Join(dir, "www/v/d.mp4"), 0o755); err != nil {
		t.Fatal(err)
	}
	for name, b := range files {
		writeDated(t, filepath.Join(dir, "www/v", name), b, mod)
	}
	conf := strings.NewReplacer("DIR", dir).Replace(`
error_log DIR/error.log notice;
pid DIR/fulcrum.pid;
events {}
http {
    access_log off;
    types { video/mp4 mp4; }
    server {
        listen 127.0.0.1:0;
        root DIR/www;
        location /v/ { mp4; }
        location /k/ { alias DIR/www/v/; mp4; mp4_start_key_frame on; }
        location /s/ { alias DIR/www/v/; mp4; mp4_buffer_size 1k; mp4_max_buffer_size 2k; }
        location /p/ { alias DIR/www/v/; proxy_pass http://127.0.0.1:9; mp4; }
        location /plain/ { alias DIR/www/v/; }
    }
}`)
	confPath := filepath.Join(dir, "fulcrum.conf")
	if err := os.WriteFile(confPath, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	addr, _ := runConfigFile(t, confPath)
	tag := func(size int) string { return fmt.Sprintf(`"%x-%x"`, mod.Unix(), size) }
	cutAV := func(rng mp4.Range, opt mp4.Options) string {
		b := files["av.mp4"]
		body, err := mp4.Rewrite(bytes.NewReader(b), int64(len(b)), "av.mp4", rng, opt)
		if err != nil {
			t.Fatal(err)
		}
		out, _ := io.ReadAll(io.NewSectionReader(body, 0, body.Size()))
		return string(out)
	}
	av, fast := string(files["av.mp4"]), string(files["av-fast.mp4"])
	from15 := cutAV(mp4.Range{Start: 1500}, mp4.Options{})
	if len(from15) != 5195 { // nginx's Content-Length for it
		t.Fatalf("av.mp4 from 1.5 s is %d bytes, nginx's 5195", len(from15))
	}
	keyFrame := cutAV(mp4.Range{Start: 1500}, mp4.Options{StartKeyFrame: true})
	tests := []struct {
		name, method, target string
		hdr                  []string
		code                 int
		body                 string // "" for HEAD, 304 and errors
		length               int    // -1: not checked
		etag                 string
		log                  string // an error log line, "level message"
	}{
		{"whole", "GET", "/v/av.mp4", nil, 200, av, len(av), tag(len(av)), ""},
		{"cut", "GET", "/v/av.mp4?start=1.5", nil, 200, from15, 5195, `"5e0d5da5-144b"`, ""},
		{"cut to an end", "GET", "/v/av.mp4?start=0.5&end=2.5", nil, 200, cutAV(mp4.Range{Start: 500, Length: 2000}, mp4.Options{}), -1, "", ""},
		{"end alone", "GET", "/v/av.mp4?END=2", nil, 200, cutAV(mp4.Range{Length: 2000}, mp4.Options{}), -1, "", ""},
		{"key frame", "GET", "/k/av.mp4?start=1.5", nil, 200, keyFrame, len(keyFrame), tag(len(keyFrame)), ""},
		{"moov first, start 0", "GET", "/v/av-fast.mp4?start=0", nil, 200, fast, len(fast), tag(len(fast)), ""},
		{"not a number", "GET", "/v/av.mp4?start=abc", nil, 200, av, len(av), tag(len(av)), ""},
		{"HEAD", "HEAD", "/v/av.mp4?start=1.5", nil, 200, "", 5195, tag(5195), ""},
		{"range of the cut", "GET", "/v/av.mp4?start=1.5", []string{"Range", "bytes=0-9"}, 206, from15[:10], 10, tag(5195), ""},
		{"two ranges of the cut", "GET", "/v/av.mp4?start=1.5", []string{"Range", "bytes=0-9,20-29"}, 200, from15, 5195, tag(5195), ""},
		{"two ranges, moov first, start 0", "GET", "/v/av-fast.mp4?start=0", []string{"Range", "bytes=0-9,20-29"}, 200, fast, len(fast), tag(len(fast)), ""},
		{"range past the cut", "GET", "/v/av.mp4?start=1.5", []string{"Range", "bytes=9000-9100"}, 416, "", -1, "", ""},
		{"If-None-Match of the cut", "GET", "/v/av.mp4?start=1.5", []string{"If-None-Match", tag(5195)}, 304, "", -1, tag(5195), ""},
		{"If-None-Match of the file", "GET", "/v/av.mp4?start=1.5", []string{"If-None-Match", tag(len(av))}, 200, from15, 5195, tag(5195), ""},
		{"start past the end", "GET", "/v/av.mp4?start=100", nil, 500, "", -1, "",
			`error "DIR/www/v/av.mp4" mp4 start time exceeds file duration, client: 127.0.0.1, server: , request: "GET /v/av.mp4?start=100 HTTP/1.1"`},
		{"moov larger than the buffers", "GET", "/s/av.mp4?start=1", nil, 500, "", -1, "",
			`error "DIR/www/v/av.mp4" mp4 moov atom is too large:2205, you may want to increase mp4_max_buffer_size, client: 127.0.0.1`},
		{"not an mp4 file", "GET", "/v/page.mp4?start=1", nil, 500, "", -1, "",
			`error "DIR/www/v/page.mp4" mp4 atom too large:1013478509, client: 127.0.0.1`},
		{"not an mp4 file, whole", "GET", "/v/page.mp4", nil, 200, string(files["page.mp4"]), -1, "", ""},
		{"mp4 after proxy_pass answers", "GET", "/p/av.mp4?start=1.5", nil, 200, from15, 5195, tag(5195), ""},
		{"no mp4", "GET", "/plain/av.mp4?start=1.5", nil, 200, av, len(av), tag(len(av)), ""},
		{"POST", "POST", "/v/av.mp4?start=1", nil, 405, "", -1, "", ""},
		{"POST to a missing file", "POST", "/v/none.mp4", nil, 405, "", -1, "", ""},
		{"missing", "GET", "/v/none.mp4?start=1", nil, 404, "", -1, "", ""},
		{"directory", "GET", "/v/d.mp4?start=1", nil, 301, "", -1, "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp, b := fetchWith(t, tc.method, "http://"+addr+tc.target, tc.hdr...)
			if resp.StatusCode != tc.code {
				t.Fatalf("status %d, want %d", resp.StatusCode, tc.code)
			}
			if tc.log != "" {
				waitForLog(t, filepath.Join(dir, "error.log"), strings.ReplaceAll(tc.log, "DIR", dir))
				if !resp.Close {
					t.Error("a 500 kept the connection open; nginx closes it")
				}
			}
			if tc.code >= 300 && tc.code != 304 {
				return
			}
			if string(b) != tc.body {
				t.Errorf("body of %d bytes, want %d", len(b), len(tc.body))
			}
			if tc.length >= 0 && resp.Header.Get("Content-Length") != strconv.Itoa(tc.length) {
				t.Errorf("Content-Length %q, want %d", resp.Header.Get("Content-Length"), tc.length)
			}
			if tc.etag != "" && resp.Header.Get("Etag") != tc.etag {
				t.Errorf("ETag %q, want %q", resp.Header.Get("Etag"), tc.etag)
			}
			if tc.code == 200 && tc.length > 0 && resp.Header.Get("Accept-Ranges") != "bytes" {
				t.Errorf("Accept-Ranges %q", resp.Header.Get("Accept-Ranges"))
			}
		})
	}
}

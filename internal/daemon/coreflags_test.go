package daemon_test

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestStaticCoreFlags checks that a location's etag, if_modified_since and
// max_ranges reach the files it serves (and memcached-free ranges), with
// the answers nginx 1.22.1 gave to the same requests.
func TestStaticCoreFlags(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "a.txt")
	if err := os.WriteFile(file, []byte("hello world, this is a file\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	mod := time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)
	if err := os.Chtimes(file, mod, mod); err != nil {
		t.Fatal(err)
	}
	addr := startDaemon(t, dir, fmt.Sprintf(`server { listen 127.0.0.1:0; root %[1]s;
		location /noetag/ { etag off; alias %[1]s/; }
		location /before/ { if_modified_since before; alias %[1]s/; }
		location /off/ { if_modified_since off; alias %[1]s/; }
		location /mr0/ { max_ranges 0; alias %[1]s/; }
		location /mr1/ { max_ranges 1; alias %[1]s/; }
	}`, dir))
	later := mod.Add(time.Hour).Format(http.TimeFormat)
	tests := []struct {
		path   string
		header [2]string
		status int
		etag   bool
		ranges bool // Accept-Ranges
	}{
		{"/a.txt", [2]string{}, 200, true, true},
		{"/noetag/a.txt", [2]string{}, 200, false, true},
		{"/noetag/a.txt", [2]string{"If-None-Match", "*"}, 304, false, false},
		{"/a.txt", [2]string{"If-Modified-Since", later}, 200, true, true},
		{"/before/a.txt", [2]string{"If-Modified-Since", later}, 304, true, false},
		{"/off/a.txt", [2]string{"If-Modified-Since", mod.Format(http.TimeFormat)}, 200, true, true},
		{"/mr0/a.txt", [2]string{"Range", "bytes=0-1"}, 200, true, false},
		{"/mr1/a.txt", [2]string{"Range", "bytes=0-1,3-4"}, 200, true, true},
		{"/mr1/a.txt", [2]string{"Range", "bytes=0-1"}, 206, true, false},
	}
	for _, tc := range tests {
		t.Run(tc.path+" "+tc.header[0], func(t *testing.T) {
			req, _ := http.NewRequest("GET", "http://"+addr+tc.path, nil)
			if tc.header[0] != "" {
				req.Header.Set(tc.header[0], tc.header[1])
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			_, etag := resp.Header["Etag"]
			_, ranges := resp.Header["Accept-Ranges"]
			if resp.StatusCode != tc.status || etag != tc.etag || ranges != tc.ranges {
				t.Errorf("got %d ETag %v Accept-Ranges %v, want %d %v %v", resp.StatusCode, etag, ranges, tc.status, tc.etag, tc.ranges)
			}
		})
	}
}

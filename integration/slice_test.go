package integration

import (
	"bytes"
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestSliceCachedBySlice runs the real binary with nginx's documented slice
// setup: a client's range is fetched and cached as aligned slices, each its
// own cache entry (its key ends in its $slice_range), and a later request
// for the whole object is answered from those entries and the slices still
// missing, with the object's length.
func TestSliceCachedBySlice(t *testing.T) {
	t.Parallel()                   // its own process, backends and temp dir; no upper time bound
	obj := make([]byte, 2<<20+123) // two whole slices of 1m and a part
	for i := range obj {
		obj[i] = byte(i % 251)
	}
	var mu sync.Mutex
	var ranges []string
	be := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		ranges = append(ranges, r.Header.Get("Range"))
		mu.Unlock()
		w.Header().Set("ETag", `"obj"`)
		http.ServeContent(w, r, "", time.Unix(1700000000, 0), bytes.NewReader(obj))
	}))
	t.Cleanup(be.Close)
	taken := func() []string {
		mu.Lock()
		defer mu.Unlock()
		r := ranges
		ranges = nil
		return r
	}
	cacheDir := t.TempDir()
	in := startFulcrum(t, fmt.Sprintf(`
events {}
http {
    proxy_cache_path %s levels=1:2 keys_zone=cache:1m;
    server {
        listen 127.0.0.1:0;
        location / {
            slice             1m;
            proxy_cache       cache;
            proxy_cache_key   $uri$is_args$args$slice_range;
            proxy_set_header  Range $slice_range;
            proxy_cache_valid 200 206 1h;
            proxy_pass        http://%s;
        }
    }
}`, cacheDir, be.Listener.Addr().String()), 1)
	client := newClient()
	url := in.url(0) + "/video.bin"

	// A range across the first two slices.
	req, _ := http.NewRequest("GET", url, nil)
	req.Header.Set("Range", "bytes=1048000-1049000")
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != 206 || !bytes.Equal(body, obj[1048000:1049001]) {
		t.Fatalf("range: %d, %d bytes, %v", resp.StatusCode, len(body), err)
	}
	if got, want := resp.Header.Get("Content-Range"), "bytes 1048000-1049000/"+strconv.Itoa(len(obj)); got != want {
		t.Errorf("Content-Range %q, want %q", got, want)
	}
	if got, want := taken(), []string{"bytes=0-1048575", "bytes=1048576-2097151"}; !slices.Equal(got, want) {
		t.Errorf("upstream ranges %q, want %q", got, want)
	}

	// The whole object: the third slice alone comes from the upstream.
	resp, err = client.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	body, err = io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != 200 || !bytes.Equal(body, obj) {
		t.Fatalf("whole: %d, %d bytes, %v", resp.StatusCode, len(body), err)
	}
	if resp.ContentLength != int64(len(obj)) || resp.Header.Get("Accept-Ranges") != "bytes" {
		t.Errorf("whole: Content-Length %d, Accept-Ranges %q", resp.ContentLength, resp.Header.Get("Accept-Ranges"))
	}
	if got, want := taken(), []string{"bytes=2097152-3145727"}; !slices.Equal(got, want) {
		t.Errorf("upstream ranges %q, want %q", got, want)
	}

	// One entry per slice, at nginx's place for its key.
	for _, r := range []string{"bytes=0-1048575", "bytes=1048576-2097151", "bytes=2097152-3145727"} {
		sum := md5.Sum([]byte("/video.bin" + r))
		name := hex.EncodeToString(sum[:])
		file := filepath.Join(cacheDir, name[31:], name[29:31], name)
		waitFor(t, "the cache entry of "+r, func() bool {
			data, err := os.ReadFile(file)
			return err == nil && strings.Contains(string(data), "KEY: /video.bin"+r+"\n")
		})
	}
}

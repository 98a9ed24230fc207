package daemon_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"fulcrum/internal/daemon"
)

// cacheFiles counts the regular files under dir.
func cacheFiles(t *testing.T, dir string) int {
	t.Helper()
	n := 0
	err := filepath.WalkDir(dir, func(_ string, d os.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			n++
		}
		return err
	})
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	return n
}

// getCache asks for target and returns its X-Cache field.
func getCache(t *testing.T, addr, target string) string {
	t.Helper()
	resp, err := http.Get("http://" + addr + target)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		t.Fatal(err)
	}
	return resp.Header.Get("X-Cache")
}

// TestCacheManager: each zone's manager frees the disk with no request at
// all, as nginx 1.22.1's cache manager did: entries unused for inactive go
// (inactive=2s: the files went 1.2-1.3 s after the last request once the
// manager looked, in whole seconds), and a zone over max_size loses its
// least recently used entries until it is under (max_size=10k on 4 KiB
// blocks: one of four files stayed). A reload restarts the managers, which
// look at once (nginx starts a new cache manager process that does); at
// start, an empty zone's manager sleeps 10 s, as nginx's.
func TestCacheManager(t *testing.T) {
	t.Parallel() // its own daemon and backends; waits on timers, no upper time bound
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=3600")
		io.WriteString(w, r.URL.Path)
	}))
	t.Cleanup(backend.Close)
	dir := t.TempDir()
	idle, small := filepath.Join(dir, "idle"), filepath.Join(dir, "small")
	if err := os.MkdirAll(small, 0o700); err != nil {
		t.Fatal(err)
	}
	var st syscall.Statfs_t
	if err := syscall.Statfs(small, &st); err != nil {
		t.Fatal(err)
	}
	maxSize := 2*st.Bsize + st.Bsize/2 // two blocks: one small file stays
	conf := fmt.Sprintf(`pid %[1]s/fulcrum.pid;
error_log %[1]s/error.log notice;
http {
    proxy_cache_path %[2]s levels=1:2 keys_zone=idle:1m inactive=1s;
    proxy_cache_path %[3]s keys_zone=small:1m max_size=%[4]d;
    server {
        listen 127.0.0.1:0;
        add_header X-Cache $upstream_cache_status always;
        location /idle/ { proxy_pass http://%[5]s; proxy_cache idle; }
        location /small/ { proxy_pass http://%[5]s; proxy_cache small; }
    }
}
`, dir, idle, small, maxSize, backend.Listener.Addr())
	path := filepath.Join(dir, "fulcrum.conf")
	if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	addr, sigs := runConfigFileOpts(t, path, daemon.Options{})
	for _, target := range []string{"/idle/a", "/idle/b", "/small/1", "/small/2", "/small/3", "/small/4"} {
		if got := getCache(t, addr, target); got != "MISS" {
			t.Fatalf("%s: X-Cache %q, want MISS", target, got)
		}
	}
	if n, m := cacheFiles(t, idle), cacheFiles(t, small); n != 2 || m != 4 {
		t.Fatalf("%d and %d files stored, want 2 and 4 (a store does not trim)", n, m)
	}
	sigs <- syscall.SIGHUP
	deadline := time.Now().Add(4 * time.Second)
	for cacheFiles(t, idle) != 0 || cacheFiles(t, small) != 1 {
		if time.Now().After(deadline) {
			t.Fatalf("after 4s: %d inactive files, %d in the max_size zone; want 0 and 1", cacheFiles(t, idle), cacheFiles(t, small))
		}
		time.Sleep(20 * time.Millisecond)
	}
	if got := getCache(t, addr, "/small/4"); got != "HIT" {
		t.Errorf("most recently used entry: X-Cache %q, want HIT", got)
	}
	if got := getCache(t, addr, "/small/1"); got != "MISS" {
		t.Errorf("least recently used entry: X-Cache %q, want MISS (removed)", got)
	}
}

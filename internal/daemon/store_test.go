package daemon_test

import (
	"bufio"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"fulcrum/internal/daemon"
	"fulcrum/internal/testutil"
)

// storeBackend is a raw HTTP/1.1 server whose answer depends on the path,
// as the one proxy_store was checked with against nginx 1.22: /nf* is a 404,
// /lm* has a Last-Modified, /chunk* is chunked, /short* sends less than
// its Content-Length, /nolen* ends with the connection, /xno* and /nb/xyes*
// send X-Accel-Buffering no and yes; the body is "body of PATH\n", none
// for HEAD.
func storeBackend(t *testing.T) string {
	t.Helper()
	return testutil.RawBackend(t, serveStore)
}

func serveStore(c net.Conn) {
	defer c.Close()
	req, err := http.ReadRequest(bufio.NewReader(c))
	if err != nil {
		return
	}
	u := req.URL.Path
	body := "body of " + u + "\n"
	if req.Method == http.MethodHead {
		body = ""
	}
	h := "HTTP/1.1 200 OK\r\nConnection: close\r\n"
	if strings.HasPrefix(u, "/nf") {
		h = "HTTP/1.1 404 Not Found\r\nConnection: close\r\n"
	}
	if strings.HasPrefix(u, "/lm") {
		h += "Last-Modified: Tue, 01 Jan 2019 00:00:00 GMT\r\n"
	}
	if strings.HasPrefix(u, "/xno") {
		h += "X-Accel-Buffering: no\r\n"
	}
	if strings.HasPrefix(u, "/nb/xyes") {
		h += "X-Accel-Buffering: yes\r\n"
	}
	switch {
	case strings.HasPrefix(u, "/chunk"):
		fmt.Fprintf(c, "%sTransfer-Encoding: chunked\r\n\r\n%x\r\n%s\r\n0\r\n\r\n", h, len(body), body)
	case strings.HasPrefix(u, "/short"):
		fmt.Fprintf(c, "%sContent-Length: 100\r\n\r\n%s", h, body)
	case strings.HasPrefix(u, "/nolen"):
		fmt.Fprintf(c, "%s\r\n%s", h, body)
	default:
		fmt.Fprintf(c, "%sContent-Length: %d\r\n\r\n%s", h, len("body of "+u+"\n"), body)
	}
}

// TestProxyStore checks what proxy_store saves, with which modes and times,
// against what nginx 1.22 saved for the same requests and backend.
func TestProxyStore(t *testing.T) {
	backend := storeBackend(t)
	dir := t.TempDir()
	store := filepath.Join(dir, "store")
	if err := os.Mkdir(store, 0o755); err != nil {
		t.Fatal(err)
	}
	conf := fmt.Sprintf(`pid %[1]s/fulcrum.pid;
error_log %[1]s/error.log notice;
http {
    server {
        listen 127.0.0.1:0;
        root %[2]s;
        location / { proxy_pass http://%[3]s; proxy_store on; proxy_store_access user:rw group:rw all:r; }
        location /nb/ { proxy_pass http://%[3]s; proxy_store on; proxy_buffering off; }
        location /s/ { proxy_pass http://%[3]s; proxy_store %[2]s/x$uri.s; proxy_store_access all:rw user:r; }
        location /plain/ { proxy_pass http://%[3]s; }
    }
}
`, dir, store, backend)
	path := filepath.Join(dir, "fulcrum.conf")
	if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	addr, _ := runConfigFileOpts(t, path, daemon.Options{})
	reqs := []struct{ method, target string }{
		{"GET", "/a/ok"}, {"GET", "/chunk"}, {"GET", "/nf"}, {"GET", "/short"}, {"GET", "/nolen"},
		{"GET", "/lm"}, {"GET", "/q?x=1"}, {"GET", "/d/"}, {"HEAD", "/headok"}, {"HEAD", "/headnolen"},
		{"POST", "/post"}, {"GET", "/nb/x"}, {"GET", "/s/a/b"}, {"GET", "/plain/x"},
		{"GET", "/xno"}, {"GET", "/nb/xyes"},
	}
	for _, r := range reqs {
		req, _ := http.NewRequest(r.method, "http://"+addr+r.target, strings.NewReader(""))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			continue // /short is cut short, as in nginx
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	// A temporary file exists from before the head went out until the
	// store ends: once there is none, every request above is done storing.
	deadline := time.Now().Add(10 * time.Second)
	for {
		var tmp []string
		_ = filepath.WalkDir(store, func(p string, _ fs.DirEntry, _ error) error {
			if strings.HasPrefix(filepath.Base(p), ".fulcrum-store-") {
				tmp = append(tmp, p)
			}
			return nil
		})
		if len(tmp) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("temporary files left: %v", tmp)
		}
		time.Sleep(10 * time.Millisecond)
	}
	tests := []struct {
		file string
		mode fs.FileMode // 0: must not exist
		body string
		mod  string // the file's mtime, "" for now
	}{
		{"a", fs.ModeDir | 0o775, "", ""},
		{"a/ok", 0o664, "body of /a/ok\n", ""},
		{"chunk", 0o664, "body of /chunk\n", ""},
		{"nolen", 0o664, "body of /nolen\n", ""},
		{"lm", 0o664, "body of /lm\n", "2019-01-01T00:00:00Z"},
		{"q", 0o664, "body of /q\n", ""},
		{"post", 0o664, "body of /post\n", ""},
		{"nf", 0, "", ""},
		{"short", 0, "", ""},
		{"d", 0, "", ""},
		{"headok", 0, "", ""},
		{"headnolen", 0, "", ""},
		{"nb/x", 0, "", ""},
		// nginx 1.22.1 stores what it buffers: X-Accel-Buffering turns
		// proxy_buffering (and fastcgi_buffering: recorded) off and on.
		{"xno", 0, "", ""},
		{"nb/xyes", 0o600, "body of /nb/xyes\n", ""},
		{"plain", 0, "", ""},
		{"x/s/a", fs.ModeDir | 0o507, "", ""},
		{"x/s/a/b.s", 0o406, "body of /s/a/b\n", ""},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			fi, err := os.Stat(filepath.Join(store, tt.file))
			if tt.mode == 0 {
				if err == nil {
					t.Fatalf("stored, want nothing")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if fi.Mode() != tt.mode {
				t.Errorf("mode %v, want %v", fi.Mode(), tt.mode)
			}
			if tt.body != "" {
				b, _ := os.ReadFile(filepath.Join(store, tt.file))
				if string(b) != tt.body {
					t.Errorf("body %q, want %q", b, tt.body)
				}
			}
			if tt.mod != "" && fi.ModTime().UTC().Format(time.RFC3339) != tt.mod {
				t.Errorf("mtime %v, want %s", fi.ModTime().UTC(), tt.mod)
			}
		})
	}
	log, _ := os.ReadFile(filepath.Join(dir, "error.log"))
	if want := `to "` + store + `/d/" failed (20: Not a directory) while reading upstream`; !strings.Contains(string(log), want) {
		t.Errorf("error log lacks %q:\n%s", want, log)
	}
}

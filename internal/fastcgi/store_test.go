package fastcgi

import (
	"bufio"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"fulcrum/internal/config"
	"fulcrum/internal/store"
)

// storeApp answers by path, as the proxy_store test's backend: /nf* is a
// 404, /lm* has a Last-Modified, /cl* says a Content-Length longer than
// its body, /xno* and /xyes* send X-Accel-Buffering no and yes; the body
// is "body of PATH\n".
var storeApp = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	u := r.URL.Path
	switch {
	case strings.HasPrefix(u, "/nf"):
		w.WriteHeader(http.StatusNotFound)
	case strings.HasPrefix(u, "/lm"):
		w.Header().Set("Last-Modified", "Tue, 01 Jan 2019 00:00:00 GMT")
	case strings.HasPrefix(u, "/cl"):
		w.Header().Set("Content-Length", "100")
	case strings.HasPrefix(u, "/xno"):
		w.Header().Set("X-Accel-Buffering", "no")
	case strings.HasPrefix(u, "/xyes"):
		w.Header().Set("X-Accel-Buffering", "yes")
	}
	fmt.Fprintf(w, "body of %s\n", u)
})

// TestStore checks which FastCGI responses fastcgi_store saves, where and
// with which modes and times. A response nginx reads unbuffered is not
// saved: fastcgi_buffering off unless X-Accel-Buffering says yes,
// X-Accel-Buffering no unless fastcgi_ignore_headers lists it (recorded
// from nginx 1.22.1).
func TestStore(t *testing.T) {
	dir := t.TempDir()
	app := serveFCGI(t, "tcp", storeApp)
	set := settings()
	set.Store = dir + "/s$uri"
	set.StoreAccess = 0o640
	h, _ := newHandler(t, set, 0, app)
	unbuffered := settings()
	unbuffered.Store, unbuffered.Buffering, unbuffered.StoreAccess = dir+"/nb$uri", false, 0o640
	hnb, _ := newHandler(t, unbuffered, 0, app)
	ignoring := settings()
	ignoring.Store, ignoring.IgnoreAccelBuffering, ignoring.StoreAccess = dir+"/ig$uri", true, 0o640
	hig, _ := newHandler(t, ignoring, 0, app)
	tests := []struct {
		h      *Handler
		method string
		target string
		file   string
		mode   fs.FileMode // 0: not stored
		mod    string      // the file's mtime, "" for now
	}{
		{h, "GET", "/a/b", "s/a/b", 0o640, ""},
		{h, "GET", "/q?x=1", "s/q", 0o640, ""},
		{h, "POST", "/post", "s/post", 0o640, ""},
		{h, "HEAD", "/head", "s/head", 0o640, ""}, // as nginx 1.22: the body the application sends
		{h, "GET", "/lm", "s/lm", 0o640, "2019-01-01T00:00:00Z"},
		{h, "GET", "/nf", "s/nf", 0, ""},
		{h, "GET", "/cl", "s/cl", 0, ""},
		{hnb, "GET", "/x", "nb/x", 0, ""},
		{h, "GET", "/xno", "s/xno", 0, ""},
		{h, "GET", "/xyes", "s/xyes", 0o640, ""},
		{hnb, "GET", "/xyes", "nb/xyes", 0o640, ""},
		{hig, "GET", "/xno", "ig/xno", 0o640, ""},
	}
	for _, tc := range tests {
		t.Run(tc.method+" "+tc.target, func(t *testing.T) {
			// /cl ends short of its length: nginx's error, the client's
			// connection ended (http.ErrAbortHandler).
			w := doMayAbort(tc.h, tc.method, tc.target)
			body := "body of " + strings.SplitN(tc.target, "?", 2)[0] + "\n"
			if tc.method != "HEAD" && w.Body.String() != body {
				t.Errorf("client got %q, want %q", w.Body, body)
			}
			path := filepath.Join(dir, tc.file)
			fi, err := os.Stat(path)
			if tc.mode == 0 {
				if err == nil {
					t.Fatalf("%s stored, want nothing", tc.file)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if fi.Mode() != tc.mode {
				t.Errorf("mode %v, want %v", fi.Mode(), tc.mode)
			}
			if b, _ := os.ReadFile(path); string(b) != body {
				t.Errorf("file holds %q, want %q", b, body)
			}
			if tc.mod != "" && fi.ModTime().UTC().Format(time.RFC3339) != tc.mod {
				t.Errorf("mtime %v, want %s", fi.ModTime().UTC(), tc.mod)
			}
		})
	}
	if fi, err := os.Stat(filepath.Join(dir, "s/a")); err != nil || fi.Mode() != fs.ModeDir|0o750 {
		t.Errorf("directory s/a: %v %v, want drwxr-x---", fi, err)
	}
	assertNoTemp(t, dir)
}

// TestStoreCutShort: a body the application ends by closing the connection
// before END_REQUEST is stored as nginx 1.22.1 stores it: without
// fastcgi_keep_conn the close is the end of the body, stored when it has
// no Content-Length or the length it says; with keep_conn it is a broken
// body. What is not stored leaves no file, nor a temporary one.
func TestStoreCutShort(t *testing.T) {
	tests := []struct {
		name     string
		head     string
		keepConn bool
		stored   bool
	}{
		{"no length", "Content-Type: text/plain\r\n\r\n", false, true},
		{"its length", "Content-Length: 4\r\n\r\n", false, true},
		{"a longer length", "Content-Length: 100\r\n\r\n", false, false},
		{"keep_conn", "Content-Type: text/plain\r\n\r\n", true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			app := rawApp(t, func(w *bufio.Writer) {
				writeRecord(w, typeStdout, []byte(tt.head+"part"))
			})
			set := settings()
			set.Store = dir + "$uri"
			set.KeepConn = tt.keepConn
			h, _ := newHandler(t, set, 0, app)
			func() {
				defer func() { _ = recover() }() // with keep_conn the handler ends the client's connection
				do(h, "GET", "/cut", "")
			}()
			b, err := os.ReadFile(filepath.Join(dir, "cut"))
			if stored := err == nil; stored != tt.stored || stored && string(b) != "part" {
				t.Errorf("stored %v %q, nginx %v", stored, b, tt.stored)
			}
			assertNoTemp(t, dir)
		})
	}
}

// TestSCGIStore checks scgi_store through the same code: a 200 saved with
// the default access, 0600.
func TestSCGIStore(t *testing.T) {
	dir := t.TempDir()
	app := scgiApp(t, func([][2]string, []byte) string {
		return "Status: 200 OK\r\nContent-Type: text/plain\r\n\r\nhello"
	})
	set := settings()
	set.Params = []config.FastCGIParam{{Name: "REQUEST_URI", Value: "$request_uri"}}
	set.Store = dir + "$uri.html"
	h := newSCGIHandler(t, set, app)
	if w := do(h, "GET", "/page", ""); w.Body.String() != "hello" {
		t.Fatalf("client got %q", w.Body)
	}
	fi, err := os.Stat(filepath.Join(dir, "page.html"))
	if err != nil || fi.Mode() != 0o600 {
		t.Fatalf("stored %v %v, want mode 0600", fi, err)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "page.html")); string(b) != "hello" {
		t.Errorf("file holds %q", b)
	}
}

// assertNoTemp fails when a temporary store file is left under dir.
func assertNoTemp(t *testing.T, dir string) {
	t.Helper()
	_ = filepath.WalkDir(dir, func(p string, _ fs.DirEntry, _ error) error {
		if strings.HasPrefix(filepath.Base(p), store.TempPrefix) {
			t.Errorf("temporary file left: %s", p)
		}
		return nil
	})
}

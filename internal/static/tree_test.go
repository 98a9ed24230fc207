package static

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// fileTime is the modification time given to every test file; nginx 1.22 sent
// ETag "65937d25-2" and this Last-Modified for a 2-byte file with this date.
var fileTime = time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)

const fileTimeHTTP = "Tue, 02 Jan 2024 03:04:05 GMT"

// testTree is a document tree like the one the behaviour was checked on with
// nginx 1.22, in a fresh temporary directory. dir is that directory with its
// symbolic links resolved, so expected paths compare equal to Result.Path.
type testTree struct {
	dir string
}

func newTree(t testing.TB) testTree {
	t.Helper()
	dir, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	tr := testTree{dir: dir}
	files := map[string]string{
		"www/index.html":         "root-index\n",
		"www/a.txt":              "a\n",
		"www/r.txt":              "0123456789\n",
		"www/x.HTML":             "up\n",
		"www/noext":              "noext\n",
		"www/.hidden":            "hid\n",
		"www/page.zzz":           "<html><body>sniff me</body></html>\n",
		"www/dir/index.html":     "dirindex\n",
		"www/sub/index.htm":      "subhtm\n",
		"www/a b/index.html":     "space\n",
		"www/plain/a.txt":        "plain\n",
		"www/tf/f.txt":           "tf\n",
		"www/dt/f.css":           "dt\n",
		"www/dt/f.zzz":           "dtn\n",
		"www/swap/f.txt":         "inside\n",
		"alias/f.txt":            "al\n",
		"alias/ad/index.html":    "adi\n",
		"aliasfoo":               "sibling\n",
		"secret.txt":             "secret\n",
		"outside/f.txt":          "outside\n",
		"outside/index.html":     "outside-index\n",
		"outside/swap/f.txt":     "swapped\n",
		"www/idxdir/index.html/": "",
	}
	for name, body := range files {
		tr.write(t, name, body)
	}
	for _, d := range []string{"www/empty", "www/plain/pd", "www/idx2", "alias/emptyd"} {
		tr.mkdir(t, d)
	}
	links := map[string]string{
		"www/link-in.txt":  "a.txt",
		"www/linkdir-in":   "dir",
		"www/link-abs.txt": tr.path("www/a.txt"),
		"www/link-out":     "../secret.txt",
		"www/link-out-abs": tr.path("secret.txt"),
		"www/linkdir-out":  "../outside",
		"www/loop1":        "loop2",
		"www/loop2":        "loop1",
		"www/dangling":     "nowhere",
		"html":             "www", // a document root that is itself a link
	}
	for name, target := range links {
		if err := os.Symlink(target, tr.path(name)); err != nil {
			t.Fatal(err)
		}
	}
	if err := syscall.Mkfifo(tr.path("www/fifo"), 0o644); err != nil {
		t.Fatal(err)
	}
	return tr
}

// path is the absolute path of a slash-separated name in the tree.
func (tr testTree) path(name string) string {
	return filepath.Join(tr.dir, filepath.FromSlash(name))
}

// write creates a file (or, for a name ending in "/", a directory) with
// fileTime as its modification time.
func (tr testTree) write(t testing.TB, name, body string) {
	t.Helper()
	if strings.HasSuffix(name, "/") {
		tr.mkdir(t, name)
		return
	}
	p := tr.path(name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(p, fileTime, fileTime); err != nil {
		t.Fatal(err)
	}
}

func (tr testTree) mkdir(t testing.TB, name string) {
	t.Helper()
	if err := os.MkdirAll(tr.path(name), 0o755); err != nil {
		t.Fatal(err)
	}
}

// expander returns a Request.Expand that knows $uri, $args and the given
// extra variables (regex captures such as "1", or "host"), longest names first
// so "$uri" does not eat "$uri_x".
func expander(uri, args string, extra map[string]string) func(string) string {
	pairs := []string{"$uri", uri, "$args", args}
	for k, v := range extra {
		pairs = append(pairs, "$"+k, v)
	}
	r := strings.NewReplacer(pairs...)
	return r.Replace
}

// debianTypes is the part of Debian's /etc/nginx/mime.types the tests use.
var debianTypes = map[string]string{
	"html": "text/html", "htm": "text/html", "shtml": "text/html",
	"css": "text/css", "txt": "text/plain", "gif": "image/gif",
	"jpg": "image/jpeg", "jpeg": "image/jpeg", "png": "image/png",
}

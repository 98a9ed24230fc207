package integration

import (
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// nobody is the user the test runs fulcrum as when it runs as root, for
// whom no file is unreadable (nginx's workers run as nobody too).
const nobody = 65534

// TestStaticOpenErrors checks the error lines of files fulcrum may not
// open, as nginx 1.22.1 wrote them for the same tree (its workers run as
// nobody): a file of mode 000 is 403 with `open() "..." failed (13:
// Permission denied)`, an index file in a directory of mode 000 403 with
// `"..." is forbidden (13: Permission denied)`, whatever log_not_found
// says; a path through a regular file 404 with `(20: Not a directory)`.
// Run as root, the test runs fulcrum as nobody, as a root process reads
// everything.
func TestStaticOpenErrors(t *testing.T) {
	t.Parallel() // its own process, backends and temp dir; no upper time bound
	dir := t.TempDir()
	html := filepath.Join(dir, "html")
	for _, d := range []string{filepath.Join(html, "noperm"), filepath.Join(html, "q")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for name, body := range map[string]string{"file.txt": "hi\n", "nope.txt": "secret\n"} {
		if err := os.WriteFile(filepath.Join(html, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	chmod(t, filepath.Join(html, "nope.txt"), 0)
	chmod(t, filepath.Join(html, "noperm"), 0)
	t.Cleanup(func() { os.Chmod(filepath.Join(html, "noperm"), 0o755) }) // for TempDir's removal
	// The process may be nobody: it reaches dir (and its parent, made
	// 0700 by TempDir) and writes its pid file there.
	chmod(t, filepath.Dir(dir), 0o755)
	chmod(t, dir, 0o777)
	bin := filepath.Join(dir, "fulcrum")
	// A hard link where it can: a copy just written fails to start now and
	// then with "text file busy" (ETXTBSY), when another test's fork, not
	// yet at its exec, still holds the copy's write descriptor (failed
	// once in CI).
	if err := os.Link(fulcrumBin, bin); err != nil {
		copyFile(t, fulcrumBin, bin)
	}

	conf := filepath.Join(dir, "fulcrum.conf")
	text := strings.ReplaceAll(`pid %DIR%/fulcrum.pid;
http {
    access_log off;
    server {
        listen 127.0.0.1:0;
        root %DIR%/html;
        location /q/ { log_not_found off; alias %DIR%/html/; }
    }
}
`, "%DIR%", dir)
	if err := os.WriteFile(conf, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	in := &instance{t: t, dir: dir, conf: conf, exited: make(chan struct{})}
	cmd := exec.Command(bin, "-p", dir, "-c", conf, "-e", "stderr", "-g", "error_log stderr info;")
	if os.Geteuid() == 0 {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: nobody, Gid: nobody}}
	}
	in.run("fulcrum", cmd)
	waitFor(t, "fulcrum to listen", func() bool { return len(in.listening()) >= 1 })

	tests := []struct {
		path   string
		status int
		line   string // the error line's message, "" for none
	}{
		{"/nope.txt", 403, `open() "` + html + `/nope.txt" failed (13: Permission denied)`},
		{"/q/nope.txt", 403, `open() "` + html + `/nope.txt" failed (13: Permission denied)`},
		{"/noperm/x", 403, `open() "` + html + `/noperm/x" failed (13: Permission denied)`},
		{"/noperm/", 403, `"` + html + `/noperm/index.html" is forbidden (13: Permission denied)`},
		{"/q/noperm/", 403, `"` + html + `/noperm/index.html" is forbidden (13: Permission denied)`},
		{"/file.txt/x", 404, `open() "` + html + `/file.txt/x" failed (20: Not a directory)`},
		{"/q/file.txt/x", 404, ""},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			resp, err := http.Get(in.url(0) + tt.path)
			if err != nil {
				t.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tt.status {
				t.Errorf("status %d, want %d", resp.StatusCode, tt.status)
			}
			want := `request: "GET ` + tt.path + ` HTTP/1.1"`
			if tt.line == "" {
				// The next request's line shows that this one wrote none.
				if _, err := http.Get(in.url(0) + "/file.txt/y"); err != nil {
					t.Fatal(err)
				}
				waitFor(t, "the next request's line", func() bool { return in.logged(`request: "GET /file.txt/y HTTP/1.1"`) })
				if in.logged(want) {
					t.Errorf("logged a line for %s, want none", tt.path)
				}
				return
			}
			waitFor(t, "the error line", func() bool { return in.logged(want) })
			full := tt.line + ", client: 127.0.0.1, server: , " + want
			for _, l := range in.logLines() {
				if strings.Contains(l, want) && (!strings.Contains(l, "[error] ") || !strings.Contains(l, full)) {
					t.Errorf("logged %q, want [error] %q", l, full)
				}
			}
		})
	}
}

func chmod(t *testing.T, path string, mode os.FileMode) {
	t.Helper()
	if err := os.Chmod(path, mode); err != nil {
		t.Fatal(err)
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o755); err != nil {
		t.Fatal(err)
	}
}

package daemon_test

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// TestIfFileTestDisableSymlinks: if's -f follows the level's
// disable_symlinks, as nginx's open_file_cache test does (nginx-tests'
// http_disable_symlinks.t, "if (on, same uid)" and the like; recorded with
// nginx 1.22.1: under "disable_symlinks on", "if (-f $request_filename) {
// return 204; }" is false for a link to a file, and the static module
// then answers 403, with the crit line `openat() "PATH" failed (40: Too
// many levels of symbolic links)`; without it the link counts, 204).
// fulcrum's -f followed every link: 204.
func TestIfFileTestDisableSymlinks(t *testing.T) {
	dir := t.TempDir()
	d := filepath.Join(dir, "if_on")
	if err := os.MkdirAll(d, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(d, "empty.html"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("empty.html", filepath.Join(d, "link")); err != nil {
		t.Fatal(err)
	}
	errLog := filepath.Join(dir, "error.log")
	addr := startDaemon(t, dir, fmt.Sprintf(`
    access_log off;
    error_log %[2]s crit;
    server {
        listen 127.0.0.1:0;
        root %[1]s;
        location /if_on/ { disable_symlinks on; if (-f $request_filename) { return 204; } }
        location /if_owner/ { disable_symlinks if_not_owner; alias %[1]s/if_on/; if (-f $request_filename) { return 204; } }
        location /if_off/ { alias %[1]s/if_on/; if (-f $request_filename) { return 204; } }
    }`, dir, errLog))
	for _, tc := range []struct{ target, code string }{
		{"/if_on/link", "403"},
		{"/if_on/empty.html", "204"},
		{"/if_owner/link", "204"}, // the link and its file have one owner
		{"/if_off/link", "204"},
	} {
		head := rawTalkHead(t, addr, "GET "+tc.target+" HTTP/1.0\r\nHost: a\r\n\r\n")
		if len(head) < 12 || head[9:12] != tc.code {
			t.Errorf("GET %s: %q, want %s", tc.target, head, tc.code)
		}
	}
	waitForLog(t, errLog, `crit openat() "`+filepath.Join(d, "link")+`" failed (40: Too many levels of symbolic links)`)
}

package daemon_test

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

// TestMirrorAgainAfterIndex: the index module's internal redirect to the
// index file runs the precontent phase again, so a location with mirror
// mirrors the request once more, as nginx does (nginx-tests' mirror.t,
// "log - redirect"; recorded with nginx 1.22.1: "location / { mirror
// /mirror; }" logs "/mirror a" twice for GET /?a and once for GET
// /index.html?b). fulcrum served the index file in place and mirrored
// once.
func TestMirrorAgainAfterIndex(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "root"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "root", "index.html"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	logPath := filepath.Join(dir, "m.log")
	addr := startDaemon(t, dir, `
    log_format m "$uri $args";
    access_log off;
    server {
        listen 127.0.0.1:0;
        root `+filepath.Join(dir, "root")+`;
        location / { mirror /mirror; }
        location /mirror { log_subrequest on; access_log `+logPath+` m buffer=0; return 204; }
    }`)
	for _, target := range []string{"/?a", "/index.html?b", "/index.html?c"} {
		// HTTP/1.0: the connection closes after the request's lines
		if _, end, _ := rawTalk(t, addr, "GET "+target+" HTTP/1.0\r\nHost: a\r\n\r\n", 5*time.Second); end != "eof" {
			t.Fatalf("GET %s: the connection ended with %s", target, end)
		}
	}
	lines := waitLogLines(t, logPath, 4)
	if want := []string{"/mirror a", "/mirror a", "/mirror b", "/mirror c"}; !slices.Equal(lines, want) {
		t.Errorf("mirrors logged %q, want %q", lines, want)
	}
}

// TestMirrorAfterTryFiles: nginx runs try_files before the mirror module in
// the precontent phase, so a try_files that ends in an internal redirect or
// a code starts no mirror in its location (recorded with nginx 1.22.1, the
// mirror logging "$uri $args": "try_files /nothing /index.html; mirror
// /mirror;" logs "/mirror " once, from the location /index.html reaches;
// "try_files /nothing =404;" and "try_files /nothing @n;" log nothing;
// "try_files $uri /index.html;" for an existing file logs "/mirror d").
// fulcrum mirrored before try_files, in every one of them.
func TestMirrorAfterTryFiles(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{"index.html", "tf2"} {
		if err := os.MkdirAll(filepath.Join(dir, "root"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "root", name), []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	logPath := filepath.Join(dir, "m.log")
	addr := startDaemon(t, dir, `
    log_format m "$uri $args";
    access_log off;
    server {
        listen 127.0.0.1:0;
        root `+filepath.Join(dir, "root")+`;
        location = /index.html { mirror /mirror; }
        location /tf { try_files /nothing /index.html; mirror /mirror; }
        location /tf2 { try_files $uri /index.html; mirror /mirror; }
        location /tf3 { try_files /nothing =404; mirror /mirror; }
        location /tf4 { try_files /nothing @n; mirror /mirror; }
        location @n { return 204; }
        location /mirror { log_subrequest on; access_log `+logPath+` m buffer=0; return 204; }
    }`)
	for _, target := range []string{"/tf?c", "/tf2?d", "/tf3?e", "/tf4?f", "/index.html?g"} {
		// HTTP/1.0: the connection closes after the request's lines
		if _, end, _ := rawTalk(t, addr, "GET "+target+" HTTP/1.0\r\nHost: a\r\n\r\n", 5*time.Second); end != "eof" {
			t.Fatalf("GET %s: the connection ended with %s", target, end)
		}
	}
	lines := waitLogLines(t, logPath, 3)
	if want := []string{"/mirror ", "/mirror d", "/mirror g"}; !slices.Equal(lines, want) {
		t.Errorf("mirrors logged %q, want %q", lines, want)
	}
}

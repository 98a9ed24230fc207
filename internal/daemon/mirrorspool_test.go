package daemon_test

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestMirrorSpooledBody checks that mirror_request_body reads a long body
// once, into one temporary file that the main request's proxy_pass and
// the mirror's both send from, as nginx 1.22.1 does (recorded with a 3 MB
// body, with a Content-Length and chunked, "client_body_temp_path cbt 1
// 2", "proxy_set_header X-RBF $request_body_file" in both locations: the
// main backend and the mirror's each got "Content-Length: 3000000" and the
// whole body, both with X-RBF cbt/1/00/0000000001, and one "a client
// request body is buffered to a temporary file" warning per request). Before
// the body went through the spool, each request read it into memory and
// each proxy_pass wrote a file of its own.
func TestMirrorSpooledBody(t *testing.T) {
	t.Parallel() // mostly waiting; its own daemon, ports and files
	dir := t.TempDir()
	mainAddr, mainRec := spoolBackend(t, false)
	mirrorAddr, mirrorRec := spoolBackend(t, false)
	addr := startDaemon(t, dir, fmt.Sprintf(`
    access_log off;
    client_max_body_size 10m;
    client_body_temp_path %[1]s/cbt 1 2;
    proxy_set_header X-RBF $request_body_file;
    server {
        listen 127.0.0.1:0;
        location / { mirror /m; proxy_pass http://%[2]s; }
        location = /m { internal; proxy_pass http://%[3]s$request_uri; }
    }`, dir, mainAddr, mirrorAddr))
	body := bigBody()
	for i, chunked := range []bool{false, true} {
		t.Run(fmt.Sprintf("chunked=%v", chunked), func(t *testing.T) {
			code, got := upload(t, "POST", "http://"+addr+"/up", body, chunked)
			if code != 200 || got != "got 3000000" {
				t.Fatalf("answer %d %q, want 200 \"got 3000000\"", code, got)
			}
			m, mr := mainRec.wait(t, i+1)[i], mirrorRec.wait(t, i+1)[i]
			for _, r := range []struct {
				who string
				r   spoolRequest
			}{{"main", m}, {"mirror", mr}} {
				if r.r.length != "3000000" || r.r.te != "" || !bytes.Equal(r.r.body, body) {
					t.Errorf("%s upstream got Content-Length %q, Transfer-Encoding %q, %d bytes; want 3000000, none, the body",
						r.who, r.r.length, r.r.te, len(r.r.body))
				}
			}
			lm := levelName.FindStringSubmatch(m.file)
			if lm == nil || !strings.HasPrefix(m.file, dir) || lm[1] != lm[4] || lm[2] != lm[3] {
				t.Fatalf("main $request_body_file = %q, want %s/cbt/D/DD/0000000DDD", m.file, dir)
			}
			if mr.file != m.file {
				t.Errorf("mirror $request_body_file = %q, want the main request's %q (one file)", mr.file, m.file)
			}
			if _, err := os.Stat(filepath.Join(dir, "cbt", lm[1], lm[2])); err != nil {
				t.Errorf("level directory: %v", err)
			}
			if _, err := os.Stat(m.file); !os.IsNotExist(err) {
				t.Errorf("%s is on disk (%v); nginx unlinks it once created", m.file, err)
			}
		})
	}
	// Each line is written before its body goes upstream: both backends
	// got theirs, so every line is there.
	data, _ := os.ReadFile(filepath.Join(dir, "error.log"))
	if n := strings.Count(string(data), "a client request body is buffered to a temporary file"); n != 2 {
		t.Errorf("%d buffered-to-file lines for 2 requests, want 2 (one file each):\n%s", n, data)
	}
}

// TestPostActionSpooledBody checks that a post_action sends a body in a
// temporary file again from that file, the one the location's proxy_pass
// sent (one file, one warning). nginx 1.22.1 differs here (recorded, 3 MB
// chunked body, "post_action /m"): its upstream's end closed the file, so
// the post action's proxy logged `pread() ".../cbt/1/00/0000000001" failed
// (9: Bad file descriptor)` at crit and its backend got no body.
func TestPostActionSpooledBody(t *testing.T) {
	t.Parallel() // its own daemon and backends; waits on timers, no upper time bound
	dir := t.TempDir()
	mainAddr, mainRec := spoolBackend(t, false)
	postAddr, postRec := spoolBackend(t, false)
	addr := startDaemon(t, dir, fmt.Sprintf(`
    access_log off;
    client_max_body_size 10m;
    client_body_temp_path %[1]s/cbt 1 2;
    proxy_set_header X-RBF $request_body_file;
    server {
        listen 127.0.0.1:0;
        location / { post_action /pa; proxy_pass http://%[2]s; }
        location = /pa { internal; proxy_pass http://%[3]s; }
    }`, dir, mainAddr, postAddr))
	body := bigBody()
	code, got := upload(t, "POST", "http://"+addr+"/up", body, true)
	if code != 200 || got != "got 3000000" {
		t.Fatalf("answer %d %q, want 200 \"got 3000000\"", code, got)
	}
	m, p := mainRec.wait(t, 1)[0], postRec.wait(t, 1)[0]
	for _, r := range []struct {
		who string
		r   spoolRequest
	}{{"main", m}, {"post action", p}} {
		if r.r.length != "3000000" || !bytes.Equal(r.r.body, body) {
			t.Errorf("%s upstream got Content-Length %q, %d bytes; want 3000000, the body", r.who, r.r.length, len(r.r.body))
		}
	}
	if levelName.FindString(m.file) == "" || p.file != m.file {
		t.Errorf("$request_body_file: main %q, post action %q; want one file, cbt/D/DD/0000000DDD", m.file, p.file)
	}
	data, _ := os.ReadFile(filepath.Join(dir, "error.log"))
	if n := strings.Count(string(data), "a client request body is buffered to a temporary file"); n != 1 {
		t.Errorf("%d buffered-to-file lines, want 1:\n%s", n, data)
	}
}

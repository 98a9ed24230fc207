//go:build nginxdiff

// The browser module's table against a real nginx binary. Not part of the
// normal suite (it needs nginx); run it with
//
//	go test -tags nginxdiff -run Nginx ./internal/daemon
//
// It fails, not skips, when nginx is missing.
package daemon_test

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestNginxBrowserVariables runs browserCases against nginx with the same
// servers as TestBrowserVariables.
func TestNginxBrowserVariables(t *testing.T) {
	addr := startNginx(t, "access_log off;\n"+strings.ReplaceAll(browserServers, "LISTEN", freeAddr(t)))
	runBrowserCases(t, addr)
}

// freeAddr returns a 127.0.0.1 address with a port the system just gave
// and took back (nginx cannot report the port of "listen 127.0.0.1:0").
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// startNginx runs nginx in the foreground with http (the http block's
// content, whose first listen is where it answers) and returns that
// address once nginx accepts connections there.
func startNginx(t *testing.T, http string) string {
	t.Helper()
	bin, err := exec.LookPath("nginx")
	if err != nil {
		t.Fatal("nginx not found:", err)
	}
	dir := t.TempDir()
	var temps strings.Builder
	for _, p := range []string{"client_body", "proxy", "fastcgi", "uwsgi", "scgi"} {
		fmt.Fprintf(&temps, "%s_temp_path %s;\n", p, filepath.Join(dir, p))
	}
	conf := fmt.Sprintf("daemon off;\nmaster_process off;\nerror_log %[1]s/error.log;\npid %[1]s/nginx.pid;\nevents {}\nhttp {\n%[2]s%[3]s\n}\n", dir, temps.String(), http)
	path := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-p", dir, "-c", path)
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	_, rest, _ := strings.Cut(http, "listen ")
	addr, _, _ := strings.Cut(rest, ";")
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return addr
		}
		if time.Now().After(deadline) {
			t.Fatalf("nginx not accepting on %s within 10s: %v", addr, err)
		}
		time.Sleep(20 * time.Millisecond) // polling with a deadline
	}
}

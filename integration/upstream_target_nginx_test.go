//go:build nginxdiff

package integration

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

// startUpstreamTarget runs nginx (not fulcrum) on conf, for recording what
// TestUpstreamLikeNginx's rows should say:
//
//	go test -tags nginxdiff -count=1 -run TestUpstreamLikeNginx ./integration/
//
// conf's "listen 127.0.0.1:0" gets a free port (nginx cannot report the port
// it bound), its temp paths go into the test's directory, and the error log
// (info) is nginx's stderr, read as fulcrum's is. It fails, not skips, when
// nginx is missing.
func startUpstreamTarget(t *testing.T, conf string) *instance {
	t.Helper()
	bin, err := exec.LookPath("nginx")
	if err != nil {
		t.Fatal("nginx not found:", err)
	}
	dir := t.TempDir()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	var temps strings.Builder
	for _, p := range []string{"client_body", "proxy", "fastcgi", "uwsgi", "scgi"} {
		fmt.Fprintf(&temps, "\n    %s_temp_path %s;", p, filepath.Join(dir, p))
	}
	conf = strings.ReplaceAll(conf, "%DIR%", dir)
	conf = strings.Replace(conf, "127.0.0.1:0", addr, 1)
	conf = strings.Replace(conf, "http {", "http {"+temps.String(), 1)
	path := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	in := &instance{t: t, dir: dir, conf: path, exited: make(chan struct{}), addrs: []string{addr}}
	in.run("nginx", exec.Command(bin, "-p", dir, "-c", path, "-e", "stderr",
		"-g", "daemon off; master_process off; error_log stderr info; pid "+filepath.Join(dir, "nginx.pid")+";"))
	waitFor(t, "nginx to listen", func() bool {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
		}
		return err == nil
	})
	return in
}

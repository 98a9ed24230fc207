package errlog_test

import (
	"net"
	"path/filepath"
	"testing"

	"fulcrum/internal/errlog"
)

// TestConnectFailed: a failed connect's line and level as nginx 1.22.1
// logged them (recorded with a missing socket file, a socket file nothing
// listens on, and a refused TCP port): a unix socket is named and a missing
// file is crit; TCP is "connect() failed" at error.
func TestConnectFailed(t *testing.T) {
	dir := t.TempDir()
	dead := filepath.Join(dir, "dead.sock")
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: dead, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	ln.SetUnlinkOnClose(false)
	ln.Close()
	tcp, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	refused := tcp.Addr().String()
	tcp.Close()
	tests := []struct {
		network, addr string
		msg           string
		crit          bool
	}{
		{"unix", filepath.Join(dir, "gone.sock"), "connect() to unix:" + filepath.Join(dir, "gone.sock") + " failed (2: No such file or directory) while connecting to upstream", true},
		{"unix", dead, "connect() to unix:" + dead + " failed (111: Connection refused) while connecting to upstream", false},
		{"tcp", refused, "connect() failed (111: Connection refused) while connecting to upstream", false},
	}
	for _, tt := range tests {
		_, err := net.Dial(tt.network, tt.addr)
		if err == nil {
			t.Fatalf("%s %s: connected", tt.network, tt.addr)
		}
		msg, crit := errlog.ConnectFailed(err, errlog.ActionConnect)
		if msg != tt.msg || crit != tt.crit {
			t.Errorf("%s %s: %q crit %v, want %q crit %v", tt.network, tt.addr, msg, crit, tt.msg, tt.crit)
		}
		if want := map[bool]errlog.Level{true: errlog.Crit, false: errlog.Error}[tt.crit]; errlog.ConnectLevel(crit) != want {
			t.Errorf("%s %s: level %v, want %v", tt.network, tt.addr, errlog.ConnectLevel(crit), want)
		}
	}
}

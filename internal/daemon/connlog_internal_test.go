package daemon

import (
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"fulcrum/internal/errlog"
)

// TestConnLogAfterRetiredLevelLog: a kept-alive connection whose last
// request was served by a location with its own error_log keeps that log
// for its own lines (nginx's c->log), but once a reload has taken the log
// out of use and closed it (once the replaced configuration's last request
// ended, while the connection may stay up to keepalive_timeout, 75 s), its
// lines go to the log in force for its address, not nowhere.
// Before, "client 127.0.0.1 closed keepalive connection" was lost.
func TestConnLogAfterRetiredLevelLog(t *testing.T) {
	dir := t.TempDir()
	open := func(name string) *errlog.Logger {
		l, err := errlog.New(errlog.Options{Targets: []errlog.Target{{Path: filepath.Join(dir, name), Level: errlog.Info}}})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { l.Close() })
		return l
	}
	inForce, retired := open("main.log"), open("location.log")
	cc := &clientConn{srv: &httpServer{log: inForce}}
	cc.ci.remoteAddr = netip.MustParseAddrPort("127.0.0.1:5000")

	cc.ci.log = retired
	cc.logWaitEnd(false, io.EOF)
	retired.Close() // the reload's logChange.commit, a minute later
	cc.logWaitEnd(false, io.EOF)

	for name, want := range map[string]int{"location.log": 1, "main.log": 1} {
		data, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.Count(string(data), "closed keepalive connection"); got != want {
			t.Errorf("%s has %d keep-alive lines, want %d:\n%s", name, got, want, data)
		}
	}
}

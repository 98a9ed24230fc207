package stream

import (
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"fulcrum/internal/errlog"
)

// TestReloadReleasesLogFiles: a reload that no longer names an access log
// file closes it after the last session of the configuration that named
// it, and that session's line still goes to it; a file both name stays
// open. Before, every file (and error log, and syslog peer) a stream
// block ever named stayed open for the proxy's life: a reload that
// renamed them kept one more of each.
func TestReloadReleasesLogFiles(t *testing.T) {
	dir := t.TempDir()
	b := startEcho(t, "b")
	conf := func(name string) string {
		return `log_format f "$status $bytes_received";
server { listen 127.0.0.1:0; proxy_pass ` + b.addr() + `; access_log %DIR%/` + name + `.log f; access_log %DIR%/both.log f; }`
	}
	cfgA := load(t, dir, conf("a"))
	p, addr := start(t, cfgA)
	held := dial(t, addr) // a session of the first configuration
	if got := held.ask(t, "x"); got != "b x" {
		t.Fatalf("first session: %q", got)
	}
	open := func(name string) bool {
		p.files.mu.Lock()
		defer p.files.mu.Unlock()
		return p.files.byPath[filepath.Join(dir, name+".log")] != nil
	}
	cfgB := load(t, dir, conf("b"))
	if _, err := p.Apply(cfgB); err != nil {
		t.Fatal(err)
	}
	if !open("a") || !open("b") || !open("both") {
		t.Fatalf("after the reload, with a session of the first configuration: a.log open %v, b.log %v, both.log %v; want all", open("a"), open("b"), open("both"))
	}
	if got := dial(t, addr).ask(t, "y"); got != "b y" {
		t.Fatalf("new session: %q", got)
	}
	held.c.Close()
	waitFor(t, "a.log closed after its last session", func() bool { return !open("a") })
	if !open("b") || !open("both") {
		t.Errorf("b.log open %v, both.log %v; want both open (the configuration in force names them)", open("b"), open("both"))
	}
	got, err := os.ReadFile(filepath.Join(dir, "a.log"))
	if err != nil || string(got) != "200 2\n" {
		t.Errorf("a.log: %q, %v; want the held session's line", got, err)
	}
}

// TestReloadKeepsSessionMainLog: a session of a server without an
// error_log of its own logs to the main error log of the configuration it
// started under, which stays open until that session ends, as nginx's old
// worker logs to the old cycle's files (as recorded for the mail module
// with nginx 1.22.1; the stream module's sessions are the same old
// worker's). The daemon closes a main log a reload replaced once the old
// http configuration's last request ended; before, the session's
// "client disconnected" line went to the new main log.
func TestReloadKeepsSessionMainLog(t *testing.T) {
	dir := t.TempDir()
	openLog := func(name string) *errlog.Logger {
		l, err := errlog.New(errlog.Options{Targets: []errlog.Target{{Path: filepath.Join(dir, name+".log"), Level: errlog.Info}}})
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	a, b := openLog("a"), openLog("b")
	defer b.Close()
	var cur atomic.Pointer[errlog.Logger]
	cur.Store(a)
	echo := startEcho(t, "e")
	conf := "server { listen 127.0.0.1:0; proxy_pass " + echo.addr() + "; }"
	p := New(Options{ErrorLog: func() *errlog.Logger { return cur.Load() }})
	addrs, err := p.Apply(load(t, dir, conf))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	held := dial(t, addrs[0].String())
	if got := held.ask(t, "x"); got != "e x" {
		t.Fatalf("first session: %q", got)
	}
	cur.Store(b)
	if _, err := p.Apply(load(t, dir, conf)); err != nil {
		t.Fatal(err)
	}
	a.Close() // the daemon's closeRetired
	held.c.Close()
	waitFor(t, "a.log closed after its last session", a.Closed)
	la, _ := os.ReadFile(filepath.Join(dir, "a.log"))
	lb, _ := os.ReadFile(filepath.Join(dir, "b.log"))
	if !strings.Contains(string(la), "client disconnected") {
		t.Errorf("a.log:\n%s\nwant the session's end", la)
	}
	if len(lb) > 0 {
		t.Errorf("b.log:\n%s\nwant nothing: no session started after the reload", lb)
	}
}

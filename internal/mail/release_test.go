package mail

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"fulcrum/internal/errlog"
	"fulcrum/internal/testutil"
)

// TestReloadReleasesErrorLogs: a reload that no longer names a server's
// error_log file closes it after the last session of the configuration
// that named it, whose lines still go to it. Before, every error_log a
// mail block ever named stayed open for the proxy's life: a reload that
// renamed it kept one more descriptor.
func TestReloadReleasesErrorLogs(t *testing.T) {
	dir := t.TempDir()
	auth := startAuth(t, nil)
	conf := func(name string) string {
		return "auth_http " + auth.addr + "/auth;\nserver { listen 127.0.0.1:0; protocol smtp; error_log " + filepath.Join(dir, name+".log") + " info; }"
	}
	p, addrs := start(t, load(t, conf("a")))
	held := dial(t, addrs[0]) // a session of the first configuration
	held.expect("220 vm ESMTP ready\r\n")
	open := func(name string) bool {
		p.logsMu.Lock()
		defer p.logsMu.Unlock()
		for k := range p.logs {
			if strings.Contains(k, filepath.Join(dir, name+".log")) {
				return true
			}
		}
		return false
	}
	if _, err := p.Apply(load(t, conf("b"))); err != nil {
		t.Fatal(err)
	}
	if !open("a") || !open("b") {
		t.Fatalf("after the reload, with a session of the first configuration: a.log open %v, b.log %v; want both", open("a"), open("b"))
	}
	fresh := dial(t, addrs[0])
	fresh.expect("220 vm ESMTP ready\r\n")
	held.send("QUIT\r\n")
	held.expect("221 2.0.0 Bye\r\n")
	deadline := time.Now().Add(5 * time.Second)
	for open("a") {
		if time.Now().After(deadline) {
			t.Fatal("a.log still open 5 s after its last session ended")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if !open("b") {
		t.Error("b.log closed; the configuration in force names it")
	}
	a, _ := os.ReadFile(filepath.Join(dir, "a.log"))
	b, _ := os.ReadFile(filepath.Join(dir, "b.log"))
	if strings.Count(string(a), "connected to") != 1 || strings.Count(string(b), "connected to") != 1 {
		t.Errorf("a.log:\n%s\nb.log:\n%s\nwant one session's lines in each", a, b)
	}
}

// TestReloadKeepsSessionMainLog: a session of a server without an
// error_log of its own logs to the main error log of the configuration it
// started under, which stays open until that session ends, as nginx's old
// worker does (recorded with nginx 1.22.1: a client name lookup that timed
// out after a reload that changed the main error_log logged "could not be
// resolved (110: Operation timed out)" to the old file). The daemon
// closes a main log a reload replaced once the old http configuration's
// last request ended, whatever mail sessions still run; before, the
// session's lines went to the new log, and its resolver's to the closed
// one, lost.
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
	dns := testutil.StartDNSServer(t)
	dns.SetSilent("127.0.0.1") // the session waits for its lookup
	auth := startAuth(t, nil)
	conf := fmt.Sprintf("auth_http %s/auth; resolver %s; resolver_timeout 500ms;\nserver { listen 127.0.0.1:0; protocol smtp; }", auth.addr, dns.Addr)
	p := New(Options{Hostname: "vm", ErrorLog: func() *errlog.Logger { return cur.Load() }})
	addrs, err := p.Apply(load(t, conf))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	held := dial(t, addrs[0].String())
	waitLine(t, filepath.Join(dir, "a.log"), "connected to")
	// The reload: the new main log in force, the new configuration, then
	// the old main log closed (the daemon's closeRetired).
	cur.Store(b)
	if _, err := p.Apply(load(t, conf)); err != nil {
		t.Fatal(err)
	}
	a.Close()
	held.expect("220 vm ESMTP ready\r\n") // after the lookup timed out
	held.send("QUIT\r\n")
	held.expect("221 2.0.0 Bye\r\n")
	deadline := time.Now().Add(5 * time.Second)
	for !a.Closed() {
		if time.Now().After(deadline) {
			t.Fatal("a.log still open 5 s after its last session ended")
		}
		time.Sleep(5 * time.Millisecond)
	}
	la, _ := os.ReadFile(filepath.Join(dir, "a.log"))
	lb, _ := os.ReadFile(filepath.Join(dir, "b.log"))
	if !strings.Contains(string(la), "*1 127.0.0.1 could not be resolved (110: Operation timed out) while in resolving client address") {
		t.Errorf("a.log:\n%s\nwant the session's lookup failure", la)
	}
	if len(lb) > 0 {
		t.Errorf("b.log:\n%s\nwant nothing: no session started after the reload", lb)
	}
	if b.Closed() {
		t.Error("b.log closed; the configuration in force logs to it")
	}
}

// waitLine polls the file at path for a line with s.
func waitLine(t *testing.T, path, s string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		if b, _ := os.ReadFile(path); strings.Contains(string(b), s) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %q in %s within 5 s", s, path)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

package mail

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
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

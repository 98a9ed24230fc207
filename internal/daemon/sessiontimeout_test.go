package daemon_test

import (
	"crypto/tls"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestSessionTimeout: ssl_session_timeout (here inherited from http) bounds
// how long a session resumes, in TLS 1.2 and 1.3. nginx 1.22.1 with
// ssl_session_timeout 2s resumed a session saved by "openssl s_client
// -sess_out" at once ($ssl_session_reused "r") and made a full handshake
// (".") with it 4 s later, in both versions; with the default (5m) it
// resumed it then.
func TestSessionTimeout(t *testing.T) {
	t.Parallel() // its cases run in parallel too; the whole waits beside the other parallel tests, not before them
	dir := t.TempDir()
	ecdsa, _ := tlsSites(t, dir)
	short := startDaemon(t, dir, fmt.Sprintf(`
    ssl_session_timeout 1s;
    server { listen 127.0.0.1:0 ssl; %s
        location / { return 200 "reused=$ssl_session_reused\n"; }
    }`, ecdsa))
	dflt := startDaemon(t, t.TempDir(), fmt.Sprintf(`
    server { listen 127.0.0.1:0 ssl; %s
        location / { return 200 "reused=$ssl_session_reused\n"; }
    }`, ecdsa))
	for _, v := range []uint16{tls.VersionTLS12, tls.VersionTLS13} {
		t.Run(tls.VersionName(v), func(t *testing.T) {
			t.Parallel()
			ask := func(addr string, cache tls.ClientSessionCache) string {
				return tlsGet(t, addr, &tls.Config{InsecureSkipVerify: true, ServerName: "a.test",
					MinVersion: v, MaxVersion: v, ClientSessionCache: cache})
			}
			shortCache, dfltCache := tls.NewLRUClientSessionCache(2), tls.NewLRUClientSessionCache(2)
			steps := []struct{ first, again string }{
				{ask(short, shortCache), ask(short, shortCache)},
				{ask(dflt, dfltCache), ask(dflt, dfltCache)},
			}
			made := time.Now() // every ticket the clients hold was made before
			for i, s := range steps {
				if s.first != "reused=.\n" || s.again != "reused=r\n" {
					t.Errorf("server %d at once: %q then %q, want a new session then a resumed one", i, s.first, s.again)
				}
			}
			time.Sleep(time.Until(made.Add(1100 * time.Millisecond))) // past the 1s timeout
			if got := ask(short, shortCache); got != "reused=.\n" {
				t.Errorf("ssl_session_timeout 1s, 1.1 s later: %q, want a full handshake", got)
			}
			if got := ask(dflt, dfltCache); got != "reused=r\n" {
				t.Errorf("the default timeout, 1.1 s later: %q, want a resumed session", got)
			}
		})
	}
}

// TestSessionTimeoutReload: a reload that keeps ssl_session_ticket_key
// keeps the sessions made before it resumable, each for the timeout it was
// made with (nginx 1.22.1: a ticket made with ssl_session_timeout 60s
// resumed 3 s after a reload to 2s), while the sessions made after it
// follow the new timeout.
func TestSessionTimeoutReload(t *testing.T) {
	dir := t.TempDir()
	ecdsa, _ := tlsSites(t, dir)
	key := filepath.Join(dir, "ticket.key")
	if err := os.WriteFile(key, []byte(strings.Repeat("k", 80)), 0o600); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "fulcrum.conf")
	write := func(timeout string) {
		conf := fmt.Sprintf(`pid %[1]s/f.pid;
error_log %[1]s/error.log info;
http {
    access_log off;
    server { listen 127.0.0.1:0 ssl; %[2]s ssl_session_ticket_key %[3]s; ssl_session_timeout %[4]s;
        return 200 "reused=$ssl_session_reused\n";
    }
}
`, dir, ecdsa, key, timeout)
		if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("60s")
	addr, sigs := runConfigFile(t, path)
	versions := []uint16{tls.VersionTLS12, tls.VersionTLS13}
	ask := func(v uint16, cache tls.ClientSessionCache) string {
		return tlsGet(t, addr, &tls.Config{InsecureSkipVerify: true, MinVersion: v, MaxVersion: v, ClientSessionCache: cache})
	}
	before := map[uint16]tls.ClientSessionCache{}
	for _, v := range versions {
		before[v] = tls.NewLRUClientSessionCache(2)
		ask(v, before[v])
	}
	write("1s")
	reloadAndWait(t, sigs, dir)
	after := map[uint16]tls.ClientSessionCache{}
	for _, v := range versions {
		after[v] = tls.NewLRUClientSessionCache(2)
		if got := ask(v, after[v]); got != "reused=.\n" {
			t.Fatalf("%s: first session after the reload: %q", tls.VersionName(v), got)
		}
	}
	made := time.Now()
	time.Sleep(time.Until(made.Add(1100 * time.Millisecond))) // past the new 1s timeout
	for _, v := range versions {
		if got := ask(v, before[v]); got != "reused=r\n" {
			t.Errorf("%s: a 60s session made before the reload: %q, want it resumed", tls.VersionName(v), got)
		}
		if got := ask(v, after[v]); got != "reused=.\n" {
			t.Errorf("%s: a 1s session 1.1 s old: %q, want a full handshake", tls.VersionName(v), got)
		}
	}
}

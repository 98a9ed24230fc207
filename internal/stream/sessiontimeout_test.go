package stream

import (
	"crypto/tls"
	"fmt"
	"testing"
	"time"
)

// TestSessionTimeout: the stream ssl_session_timeout (here inherited from
// the stream block, and overridden by a server) bounds how long a session
// resumes, in TLS 1.2 and 1.3. nginx 1.22.1's stream module with
// ssl_session_timeout 2s resumed a session saved by "openssl s_client
// -sess_out" at once ($ssl_session_reused "r") and made a full handshake
// with it 4 s later, in both versions; with 5m it resumed it then.
func TestSessionTimeout(t *testing.T) {
	a := startEcho(t, "a")
	dir := t.TempDir()
	writeCert(t, dir)
	p := New(Options{})
	t.Cleanup(p.Close)
	addrs, err := p.Apply(load(t, dir, fmt.Sprintf(`
ssl_certificate %%DIR%%/cert.pem; ssl_certificate_key %%DIR%%/key.pem;
ssl_session_timeout 1s;
server { listen 127.0.0.1:0 ssl; proxy_pass %[1]s; }
server { listen 127.0.0.1:0 ssl; proxy_pass %[1]s; ssl_session_timeout 5m; }`, a.addr())))
	if err != nil {
		t.Fatal(err)
	}
	short, long := addrs[0].String(), addrs[1].String()
	for _, v := range []uint16{tls.VersionTLS12, tls.VersionTLS13} {
		t.Run(tls.VersionName(v), func(t *testing.T) {
			t.Parallel()
			// resumed makes one session and reports whether its handshake
			// resumed one of cache's.
			resumed := func(addr string, cache tls.ClientSessionCache) bool {
				c, err := tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true, ServerName: "localhost",
					MinVersion: v, MaxVersion: v, ClientSessionCache: cache})
				if err != nil {
					t.Fatal(err)
				}
				defer c.Close()
				if got := askConn(c, "x"); got != "a x" { // reading the answer takes in a TLS 1.3 ticket
					t.Fatalf("answer %q", got)
				}
				return c.ConnectionState().DidResume
			}
			shortCache, longCache := tls.NewLRUClientSessionCache(2), tls.NewLRUClientSessionCache(2)
			steps := [][2]bool{
				{resumed(short, shortCache), resumed(short, shortCache)},
				{resumed(long, longCache), resumed(long, longCache)},
			}
			made := time.Now() // every ticket the clients hold was made before
			for i, s := range steps {
				if s != [2]bool{false, true} {
					t.Errorf("server %d at once: resumed %v, want a new session then a resumed one", i, s)
				}
			}
			time.Sleep(time.Until(made.Add(1100 * time.Millisecond))) // past the 1s timeout
			if resumed(short, shortCache) {
				t.Error("ssl_session_timeout 1s, 1.1 s later: resumed, want a full handshake")
			}
			if !resumed(long, longCache) {
				t.Error("ssl_session_timeout 5m, 1.1 s later: a full handshake, want a resumed session")
			}
		})
	}
}

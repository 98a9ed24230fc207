package integration

import (
	"bufio"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestBinaryUpgradeClosesParkedConnections: keep-alive connections idle
// long enough to park (a second after their response; plain, and TLS)
// when USR2 starts a new binary are closed by the old one's QUIT at once,
// as its idle connections, and it exits without waiting for their
// keepalive_timeout (120s); the new binary serves the clients' next
// connections.
func TestBinaryUpgradeClosesParkedConnections(t *testing.T) {
	cert, key := writeSelfSigned(t)
	u := startUpgradable(t, fmt.Sprintf(`
events {}
http {
    access_log off;
    keepalive_timeout 120s;
    server { listen 127.0.0.1:0; location / { return 200 "pid $pid\n"; } }
    server {
        listen 127.0.0.2:0 ssl;
        ssl_certificate %s;
        ssl_certificate_key %s;
        location / { return 200 "pid $pid\n"; }
    }
}
`, cert, key))
	oldPID := u.cmd.Process.Pid
	addrs := u.httpListening(oldPID)
	if len(addrs) != 2 {
		t.Fatalf("listening on %v, want 2 addresses", addrs)
	}
	type kept struct {
		c  net.Conn
		br *bufio.Reader
	}
	var conns []kept
	for i := range 6 {
		var c net.Conn
		var err error
		if i%2 == 0 {
			c, err = net.Dial("tcp", addrs[0])
		} else {
			c, err = tls.Dial("tcp", addrs[1], &tls.Config{InsecureSkipVerify: true})
		}
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(10 * time.Second))
		br := bufio.NewReader(c)
		if resp := roundTrip(t, c, br, "/"); resp.StatusCode != 200 || resp.Close {
			t.Fatalf("first request: %d, close %v", resp.StatusCode, resp.Close)
		}
		conns = append(conns, kept{c, br})
	}
	// Past idleGrace (1s) the connections park; the server keeps them open.
	for i, k := range conns {
		wait := time.Until(time.Now().Add(1300 * time.Millisecond))
		if i > 0 {
			wait = 10 * time.Millisecond
		}
		_ = k.c.SetReadDeadline(time.Now().Add(wait))
		if _, err := k.br.ReadByte(); err == nil || !strings.Contains(err.Error(), "timeout") {
			t.Fatalf("connection %d while idle: %v, want it open", i, err)
		}
	}
	newPID := u.upgrade(oldPID)
	quit := time.Now()
	u.signal(oldPID, syscall.SIGQUIT)
	for i, k := range conns {
		_ = k.c.SetReadDeadline(time.Now().Add(5 * time.Second))
		if n, err := k.br.Read(make([]byte, 1)); err != io.EOF {
			t.Errorf("parked connection %d after QUIT: %d bytes, %v; want EOF", i, n, err)
		}
	}
	select {
	case <-u.exited:
	case <-time.After(10 * time.Second):
		t.Fatal("the old binary did not exit after QUIT")
	}
	if d := time.Since(quit); d > 5*time.Second {
		t.Errorf("the old binary exited %v after QUIT", d)
	}
	if code, body := get(t, newClient(), "http://"+addrs[0]+"/"); code != 200 || body != fmt.Sprintf("pid %d\n", newPID) {
		t.Errorf("after the upgrade: %d %q, want the new pid %d", code, body, newPID)
	}
}

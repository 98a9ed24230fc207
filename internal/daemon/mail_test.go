package daemon_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"fulcrum/internal/testutil"
)

// mailLine reads one line from r within the connection's deadline.
func mailLine(t *testing.T, r *bufio.Reader) string {
	t.Helper()
	l, err := r.ReadString('\n')
	if err != nil {
		t.Fatalf("read: %v (got %q)", err, l)
	}
	return l
}

// TestMailReload: the daemon serves the mail block, and a reload keeps
// what the stream block keeps: an address in both configurations stays
// open, a removed address closes, and a session relayed before the reload
// runs on to its end.
func TestMailReload(t *testing.T) {
	backend := testutil.RawBackend(t, func(c net.Conn) {
		io.WriteString(c, "+OK backend\r\n")
		r := bufio.NewReader(c)
		for {
			l, err := r.ReadString('\n')
			if err != nil {
				return
			}
			io.WriteString(c, "+OK got "+strings.TrimSpace(l)+"\r\n")
		}
	})
	host, port, _ := net.SplitHostPort(backend)
	auth := testutil.RawBackend(t, func(c net.Conn) {
		r := bufio.NewReader(c)
		for {
			if l, err := r.ReadString('\n'); err != nil || l == "\r\n" {
				break
			}
		}
		fmt.Fprintf(c, "HTTP/1.0 200 OK\r\nAuth-Status: OK\r\nAuth-Server: %s\r\nAuth-Port: %s\r\n\r\n", host, port)
	})
	dir := t.TempDir()
	addrs := testutil.FreeAddrs(t, 2)
	first, second := addrs[0], addrs[1]
	conf := func(listens ...string) string {
		servers := ""
		for _, l := range listens {
			servers += "    server { listen " + l + "; protocol pop3; }\n"
		}
		return fmt.Sprintf("pid %[1]s/fulcrum.pid;\nerror_log %[1]s/error.log info;\nhttp { access_log off; server { listen 127.0.0.1:0; return 200; } }\nmail {\n    auth_http %[2]s/auth;\n%[3]s}\n", dir, auth, servers)
	}
	_, sigs := runConfig(t, dir, conf(first))

	c, err := net.Dial("tcp", first)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	r := bufio.NewReader(c)
	if l := mailLine(t, r); l != "+OK POP3 ready\r\n" {
		t.Fatalf("greeting %q", l)
	}
	fmt.Fprint(c, "USER joe\r\n")
	mailLine(t, r)
	fmt.Fprint(c, "PASS pw\r\n")
	if l := mailLine(t, r); l != "+OK got PASS pw\r\n" {
		t.Fatalf("login answer %q", l)
	}

	reload := func(text string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, "fulcrum.conf"), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		sigs <- syscall.SIGHUP
	}
	greets := func(addr string) bool {
		g, err := net.DialTimeout("tcp", addr, time.Second)
		if err != nil {
			return false
		}
		defer g.Close()
		_ = g.SetDeadline(time.Now().Add(5 * time.Second))
		l, err := bufio.NewReader(g).ReadString('\n')
		return err == nil && l == "+OK POP3 ready\r\n"
	}
	reload(conf(first, second))
	deadline := time.Now().Add(10 * time.Second)
	for !greets(second) {
		if time.Now().After(deadline) {
			t.Fatal("the reload did not open the second address")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if !greets(first) {
		t.Fatal("the reload closed the address it kept")
	}
	reload(conf(second))
	for greets(first) {
		if time.Now().After(deadline) {
			t.Fatal("the reload did not close the removed address")
		}
		time.Sleep(20 * time.Millisecond)
	}
	fmt.Fprint(c, "STAT\r\n")
	if l := mailLine(t, r); l != "+OK got STAT\r\n" {
		t.Fatalf("after the reloads the session got %q", l)
	}
}

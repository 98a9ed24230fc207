package integration

import (
	"bufio"
	"fmt"
	"fulcrum/internal/testutil"
	"io"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

// startTCPEcho starts a TCP backend that answers each line with "NAME LINE".
func startTCPEcho(t *testing.T, name string) string {
	t.Helper()
	return testutil.RawBackend(t, func(c net.Conn) {
		r := bufio.NewReader(c)
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				return
			}
			fmt.Fprintf(c, "%s %s", name, line)
		}
	})
}

// tcpSession is a line-oriented client connection to a stream server.
type tcpSession struct {
	c net.Conn
	r *bufio.Reader
}

func openTCP(t *testing.T, addr string) *tcpSession {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	_ = c.SetDeadline(time.Now().Add(20 * time.Second))
	return &tcpSession{c: c, r: bufio.NewReader(c)}
}

// ask sends a line and returns the answer, or "EOF" when the session ended.
func (s *tcpSession) ask(line string) string {
	if _, err := io.WriteString(s.c, line+"\n"); err != nil {
		return "EOF"
	}
	got, err := s.r.ReadString('\n')
	if err != nil {
		return "EOF"
	}
	return strings.TrimSuffix(got, "\n")
}

// streamConf is a configuration with one stream server on an ephemeral
// port proxying to upstream servers ups, logging each session.
func streamConf(ups ...string) string {
	var b strings.Builder
	b.WriteString("worker_shutdown_timeout 20s;\nevents {}\nstream {\n")
	b.WriteString("    log_format f '$status $upstream_addr $bytes_received $bytes_sent';\n")
	b.WriteString("    access_log %DIR%/logs/stream.log f buffer=0;\n    upstream db {\n")
	for _, u := range ups {
		fmt.Fprintf(&b, "        server %s;\n", u)
	}
	b.WriteString("    }\n    server { listen 127.0.0.1:0; proxy_pass db; proxy_connect_timeout 2s; }\n}\n")
	return b.String()
}

// TestStreamProxy runs the real binary with a stream block: sessions fail
// over from a dead server, are logged, keep running across a reload that
// sends new sessions elsewhere, and a graceful stop waits for them.
func TestStreamProxy(t *testing.T) {
	t.Parallel() // its own process, backends and temp dir; no upper time bound
	a, b := startTCPEcho(t, "a"), startTCPEcho(t, "b")
	dead, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	deadAddr := dead.Addr().String()
	dead.Close()

	in := startFulcrum(t, streamConf(deadAddr, a), 1)
	addr := in.listening()[0]

	// Failover: the dead server is tried once, then disabled for fail_timeout.
	for i := 0; i < 3; i++ {
		s := openTCP(t, addr)
		if got := s.ask("hi"); got != "a hi" {
			t.Fatalf("session %d answered %q, want a hi", i, got)
		}
		s.c.Close()
	}
	if n := in.countLogged(`connect() failed (111: Connection refused) while connecting to upstream`); n != 1 {
		t.Errorf("%d connect failures logged, want 1 (then the server is disabled)", n)
	}
	logPath := filepath.Join(in.dir, "logs", "stream.log")
	waitFor(t, "three log lines", func() bool { return strings.Count(readText(logPath), "\n") >= 3 })
	// A line is written when its session ends, and the three sessions end
	// in any order: the failover's line is one of them.
	want := []string{fmt.Sprintf("200 %s, %s 3 5", deadAddr, a), "200 " + a + " 3 5", "200 " + a + " 3 5"}
	got := strings.Split(readText(logPath), "\n")[:3]
	slices.Sort(want)
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Errorf("log lines %q, want %q in any order", got, want)
	}

	// Reload: the open session stays on a, new sessions go to b.
	held := openTCP(t, addr)
	if got := held.ask("1"); got != "a 1" {
		t.Fatalf("held session %q", got)
	}
	in.rewrite(strings.ReplaceAll(streamConf(b), "%DIR%", in.dir))
	in.signal(syscall.SIGHUP)
	waitFor(t, "the reload", func() bool { return in.logged("reconfiguring: done") })
	fresh := openTCP(t, addr)
	if got := fresh.ask("2"); got != "b 2" {
		t.Errorf("new session after reload %q, want b 2", got)
	}
	fresh.c.Close()
	if got := held.ask("3"); got != "a 3" {
		t.Errorf("held session after reload %q, want a 3", got)
	}

	// Graceful stop: the process waits for the held session.
	in.signal(syscall.SIGQUIT)
	waitFor(t, "graceful shutdown to start", func() bool { return in.logged("gracefully shutting down") })
	if got := held.ask("4"); got != "a 4" {
		t.Errorf("held session during shutdown %q, want a 4", got)
	}
	select {
	case <-in.exited:
		t.Fatal("fulcrum exited with a session open")
	case <-time.After(200 * time.Millisecond):
	}
	held.c.Close()
	select {
	case <-in.exited:
	case <-time.After(10 * time.Second):
		t.Fatal("fulcrum did not exit after the session ended")
	}
}

// TestStreamConfigTest checks that fulcrum -t knows the stream block.
func TestStreamConfigTest(t *testing.T) {
	t.Parallel() // fulcrum -t runs in their own temp dirs
	dir := t.TempDir()
	good := writeFiles(t, dir, map[string]string{"good.conf": "events {}\nstream {\n upstream u { server 127.0.0.1:5432; }\n server { listen 127.0.0.1:15432; proxy_pass u; }\n}\n"})
	if r := runFulcrum(t, "-t", "-c", filepath.Join(good, "good.conf")); r.code != 0 || !strings.Contains(r.stderr, "test is successful") {
		t.Errorf("good config: %+v", r)
	}
	bad := writeFiles(t, dir, map[string]string{"bad.conf": "events {}\nstream {\n server { listen 15432; proxy_pass backend; }\n}\n"})
	r := runFulcrum(t, "-t", "-c", filepath.Join(bad, "bad.conf"))
	if r.code == 0 || !strings.Contains(r.stderr, `no port in upstream "backend" in `+filepath.Join(bad, "bad.conf")+":3") {
		t.Errorf("bad config: %+v", r)
	}
}

func readText(path string) string {
	b, _ := os.ReadFile(path)
	return string(b)
}

package testutil

import (
	"errors"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"testing"
	"time"
)

// SyslogServer receives syslog datagrams, over UDP on 127.0.0.1 or on a
// unix datagram socket in a test's temporary directory. It is closed when
// the test ends.
type SyslogServer struct {
	// Network and Addr are where it listens: "udp" and "127.0.0.1:PORT",
	// or "unixgram" and a socket path.
	Network, Addr string
	conn          net.PacketConn
}

// NewSyslogUDP listens on an ephemeral UDP port of 127.0.0.1.
func NewSyslogUDP(t testing.TB) *SyslogServer {
	t.Helper()
	c, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &SyslogServer{Network: "udp", Addr: c.LocalAddr().String(), conn: c}
}

// NewSyslogUnix listens on a unix datagram socket "syslog.sock" in a new
// temporary directory (short enough for sun_path).
func NewSyslogUnix(t testing.TB) *SyslogServer {
	t.Helper()
	dir, err := os.MkdirTemp("", "syslog")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	path := filepath.Join(dir, "syslog.sock")
	c, err := net.ListenPacket("unixgram", path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &SyslogServer{Network: "unixgram", Addr: path, conn: c}
}

// Target is the syslog:server= value that sends to s.
func (s *SyslogServer) Target() string {
	if s.Network == "unixgram" {
		return "unix:" + s.Addr
	}
	return s.Addr
}

// Recv returns the next datagram, failing the test if none comes within 5
// seconds.
func (s *SyslogServer) Recv(t testing.TB) string {
	t.Helper()
	b := make([]byte, 65536)
	_ = s.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	n, _, err := s.conn.ReadFrom(b)
	if err != nil {
		t.Fatalf("syslog %s: no datagram: %v", s.Addr, err)
	}
	return string(b[:n])
}

// RecvMatch returns the next datagram that matches re, skipping others,
// failing the test if none comes within 5 seconds.
func (s *SyslogServer) RecvMatch(t testing.TB, re *regexp.Regexp) string {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	b := make([]byte, 65536)
	for {
		_ = s.conn.SetReadDeadline(deadline)
		n, _, err := s.conn.ReadFrom(b)
		if err != nil {
			t.Fatalf("syslog %s: no datagram matching %s: %v", s.Addr, re, err)
		}
		if re.Match(b[:n]) {
			return string(b[:n])
		}
	}
}

// None fails the test if a datagram arrives within wait.
func (s *SyslogServer) None(t testing.TB, wait time.Duration) {
	t.Helper()
	b := make([]byte, 65536)
	_ = s.conn.SetReadDeadline(time.Now().Add(wait))
	n, _, err := s.conn.ReadFrom(b)
	var ne net.Error
	if err == nil {
		t.Fatalf("syslog %s: unexpected datagram %q", s.Addr, b[:n])
	} else if !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatal(err)
	}
}

package syslog

import (
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"fulcrum/internal/config"
	"fulcrum/internal/testutil"
)

// at is the time stamped in the tests: 9:50:01 on December 7th, local time.
var at = time.Date(2026, 12, 7, 9, 50, 1, 0, time.Local)

func target(s *testutil.SyslogServer) config.Syslog {
	return config.Syslog{Network: s.Network, Addr: s.Addr, Facility: 23, Severity: 6, Tag: "nginx"}
}

// TestHeader checks the header nginx 1.22.1 writes (recorded with a UDP
// listener): `<PRI>Mmm dd hh:mm:ss host tag: `, PRI facility*8+severity,
// the day padded with a space, no hostname with nohostname.
func TestHeader(t *testing.T) {
	tests := []struct {
		name     string
		c        config.Syslog
		severity int
		want     string
	}{
		{"defaults, access line", config.Syslog{Facility: 23, Severity: 6, Tag: "nginx"}, 6, "<190>Dec  7 09:50:01 vm nginx: "},
		{"error line", config.Syslog{Facility: 23, Severity: 6, Tag: "nginx"}, 3, "<187>Dec  7 09:50:01 vm nginx: "},
		{"daemon warn nohostname", config.Syslog{Facility: 3, Severity: 4, Tag: "abc_1", NoHostname: true}, 4, "<28>Dec  7 09:50:01 abc_1: "},
		{"kern debug empty tag", config.Syslog{Facility: 0, Severity: 7, Tag: ""}, 7, "<7>Dec  7 09:50:01 vm : "},
		{"user, error line, nohostname", config.Syslog{Facility: 1, Severity: 0, Tag: "E", NoHostname: true}, 3, "<11>Dec  7 09:50:01 E: "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.c.Network, tt.c.Addr = "udp", "127.0.0.1:514"
			p, err := New(tt.c, "vm")
			if err != nil {
				t.Fatal(err)
			}
			if got := string(p.AppendHeader(nil, tt.severity, at)); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
	p, _ := New(config.Syslog{Network: "udp", Addr: "127.0.0.1:514", Tag: "t"}, "vm")
	if got := string(p.AppendHeader(nil, 6, time.Date(2026, 11, 25, 1, 2, 3, 0, time.Local))); got != "<6>Nov 25 01:02:03 vm t: " {
		t.Errorf("two-digit day: %q", got)
	}
}

// TestSend sends over UDP and a unix datagram socket: each message is one
// datagram, exactly the bytes given.
func TestSend(t *testing.T) {
	for _, srv := range []*testutil.SyslogServer{testutil.NewSyslogUDP(t), testutil.NewSyslogUnix(t)} {
		t.Run(srv.Network, func(t *testing.T) {
			p, err := New(target(srv), "vm")
			if err != nil {
				t.Fatal(err)
			}
			defer p.Close()
			for _, msg := range []string{"<190>Dec  7 09:50:01 vm nginx: one", "<190>Dec  7 09:50:01 vm nginx: two"} {
				if err := p.Send([]byte(msg)); err != nil {
					t.Fatal(err)
				}
				if got := srv.Recv(t); got != msg {
					t.Errorf("got %q, want %q", got, msg)
				}
			}
		})
	}
}

// TestMissingSocket: with no socket at the path, each Send fails with
// nginx's `connect() failed (2: No such file or directory)`, and the first
// Send after the socket appears reaches it (nginx retries every line).
func TestMissingSocket(t *testing.T) {
	dir, err := os.MkdirTemp("", "syslog")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "log.sock")
	p, err := New(config.Syslog{Network: "unixgram", Addr: path, Tag: "nginx"}, "vm")
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	for range 2 {
		err := p.Send([]byte("x"))
		var oe *OpError
		if !errors.As(err, &oe) || oe.Error() != "connect() failed (2: No such file or directory)" || !oe.Alert() {
			t.Fatalf("got %v", err)
		}
	}
	c, err := net.ListenPacket("unixgram", path)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := p.Send([]byte("back")); err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 100)
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	n, _, err := c.ReadFrom(b)
	if err != nil || string(b[:n]) != "back" {
		t.Fatalf("got %q, %v", b[:n], err)
	}
}

// TestRefusedUDP: nginx 1.22.1 (recorded) logs `send() failed (111:
// Connection refused)` at error when the ICMP of an earlier datagram comes
// back, closes the socket and sends the next line on a new one.
func TestRefusedUDP(t *testing.T) {
	c, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := c.LocalAddr().String()
	c.Close() // nothing listens there now
	p, err := New(config.Syslog{Network: "udp", Addr: addr, Tag: "nginx"}, "vm")
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	var refused *OpError
	deadline := time.Now().Add(5 * time.Second)
	for refused == nil && time.Now().Before(deadline) {
		if err := p.Send([]byte("x")); err != nil && !errors.As(err, &refused) {
			t.Fatal(err)
		}
	}
	if refused == nil || refused.Error() != "send() failed (111: Connection refused)" || refused.Alert() {
		t.Fatalf("got %v", refused)
	}
	if err := p.Send([]byte("x")); err != nil {
		t.Errorf("the send after a refused one (new socket): %v", err)
	}
}

// TestFullSocketDrops: a receiver that never reads fills its queue; Send
// then drops the line at once with ErrDropped instead of waiting.
func TestFullSocketDrops(t *testing.T) {
	srv := testutil.NewSyslogUnix(t)
	p, err := New(target(srv), "vm")
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	msg := []byte(strings.Repeat("x", 1000))
	start := time.Now()
	dropped := 0
	for i := 0; i < 100000 && dropped < 10; i++ {
		switch err := p.Send(msg); {
		case errors.Is(err, ErrDropped):
			dropped++
		case err != nil:
			t.Fatal(err)
		}
	}
	if dropped < 10 {
		t.Fatalf("no line dropped")
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("sends took %v", d)
	}
}

// TestClosed: after Close, Send sends nothing and reports nothing.
func TestClosed(t *testing.T) {
	srv := testutil.NewSyslogUDP(t)
	p, _ := New(target(srv), "vm")
	if err := p.Send([]byte("a")); err != nil {
		t.Fatal(err)
	}
	srv.Recv(t)
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if err := p.Send([]byte("b")); err != nil {
		t.Fatal(err)
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestSendAllocs: a send on a connected socket does not allocate.
func TestSendAllocs(t *testing.T) {
	srv := testutil.NewSyslogUDP(t)
	p, _ := New(target(srv), "vm")
	defer p.Close()
	msg := p.AppendHeader(make([]byte, 0, 256), 6, at)
	msg = append(msg, "line"...)
	_ = p.Send(msg)
	if n := testing.AllocsPerRun(100, func() {
		msg = p.AppendHeader(msg[:0], 6, at)
		_ = p.Send(msg)
	}); n != 0 {
		t.Errorf("%v allocations per send", n)
	}
}

// TestOpErrorLevel: a refused or reset send is an error, other failures
// alerts, as nginx's ngx_connection_error.
func TestOpErrorLevel(t *testing.T) {
	for _, tt := range []struct {
		e     OpError
		alert bool
	}{
		{OpError{"connect", syscall.ENOENT}, true},
		{OpError{"socket", syscall.EMFILE}, true},
		{OpError{"send", syscall.ECONNREFUSED}, false},
		{OpError{"send", syscall.EMSGSIZE}, true},
	} {
		if tt.e.Alert() != tt.alert {
			t.Errorf("%v: alert %v", &tt.e, !tt.alert)
		}
	}
}

package health

import (
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"syscall"
	"testing"
	"time"

	"fulcrum/internal/config"
	"fulcrum/internal/pcre"
	"fulcrum/internal/testutil"
	"fulcrum/internal/upstream"
)

// bannerBackend accepts TCP connections, reads what the client sends (up
// to a newline) when wantLine is set, then writes answer and closes.
func bannerBackend(t *testing.T, wantLine bool, answer string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				c.SetDeadline(time.Now().Add(2 * time.Second))
				if wantLine {
					buf := make([]byte, 1)
					for {
						if _, err := c.Read(buf); err != nil || buf[0] == '\n' {
							break
						}
					}
				}
				io.WriteString(c, answer)
			}()
		}
	}()
	return ln.Addr().String()
}

// silentBackend listens and never accepts: connects succeed (the kernel's
// backlog) and nothing is ever answered.
func silentBackend(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	return ln.Addr().String()
}

// udpEcho answers each datagram with prefix and the datagram.
func udpEcho(t *testing.T, prefix string) string {
	t.Helper()
	return testutil.UDPBackend(t, func(d []byte) [][]byte { return [][]byte{append([]byte(prefix), d...)} })
}

// closedAddr is a TCP and UDP address on which nothing listens.
func closedAddr(t *testing.T, network string) string {
	t.Helper()
	if network == "udp" {
		pc, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		a := pc.LocalAddr().String()
		pc.Close()
		return a
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	a := ln.Addr().String()
	ln.Close()
	return a
}

func TestStreamProbe(t *testing.T) {
	pong := &config.StreamMatch{Name: "m", Send: []byte("PING\r\n"), Expect: []byte("+PONG")}
	banner := &config.StreamMatch{Name: "b", ExpectRegex: pcre.MustCompile(`^220 .*ESMTP`, false)}
	sendOnly := &config.StreamMatch{Name: "s", Send: []byte("hello\n")}
	tests := []struct {
		name  string
		addr  func(t *testing.T) string
		probe StreamProbe
		fail  error // nil: passes; else errors.Is the failure
	}{
		{"tcp connect", func(t *testing.T) string { return bannerBackend(t, false, "") }, StreamProbe{}, nil},
		{"tcp refused", func(t *testing.T) string { return closedAddr(t, "tcp") }, StreamProbe{}, syscall.ECONNREFUSED},
		{"send and expect", func(t *testing.T) string { return bannerBackend(t, true, "+PONG\r\n") }, StreamProbe{Match: pong}, nil},
		{"wrong answer", func(t *testing.T) string { return bannerBackend(t, true, "-ERR\r\n") }, StreamProbe{Match: pong}, ErrMatch},
		{"banner regex", func(t *testing.T) string { return bannerBackend(t, false, "220 mx.example ESMTP ready\r\n") }, StreamProbe{Match: banner}, nil},
		{"wrong banner", func(t *testing.T) string { return bannerBackend(t, false, "554 go away\r\n") }, StreamProbe{Match: banner}, ErrMatch},
		{"silent server times out", silentBackend, StreamProbe{Match: pong, Timeout: 200 * time.Millisecond}, ErrTimeout},
		{"send without expect", func(t *testing.T) string { return bannerBackend(t, true, "") }, StreamProbe{Match: sendOnly}, nil},
		{"answer past the buffer", func(t *testing.T) string { return bannerBackend(t, true, strings.Repeat("x", 64)+"+PONG") }, StreamProbe{Match: pong, BufferSize: 32}, ErrMatch},
		{"udp send and expect", func(t *testing.T) string { return udpEcho(t, "+") }, StreamProbe{UDP: true, Match: &config.StreamMatch{Send: []byte("\x00PING"), Expect: []byte("+\x00PING")}}, nil},
		{"udp wrong answer", func(t *testing.T) string { return udpEcho(t, "-") }, StreamProbe{UDP: true, Timeout: 200 * time.Millisecond, Match: &config.StreamMatch{Send: []byte("PING"), Expect: []byte("+PING")}}, ErrMatch},
		{"udp default send", func(t *testing.T) string { return udpEcho(t, "") }, StreamProbe{UDP: true, Match: &config.StreamMatch{Expect: []byte("nginx health check")}}, nil},
		{"udp no icmp", func(t *testing.T) string { return udpEcho(t, "") }, StreamProbe{UDP: true, Timeout: 200 * time.Millisecond}, nil},
		{"udp port unreachable", func(t *testing.T) string { return closedAddr(t, "udp") }, StreamProbe{UDP: true, Timeout: 2 * time.Second}, syscall.ECONNREFUSED},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newPool(t, tt.addr(t))
			probe := tt.probe
			if probe.Timeout == 0 {
				probe.Timeout = 2 * time.Second
			}
			c := &Check{Key: "s", Pool: p, Stream: &probe}
			start := time.Now()
			err := c.Probe(context.Background(), p.Up()[0])
			if tt.fail == nil && err != nil {
				t.Fatalf("probe failed: %v", err)
			}
			if tt.fail != nil && !errors.Is(err, tt.fail) {
				t.Fatalf("probe: %v, want %v", err, tt.fail)
			}
			if d := time.Since(start); d > probe.Timeout+time.Second {
				t.Errorf("probe took %v, past its timeout %v", d, probe.Timeout)
			}
		})
	}
}

// TestStreamCheckState: a stream check turns a server unhealthy after
// fails= failed checks and healthy again after passes= passes, on the
// shared scheduling (Run) and state (upstream).
func TestStreamCheckState(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	go acceptAll(ln)
	p := newPool(t, addr)
	c := &Check{Key: "s", Pool: p, Interval: 20 * time.Millisecond, Policy: upstream.CheckPolicy{Fails: 2, Passes: 2},
		Stream: &StreamProbe{Timeout: time.Second}}
	p.AttachChecks(map[string]upstream.CheckPolicy{"s": c.Policy})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { c.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()
	s := p.Up()[0]
	waitHealth(t, s, upstream.HealthHealthy)
	ln.Close()
	waitHealth(t, s, upstream.HealthUnhealthy)
	ln2, err := net.Listen("tcp", addr)
	if err != nil {
		t.Skipf("port %s taken meanwhile: %v", addr, err)
	}
	defer ln2.Close()
	go acceptAll(ln2)
	waitHealth(t, s, upstream.HealthHealthy)
}

// acceptAll accepts and closes connections until ln closes.
func acceptAll(ln net.Listener) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		c.Close()
	}
}

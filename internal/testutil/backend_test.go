package testutil

import (
	"bufio"
	"errors"
	"io"
	"net"
	"syscall"
	"testing"
	"time"
)

// TestRawBackend: each connection reaches serve, and is closed when serve
// returns.
func TestRawBackend(t *testing.T) {
	addr := RawBackend(t, func(c net.Conn) {
		line, _ := bufio.NewReader(c).ReadString('\n')
		io.WriteString(c, "echo "+line)
	})
	for i := range 2 {
		c, err := net.DialTimeout("tcp", addr, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		_ = c.SetDeadline(time.Now().Add(5 * time.Second))
		io.WriteString(c, "hi\n")
		got, err := io.ReadAll(c) // ends when serve returns and the connection closes
		c.Close()
		if err != nil || string(got) != "echo hi\n" {
			t.Errorf("connection %d: %q, %v; want \"echo hi\\n\" then the close", i, got, err)
		}
	}
}

// TestRefusedAddr: a connection to the address is refused, and the port
// cannot be listened on while the test holds it.
func TestRefusedAddr(t *testing.T) {
	addr := RefusedAddr(t)
	if c, err := net.DialTimeout("tcp", addr, 5*time.Second); !errors.Is(err, syscall.ECONNREFUSED) {
		if c != nil {
			c.Close()
		}
		t.Errorf("dial %s: %v, want connection refused", addr, err)
	}
	if ln, err := net.Listen("tcp", addr); !errors.Is(err, syscall.EADDRINUSE) {
		if ln != nil {
			ln.Close()
		}
		t.Errorf("listen on %s: %v, want address in use", addr, err)
	}
}

// TestSyncBuffer: writes from several goroutines all land, and String reads
// while they go on (run with -race).
func TestSyncBuffer(t *testing.T) {
	var b SyncBuffer
	done := make(chan struct{})
	for range 4 {
		go func() {
			for range 100 {
				b.Write([]byte("x"))
			}
			done <- struct{}{}
		}()
	}
	for range 4 {
		_ = b.String()
		<-done
	}
	if got := len(b.String()); got != 400 {
		t.Errorf("%d bytes, want 400", got)
	}
}

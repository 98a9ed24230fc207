package testutil

import (
	"bufio"
	"io"
	"net"
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

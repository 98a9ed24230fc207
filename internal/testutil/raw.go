package testutil

import (
	"io"
	"net"
	"testing"
	"time"
)

// SendRaw dials addr, gives the connection a 5-second deadline for the whole
// exchange, and writes text to it as it is (a request head a client library
// would not send); the caller reads the answer and closes the connection.
func SendRaw(t testing.TB, addr, text string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(c, text); err != nil {
		c.Close()
		t.Fatal(err)
	}
	return c
}

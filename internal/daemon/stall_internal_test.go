package daemon

import (
	"io"
	"net"
	"testing"
	"time"

	"fulcrum/internal/testutil"
)

// TestConnWriterStallEdge checks the blocking write of a response with
// send_timeout when the goroutine stalled past the deadline it had just
// armed while the socket had room (the stall edge): the bytes go out, as
// nginx handles the write event before it expires the timer; Go's poller
// reported the passed deadline and the response was cut. A client that
// left the socket buffers full still times out.
func TestConnWriterStallEdge(t *testing.T) {
	testutil.WriteStallEdge(t, 50*time.Millisecond, func(c net.Conn, sock *net.TCPConn) (io.Writer, func()) {
		return &connWriter{c: c, sock: sock, timeout: 50 * time.Millisecond}, nil
	})
}

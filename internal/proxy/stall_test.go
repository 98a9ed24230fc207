package proxy

import (
	"bytes"
	"errors"
	"io"
	"net"
	"os"
	"testing"
	"time"

	"fulcrum/internal/testutil"
)

// TestSendDeadlineStallEdge checks a request write with proxy_send_timeout
// when the goroutine stalled past the deadline it had just armed while the
// socket had room (the stall edge): the bytes go out, as nginx handles the
// write event before it expires the timer, where Go's poller reported the
// passed deadline. A server that left the buffers full still times out, and
// so does a write that Abort (the client left) stopped.
func TestSendDeadlineStallEdge(t *testing.T) {
	testutil.WriteStallEdge(t, 50*time.Millisecond, func(c net.Conn, _ *net.TCPConn) (io.Writer, func()) {
		pc := &poolConn{c: c, sendTimeout: 50 * time.Millisecond}
		w := sendDeadline{pc}
		return w, func() { w.arm(); pc.Abort() }
	})
}

// TestSendDeadlineBetweenWrites: proxy_send_timeout "is set only between
// two successive write operations, not for the transmission of the whole
// request". A body handed over in one write (a buffered body) to a server
// that reads 16 KiB every 5 ms takes about 320 ms for 1 MiB, more than the
// 150 ms timeout, yet progresses within it: it goes through whole. A
// server that stops reading times the write out.
func TestSendDeadlineBetweenWrites(t *testing.T) {
	const timeout = 150 * time.Millisecond
	body := bytes.Repeat([]byte("0123456789abcdef"), 1<<20/16)
	for _, tc := range []struct {
		name      string
		stopAfter int // the server stops reading after this many bytes; 0: never
		wantErr   bool
	}{
		{"slow server", 0, false},
		{"server stops reading", 128 << 10, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, server := net.Pipe() // no buffer: every byte waits for the reader
			defer c.Close()
			defer server.Close()
			got := testutil.SlowReader(server, len(body), tc.stopAfter)
			pc := &poolConn{c: c, sendTimeout: timeout}
			n, err := sendDeadline{pc}.Write(body)
			if tc.wantErr {
				if !errors.Is(err, os.ErrDeadlineExceeded) {
					t.Fatalf("write: %d bytes, %v; want a timeout", n, err)
				}
				return
			}
			if err != nil || n != len(body) || len(<-got) != len(body) || pc.out != int64(len(body)) {
				t.Fatalf("write: %d bytes (counted %d), %v; want all %d", n, pc.out, err, len(body))
			}
		})
	}
}

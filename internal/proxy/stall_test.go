package proxy

import (
	"errors"
	"io"
	"os"
	"runtime"
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
	if runtime.GOOS != "linux" {
		t.Skip("the readiness poll is Linux's")
	}
	const timeout = 50 * time.Millisecond
	for _, tc := range []struct {
		name  string
		full  bool // the server reads nothing and the buffers are full
		abort bool // Abort before the write
		want  error
	}{
		{"room in the socket buffer", false, false, nil},
		{"buffers full", true, false, os.ErrDeadlineExceeded},
		{"aborted", false, true, os.ErrDeadlineExceeded},
	} {
		t.Run(tc.name, func(t *testing.T) {
			up, server := testutil.TCPPair(t)
			if tc.full {
				testutil.FillSocket(t, up)
			}
			stall := 3 * timeout
			if tc.abort {
				stall = 0 // Abort's deadline, not a stall, ends the write
			}
			pc := &poolConn{c: &testutil.StallWriter{TCPConn: up, Stall: stall}, sendTimeout: timeout}
			body := []byte("hello")
			if tc.full {
				body = make([]byte, 1<<20) // more than the buffers' room
			}
			w := sendDeadline{pc}
			if tc.abort {
				w.arm()
				pc.Abort()
			}
			n, err := w.Write(body)
			if !errors.Is(err, tc.want) && err != tc.want {
				t.Fatalf("write after the stall: %d bytes, %v; want %v", n, err, tc.want)
			}
			if tc.want != nil {
				return
			}
			up.Close()
			_ = server.SetReadDeadline(time.Now().Add(5 * time.Second))
			got, err := io.ReadAll(server)
			if err != nil || string(got) != "hello" {
				t.Errorf("the server got %q, %v; want %q", got, err, "hello")
			}
		})
	}
}

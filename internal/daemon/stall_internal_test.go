package daemon

import (
	"errors"
	"io"
	"os"
	"runtime"
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
	if runtime.GOOS != "linux" {
		t.Skip("the readiness poll is Linux's")
	}
	const timeout = 50 * time.Millisecond
	for _, tc := range []struct {
		name string
		full bool // the client reads nothing and the buffers are full
		want error
	}{
		{"room in the socket buffer", false, nil},
		{"buffers full", true, os.ErrDeadlineExceeded},
	} {
		t.Run(tc.name, func(t *testing.T) {
			client, server := testutil.TCPPair(t)
			if tc.full {
				testutil.FillSocket(t, server)
			}
			w := connWriter{c: &testutil.StallWriter{TCPConn: server, Stall: 3 * timeout}, sock: server, timeout: timeout}
			body := []byte("hello")
			if tc.full {
				body = make([]byte, 1<<20) // more than the buffers' room
			}
			n, err := w.Write(body)
			if !errors.Is(err, tc.want) && err != tc.want {
				t.Fatalf("write after the stall: %d bytes, %v; want %v", n, err, tc.want)
			}
			if tc.full {
				return
			}
			server.Close()
			_ = client.SetReadDeadline(time.Now().Add(5 * time.Second))
			got, err := io.ReadAll(client)
			if err != nil || string(got) != "hello" {
				t.Errorf("the client got %q, %v; want %q", got, err, "hello")
			}
		})
	}
}

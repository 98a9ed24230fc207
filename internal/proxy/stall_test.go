package proxy

import (
	"bytes"
	"errors"
	"io"
	"net"
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
			got := make(chan int, 1)
			go func() {
				buf := make([]byte, 16<<10)
				var n int
				for n < len(body) && (tc.stopAfter == 0 || n < tc.stopAfter) {
					time.Sleep(5 * time.Millisecond) // the server's pace
					m, err := io.ReadFull(server, buf)
					n += m
					if err != nil {
						break
					}
				}
				got <- n
			}()
			pc := &poolConn{c: c, sendTimeout: timeout}
			n, err := sendDeadline{pc}.Write(body)
			if tc.wantErr {
				if !errors.Is(err, os.ErrDeadlineExceeded) {
					t.Fatalf("write: %d bytes, %v; want a timeout", n, err)
				}
				return
			}
			if err != nil || n != len(body) || <-got != len(body) || pc.out != int64(len(body)) {
				t.Fatalf("write: %d bytes (counted %d), %v; want all %d", n, pc.out, err, len(body))
			}
		})
	}
}

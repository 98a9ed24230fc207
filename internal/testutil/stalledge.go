package testutil

import (
	"errors"
	"io"
	"net"
	"os"
	"runtime"
	"testing"
	"time"
)

// WriteStallEdge checks a writer that bounds each write with timeout
// against the stall edge: its goroutine stalls past the deadline it had
// just armed while the socket had room, and the bytes still go out, as
// nginx handles the write event before it expires the timer. A peer that
// left the socket buffers full still times the write out, and so does a
// write after abort, for a writer that has one (newWriter returns a nil
// abort otherwise). newWriter makes the writer over c, a StallWriter
// around sock (the socket itself, for writers that poll it).
func WriteStallEdge(t *testing.T, timeout time.Duration, newWriter func(c net.Conn, sock *net.TCPConn) (w io.Writer, abort func())) {
	t.Helper()
	if runtime.GOOS != "linux" {
		t.Skip("the readiness poll is Linux's")
	}
	for _, tc := range []struct {
		name  string
		full  bool // the peer reads nothing and the buffers are full
		abort bool // abort before the write
		want  error
	}{
		{"room in the socket buffer", false, false, nil},
		{"buffers full", true, false, os.ErrDeadlineExceeded},
		{"aborted", false, true, os.ErrDeadlineExceeded},
	} {
		if tc.abort {
			if _, abort := newWriter(nil, nil); abort == nil {
				continue // the writer has no abort to check
			}
		}
		t.Run(tc.name, func(t *testing.T) {
			sock, peer := TCPPair(t)
			if tc.full {
				FillSocket(t, sock)
			}
			stall := 3 * timeout
			if tc.abort {
				stall = 0 // the abort, not a stall, ends the write
			}
			w, abort := newWriter(&StallWriter{TCPConn: sock, Stall: stall}, sock)
			if tc.abort {
				abort()
			}
			body := []byte("hello")
			if tc.full {
				body = make([]byte, 1<<20) // more than the buffers' room
			}
			n, err := w.Write(body)
			if !errors.Is(err, tc.want) && err != tc.want {
				t.Fatalf("write after the stall: %d bytes, %v; want %v", n, err, tc.want)
			}
			if tc.want != nil {
				return
			}
			sock.Close()
			_ = peer.SetReadDeadline(time.Now().Add(5 * time.Second))
			got, err := io.ReadAll(peer)
			if err != nil || string(got) != "hello" {
				t.Errorf("the peer got %q, %v; want %q", got, err, "hello")
			}
		})
	}
}

// SlowReader reads from c in 16 KiB pieces, one every 5 ms (a slow
// application's pace), until it has want bytes, c fails, or it has read
// stopAfter bytes (0: no such limit; it then reads nothing more). The
// channel gets the bytes it read.
func SlowReader(c net.Conn, want, stopAfter int) <-chan []byte {
	got := make(chan []byte, 1)
	go func() {
		var all []byte
		buf := make([]byte, 16<<10)
		for len(all) < want && (stopAfter == 0 || len(all) < stopAfter) {
			time.Sleep(5 * time.Millisecond) // the application's pace
			n, err := io.ReadFull(c, buf[:min(len(buf), want-len(all))])
			all = append(all, buf[:n]...)
			if err != nil {
				break
			}
		}
		got <- all
	}()
	return got
}

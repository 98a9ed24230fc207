package deadline

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

// TestSendWriterStallEdge: a write whose goroutine stalled past the send
// timeout still goes out when the socket has room, as nginx writes on the
// event before it expires the timer; with full buffers, or after Abort,
// the timeout stands.
func TestSendWriterStallEdge(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the readiness poll is Linux's")
	}
	const timeout = 50 * time.Millisecond
	for _, tc := range []struct {
		name  string
		full  bool // the peer reads nothing and the buffers are full
		abort bool // Abort before the write
		want  error
	}{
		{"room in the socket buffer", false, false, nil},
		{"buffers full", true, false, os.ErrDeadlineExceeded},
		{"aborted", false, true, os.ErrDeadlineExceeded},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, peer := testutil.TCPPair(t)
			if tc.full {
				testutil.FillSocket(t, c)
			}
			stall := 3 * timeout
			if tc.abort {
				stall = 0
			}
			w := NewSendWriter(&testutil.StallWriter{TCPConn: c, Stall: stall}, timeout, nil)
			body := []byte("hello")
			if tc.full {
				body = make([]byte, 1<<20)
			}
			if tc.abort {
				w.Abort()
			}
			n, err := w.Write(body)
			if !errors.Is(err, tc.want) && err != tc.want {
				t.Fatalf("write: %d bytes, %v; want %v", n, err, tc.want)
			}
			if tc.want != nil {
				return
			}
			c.Close()
			_ = peer.SetReadDeadline(time.Now().Add(5 * time.Second))
			got, err := io.ReadAll(peer)
			if err != nil || string(got) != "hello" {
				t.Errorf("the peer got %q, %v; want %q", got, err, "hello")
			}
		})
	}
}

// TestSendWriterBetweenWrites: the timeout bounds the time between two
// writes, not the whole transmission. A reader that takes 16 KiB every
// 5 ms gets a 1 MiB body in about 320 ms, more than the 150 ms timeout:
// it arrives whole through a SendWriter, while one deadline over the whole
// write (what the FastCGI handler set before) times out. A reader that
// stops ends the write a timeout after its last progress.
func TestSendWriterBetweenWrites(t *testing.T) {
	const timeout = 150 * time.Millisecond
	body := bytes.Repeat([]byte("0123456789abcdef"), 1<<20/16)
	slowReader := func(c net.Conn, stopAfter int) <-chan []byte {
		got := make(chan []byte, 1)
		go func() {
			var all []byte
			buf := make([]byte, 16<<10)
			for len(all) < len(body) && (stopAfter == 0 || len(all) < stopAfter) {
				time.Sleep(5 * time.Millisecond) // the application's pace
				n, err := io.ReadFull(c, buf[:min(len(buf), len(body)-len(all))])
				all = append(all, buf[:n]...)
				if err != nil {
					break
				}
			}
			got <- all
		}()
		return got
	}
	for _, tc := range []struct {
		name      string
		send      bool // through a SendWriter, or one deadline for all
		stopAfter int  // the reader stops after this many bytes; 0: never
		wantErr   bool
	}{
		{"send writer", true, 0, false},
		{"one deadline for the whole body", false, 0, true},
		{"reader stops", true, 128 << 10, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, peer := net.Pipe() // no buffer: every byte waits for the reader
			defer c.Close()
			defer peer.Close()
			got := slowReader(peer, tc.stopAfter)
			var err error
			start := time.Now()
			if tc.send {
				_, err = NewSendWriter(c, timeout, nil).Write(body)
			} else {
				_ = c.SetWriteDeadline(time.Now().Add(timeout))
				_, err = c.Write(body)
			}
			took := time.Since(start)
			if tc.wantErr != (err != nil) {
				t.Fatalf("write: %v after %v; want an error: %v", err, took, tc.wantErr)
			}
			if err != nil {
				if !errors.Is(err, os.ErrDeadlineExceeded) {
					t.Errorf("write: %v, want a timeout", err)
				}
				return
			}
			c.Close()
			if all := <-got; !bytes.Equal(all, body) {
				t.Errorf("the reader got %d bytes, want %d", len(all), len(body))
			}
			if took < timeout {
				t.Errorf("the write took %v, less than the timeout %v: the reader's pace did not bound it", took, timeout)
			}
		})
	}
}

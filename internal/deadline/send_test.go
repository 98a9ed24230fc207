package deadline

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

// TestSendWriterStallEdge: a write whose goroutine stalled past the send
// timeout still goes out when the socket has room, as nginx writes on the
// event before it expires the timer; with full buffers, or after Abort,
// the timeout stands.
func TestSendWriterStallEdge(t *testing.T) {
	testutil.WriteStallEdge(t, 50*time.Millisecond, func(c net.Conn, _ *net.TCPConn) (io.Writer, func()) {
		w := NewSendWriter(c, 50*time.Millisecond, nil)
		return w, w.Abort
	})
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
			got := testutil.SlowReader(peer, len(body), tc.stopAfter)
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

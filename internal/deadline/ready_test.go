package deadline

import (
	"crypto/tls"
	"errors"
	"io"
	"net"
	"os"
	"runtime"
	"testing"
	"time"

	"fulcrum/internal/testutil"
)

// tlsPair is pair with TLS over it, the handshake done.
func tlsPair(t *testing.T) (client, server net.Conn) {
	t.Helper()
	certPEM, keyPEM := testutil.SelfSigned(t, testutil.ECDSA, "localhost")
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	c, s := testutil.TCPPair(t)
	tc := tls.Client(c, &tls.Config{InsecureSkipVerify: true, ServerName: "localhost"})
	ts := tls.Server(s, &tls.Config{Certificates: []tls.Certificate{cert}})
	errc := make(chan error, 1)
	go func() { errc <- ts.Handshake() }()
	if err := tc.Handshake(); err != nil {
		t.Fatal(err)
	}
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	return tc, ts
}

// awaitReadable polls until c's socket has something to read, so that a
// case's setup is done before its read (bytes on loopback arrive at once,
// the poll only guards against a slow scheduler).
func awaitReadable(t *testing.T, c net.Conn) {
	t.Helper()
	for end := time.Now().Add(5 * time.Second); !Readable(c); {
		if time.Now().After(end) {
			t.Fatal("the socket never became readable")
		}
		time.Sleep(time.Millisecond)
	}
}

// TestStalled checks the stall edge on real sockets: a read whose deadline
// passed (the reader stalled past it) fails with a timeout even when bytes
// or an end of stream had arrived, which Stalled tells from a truly idle
// peer; the read that follows with the deadline set afresh finds them.
func TestStalled(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the poll is Linux's")
	}
	for _, tc := range []struct {
		name    string
		tls     bool
		peer    func(t *testing.T, c net.Conn) // what the peer does during the stall
		stalled bool
		want    string // what the read after the edge gets; "EOF" for an end of stream
	}{
		{"bytes arrived", false, func(t *testing.T, c net.Conn) { write(t, c, "data") }, true, "data"},
		{"end of stream arrived", false, func(t *testing.T, c net.Conn) { c.Close() }, true, "EOF"},
		{"idle peer", false, func(*testing.T, net.Conn) {}, false, ""},
		{"bytes arrived under TLS", true, func(t *testing.T, c net.Conn) { write(t, c, "data") }, true, "data"},
		{"idle peer under TLS", true, func(*testing.T, net.Conn) {}, false, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var client, server net.Conn
			if tc.tls {
				client, server = tlsPair(t)
			} else {
				client, server = testutil.TCPPair(t)
			}
			tc.peer(t, client)
			if tc.stalled {
				awaitReadable(t, server)
			}
			// The deadline passed before the read began: the stall.
			if err := server.SetReadDeadline(time.Now().Add(-time.Millisecond)); err != nil {
				t.Fatal(err)
			}
			buf := make([]byte, 16)
			n, err := server.Read(buf)
			if !errors.Is(err, os.ErrDeadlineExceeded) {
				t.Fatalf("read past the deadline: %d bytes, %v; want Go's timeout (the edge)", n, err)
			}
			if got := Stalled(server, err); got != tc.stalled {
				t.Fatalf("Stalled = %v, want %v", got, tc.stalled)
			}
			if !tc.stalled {
				return
			}
			_ = server.SetReadDeadline(time.Now().Add(5 * time.Second))
			n, err = server.Read(buf)
			got := string(buf[:n])
			if errors.Is(err, io.EOF) {
				got = "EOF"
			} else if err != nil {
				t.Fatalf("the read after the edge: %v", err)
			}
			if got != tc.want {
				t.Errorf("the read after the edge got %q, want %q", got, tc.want)
			}
		})
	}
	if Stalled(nil, io.EOF) {
		t.Error("Stalled(io.EOF) = true, want false: only a timeout is an edge")
	}
}

// write writes s to c or fails the test.
func write(t *testing.T, c net.Conn, s string) {
	t.Helper()
	if _, err := c.Write([]byte(s)); err != nil {
		t.Fatal(err)
	}
}

// TestWriteStalled checks the edge for writes: a write whose deadline
// passed fails with a timeout even when the socket has room, which
// WriteStalled tells from a socket whose buffer the peer left full; under
// TLS a write timeout always stands (crypto/tls cannot write again).
func TestWriteStalled(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the poll is Linux's")
	}
	for _, tc := range []struct {
		name    string
		tls     bool
		full    bool // the peer reads nothing until the buffers are full
		stalled bool
	}{
		{"room in the buffer", false, false, true},
		{"buffer full", false, true, false},
		{"room in the buffer under TLS", true, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var server net.Conn
			if tc.tls {
				_, server = tlsPair(t)
			} else {
				_, server = testutil.TCPPair(t)
			}
			if tc.full {
				fill(t, server)
			}
			if err := server.SetWriteDeadline(time.Now().Add(-time.Millisecond)); err != nil {
				t.Fatal(err)
			}
			_, err := server.Write([]byte("data"))
			if !errors.Is(err, os.ErrDeadlineExceeded) {
				t.Fatalf("write past the deadline: %v, want Go's timeout (the edge)", err)
			}
			if got := WriteStalled(server, err); got != tc.stalled {
				t.Errorf("WriteStalled = %v, want %v", got, tc.stalled)
			}
		})
	}
}

// fill writes to c until its socket buffer and its peer's are full (the
// peer reads nothing).
func fill(t *testing.T, c net.Conn) {
	t.Helper()
	_ = c.(*net.TCPConn).SetWriteBuffer(4096)
	buf := make([]byte, 64*1024)
	for end := time.Now().Add(5 * time.Second); time.Now().Before(end); {
		_ = c.SetWriteDeadline(time.Now().Add(20 * time.Millisecond))
		if _, err := c.Write(buf); errors.Is(err, os.ErrDeadlineExceeded) {
			return
		} else if err != nil {
			t.Fatal(err)
		}
	}
	t.Fatal("the buffers never filled")
}

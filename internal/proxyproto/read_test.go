package proxyproto

import (
	"errors"
	"io"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"fulcrum/internal/testutil"
)

func readFrom(t *testing.T, c *net.TCPConn, size int) (*Header, error) {
	t.Helper()
	raw, err := c.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	return Read(raw, size, false)
}

// TestReadLeavesWhatFollows checks that Read takes the header's bytes only:
// a request sent in the same packet is still in the socket.
func TestReadLeavesWhatFollows(t *testing.T) {
	for _, size := range []int{MaxHeader, 1024} {
		client, server := testutil.TCPPair(t)
		const req = "GET / HTTP/1.0\r\n\r\n"
		if _, err := client.Write([]byte("PROXY TCP4 192.0.2.1 198.51.100.2 5000 443\r\n" + req)); err != nil {
			t.Fatal(err)
		}
		h, err := readFrom(t, server, size)
		if err != nil || h == nil || h.SrcAddr != "192.0.2.1" || h.SrcPort != 5000 {
			t.Fatalf("size %d: header %+v, %v", size, h, err)
		}
		_ = server.SetReadDeadline(time.Now().Add(5 * time.Second))
		got := make([]byte, len(req))
		if _, err := io.ReadFull(server, got); err != nil || string(got) != req {
			t.Fatalf("size %d: after the header %q, %v; want %q", size, got, err, req)
		}
	}
}

// TestReadErrors checks the ends of Read that are not a header.
func TestReadErrors(t *testing.T) {
	t.Run("header cut in two reads is broken, as nginx's", func(t *testing.T) {
		client, server := testutil.TCPPair(t)
		_, _ = client.Write([]byte("PROXY TCP4"))
		_, err := readFrom(t, server, MaxHeader)
		if e, ok := IsInvalid(err); !ok || e.Msg != `broken header: "PROXY TCP4"` {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("a stream peek holds 107 bytes", func(t *testing.T) {
		client, server := testutil.TCPPair(t)
		_, _ = client.Write([]byte("PROXY UNKNOWN " + strings.Repeat("x", 200) + "\r\n"))
		_, err := readFrom(t, server, MaxHeader)
		if e, ok := IsInvalid(err); !ok || len(e.Msg) != len(`broken header: ""`)+MaxHeader {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("closed before a byte", func(t *testing.T) {
		client, server := testutil.TCPPair(t)
		client.Close()
		if _, err := readFrom(t, server, MaxHeader); !errors.Is(err, io.EOF) {
			t.Fatalf("err = %v, want EOF", err)
		}
	})
	t.Run("deadline", func(t *testing.T) {
		_, server := testutil.TCPPair(t)
		_ = server.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
		if _, err := readFrom(t, server, MaxHeader); !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("err = %v, want a timeout", err)
		}
	})
}

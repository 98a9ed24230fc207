package proxy

import (
	"errors"
	"io"
	"net"
	"os"
	"strings"
	"testing"
	"time"
)

// TestAbortSurvivesRearm checks that Abort (the client went away) stops
// the exchange for good: a later write or read re-arms its lazy deadline
// (proxy_send_timeout, proxy_read_timeout), and that must not lift the
// past deadline Abort set, or the request body goes on to a server that
// reads it slowly, and the response is awaited, for a client that is gone.
// nginx closes the upstream connection at once
// (ngx_http_upstream_check_broken_connection).
func TestAbortSurvivesRearm(t *testing.T) {
	for _, tc := range []struct {
		name  string
		stale bool // the lazy deadlines were set long ago (outside their window)
	}{
		{"abort before the first write", false},
		{"abort after the lazy window passed", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, server := net.Pipe()
			defer c.Close()
			defer server.Close()
			go io.Copy(io.Discard, server) // a server that reads whatever comes
			pc := &poolConn{c: c, sendTimeout: 5 * time.Second}
			if tc.stale {
				long := time.Now().Add(-time.Minute)
				pc.wd.Set(long)
				pc.rd.Set(long)
			}
			pc.Abort()

			done := make(chan error, 1)
			go func() { done <- pc.writeRequest([]byte("POST / HTTP/1.1\r\n\r\n"), strings.NewReader("body"), 4) }()
			select {
			case err := <-done:
				if !errors.Is(err, os.ErrDeadlineExceeded) {
					t.Fatalf("write after Abort: %v, want a timeout", err)
				}
			case <-time.After(2 * time.Second):
				t.Fatal("write after Abort still waiting")
			}

			pc.setReadTimeout(time.Now(), 5*time.Second)
			go func() {
				_, err := c.Read(make([]byte, 1))
				done <- err
			}()
			select {
			case err := <-done:
				if err == nil {
					t.Fatal("read after Abort returned data")
				}
			case <-time.After(2 * time.Second):
				t.Fatal("read after Abort (and a re-armed proxy_read_timeout) still waiting")
			}
		})
	}
}

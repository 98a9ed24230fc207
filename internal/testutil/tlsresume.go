package testutil

import (
	"crypto/tls"
	"io"
	"net"
	"sync"
	"testing"
	"time"
)

// Clock is a settable time for a tls.Config's Time (or anything else
// that reads the time through a function): tests move it instead of
// sleeping. The zero Clock reads the zero time.
type Clock struct {
	mu sync.Mutex // guards t
	t  time.Time
}

// NewClock returns a Clock reading t.
func NewClock(t time.Time) *Clock { return &Clock{t: t} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Add moves the clock by d.
func (c *Clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// TLSByteServer accepts TLS connections on 127.0.0.1 with cfg until the
// test ends; each connection writes one byte (so that TLS 1.3 session
// tickets reach the client before it reads) and closes. It returns the
// address.
func TLSByteServer(t testing.TB, cfg *tls.Config) string {
	t.Helper()
	ln, err := tls.Listen("tcp", "127.0.0.1:0", cfg)
	if err != nil {
		t.Fatal(err)
	}
	Serve(t, ln, func(c net.Conn) { c.Write([]byte("x")) })
	return ln.Addr().String()
}

// Resumed makes one TLS handshake of version to addr (a TLSByteServer)
// with the client session cache, reads to the end, and reports whether
// the session was resumed.
func Resumed(t testing.TB, addr string, version uint16, cache tls.ClientSessionCache) bool {
	t.Helper()
	c, err := tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true, ServerName: "localhost",
		MinVersion: version, MaxVersion: version, ClientSessionCache: cache})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := io.ReadAll(c); err != nil {
		t.Fatal(err)
	}
	return c.ConnectionState().DidResume
}

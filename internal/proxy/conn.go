package proxy

import (
	"net"
	"sync/atomic"
	"time"
)

// upstreamConn is a pooled connection to an upstream server that knows its age
// and how many requests it carried, for keepalive_requests and keepalive_time,
// and bounds each write with the current attempt's proxy_send_timeout.
type upstreamConn struct {
	net.Conn
	born     time.Time
	requests atomic.Int64
	// sendTimeout is the proxy_send_timeout of the attempt using the
	// connection now, in nanoseconds; 0 means none.
	sendTimeout atomic.Int64
	// guard checks what the upstream sends before net/http reads it. Only the
	// transport's read loop reads and only its write path writes, one exchange
	// at a time, so the guard needs no lock of its own.
	guard *respGuard
}

// Read gives net/http the checked response stream.
func (c *upstreamConn) Read(p []byte) (int, error) { return c.guard.Read(p) }

// Write sets the write deadline from proxy_send_timeout before each write, so
// the timeout bounds the gap between two successful writes, as nginx's does.
func (c *upstreamConn) Write(p []byte) (int, error) {
	if d := time.Duration(c.sendTimeout.Load()); d > 0 {
		_ = c.Conn.SetWriteDeadline(time.Now().Add(d))
	}
	c.guard.wrote(p)
	return c.Conn.Write(p)
}

// begin records that an attempt with the given send timeout took the connection.
func (c *upstreamConn) begin(sendTimeout time.Duration) {
	c.requests.Add(1)
	c.sendTimeout.Store(int64(sendTimeout))
}

// spent reports whether the connection may not carry another request.
func (c *upstreamConn) spent(o PoolOptions, now time.Time) bool {
	if o.KeepaliveRequests > 0 && c.requests.Load() >= int64(o.KeepaliveRequests) {
		return true
	}
	return o.KeepaliveTime > 0 && now.Sub(c.born) >= o.KeepaliveTime
}

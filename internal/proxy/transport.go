package proxy

import (
	"time"
)

// Defaults for the upstream connection pool. fulcrum keeps upstream connections
// alive by default (nginx needs `keepalive N` for that).
const (
	// DefaultKeepalive is the number of idle connections kept per upstream server.
	DefaultKeepalive = 32
	// DefaultKeepaliveTimeout closes idle upstream connections, well before the
	// usual backend keep-alive timeouts, so fulcrum closes first.
	DefaultKeepaliveTimeout = 60 * time.Second
	// maxResponseHeaderBytes caps an upstream's response header (502 beyond).
	maxResponseHeaderBytes = 64 << 10
)

// PoolOptions tune the upstream connection pool of one upstream block.
type PoolOptions struct {
	// Keepalive is the number of idle connections per server; 0 means
	// DefaultKeepalive.
	Keepalive int
	// KeepaliveTimeout closes connections idle this long; 0 means the default.
	KeepaliveTimeout time.Duration
	// KeepaliveRequests closes a connection after this many requests; 0 means
	// no limit.
	KeepaliveRequests int
	// KeepaliveTime closes a connection this long after it was opened, at the end
	// of the request it is carrying; 0 means no limit.
	KeepaliveTime time.Duration
}

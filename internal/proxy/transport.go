package proxy

import (
	"context"
	"net"
	"net/http"
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

// dialTarget is the server an attempt dials, carried in the attempt's context so
// that one transport serves TCP and unix-socket servers alike.
type dialTarget struct {
	network, addr  string
	connectTimeout time.Duration
}

type dialTargetKey struct{}

// newTransport returns the HTTP/1.1 client transport for one upstream block. It
// never honours HTTP_PROXY, never adds or removes compression, and dials the
// server named in the request's context with the location's connect timeout.
func newTransport(opts PoolOptions) *http.Transport {
	keep := opts.Keepalive
	if keep <= 0 {
		keep = DefaultKeepalive
	}
	idle := opts.KeepaliveTimeout
	if idle <= 0 {
		idle = DefaultKeepaliveTimeout
	}
	return &http.Transport{
		Proxy:                  nil,
		DialContext:            dialUpstream,
		MaxIdleConnsPerHost:    keep,
		IdleConnTimeout:        idle,
		DisableCompression:     true,
		ForceAttemptHTTP2:      false,
		MaxResponseHeaderBytes: maxResponseHeaderBytes,
		ExpectContinueTimeout:  0,
	}
}

// dialUpstream connects to the server named by the context's dialTarget.
func dialUpstream(ctx context.Context, network, addr string) (net.Conn, error) {
	t, ok := ctx.Value(dialTargetKey{}).(dialTarget)
	if !ok {
		t = dialTarget{network: network, addr: addr, connectTimeout: 60 * time.Second}
	}
	d := net.Dialer{Timeout: t.connectTimeout, KeepAlive: 30 * time.Second}
	c, err := d.DialContext(ctx, t.network, t.addr)
	if err != nil {
		return nil, err
	}
	uc := &upstreamConn{Conn: c, born: time.Now()}
	uc.guard = newRespGuard(c)
	return uc, nil
}

package proxy

import (
	"net/http"
	"strings"
	"sync"
	"time"

	"fulcrum/internal/balancer"
	"fulcrum/internal/upstream"
)

// Bindings are the upstream connections bound to one client connection by
// NGINX Plus's ntlm directive: "The upstream connection is bound to the
// client connection once the client sends a request with the
// "Authorization" header field value starting with "Negotiate" or "NTLM".
// Further client requests will be proxied through the same upstream
// connection, keeping the authentication context."
//
// A bound connection never goes back to the upstream's shared keep-alive
// pool: between the client's requests it waits here, and it is closed when
// the client connection ends (Close), so that an authenticated context is
// never handed to another client. One client connection holds at most one
// bound connection per upstream pool. The zero value is ready to use; the
// client connection owns it (the engine's, through ConnBinder).
type Bindings struct {
	mu     sync.Mutex // guards conns and closed
	conns  []boundConn
	closed bool
}

// boundConn is one idle upstream connection bound to a client connection:
// its pool (which upstream it belongs to) and its server.
type boundConn struct {
	pool *ConnPool
	srv  *upstream.Server
	pc   *poolConn
}

// A ConnBinder is a ResponseWriter whose client connection can hold
// upstream connections bound to it (ntlm): the engine's HTTP/1.x writer.
// Under a writer that is not one (an HTTP/2 stream's), a connection that
// would be bound is closed after its exchange instead.
type ConnBinder interface {
	Bindings() *Bindings
}

// take removes and returns the connection bound for pool, if any. A bound
// connection of a retired pool (a reload replaced its upstream) is closed
// on the way: the client's next request to the new upstream picks anew.
func (b *Bindings) take(pool *ConnPool) boundConn {
	if b == nil {
		return boundConn{}
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	var found boundConn
	kept := b.conns[:0]
	for _, c := range b.conns {
		switch {
		case c.pool == pool:
			found = c
		case c.pool.retired():
			c.pc.close()
		default:
			kept = append(kept, c)
		}
	}
	clear(b.conns[len(kept):])
	b.conns = kept
	return found
}

// keep binds pc, a connection to srv of pool whose exchange ended at now
// and may carry another request, to the client connection; after Close
// (or on a nil b: a client connection that cannot hold it) pc is closed.
// A connection past keepalive_requests or keepalive_time is closed too.
func (b *Bindings) keep(pool *ConnPool, srv *upstream.Server, pc *poolConn, now time.Time) {
	if b == nil || pool.spent(pc, now) {
		pc.close()
		return
	}
	pc.lastUsed = now
	pc.rbuf.Release()
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		pc.close()
		return
	}
	for i, c := range b.conns {
		if c.pool == pool {
			c.pc.close()
			b.conns[i] = boundConn{pool: pool, srv: srv, pc: pc}
			return
		}
	}
	b.conns = append(b.conns, boundConn{pool: pool, srv: srv, pc: pc})
}

// Close closes every bound connection: the client connection ended.
// Connections that come back to b afterwards are closed at once.
func (b *Bindings) Close() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.closed = true
	for _, c := range b.conns {
		c.pc.close()
	}
	clear(b.conns)
	b.conns = b.conns[:0]
}

// Len returns how many upstream connections are bound now.
func (b *Bindings) Len() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.conns)
}

// reusable reports whether the idle bound connection pc may carry a
// request at now: within keepalive_timeout and still open and quiet.
func (c boundConn) reusable(now time.Time) bool {
	return now.Sub(c.pc.lastUsed) < c.pool.opts.KeepaliveTimeout && alive(c.pc)
}

// ntlmAuth reports whether r's Authorization starts with "NTLM" or
// "Negotiate", the requests that bind their upstream connection. The
// scheme is compared case-insensitively, as RFC 9110 section 11.1 says.
func ntlmAuth(r *http.Request) bool {
	for _, v := range r.Header["Authorization"] {
		if hasPrefixFold(v, "NTLM") || hasPrefixFold(v, "Negotiate") {
			return true
		}
	}
	return false
}

// hasPrefixFold is strings.HasPrefix with ASCII case folded.
func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}

// bindings returns the client connection's Bindings, nil when its writer
// cannot hold bound connections.
func (req *request) bindings() *Bindings {
	if b, ok := req.w.(ConnBinder); ok {
		return b.Bindings()
	}
	return nil
}

// dropBound closes a bound connection the request took but did not use
// (its attempt picked another server, or it ended before any attempt).
func (req *request) dropBound() {
	if req.bound.pc != nil {
		req.bound.pc.close()
	}
	req.bound = boundConn{}
}

// takeBound starts the ntlm handling of a request to an upstream with
// ntlm, at now: the connection bound to the client connection for the
// target's pool, if any, is taken, and its server is the balancer's first
// pick (in.Bound). A bound connection that ended while it was idle (the
// server closed it, or keepalive_timeout passed) ends the binding here, as
// a "Connection: close" answer does: it is closed and the request is a new
// pick. The attempt's connection is bound after the exchange when the
// request authenticates (ntlmAuth) or a live one was bound already.
func (req *request) takeBound(in *balancer.Input, now time.Time) {
	req.binds = req.bindings()
	req.bound = req.binds.take(req.target.Transport)
	if req.bound.pc != nil && !req.bound.reusable(now) {
		req.dropBound()
	}
	in.Bound = req.bound.srv
	req.bind = req.bound.pc != nil || ntlmAuth(req.in)
}

// useBound returns the bound connection the request took when the attempt
// goes to its server srv and it can carry a request at start, else nil
// (closing it): the attempt then takes a connection the usual way, and a
// binding is made anew only as takeBound decided.
func (req *request) useBound(srv *upstream.Server, start time.Time) *poolConn {
	b := req.bound
	if b.pc == nil {
		return nil
	}
	req.bound = boundConn{}
	if b.srv != srv || !b.reusable(start) {
		b.pc.close()
		return nil
	}
	return b.pc
}

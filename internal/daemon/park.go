package daemon

import (
	"sync"
	"time"

	"fulcrum/internal/idlepark"
)

// idleParking is the daemon's idlepark.Parker, made when the first
// connection parks and closed at stop.
type idleParking struct {
	mu     sync.Mutex
	p      *idlepark.Parker
	failed bool // New failed (no epoll) or the daemon stopped: no parking
}

// parker returns the Parker, making it on first use; nil when there is
// none (the system has no epoll, or the daemon stopped).
func (ip *idleParking) parker() *idlepark.Parker {
	ip.mu.Lock()
	defer ip.mu.Unlock()
	if ip.p == nil && !ip.failed {
		p, err := idlepark.New()
		if err != nil {
			ip.failed = true
			return nil
		}
		ip.p = p
	}
	return ip.p
}

// close wakes every parked connection and stops parking.
func (ip *idleParking) close() {
	ip.mu.Lock()
	p := ip.p
	ip.p, ip.failed = nil, true
	ip.mu.Unlock()
	if p != nil {
		p.Close()
	}
}

// park hands the connection, idle past idleGrace and holding no read
// buffer, to the daemon's parker until the next request's first byte, the
// client's close, the wait's deadline, or a stop wakes it; then a new
// goroutine goes on where waitRequest's waitIdle would have (resume). It
// reports whether it parked: false with no daemon (tests' bare engines) or
// no parker, and for a TLS connection's first request (its handshake may
// still be under way) or a TLS connection that is not TLS (a plain request
// on an ssl port). The goroutine that parked must return without touching
// the connection.
//
// A TLS connection parks on its socket: its wait timed out, so the TLS
// layer holds no whole record (it reads one before it returns anything),
// and whatever comes next arrives on the socket.
//
// A goroutine waiting in Go's poller keeps the stack a proxied request grew
// (8 KiB); nginx keeps an idle keep-alive connection in well under 1 KiB.
// With 8,000 idle keep-alive connections fulcrum held 115 MiB before.
func (cc *clientConn) park(first bool, deadline time.Time) bool {
	raw := cc.rawc
	if raw == nil {
		sc, ok := cc.c.(*sslConn)
		if !ok || first || sc.tc.Load() == nil {
			return false
		}
		raw = cc.watched
	}
	if raw == nil || cc.srv.daemon == nil {
		return false
	}
	p := cc.srv.daemon.parking.parker()
	if p == nil {
		return false
	}
	// The scratch goes before Park: the wake may run resume at once. A
	// refused park gives it back, and the goroutine goes on waiting.
	scratch := cc.connScratch
	cc.shed()
	parked := false
	// Inside Control the socket stays open (a Close waits for it), so the
	// fd that goes into the set, and out again if a closer came first, is
	// this connection's, not one a new connection reused.
	err := raw.Control(func(fd uintptr) {
		if _, err := p.Park(int(fd), deadline, &cc.ticket, func() { cc.resume(first, deadline) }); err != nil {
			return
		}
		parked = true
		// closeIdle and Close mark the connection closing, then unpark it,
		// then close its socket. One that marked it before Park stored the
		// ticket found none to wake: wake it here, before that close.
		if cc.state.Load() == connClosing {
			cc.unpark()
		}
	})
	if err != nil || !parked {
		cc.connScratch = scratch
		return false
	}
	return true
}

// unpark wakes a parked connection before it is closed under it (closeIdle,
// Close): its socket leaves the parker's set while still open, and its
// goroutine comes back to find it closed, as a waiting one would.
func (cc *clientConn) unpark() {
	if t := cc.ticket.Swap(nil); t != nil {
		t.Wake()
	}
}

// resume is a parked connection's new goroutine: the wait ends as
// waitRequest's would have after waitIdle, then the requests go on.
func (cc *clientConn) resume(first bool, deadline time.Time) {
	cc.newScratch()
	err := cc.waitIdle(deadline) // the parker cleared cc.ticket
	if !cc.endWait(first, err, true, deadline) {
		cc.close()
		return
	}
	cc.serveRequests(false, true)
}

// shed lets go of what the last request left for the next one to reuse:
// the connection's scratch (its text, header maps and lists, the response
// writer's) and the request's text in connInfo. A busy connection keeps
// them (no allocation per request); a parked one would hold 2 KiB in them
// for as long as it idles, and the next request after a wait that long can
// afford a fresh set (resume).
func (cc *clientConn) shed() {
	cc.connScratch = nil
	cc.ci.dropScratch()
	cc.ci.requestLine, cc.ci.fields = "", nil
}

package daemon

import (
	"context"
	"errors"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"fulcrum/internal/errlog"
	"fulcrum/internal/vars"
)

// httpServer serves one listener with fulcrum's own HTTP/1.1 engine (DESIGN.md,
// "The request path is ours"): one goroutine per client connection reads each
// request head with the strict h1 parser, runs the handler on that goroutine and
// writes the response through the connection's buffered writer. There is no
// second parser, no background reader and no hand-off between goroutines.
//
// Its lifecycle follows net/http's Server: Serve accepts until the listener
// closes, Shutdown stops accepting and waits for requests in flight while idle
// keep-alive connections close, Close closes everything at once. Connections
// taken over by an upgrade (Hijack) leave its care, as in net/http; the daemon's
// upgradeTracker closes them.
type httpServer struct {
	// lim are the listener's limits when it opened; next, once a reload
	// stored it, those of the configuration in force, which a connection's
	// next request uses (limits), as it uses the configuration in force.
	lim     limits
	next    atomic.Pointer[limits]
	handler func(w *respWriter, r *http.Request, cc *clientConn)
	// log is the error log of the engine's own lines (a failed accept, a
	// panic) when mainLogs is nil (tests); mainLogs returns the main one
	// in force, which a reload may change (see mainLog).
	log      *errlog.Logger
	mainLogs func() *errlog.Logger
	nextID   func() uint64
	date     *dateCache
	// stats are the daemon's connection counters; nil counts nothing.
	stats *connStats
	// refused logs a request the engine refused before any handler (a 400,
	// 408, 417...); host is its Host field, "" when none was read; whole
	// says the head was read to its end (see snapshot.logRefused).
	refused func(st *vars.State, host string, whole bool)
	// refusedPage answers a refused head with code through the error_page
	// of the server it belongs to and reports whether one applied (see
	// snapshot.serveRefused); nil: the engine's own page always.
	refusedPage func(w *respWriter, r *http.Request, sc *requestScratch, host string, whole bool, code int) bool
	// refusedName is the name of the server a refused head belongs to
	// (see snapshot.refusedServer), which its error log line names, and
	// the error log of the server its Host chose (nil: the connection's;
	// see snapshot.refusedName); nil: the default server's (lim.serverName).
	refusedName func(st *vars.State, host string, whole bool) (string, *errlog.Logger)
	// refusedLook gives fulcrum's own page for a head refused with code
	// what the server the head belongs to sets (see
	// snapshot.refusedLook): it adds that server's "always" add_header
	// fields to w's header and returns its server_tokens and
	// msie_padding, with ok false for a listener the configuration no
	// longer has; nil: the default server's (lim), no fields.
	refusedLook func(w *respWriter, st *vars.State, host string, whole bool, code int) (page ownPage, ok bool)
	// h2 serves the connections whose handshake chose HTTP/2 on the
	// listener named key (the daemon's, for its snapshots); nil: none.
	h2     *h2Servers
	key    string
	daemon *Daemon

	shutting atomic.Bool
	tick     atomic.Uint64 // abort checks run so far (see watchClients)
	// lingering counts the connections lingering after their last
	// response (closing.go: linger, lingerSlot).
	lingering atomic.Int64
	mu        sync.Mutex // guards ln, conns, accepting, closed and watching
	ln        net.Listener
	conns     map[*clientConn]struct{}
	// accepting counts the Serve loops that have not returned: a
	// connection Accept returned as the listener closed is tracked after
	// Shutdown's first look, so Shutdown waits for the loops too.
	accepting int
	// closed says Close ran: connections accepted after it are closed
	// unserved.
	closed   bool
	watching bool          // watchClients runs
	suspects []*clientConn // reused by checkClients
	// stopCh is closed when Shutdown or Close begins (stopped), made on
	// first use; stopClosed records that it was. Both under mu.
	stopCh     chan struct{}
	stopClosed bool
	// ended is done once Close ran (endedContext), made on first use;
	// endAll cancels it. Both under mu.
	ended  context.Context
	endAll context.CancelFunc
}

// endedContext returns a context done once Close runs (a fast stop, or a
// graceful one past worker_shutdown_timeout): what outlives its client but
// not the server, a mirror subrequest, ends with it.
func (s *httpServer) endedContext() context.Context {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ended == nil {
		s.ended, s.endAll = context.WithCancel(context.Background())
		if s.closed {
			s.endAll()
		}
	}
	return s.ended
}

// stopped returns a channel that is closed once Shutdown or Close began: a
// request waiting for a timer of its own (auth_delay) stops waiting then.
func (s *httpServer) stopped() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopCh == nil {
		s.stopCh = make(chan struct{})
		if s.shuttingDown() {
			close(s.stopCh)
			s.stopClosed = true
		}
	}
	return s.stopCh
}

// shuttingDown reports whether Shutdown or Close was called: every response
// then closes its connection.
func (s *httpServer) shuttingDown() bool { return s.shutting.Load() }

// Serve accepts connections on ln until it is closed and serves each on its own
// goroutine. It returns nil after Shutdown or Close, else the accept error.
func (s *httpServer) Serve(ln net.Listener) error {
	s.mu.Lock()
	if s.shuttingDown() {
		s.mu.Unlock()
		ln.Close()
		return nil
	}
	s.accepting++
	defer func() {
		s.mu.Lock()
		s.accepting--
		s.mu.Unlock()
	}()
	s.ln = ln
	if s.conns == nil {
		s.conns = map[*clientConn]struct{}{}
	}
	if !s.watching {
		s.watching = true
		go s.watchClients()
	}
	s.mu.Unlock()
	var backoff time.Duration
	for {
		c, err := ln.Accept()
		if err != nil {
			if s.shuttingDown() {
				return nil
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() || outOfDescriptors(err) {
				// Out of descriptors or a transient failure: wait and go on, as
				// net/http does, instead of giving up the listener.
				backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
				hint := ""
				if outOfDescriptors(err) {
					hint = "; raise the open files limit (ulimit -n, LimitNOFILE= in systemd) above worker_connections plus upstream connections and log files"
				}
				s.mainLog().Logf(errlog.Alert, "accept() failed (%v), retrying in %v%s", err, backoff, hint)
				time.Sleep(backoff)
				continue
			}
			return err
		}
		backoff = 0
		s.stats.accept()
		cc := newClientConn(s, c)
		if !s.track(cc) {
			c.Close() // accepted, not handled: nginx's accepts minus handled
			return nil
		}
		s.stats.handle()
		go cc.serve()
	}
}

// watchClients runs the abort check every abortCheckInterval until the server
// is shut down and has no connection left. A client that closed its end while
// its request is served cancels the connection's context, which ends the
// upstream exchange (499) instead of leaving it to run for nobody.
func (s *httpServer) watchClients() {
	t := time.NewTicker(abortCheckInterval)
	defer t.Stop()
	for range t.C {
		if s.checkClients() == 0 && s.shuttingDown() {
			s.mu.Lock()
			s.watching = false
			s.mu.Unlock()
			return
		}
	}
}

// checkClients peeks at the sockets of requests that started before the
// previous check, and returns how many connections the server has. The peeks
// happen outside the lock, so accepting is never held up by them.
func (s *httpServer) checkClients() int {
	now := s.tick.Add(1)
	s.mu.Lock()
	n := len(s.conns)
	suspects := s.suspects[:0]
	for cc := range s.conns {
		if since := cc.handlerSince.Load(); since != 0 && since < now {
			suspects = append(suspects, cc)
		}
	}
	s.mu.Unlock()
	for _, cc := range suspects {
		if cc.handlerSince.Load() == 0 {
			continue
		}
		if cause := peerClosed(cc.watched); cause != nil {
			cc.clientLeft(cause)
		}
	}
	clear(suspects)
	s.suspects = suspects[:0]
	return n
}

// track adds a connection; false once Close ran. A connection accepted as a
// graceful Shutdown closed the listener is tracked and served (its first
// request, as nginx serves what it accepted): refusing it would reset a
// client whose connection the kernel had already completed (a binary
// upgrade's old process, whose listening socket the new one shares).
func (s *httpServer) track(cc *clientConn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.conns[cc] = struct{}{}
	return true
}

// untrack removes a connection that closed or was hijacked.
func (s *httpServer) untrack(cc *clientConn) {
	s.mu.Lock()
	delete(s.conns, cc)
	s.mu.Unlock()
}

// closeListener stops accepting, and tells HTTP/2 connections to go away
// (GOAWAY: streams in flight finish, then the connection closes).
func (s *httpServer) closeListener() {
	s.shutting.Store(true)
	s.mu.Lock()
	if s.ln != nil {
		s.ln.Close()
	}
	if s.stopCh != nil && !s.stopClosed {
		close(s.stopCh)
		s.stopClosed = true
	}
	s.mu.Unlock()
	if s.h2 != nil {
		s.h2.shutdown()
	}
}

// Shutdown stops accepting, closes idle connections, and waits until every
// connection has finished its request and closed, or ctx is done (then it
// returns ctx's error and leaves the rest to Close).
func (s *httpServer) Shutdown(ctx context.Context) error {
	s.closeListener()
	poll := time.NewTicker(10 * time.Millisecond)
	defer poll.Stop()
	for i := 1; ; i++ {
		if s.closeIdle() == 0 {
			return nil
		}
		if s.h2 != nil && i%50 == 0 {
			// Again every half second, for an HTTP/2 connection whose
			// handshake ended as the first GOAWAY round went out.
			s.h2.shutdown()
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-poll.C:
		}
	}
}

// closeIdle closes the connections waiting for a request and returns how many
// connections are left, counting an accept loop that has not returned as one
// (it may hold a connection accepted as the listener closed).
//
// A connection within its keepalive_min_timeout is left open, as nginx
// marks a keep-alive connection idle only when that timeout has passed;
// Shutdown's next rounds close it then, as nginx's timer does when the
// worker is exiting.
func (s *httpServer) closeIdle() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := time.Now()
	for cc := range s.conns {
		if cc.inMinIdle(now) {
			continue
		}
		if cc.state.CompareAndSwap(connIdle, connClosing) {
			cc.unpark() // out of the parker's set while its socket is open
			cc.c.Close()
			delete(s.conns, cc)
		}
	}
	return len(s.conns) + s.accepting
}

// Close closes the listener and every connection it still tracks.
func (s *httpServer) Close() error {
	s.closeListener()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	if s.endAll != nil {
		s.endAll()
	}
	for cc := range s.conns {
		cc.state.Store(connClosing)
		cc.unpark()
		cc.c.Close()
		delete(s.conns, cc)
	}
	return nil
}

// mainLog returns the error log of the engine's own lines: the main
// context's in force; never nil.
func (s *httpServer) mainLog() *errlog.Logger {
	if s.mainLogs != nil {
		return s.mainLogs()
	}
	if s.log != nil {
		return s.log
	}
	return discard
}

// limits returns the limits of the configuration in force (next), or the
// listener's first ones.
func (s *httpServer) limits() *limits {
	if l := s.next.Load(); l != nil {
		return l
	}
	return &s.lim
}

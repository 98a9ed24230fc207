package daemon

import (
	"context"
	"errors"
	"fulcrum/internal/clientauth"
	"net"
	"net/http"
	"net/netip"
	"sync"
	"syscall"
	"time"

	"fulcrum/internal/errlog"
	"fulcrum/internal/router"
	"fulcrum/internal/vars"
)

// listener is one bound socket and the HTTP server accepting on it.
type listener struct {
	key     string // network + " " + address, as the router names it
	network string
	addr    string
	ln      net.Listener
	srv     *httpServer
	done    chan struct{} // closed when Serve returns
}

// connInfo is what the daemon knows about a client connection.
type connInfo struct {
	id       uint64
	requests uint64    // requests served on it so far; touched only by its goroutine
	born     time.Time // when it was accepted
	start    time.Time // when the current request's first byte was read
	length   int64     // the current request's bytes read so far: head and body
	// chunked is the current request's chunked body as read so far, for
	// $content_length (see vars.State.ChunkedLength).
	chunked chunkedBody
	// requestLine is the current request's line as received ($request).
	requestLine string
	local       netip.AddrPort // the address the client connected to (zero for unix sockets)
	remote      string         // the client's address as net.Addr prints it
	remoteAddr  netip.AddrPort // the same, parsed (zero for unix sockets)
	// rawc is the client's socket, for TCP_INFO ($tcpinfo_*); nil when
	// the connection has none (TLS, HTTP/2).
	rawc syscall.RawConn
	// sock is the TCP socket under the connection, TLS or not (nil for a
	// unix socket), for tcp_nodelay; noDelayOff says TCP_NODELAY was
	// cleared on it (Go sets it on every accepted connection).
	sock       syscall.RawConn
	noDelayOff bool
	// pipelined says the current request was already buffered when the
	// previous one on the connection finished ($pipe).
	pipelined bool
	// unix says the client is on a unix socket (beside the other flags,
	// which share one word).
	unix bool
	// plainNames says every field name of the current request holds only
	// letters, digits and '-' (the engine's parser counted none other), so
	// that dropInvalidFields need not look at them. False when not known.
	plainNames bool
	// fields is the current request's header section in order, names as
	// sent (vars.State.Fields); the engine refills it for each request.
	fields vars.HeaderList
	// tls is the connection's TLS session once its first request is
	// served (nil on a plain connection); plainOnSSL says a plain HTTP
	// request came to an ssl address (answered 497).
	tls        *vars.TLS
	plainOnSSL bool
	// noHost says an HTTP/2 request came without :authority and Host
	// (HTTP/1.1's parser refuses such a request itself).
	noHost bool
	// certResult is the verification of the client's certificate (OK
	// when it sent none), for ssl_verify_client's 495.
	certResult clientauth.Result
	// proxy is what the connection's PROXY protocol header said; nil on
	// an address without proxy_protocol or for a header without
	// addresses.
	proxy *vars.ProxyProtocol
	// scratch is the request scratch an HTTP/1 connection keeps from one
	// request for the next (serveHTTP), so that a busy connection takes
	// none from the pool and gives none back per request; nil when none is
	// kept, and always for an HTTP/2 stream's copy.
	scratch *requestScratch
	// snap and lst are the snapshot that served the connection's last
	// request and its listener for the connection's address (listener);
	// nil when none, and after a park, so that an idle connection does not
	// hold a replaced configuration.
	snap *snapshot
	lst  *router.Listener
	// log is the error log of the level that served the connection's last
	// request (nil before the first): nginx's c->log, where the lines
	// about the connection itself go (clientConn.log).
	log *errlog.Logger
}

// openNewListeners binds every socket that snap needs and is not open yet. If one
// fails, the ones it just opened are closed and nothing changes.
func (d *Daemon) openNewListeners(snap *snapshot) error {
	var opened []*listener
	for _, b := range snap.binds {
		if _, ok := d.listeners[b.key]; ok {
			continue
		}
		ln, err := d.inherited.listener(b.key)
		if ln == nil && err == nil {
			ln, err = listenSocket(b.network, b.addr)
		}
		if err != nil {
			for _, l := range opened {
				l.ln.Close()
			}
			return err
		}
		opened = append(opened, &listener{key: b.key, network: b.network, addr: b.addr, ln: ln})
	}
	for _, l := range opened {
		d.serveListener(l, snap)
		d.listeners[l.key] = l
		if len(d.listeners) > len(opened) { // a reload, not the start
			d.logs.error().Logf(errlog.Notice, "listening on %s (new in this configuration)", l.ln.Addr())
		}
	}
	return nil
}

// syncListeners opens the first snapshot's listeners.
func (d *Daemon) syncListeners(snap *snapshot) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.openNewListeners(snap)
}

// serveListener starts the HTTP server for l. Its client timeouts and header size
// limits come from snap, and from each later snapshot (renewLimits) for every
// request read after it, as the configuration in force serves them.
func (d *Daemon) serveListener(l *listener, snap *snapshot) {
	key := l.key
	l.srv = &httpServer{
		lim: snap.limitsFor(key),
		handler: func(w *respWriter, r *http.Request, cc *clientConn) {
			if sc, ok := cc.c.(*sslConn); ok {
				sc.describe(&cc.ci)
			}
			d.current.Load().serveHTTP(w, r, &cc.ci, key)
		},
		refused: func(st *vars.State, host string, whole bool) {
			d.current.Load().logRefused(st, key, host, whole)
		},
		refusedPage: func(w *respWriter, r *http.Request, sc *requestScratch, host string, whole bool, code int) bool {
			return d.current.Load().serveRefused(w, r, sc, key, host, whole, code)
		},
		refusedName: func(st *vars.State, host string, whole bool) (string, *errlog.Logger) {
			return d.current.Load().refusedName(st, key, host, whole)
		},
		refusedLook: func(w *respWriter, st *vars.State, host string, whole bool, code int) (ownPage, bool) {
			return d.current.Load().refusedLook(w, st, key, host, whole, code)
		},
		mainLogs: d.logs.error,
		nextID:   func() uint64 { return d.connSeq.Add(1) },
		date:     &d.date,
		stats:    &d.conns,
		h2:       newH2Servers(d.logs.error),
		key:      key,
		daemon:   d,
	}
	l.done = make(chan struct{})
	limited := &limitedListener{Listener: l.ln, lim: d.limiter, done: make(chan struct{})}
	wrapped := &tlsListener{Listener: limited, d: d, key: key, srv: l.srv}
	go func() {
		defer close(l.done)
		_ = l.srv.Serve(wrapped)
	}()
}

// closeRemovedListeners stops accepting on listeners that snap no longer needs and
// drains them in the background, bounded by timeout (0 = until they finish).
func (d *Daemon) closeRemovedListeners(snap *snapshot, timeout time.Duration) {
	want := map[string]bool{}
	for _, b := range snap.binds {
		want[b.key] = true
	}
	for key, l := range d.listeners {
		if want[key] {
			continue
		}
		delete(d.listeners, key)
		d.logs.error().Logf(errlog.Info, "closing listener %s (not in the new configuration)", describe(l.network, l.addr))
		go shutdownOne(l, timeout)
	}
}

// renewHTTP2 sends GOAWAY on the HTTP/2 connections of the listeners a
// reload kept, as nginx's old workers do: their streams in flight finish,
// then the clients open new connections, which get the new configuration's
// connection settings (certificates, ALPN, concurrent streams, timeouts).
// New streams on them until then already use the new configuration.
func (d *Daemon) renewHTTP2() {
	for _, l := range d.listeners {
		if l.srv != nil && l.srv.h2 != nil {
			l.srv.h2.shutdown()
		}
	}
}

// shutdownOne closes l gracefully, then forcibly after timeout.
func shutdownOne(l *listener, timeout time.Duration) {
	ctx := context.Background()
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	if err := l.srv.Shutdown(ctx); err != nil {
		l.srv.Close()
	}
	<-l.done
}

// shutdownListeners stops every listener gracefully and waits for requests in
// flight until ctx is done, then closes what is left.
func (d *Daemon) shutdownListeners(ctx context.Context) error {
	var wg sync.WaitGroup
	errs := make(chan error, len(d.listeners))
	for _, l := range d.listeners {
		wg.Add(1)
		go func(l *listener) {
			defer wg.Done()
			if err := l.srv.Shutdown(ctx); err != nil {
				l.srv.Close()
				if !errors.Is(err, context.DeadlineExceeded) {
					errs <- err
				}
			}
			<-l.done
		}(l)
	}
	wg.Wait()
	close(errs)
	var all []error
	for err := range errs {
		all = append(all, err)
	}
	return errors.Join(all...)
}

// closeListeners closes every listener and connection at once.
func (d *Daemon) closeListeners() {
	for _, l := range d.listeners {
		if l.srv != nil {
			l.srv.Close()
			<-l.done
		} else {
			l.ln.Close()
		}
	}
}

// upgradeTracker remembers hijacked connections (WebSocket and other upgrades),
// which httpServer.Shutdown does not wait for or close, so a stop can close them.
type upgradeTracker struct {
	mu    sync.Mutex // guards conns
	conns map[net.Conn]struct{}
	empty chan struct{} // closed while no connection is tracked; replaced on add
}

func newUpgradeTracker() *upgradeTracker {
	t := &upgradeTracker{conns: map[net.Conn]struct{}{}, empty: make(chan struct{})}
	close(t.empty)
	return t
}

func (t *upgradeTracker) add(c net.Conn) {
	t.mu.Lock()
	if len(t.conns) == 0 {
		t.empty = make(chan struct{})
	}
	t.conns[c] = struct{}{}
	t.mu.Unlock()
}

func (t *upgradeTracker) remove(c net.Conn) {
	t.mu.Lock()
	if _, ok := t.conns[c]; ok {
		delete(t.conns, c)
		if len(t.conns) == 0 {
			close(t.empty)
		}
	}
	t.mu.Unlock()
}

// wait returns when no upgraded connection is left or ctx is done.
func (t *upgradeTracker) wait(ctx context.Context) {
	t.mu.Lock()
	empty := t.empty
	t.mu.Unlock()
	select {
	case <-empty:
	case <-ctx.Done():
	}
}

func (t *upgradeTracker) closeAll() {
	t.mu.Lock()
	defer t.mu.Unlock()
	for c := range t.conns {
		c.Close()
	}
}

// renewLimits gives every open listener the client timeouts and header
// limits of snap (client_header_timeout, keepalive_timeout,
// client_header_buffer_size, large_client_header_buffers, ...) for every
// request read from now on, on new connections and open ones alike, as
// every other setting of the snapshot in force applies (nginx's old workers
// keep the old settings for the connections they finish). The caller holds
// d.mu.
func (d *Daemon) renewLimits(snap *snapshot) {
	for key, l := range d.listeners {
		if l.srv == nil {
			continue
		}
		lim := snap.limitsFor(key)
		l.srv.next.Store(&lim)
	}
}

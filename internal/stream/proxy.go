// Package stream proxies TCP connections as nginx's stream module does
// (ngx_stream_core_module, ngx_stream_proxy_module, ngx_stream_upstream_module,
// ngx_stream_log_module): each client connection accepted on a stream
// server's address is a session, connected to one upstream server chosen by
// the balancer (with the next servers tried when a connect fails), and the
// bytes are copied both ways until a side closes or proxy_timeout passes
// without traffic.
//
// A [Proxy] owns the stream listeners and the sessions. [Proxy.Apply]
// swaps in a new configuration the way a reload does in nginx: addresses
// present in both keep their sockets, new ones open, removed ones close, and
// established sessions run to their end on the configuration they started
// with. [Proxy.Shutdown] stops accepting and waits for the sessions.
//
// The upstream servers' live state (in-flight sessions, failures) lives in
// an upstream.Registry the caller keeps across reloads; the balancing is
// package balancer's, as nginx's stream uses the same round robin.
package stream

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"fulcrum/internal/config"
	"fulcrum/internal/connset"
	"fulcrum/internal/errlog"
	"fulcrum/internal/statuszone"
	"fulcrum/internal/upstream"
)

// Options configure a Proxy.
type Options struct {
	// Registry keeps the stream upstream servers' live state across
	// reloads. It must not be the http upstreams' registry: names are
	// per block.
	Registry *upstream.Registry
	// Zones, when set, holds the status zones (status_zone) the servers
	// count their sessions in, kept across reloads by name.
	Zones *statuszone.Registry
	// ErrorLog returns the main error log, used by servers without their
	// own error_log. It is called for each message.
	ErrorLog func() *errlog.Logger
	// Clock replaces time.Now for the sessions (nil: time.Now).
	Clock func() time.Time
	// Listen, when set, replaces net.Listen (tests, socket inheritance).
	Listen func(network, addr string) (net.Listener, error)
	// Inherited, when set, is asked first for each address to open, by
	// its key ("network address" as the configuration wrote it, with the
	// "#N" of an ephemeral listen): a socket a previous fulcrum handed
	// over on SIGUSR2, or nil to bind as usual. The Proxy owns the file
	// it returns and closes it once adopted.
	Inherited func(key string) *os.File
	// Slots, when set, caps the client connections (worker_connections,
	// shared with the http listeners): a session holds one from before
	// its Accept to its end, so a proxy at the cap leaves new connections
	// in the kernel's backlog.
	Slots chan struct{}
}

// Proxy is the stream half of a daemon: its listeners and sessions.
type Proxy struct {
	opts     Options
	pid      int
	hostname string
	// cur is the configuration new sessions use.
	cur atomic.Pointer[table]
	// seq numbers the sessions ($connection).
	seq atomic.Uint64

	// mu guards listeners and files; it is never held during I/O on a
	// session.
	mu        sync.Mutex
	listeners map[string]*listener
	files     *fileSet

	// sessions are the sessions running now, for Shutdown.
	sessions connset.Set[*session]
}

// listener is one bound stream address.
type listener struct {
	key    string         // network + " " + address
	ln     net.Listener   // a stream listen's socket; nil for udp
	pc     net.PacketConn // a udp listen's socket; nil for a stream
	wg     sync.WaitGroup // the accept loop
	closed chan struct{}  // closed by close, to end a wait for a slot
}

// close closes l's socket; its accept loop ends.
func (l *listener) close() {
	close(l.closed)
	if l.pc != nil {
		l.pc.Close()
		return
	}
	l.ln.Close()
}

// text is l's address as nginx's lines print it (its addr_text): the
// configured one ("0.0.0.0:5432" for "listen 5432"), "unix:" and the
// path for a unix socket, the bound one for an ephemeral port.
func (l *listener) text() string {
	network, addr, _ := strings.Cut(l.key, " ")
	switch {
	case strings.Contains(addr, ":0#") || strings.HasSuffix(addr, ":0"):
		return l.addr().String()
	case network == "unix" || network == "unixgram":
		return "unix:" + addr
	}
	return addr
}

// addr is l's bound address.
func (l *listener) addr() net.Addr {
	if l.pc != nil {
		return l.pc.LocalAddr()
	}
	return l.ln.Addr()
}

// New returns a Proxy with no configuration.
func New(opts Options) *Proxy {
	if opts.Clock == nil {
		opts.Clock = time.Now
	}
	if opts.Registry == nil {
		opts.Registry = upstream.NewRegistryClock(opts.Clock)
	}
	if opts.Listen == nil {
		opts.Listen = listen
	}
	if opts.ErrorLog == nil {
		nop, _ := errlog.New(errlog.Options{})
		opts.ErrorLog = func() *errlog.Logger { return nop }
	}
	host, _ := os.Hostname()
	return &Proxy{
		opts: opts, pid: os.Getpid(), hostname: strings.ToLower(host),
		listeners: map[string]*listener{}, files: newFileSet(opts.ErrorLog),
	}
}

// Upstreams returns the upstream blocks of the configuration in force, in
// configuration order, with their servers' state at now.
func (p *Proxy) Upstreams(now time.Time) []UpstreamStatus {
	t := p.cur.Load()
	if t == nil {
		return nil
	}
	out := make([]UpstreamStatus, len(t.upstreams))
	for i, u := range t.upstreams {
		out[i] = UpstreamStatus{Name: u.Name, Zone: u.Zone, Servers: u.pool.Snapshot(now, nil)}
	}
	return out
}

// Pool returns the pool of the configuration in force's upstream block
// named name, for the runtime API's changes, with the block (its State
// file is where the changes are kept); nil, nil when there is none.
func (p *Proxy) Pool(name string) (*upstream.Pool, *config.Upstream) {
	t := p.cur.Load()
	if t == nil {
		return nil, nil
	}
	for _, g := range t.groups {
		if g.cfg.Name == name {
			return g.pool, g.cfg
		}
	}
	return nil, nil
}

// Check compiles cfg (nil: no stream block) as Apply would, without
// binding or opening anything: `fulcrum -t` uses it.
func Check(cfg *config.Stream) error {
	if cfg == nil {
		return nil
	}
	_, err := compileTable(cfg, upstream.NewRegistry(), nil, nil, nil)
	return err
}

// Apply makes cfg (nil: no stream block) the configuration of new
// sessions. It opens the addresses cfg adds before anything changes; if
// one fails, nothing changes. Then it closes the addresses cfg removed:
// their sessions keep running. It returns the addresses it opened, in
// config order.
func (p *Proxy) Apply(cfg *config.Stream) ([]net.Addr, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	t := &table{servers: map[string]*server{}}
	if cfg != nil {
		view := p.files.view()
		var err error
		if t, err = compileTable(cfg, p.opts.Registry, view, p.opts.ErrorLog(), p.cur.Load()); err != nil {
			view.release()
			return nil, err
		}
		t.files = view
		t.resolveStatusZones(cfg, p.opts.Zones)
		t.holdMain(p.opts.ErrorLog())
	}
	t.life.Release = t.release
	opened, err := p.openMissing(t)
	if err != nil {
		t.release()
		return nil, err
	}
	old := p.cur.Load()
	if old != nil {
		old.stopResolvers()
		old.health.Stop() // before t's checks attach to the pools they share
	}
	p.cur.Store(t)
	if old != nil {
		old.life.Retire() // its files close after its last session
	}
	t.startResolvers()
	t.health.Start()
	for key, l := range p.listeners {
		if t.servers[key] == nil {
			l.close()
			delete(p.listeners, key)
		}
	}
	addrs := make([]net.Addr, 0, len(opened))
	for _, l := range opened {
		p.listeners[l.key] = l
		l.wg.Add(1)
		if l.pc != nil {
			go p.servePackets(l)
		} else {
			go p.accept(l)
		}
		addrs = append(addrs, l.addr())
	}
	p.opts.Registry.Retain(t.pools...)
	return addrs, nil
}

// openMissing binds the addresses of t that are not open; on an error it
// closes those it opened.
func (p *Proxy) openMissing(t *table) ([]*listener, error) {
	var opened []*listener
	for _, key := range t.keys {
		srv := t.servers[key]
		if p.listeners[key] != nil {
			continue
		}
		network, addr, _ := strings.Cut(key, " ")
		if i := strings.LastIndex(addr, ":0#"); i >= 0 {
			addr = addr[:i+2] // an ephemeral listen's number (compileTable)
		}
		l := &listener{key: key, closed: make(chan struct{})}
		var err error
		if f := p.inherited(key); f != nil {
			err = l.adopt(network, f)
		} else if network == "udp" || network == "unixgram" {
			l.pc, err = net.ListenPacket(familyNetwork(network, addr), addr)
			if err != nil {
				err = fmt.Errorf("bind() to %s failed (%s)", addr, errlog.Errno(err))
			}
		} else {
			l.ln, err = p.opts.Listen(familyNetwork(network, addr), addr)
		}
		if err != nil {
			for _, l := range opened {
				l.close()
			}
			return nil, fmt.Errorf("%w in %s", err, srv.listenPos[key])
		}
		opened = append(opened, l)
	}
	return opened, nil
}

// inherited returns the socket handed over for key, or nil.
func (p *Proxy) inherited(key string) *os.File {
	if p.opts.Inherited == nil {
		return nil
	}
	return p.opts.Inherited(key)
}

// adopt makes l's socket from f, a socket handed over by a previous
// fulcrum, and closes f (the socket keeps a descriptor of its own).
func (l *listener) adopt(network string, f *os.File) error {
	defer f.Close()
	var err error
	if network == "udp" || network == "unixgram" {
		l.pc, err = net.FilePacketConn(f)
	} else {
		l.ln, err = net.FileListener(f)
	}
	if err != nil {
		return fmt.Errorf("use inherited socket %s: %w", l.key, err)
	}
	return nil
}

// Sockets returns the bound sockets by key ("network address" as
// configured, "#N" marking an ephemeral listen), for handing to a new
// binary: each is a *net.TCPListener, *net.UnixListener, *net.UDPConn or
// *net.UnixConn. They stay the Proxy's.
func (p *Proxy) Sockets() map[string]syscall.Conn {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make(map[string]syscall.Conn, len(p.listeners))
	for key, l := range p.listeners {
		var c any = l.ln
		if l.pc != nil {
			c = l.pc
		}
		if sc, ok := c.(syscall.Conn); ok {
			out[key] = sc
		}
	}
	return out
}

// familyNetwork narrows "tcp" or "udp" to the family of addr's IP, as nginx
// binds a listen: "listen 5432" (0.0.0.0) takes IPv4 clients only and
// "listen [::]:5432" IPv6 ones only (nginx's ipv6only=on), where Go's
// "tcp" with an unspecified address would take both. Other networks, and
// an address that is not an IP and port, are returned as they are.
func familyNetwork(network, addr string) string {
	if network != "tcp" && network != "udp" {
		return network
	}
	ap, err := netip.ParseAddrPort(addr)
	if err != nil {
		return network
	}
	if ap.Addr().Is4() {
		return network + "4"
	}
	return network + "6"
}

// listen is net.Listen with nginx's words for a failure.
func listen(network, addr string) (net.Listener, error) {
	ln, err := net.Listen(network, addr)
	if err != nil {
		return nil, fmt.Errorf("bind() to %s failed (%s)", addr, errlog.Errno(err))
	}
	return ln, nil
}

// Addrs returns the bound addresses, for logs and tests.
func (p *Proxy) Addrs() []net.Addr {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]net.Addr, 0, len(p.listeners))
	for _, l := range p.listeners {
		out = append(out, l.addr())
	}
	return out
}

// Addr returns the bound address of the listen key "network address" as
// configured (such as "tcp 127.0.0.1:0"), or nil.
func (p *Proxy) Addr(key string) net.Addr {
	p.mu.Lock()
	defer p.mu.Unlock()
	if l := p.listeners[key]; l != nil {
		return l.addr()
	}
	return nil
}

// accept runs l's accept loop until l is closed.
func (p *Proxy) accept(l *listener) {
	defer l.wg.Done()
	text := l.text()
	connset.Accept(l.ln, p.opts.Slots, l.closed, p.acceptFailed, func(c net.Conn) {
		t := p.enterCurrent() // the session's run leaves it
		srv := t.servers[l.key]
		if srv == nil { // the address left the configuration
			t.life.Leave()
			c.Close()
			connset.GiveSlot(p.opts.Slots)
			return
		}
		sock := c
		var hc *helloConn
		if srv.ssl[l.key] && srv.tlsConfig != nil {
			hc = &helloConn{Conn: c}
			c = tls.Server(hc, srv.tlsConfig)
		}
		s := p.newSession(c, srv, text)
		if hc != nil {
			hc.sess = s // for certificates named with variables
		}
		s.sock, s.readPP = sock, srv.proxyProtocol[l.key]
		s.slot = true
		go s.run()
	})
}

// enterCurrent returns the table in force with a session counted in
// (table.life), so that a reload cannot release what the table holds
// before that session ends. A table replaced between the load and the
// count is left again and the new one taken: once counted in and still in
// force, the table cannot have been retired yet (Apply retires a table
// after it stores the next one).
func (p *Proxy) enterCurrent() *table {
	for {
		t := p.cur.Load()
		t.life.Enter()
		if p.cur.Load() == t {
			return t
		}
		t.life.Leave()
	}
}

// acceptFailed logs an accept error other than a closed listener.
func (p *Proxy) acceptFailed(err error) {
	p.opts.ErrorLog().Logf(errlog.Crit, "accept() failed (%s)", errlog.Errno(err))
}

// Sessions returns the number of sessions running.
func (p *Proxy) Sessions() int {
	return p.sessions.Len()
}

// Shutdown stops accepting and waits for the sessions to end, until ctx is
// done; then it closes the sessions left (nginx's worker_shutdown_timeout).
func (p *Proxy) Shutdown(ctx context.Context) error {
	p.stopHealth()
	p.closeListeners()
	if n := p.sessions.Wait(ctx); n > 0 {
		p.closeSessions()
		p.files.closeAll()
		return fmt.Errorf("stream: %d sessions closed at the shutdown timeout", n)
	}
	p.files.closeAll()
	return nil
}

// Close stops accepting and closes every session at once (fast stop).
func (p *Proxy) Close() {
	p.mu.Lock()
	if t := p.cur.Load(); t != nil {
		t.stopResolvers()
		t.health.Stop()
	}
	p.mu.Unlock()
	p.closeListeners()
	p.closeSessions()
	p.files.closeAll()
}

// stopHealth stops the health checks of the configuration in force.
func (p *Proxy) stopHealth() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if t := p.cur.Load(); t != nil {
		t.health.Stop()
	}
}

func (p *Proxy) closeListeners() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for key, l := range p.listeners {
		l.close()
		l.wg.Wait()
		delete(p.listeners, key)
	}
}

func (p *Proxy) closeSessions() {
	p.sessions.Each(func(s *session) { s.abort() })
}

// Reopen reopens the access log files (SIGUSR1).
func (p *Proxy) Reopen() error {
	return p.files.reopen()
}

// StatusZones returns the status_zone names of the configuration in force,
// in config order (a name may repeat).
func (p *Proxy) StatusZones() []string {
	if t := p.cur.Load(); t != nil {
		return t.statusZones
	}
	return nil
}

// Package mail is the IMAP, POP3 and SMTP proxy of nginx's mail module
// (ngx_mail_core_module, ngx_mail_auth_http_module, ngx_mail_proxy_module
// and the imap, pop3 and smtp modules): a client connection accepted on a
// mail server's address is greeted and served its capabilities by the
// proxy itself until it logs in; the login goes to the auth_http server,
// whose answer names the backend (or refuses, possibly after a wait); the
// proxy then logs in to the backend on the client's behalf (for SMTP, it
// passes the client with XCLIENT) and relays bytes both ways until a side
// closes or proxy_timeout passes without traffic.
//
// The dialogue is nginx 1.22.1's byte for byte (greetings, capability
// lists, error lines, the auth_http request); see the tests, which were
// recorded against nginx.
//
// A [Proxy] owns the mail listeners and sessions with the lifecycle of
// package stream's: [Proxy.Apply] swaps in a configuration keeping the
// sockets of addresses present in both, sessions run to their end on the
// configuration they started with, and [Proxy.Shutdown] stops accepting
// and waits for them.
package mail

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"

	"fulcrum/internal/clientauth"
	"fulcrum/internal/config"
	"fulcrum/internal/connset"
	"fulcrum/internal/errlog"
	"fulcrum/internal/resolve"
	"fulcrum/internal/retire"
	"fulcrum/internal/servertls"
	"fulcrum/internal/sessioncache"
)

// Options configure a Proxy.
type Options struct {
	// ErrorLog returns the main error log, used by servers without their
	// own error_log. It is called for each session.
	ErrorLog func() *errlog.Logger
	// Listen, when set, replaces net.Listen (tests).
	Listen func(network, addr string) (net.Listener, error)
	// Inherited, when set, is asked first for each address to open, by
	// its key ("network address", with "#N" for an ephemeral listen): a
	// socket a previous fulcrum handed over on SIGUSR2, or nil to bind as
	// usual. The Proxy closes the file once adopted.
	Inherited func(key string) *os.File
	// Hostname is the default server_name; "" means os.Hostname.
	Hostname string
	// Slots, when set, caps the client connections (worker_connections,
	// shared with the http and stream listeners): a session holds one
	// from before its Accept to its end.
	Slots chan struct{}
}

// Proxy is the mail half of a daemon: its listeners and sessions.
type Proxy struct {
	opts Options
	// cur is the configuration new sessions use.
	cur atomic.Pointer[table]

	// mu guards listeners; it is never held during I/O.
	mu        sync.Mutex
	listeners map[string]*listener
	// logsMu guards logs and uses. logs are the servers' own error logs
	// by their targets, shared by the tables that name them; uses counts
	// how many times the tables not yet released took each. One no table
	// holds any more is closed when the last table that held it is
	// released, after its last session (table.release); Close and
	// Shutdown close them all.
	logsMu sync.Mutex
	logs   map[string]*errlog.Logger
	uses   map[*errlog.Logger]int

	// sessions are the sessions running now, for Shutdown.
	sessions connset.Set[*session]
	// seq numbers the sessions, nginx's connection number ("*N" in their
	// log lines).
	seq atomic.Uint64
}

// table is one configuration: the servers by listen key.
type table struct {
	keys    []string // in config order
	servers map[string]*server
	pos     map[string]config.Pos
	// ssl are the keys whose listen has "ssl" (or whose server has "ssl
	// on"): sessions there start with the TLS handshake.
	ssl map[string]bool
	// sessions are the shared TLS session caches (ssl_session_cache
	// shared:NAME:SIZE), taken over from the previous table where
	// unchanged.
	sessions sessioncache.Zones
	// logs are the error logs the table took (Proxy.errorLog), given
	// back by release; life counts the table's sessions and releases it
	// after the last one, once the table was replaced.
	logs []*errlog.Logger
	life retire.Counter
	// main is the main error log in force when the table was made (nil
	// when its logs were not opened), held (errlog.Logger.Hold) until the
	// table is released: the servers without an error_log of their own
	// log there, so that a session that outlives a reload which changed
	// the main error log still logs to its configuration's, as nginx's old
	// worker does (recorded with nginx 1.22.1: a client name lookup that
	// timed out after the reload logged to the old file).
	main *errlog.Logger
}

// server is a mail server block ready for sessions.
type server struct {
	cfg  *config.MailServer
	name string // server_name, or the host name
	// log is the server's error log: its own error_log, or else its
	// table's main (nil when the table was made without opening logs).
	log *errlog.Logger
	// Precomputed replies; the *Plain ones are the capabilities before
	// TLS with starttls on or only.
	greeting, imapCaps, pop3Capa, pop3Auth, smtpEHLO string
	imapCapsPlain, pop3CapaPlain, smtpEHLOPlain      string
	// tls is the handshake's configuration (nil without a certificate);
	// verifier checks client certificates (nil without
	// ssl_verify_client).
	tls      *tls.Config
	verifier *clientauth.Verifier
	// resolver looks up SMTP clients' names (nil: resolver off, or not
	// SMTP).
	resolver *clientResolver
}

// listener is one bound mail address.
type listener struct {
	key    string
	ln     net.Listener
	wg     sync.WaitGroup // the accept loop
	closed chan struct{}  // closed by close, to end a wait for a slot
}

// close closes l's socket; its accept loop ends.
func (l *listener) close() {
	close(l.closed)
	l.ln.Close()
}

// New returns a Proxy with no configuration.
func New(opts Options) *Proxy {
	if opts.ErrorLog == nil {
		nop, _ := errlog.New(errlog.Options{})
		opts.ErrorLog = func() *errlog.Logger { return nop }
	}
	if opts.Listen == nil {
		opts.Listen = listen
	}
	if opts.Hostname == "" {
		opts.Hostname, _ = os.Hostname()
	}
	return &Proxy{
		opts: opts, listeners: map[string]*listener{}, logs: map[string]*errlog.Logger{}, uses: map[*errlog.Logger]int{},
	}
}

// listen is net.Listen with nginx's words for a failure.
func listen(network, addr string) (net.Listener, error) {
	ln, err := net.Listen(network, addr)
	if err != nil {
		return nil, fmt.Errorf("bind() to %s failed (%s)", addr, errlog.Errno(err))
	}
	return ln, nil
}

// Check compiles cfg (nil: no mail block) as Apply would, without binding
// or opening anything: `fulcrum -t` uses it.
func Check(cfg *config.Mail) error {
	if cfg == nil {
		return nil
	}
	_, err := New(Options{}).compile(cfg, false)
	return err
}

// compile builds the table of cfg; with open, the servers' error logs
// are opened.
func (p *Proxy) compile(cfg *config.Mail, open bool) (*table, error) {
	t := &table{servers: map[string]*server{}, pos: map[string]config.Pos{}, ssl: map[string]bool{}, sessions: sessioncache.Zones{}}
	t.life.Release = func() { p.release(t) }
	if cfg == nil {
		return t, nil
	}
	var old sessioncache.Zones
	if cur := p.cur.Load(); cur != nil {
		old = cur.sessions
	}
	if open {
		t.main = p.opts.ErrorLog()
		t.main.Hold()
	}
	caches := map[*config.Directive]*resolve.Cache{}
	for i, sc := range cfg.Servers {
		srv := newServer(sc, p.opts.Hostname)
		if sc.TLS != nil && len(sc.TLS.Certificates) > 0 {
			srv.tls, srv.verifier = servertls.Config(sc.TLS, servertls.Zones{Cur: t.sessions, Old: old})
		}
		if open && len(sc.ErrorLogs) > 0 {
			l, err := p.errorLog(sc.ErrorLogs, t)
			if err != nil {
				p.release(t)
				return nil, err
			}
			srv.log = l
		} else if open {
			srv.log = t.main
		}
		if sc.Resolver != nil && sc.Protocol == config.MailSMTP {
			srv.resolver = newClientResolver(sc.Resolver, srv.log, caches)
		}
		for j, l := range sc.Listens {
			key := l.Network + " " + l.Addr
			if strings.HasSuffix(l.Addr, ":0") {
				key += "#" + strconv.Itoa(i) + "." + strconv.Itoa(j) // each ephemeral listen is its own
			}
			t.keys = append(t.keys, key)
			t.servers[key] = srv
			t.ssl[key] = l.SSL
			t.pos[key] = l.Pos
		}
	}
	return t, nil
}

// errorLog returns the logger of a server's error_log targets, counted
// as held by t.
func (p *Proxy) errorLog(logs []config.ErrorLog, t *table) (*errlog.Logger, error) {
	key := fmt.Sprint(logs)
	p.logsMu.Lock()
	defer p.logsMu.Unlock()
	if l := p.logs[key]; l != nil {
		p.uses[l]++
		t.logs = append(t.logs, l)
		return l, nil
	}
	// a failing syslog: target reports to the main error log, as nginx's
	// to its cycle log
	l, err := errlog.New(errlog.Options{Targets: errlog.TargetsFrom(logs), OnSyslogError: func(level errlog.Level, msg string) {
		p.opts.ErrorLog().LogQuiet(level, msg)
	}})
	if err != nil {
		return nil, err
	}
	p.logs[key] = l
	p.uses[l]++
	t.logs = append(t.logs, l)
	return l, nil
}

// release gives back the error logs t held and closes those no table
// holds any more. It runs once per table: after its last session, once
// replaced (t.life), or for a table that never went into force.
func (p *Proxy) release(t *table) {
	if t.main != nil {
		t.main.Release()
		t.main = nil
	}
	p.logsMu.Lock()
	defer p.logsMu.Unlock()
	for _, l := range t.logs {
		if p.uses[l]--; p.uses[l] > 0 {
			continue
		}
		delete(p.uses, l)
		for k, kl := range p.logs {
			if kl == l {
				delete(p.logs, k)
			}
		}
		l.Close()
	}
	t.logs = nil
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

// Apply makes cfg (nil: no mail block) the configuration of new sessions.
// It opens the addresses cfg adds before anything changes; if one fails,
// nothing changes. Then it closes the addresses cfg removed: their
// sessions keep running. It returns the addresses it opened.
func (p *Proxy) Apply(cfg *config.Mail) ([]net.Addr, error) {
	t, err := p.compile(cfg, true)
	if err != nil {
		return nil, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	var opened []*listener
	for _, key := range t.keys {
		if p.listeners[key] != nil {
			continue
		}
		network, addr, _ := strings.Cut(key, " ")
		if i := strings.LastIndex(addr, "#"); i >= 0 {
			addr = addr[:i]
		}
		ln, err := p.open(key, network, addr)
		if err != nil {
			for _, l := range opened {
				l.ln.Close()
			}
			p.release(t)
			return nil, fmt.Errorf("%w in %s", err, t.pos[key])
		}
		opened = append(opened, &listener{key: key, ln: ln, closed: make(chan struct{})})
	}
	if old := p.cur.Swap(t); old != nil {
		old.life.Retire() // its error logs close after its last session
	}
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
		go p.accept(l)
		addrs = append(addrs, l.ln.Addr())
	}
	return addrs, nil
}

// open binds addr, or adopts the socket a previous fulcrum handed over
// for key.
func (p *Proxy) open(key, network, addr string) (net.Listener, error) {
	if p.opts.Inherited != nil {
		if f := p.opts.Inherited(key); f != nil {
			defer f.Close()
			ln, err := net.FileListener(f)
			if err != nil {
				return nil, fmt.Errorf("use inherited socket %s: %w", key, err)
			}
			return ln, nil
		}
	}
	return p.opts.Listen(network, addr)
}

// Sockets returns the bound sockets by key, for handing to a new binary.
// They stay the Proxy's.
func (p *Proxy) Sockets() map[string]syscall.Conn {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make(map[string]syscall.Conn, len(p.listeners))
	for key, l := range p.listeners {
		if sc, ok := l.ln.(syscall.Conn); ok {
			out[key] = sc
		}
	}
	return out
}

// Addrs returns the bound addresses, for logs and tests.
func (p *Proxy) Addrs() []net.Addr {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]net.Addr, 0, len(p.listeners))
	for _, l := range p.listeners {
		out = append(out, l.ln.Addr())
	}
	return out
}

// accept runs l's accept loop until l is closed.
func (p *Proxy) accept(l *listener) {
	defer l.wg.Done()
	connset.Accept(l.ln, p.opts.Slots, l.closed, p.acceptFailed, func(c net.Conn) {
		cur := p.enterCurrent() // the session's goroutine leaves it
		srv := cur.servers[l.key]
		if srv == nil { // the address left the configuration
			cur.life.Leave()
			c.Close()
			connset.GiveSlot(p.opts.Slots)
			return
		}
		s := p.newSession(c, srv)
		s.implicitTLS = cur.ssl[l.key]
		p.sessions.Add(s)
		go func() {
			defer connset.GiveSlot(p.opts.Slots)
			defer cur.life.Leave() // after the session's last line
			defer p.sessions.Remove(s)
			s.run()
		}()
	})
}

// acceptFailed logs an accept error other than a closed listener.
func (p *Proxy) acceptFailed(err error) {
	p.opts.ErrorLog().Logf(errlog.Crit, "accept() failed (%s)", errlog.Errno(err))
}

// Sessions returns the number of sessions running.
func (p *Proxy) Sessions() int {
	return p.sessions.Len()
}

// Reopen reopens the servers' own error logs (SIGUSR1).
func (p *Proxy) Reopen() error {
	p.logsMu.Lock()
	defer p.logsMu.Unlock()
	var errs []error
	for _, l := range p.logs {
		errs = append(errs, l.Reopen())
	}
	return errors.Join(errs...)
}

// closeListeners closes every listener and waits for the accept loops.
func (p *Proxy) closeListeners() {
	p.mu.Lock()
	ls := p.listeners
	p.listeners = map[string]*listener{}
	p.mu.Unlock()
	for _, l := range ls {
		l.close()
		l.wg.Wait()
	}
}

// closeSessions closes the connections of the sessions running now.
func (p *Proxy) closeSessions() {
	p.sessions.Each(func(s *session) { s.close() })
}

// closeLogs closes the servers' own error logs.
func (p *Proxy) closeLogs() {
	p.logsMu.Lock()
	defer p.logsMu.Unlock()
	for k, l := range p.logs {
		l.Close()
		delete(p.logs, k)
		delete(p.uses, l)
	}
}

// Shutdown stops accepting and waits for the sessions to end, until ctx is
// done; then it closes the sessions left (nginx's worker_shutdown_timeout).
func (p *Proxy) Shutdown(ctx context.Context) error {
	p.closeListeners()
	defer p.closeLogs()
	if n := p.sessions.Wait(ctx); n > 0 {
		p.closeSessions()
		return fmt.Errorf("mail: %d sessions closed at the shutdown timeout", n)
	}
	return nil
}

// Close stops accepting and closes every session at once (fast stop).
func (p *Proxy) Close() {
	p.closeListeners()
	p.closeSessions()
	p.closeLogs()
}

// Package daemon is fulcrum's composition root: it builds a snapshot (router,
// upstream pools, location handlers, logs) from a configuration, opens the
// listeners, serves requests through the current snapshot, and handles signals:
// HUP reloads, QUIT stops gracefully, TERM and INT stop fast, USR1 reopens logs,
// USR2 starts a new binary on the same sockets (newbinary.go).
//
// A reload builds a whole new snapshot off to the side. If anything fails, the
// running snapshot stays untouched and the error is logged at [emerg]. If it
// succeeds, the snapshot pointer is swapped atomically: new requests (including the
// next request on an idle keep-alive connection) use the new snapshot while
// requests in flight finish on the old one. Listeners present in both
// configurations are never closed; new ones open; removed ones stop accepting and
// drain. Upstream server state lives in a registry keyed by upstream name and
// address, so a reload does not forget that a server is down.
package daemon

import (
	"context"
	"errors"
	"fmt"
	"fulcrum/internal/cache"
	"net"
	"os"
	"os/signal"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"fulcrum/internal/config"
	"fulcrum/internal/errlog"
	"fulcrum/internal/mail"
	"fulcrum/internal/oidc"
	"fulcrum/internal/proxy"
	"fulcrum/internal/stream"
	"fulcrum/internal/upstream"
	"fulcrum/internal/userid"
)

// Options configure a daemon.
type Options struct {
	// ConfPath is the main configuration file, reread on reload.
	ConfPath string
	// Load are the command line's load options, reused on reload.
	Load config.LoadOptions
	// StartupLog receives messages until the configuration's error log is open
	// (the -e log, or standard error). Nil means standard error.
	StartupLog *errlog.Logger
	// Ready, when set, is called once every listener is bound and the pid file is
	// written, with the bound HTTP addresses in the order the configuration
	// first names them (tests use it to learn ephemeral ports).
	Ready func(addrs []net.Addr)
	// Signals, when set, replaces the process's signals (tests send their own).
	Signals <-chan os.Signal
	// Clock, when set, replaces time.Now for the upstreams: the proxy's
	// attempt times, passive health windows and slow_start ramps. Tests
	// set a fake one to move through fail_timeout and slow_start at once.
	Clock func() time.Time
	// Args is the command line (os.Args) a SIGUSR2 starts the new binary
	// with: the program at Args[0], resolved at the signal. Empty: USR2 is
	// refused with a log line.
	Args []string
	// Inherited is the value of FULCRUM_INHERIT (InheritEnv) this process
	// started with: the sockets the previous binary handed over on USR2,
	// adopted for the listen addresses they name. "" for none.
	Inherited string
}

// clock returns Options.Clock, or time.Now.
func (o *Options) clock() func() time.Time {
	if o.Clock != nil {
		return o.Clock
	}
	return time.Now
}

// Daemon serves one configuration at a time and swaps it on reload.
type Daemon struct {
	opts     Options
	registry *upstream.Registry
	// transports keeps upstream connection pools across reloads.
	transports *proxy.Transports
	// caches keeps the proxy cache zones across reloads.
	caches *cache.Registry
	// uids issues the userid module's identifiers: one sequence for the
	// process, as nginx keeps one per worker, so reloads repeat none.
	uids *userid.Generator
	// loginKeys seal auth_oidc's login cookies: kept across reloads, so
	// that a login started before one ends after it.
	loginKeys *oidc.LoginKeys
	limiter   *connLimiter
	current   atomic.Pointer[snapshot]
	logs      *logSet
	connSeq   atomic.Uint64
	// conns counts client connections and requests for stub_status and
	// the $connections_* variables: the process's counts, kept across
	// reloads.
	conns connStats
	// admin is what the runtime API and the metrics read of the daemon.
	admin adminState
	date  dateCache // the Date header, formatted once a second for every listener

	// mu guards listeners and the reload sequence; it is never held while a
	// request is served.
	mu        sync.Mutex
	listeners map[string]*listener
	upgrades  *upgradeTracker
	// stopFlusher ends the access log flusher at stop.
	stopFlusher context.CancelFunc
	// stream proxies the stream block's TCP sessions: its own listeners,
	// upstream registry and sessions, which outlive reloads.
	stream *stream.Proxy
	// mail proxies the mail block's IMAP, POP3 and SMTP sessions, with
	// the stream proxy's lifecycle: its own listeners and sessions, which
	// outlive reloads.
	mail *mail.Proxy

	// inherited are the sockets the previous binary handed over, until
	// start adopts or closes them (nil: none).
	inherited *inheritedSet
	// parent is the old binary's pid when this process is a new binary
	// started by USR2 (0 otherwise): while it runs, USR2 is refused here.
	parent int
	// newBinary is the binary a USR2 started, while it runs; binaryExits
	// reports its end. Only the signal loop touches newBinary.
	newBinary   *newBinary
	binaryExits chan binaryExit

	// parking holds keep-alive connections idle past idleGrace without a
	// goroutine each (see clientConn.park); made on first use.
	parking idleParking
}

// Run loads nothing itself: it serves cfg (already loaded by the caller) until ctx
// is done or a stop signal arrives, reloading on HUP. It returns nil after a
// clean stop.
func Run(ctx context.Context, cfg *config.Config, opts Options) error {
	// Catch signals before anything can announce the process (pid file, log):
	// a HUP that arrived before Notify would kill it.
	if opts.Signals == nil {
		ch := make(chan os.Signal, 4)
		signal.Notify(ch, syscall.SIGHUP, syscall.SIGQUIT, syscall.SIGTERM, syscall.SIGINT, syscall.SIGUSR1, syscall.SIGUSR2)
		defer signal.Stop(ch)
		opts.Signals = ch
	}
	d, err := start(cfg, opts)
	if err != nil {
		return err
	}
	return d.loop(ctx)
}

// start builds the first snapshot, binds listeners and writes the pid file.
func start(cfg *config.Config, opts Options) (*Daemon, error) {
	startup := opts.StartupLog
	if startup == nil {
		l, err := errlog.New(errlog.Options{Targets: []errlog.Target{{Path: errlog.StderrPath, Level: errlog.Notice}}})
		if err != nil {
			return nil, err
		}
		startup = l
	}
	d := &Daemon{
		opts:       opts,
		registry:   upstream.NewRegistryClock(opts.clock()),
		transports: proxy.NewTransports(),
		caches:     cache.NewRegistry(opts.clock()),
		uids:       userid.NewGenerator(time.Now(), os.Getpid()),
		loginKeys:  oidc.NewLoginKeys(),
		limiter:    newConnLimiter(cfg.Main.WorkerConnections),
		listeners:  map[string]*listener{},
		upgrades:   newUpgradeTracker(),
		// buffered: the waiting goroutine never blocks, even after a stop
		binaryExits: make(chan binaryExit, 1),
	}
	d.admin.current, d.admin.conns = &d.current, &d.conns
	inherited, err := openInherited(opts.Inherited)
	if err != nil {
		return nil, err
	}
	d.inherited = inherited
	defer d.inherited.closeUnused(nil) // on a failed start: the sockets nothing took
	if inherited != nil {
		d.parent = os.Getppid()
	}
	d.stream = stream.New(stream.Options{ErrorLog: func() *errlog.Logger { return d.logs.error() }, Clock: opts.Clock, Listen: listenSocket, Inherited: d.inherited.take, Slots: d.limiter.slots, Zones: &d.admin.zones})
	d.admin.stream = d.stream
	d.mail = mail.New(mail.Options{ErrorLog: func() *errlog.Logger { return d.logs.error() }, Listen: listenSocket, Inherited: d.inherited.take, Slots: d.limiter.slots})
	if err := ensureLogDir(cfg); err != nil {
		return nil, err
	}
	if err := ensureTempDirs(cfg); err != nil {
		return nil, err
	}
	logs, err := openLogs(cfg, startup)
	if err != nil {
		return nil, err
	}
	d.logs = logs
	if inherited != nil {
		logs.error().Logf(errlog.Notice, "using inherited sockets from %q", opts.Inherited)
	}
	applyWorkerProcesses(cfg.Main.WorkerProcesses)
	if err := applyProcess(&cfg.Main, nil, logs.error()); err != nil {
		logs.close()
		return nil, err
	}
	snap, err := d.build(cfg)
	if err != nil {
		logs.close()
		return nil, err
	}
	snap.startBackground() // mandatory checks hold servers back before the first request
	d.current.Store(snap)
	d.admin.loadedAt(time.Now())
	if err := d.syncListeners(snap); err != nil {
		snap.stopBackground()
		d.closeListeners()
		logs.close()
		return nil, err
	}
	streamAddrs, err := d.stream.Apply(cfg.Stream)
	if err != nil {
		snap.stopBackground()
		d.closeListeners()
		logs.close()
		return nil, err
	}
	mailAddrs, err := d.mail.Apply(cfg.Mail)
	if err != nil {
		snap.stopBackground()
		d.closeListeners()
		d.stream.Close()
		logs.close()
		return nil, err
	}
	d.inherited.closeUnused(logs.error()) // what the configuration does not listen on
	if err := writePIDFile(cfg.Main.PIDFile); err != nil {
		snap.stopBackground()
		d.closeListeners()
		d.stream.Close()
		d.mail.Close()
		logs.close()
		return nil, err
	}
	flushCtx, stopFlusher := context.WithCancel(context.Background())
	d.stopFlusher = stopFlusher
	go runFlusher(flushCtx, logs.access)
	for _, a := range d.boundAddrs(snap) {
		d.logs.error().Logf(errlog.Notice, "listening on %s", a)
	}
	for _, a := range streamAddrs {
		d.logs.error().Logf(errlog.Notice, "listening on %s (stream)", a)
	}
	for _, a := range mailAddrs {
		d.logs.error().Logf(errlog.Notice, "listening on %s (mail)", a)
	}
	d.logs.error().Logf(errlog.Notice, "fulcrum %s started, pid %d", Version, os.Getpid())
	if opts.Ready != nil {
		opts.Ready(d.boundAddrs(snap))
	}
	return d, nil
}

// applyWorkerProcesses maps worker_processes to GOMAXPROCS (0 = auto = all CPUs).
func applyWorkerProcesses(n int) {
	if n <= 0 {
		n = runtime.NumCPU()
	}
	runtime.GOMAXPROCS(n)
}

// loop waits for signals and the context.
func (d *Daemon) loop(ctx context.Context) error {
	sigs := d.opts.Signals
	for {
		select {
		case <-ctx.Done():
			return d.stop(true)
		case sig := <-sigs:
			switch sig {
			case syscall.SIGHUP:
				d.Reload()
			case syscall.SIGUSR1:
				d.reopenLogs()
			case syscall.SIGUSR2:
				d.changeBinary()
			case syscall.SIGQUIT:
				d.logs.error().Logf(errlog.Notice, "gracefully shutting down")
				return d.stop(true)
			case syscall.SIGTERM, syscall.SIGINT:
				d.logs.error().Logf(errlog.Notice, "exiting")
				return d.stop(false)
			}
		case e := <-d.binaryExits:
			d.newBinaryExited(e)
		}
	}
}

// reloadRefused is the emerg line of a reload that failed with err: the
// error as a start or -t words it (file:line and, where there is one, the
// fix), then that the running configuration stays. An error that ends in
// its syntax hint ("syntax: proxy_set_header field value;") or a question
// ("did you mean "weight=2"?") keeps its own last mark.
func reloadRefused(err error) string {
	msg := err.Error()
	if strings.HasSuffix(msg, ";") || strings.HasSuffix(msg, "?") {
		return msg + " the running configuration stays in force"
	}
	return msg + "; the running configuration stays in force"
}

// Reload rereads the configuration file and, if it loads and builds, swaps it in.
// On any error the running configuration stays and the error is logged at emerg.
func (d *Daemon) Reload() {
	d.mu.Lock()
	defer d.mu.Unlock()
	// Runtime API changes wait for the reload: one made after the state
	// files were read would go to the old pools and be lost.
	d.admin.changeMu.Lock()
	defer d.admin.changeMu.Unlock()
	// Whatever the outcome, the status zones are those of the
	// configuration in force after it (a refused build may have made some).
	defer d.admin.retainZones()
	log := d.logs.error()
	log.Logf(errlog.Notice, "reconfiguring") // nginx's master, on SIGHUP
	cfg, err := config.Load(d.opts.ConfPath, d.opts.Load)
	if err != nil {
		log.Logf(errlog.Emerg, "%s", reloadRefused(err))
		return
	}
	if err := ensureLogDir(cfg); err != nil {
		log.Logf(errlog.Emerg, "%s", reloadRefused(err))
		return
	}
	if err := ensureTempDirs(cfg); err != nil {
		log.Logf(errlog.Emerg, "%s", reloadRefused(err))
		return
	}
	logsChange, err := d.logs.update(cfg)
	if err != nil {
		log.Logf(errlog.Emerg, "%s", reloadRefused(err))
		return
	}
	// refuse logs why the reload failed after the logs changed, to the
	// log in force (the running configuration's again). The stream and
	// mail blocks put back as they were take the logs in force when they
	// are made again (a mail server without an error_log holds the main
	// one): undo comes first (restore), so that they do not take the
	// refused configuration's.
	undone := false
	restore := func() {
		if !undone {
			undone = true
			logsChange.undo()
		}
	}
	refuse := func(err error) {
		restore()
		d.logs.error().Logf(errlog.Emerg, "%s", reloadRefused(err))
	}
	snap, err := d.build(cfg)
	if err != nil {
		refuse(err)
		return
	}
	old := d.current.Load()
	streamAddrs, err := d.stream.Apply(cfg.Stream)
	if err != nil {
		snap.access.release()
		refuse(err)
		return
	}
	mailAddrs, err := d.mail.Apply(cfg.Mail)
	if err != nil {
		snap.access.release()
		restore()
		if _, serr := d.stream.Apply(old.cfg.Stream); serr != nil {
			err = errors.Join(err, serr)
		}
		refuse(err)
		return
	}
	if err := d.openNewListeners(snap); err != nil {
		snap.access.release()
		restore()
		if _, serr := d.stream.Apply(old.cfg.Stream); serr != nil {
			err = errors.Join(err, serr)
		}
		if _, merr := d.mail.Apply(old.cfg.Mail); merr != nil {
			err = errors.Join(err, merr)
		}
		refuse(err)
		return
	}
	for _, a := range streamAddrs {
		d.logs.error().Logf(errlog.Notice, "listening on %s (stream, new in this configuration)", a)
	}
	for _, a := range mailAddrs {
		d.logs.error().Logf(errlog.Notice, "listening on %s (mail, new in this configuration)", a)
	}
	applyWorkerProcesses(cfg.Main.WorkerProcesses)
	// A failed chdir is logged; the new configuration goes on in the old
	// directory (nginx's new workers would exit and leave none serving).
	_ = applyProcess(&cfg.Main, &old.cfg.Main, d.logs.error())
	// The old checks stop (their verdicts stay in the registry) before
	// the new ones take over the servers.
	old.stopBackground()
	snap.startBackground()
	d.current.Store(snap)
	// The error logs the new configuration no longer uses close with the
	// old snapshot, after its last request.
	old.closers = append(old.closers, logsChange.closeRetired)
	d.renewLimits(snap)
	d.movePIDFile(old.cfg.Main.PIDFile, cfg.Main.PIDFile)
	d.admin.loadedAt(time.Now())
	old.life.Retire()
	d.closeRemovedListeners(snap, cfg.Main.WorkerShutdownTimeout)
	d.renewHTTP2()
	d.logChanges(old, snap)
	d.registry.Retain(snap.pools...)
	d.caches.Retain(snap.cacheZones...)
	d.transports.Retain(snap.kept)
	d.logs.error().Logf(errlog.Notice, "reconfiguring: done")
}

// reopenLogs reopens the error and access log files (SIGUSR1, for logrotate).
func (d *Daemon) reopenLogs() {
	if err := d.stream.Reopen(); err != nil {
		d.logs.error().Logf(errlog.Alert, "reopen stream logs: %v", err)
	}
	if err := d.mail.Reopen(); err != nil {
		d.logs.error().Logf(errlog.Alert, "reopen mail logs: %v", err)
	}
	if err := d.logs.reopen(); err != nil {
		d.logs.error().Logf(errlog.Alert, "reopen logs: %v", err)
		return
	}
	d.logs.error().Logf(errlog.Notice, "reopening logs")
}

// stop closes listeners and, when graceful, waits for requests in flight (bounded
// by worker_shutdown_timeout), then removes the pid file.
func (d *Daemon) stop(graceful bool) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	snap := d.current.Load()
	snap.stopBackground()
	timeout := snap.cfg.Main.WorkerShutdownTimeout
	var errs []error
	if graceful {
		ctx := context.Background()
		if timeout > 0 {
			var cancel context.CancelFunc
			ctx, cancel = context.WithTimeout(ctx, timeout)
			defer cancel()
		}
		streamDone := make(chan error, 1)
		go func() { streamDone <- d.stream.Shutdown(ctx) }() // TCP sessions, up to worker_shutdown_timeout
		mailDone := make(chan error, 1)
		go func() { mailDone <- d.mail.Shutdown(ctx) }() // mail sessions, likewise
		errs = append(errs, d.shutdownListeners(ctx))
		d.upgrades.wait(ctx) // WebSockets and other upgrades, up to worker_shutdown_timeout
		d.upgrades.closeAll()
		errs = append(errs, <-streamDone, <-mailDone)
	} else {
		d.closeListeners()
		d.upgrades.closeAll()
		d.stream.Close()
		d.mail.Close()
	}
	d.stopFlusher()
	d.parking.close() // wakes what a hard stop left parked: those close
	d.transports.CloseIdle()
	removePIDFile(snap.cfg.Main.PIDFile)
	if snap.cfg.Main.PIDFile != "" {
		removePIDFile(snap.cfg.Main.PIDFile + oldbinSuffix) // renamed for a new binary
	}
	d.logs.error().Logf(errlog.Notice, "exit")
	d.logs.close()
	return errors.Join(errs...)
}

// boundAddrs returns the addresses of snap's listeners in the order the
// configuration first names them (d.listeners is a map, whose order is not
// fixed: the "listening on" lines and Options.Ready follow the file).
func (d *Daemon) boundAddrs(snap *snapshot) []net.Addr {
	var out []net.Addr
	for _, b := range snap.binds {
		if l, ok := d.listeners[b.key]; ok {
			out = append(out, l.ln.Addr())
		}
	}
	return out
}

// describe is used in log lines about listeners.
func describe(network, addr string) string {
	if network == "unix" {
		return "unix:" + addr
	}
	return addr
}

var _ = fmt.Sprintf
var _ = time.Second

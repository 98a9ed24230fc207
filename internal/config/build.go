package config

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"time"
)

// builder turns a validated directive tree into a Config. It keeps what later parts
// of the tree refer to: log formats, upstreams (explicit and implicit) and the
// resolver's answers.
type builder struct {
	prefix   string
	confDir  string // the main file's directory: nginx's conf prefix
	errorLog string // -e, the default error log; "" means <prefix>/logs/error.log
	resolver *hostResolver
	goos     string // the system fulcrum runs on (runtime.GOOS): platform.go
	cfg      *Config

	formats   map[string]*LogFormat
	upstreams map[string]*Upstream // explicit upstreams by lower-case name
	implicit  map[string]*Upstream // implicit upstreams by lower-case host:port
	typesOf   map[*Directive]map[string]string
	accessOf  map[*Directive][]AccessRule // a level's allow and deny rules, by the first one
	defTypes  map[string]string
	warned    map[Warning]bool
	// early are the warnings given before the build (the parse's); warnedDir
	// the ones warnDir gave, by the directive read.
	early     map[Warning]bool
	warnedDir map[dirWarning]bool
	certs     map[[3]string]tls.Certificate     // loaded certificate and key pairs, by file names (and password file)
	passwords map[string][][]byte               // loaded ssl_password_file and proxy_ssl_password_file files, by name
	roots     map[string]trustedFile            // loaded proxy_ssl_trusted_certificate and grpc_ssl_trusted_certificate files, by name
	caFiles   map[string][]*x509.Certificate    // loaded ssl_client_certificate and ssl_trusted_certificate files, by name
	crlFiles  map[string][]*x509.RevocationList // loaded ssl_crl and proxy_ssl_crl files, by name
	charsets  charsetTable                      // the charset names and charset_maps of the whole configuration
	// matchByName are the match blocks by name, for health_check's match=.
	matchByName map[string]*Match
	// streamMatchByName are the stream block's match blocks by name.
	streamMatchByName map[string]*StreamMatch
	// keyLogs are the upstream key log files by path (upstream_keylog.go).
	keyLogs map[string]*KeyLogFile
}

// buildOptions are what the builder needs from LoadOptions, resolved.
type buildOptions struct {
	prefix   string // absolute
	confDir  string // absolute; "" means prefix
	errorLog string
	resolver Resolver
	goos     string // runtime.GOOS when empty
}

// build turns the main context's directives into a Config. warnings are the
// validator's; the builder adds its own.
func build(dirs []*Directive, opts buildOptions, warnings []Warning) (*Config, error) {
	b := &builder{
		prefix:    opts.prefix,
		confDir:   opts.confDir,
		errorLog:  opts.errorLog,
		resolver:  newHostResolver(opts.resolver),
		cfg:       &Config{Warnings: warnings},
		formats:   map[string]*LogFormat{"combined": combinedFormat()},
		upstreams: map[string]*Upstream{},
		implicit:  map[string]*Upstream{},
		typesOf:   map[*Directive]map[string]string{},
		accessOf:  map[*Directive][]AccessRule{},
		warned:    map[Warning]bool{},
		early:     map[Warning]bool{},
		warnedDir: map[dirWarning]bool{},
	}
	if b.confDir == "" {
		b.confDir = b.prefix
	}
	if b.goos = opts.goos; b.goos == "" {
		b.goos = runtime.GOOS
	}
	for _, w := range warnings {
		b.warned[w] = true
		b.early[w] = true
	}
	b.charsets.spelling = map[string]string{}
	collectCharsets(dirs, &b.charsets)
	if err := b.buildMain(dirs); err != nil {
		return nil, err
	}
	if err := checkSessionZones(dirs); err != nil {
		return nil, err
	}
	for _, d := range dirs {
		if d.Name == "http" {
			h, err := b.buildHTTP(d)
			if err != nil {
				return nil, err
			}
			b.cfg.HTTP = h
		}
		if d.Name == "stream" {
			st, err := b.buildStream(d)
			if err != nil {
				return nil, err
			}
			b.cfg.Stream = st
		}
		if d.Name == "mail" {
			m, err := b.buildMail(d)
			if err != nil {
				return nil, err
			}
			b.cfg.Mail = m
		}
	}
	if err := checkKeyvalZoneNames(b.cfg); err != nil {
		return nil, err
	}
	if err := checkKeyvalStateFiles(b.cfg); err != nil {
		return nil, err
	}
	return b.cfg, nil
}

// warn records a warning once: settings inherited by many locations are built many
// times, but each directive is reported once.
func (b *builder) warn(pos Pos, hint, msg string, args ...any) {
	w := Warning{Pos: pos, Msg: fmt.Sprintf(msg, args...), Hint: hint}
	if b.warned[w] {
		return
	}
	b.warned[w] = true
	b.cfg.Warnings = append(b.cfg.Warnings, w)
}

// dirWarning is a warning about one directive read: an included file's line
// is another directive each time the file is included.
type dirWarning struct {
	w Warning
	d *Directive
}

// warnDir records a warning about directive d once per directive read, as
// nginx warns while it reads each one: settings inherited by many levels are
// built many times but warned about once, while a file included twice gets
// its warnings twice (nginx reads it twice). A warning the parse gave already
// is not repeated.
func (b *builder) warnDir(d *Directive, hint, msg string, args ...any) {
	w := Warning{Pos: d.Pos, Msg: fmt.Sprintf(msg, args...), Hint: hint}
	k := dirWarning{w, d}
	if b.early[w] || b.warnedDir[k] {
		return
	}
	b.warnedDir[k] = true
	b.warned[w] = true
	b.cfg.Warnings = append(b.cfg.Warnings, w)
}

// warnEach records a warning every time: for the ones nginx writes once per
// thing it sets up (a server's TLS), even when all of them take the directive
// from one line (an http-level one, or a file each server includes). The
// caller runs once per such thing.
func (b *builder) warnEach(pos Pos, hint, msg string, args ...any) {
	w := Warning{Pos: pos, Msg: fmt.Sprintf(msg, args...), Hint: hint}
	b.warned[w] = true
	b.cfg.Warnings = append(b.cfg.Warnings, w)
}

// buildMain fills Main from the main context and the events block.
func (b *builder) buildMain(dirs []*Directive) error {
	m := &b.cfg.Main
	m.WorkerProcesses = 0 // auto; see docs (nginx defaults to 1)
	m.WorkerConnections = 1024
	m.PIDFile = b.path("logs/fulcrum.pid")
	m.ErrorLogs = []ErrorLog{{Path: b.defaultErrorLog(), Level: LevelError}}
	main := newScope(nil, ctxMain, dirs)
	for _, step := range []func(*scope) error{b.mainWorkers, b.mainPID, b.mainErrorLog, b.mainShutdown, b.mainProcess, b.mainEvents} {
		if err := step(main); err != nil {
			return err
		}
	}
	return nil
}

func (b *builder) defaultErrorLog() string {
	if b.errorLog != "" {
		return b.path(b.errorLog)
	}
	return b.path("logs/error.log")
}

// mainWorkers reads "worker_processes number | auto".
func (b *builder) mainWorkers(main *scope) error {
	for _, d := range main.own("worker_processes") {
		if d.Args[0] == "auto" {
			b.cfg.Main.WorkerProcesses = 0
			continue
		}
		n, err := parseInt(d.Args[0])
		if err != nil {
			return hintf(d.Pos, `use a number or "auto"`, `"%s" directive invalid value`, d.Name)
		}
		b.cfg.Main.WorkerProcesses = n
	}
	return nil
}

func (b *builder) mainPID(main *scope) error {
	for _, d := range main.own("pid") {
		b.cfg.Main.PIDFile = b.path(d.Args[0])
	}
	return nil
}

func (b *builder) mainErrorLog(main *scope) error {
	dirs := main.own("error_log")
	if len(dirs) == 0 {
		return nil
	}
	logs, err := b.errorLogs(dirs)
	if err != nil {
		return err
	}
	// nginx's ngx_log_open_default: when no main error_log is a file (all
	// syslog: or memory:), the default file is written too, at error
	// (recorded with nginx 1.22.1 and -e)
	if !slices.ContainsFunc(logs, func(l ErrorLog) bool { return l.Syslog.Addr == "" && l.Memory == 0 }) {
		logs = append(logs, ErrorLog{Path: b.defaultErrorLog(), Level: LevelError})
	}
	b.cfg.Main.ErrorLogs = logs
	return nil
}

func (b *builder) mainShutdown(main *scope) error {
	for _, d := range main.own("worker_shutdown_timeout") {
		t, err := parseTime(d.Args[0], false)
		if err != nil {
			return err
		}
		b.cfg.Main.WorkerShutdownTimeout = t
	}
	return nil
}

func (b *builder) mainEvents(main *scope) error {
	for _, ev := range main.own("events") {
		for _, d := range newScope(nil, ctxEvents, ev.Block).own("worker_connections") {
			n, err := parseInt(d.Args[0])
			if err != nil || n == 0 {
				return hintf(d.Pos, "use a number such as 1024", `"%s" directive invalid value`, d.Name)
			}
			b.cfg.Main.WorkerConnections = n
		}
	}
	return nil
}

// levelNames are nginx's names of the error log levels, indexed by LogLevel.
var levelNames = []string{"debug", "info", "notice", "warn", "error", "crit", "alert", "emerg"}

// logLevels maps nginx's names to levels.
var logLevels = func() map[string]LogLevel {
	m := make(map[string]LogLevel, len(levelNames))
	for i, n := range levelNames {
		m[n] = LogLevel(i)
	}
	return m
}()

// String is the level's nginx name, such as "warn".
func (l LogLevel) String() string {
	if l >= 0 && int(l) < len(levelNames) {
		return levelNames[l]
	}
	return "level(" + itoa(int(l)) + ")"
}

// errorLogs reads error_log directives: "error_log file [level [debug_...]]".
func (b *builder) errorLogs(dirs []*Directive) ([]ErrorLog, error) {
	logs := make([]ErrorLog, 0, len(dirs))
	for _, d := range dirs {
		l, err := b.errorLog1(d)
		if err != nil {
			return nil, err
		}
		logs = append(logs, l)
	}
	return logs, nil
}

func (b *builder) errorLog1(d *Directive) (ErrorLog, error) {
	target := d.Args[0]
	l := ErrorLog{Path: b.path(target), Level: LevelError, Pos: d.Pos}
	var err error
	switch {
	case isSyslog(target):
		l.Path = target
		l.Syslog, err = b.parseSyslog(d, target)
	case strings.HasPrefix(target, "memory:"):
		l.Path = target
		l.Memory, err = memoryLogSize(d, target)
	}
	if err != nil {
		return l, err
	}
	seen := false
	for _, a := range d.Args[1:] {
		level, ok := logLevels[a]
		switch {
		case ok && seen:
			return l, errorf(d.Pos, `duplicate log level "%s"`, a)
		case ok:
			l.Level, seen = level, true
		case len(a) > 6 && a[:6] == "debug_":
			// nginx's debug_http and kin select debug subsystems; fulcrum has one
		default:
			return l, hintf(d.Pos, "use one of debug, info, notice, warn, error, crit, alert, emerg", `invalid log level "%s"`, a)
		}
	}
	return l, nil
}

// Defaults of an upstream block (nginx's ngx_http_upstream_keepalive_module).
const (
	defaultUpstreamKeepaliveTimeout  = 60 * time.Second
	defaultUpstreamKeepaliveRequests = 1000
	defaultUpstreamKeepaliveTime     = time.Hour
	defaultFailTimeout               = 10 * time.Second
)

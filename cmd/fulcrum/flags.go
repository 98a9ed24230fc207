package main

import (
	"fmt"
	"os"
	"path/filepath"
)

// defaultConfFile is the configuration file read when -c is not given.
const defaultConfFile = "/etc/fulcrum/fulcrum.conf"

// options is the parsed command line. A flag given twice keeps its last value, as
// in nginx.
type options struct {
	confFile string // -c, as given; empty means defaultConfFile
	prefix   string // -p, as given; empty means the configuration file's directory
	errorLog string // -e, as given; empty means none, "stderr" is standard error
	globals  string // -g
	signal   string // -s: stop, quit, reopen or reload

	test          bool // -t or -T
	dump          bool // -T
	quiet         bool // -q
	showVersion   bool // -v, -V, -h or -?
	showConfigure bool // -V
	showHelp      bool // -h or -?
}

// usageError is a malformed command line; it exits with status 2. Its text is
// nginx's, such as `invalid option: "x"`.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usageErrorf(format string, args ...any) error {
	return &usageError{msg: fmt.Sprintf(format, args...)}
}

// signalNames are the names -s accepts.
var signalNames = []string{"stop", "quit", "reopen", "reload"}

// parseArgs parses the command line (without the program name) the way nginx's
// ngx_get_options does: every argument starts with "-" and may combine flags
// ("-tq"); a flag that takes a value takes the rest of its argument ("-cfile") or,
// when that is empty, the next argument ("-c file").
func parseArgs(args []string) (options, error) {
	var o options
	for i := 0; i < len(args); i++ {
		arg := args[i]
		if len(arg) < 2 || arg[0] != '-' {
			return o, usageErrorf(`invalid option: "%s"`, arg)
		}
		for j := 1; j < len(arg); j++ {
			c := arg[j]
			if !takesValue(c) {
				if err := o.setFlag(c); err != nil {
					return o, err
				}
				continue
			}
			value := arg[j+1:]
			if value == "" && i+1 < len(args) {
				i++
				value = args[i]
			}
			if err := o.setValue(c, value); err != nil {
				return o, err
			}
			break
		}
	}
	return o, nil
}

// takesValue reports whether flag c takes a value.
func takesValue(c byte) bool {
	switch c {
	case 'c', 'p', 'e', 'g', 's':
		return true
	}
	return false
}

// setFlag records a flag without a value.
func (o *options) setFlag(c byte) error {
	switch c {
	case '?', 'h':
		o.showVersion, o.showHelp = true, true
	case 'v':
		o.showVersion = true
	case 'V':
		o.showVersion, o.showConfigure = true, true
	case 't':
		o.test = true
	case 'T':
		o.test, o.dump = true, true
	case 'q':
		o.quiet = true
	default:
		return usageErrorf(`invalid option: "%c"`, c)
	}
	return nil
}

// setValue records a flag with its value; an empty value is missing.
func (o *options) setValue(c byte, value string) error {
	if value == "" {
		return usageErrorf(`option "-%c" requires %s`, c, valueName(c))
	}
	switch c {
	case 'c':
		o.confFile = value
	case 'p':
		o.prefix = value
	case 'e':
		o.errorLog = value
	case 'g':
		o.globals = value
	case 's':
		for _, name := range signalNames {
			if value == name {
				o.signal = value
				return nil
			}
		}
		return usageErrorf(`invalid option: "-s %s"`, value)
	}
	return nil
}

// valueName names what a flag's value is, in nginx's words.
func valueName(c byte) string {
	switch c {
	case 'c', 'e':
		return "file name"
	case 'p':
		return "directory name"
	}
	return "parameter"
}

// paths are the command line's paths made absolute.
type paths struct {
	// conf is the main configuration file: -c (or the default), resolved against
	// -p when relative and -p is given, else against the current directory.
	conf string
	// prefix is -p made absolute; empty when -p is not given (config.Load then
	// uses conf's directory).
	prefix string
	// errorLog is -e: empty, "stderr", or an absolute path (a relative one is
	// resolved against the prefix, or conf's directory without -p).
	errorLog string
}

// resolvePaths makes the command line's paths absolute.
func resolvePaths(o options) (paths, error) {
	cwd, err := os.Getwd()
	if err != nil {
		return paths{}, fmt.Errorf("get current directory: %w", err)
	}
	var p paths
	base := cwd
	if o.prefix != "" {
		p.prefix = absUnder(cwd, o.prefix)
		base = p.prefix
	}
	p.conf = o.confFile
	if p.conf == "" {
		p.conf = defaultConfFile
	}
	p.conf = absUnder(base, p.conf)
	p.errorLog = o.errorLog
	if p.errorLog != "" && p.errorLog != "stderr" {
		if p.prefix == "" {
			base = filepath.Dir(p.conf)
		}
		p.errorLog = absUnder(base, p.errorLog)
	}
	return p, nil
}

// absUnder returns path made absolute against dir, cleaned.
func absUnder(dir, path string) string {
	if filepath.IsAbs(path) {
		return filepath.Clean(path)
	}
	return filepath.Join(dir, path)
}

// Command fulcrum is a load balancer and reverse proxy configured in nginx's
// configuration language. Its command line is nginx's: -c, -p, -e, -g, -t, -T, -q,
// -s, -v, -V, -h; `fulcrum demo` runs the demo. See `fulcrum -h`.
package main

import (
	"errors"
	"fmt"
	"io"
	"os"

	"fulcrum/internal/config"
	"fulcrum/internal/daemon"
	"fulcrum/internal/errlog"
)

// Exit codes.
const (
	exitOK      = 0 // done
	exitFailure = 1 // configuration or runtime error
	exitUsage   = 2 // malformed command line
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run runs the command line args (without the program name) and returns the exit
// code. Tests call it in-process.
func run(args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 && args[0] == "demo" {
		return runDemo(args[1:], stdout, stderr)
	}
	o, err := parseArgs(args)
	if err != nil {
		fmt.Fprintf(stderr, "fulcrum: %v\n", err)
		return exitUsage
	}
	if o.showVersion {
		printVersion(stderr, o.showConfigure)
		if o.showHelp {
			printUsage(stderr)
		}
		if !o.test { // as nginx: -v with -t goes on to test
			return exitOK
		}
	}
	p, err := resolvePaths(o)
	if err != nil {
		fmt.Fprintf(stderr, "fulcrum: [emerg] %v\n", err)
		return exitFailure
	}
	rep, err := newReporter(stderr, p.errorLog)
	if err != nil {
		fmt.Fprintf(stderr, "fulcrum: [alert] could not open error log file: %v\n", err)
		if o.test {
			fmt.Fprintf(stderr, "fulcrum: configuration file %s test failed\n", p.conf)
		}
		return exitFailure
	}
	defer rep.close()
	switch {
	case o.test:
		return testConfig(o, p, rep, stdout)
	case o.signal != "":
		return signalRunning(o, p, rep)
	}
	return start(o, p, rep)
}

// loadOptions are the config.LoadOptions the command line gives.
func loadOptions(o options, p paths) config.LoadOptions {
	return config.LoadOptions{Prefix: p.prefix, Globals: o.globals, ErrorLog: p.errorLog}
}

// loadConfig loads the configuration and reports its warnings, or its error at
// emerg.
func loadConfig(o options, p paths, rep *reporter) (*config.Config, error) {
	cfg, err := config.Load(p.conf, loadOptions(o, p))
	if err != nil {
		rep.report(errlog.Emerg, err.Error())
		return nil, err
	}
	if cfg == nil {
		err := errors.New("the configuration loaded as nothing")
		rep.report(errlog.Emerg, err.Error())
		return nil, err
	}
	reportWarnings(rep, cfg.Warnings)
	// Compile everything a request would need (variables, routing, upstreams),
	// as nginx -t does, so a test passes only when the configuration would run.
	if err := daemon.Check(cfg); err != nil {
		rep.report(errlog.Emerg, err.Error())
		return nil, err
	}
	// What needs the routing: auth_oidc's paths served where the module
	// would not see them.
	reportWarnings(rep, daemon.OIDCWarnings(cfg))
	return cfg, nil
}

// reportWarnings reports each warning at warn, as nginx does while loading:
// "fulcrum: [warn] MESSAGE in FILE:LINE".
func reportWarnings(rep *reporter, warnings []config.Warning) {
	for _, w := range warnings {
		rep.report(errlog.Warn, w.String())
	}
}

// start loads the configuration and serves it until told to stop.
func start(o options, p paths, rep *reporter) int {
	cfg, err := loadConfig(o, p, rep)
	if err != nil {
		return exitFailure
	}
	rep.close() // serve runs the configuration's own error logs
	if err := serve(cfg, loadOptions(o, p), p.conf); err != nil {
		rep.reopen()
		rep.report(errlog.Emerg, err.Error())
		return exitFailure
	}
	return exitOK
}

package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"

	"fulcrum/internal/config"
	"fulcrum/internal/daemon"
	"fulcrum/internal/demo"
)

// runDemo runs `fulcrum demo [-port N] [-b1 N] [-b2 N]`: two backends and the
// balancer in one process, until q or Ctrl-C.
func runDemo(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("fulcrum demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	o := demo.Options{Stdin: os.Stdin, Stdout: stdout}
	fs.IntVar(&o.Port, "port", 8080, "the balancer's port on 127.0.0.1")
	fs.IntVar(&o.Backend1, "b1", 5001, "backend 1's port on 127.0.0.1")
	fs.IntVar(&o.Backend2, "b2", 5002, "backend 2's port on 127.0.0.1")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: fulcrum demo [-port N] [-b1 N] [-b2 N]\n\nOptions:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK // help asked for is not a usage error, as for fulcrum -h
		}
		return exitUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "fulcrum: invalid option: \"%s\" (fulcrum demo takes only -port, -b1 and -b2)\n", fs.Arg(0))
		return exitUsage
	}
	dir, err := os.MkdirTemp("", "fulcrum-demo-")
	if err != nil {
		fmt.Fprintf(stderr, "fulcrum: [emerg] %v\n", err)
		return exitFailure
	}
	defer os.RemoveAll(dir)
	if err := runDemoIn(dir, o, stdout); err != nil {
		fmt.Fprintf(stderr, "fulcrum: [emerg] %v\n", err)
		return exitFailure
	}
	return exitOK
}

// runDemoIn starts the backends, prints the banner and serves until the user
// quits or a stop signal arrives.
func runDemoIn(dir string, o demo.Options, stdout io.Writer) error {
	path, err := demo.WriteConfig(o, dir)
	if err != nil {
		return err
	}
	cfg, err := config.Load(path, config.LoadOptions{Prefix: dir})
	if err != nil {
		return err
	}
	if err := balancerPortFree(o.Port); err != nil {
		return err
	}
	backends := []*demo.Backend{
		demo.NewBackend("backend 1", "127.0.0.1:"+strconv.Itoa(o.Backend1)),
		demo.NewBackend("backend 2", "127.0.0.1:"+strconv.Itoa(o.Backend2)),
	}
	for _, b := range backends {
		if err := b.Start(); err != nil {
			return fmt.Errorf("%w (%v)", demo.ErrPortInUse, err)
		}
		defer b.Stop()
	}
	text, _ := os.ReadFile(path)
	fmt.Fprint(stdout, demo.Banner(o, string(text)))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		demo.Commands(ctx, o.Stdin, stdout, backends)
		cancel()
	}()
	return daemon.Run(ctx, cfg, daemon.Options{ConfPath: path, Load: config.LoadOptions{Prefix: dir}})
}

// balancerPortFree checks, before anything starts or the banner is
// printed, that the balancer's port can be bound: a taken port is the demo's
// ErrPortInUse (pick another with -port), not the daemon's bind error,
// whose advice to change the listen line does not apply to the embedded
// configuration. The port is free again when it returns, for the daemon.
func balancerPortFree(port int) error {
	ln, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port))
	if err != nil {
		return fmt.Errorf("%w (%v)", demo.ErrPortInUse, err)
	}
	return ln.Close()
}

package main

import (
	"context"
	"flag"
	"fmt"
	"io"
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
	if err := fs.Parse(args); err != nil {
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

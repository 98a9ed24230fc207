package main

import (
	"context"
	"os"

	"fulcrum/internal/config"
	"fulcrum/internal/daemon"
	"fulcrum/internal/gctune"
)

// serve runs the proxy with cfg until a stop signal and returns nil after a clean
// stop. The sockets a previous fulcrum handed over on SIGUSR2 come in the
// environment (daemon.InheritEnv); the command line is kept for the next USR2.
// The garbage collector's headroom follows the live heap (gctune) unless the
// environment sets GOGC or GOMEMLIMIT.
func serve(cfg *config.Config, opts config.LoadOptions, confPath string) error {
	defer gctune.Start(gctune.DefaultPolicy()).Stop()
	inherited := os.Getenv(daemon.InheritEnv)
	os.Unsetenv(daemon.InheritEnv) // not for the processes fulcrum starts
	return daemon.Run(context.Background(), cfg, daemon.Options{
		ConfPath:  confPath,
		Load:      opts,
		Args:      os.Args,
		Inherited: inherited,
	})
}

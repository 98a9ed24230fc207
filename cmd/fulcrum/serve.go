package main

import (
	"context"

	"fulcrum/internal/config"
	"fulcrum/internal/daemon"
)

// serve runs the proxy with cfg until a stop signal and returns nil after a clean
// stop.
func serve(cfg *config.Config, opts config.LoadOptions, confPath string) error {
	return daemon.Run(context.Background(), cfg, daemon.Options{ConfPath: confPath, Load: opts})
}

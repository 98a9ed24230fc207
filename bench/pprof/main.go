// Command pprof runs fulcrum's daemon in-process with net/http/pprof on a second
// loopback address, so that bench/profile.sh can take CPU and allocation profiles
// while wrk loads the proxy. It is a benchmark tool, not a way to run fulcrum:
// it takes only -c (the configuration) and -pprof (where the profiler listens).
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	_ "net/http/pprof" // registers /debug/pprof on http.DefaultServeMux
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"syscall"
	"time"

	"fulcrum/internal/config"
	"fulcrum/internal/daemon"
)

func main() {
	conf := flag.String("c", "", "configuration file")
	pprofAddr := flag.String("pprof", "127.0.0.1:0", "loopback address of the pprof endpoint")
	addrFile := flag.String("addrfile", "", "write the pprof address to this file once listening")
	memRate := flag.Int("memprofilerate", runtime.MemProfileRate, "bytes per sampled allocation (1: every allocation, for exact in-use heap profiles)")
	flag.Parse()
	runtime.MemProfileRate = *memRate
	if err := run(*conf, *pprofAddr, *addrFile); err != nil {
		log.Fatal(err)
	}
}

// run serves pprof on pprofAddr and the daemon on conf until SIGTERM or SIGINT.
func run(conf, pprofAddr, addrFile string) error {
	ln, err := listenLoopback(pprofAddr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: http.DefaultServeMux, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	defer srv.Close()
	if addrFile != "" {
		if err := os.WriteFile(addrFile, []byte(ln.Addr().String()+"\n"), 0o644); err != nil {
			return fmt.Errorf("address file: %w", err)
		}
	}
	abs, err := filepath.Abs(conf)
	if err != nil {
		return fmt.Errorf("config path: %w", err)
	}
	cfg, err := config.Load(abs, config.LoadOptions{})
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	sigs := make(chan os.Signal) // the context above handles stopping
	return daemon.Run(ctx, cfg, daemon.Options{ConfPath: abs, Signals: sigs})
}

// listenLoopback listens on addr, which must be a loopback address.
func listenLoopback(addr string) (net.Listener, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("pprof address %q: %w", addr, err)
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return nil, fmt.Errorf("pprof address %q: loopback only", addr)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("pprof listen: %w", err)
	}
	return ln, nil
}

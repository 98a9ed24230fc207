package daemon_test

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"fulcrum/internal/config"
	"fulcrum/internal/daemon"
)

// runConfigFile runs the daemon on the configuration file at path until the
// test ends, with its error log at the path's directory's error.log unless
// the file names one, and returns the first listening address and the
// channel that delivers the daemon's signals (SIGHUP reloads). A daemon that
// stops with an error at cleanup fails the test.
func runConfigFile(tb testing.TB, path string) (addr string, signals chan<- os.Signal) {
	tb.Helper()
	return runConfigFileOpts(tb, path, daemon.Options{})
}

// runConfigFileOpts is runConfigFile with more daemon options (a Clock).
func runConfigFileOpts(tb testing.TB, path string, opts daemon.Options) (addr string, signals chan<- os.Signal) {
	tb.Helper()
	cfg, err := config.Load(path, config.LoadOptions{ErrorLog: filepath.Join(filepath.Dir(path), "error.log")})
	if err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ready, done := make(chan string, 1), make(chan error, 1)
	sigs := make(chan os.Signal, 1) // never our process's signals
	go func() {
		opts.ConfPath = path
		opts.Ready = func(addrs []net.Addr) { ready <- addrs[0].String() }
		opts.Signals = sigs
		done <- daemon.Run(ctx, cfg, opts)
	}()
	select {
	case addr = <-ready:
	case err := <-done:
		cancel()
		tb.Fatalf("daemon stopped before it was ready: %v", err)
	case <-time.After(10 * time.Second):
		cancel()
		tb.Fatal("daemon not ready within 10s")
	}
	tb.Cleanup(func() {
		// A fast stop (TERM): a graceful one waits, as nginx's does, up to
		// client_header_timeout for a connection a client opened and never
		// used (Go's http.Transport dials spares under load). The tests of
		// graceful stops send QUIT themselves.
		sigs <- syscall.SIGTERM
		select {
		case err := <-done:
			if err != nil {
				tb.Errorf("daemon stop: %v", err)
			}
		case <-time.After(10 * time.Second):
			tb.Error("daemon did not stop within 10s")
		}
		cancel()
	})
	return addr, sigs
}

// runConfig writes text to dir/fulcrum.conf and runs the daemon on it
// (runConfigFile).
func runConfig(tb testing.TB, dir, text string) (addr string, signals chan<- os.Signal) {
	tb.Helper()
	path := filepath.Join(dir, "fulcrum.conf")
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		tb.Fatal(err)
	}
	return runConfigFile(tb, path)
}

// TestReadyAddrsInConfigOrder: the addresses Options.Ready reports (and the
// "listening on" lines) follow the order the configuration names them in,
// whatever order the daemon keeps its listeners in. Six addresses in a map
// came out in the file's order once in 720 starts.
func TestReadyAddrsInConfigOrder(t *testing.T) {
	dir := t.TempDir()
	var listens, want []string
	for _, ip := range []string{"127.0.0.4", "127.0.0.1", "127.0.0.6", "127.0.0.2", "127.0.0.5", "127.0.0.3"} {
		listens = append(listens, "listen "+ip+":0;")
		want = append(want, ip)
	}
	text := "pid " + dir + "/fulcrum.pid;\nhttp { access_log off; server { " + strings.Join(listens, " ") + " return 204; } }\n"
	path := filepath.Join(dir, "fulcrum.conf")
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(path, config.LoadOptions{ErrorLog: filepath.Join(dir, "error.log")})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ready, done := make(chan []net.Addr, 1), make(chan error, 1)
	go func() {
		done <- daemon.Run(ctx, cfg, daemon.Options{ConfPath: path, Signals: make(chan os.Signal),
			Ready: func(addrs []net.Addr) { ready <- addrs }})
	}()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("daemon stop: %v", err)
		}
	}()
	var addrs []net.Addr
	select {
	case addrs = <-ready:
	case err := <-done:
		done <- err
		t.Fatalf("daemon stopped before it was ready: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("daemon not ready within 10s")
	}
	var got []string
	for _, a := range addrs {
		got = append(got, a.(*net.TCPAddr).IP.String())
	}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("Ready reported %v, want %v", got, want)
	}
}

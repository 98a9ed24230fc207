// Package demo runs `fulcrum demo`: two small web backends and the balancer in
// front of them, from an embedded configuration that shows off active health
// checks, the runtime API, the metrics and the live dashboard, with a prompt to
// stop and start each backend so the user can watch failover and recovery.
package demo

import (
	"bufio"
	"context"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

//go:embed demo.conf
var configTemplate string

// Options are the demo's ports and streams.
type Options struct {
	// Port is the balancer's port on 127.0.0.1; Backend1 and Backend2 the
	// backends' ports.
	Port, Backend1, Backend2 int
	// Stdin is read for commands (a backend's number toggles it; q quits).
	Stdin io.Reader
	// Stdout gets the banner, the access log and command answers.
	Stdout io.Writer
	// Dir holds the rendered config and pid file; empty means a new temp dir.
	Dir string
}

// Config renders the embedded configuration for the given ports, pid file and
// access log path.
func Config(o Options, pidFile, accessLog string) string {
	r := strings.NewReplacer("{{PID}}", pidFile, "{{ACCESS}}", accessLog, "{{PORT}}", strconv.Itoa(o.Port),
		"{{B1}}", strconv.Itoa(o.Backend1), "{{B2}}", strconv.Itoa(o.Backend2))
	return r.Replace(configTemplate)
}

// WriteConfig writes the rendered configuration into dir and returns its path.
func WriteConfig(o Options, dir string) (string, error) {
	path := filepath.Join(dir, "fulcrum-demo.conf")
	text := Config(o, filepath.Join(dir, "fulcrum-demo.pid"), "stdout")
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		return "", fmt.Errorf("write demo config: %w", err)
	}
	return path, nil
}

// Backend is one demo web server: GET / says which backend answered; POST /user
// accepts a body and echoes its size. It can be stopped and started again on
// the same port.
type Backend struct {
	Name string
	Addr string

	mu  sync.Mutex // guards srv
	srv *http.Server
}

// NewBackend returns a stopped backend.
func NewBackend(name, addr string) *Backend { return &Backend{Name: name, Addr: addr} }

// Start listens and serves in the background.
func (b *Backend) Start() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.srv != nil {
		return nil
	}
	ln, err := net.Listen("tcp", b.Addr)
	if err != nil {
		return fmt.Errorf("start %s: %w", b.Name, err)
	}
	srv := &http.Server{Handler: b.handler(), ReadHeaderTimeout: 10 * time.Second}
	b.srv = srv
	go func() { _ = srv.Serve(ln) }()
	return nil
}

// Stop closes the listener and every connection at once, like a crashed server.
func (b *Backend) Stop() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.srv != nil {
		b.srv.Close()
		b.srv = nil
	}
}

// Running reports whether the backend is serving.
func (b *Backend) Running() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.srv != nil
}

func (b *Backend) handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /user", func(w http.ResponseWriter, r *http.Request) {
		n, _ := io.Copy(io.Discard, r.Body)
		fmt.Fprintf(w, "%s (%s) stored a user of %d bytes\n", b.Name, b.Addr, n)
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "Hello from %s (%s): %s %s\n", b.Name, b.Addr, r.Method, r.URL.RequestURI())
	})
	return mux
}

// Banner is what the demo prints at start: the config and lines to try.
func Banner(o Options, configText string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "fulcrum demo: backend 1 on 127.0.0.1:%d, backend 2 on 127.0.0.1:%d, balancer on 127.0.0.1:%d\n\n", o.Backend1, o.Backend2, o.Port)
	b.WriteString("The configuration it runs:\n\n")
	for _, line := range strings.Split(strings.TrimRight(configText, "\n"), "\n") {
		b.WriteString("    " + line + "\n")
	}
	fmt.Fprintf(&b, `
Try, in another terminal:

    curl http://127.0.0.1:%[1]d/                      # alternates between backend 1 and 2
    for i in 1 2 3 4; do curl -s http://127.0.0.1:%[1]d/; done
    curl -d 'name=ada' http://127.0.0.1:%[1]d/user    # a POST goes through too
    curl http://127.0.0.1:%[1]d/health                # answered by fulcrum itself

Watch it live: open http://127.0.0.1:%[1]d/dashboard in a browser. It reads the
runtime API every second and has buttons to drain, set down and bring up a backend.

The runtime API and the metrics:

    curl http://127.0.0.1:%[1]d/api/9/http/upstreams/backend   # servers, states, counters
    curl http://127.0.0.1:%[1]d/metrics                        # the same for Prometheus
    # drain backend 1 (no new requests go to it), then bring it back:
    curl -X PATCH -d '{"drain":true}' http://127.0.0.1:%[1]d/api/9/http/upstreams/backend/servers/0
    curl -X PATCH -d '{"down":false}' http://127.0.0.1:%[1]d/api/9/http/upstreams/backend/servers/0

Watch failover: type 1 and Enter here to stop backend 1, then curl again: every
request goes to backend 2 and no client sees an error (a request that meets
backend 1 is retried on backend 2, and within 2s the health check takes it out).
Type 1 again to bring it back: the next health check passes it, and it rejoins
once fail_timeout (10s) after its last failure has run out.
Type 2 for backend 2, q (or Ctrl-C) to quit.

`, o.Port)
	return b.String()
}

// Commands reads the user's commands and toggles backends. It returns when the
// user types q or ctx is done; at the end of input it just waits for ctx (so a
// demo started without a terminal runs until it is stopped).
func Commands(ctx context.Context, in io.Reader, out io.Writer, backends []*Backend) {
	lines := make(chan string)
	go func() {
		sc := bufio.NewScanner(in)
		for sc.Scan() {
			lines <- strings.TrimSpace(sc.Text())
		}
		close(lines)
	}()
	for {
		select {
		case <-ctx.Done():
			return
		case line, ok := <-lines:
			if !ok {
				lines = nil // stop reading; wait for ctx
				continue
			}
			if line == "q" || line == "quit" {
				return
			}
			toggle(line, out, backends)
		}
	}
}

func toggle(line string, out io.Writer, backends []*Backend) {
	n, err := strconv.Atoi(line)
	if err != nil || n < 1 || n > len(backends) {
		if line != "" {
			fmt.Fprintf(out, "type 1 or 2 to stop/start a backend, q to quit\n")
		}
		return
	}
	b := backends[n-1]
	if b.Running() {
		b.Stop()
		fmt.Fprintf(out, "%s stopped: requests now go to the other backend\n", b.Name)
		return
	}
	if err := b.Start(); err != nil {
		fmt.Fprintf(out, "%v\n", err)
		return
	}
	fmt.Fprintf(out, "%s started again: it rejoins when a health check passes it and fail_timeout has run out\n", b.Name)
}

// ErrPortInUse explains a demo port that is taken.
var ErrPortInUse = errors.New("a demo port is in use: pick others with -port, -b1, -b2")

// Command backend is the upstream server of fulcrum's load benchmark (bench/run.sh):
// a minimal net/http server that answers GET /small with a 13-byte body and
// GET /big with a 64 KiB body, both with a Content-Length and no per-request
// allocation of the body. It listens on 127.0.0.1 only.
//
// With -addr ending in ":0" it binds an ephemeral port; -portfile then receives
// the bound port once the socket listens, so the script can wait for it.
// With -freeports N it prints N free loopback ports (bound and released at once)
// and exits; the script uses them for the proxies' listen directives.
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"
)

// smallBody is the /small response: 13 bytes, as in the TechEmpower plaintext test.
var smallBody = []byte("Hello, World!")

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "listen address (loopback only)")
	portFile := flag.String("portfile", "", "write the bound port to this file once listening")
	freePorts := flag.Int("freeports", 0, "print this many free loopback ports and exit")
	flag.Parse()
	if *freePorts > 0 {
		if err := printFreePorts(*freePorts); err != nil {
			log.Fatal(err)
		}
		return
	}
	if err := serve(*addr, *portFile); err != nil {
		log.Fatal(err)
	}
}

// printFreePorts binds n ephemeral loopback ports at once (so they differ), prints
// them one per line and releases them.
func printFreePorts(n int) error {
	lns := make([]net.Listener, 0, n)
	defer func() {
		for _, ln := range lns {
			ln.Close()
		}
	}()
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return fmt.Errorf("free port: %w", err)
		}
		lns = append(lns, ln)
		fmt.Println(ln.Addr().(*net.TCPAddr).Port)
	}
	return nil
}

// serve listens on addr and answers until SIGTERM or SIGINT.
func serve(addr, portFile string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("listen address %q: %w", addr, err)
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("listen address %q: loopback only", addr)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	if portFile != "" {
		port := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
		if err := os.WriteFile(portFile, []byte(port+"\n"), 0o644); err != nil {
			return fmt.Errorf("port file: %w", err)
		}
	}
	srv := &http.Server{Handler: handler(), ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 120 * time.Second}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	go func() {
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		srv.Shutdown(shutdown)
	}()
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", err)
	}
	return nil
}

// handler answers /small and /big; anything else is 404.
func handler() http.Handler {
	big := bytes.Repeat([]byte("0123456789abcdef"), 64*1024/16)
	mux := http.NewServeMux()
	mux.Handle("/small", fixed(smallBody))
	mux.Handle("/big", fixed(big))
	return mux
}

// fixed answers every request with body and its length.
func fixed(body []byte) http.Handler {
	length := []string{strconv.Itoa(len(body))}
	ctype := []string{"text/plain"}
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		h := w.Header()
		h["Content-Length"] = length
		h["Content-Type"] = ctype
		w.Write(body)
	})
}

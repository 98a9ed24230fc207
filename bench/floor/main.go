// Command floor is the least a goroutine-per-connection HTTP/1.1 proxy in Go
// can do, as a yardstick for fulcrum's CPU per request (bench/perfstat.sh
// with FLOOR=1, bench/README.md): it forwards each request head verbatim to a
// keep-alive upstream connection and the Content-Length-framed response back,
// with Go's net package and nothing else (no parsing beyond framing, no
// header rewrite, no routing, no timeouts, no logs, no request bodies). What
// it costs is what Go's runtime and poller cost on this machine; what fulcrum
// costs beyond it is fulcrum's own work.
//
// It is a benchmark tool, not a proxy: it trusts its backends and clients
// (bench/backend and wrk), closes after an HTTP/1.0 request's answer, listens on loopback only, and stops on the first
// error of a connection by closing it.
//
//	floor -addr 127.0.0.1:PORT BACKEND_ADDR...
package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"log"
	"net"
	"strconv"
	"sync"
)

// maxIdle is how many idle upstream connections the pool keeps (bench's
// keepalive 64).
const maxIdle = 64

// upstreams hands out keep-alive connections to the backends, dialing them in
// turn when none is idle.
type upstreams struct {
	mu    sync.Mutex // guards idle and next
	idle  []net.Conn
	next  int
	addrs []string
}

func (u *upstreams) get() (net.Conn, error) {
	u.mu.Lock()
	if n := len(u.idle); n > 0 {
		c := u.idle[n-1]
		u.idle = u.idle[:n-1]
		u.mu.Unlock()
		return c, nil
	}
	addr := u.addrs[u.next%len(u.addrs)]
	u.next++
	u.mu.Unlock()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("dial upstream: %w", err)
	}
	return c, nil
}

func (u *upstreams) put(c net.Conn) {
	u.mu.Lock()
	if len(u.idle) < maxIdle {
		u.idle = append(u.idle, c)
		u.mu.Unlock()
		return
	}
	u.mu.Unlock()
	c.Close()
}

var (
	headEnd       = []byte("\r\n\r\n")
	contentLength = []byte("\r\nContent-Length: ")
	http10Line    = []byte(" HTTP/1.0\r")
	errFraming    = errors.New("response without Content-Length")
)

// serve proxies the requests of one client connection until it closes.
func serve(c net.Conn, ups *upstreams) {
	defer c.Close()
	req := make([]byte, 4096)
	resp := make([]byte, 80<<10)
	n := 0
	for {
		end := bytes.Index(req[:n], headEnd)
		for end < 0 {
			if n == len(req) {
				return // a head this tool does not take
			}
			m, err := c.Read(req[n:])
			if err != nil {
				return
			}
			n += m
			end = bytes.Index(req[:n], headEnd)
		}
		end += len(headEnd)
		// HTTP/1.0 (the scripts' check with bash): answer, then close.
		http10 := bytes.Contains(req[:bytes.IndexByte(req[:end], '\n')], http10Line)
		u, err := ups.get()
		if err != nil {
			log.Print(err)
			return
		}
		if _, err := u.Write(req[:end]); err != nil {
			u.Close()
			return
		}
		n = copy(req, req[end:n])
		r, err := readResponse(u, resp)
		if err != nil {
			u.Close()
			return
		}
		ups.put(u)
		if _, err := c.Write(resp[:r]); err != nil || http10 {
			return
		}
	}
}

// readResponse reads one whole response from u into buf and returns its
// length.
func readResponse(u net.Conn, buf []byte) (int, error) {
	r, total := 0, -1
	for total < 0 || r < total {
		if r == len(buf) {
			return 0, errors.New("response larger than the buffer")
		}
		m, err := u.Read(buf[r:])
		if err != nil {
			return 0, err
		}
		r += m
		if total >= 0 {
			continue
		}
		h := bytes.Index(buf[:r], headEnd)
		if h < 0 {
			continue
		}
		i := bytes.Index(buf[:h+2], contentLength)
		if i < 0 {
			return 0, errFraming
		}
		v := buf[i+len(contentLength) : h+2]
		v = v[:bytes.IndexByte(v, '\r')]
		size, err := strconv.Atoi(string(v))
		if err != nil {
			return 0, errFraming
		}
		total = h + len(headEnd) + size
	}
	return r, nil
}

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "loopback address to listen on")
	flag.Parse()
	if flag.NArg() == 0 {
		log.Fatal("usage: floor -addr 127.0.0.1:PORT BACKEND_ADDR...")
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	ups := &upstreams{addrs: flag.Args()}
	for {
		c, err := ln.Accept()
		if err != nil {
			log.Fatal(err)
		}
		go serve(c, ups)
	}
}

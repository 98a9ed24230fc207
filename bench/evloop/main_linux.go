// Command evloop is bench/floor's proxy written as one epoll event loop on
// one locked OS thread instead of a goroutine per connection: no scheduler,
// no poller, no goroutine switches, non-blocking system calls made raw. It
// measures how much of Go's floor (bench/README.md, profile step 15) is the
// runtime's goroutine and poller machinery, that is, what an event-loop
// engine in fulcrum could save at best (bench/perfstat.sh with EVLOOP=1).
//
// Like floor it is a benchmark tool, not a proxy: it forwards each request
// head verbatim to a keep-alive upstream connection and the
// Content-Length-framed response back, trusts its backends and clients
// (bench/backend and wrk), takes no request bodies, closes after an HTTP/1.0
// request's answer, listens on loopback only, and closes a connection on its
// first error.
//
//	evloop -addr 127.0.0.1:PORT BACKEND_ADDR...
package main

import (
	"bytes"
	"flag"
	"fmt"
	"log"
	"net"
	"net/netip"
	"os"
	"runtime"
	"strconv"
	"syscall"
	"unsafe"
)

var (
	headEnd       = []byte("\r\n\r\n")
	contentLength = []byte("\r\nContent-Length: ")
	http10Line    = []byte(" HTTP/1.0\r")
)

// conn is one socket in the loop: a client or an upstream connection.
type conn struct {
	fd       int
	upstream bool
	// readable is set by an EPOLLIN edge and cleared by a short read or
	// EAGAIN, as nginx's rev->ready: no read is made that would find nothing.
	readable bool
	// Client side.
	req     []byte // bytes read, not yet forwarded
	out     []byte // response bytes not yet written (after a short write)
	http10  bool
	waiting *conn // the upstream connection answering this client
	// Upstream side.
	client *conn  // the client this upstream connection answers, or nil when idle
	resp   []byte // the response read so far
	total  int    // the response's length once its head is read, else -1
}

// loop is the event loop's state: the epoll instance, every connection by
// fd, the idle upstream connections and the backends dialled in turn.
type loop struct {
	epfd  int
	lnfd  int
	ln    *os.File // owns lnfd: its finalizer would close the socket
	conns map[int]*conn
	idle  []*conn
	addrs []syscall.SockaddrInet4
	next  int
}

func rawRead(fd int, p []byte) (int, syscall.Errno) {
	n, _, e := syscall.RawSyscall(syscall.SYS_READ, uintptr(fd), uintptr(unsafe.Pointer(&p[0])), uintptr(len(p)))
	return int(n), e
}

func rawWrite(fd int, p []byte) (int, syscall.Errno) {
	n, _, e := syscall.RawSyscall(syscall.SYS_WRITE, uintptr(fd), uintptr(unsafe.Pointer(&p[0])), uintptr(len(p)))
	return int(n), e
}

// add registers fd edge-triggered for reading and writing, once for its life.
func (l *loop) add(c *conn) error {
	ev := syscall.EpollEvent{Events: syscall.EPOLLIN | syscall.EPOLLOUT | syscall.EPOLLRDHUP | (1 << 31), Fd: int32(c.fd)}
	if err := syscall.EpollCtl(l.epfd, syscall.EPOLL_CTL_ADD, c.fd, &ev); err != nil {
		return fmt.Errorf("epoll_ctl: %w", err)
	}
	l.conns[c.fd] = c
	return nil
}

func (l *loop) close(c *conn) {
	if c == nil || l.conns[c.fd] != c {
		return
	}
	delete(l.conns, c.fd)
	syscall.Close(c.fd)
	if c.upstream {
		if cl := c.client; cl != nil {
			c.client = nil
			cl.waiting = nil
			l.close(cl)
		}
		return
	}
	if u := c.waiting; u != nil {
		c.waiting = nil
		u.client = nil
		l.close(u)
	}
}

// upstreamConn takes an idle upstream connection or dials the next backend.
func (l *loop) upstreamConn() (*conn, error) {
	if n := len(l.idle); n > 0 {
		u := l.idle[n-1]
		l.idle = l.idle[:n-1]
		return u, nil
	}
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("socket: %w", err)
	}
	// A blocking connect on loopback, then non-blocking from there on.
	if err := syscall.Connect(fd, &l.addrs[l.next%len(l.addrs)]); err != nil {
		syscall.Close(fd)
		return nil, fmt.Errorf("connect: %w", err)
	}
	l.next++
	syscall.SetNonblock(fd, true)
	syscall.SetsockoptInt(fd, syscall.IPPROTO_TCP, syscall.TCP_NODELAY, 1)
	u := &conn{fd: fd, upstream: true, resp: make([]byte, 0, 80<<10), total: -1}
	if err := l.add(u); err != nil {
		syscall.Close(fd)
		return nil, err
	}
	return u, nil
}

// clientReadable reads what the client sent and forwards a whole head.
func (l *loop) clientReadable(c *conn) {
	if c.waiting != nil || len(c.out) > 0 {
		return // one request at a time; the rest is read after the answer
	}
	for {
		if end := bytes.Index(c.req, headEnd); end >= 0 {
			l.forward(c, end+len(headEnd))
			return
		}
		if !c.readable {
			return
		}
		if len(c.req) == cap(c.req) {
			l.close(c)
			return
		}
		space := cap(c.req) - len(c.req)
		n, e := rawRead(c.fd, c.req[len(c.req):cap(c.req)])
		if e == syscall.EAGAIN {
			c.readable = false
			return
		}
		if e != 0 || n == 0 {
			l.close(c)
			return
		}
		if n < space {
			c.readable = false
		}
		c.req = c.req[:len(c.req)+n]
	}
}

// forward sends the client's first head (end bytes) to an upstream connection.
func (l *loop) forward(c *conn, end int) {
	c.http10 = bytes.Contains(c.req[:bytes.IndexByte(c.req[:end], '\n')], http10Line)
	u, err := l.upstreamConn()
	if err != nil {
		log.Print(err)
		l.close(c)
		return
	}
	if n, e := rawWrite(u.fd, c.req[:end]); e != 0 || n != end {
		l.close(u)
		l.close(c)
		return
	}
	c.req = c.req[:copy(c.req[:cap(c.req)], c.req[end:])]
	c.waiting, u.client = u, c
	u.resp, u.total = u.resp[:0], -1
	if u.readable {
		l.upstreamReadable(u)
	}
}

// upstreamReadable reads the response; once whole, it goes to the client.
func (l *loop) upstreamReadable(u *conn) {
	c := u.client
	if c == nil {
		// An idle connection that became readable: the backend closed it.
		var b [1]byte
		if n, e := rawRead(u.fd, b[:]); e != syscall.EAGAIN || n > 0 {
			l.dropIdle(u)
		}
		u.readable = false
		return
	}
	for u.total < 0 || len(u.resp) < u.total {
		if !u.readable {
			return
		}
		if len(u.resp) == cap(u.resp) {
			l.close(u)
			return
		}
		space := cap(u.resp) - len(u.resp)
		n, e := rawRead(u.fd, u.resp[len(u.resp):cap(u.resp)])
		if e == syscall.EAGAIN {
			u.readable = false
			return
		}
		if e != 0 || n == 0 {
			l.close(u)
			return
		}
		if n < space {
			u.readable = false
		}
		u.resp = u.resp[:len(u.resp)+n]
		if u.total >= 0 {
			continue
		}
		h := bytes.Index(u.resp, headEnd)
		if h < 0 {
			continue
		}
		i := bytes.Index(u.resp[:h+2], contentLength)
		if i < 0 {
			l.close(u)
			return
		}
		v := u.resp[i+len(contentLength) : h+2]
		size, err := strconv.Atoi(string(v[:bytes.IndexByte(v, '\r')]))
		if err != nil {
			l.close(u)
			return
		}
		u.total = h + len(headEnd) + size
	}
	// Whole: hand the connection back and answer the client.
	c.waiting, u.client = nil, nil
	l.idle = append(l.idle, u)
	c.out = u.resp[:u.total]
	l.clientWritable(c)
}

func (l *loop) dropIdle(u *conn) {
	for i, x := range l.idle {
		if x == u {
			l.idle = append(l.idle[:i], l.idle[i+1:]...)
			break
		}
	}
	l.close(u)
}

// clientWritable writes what is left of the answer, then reads on.
func (l *loop) clientWritable(c *conn) {
	for len(c.out) > 0 {
		n, e := rawWrite(c.fd, c.out)
		if e == syscall.EAGAIN {
			// The answer stays in the upstream connection's buffer, which
			// is idle now: copy it before another client takes it.
			c.out = append([]byte(nil), c.out...)
			return
		}
		if e != 0 {
			l.close(c)
			return
		}
		c.out = c.out[n:]
	}
	c.out = nil
	if c.http10 {
		l.close(c)
		return
	}
	if len(c.req) > 0 || c.readable {
		l.clientReadable(c) // a pipelined request, or one that came during the answer
	}
}

func (l *loop) accept() {
	for {
		fd, _, err := syscall.Accept4(l.lnfd, syscall.SOCK_NONBLOCK|syscall.SOCK_CLOEXEC)
		if err == syscall.EAGAIN {
			return
		}
		if err != nil {
			log.Printf("accept: %v", err)
			return
		}
		syscall.SetsockoptInt(fd, syscall.IPPROTO_TCP, syscall.TCP_NODELAY, 1)
		c := &conn{fd: fd, req: make([]byte, 0, 4096)}
		if err := l.add(c); err != nil {
			syscall.Close(fd)
			log.Print(err)
		}
	}
}

func (l *loop) run() {
	events := make([]syscall.EpollEvent, 256)
	for {
		n, err := syscall.EpollWait(l.epfd, events, -1)
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			log.Fatalf("epoll_wait: %v", err)
		}
		for _, ev := range events[:n] {
			fd := int(ev.Fd)
			if fd == l.lnfd {
				l.accept()
				continue
			}
			c := l.conns[fd]
			if c == nil {
				continue
			}
			in := ev.Events&(syscall.EPOLLIN|syscall.EPOLLRDHUP|syscall.EPOLLHUP|syscall.EPOLLERR) != 0
			if in {
				c.readable = true
			}
			switch {
			case c.upstream:
				if in {
					l.upstreamReadable(c)
				}
			default:
				if ev.Events&syscall.EPOLLOUT != 0 && len(c.out) > 0 {
					l.clientWritable(c)
				}
				if l.conns[fd] == c && in {
					l.clientReadable(c)
				}
			}
		}
	}
}

func sockaddr(s string) (syscall.SockaddrInet4, error) {
	ap, err := netip.ParseAddrPort(s)
	if err != nil || !ap.Addr().Is4() {
		return syscall.SockaddrInet4{}, fmt.Errorf("backend %q: want IPv4 ADDR:PORT", s)
	}
	return syscall.SockaddrInet4{Port: int(ap.Port()), Addr: ap.Addr().As4()}, nil
}

// newLoop makes the loop around listener ln (which it takes out of Go's
// poller) for the backends at addrs (IPv4 ADDR:PORT).
func newLoop(ln *net.TCPListener, addrs []string) (*loop, error) {
	l := &loop{conns: make(map[int]*conn)}
	for _, a := range addrs {
		sa, err := sockaddr(a)
		if err != nil {
			return nil, err
		}
		l.addrs = append(l.addrs, sa)
	}
	f, err := ln.File() // a blocking dup, out of Go's poller
	if err != nil {
		return nil, fmt.Errorf("listener: %w", err)
	}
	ln.Close()
	l.ln, l.lnfd = f, int(f.Fd())
	if err := syscall.SetNonblock(l.lnfd, true); err != nil {
		return nil, fmt.Errorf("listener: %w", err)
	}
	if l.epfd, err = syscall.EpollCreate1(syscall.EPOLL_CLOEXEC); err != nil {
		return nil, fmt.Errorf("epoll_create1: %w", err)
	}
	ev := syscall.EpollEvent{Events: syscall.EPOLLIN, Fd: int32(l.lnfd)}
	if err := syscall.EpollCtl(l.epfd, syscall.EPOLL_CTL_ADD, l.lnfd, &ev); err != nil {
		return nil, fmt.Errorf("epoll_ctl: %w", err)
	}
	return l, nil
}

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "loopback address to listen on")
	flag.Parse()
	if flag.NArg() == 0 {
		log.Fatal("usage: evloop -addr 127.0.0.1:PORT BACKEND_ADDR...")
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	l, err := newLoop(ln.(*net.TCPListener), flag.Args())
	if err != nil {
		log.Fatal(err)
	}
	fmt.Fprintln(os.Stderr, "evloop listening on", *addr)
	runtime.LockOSThread()
	l.run()
}

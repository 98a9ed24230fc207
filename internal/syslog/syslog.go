// Package syslog sends log lines to a syslog server as nginx's ngx_syslog.c
// does (recorded with nginx 1.22.1): one datagram per line, over UDP or a
// unix datagram socket, in the BSD format of RFC 3164 without a trailing
// newline:
//
//	<190>Dec  7 09:41:45 vm nginx: 127.0.0.1 - - [07/Dec/2026:09:41:45 +0000] "GET / HTTP/1.1" 200 2 "-" "curl/7.88.1"
//
// The priority is facility*8 + severity, the timestamp is local time, the
// hostname (left out with nohostname) is the machine's, lower-cased, and the
// tag is followed by ": ". Sends never wait: a socket whose buffer is full
// drops the line (nginx's EAGAIN). A failed connect or send closes the
// socket; the next line opens a new one, as nginx retries.
package syslog

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"fulcrum/internal/config"
)

// MaxMessage is the longest error log message a datagram carries (nginx's
// NGX_MAX_ERROR_STR less the newline): a longer error_log line is cut.
// Access log lines are sent whole, as nginx sends them.
const MaxMessage = 2047

// ErrDropped is returned by Send when the socket's buffer was full and the
// line was dropped (EAGAIN); no system error is logged for it.
var ErrDropped = errors.New("syslog send would block")

// OpError is a failed socket(), connect() or send(); Error words it as
// nginx's error log does: `connect() failed (2: No such file or directory)`.
type OpError struct {
	Op  string // "socket", "connect" or "send"
	Err error
}

func (e *OpError) Error() string {
	return fmt.Sprintf("%s() failed (%s)", e.Op, errnoText(e.Err))
}

func (e *OpError) Unwrap() error { return e.Err }

// Alert reports whether nginx logs the failure at alert; it logs a send()
// refused or reset by the peer (ngx_connection_error) at error.
func (e *OpError) Alert() bool {
	if e.Op != "send" {
		return true
	}
	switch {
	case errors.Is(e.Err, syscall.ECONNREFUSED), errors.Is(e.Err, syscall.ECONNRESET),
		errors.Is(e.Err, syscall.EPIPE), errors.Is(e.Err, syscall.ENOTCONN),
		errors.Is(e.Err, syscall.ETIMEDOUT), errors.Is(e.Err, syscall.ENETDOWN),
		errors.Is(e.Err, syscall.ENETUNREACH), errors.Is(e.Err, syscall.EHOSTDOWN),
		errors.Is(e.Err, syscall.EHOSTUNREACH):
		return false
	}
	return true
}

// errnoText is "2: No such file or directory" for a system error.
func errnoText(err error) string {
	var n syscall.Errno
	if errors.As(err, &n) {
		return strconv.Itoa(int(n)) + ": " + strings.ToUpper(n.Error()[:1]) + n.Error()[1:]
	}
	return err.Error()
}

// Peer is one syslog target. It connects on its first Send and is safe for
// concurrent use.
type Peer struct {
	cfg    config.Syslog
	header string // "<" is added per line; this is " host tag: " parts after the time
	sa     syscall.Sockaddr
	family int

	// mu guards fd and closed. Send holds it shared across one
	// non-blocking send (datagram sends on one socket are atomic and may
	// run together); connecting and closing hold it exclusively.
	mu     sync.RWMutex
	fd     int // -1: not connected
	closed bool
}

// New returns the peer of c; hostname is the machine's name for the header
// ("" means os.Hostname, lower-cased, as nginx's gethostname). No socket is
// opened until the first Send.
func New(c config.Syslog, hostname string) (*Peer, error) {
	if hostname == "" {
		h, err := os.Hostname()
		if err == nil {
			hostname = strings.ToLower(h)
		}
	}
	p := &Peer{cfg: c, fd: -1}
	if !c.NoHostname {
		p.header = hostname + " "
	}
	p.header += c.Tag + ": "
	switch c.Network {
	case "unixgram":
		p.family, p.sa = syscall.AF_UNIX, &syscall.SockaddrUnix{Name: c.Addr}
	case "udp":
		ap, err := netip.ParseAddrPort(c.Addr)
		if err != nil {
			return nil, fmt.Errorf("syslog server %q: %w", c.Addr, err)
		}
		if ap.Addr().Is4() {
			p.family, p.sa = syscall.AF_INET, &syscall.SockaddrInet4{Port: int(ap.Port()), Addr: ap.Addr().As4()}
		} else {
			p.family, p.sa = syscall.AF_INET6, &syscall.SockaddrInet6{Port: int(ap.Port()), Addr: ap.Addr().As16()}
		}
	default:
		return nil, fmt.Errorf("syslog server %q: unknown network %q", c.Addr, c.Network)
	}
	return p, nil
}

// Config is the target p sends to.
func (p *Peer) Config() config.Syslog { return p.cfg }

// AppendHeader appends the header of a message at severity (0 emerg ... 7
// debug) stamped with now: `<PRI>Mmm dd hh:mm:ss host tag: `.
func (p *Peer) AppendHeader(b []byte, severity int, now time.Time) []byte {
	b = append(b, '<')
	b = strconv.AppendInt(b, int64(p.cfg.Facility*8+severity), 10)
	b = append(b, '>')
	b = now.AppendFormat(b, time.Stamp)
	b = append(b, ' ')
	return append(b, p.header...)
}

// Severity is the severity of access_log lines (severity=, info by default).
func (p *Peer) Severity() int { return p.cfg.Severity }

// Send sends msg as one datagram without waiting. It returns nil once sent,
// ErrDropped when the socket's buffer is full, and an *OpError when the
// socket cannot be opened or connected or the send fails; the socket is then
// closed and the next Send opens a new one.
func (p *Peer) Send(msg []byte) error {
	p.mu.RLock()
	fd, closed := p.fd, p.closed
	if fd >= 0 {
		err := sendFD(fd, msg)
		p.mu.RUnlock()
		if err != nil && err != ErrDropped {
			p.reset(fd)
		}
		return err
	}
	p.mu.RUnlock()
	if closed {
		return nil
	}
	if err := p.connect(); err != nil {
		return err
	}
	return p.Send(msg)
}

// sendFD sends msg on the non-blocking socket fd.
func sendFD(fd int, msg []byte) error {
	for {
		_, err := syscall.Write(fd, msg)
		switch {
		case err == nil:
			return nil
		case err == syscall.EINTR:
			continue
		case err == syscall.EAGAIN:
			return ErrDropped
		}
		return &OpError{Op: "send", Err: err}
	}
}

// connect opens and connects the socket if no other Send has.
func (p *Peer) connect() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.fd >= 0 || p.closed {
		return nil
	}
	fd, err := syscall.Socket(p.family, syscall.SOCK_DGRAM, 0)
	if err != nil {
		return &OpError{Op: "socket", Err: err}
	}
	syscall.CloseOnExec(fd)
	if err := syscall.SetNonblock(fd, true); err != nil {
		syscall.Close(fd)
		return &OpError{Op: "ioctl(FIONBIO)", Err: err}
	}
	if err := syscall.Connect(fd, p.sa); err != nil {
		syscall.Close(fd)
		return &OpError{Op: "connect", Err: err}
	}
	p.fd = fd
	return nil
}

// reset closes the socket fd after a failed send, unless another Send did.
func (p *Peer) reset(fd int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.fd == fd {
		syscall.Close(fd)
		p.fd = -1
	}
}

// Close closes the socket; later Sends send nothing. Close may be called
// more than once.
func (p *Peer) Close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.closed = true
	if p.fd < 0 {
		return nil
	}
	err := syscall.Close(p.fd)
	p.fd = -1
	return err
}

package proxyproto

import (
	"errors"
	"fmt"
	"io"
	"syscall"
)

// Read reads the header from the socket raw as nginx does. It waits for the
// first bytes (within the connection's read deadline: the caller sets it),
// looks at up to size of them without taking them from the socket
// (MSG_PEEK), parses them (Parse), then takes exactly the header's bytes:
// what follows stays in the socket for the next reader (the first request,
// or the stream's payload), so the reader needs no buffer of ours. size is
// how much nginx reads there: MaxHeader in stream, MaxHeader+1 on an http
// ssl address, client_header_buffer_size on a plain http one.
//
// With takeRefused, a refused header's bytes (what was looked at) are taken
// from the socket too, as nginx's plain http read takes them: the close
// that follows is then a FIN, not the reset of a close with unread bytes
// (nginx's stream module and its http ssl handshake only peek).
//
// The error is io.EOF when the client closed before sending anything, an
// *Error for a header nginx refuses, or the wait's error (such as
// os.ErrDeadlineExceeded).
func Read(raw syscall.RawConn, size int, takeRefused bool) (*Header, error) {
	buf := make([]byte, max(size, 1))
	n, err := peek(raw, buf)
	if err != nil {
		return nil, err
	}
	if n == 0 {
		return nil, io.EOF
	}
	hl, h, err := Parse(buf[:n])
	if err != nil {
		if takeRefused {
			_ = discard(raw, buf[:n])
		}
		return nil, err
	}
	if err := discard(raw, buf[:hl]); err != nil {
		return nil, err
	}
	return h, nil
}

// peek waits until the socket has bytes (or the peer closed) and copies
// them into buf without taking them.
func peek(raw syscall.RawConn, buf []byte) (int, error) {
	var n int
	var errno error
	err := raw.Read(func(fd uintptr) bool {
		for {
			m, _, e := syscall.Recvfrom(int(fd), buf, syscall.MSG_PEEK)
			switch {
			case e == syscall.EINTR:
				continue
			case e == syscall.EAGAIN:
				return false
			}
			n, errno = m, e
			return true
		}
	})
	if err == nil && errno != nil {
		err = fmt.Errorf("recv() failed: %w", errno)
	}
	return max(n, 0), err
}

// discard takes len(buf) bytes from the socket, which peek saw there.
func discard(raw syscall.RawConn, buf []byte) error {
	got := 0
	var errno error
	err := raw.Read(func(fd uintptr) bool {
		for got < len(buf) {
			m, e := syscall.Read(int(fd), buf[got:])
			switch {
			case e == syscall.EINTR:
				continue
			case e == syscall.EAGAIN:
				return false
			case e != nil:
				errno = e
				return true
			case m == 0:
				errno = io.ErrUnexpectedEOF
				return true
			}
			got += m
		}
		return true
	})
	if err == nil && errno != nil {
		err = errno
	}
	if err != nil {
		return fmt.Errorf("read the PROXY protocol header: %w", err)
	}
	return nil
}

// IsInvalid reports whether err is a header nginx refuses (an *Error), and
// returns it.
func IsInvalid(err error) (*Error, bool) {
	var e *Error
	ok := errors.As(err, &e)
	return e, ok
}

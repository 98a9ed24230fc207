package errlog

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"syscall"
)

// The actions of nginx's upstream module (u->peer.log->action and the
// handlers' "while ..." texts), which end the error log lines of every
// upstream client: proxy, gRPC, FastCGI, SCGI, uwsgi and memcached.
const (
	ActionConnect   = "connecting to upstream"
	ActionHandshake = "SSL handshaking to upstream"
	ActionSend      = "sending request to upstream"
	ActionHeader    = "reading response header from upstream"
	ActionBody      = "reading upstream"
	// ActionToClient is an unbuffered response's action while its body
	// goes to the client (memcached's, recorded with nginx 1.22.1).
	ActionToClient = "sending to client"
)

// TimedOut is nginx's message for an upstream that timed out while doing
// action.
func TimedOut(action string) string {
	return "upstream timed out (110: Connection timed out) while " + action
}

// ConnectFailed is nginx's message for a connect to an upstream that failed
// with err (a timeout aside) while doing action, and whether nginx logs it
// at crit instead of error. A TCP connect fails after the fact
// (ngx_http_upstream_test_connect: "connect() failed", error); a unix
// socket's fails at once in ngx_event_connect_peer, which names the socket
// ("connect() to unix:PATH failed") and logs at crit unless the errno is
// one it expects (a refusal, a reset, an unreachable network), as nginx
// 1.22.1 logs a missing socket file at crit and a refused one at error.
func ConnectFailed(err error, action string) (msg string, crit bool) {
	var op *net.OpError
	if errors.As(err, &op) && op.Net == "unix" && op.Addr != nil {
		var errno syscall.Errno
		if errors.As(err, &errno) {
			switch errno {
			case syscall.ECONNREFUSED, syscall.EAGAIN, syscall.ECONNRESET, syscall.ENETDOWN,
				syscall.ENETUNREACH, syscall.EHOSTDOWN, syscall.EHOSTUNREACH:
			default:
				crit = true
			}
		}
		return "connect() to unix:" + op.Addr.String() + " failed (" + Errno(err) + ") while " + action, crit
	}
	return "connect() failed (" + Errno(err) + ") while " + action, false
}

// ConnectLevel is the level of a ConnectFailed line: crit or error.
func ConnectLevel(crit bool) Level {
	if crit {
		return Crit
	}
	return Error
}

// Disabled is nginx's warning when a failure took a server out for
// fail_timeout (ngx_http_upstream_free_round_robin_peer), logged with the
// action of the moment.
func Disabled(action string) string {
	return "upstream server temporarily disabled while " + action
}

// ReadFailed is nginx's message for a read from an upstream that failed
// while doing action: a timeout, the upstream closing the connection
// ("upstream prematurely closed connection", without Go's text) or an
// error of recv() ("recv() failed (104: Connection reset by peer)").
func ReadFailed(err error, action string) string {
	switch {
	case IsTimeout(err):
		return TimedOut(action)
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "upstream prematurely closed connection while " + action
	}
	return fmt.Sprintf("recv() failed (%s) while %s", Errno(err), action)
}

// IsTimeout reports whether err is a deadline that passed.
func IsTimeout(err error) bool {
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, os.ErrDeadlineExceeded) {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// IsConnReset reports whether err is the peer resetting the connection (or
// a write to a connection it closed).
func IsConnReset(err error) bool {
	return errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}

// InvalidHeader is nginx's message for an upstream response head refused as
// invalid, while doing action (ngx_http_proxy_process_header, 1.21.1+):
// `upstream sent invalid header: "X-Na\x01..." while ...`, the offending
// line up to the byte nginx's header parser refuses, and that byte in hex.
// head is the head as read, status line first. When nginx's parser would
// accept every line (fulcrum refused what nginx lets through, such as a
// line without a colon or a bare LF), the message has no bytes.
func InvalidHeader(head []byte, action string) string {
	prefix, bad, ok := invalidHeaderByte(head)
	if !ok {
		return "upstream sent invalid header while " + action
	}
	const hex = "0123456789abcdef"
	return `upstream sent invalid header: "` + string(prefix) + `\x` + string([]byte{hex[bad>>4], hex[bad&15]}) +
		`..." while ` + action
}

// invalidHeaderByte scans the field lines of head as nginx's
// ngx_http_parse_header_line does for an upstream: a control character,
// space or DEL in a name (or a ':' starting it), a NUL in a value, or a CR
// not followed by LF is refused. It returns the refused line up to the
// byte nginx's r->header_end points at, and that byte.
func invalidHeaderByte(head []byte) (prefix []byte, bad byte, ok bool) {
	i := bytes.IndexByte(head, '\n')
	if i < 0 {
		return nil, 0, false
	}
	for rest := head[i+1:]; len(rest) > 0; {
		n, end, refused := scanFieldLine(rest)
		if refused {
			return rest[:end], rest[end], true
		}
		if n == 0 {
			return nil, 0, false // the empty line: the head is over
		}
		rest = rest[n:]
	}
	return nil, 0, false
}

// scanFieldLine reads one field line at the start of b, nginx's way. It
// returns the line's length (0 for the empty line ending the head), or
// refused with the offset of r->header_end.
func scanFieldLine(b []byte) (n, end int, refused bool) {
	if c := b[0]; c == '\r' || c == '\n' {
		return 0, 0, false
	}
	const (
		name = iota
		spaceBefore
		value
		spaceAfter
		almostDone
	)
	state := name
	if c := b[0]; c <= ' ' || c == 0x7f || c == ':' {
		return 0, 0, true
	}
	for j := 1; j < len(b); j++ {
		c := b[j]
		switch state {
		case name:
			switch {
			case c == ':':
				state = spaceBefore
			case c == '\r':
				end, state = j, almostDone
			case c == '\n':
				return j + 1, 0, false
			case c <= ' ' || c == 0x7f:
				return 0, j, true
			}
		case spaceBefore, value, spaceAfter:
			switch {
			case c == ' ' && state == spaceBefore, c == ' ' && state == spaceAfter:
			case c == ' ':
				end, state = j, spaceAfter
			case c == '\r':
				if state != spaceAfter {
					end = j
				}
				state = almostDone
			case c == '\n':
				return j + 1, 0, false
			case c == 0:
				return 0, j, true
			default:
				state = value
			}
		case almostDone:
			switch c {
			case '\n':
				return j + 1, 0, false
			case '\r':
			default:
				return 0, end, true
			}
		}
	}
	return len(b), 0, false
}

// FailureInOrder runs release (the balancer taking an attempt's failure,
// which logs "temporarily disabled" when it takes the server out) and log
// (the failure's own line) in nginx's order: a timeout is logged in
// ngx_http_upstream_next, after the balancer took it; any other error
// where it happened, before.
func FailureInOrder(timeout bool, release, log func()) {
	if timeout {
		release()
		log()
		return
	}
	log()
	release()
}

package errlog

import (
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
)

// TimedOut is nginx's message for an upstream that timed out while doing
// action.
func TimedOut(action string) string {
	return "upstream timed out (110: Connection timed out) while " + action
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

package health

import (
	"errors"
	"fmt"
	"io"
	"net"
	"strings"

	"fulcrum/internal/errlog"
)

// failure is why a check failed, worded as nginx words the same failure of
// a proxied request ("connect() failed (111: Connection refused) while
// connecting to upstream"), which is also how NGINX Plus's health checks
// log it; err is the cause, for errors.Is and errors.As.
type failure struct {
	msg string
	err error
}

func (f *failure) Error() string { return f.msg }
func (f *failure) Unwrap() error { return f.err }

// connectFailed words a failed connect: a timeout as nginx's "upstream
// timed out (110: Connection timed out) while connecting to upstream",
// anything else as its "connect() failed (ERRNO) while ...".
func connectFailed(err error) error {
	if errlog.IsTimeout(err) {
		return &failure{msg: errlog.TimedOut(errlog.ActionConnect), err: err}
	}
	msg, _ := errlog.ConnectFailed(err, errlog.ActionConnect)
	return &failure{msg: msg, err: err}
}

// handshakeFailed words a failed TLS handshake with the server.
func handshakeFailed(err error) error {
	const while = " while " + errlog.ActionHandshake
	switch {
	case errlog.IsTimeout(err):
		return &failure{msg: errlog.TimedOut(errlog.ActionHandshake), err: err}
	case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
		return &failure{msg: "peer closed connection in SSL handshake" + while, err: err}
	}
	return &failure{msg: err.Error() + while, err: err}
}

// sendFailed words a failed write of the check request.
func sendFailed(err error) error {
	if errlog.IsTimeout(err) {
		return &failure{msg: errlog.TimedOut(errlog.ActionSend), err: err}
	}
	return &failure{msg: fmt.Sprintf("writev() failed (%s) while %s", errlog.Errno(err), errlog.ActionSend), err: err}
}

// readHeadFailed words a failed read of the check response's head: a
// timeout, a close or a system call's error as nginx's ReadFailed; a
// status line that is not HTTP as nginx's "upstream sent no valid
// HTTP/1.0 header", and a bad header line as its "upstream sent invalid
// header".
func readHeadFailed(err error) error {
	var op *net.OpError
	switch {
	case errlog.IsTimeout(err), errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.As(err, &op):
		return &failure{msg: errlog.ReadFailed(err, errlog.ActionHeader), err: err}
	case strings.Contains(err.Error(), "malformed HTTP"):
		return &failure{msg: "upstream sent no valid HTTP/1.0 header while " + errlog.ActionHeader, err: err}
	}
	return &failure{msg: "upstream sent invalid header while " + errlog.ActionHeader, err: err}
}

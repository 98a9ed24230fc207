package proxy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	"fulcrum/internal/config"
	"fulcrum/internal/errlog"
	"fulcrum/internal/h1"
)

// errBodyTimeout is the error log text for an upstream silent for longer than
// proxy_read_timeout while its body streams.
var errBodyTimeout = errors.New("upstream timed out (110: Connection timed out) while reading upstream")

// failure describes why an attempt on an upstream server failed, in the terms of
// proxy_next_upstream and nginx's error log.
type failure struct {
	// cond is the proxy_next_upstream condition this failure falls under.
	cond config.NextUpstream
	// status is what the client gets if this is the last attempt: 502 or 504.
	status int
	// sent reports that the request may have reached the upstream (anything after
	// the connection was established), which stops non-idempotent retries.
	sent bool
	// msg is the error log text, in nginx's words.
	msg string
	// bindLevel is the level of a bind failure's line (bindFailure).
	bindLevel errlog.Level
	// action is what nginx was doing when the attempt failed, the end of
	// its error log lines ("connecting to upstream", "sending request to
	// upstream", "reading response header from upstream").
	action string
	// end is when the attempt ended (the clock reading a retry starts from).
	end time.Time
	// crit says msg is logged at crit, not error (errlog.ConnectFailed).
	crit bool
}

// level is the error log level of f's line.
func (f *failure) level() errlog.Level { return errlog.ConnectLevel(f.crit) }

func (f *failure) Error() string { return f.msg }

// sendError is an error writing the request to the upstream: nginx reports
// it "while sending request to upstream".
type sendError struct{ err error }

func (e *sendError) Error() string { return e.err.Error() }
func (e *sendError) Unwrap() error { return e.err }

// classify turns an error from one attempt into a failure. It returns nil when the
// error is the client's doing (the request context was canceled): that is not an
// upstream failure and is logged as 499.
func classify(clientCtx context.Context, err error) *failure {
	if clientCtx.Err() != nil {
		return nil
	}
	if f, ok := handshakeFailure(err); ok {
		return f
	}
	var opErr *net.OpError
	var sendErr *sendError
	dial := errors.As(err, &opErr) && opErr.Op == "dial"
	switch {
	case dial && errlog.IsTimeout(err):
		return &failure{cond: config.NextTimeout, status: http.StatusGatewayTimeout,
			msg: errlog.TimedOut(errlog.ActionConnect), action: errlog.ActionConnect}
	case dial:
		msg, crit := errlog.ConnectFailed(err, errlog.ActionConnect)
		return &failure{cond: config.NextError, status: http.StatusBadGateway, action: errlog.ActionConnect, msg: msg, crit: crit}
	case errors.As(err, &sendErr) && errlog.IsTimeout(err):
		return &failure{cond: config.NextTimeout, status: http.StatusGatewayTimeout, sent: true,
			msg: errlog.TimedOut(errlog.ActionSend), action: errlog.ActionSend}
	case errors.As(err, &sendErr):
		return &failure{cond: config.NextError, status: http.StatusBadGateway, sent: true, action: errlog.ActionSend,
			msg: fmt.Sprintf("writev() failed (%s) while %s", errlog.Errno(err), errlog.ActionSend)}
	case errlog.IsTimeout(err):
		return &failure{cond: config.NextTimeout, status: http.StatusGatewayTimeout, sent: true,
			msg: errlog.TimedOut(errlog.ActionHeader), action: errlog.ActionHeader}
	case errors.Is(err, h1.ErrHeaderTooLarge):
		return &failure{cond: config.NextInvalidHeader, status: http.StatusBadGateway, sent: true, action: errlog.ActionHeader,
			msg: "upstream sent too big header while " + errlog.ActionHeader}
	case isMalformed(err):
		msg := "upstream sent invalid header while " + errlog.ActionHeader
		var ih *invalidHeadError
		if errors.As(err, &ih) {
			msg = ih.msg
		}
		return &failure{cond: config.NextInvalidHeader, status: http.StatusBadGateway, sent: true, action: errlog.ActionHeader, msg: msg}
	case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
		return &failure{cond: config.NextError, status: http.StatusBadGateway, sent: true, action: errlog.ActionHeader,
			msg: "upstream prematurely closed connection while " + errlog.ActionHeader}
	case errlog.IsConnReset(err):
		return &failure{cond: config.NextError, status: http.StatusBadGateway, sent: true, action: errlog.ActionHeader,
			msg: fmt.Sprintf("recv() failed (%s) while %s", errlog.Errno(err), errlog.ActionHeader)}
	}
	return &failure{cond: config.NextError, status: http.StatusBadGateway, sent: true, action: errlog.ActionHeader,
		msg: fmt.Sprintf("upstream prematurely closed connection while %s (%v)", errlog.ActionHeader, err)}
}

// invalidHeadError is a response head h1 refused, with nginx's error log
// text for it, which names the offending bytes (errlog.InvalidHeader).
type invalidHeadError struct {
	err error
	msg string
}

func (e *invalidHeadError) Error() string { return e.err.Error() }
func (e *invalidHeadError) Unwrap() error { return e.err }

// invalidHead wraps err, when h1 refused the response head (other than for
// its size), with the log text nginx writes for raw, the head as read.
func invalidHead(err error, raw []byte) error {
	var strict h1.Error
	if !errors.As(err, &strict) || strict == h1.ErrHeaderTooLarge {
		return err
	}
	return &invalidHeadError{err: err, msg: errlog.InvalidHeader(raw, errlog.ActionHeader)}
}

func isMalformed(err error) bool {
	var strict h1.Error
	if errors.As(err, &strict) {
		return true
	}
	// net/http reports these only as text.
	s := err.Error()
	for _, sub := range []string{"malformed HTTP", "invalid header", "too many headers", "header line too long",
		"invalid Content-Length", "unsupported transfer encoding", "bad Content-Length", "server response headers exceeded"} {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}

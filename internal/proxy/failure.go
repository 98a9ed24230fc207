package proxy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
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
	// action is what nginx was doing when the attempt failed, the end of
	// its error log lines ("connecting to upstream", "sending request to
	// upstream", "reading response header from upstream").
	action string
	// end is when the attempt ended (the clock reading a retry starts from).
	end time.Time
}

func (f *failure) Error() string { return f.msg }

// The actions of nginx's upstream module, which end its error log lines
// ("... while connecting to upstream").
const (
	actionConnect   = "connecting to upstream"
	actionSend      = "sending request to upstream"
	actionHeader    = "reading response header from upstream"
	actionHandshake = "SSL handshaking to upstream"
)

// timedOut is nginx's message for a timeout while doing action.
func timedOut(action string) string {
	return "upstream timed out (110: Connection timed out) while " + action
}

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
	case dial && isTimeout(err):
		return &failure{cond: config.NextTimeout, status: http.StatusGatewayTimeout,
			msg: timedOut(actionConnect), action: actionConnect}
	case dial:
		return &failure{cond: config.NextError, status: http.StatusBadGateway, action: actionConnect,
			msg: fmt.Sprintf("connect() failed (%s) while %s", errlog.Errno(err), actionConnect)}
	case errors.As(err, &sendErr) && isTimeout(err):
		return &failure{cond: config.NextTimeout, status: http.StatusGatewayTimeout, sent: true,
			msg: timedOut(actionSend), action: actionSend}
	case errors.As(err, &sendErr):
		return &failure{cond: config.NextError, status: http.StatusBadGateway, sent: true, action: actionSend,
			msg: fmt.Sprintf("writev() failed (%s) while %s", errlog.Errno(err), actionSend)}
	case isTimeout(err):
		return &failure{cond: config.NextTimeout, status: http.StatusGatewayTimeout, sent: true,
			msg: timedOut(actionHeader), action: actionHeader}
	case errors.Is(err, h1.ErrHeaderTooLarge):
		return &failure{cond: config.NextInvalidHeader, status: http.StatusBadGateway, sent: true, action: actionHeader,
			msg: "upstream sent too big header while " + actionHeader}
	case isMalformed(err):
		return &failure{cond: config.NextInvalidHeader, status: http.StatusBadGateway, sent: true, action: actionHeader,
			msg: "upstream sent invalid header while " + actionHeader}
	case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
		return &failure{cond: config.NextError, status: http.StatusBadGateway, sent: true, action: actionHeader,
			msg: "upstream prematurely closed connection while " + actionHeader}
	case isConnReset(err):
		return &failure{cond: config.NextError, status: http.StatusBadGateway, sent: true, action: actionHeader,
			msg: fmt.Sprintf("recv() failed (%s) while %s", errlog.Errno(err), actionHeader)}
	}
	return &failure{cond: config.NextError, status: http.StatusBadGateway, sent: true, action: actionHeader,
		msg: fmt.Sprintf("upstream prematurely closed connection while %s (%v)", actionHeader, err)}
}

func isTimeout(err error) bool {
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, os.ErrDeadlineExceeded) {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
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

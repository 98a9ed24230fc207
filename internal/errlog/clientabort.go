package errlog

import (
	"errors"
	"strconv"
	"syscall"
)

// ClientAbort is the cause (context.Cause) of a request's cancellation when
// its client went away: the HTTP/1.x abort check found the socket's end of
// stream or reset, or an HTTP/2 connection's read found its end.
type ClientAbort struct {
	// Errno is the socket's pending error when the check saw the end
	// (SO_ERROR, as nginx's ngx_http_upstream_check_broken_connection reads
	// it): ECONNRESET for a reset, 0 for a close.
	Errno syscall.Errno
	// HTTP2Conn says the whole HTTP/2 connection ended: the connection
	// writes its own line, its streams none.
	HTTP2Conn bool
}

// Error implements error.
func (a *ClientAbort) Error() string {
	if a.HTTP2Conn {
		return "client prematurely closed connection"
	}
	return "epoll_wait() reported that client prematurely closed connection"
}

// ClientGone is nginx 1.22.1's info line for a request whose client went
// away (cause, the request context's context.Cause) while an upstream
// served it, doing action; stream is the HTTP/2 stream's id, 0 for
// HTTP/1.x. It is "" when the request writes no line: an HTTP/2 connection
// that ended (the connection writes its own), or a context cancelled for
// another reason (a failed write, logged where it failed). Recorded with
// nginx 1.22.1 (a backend answering after 3 s, clients leaving first):
//
//	epoll_wait() reported that client prematurely closed connection, so upstream connection is closed too while sending request to upstream
//	epoll_wait() reported that client prematurely closed connection, so upstream connection is closed too (104: Connection reset by peer) while reading upstream
//	client canceled stream 1 while sending request to upstream
func ClientGone(cause error, stream uint64, action string) string {
	return clientGone(cause, stream, ", so upstream connection is closed too", action)
}

// ClientGoneKept is ClientGone for a request that has no upstream
// connection to close (one waiting in the upstream's queue) or keeps it
// (a cacheable response being fetched into the cache): nginx's
// ngx_http_upstream_check_broken_connection writes the line without "so
// upstream connection is closed too". Recorded with nginx 1.22.1 (a
// proxy_cache miss whose backend answers after 3 s):
//
//	epoll_wait() reported that client prematurely closed connection while sending request to upstream
//	epoll_wait() reported that client prematurely closed connection (104: Connection reset by peer) while sending request to upstream
func ClientGoneKept(cause error, stream uint64, action string) string {
	return clientGone(cause, stream, "", action)
}

// clientGone is ClientGone's line with closed (", so upstream connection
// is closed too" or "") after the epoll words.
func clientGone(cause error, stream uint64, closed, action string) string {
	var a *ClientAbort
	switch {
	case errors.As(cause, &a) && a.HTTP2Conn:
		return ""
	case a != nil:
		msg := a.Error() + closed
		if a.Errno != 0 {
			msg += " (" + Errno(a.Errno) + ")"
		}
		return msg + " while " + action
	case stream != 0:
		return "client canceled stream " + strconv.FormatUint(stream, 10) + " while " + action
	}
	return ""
}

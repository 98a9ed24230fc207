package errlog_test

import (
	"context"
	"fmt"
	"syscall"
	"testing"

	"fulcrum/internal/errlog"
)

// TestClientGone: nginx 1.22.1's info lines for a client that went away
// during an upstream exchange, by how it left (recorded with error_log info).
func TestClientGone(t *testing.T) {
	for _, tt := range []struct {
		name   string
		cause  error
		stream uint64
		want   string
	}{
		{"HTTP/1.x close", &errlog.ClientAbort{}, 0,
			"epoll_wait() reported that client prematurely closed connection, so upstream connection is closed too while sending request to upstream"},
		{"HTTP/1.x reset", &errlog.ClientAbort{Errno: syscall.ECONNRESET}, 0,
			"epoll_wait() reported that client prematurely closed connection, so upstream connection is closed too (104: Connection reset by peer) while sending request to upstream"},
		{"wrapped", fmt.Errorf("request: %w", &errlog.ClientAbort{}), 0,
			"epoll_wait() reported that client prematurely closed connection, so upstream connection is closed too while sending request to upstream"},
		{"HTTP/2 stream reset", context.Canceled, 3, "client canceled stream 3 while sending request to upstream"},
		{"HTTP/2 connection closed: the connection's line", &errlog.ClientAbort{HTTP2Conn: true}, 1, ""},
		{"HTTP/1.x cancelled otherwise", context.Canceled, 0, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := errlog.ClientGone(tt.cause, tt.stream, errlog.ActionSend); got != tt.want {
				t.Errorf("ClientGone = %q, want %q", got, tt.want)
			}
		})
	}
}

// TestClientGoneKept: the line of a client that went away while nginx had
// no upstream connection to close or kept it for the cache, recorded with
// nginx 1.22.1 (a proxy_cache miss whose backend answers after 3 s).
func TestClientGoneKept(t *testing.T) {
	for _, tt := range []struct {
		name   string
		cause  error
		stream uint64
		want   string
	}{
		{"close", &errlog.ClientAbort{}, 0,
			"epoll_wait() reported that client prematurely closed connection while sending request to upstream"},
		{"reset", &errlog.ClientAbort{Errno: syscall.ECONNRESET}, 0,
			"epoll_wait() reported that client prematurely closed connection (104: Connection reset by peer) while sending request to upstream"},
		{"HTTP/2 stream reset", context.Canceled, 1, "client canceled stream 1 while sending request to upstream"},
		{"cancelled otherwise", context.Canceled, 0, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := errlog.ClientGoneKept(tt.cause, tt.stream, errlog.ActionSend); got != tt.want {
				t.Errorf("ClientGoneKept = %q, want %q", got, tt.want)
			}
		})
	}
}

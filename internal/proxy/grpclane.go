package proxy

import (
	"fmt"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
)

// gRPC lanes: nginx's grpc_pass sends one request at a time on an upstream
// connection (a connection of its own, or a kept one that is idle), never
// two streams on one. net/http's HTTP/2 client would multiplex every
// request to a server on one connection, so one bad response that makes
// the client close the connection (a head over grpcHeadLimit sent in
// CONTINUATION frames, or one field longer than it: a connection error)
// failed every other request on it too (recorded with nginx 1.22.1: three
// requests in flight beside a 200 KB head, the head is a 502 "upstream sent
// too big header" and the three are 200s, on five connections). So each
// request on a server takes a lane, the lowest that no other request of
// that client and server holds, and the client's pool key (the URL's host)
// names the lane: requests in flight never share a connection, and a lane's
// connection is kept and reused by the next request that takes the lane.

// grpcLaneKey names the lanes of one client (transport) and server address.
type grpcLaneKey struct {
	client *http.Transport
	addr   string
}

// grpcLanes hands out lanes. It is safe for concurrent use.
type grpcLanes struct {
	mu sync.Mutex // guards busy
	// busy are the lanes in use by key (true: taken); a key whose lanes
	// are all free is deleted, so the map holds only servers with
	// requests in flight.
	busy map[grpcLaneKey][]bool
}

func newGRPCLanes() *grpcLanes {
	return &grpcLanes{busy: map[grpcLaneKey][]bool{}}
}

// take returns the lowest lane of client and addr that is free, now taken.
func (l *grpcLanes) take(client *http.Transport, addr string) int {
	k := grpcLaneKey{client, addr}
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.busy[k]
	for i, used := range b {
		if !used {
			b[i] = true
			return i
		}
	}
	l.busy[k] = append(b, true)
	return len(b)
}

// free gives back a lane that take returned.
func (l *grpcLanes) free(client *http.Transport, addr string, lane int) {
	k := grpcLaneKey{client, addr}
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.busy[k]
	if lane >= len(b) {
		return
	}
	b[lane] = false
	for len(b) > 0 && !b[len(b)-1] {
		b = b[:len(b)-1]
	}
	if len(b) == 0 {
		delete(l.busy, k)
		return
	}
	l.busy[k] = b
}

// grpcLaneHost is the URL host (the client's pool key) of lane on the
// server whose pool key is host: lane 0 is host itself; the others add the
// lane and spell host in hex, so that no two servers' lanes meet (the
// dialer takes the address from the request's context, not from the URL).
func grpcLaneHost(host string, lane int) string {
	if lane == 0 {
		return host
	}
	return fmt.Sprintf("lane%d-%x", lane, host)
}

// grpcLaneBody is a response body that frees its lane when closed (once:
// grpc_read_timeout's timer may close it as well as the handler).
type grpcLaneBody struct {
	io.ReadCloser
	done atomic.Bool
	free func()
}

func (b *grpcLaneBody) Close() error {
	err := b.ReadCloser.Close()
	if b.done.CompareAndSwap(false, true) {
		b.free()
	}
	return err
}

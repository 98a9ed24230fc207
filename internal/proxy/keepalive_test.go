package proxy

import (
	"context"
	"net"
	"syscall"
	"testing"
	"time"

	"fulcrum/internal/testutil"
)

// sockKeepalive reads SO_KEEPALIVE of c's socket.
func sockKeepalive(t *testing.T, c net.Conn) bool {
	t.Helper()
	return sockOpt(t, c, syscall.SOL_SOCKET, syscall.SO_KEEPALIVE)
}

// sockOpt reads the boolean socket option level/opt of c's socket.
func sockOpt(t *testing.T, c net.Conn, level, opt int) bool {
	t.Helper()
	raw, err := c.(syscall.Conn).SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var v int
	var serr error
	if err := raw.Control(func(fd uintptr) { v, serr = syscall.GetsockoptInt(int(fd), level, opt) }); err != nil || serr != nil {
		t.Fatal(err, serr)
	}
	return v != 0
}

// TestDialSocketKeepalive: a new upstream connection has SO_KEEPALIVE
// only with proxy_socket_keepalive on (nginx leaves it off by default),
// and connections with and without it are pooled apart.
func TestDialSocketKeepalive(t *testing.T) {
	addr := testutil.RawBackend(t, func(c net.Conn) { time.Sleep(time.Second) })
	pool := newConnPool(PoolOptions{})
	conns := map[bool]*poolConn{}
	for _, on := range []bool{false, true} {
		pc, reused, err := pool.get(context.Background(), &dialTarget{network: "tcp", addr: addr, timeout: time.Second, keepalive: on}, time.Now())
		if err != nil || reused {
			t.Fatalf("keepalive %v: reused %v, %v", on, reused, err)
		}
		if got := sockKeepalive(t, pc.c); got != on {
			t.Errorf("proxy_socket_keepalive %v: SO_KEEPALIVE %v", on, got)
		}
		conns[on] = pc
		pool.put(pc, time.Now())
	}
	for _, on := range []bool{false, true} {
		pc, reused, err := pool.get(context.Background(), &dialTarget{network: "tcp", addr: addr, timeout: time.Second, keepalive: on}, time.Now())
		if err != nil || !reused || pc != conns[on] {
			t.Errorf("keepalive %v: reused %v (the same connection: %v), %v", on, reused, pc == conns[on], err)
		}
		pc.close()
	}
}

// TestDialNoDelay: a new upstream connection keeps Go's TCP_NODELAY
// unless tcp_nodelay is off (nginx never sets it then), and the two kinds
// are pooled apart.
func TestDialNoDelay(t *testing.T) {
	addr := testutil.RawBackend(t, func(c net.Conn) { time.Sleep(time.Second) })
	pool := newConnPool(PoolOptions{})
	conns := map[bool]*poolConn{}
	for _, off := range []bool{false, true} {
		pc, _, err := pool.get(context.Background(), &dialTarget{network: "tcp", addr: addr, timeout: time.Second, noDelayOff: off}, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		if got := sockOpt(t, pc.c, syscall.IPPROTO_TCP, syscall.TCP_NODELAY); got == off {
			t.Errorf("tcp_nodelay off %v: TCP_NODELAY %v", off, got)
		}
		conns[off] = pc
		pool.put(pc, time.Now())
	}
	for _, off := range []bool{false, true} {
		pc, reused, err := pool.get(context.Background(), &dialTarget{network: "tcp", addr: addr, timeout: time.Second, noDelayOff: off}, time.Now())
		if err != nil || !reused || pc != conns[off] {
			t.Errorf("off %v: reused %v (the same connection: %v), %v", off, reused, pc == conns[off], err)
		}
		pc.close()
	}
}

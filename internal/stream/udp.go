package stream

import (
	"errors"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// udpQueue is how many datagrams wait for a UDP session's copy; more are
// dropped, as a full socket buffer drops them.
const udpQueue = 64

// servePackets runs the read loop of a UDP listen: each datagram goes to
// the session of its client address, created on the first one, as nginx
// 1.22 binds a client's datagrams to its session.
func (p *Proxy) servePackets(l *listener) {
	defer l.wg.Done()
	sessions := map[string]*udpConn{}
	var mu sync.Mutex // guards sessions: sessions remove themselves
	buf := make([]byte, 64*1024)
	text := l.text()
	dst := newDstConn(l.pc)
	for {
		var (
			n    int
			from net.Addr
			to   net.IP // the datagram's destination on a wildcard listen
			err  error
		)
		if dst != nil {
			n, from, to, err = dst.readFrom(buf)
		} else {
			n, from, err = l.pc.ReadFrom(buf)
		}
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		// nginx binds a session to the client's address and the address
		// the client sent to (ngx_lookup_udp_connection).
		key := from.String()
		if to != nil {
			key += " " + to.String()
		}
		mu.Lock()
		c := sessions[key]
		if c == nil {
			t := p.enterCurrent() // the session's run leaves it
			srv := t.servers[l.key]
			if srv == nil {
				t.life.Leave()
				mu.Unlock()
				continue
			}
			c = newUDPConn(l.pc, from, nil)
			c.limit = int64(srv.cfg.Requests)
			if to != nil {
				c.dst, c.src = dst, to
			}
			mine := c
			c.forget = func() {
				mu.Lock()
				if sessions[key] == mine {
					delete(sessions, key)
				}
				mu.Unlock()
			}
			sessions[key] = c
			mu.Unlock()
			c.deliverCounted(buf[:n])
			go p.newSession(c, srv, text).run()
			continue
		}
		mu.Unlock()
		c.deliverCounted(buf[:n])
	}
}

// deliver queues a datagram of the client for its session and, once the
// session has its proxy_requests datagrams, unbinds the client's address,
// so that its next datagram starts another session: as nginx counts a
// session's datagrams as its listener reads them and deletes the client's
// binding at once (recorded with nginx-tests' stream_udp_proxy_requests.t:
// five datagrams sent together under "proxy_requests 2" are three
// sessions, 2 + 2 + 1, each answered, however slow the server is).
func (c *udpConn) deliverCounted(b []byte) {
	c.deliver(b)
	if c.limit > 0 && c.got.Load() >= c.limit {
		c.forget()
	}
}

// udpConn is a UDP client as a net.Conn: Read returns its datagrams one
// by one, Write sends one datagram to it from the listen socket.
type udpConn struct {
	pc     net.PacketConn
	remote net.Addr
	in     chan []byte
	done   chan struct{}
	once   sync.Once
	// forget unbinds the client address from this session (its next
	// datagram starts another); safe to call more than once.
	forget func()

	// got counts the datagrams queued for the session: the requests that
	// proxy_responses multiplies (counted on arrival, so that a quick
	// second request is counted before the first answer comes back).
	got atomic.Int64
	// limit is the server's proxy_requests (0: none): once got reaches
	// it, the read loop unbinds the client (deliverCounted).
	limit int64

	mu       sync.Mutex // guards deadline
	deadline time.Time

	// dst and src, on a wildcard listen, send the replies from the
	// address the client sent to (src); nil otherwise.
	dst *dstConn
	src net.IP
}

func newUDPConn(pc net.PacketConn, remote net.Addr, forget func()) *udpConn {
	return &udpConn{pc: pc, remote: remote, in: make(chan []byte, udpQueue), done: make(chan struct{}), forget: forget}
}

// deliver queues a copy of one datagram, or drops it when the queue is full
// or the session ended.
func (c *udpConn) deliver(b []byte) {
	// Counted before it is queued: the session may pass it on and count
	// its answer before this goroutine runs again.
	c.got.Add(1)
	select {
	case c.in <- append([]byte(nil), b...):
	case <-c.done:
		c.got.Add(-1)
	default:
		c.got.Add(-1)
	}
}

// Read implements net.Conn: one datagram per call (truncated to len(b)).
func (c *udpConn) Read(b []byte) (int, error) {
	c.mu.Lock()
	dl := c.deadline
	c.mu.Unlock()
	var timeout <-chan time.Time
	if !dl.IsZero() {
		t := time.NewTimer(time.Until(dl))
		defer t.Stop()
		timeout = t.C
	}
	select {
	case d := <-c.in:
		return copy(b, d), nil
	case <-c.done:
		return 0, net.ErrClosed
	case <-timeout:
		// A select picks at random among ready cases: a datagram queued
		// as the deadline passed (the stall edge) is read, as nginx
		// handles the read event before it expires the timer.
		select {
		case d := <-c.in:
			return copy(b, d), nil
		default:
			return 0, os.ErrDeadlineExceeded
		}
	}
}

// first takes the datagram that started the session, if it is still
// queued, and returns its length (0 without one).
func (c *udpConn) first() int {
	select {
	case d := <-c.in:
		return len(d)
	default:
		return 0
	}
}

// Write implements net.Conn: b is one datagram to the client.
func (c *udpConn) Write(b []byte) (int, error) {
	if c.dst != nil {
		return c.dst.writeTo(b, c.src, c.remote)
	}
	return c.pc.WriteTo(b, c.remote)
}

// Close implements net.Conn: the session ends and the client's next
// datagram starts another.
func (c *udpConn) Close() error {
	c.once.Do(func() {
		close(c.done)
		c.forget()
	})
	return nil
}

// LocalAddr implements net.Conn.
func (c *udpConn) LocalAddr() net.Addr {
	la := c.pc.LocalAddr()
	if u, ok := la.(*net.UDPAddr); ok && c.src != nil {
		return &net.UDPAddr{IP: c.src, Port: u.Port}
	}
	return la
}

// RemoteAddr implements net.Conn.
func (c *udpConn) RemoteAddr() net.Addr { return c.remote }

// SetDeadline implements net.Conn (the read deadline only: a datagram
// write does not block).
func (c *udpConn) SetDeadline(t time.Time) error { return c.SetReadDeadline(t) }

// SetReadDeadline implements net.Conn.
func (c *udpConn) SetReadDeadline(t time.Time) error {
	c.mu.Lock()
	c.deadline = t
	c.mu.Unlock()
	return nil
}

// SetWriteDeadline implements net.Conn; datagram writes do not wait.
func (c *udpConn) SetWriteDeadline(time.Time) error { return nil }

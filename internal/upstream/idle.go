package upstream

import (
	"net"
	"sync"
	"time"
)

// IdleConns keeps open connections to an upstream's servers between
// requests, per server, up to a number each (nginx's upstream keepalive), for
// the pass modules that keep their own connections (fastcgi_keep_conn,
// memcached_pass). It is safe for concurrent use.
type IdleConns struct {
	mu    sync.Mutex // guards conns
	conns map[string][]net.Conn
	max   int
}

// NewIdleConns keeps up to max connections per server.
func NewIdleConns(max int) *IdleConns {
	return &IdleConns{max: max, conns: map[string][]net.Conn{}}
}

// Get takes the most recently kept connection to the server named key, or
// returns nil when there is none. A kept connection for which stale
// reports true (the server sent bytes or closed it while it was idle) is
// closed and the next one tried, as nginx's keepalive close handler closes
// an idle connection on any read event: bytes nobody asked for would be
// read as the next request's response. A nil stale takes any.
func (p *IdleConns) Get(key string, stale func(net.Conn) bool) net.Conn {
	for {
		c := p.take(key)
		if c == nil || stale == nil || !stale(c) {
			return c
		}
		c.Close()
	}
}

// take removes and returns the most recently kept connection to key, nil
// when there is none.
func (p *IdleConns) take(key string) net.Conn {
	p.mu.Lock()
	defer p.mu.Unlock()
	l := p.conns[key]
	if len(l) == 0 {
		return nil
	}
	c := l[len(l)-1]
	p.conns[key] = l[:len(l)-1]
	return c
}

// Put keeps c, with its deadlines lifted, or closes it when the server
// already has max connections kept.
func (p *IdleConns) Put(key string, c net.Conn) {
	c.SetDeadline(time.Time{})
	p.mu.Lock()
	if len(p.conns[key]) < p.max {
		p.conns[key] = append(p.conns[key], c)
		c = nil
	}
	p.mu.Unlock()
	if c != nil {
		c.Close()
	}
}

// Close closes every kept connection.
func (p *IdleConns) Close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for k, l := range p.conns {
		for _, c := range l {
			c.Close()
		}
		delete(p.conns, k)
	}
}

package stream

import (
	"fmt"
	"sync"

	"fulcrum/internal/config"
	"fulcrum/internal/errlog"
)

// connZone is a stream limit_conn_zone: the sessions open per key. The
// Proxy keeps a zone across reloads that keep its name and key, as nginx
// keeps a shared memory zone, so sessions opened before a reload still
// count.
// The key is compiled for each configuration (its variables are the
// configuration's); the counts are what a reload keeps.
type connZone struct {
	name, keySrc string
	key          *template
	counts       *connCounts
}

// connCounts are a zone's open sessions per key.
type connCounts struct {
	mu sync.Mutex // guards n
	n  map[string]int
}

func newConnZone(c *compiler, z *config.LimitConnZone) (*connZone, error) {
	key, err := c.compile(z.Key)
	if err != nil {
		return nil, at(err, z.Pos)
	}
	return &connZone{name: z.Name, keySrc: z.Key, key: key, counts: &connCounts{n: map[string]int{}}}, nil
}

// acquire counts one more session for key unless limit are open already.
func (z *connZone) acquire(key string, limit int) bool {
	c := z.counts
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n[key] >= limit {
		return false
	}
	c.n[key]++
	return true
}

// release ends the count of one session for key.
func (z *connZone) release(key string) {
	c := z.counts
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n[key]--; c.n[key] <= 0 {
		delete(c.n, key)
	}
}

// maxConnKeyLen is the longest key nginx counts: a longer one is logged at
// error and not limited (ngx_stream_limit_conn_handler).
const maxConnKeyLen = 255

// connLimit is one limit_conn of a server.
type connLimit struct {
	zone   *connZone
	number int
}

// heldConn is a count a session holds in a zone until it ends.
type heldConn struct {
	zone *connZone
	key  string
}

// limitConns applies the server's limit_conn directives, as nginx's
// preaccess phase: a key that is empty, or longer than 255 bytes (logged),
// is not limited; a key over its
// number ends the session with $status 503 (logged at
// limit_conn_log_level), unless limit_conn_dry_run is on. False means the
// session is refused.
func (s *session) limitConns() bool {
	for _, l := range s.srv.limits {
		key := string(l.zone.key.appendValue(nil, s))
		if key == "" {
			continue
		}
		if len(key) > maxConnKeyLen {
			s.logPlain(errlog.Error, fmt.Sprintf("the value of the %q key is more than 255 bytes: %q while initializing session%s",
				l.zone.keySrc, key, s.peers()))
			continue
		}
		if l.zone.acquire(key, l.number) {
			s.held = append(s.held, heldConn{zone: l.zone, key: key})
			continue
		}
		dry := ""
		if s.srv.cfg.LimitConnDryRun {
			dry = ", dry run,"
		}
		s.logPlain(errlog.FromConfig(s.srv.cfg.LimitConnLogLevel), fmt.Sprintf("limiting connections%s by zone %q while initializing session%s",
			dry, l.zone.name, s.peers()))
		if !s.srv.cfg.LimitConnDryRun {
			s.status = statusServiceUnavailable
			return false
		}
	}
	return true
}

// releaseConns gives back the counts the session holds.
func (s *session) releaseConns() {
	for _, h := range s.held {
		h.zone.release(h.key)
	}
	s.held = nil
}

package daemon

import (
	"fmt"
	"hash/maphash"
	"net/http"
	"sync"

	"fulcrum/internal/config"
	"fulcrum/internal/errlog"
	"fulcrum/internal/vars"
)

// connShards is the number of independently locked parts of a connZone, so
// requests for different keys rarely wait on one mutex.
const connShards = 32

// connZone is a limit_conn_zone: the requests in progress per key. It grows as
// needed (nginx's zone size is ignored) and forgets a key when its count
// returns to zero.
type connZone struct {
	name   string
	keySrc string // the key as written, for messages
	key    *vars.Template
	seed   maphash.Seed
	shards [connShards]connShard
}

type connShard struct {
	mu sync.Mutex
	n  map[string]int
}

// heldConn is one count a request holds until it ends.
type heldConn struct {
	shard *connShard
	key   string
}

// maxHeldConns is how many limit_conn counts a request holds without
// allocating; more limit_conn directives in one location spill to a slice.
const maxHeldConns = 4

func newConnZone(z *config.LimitConnZone, comp *vars.Compiler) (*connZone, error) {
	key, err := comp.Compile(z.Key)
	if err != nil {
		return nil, err
	}
	cz := &connZone{name: z.Name, keySrc: z.Key, key: key, seed: maphash.MakeSeed()}
	for i := range cz.shards {
		cz.shards[i].n = map[string]int{}
	}
	return cz, nil
}

// acquire counts one more request for key unless limit are already in
// progress; ok false means over the limit (and nothing was counted).
func (z *connZone) acquire(key []byte, limit int) (h heldConn, ok bool) {
	sh := &z.shards[maphash.Bytes(z.seed, key)%connShards]
	sh.mu.Lock()
	defer sh.mu.Unlock()
	n := sh.n[string(key)]
	if n >= limit {
		return heldConn{}, false
	}
	k := string(key)
	sh.n[k] = n + 1
	return heldConn{shard: sh, key: k}, true
}

// release ends one count.
func (h heldConn) release() {
	h.shard.mu.Lock()
	if n := h.shard.n[h.key] - 1; n > 0 {
		h.shard.n[h.key] = n
	} else {
		delete(h.shard.n, h.key)
	}
	h.shard.mu.Unlock()
}

// buildConnZones compiles the limit_conn_zone keys. config.Load has checked
// that every limit_conn names one of them.
func (s *snapshot) buildConnZones(cfg *config.Config, comp *vars.Compiler) error {
	s.connZones = make(map[string]*connZone, len(cfg.HTTP.LimitConnZones))
	for _, z := range cfg.HTTP.LimitConnZones {
		cz, err := newConnZone(z, comp)
		if err != nil {
			return err
		}
		s.connZones[z.Name] = cz
	}
	return nil
}

// maxConnKeyLen is nginx's limit on a limit_conn key (its node keeps the
// length in a byte): a longer key is not counted.
const maxConnKeyLen = 255

// limitConn runs nginx's limit_conn preaccess step for the request at set
// (ngx_http_limit_conn_handler): each limit_conn counts the request under its
// zone's key until it ends. It returns the status to answer when a limit is
// exceeded, else 0. Empty keys are not counted, and keys over 255 bytes are
// logged and not counted. As in nginx, the request is counted once: when a
// key was looked up ($limit_conn_status is set), an internal redirect does
// not count it again; when every key was empty, the location it is
// redirected to counts it. Locations without limit_conn do no work here.
func (s *snapshot) limitConn(rec *recorder, r *http.Request, st *vars.State, set *config.Settings) int {
	if len(set.LimitConn) == 0 || st.LimitConn != vars.LimitConnNone {
		return 0
	}
	var buf [64]byte
	for i := range set.LimitConn {
		lc := &set.LimitConn[i]
		z := s.connZones[lc.Zone]
		key := z.key.Append(buf[:0], st)
		if len(key) == 0 {
			continue
		}
		if len(key) > maxConnKeyLen {
			s.logAt(set).LogRequest(errlog.Error, logRequest(st, r), fmt.Sprintf("the value of the %q key is more than 255 bytes: %q", z.keySrc, key))
			continue
		}
		st.LimitConn = vars.LimitConnPassed
		h, ok := z.acquire(key, lc.Number)
		if ok {
			rec.hold(h)
			continue
		}
		// As ngx_http_limit_conn_handler: the counts taken so far go back,
		// and the request is refused, or in a dry run goes on uncounted.
		s.logLimitConn(r, st, set, z.name)
		rec.releaseConns()
		if set.LimitConnDryRun {
			st.LimitConn = vars.LimitConnRejectedDryRun
			return 0
		}
		st.LimitConn = vars.LimitConnRejected
		return set.LimitConnStatus
	}
	return 0
}

func (s *snapshot) logLimitConn(r *http.Request, st *vars.State, set *config.Settings, zone string) {
	level := errlog.FromConfig(set.LimitConnLogLevel)
	if !s.logAt(set).Enabled(level) {
		return
	}
	dry := ""
	if set.LimitConnDryRun {
		dry = ", dry run,"
	}
	s.logAt(set).LogRequest(level, logRequest(st, r), "limiting connections"+dry+" by zone \""+zone+"\"")
}

// hold keeps h until the request ends.
func (rec *recorder) hold(h heldConn) {
	if rec.nheld < maxHeldConns {
		rec.held[rec.nheld] = h
		rec.nheld++
		return
	}
	rec.moreHeld = append(rec.moreHeld, h)
}

// releaseConnsSent ends the request's limit_conn counts once its response
// has gone out, as nginx frees them with the request: at once on
// HTTP/1.x, whose response the handler wrote to the socket; an HTTP/2
// stream hands them to its writer (h2Writer.holdUntilSent), since Go's
// server still holds what flow control keeps back after the handler
// returns. Recorded with nginx 1.22.1 (nginx-tests h2_limit_conn.t): a
// stream whose client window of 1 byte holds its 8-byte response keeps
// "limit_conn conn 1" taken, the connection's next stream gets 503, and
// the count goes back when the client resets the first stream (the next
// one gets 200). fulcrum gave the count back when the handler returned, and
// the second stream got 200.
func (rec *recorder) releaseConnsSent() {
	hw, h2 := rec.ResponseWriter.(*h2Writer)
	if !h2 || rec.sub || rec.nheld == 0 && rec.moreHeld == nil {
		rec.releaseConns()
		return
	}
	held := make([]heldConn, 0, rec.nheld+len(rec.moreHeld))
	held = append(append(held, rec.held[:rec.nheld]...), rec.moreHeld...)
	for i := range rec.nheld {
		rec.held[i] = heldConn{}
	}
	rec.nheld, rec.moreHeld = 0, nil
	hw.holdUntilSent(held)
}

// releaseConns ends the request's limit_conn counts.
func (rec *recorder) releaseConns() {
	for i := range rec.nheld {
		rec.held[i].release()
		rec.held[i] = heldConn{}
	}
	rec.nheld = 0
	for _, h := range rec.moreHeld {
		h.release()
	}
	rec.moreHeld = nil
}

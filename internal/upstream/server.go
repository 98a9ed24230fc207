package upstream

import (
	"net/netip"
	"sync/atomic"
	"time"
)

// Outcome is how an attempt on a server ended, as the caller judged it
// (spec §6 lists what counts as a failure).
type Outcome uint8

const (
	// Success: the upstream answered and the answer was used.
	Success Outcome = iota
	// Failure counts against max_fails: connect, send or response-header
	// errors, timeouts, invalid headers, and the http_5xx / http_429
	// responses listed in proxy_next_upstream when a retry follows.
	Failure
	// Neutral is neither: the client hung up, a 403/404 passed to the
	// next server, or an error while reading the body after the header
	// went to the client. Like nginx's free with state 0 or
	// NGX_PEER_NEXT, it counts no failure but, like a success, ends a
	// probe (fails = 0 when the server was picked after the window).
	// It differs from Success only in the statistics.
	Neutral
)

// String returns "success", "failure" or "neutral".
func (o Outcome) String() string {
	switch o {
	case Success:
		return "success"
	case Failure:
		return "failure"
	case Neutral:
		return "neutral"
	}
	return "outcome(?)"
}

// liveState is the state of one server that outlives a config snapshot:
// pools of several snapshots for the same upstream name and address share
// one liveState and one group lock.
type liveState struct {
	// Guarded by the group's mu (written only with it held):
	accessed time.Time // time of the last failure
	checked  time.Time // last failure, or last pick after the window
	// deficit is weight - effective_weight: how far nginx's
	// effective_weight is below the weight after failures. Kept as a
	// deficit so that a reload that changes the weight applies the new
	// weight at once while keeping the penalty (clamped to the weight).
	deficit int
	// rampFrom is when the server's slow_start ramp began (it came back
	// from failures, was added by a reload or lost its down flag); the
	// zero time means no ramp. Cleared by the first pick after the ramp.
	rampFrom time.Time
	// selected is when a pick last chose the server (NGINX Plus's
	// "selected"): written by Acquire, which holds the lock anyway.
	selected time.Time
	// downTotal is the length of the server's past periods out of picks
	// for failures or health checks, downStart the start of the current
	// one (zero: none). See trackDown.
	downTotal time.Duration
	downStart time.Time

	// down is the Down setting of the pool built last for this state, or
	// of its last runtime patch (Pool.Patch), to see a reload bring a down
	// server up. Read and written with the group's mu held.
	down bool

	// fails is nginx's fails. Written only with the group's mu held; read
	// without it by the fast path of Release, hence atomic.
	fails atomic.Int64

	// Counters read and written without the lock.
	active   atomic.Int64 // acquired and not yet released
	requests atomic.Int64 // acquisitions since the state was created
	failures atomic.Int64 // releases with Failure since then

	// traffic counts responses and bytes (traffic.go).
	traffic traffic
	// timing is the average times and incomplete requests (timing.go).
	timing timing
	// health is the active health checks' verdicts (health.go).
	health health
}

// Server is one server of a Pool: its settings for this snapshot and its
// live state. A *Server stays valid as long as its Pool is referenced.
type Server struct {
	pool   *Pool
	st     *liveState
	key    stateKey // its key in the group's states
	set    Settings // normalized
	id     int      // the runtime API's ID, unique in the pool, never reused
	backup bool
	ap     netip.AddrPort // the TCP address, parsed once; zero for unix sockets
	sid    string         // the sticky ID (StickyID)

	// current is nginx's current_weight for this pool generation.
	// Guarded by the group's mu.
	current int
	// drain is the runtime API's drain mode (Pool.Patch): no new picks
	// but the requests a sticky ID binds to the server. Guarded by the
	// group's mu; a reload's new pool starts without it.
	drain bool
	// removed is set by Pool.Remove: the server is out of the pool (its
	// in-flight requests finish; active health checks stop).
	removed atomic.Bool
}

// Settings returns the server's settings with Network and Name filled in.
func (s *Server) Settings() Settings { return s.set }

// Name returns the server as written in the configuration (see
// Settings.Name).
func (s *Server) Name() string { return s.set.Name }

// AddrText is the server as $upstream_addr and the error log's upstream
// show it: "unix:" and the path for a socket, else Name.
func (s *Server) AddrText() string {
	if s.set.Network == NetworkUnix {
		return "unix:" + s.set.Addr
	}
	return s.set.Name
}

// Network returns "tcp" or "unix".
func (s *Server) Network() string { return s.set.Network }

// Addr returns the dial address.
func (s *Server) Addr() string { return s.set.Addr }

// AddrPort returns the server's TCP address ($upstream_addr), or the zero
// AddrPort for a unix socket. It is parsed once, when the pool is built.
func (s *Server) AddrPort() netip.AddrPort { return s.ap }

// Weight returns the configured weight.
func (s *Server) Weight() int { return s.set.Weight }

// StickyID returns the server's ID for session persistence ("sticky"):
// Settings.Route when set, else the lower-case hexadecimal MD5 of the
// address ("10.0.0.1:80", "[::1]:80", or a unix socket's path), as NGINX
// Plus documents its cookie value. Computed once, when the pool is built.
func (s *Server) StickyID() string { return s.sid }

// Backup reports whether the server is in the pool's backup tier.
func (s *Server) Backup() bool { return s.backup }

// Index returns the server's position in its tier (primaries or backups)
// now, the index a Chooser sees in its View, or -1 once it is removed.
// It walks the tier: tests and the API use it, never a pick.
func (s *Server) Index() int {
	for i, x := range s.pool.t.Load().tier(s.backup) {
		if x == s {
			return i
		}
	}
	return -1
}

// ID returns the server's ID in the runtime API: its position in the
// configuration (primaries, then backups) for a server built from it, the
// next unused number for one added at run time.
func (s *Server) ID() int { return s.id }

// Removed reports whether Pool.Remove took the server out of its pool.
func (s *Server) Removed() bool { return s.removed.Load() }

// Pool returns the pool the server belongs to.
func (s *Server) Pool() *Pool { return s.pool }

// Active returns the number of requests in flight to this address, across
// every pool generation that shares its state.
func (s *Server) Active() int64 { return s.st.active.Load() }

// Release ends one acquisition of s with the attempt's outcome and returns
// true when the outcome disabled the server: a Failure that brought fails
// to max_fails or beyond (the caller then logs "upstream server
// temporarily disabled" at warn, as nginx does on every such failure).
//
// Release must be called exactly once per successful Acquire. now is the
// time the attempt ended. In a single-server pool (one primary, no backup)
// nothing is accounted, as in nginx: the server is never marked
// unavailable.
func (s *Server) Release(now time.Time, o Outcome) (disabled bool) {
	if o == Failure {
		s.st.failures.Add(1)
	}
	// Fast path, no lock: a non-failure on a server without failures
	// changes nothing but the in-flight count (the reset "fails = 0" would
	// be a no-op), so an atomic decrement does. BenchmarkAcquireRelease
	// (pick + release, 4 servers, a shared 2-core machine, 8 runs):
	// serial 79-95 ns against 97-105 ns when every release takes the
	// lock; with 8 goroutines both spread over 110-420 ns, too noisy to
	// separate. Chosen because it is never slower and successful
	// releases, the common case, never queue behind picks. Failures and
	// probe ends are rare and take the lock (releaseLocked).
	if s.pool.t.Load().single || (o != Failure && s.st.fails.Load() == 0) {
		s.st.active.Add(-1)
		s.pool.queue.Wake()
		return false
	}
	disabled = s.releaseLocked(now, o)
	s.pool.queue.Wake()
	return disabled
}

// Connected marks s live when its probe connection has been established,
// before the session ends: nginx's stream module does so for a TCP
// connection (ngx_stream_upstream_notify_round_robin_peer on
// NGX_STREAM_UPSTREAM_NOTIFY_CONNECT), so the sessions that follow a
// server's recovery go to it while the first one is still open. It changes
// nothing when s has no failures or its probe window has not started.
func (s *Server) Connected(now time.Time) {
	if s.pool.t.Load().single || s.st.fails.Load() == 0 {
		return
	}
	mu := &s.pool.g.mu
	mu.Lock()
	defer mu.Unlock()
	s.trackDown(now, false)
	defer s.trackDown(now, true)
	s.markLive(now)
}

// markLive resets the failures of a server whose probe passed (picked after
// its fail_timeout, not failed since): nginx's "mark peer live if check
// passed". A server that was unavailable comes back through slow_start.
// Called with the group lock held.
func (s *Server) markLive(now time.Time) {
	st := s.st
	if st.accessed.Before(st.checked) {
		if s.set.SlowStart > 0 && s.set.MaxFails > 0 && st.fails.Load() >= int64(s.set.MaxFails) {
			st.rampFrom = now
		}
		st.fails.Store(0)
	}
}

// releaseLocked is the part of Release that needs the group lock: failure
// accounting and the end of a probe.
func (s *Server) releaseLocked(now time.Time, o Outcome) bool {
	mu := &s.pool.g.mu
	mu.Lock()
	defer mu.Unlock()
	st := s.st
	st.active.Add(-1)
	s.trackDown(now, false)
	defer s.trackDown(now, true)
	if o != Failure {
		s.markLive(now)
		return false
	}
	fails := st.fails.Add(1)
	if max := int64(s.set.MaxFails); max > 0 && fails >= max && (fails == max || now.Sub(st.accessed) > s.set.FailTimeout) {
		// It becomes unavailable now: it reached max_fails, or failed its
		// probe after the window.
		st.traffic.unavail.Add(1)
	}
	st.accessed = now
	st.checked = now
	if s.set.MaxFails == 0 {
		return false
	}
	w := s.set.Weight
	st.deficit = min(s.deficit()+w/s.set.MaxFails, w)
	return fails >= int64(s.set.MaxFails)
}

// deficit returns the effective-weight deficit clamped to this pool's
// weight. Called with the group lock held.
func (s *Server) deficit() int { return min(s.st.deficit, s.set.Weight) }

// effective returns nginx's effective_weight for this pool's weight.
// Called with the group lock held.
func (s *Server) effective() int { return s.set.Weight - s.deficit() }

// rampScale is the unit of ramped weights: in a pool with slow_start every
// weight a pick sees is multiplied by it, and a ramping server's by the
// share of its ramp gone by, in thousandths.
const rampScale = 1000

// ramp returns the part of its weight, in thousandths (0 to rampScale),
// that a server of a slow_start pool has at now, and ends the ramp once
// it is over. Called with the group lock held.
func (s *Server) ramp(now time.Time) int {
	from := s.st.rampFrom
	if from.IsZero() {
		return rampScale
	}
	d := s.set.SlowStart
	el := now.Sub(from)
	if d <= 0 || el >= d {
		s.st.rampFrom = time.Time{}
		return rampScale
	}
	if el <= 0 {
		return 0
	}
	return int(el * rampScale / d)
}

// failedNow reports whether the server is inside its fail_timeout window
// after reaching max_fails. Called with the group lock held.
func (s *Server) failedNow(now time.Time) bool {
	return s.set.MaxFails > 0 &&
		s.st.fails.Load() >= int64(s.set.MaxFails) &&
		now.Sub(s.st.checked) <= s.set.FailTimeout
}

// atMaxConns reports whether max_conns requests are in flight.
func (s *Server) atMaxConns() bool {
	return s.set.MaxConns > 0 && s.st.active.Load() >= int64(s.set.MaxConns)
}

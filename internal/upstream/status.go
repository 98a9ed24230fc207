package upstream

import (
	"cmp"
	"slices"
	"time"
)

// ServerStatus is a read-only copy of one server's settings and state, for
// status pages and metrics.
type ServerStatus struct {
	Name, Network, Addr string
	Backup, Down        bool
	Weight              int
	// EffectiveWeight is below Weight for a while after failures and,
	// rounded down, during a slow_start ramp.
	EffectiveWeight int
	// SlowStart is the server's slow_start (0: none).
	SlowStart time.Duration
	// Ramping reports that the server is in its slow_start ramp now.
	Ramping bool
	// Route is the server's route= parameter ("" when none).
	Route       string
	MaxFails    int
	FailTimeout time.Duration
	MaxConns    int
	// Fails is nginx's failure count (reset by a successful probe).
	Fails int
	// Unavailable reports that picks skip the server now because of
	// failures (fails >= max_fails and inside fail_timeout).
	Unavailable bool
	// Active is the number of requests in flight.
	Active int64
	// Requests and Failures count acquisitions and Failure releases since
	// the registry first saw the server.
	Requests, Failures int64
	// ID is the server's position in its pool, primaries then backups:
	// the runtime API's server ID.
	ID int
	// Draining reports the runtime API's drain mode (Pool.Patch).
	Draining bool
	// Responses, Sent and Received count the responses the server sent
	// and the bytes written to and read from it (Server.Account); Unavail
	// the times it became unavailable through max_fails.
	Responses Responses
	// Codes counts the responses by status code, for the codes the
	// server sent at least once; nil when it sent none.
	Codes          map[int]int64
	Sent, Received int64
	Unavail        int64
	// AvgTimes is the server's average time of each Metric (Server.Sample)
	// and HasAvgTime says which have had a sample.
	AvgTimes   [numMetrics]time.Duration
	HasAvgTime [numMetrics]bool
	// Health is the active health checks' verdict (HealthUnchecked
	// without health_check) and HealthChecks their statistics.
	Health       HealthState
	HealthChecks HealthCounters
	// Selected is when a pick last chose the server (zero: never).
	Selected time.Time
	// Downtime is how long the server has been unavail, checking or
	// unhealthy in all, the current period included; DownStart is when
	// the current period began (zero when the server is in none).
	Downtime  time.Duration
	DownStart time.Time
}

// UpstreamStatus is the status of one upstream's servers.
type UpstreamStatus struct {
	Name    string
	Servers []ServerStatus
}

// Snapshot appends the status of every server of p, primaries then
// backups, to dst and returns it. now decides Unavailable.
func (p *Pool) Snapshot(now time.Time, dst []ServerStatus) []ServerStatus {
	p.g.mu.Lock()
	defer p.g.mu.Unlock()
	start := len(dst)
	t := p.t.Load()
	for _, tier := range [][]*Server{t.primary, t.backup} {
		for _, s := range tier {
			dst = append(dst, p.statusOf(s, now))
		}
	}
	slices.SortStableFunc(dst[start:], func(a, b ServerStatus) int { return cmp.Compare(a.ID, b.ID) })
	return dst
}

// status copies s. Called with the group lock held.
func (s *Server) status(now time.Time) ServerStatus {
	eff := s.effective()
	ramping := false
	if s.pool.slow {
		r := s.ramp(now)
		ramping = r < rampScale
		eff = eff * r / rampScale
	}
	return ServerStatus{
		Name:            s.set.Name,
		Network:         s.set.Network,
		Addr:            s.set.Addr,
		Backup:          s.backup,
		Down:            s.set.Down,
		Weight:          s.set.Weight,
		EffectiveWeight: eff,
		SlowStart:       s.set.SlowStart,
		Ramping:         ramping,
		Route:           s.set.Route,
		MaxFails:        s.set.MaxFails,
		FailTimeout:     s.set.FailTimeout,
		MaxConns:        s.set.MaxConns,
		Fails:           int(s.st.fails.Load()),
		Unavailable:     !s.pool.t.Load().single && s.failedNow(now),
		Active:          s.st.active.Load(),
		Requests:        s.st.requests.Load(),
		Failures:        s.st.failures.Load(),
		Health:          s.st.health.state(),
		HealthChecks:    s.st.health.counters,
	}
}

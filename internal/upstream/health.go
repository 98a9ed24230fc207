package upstream

import (
	"sync/atomic"
	"time"
)

// Active health checks (NGINX Plus's health_check) keep their verdicts
// here; package health sends the requests. Each check (one health_check
// directive) has its own verdict on each server, a probe, and a server
// that any check does not find healthy is skipped by every pick, as if it
// were down, until that check's passes= consecutive passes bring it back.
// Probes live in the server's liveState, so a reload keeps them for the
// servers that stay.

// HealthState is what the active health checks say of a server.
type HealthState uint8

const (
	// HealthUnchecked: no active health check tests the server.
	HealthUnchecked HealthState = iota
	// HealthHealthy: every check passes the server.
	HealthHealthy
	// HealthChecking: a mandatory check has not completed its first
	// check yet; the server is not used meanwhile.
	HealthChecking
	// HealthUnhealthy: a check failed the server fails= times in a row
	// and has not seen passes= passes in a row since.
	HealthUnhealthy
)

// String returns NGINX Plus's API names: "", "up", "checking", "unhealthy".
func (h HealthState) String() string {
	switch h {
	case HealthHealthy:
		return "up"
	case HealthChecking:
		return "checking"
	case HealthUnhealthy:
		return "unhealthy"
	}
	return ""
}

// CheckPolicy is what the upstream package needs of one health check:
// when its verdict changes and how a server starts.
type CheckPolicy struct {
	// Fails consecutive failed checks make a healthy server unhealthy;
	// Passes consecutive passes make an unhealthy one healthy (both at
	// least 1; 0 means 1).
	Fails, Passes int
	// Mandatory starts a server the check has not seen, and, unless
	// Persistent keeps a healthy one, every server at a reload, in
	// HealthChecking.
	Mandatory, Persistent bool
}

// HealthCounters are a server's active health check statistics, summed
// over its checks (NGINX Plus's health_checks object).
type HealthCounters struct {
	// Checks is the number of checks made; Fails of them failed.
	Checks, Fails int64
	// Unhealthy counts the times a check turned the server unhealthy.
	Unhealthy int64
	// LastPassed reports the result of the last check made.
	LastPassed bool
}

// health is the active health check state of one server.
type health struct {
	// sick is set while some probe is not healthy. Read by every pick
	// without the lock (View.Usable); written with the group's mu held.
	sick atomic.Bool
	// probes are the checks' verdicts by check key. Guarded by the
	// group's mu.
	probes   map[string]*probe
	counters HealthCounters
}

// probe is one check's verdict on one server.
type probe struct {
	policy        CheckPolicy
	state         HealthState
	fails, passes int // consecutive
}

// HealthChange is how one check result changed a server.
type HealthChange uint8

const (
	// HealthSame: the server stays as it was.
	HealthSame HealthChange = iota
	// HealthBecameHealthy: the check now passes the server.
	HealthBecameHealthy
	// HealthBecameUnhealthy: the check now fails the server.
	HealthBecameUnhealthy
)

// AttachChecks makes checks (by a key that names a check across reloads)
// the active health checks of every server of p that is not down, and
// forgets any other check's verdict on them. A check new to a server
// starts it healthy, or checking when Mandatory; a check it already had
// keeps its verdict, except that a Mandatory one without Persistent (or
// with it, on a server that was not healthy) starts over in checking.
// nil checks turns active health checks off for p's servers.
//
// Call it once the snapshot that owns p is about to serve, with the
// previous snapshot's checks stopped.
func (p *Pool) AttachChecks(checks map[string]CheckPolicy) {
	p.g.mu.Lock()
	defer p.g.mu.Unlock()
	p.checks = checks
	t := p.t.Load()
	now := time.Now()
	for _, tier := range [][]*Server{t.primary, t.backup} {
		for _, s := range tier {
			s.trackDown(now, false)
			if s.set.Down {
				s.st.health.attach(nil)
			} else {
				s.st.health.attach(checks)
			}
			s.trackDown(now, true)
		}
	}
}

// attach installs checks on one server. Called with the group lock held.
func (h *health) attach(checks map[string]CheckPolicy) {
	old := h.probes
	h.probes = nil
	if len(checks) > 0 {
		h.probes = make(map[string]*probe, len(checks))
	}
	for key, pol := range checks {
		pol.Fails, pol.Passes = max(pol.Fails, 1), max(pol.Passes, 1)
		pr := old[key]
		switch {
		case pr == nil && pol.Mandatory:
			pr = &probe{state: HealthChecking}
		case pr == nil:
			pr = &probe{state: HealthHealthy}
		case pol.Mandatory && !(pol.Persistent && pr.state == HealthHealthy):
			*pr = probe{state: HealthChecking}
		}
		pr.policy = pol
		h.probes[key] = pr
	}
	h.update()
}

// update recomputes sick. Called with the group lock held.
func (h *health) update() {
	sick := false
	for _, pr := range h.probes {
		sick = sick || pr.state != HealthHealthy
	}
	h.sick.Store(sick)
}

// state is the server's overall health: unhealthy if a check says so, else
// checking if a check has not decided, else healthy, or unchecked without
// checks. Called with the group lock held.
func (h *health) state() HealthState {
	out := HealthUnchecked
	for _, pr := range h.probes {
		out = max(out, pr.state)
	}
	return out
}

// ReportCheck records the result of one check (by its AttachChecks key)
// of s at now and returns how it changed the check's verdict. A result of
// a check s does not have (stopped or detached) is ignored. When the
// server becomes healthy again and has slow_start, its weight ramps up
// from now.
func (s *Server) ReportCheck(key string, now time.Time, passed bool) HealthChange {
	mu := &s.pool.g.mu
	mu.Lock()
	defer mu.Unlock()
	h := &s.st.health
	pr := h.probes[key]
	if pr == nil {
		return HealthSame
	}
	h.counters.Checks++
	h.counters.LastPassed = passed
	if !passed {
		h.counters.Fails++
	}
	from, wasSick := pr.state, h.sick.Load()
	s.trackDown(now, false)
	change := pr.record(passed)
	if change == HealthBecameUnhealthy {
		h.counters.Unhealthy++
	}
	h.update()
	s.trackDown(now, true)
	// slow_start: a server that comes back from unhealthy (not one that
	// passed its first mandatory check) ramps up from now.
	if change == HealthBecameHealthy && from == HealthUnhealthy && wasSick && !h.sick.Load() && s.set.SlowStart > 0 {
		s.st.rampFrom = now
	}
	return change
}

// record applies one result to the probe's state machine.
func (pr *probe) record(passed bool) HealthChange {
	switch pr.state {
	case HealthChecking:
		pr.fails, pr.passes = 0, 0
		if passed {
			pr.state = HealthHealthy
			return HealthBecameHealthy
		}
		pr.state = HealthUnhealthy
		return HealthBecameUnhealthy
	case HealthHealthy:
		if passed {
			pr.fails = 0
			return HealthSame
		}
		pr.fails++
		if pr.fails >= pr.policy.Fails {
			pr.state, pr.fails, pr.passes = HealthUnhealthy, 0, 0
			return HealthBecameUnhealthy
		}
	case HealthUnhealthy:
		if !passed {
			pr.passes = 0
			return HealthSame
		}
		pr.passes++
		if pr.passes >= pr.policy.Passes {
			pr.state, pr.fails, pr.passes = HealthHealthy, 0, 0
			return HealthBecameHealthy
		}
	}
	return HealthSame
}

// Health returns the server's active health state and check counters.
func (s *Server) Health() (HealthState, HealthCounters) {
	mu := &s.pool.g.mu
	mu.Lock()
	defer mu.Unlock()
	return s.st.health.state(), s.st.health.counters
}

// healthy reports whether no active health check keeps s out of picks.
// It is one atomic load.
func (s *Server) healthy() bool { return !s.st.health.sick.Load() }

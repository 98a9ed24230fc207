package upstream

import (
	"errors"
	"fmt"
	"time"
)

// ServerPatch is a change to one server made at run time (the runtime
// API's PATCH). A nil field leaves the setting as it is.
type ServerPatch struct {
	// Down takes the server out of balancing (true) or brings it back
	// (false); either way it ends a drain.
	Down *bool
	// Drain puts the server in drain mode (true): it gets no new requests
	// but those a sticky ID binds to it. false ends the drain.
	Drain *bool
	// Weight, MaxFails, MaxConns, FailTimeout and SlowStart replace the
	// settings of the same names.
	Weight, MaxFails, MaxConns *int
	FailTimeout, SlowStart     *time.Duration
}

// ErrServerNotFound is returned by Pool.Patch for an ID the pool does not
// have.
var ErrServerNotFound = errors.New("server not found")

// ErrInvalidSetting is wrapped by Pool.Patch's errors for a value out of
// range.
var ErrInvalidSetting = errInvalid

// Patch applies ch to the server whose ID (ServerStatus.ID, Server.ID) is
// id, at once for every pick from p, and
// returns its new status. The change lives in this pool only: a reload
// builds new pools from the configuration, which then wins, as in NGINX
// Plus without a state file. now starts a slow_start ramp when the patch
// brings a down server back.
//
// Picks read the settings under the group lock, which Patch holds while it
// writes them, so a patch costs the request path nothing.
func (p *Pool) Patch(id int, ch ServerPatch, now time.Time) (ServerStatus, error) {
	p.g.mu.Lock()
	defer p.g.mu.Unlock()
	s := p.byID(id)
	if s == nil {
		return ServerStatus{}, fmt.Errorf("upstream %q: server %d: %w", p.name, id, ErrServerNotFound)
	}
	set := s.set
	setInt(&set.Weight, ch.Weight)
	setInt(&set.MaxFails, ch.MaxFails)
	setInt(&set.MaxConns, ch.MaxConns)
	setDuration(&set.FailTimeout, ch.FailTimeout)
	setDuration(&set.SlowStart, ch.SlowStart)
	if err := set.check(); err != nil {
		return ServerStatus{}, fmt.Errorf("upstream %q: server %d: %w: %w", p.name, id, errInvalid, err)
	}
	s.trackDown(now, false)
	wasOut := s.set.Down
	drain := s.drain
	if ch.Drain != nil {
		drain = *ch.Drain
		if drain {
			set.Down = false
		}
	}
	if ch.Down != nil {
		set.Down, drain = *ch.Down, false
	}
	if wasOut && !set.Down && set.SlowStart > 0 && !p.t.Load().single {
		s.st.rampFrom = now
	}
	// Field by field: the proxy reads Name, Addr and Network without the
	// lock, so they must not be written, even with the same values.
	s.set.Weight, s.set.MaxFails, s.set.MaxConns = set.Weight, set.MaxFails, set.MaxConns
	s.set.FailTimeout, s.set.SlowStart, s.set.Down = set.FailTimeout, set.SlowStart, set.Down
	s.drain, s.st.down = drain, set.Down
	p.retotal()
	s.trackDown(now, true)
	return p.statusOf(s, now), nil
}

// byID returns the server with the given ID, or nil. Called with the
// group lock held.
func (p *Pool) byID(id int) *Server {
	t := p.t.Load()
	for _, tier := range [][]*Server{t.primary, t.backup} {
		for _, s := range tier {
			if s.id == id {
				return s
			}
		}
	}
	return nil
}

// retotal recomputes the tiers' total weights and the slow flag after a
// change. Called with the group lock held (or before p is shared); picks
// read both under it.
func (p *Pool) retotal() {
	t := p.t.Load()
	p.totalPrimary, p.totalBackup = 0, 0
	for _, s := range t.primary {
		p.totalPrimary += s.set.Weight
		p.slow = p.slow || !t.single && s.set.SlowStart > 0
	}
	for _, s := range t.backup {
		p.totalBackup += s.set.Weight
		p.slow = p.slow || !t.single && s.set.SlowStart > 0
	}
}

// statusOf is the status of s. Called with the group lock held.
func (p *Pool) statusOf(s *Server, now time.Time) ServerStatus {
	s.trackDown(now, false)
	ss := s.status(now)
	ss.ID, ss.Draining = s.id, s.drain
	ss.Selected = s.st.selected
	ss.Downtime, ss.DownStart = s.downtime(now)
	copyTraffic(&ss, &s.st.traffic)
	copyTiming(&ss, &s.st.timing)
	return ss
}

func setInt(dst, v *int) {
	if v != nil {
		*dst = *v
	}
}

func setDuration(dst, v *time.Duration) {
	if v != nil {
		*dst = *v
	}
}

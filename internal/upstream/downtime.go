package upstream

import "time"

// Downtime is NGINX Plus's "downtime" and "downstart": how long a server
// has been out of picks because of failures or active health checks
// (the API's states "unavail", "checking" and "unhealthy"; not "down",
// which an operator chose). The live state keeps the total of the periods
// that ended and the start of the current one, under the group lock.
//
// Every change that can start or end such a period (a failure, a probe
// pick, a health check result, checks attached, a runtime patch) calls
// trackDown before it, to close a period that ended by itself, and after
// it, with the event's time. The only period that ends by itself is
// "unavail": fail_timeout after the last failure. No pick pays for this
// but the rare one that starts a probe window.

// isDown reports whether s is unavail, checking or unhealthy at now.
// Called with the group lock held.
func (s *Server) isDown(now time.Time) bool {
	if s.set.Down {
		return false
	}
	return s.st.health.sick.Load() || (!s.pool.t.Load().single && s.failedNow(now))
}

// trackDown brings s's downtime up to date at now. event says that the
// caller has just changed s's state at now; otherwise a period found over
// ended when its fail_timeout ran out. Called with the group lock held.
func (s *Server) trackDown(now time.Time, event bool) {
	st := s.st
	down := s.isDown(now)
	switch {
	case down && st.downStart.IsZero():
		st.downStart = now
	case !down && !st.downStart.IsZero():
		end := now
		if !event && s.set.MaxFails > 0 && st.fails.Load() >= int64(s.set.MaxFails) {
			if e := st.checked.Add(s.set.FailTimeout); e.Before(now) {
				end = e
			}
		}
		st.downTotal += max(end.Sub(st.downStart), 0)
		st.downStart = time.Time{}
	}
}

// downtime returns the total downtime at now, the current period
// included, and the start of the current period (zero when s is up).
// Called with the group lock held, after trackDown.
func (s *Server) downtime(now time.Time) (time.Duration, time.Time) {
	st := s.st
	total := st.downTotal
	if !st.downStart.IsZero() {
		total += max(now.Sub(st.downStart), 0)
	}
	return total, st.downStart
}

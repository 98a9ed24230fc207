package upstream

import "time"

// View is what a Chooser sees of one tier of a pool during Pool.Acquire,
// with the pool's lock held. Indexes run from 0 to Len()-1 in
// configuration order. A View is valid only during the Choose call that
// received it.
type View struct {
	pool   *Pool
	t      *tiers
	tier   []*Server
	now    time.Time
	backup bool
}

// Pool returns the pool being picked from.
func (v View) Pool() *Pool { return v.pool }

// Len returns the number of servers in the tier, down ones included.
func (v View) Len() int { return len(v.tier) }

// Gen returns the generation of the pool's membership the view shows: it
// changes when a server is added or removed at run time (Pool.Add,
// Pool.Remove), and with it the indexes. Policies that keep per-index
// state across picks (a consistent-hash ring, a request's tried set)
// rebuild it when Gen moves.
func (v View) Gen() uint64 { return v.t.gen }

// Backup reports whether this is the backup tier.
func (v View) Backup() bool { return v.backup }

// Single reports whether the pool is a single-server pool (Pool.Single).
func (v View) Single() bool { return v.t.single }

// Now returns the time of the pick.
func (v View) Now() time.Time { return v.now }

// Usable reports whether server i may be picked now: it is not down, not
// held back by an active health check (unhealthy or checking, even in a
// single-server pool), not inside its fail_timeout window after max_fails
// failures (never, in a single-server pool), below max_conns, and not
// draining. The caller checks its own tried set separately.
func (v View) Usable(i int) bool {
	return !v.tier[i].drain && v.usable(i)
}

// UsableSticky reports whether server i may take a request that a sticky
// ID binds to it: as Usable, but a draining server (Pool.Patch) may.
func (v View) UsableSticky(i int) bool { return v.usable(i) }

// usable is Usable without the drain mode.
func (v View) usable(i int) bool { return v.tier[i].usable(v.now, v.t.single) }

// usable is View.usable for s at now in a pool that is single or not.
func (s *Server) usable(now time.Time, single bool) bool {
	if s.set.Down || !s.healthy() || s.atMaxConns() {
		return false
	}
	return single || !s.failedNow(now)
}

// Down reports whether server i is marked down.
func (v View) Down(i int) bool { return v.tier[i].set.Down }

// Weight returns the configured weight of server i.
func (v View) Weight(i int) int { return v.tier[i].set.Weight }

// TotalWeight returns the sum of the weights of the tier, down servers
// included (nginx's total_weight, used by the hash methods).
func (v View) TotalWeight() int {
	if v.backup {
		return v.pool.totalBackup
	}
	return v.pool.totalPrimary
}

// Active returns the requests in flight to server i.
func (v View) Active(i int) int64 { return v.tier[i].st.active.Load() }

// Name returns the configured name of server i (Settings.Name).
func (v View) Name(i int) string { return v.tier[i].set.Name }

// ConnWeight returns server i's weight for least_conn's comparison of
// active requests per weight: the weight, or, in a pool with slow_start,
// the weight in thousandths scaled by the server's ramp (at least 1, so a
// server at the very start of its ramp is the last choice, not a division
// by zero). Only ratios between servers of one pick mean anything.
func (v View) ConnWeight(i int) int64 {
	s := v.tier[i]
	if !v.pool.slow {
		return int64(s.set.Weight)
	}
	return max(int64(s.set.Weight)*int64(s.ramp(v.now)), 1)
}

// IndexOf returns the index of server s in the tier, or -1 when s is not
// in it (a backup server seen from the primaries, or a server removed at
// run time). It does not allocate.
func (v View) IndexOf(s *Server) int {
	for i, t := range v.tier {
		if t == s {
			return i
		}
	}
	return -1
}

// Find returns the index of the server whose sticky ID (Server.StickyID)
// is id, or -1. It does not allocate.
func (v View) Find(id []byte) int {
	for i := range v.tier {
		if v.tier[i].sid == string(id) {
			return i
		}
	}
	return -1
}

// Credit is one server's step of a smooth weighted round robin round:
// current_weight += effective_weight, then effective_weight moves one step
// back towards the weight (the slow recovery after failures). It returns
// the effective weight added, which the caller sums into the round's total.
//
// In a pool with slow_start the weight added is the effective weight in
// thousandths times the server's ramp (NGINX Plus's slow_start: the weight
// grows from 0 to its nominal value); every server's is scaled alike, and
// smooth weighted round robin's choices do not change under a common scale.
func (v View) Credit(i int) int {
	s := v.tier[i]
	e := s.effective()
	if v.pool.slow {
		e *= s.ramp(v.now)
	}
	s.current += e
	if d := s.deficit(); d > 0 {
		s.st.deficit = d - 1
	}
	return e
}

// Current returns server i's current_weight.
func (v View) Current(i int) int { return v.tier[i].current }

// Debit ends a round: the winner's current_weight -= total, where total is
// the sum of what Credit returned during the round.
func (v View) Debit(i, total int) { v.tier[i].current -= total }

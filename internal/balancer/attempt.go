package balancer

import (
	"errors"
	"net/netip"
	"time"

	"fulcrum/internal/upstream"
)

// ErrNoLiveUpstream is returned by Attempt.Next when no server of the pool
// may be used: every primary and every backup is down, failed, at
// max_conns or already tried by this request. The proxy answers 502 and
// logs "no live upstreams".
var ErrNoLiveUpstream = errors.New("no live upstreams")

// Policy is a load-balancing method. Choose picks the server for one
// attempt among the servers of v, skipping those the attempt has tried
// (Attempt.Tried) and those v reports unusable, and returns its index, or
// -1 when there is none. It runs with the pool's lock held (see
// upstream.Chooser) and may keep per-request state in the Attempt.
// A Policy value is shared by all requests to its pool.
type Policy interface {
	Choose(v upstream.View, a *Attempt) int
}

// Input is what a request gives its Attempt.
type Input struct {
	// Key is the evaluated key of "hash KEY" (Hash, ConsistentHash). An
	// empty key makes those methods use round robin, as nginx does.
	Key string
	// ClientAddr is the client address for IPHash. The zero Addr (a
	// client on a unix socket) hashes like nginx's pseudo address 0.0.0.
	ClientAddr netip.Addr
	// MaxTries is proxy_next_upstream_tries: 0 means no limit but the
	// number of servers (Pool.Tries).
	MaxTries int
	// StickyID is the server ID the request carries for session
	// persistence (the sticky cookie's value, or the route of "sticky
	// route"); nil or empty means none. Each pick first tries the server
	// with that ID (upstream.Server.StickyID) and uses it when it is
	// usable and not yet tried; otherwise the policy picks as if there
	// were no ID. The bytes must stay unchanged until the request ends.
	StickyID []byte
	// Bound is the server of the upstream connection bound to the client
	// connection (ntlm): the first pick takes it whatever its state, as
	// the request goes over that open connection, not to the policy's
	// choice. nil means none; a server removed meanwhile is not found, and
	// the policy picks.
	Bound *upstream.Server
}

// Attempt is the balancing state of one request across its attempts (the
// first one and the proxy_next_upstream retries): which servers it tried,
// whether it moved to the backup servers, the tries left, the server held
// now and the policy's own per-request state.
//
// Keep an Attempt in a per-connection or pooled struct and Reset it for
// each request: that makes the whole flow allocation-free. An Attempt is
// used by one goroutine at a time and must not be copied after first use.
type Attempt struct {
	pool   *upstream.Pool
	policy Policy
	key    string
	addr   netip.Addr
	tries  int
	backup bool
	cur    *upstream.Server
	tried  tried

	// Per-request state of the hash and random methods (nginx keeps
	// the same in its per-request peer data).
	ptries int    // candidates rejected so far; beyond 20, round robin
	phash  uint32 // ip_hash: running hash; hash: sum; chash: point index
	rehash uint32 // hash: rehash count
	pinit  bool   // phash initialised for this request

	// gen is the generation of the pool's membership the tried set
	// indexes (upstream.View.Gen).
	gen uint64

	sticky []byte // Input.StickyID
	// bound is Input.Bound until the pick that takes it.
	bound *upstream.Server
	stuck bool // the server held now was chosen by sticky

	// pending says the server held now counts this request as incomplete
	// for least_time's inflight (upstream.Server.BeginPending), since
	// since, until its metric is sampled or it is released.
	pending bool
	since   time.Time

	// queued is the time this request has waited in the pool's queue so
	// far, over all its attempts: the queue's timeout bounds the sum
	// (Attempt.wait), not each wait.
	queued time.Duration
}

// Reset prepares a for a new request to pool p balanced by pol. A server
// still held from a previous request is released first as
// upstream.Neutral, so that a forgotten Release cannot leak an in-flight
// count.
func (a *Attempt) Reset(p *upstream.Pool, pol Policy, in Input) {
	if a.cur != nil {
		a.endPending()
		a.cur.Release(time.Time{}, upstream.Neutral)
	}
	// Every field set by name, the tried set's memory kept: cheaper than
	// clearing the whole struct and setting the inputs again
	// (TestResetSetsEveryField counts the fields).
	a.pool, a.policy, a.key, a.addr, a.sticky, a.bound = p, pol, in.Key, in.ClientAddr, in.StickyID, in.Bound
	a.backup, a.cur, a.stuck = false, nil, false
	a.ptries, a.phash, a.rehash, a.pinit = 0, 0, 0, false
	a.pending, a.since, a.queued = false, time.Time{}, 0
	tries, n, gen := p.Shape()
	a.tries, a.gen = tries, gen
	if in.MaxTries > 0 && a.tries > in.MaxTries {
		a.tries = in.MaxTries
	}
	a.tried.reset(n)
}

// Next picks and acquires the server for the next attempt: a usable
// server not yet tried by this request, from the primaries, or from the
// backups (with a fresh tried set) once no primary is usable. It returns
// ErrNoLiveUpstream when there is none. The server must be given back
// with Release before Next is called again; Next panics otherwise.
//
// Next does not look at Tries: the caller decides whether to retry.
func (a *Attempt) Next(now time.Time) (*upstream.Server, error) {
	if a.cur != nil {
		panic("balancer: Attempt.Next called before Release of the previous server")
	}
	if !a.backup {
		s, single := a.acquireSingle(now)
		if !single {
			s = a.pool.Acquire(false, now, (*chooser)(a))
		}
		if s != nil {
			a.hold(s, now)
			return s, nil
		}
		if !a.pool.HasBackup() {
			return nil, ErrNoLiveUpstream
		}
		a.backup = true
		a.tried.clear()
	}
	if s := a.pool.Acquire(true, now, (*chooser)(a)); s != nil {
		a.hold(s, now)
		return s, nil
	}
	return nil, ErrNoLiveUpstream
}

// acquireSingle is the pick of a single-server pool's primary tier
// (upstream.Pool.AcquireSingle) when it gives the answer of the general one,
// Acquire with the chooser: no server is bound to the request nor named by
// a sticky ID, and the policy is one whose choice in such a pool is round
// robin's (the server unless it is unusable). It does the chooser's
// bookkeeping (the tried set, its generation, Sticky). single false says it
// picked nothing, and the general pick has to.
func (a *Attempt) acquireSingle(now time.Time) (s *upstream.Server, single bool) {
	if a.bound != nil || len(a.sticky) > 0 {
		return nil, false
	}
	switch a.policy.(type) {
	case *RoundRobin, *LeastConn, *LeastTime, *IPHash, *Hash, *Random:
	default:
		return nil, false
	}
	s, gen, single := a.pool.AcquireSingle(now)
	if !single {
		return nil, false
	}
	a.stuck = false
	if gen != a.gen {
		a.tried.reset(1) // as chooser.Choose: the membership changed
		a.gen = gen
	}
	if s != nil {
		a.tried.set(0)
	}
	return s, true
}

// hold makes s the server held now, counting the request as incomplete
// on it when the policy is least_time with inflight.
func (a *Attempt) hold(s *upstream.Server, now time.Time) {
	a.cur = s
	if lt, ok := a.policy.(*LeastTime); ok && lt.Inflight {
		s.BeginPending(now)
		a.pending, a.since = true, now
	}
}

// endPending ends the held server's count of this request as incomplete.
func (a *Attempt) endPending() {
	if a.pending {
		a.cur.EndPending(a.since)
		a.pending = false
	}
}

// Sample records a measured time of the held server (upstream.Server.Sample):
// the caller reports each time as it is measured (the connect time, the
// header or first byte, the last byte). The sample of least_time's metric
// ends the request's count as incomplete. It does nothing when no server
// is held.
func (a *Attempt) Sample(m upstream.Metric, d time.Duration) {
	if a.cur == nil {
		return
	}
	a.cur.Sample(m, d)
	if !a.pending {
		return // nothing to end (the policy is not least_time inflight)
	}
	if lt, ok := a.policy.(*LeastTime); ok && lt.Metric == m {
		a.endPending()
	}
}

// Detach gives up the held server without releasing it, for a caller that
// releases it itself with upstream.Server.Release; the request stops
// counting as incomplete on it.
func (a *Attempt) Detach() {
	if a.cur != nil {
		a.endPending()
		a.cur = nil
	}
}

// Connected tells the held server that the attempt's connection is
// established (upstream.Server.Connected): the stream proxy calls it for a
// TCP connection, as nginx's stream module marks a recovering server live
// on connect rather than at the session's end. It does nothing when no
// server is held.
func (a *Attempt) Connected(now time.Time) {
	if a.cur != nil {
		a.cur.Connected(now)
	}
}

// Release gives back the server of the last Next with the attempt's
// outcome and counts one try. It returns true when this failure disabled
// the server (log "upstream server temporarily disabled" at warn). It does
// nothing when no server is held.
func (a *Attempt) Release(now time.Time, o upstream.Outcome) (disabled bool) {
	s := a.cur
	if s == nil {
		return false
	}
	a.endPending()
	a.cur = nil
	disabled = s.Release(now, o)
	switch {
	case a.pool.Single():
		a.tries = 0 // nginx: a single server is never retried
	case a.tries > 0:
		a.tries--
	}
	return disabled
}

// Sticky reports whether the server held now (or released last) was chosen
// by the request's sticky ID rather than by the policy.
func (a *Attempt) Sticky() bool { return a.stuck }

// Tries returns how many more attempts the request may make: the pool's
// Tries capped by Input.MaxTries, minus the releases so far. The proxy
// retries only while it is above zero.
func (a *Attempt) Tries() int { return a.tries }

// Server returns the server held now, or nil.
func (a *Attempt) Server() *upstream.Server { return a.cur }

// Tried reports whether this request already tried server i of the tier
// being picked from.
func (a *Attempt) Tried(i int) bool { return a.tried.has(i) }

// Key returns Input.Key.
func (a *Attempt) Key() string { return a.key }

// ClientAddr returns Input.ClientAddr.
func (a *Attempt) ClientAddr() netip.Addr { return a.addr }

// chooser adapts an Attempt to upstream.Chooser without adding a Choose
// method to Attempt's own API.
type chooser Attempt

// Choose takes the server of the request's sticky ID when it may, else runs
// the policy, and marks its choice as tried.
func (c *chooser) Choose(v upstream.View) int {
	a := (*Attempt)(c)
	a.stuck = false
	if g := v.Gen(); g != a.gen {
		// A server was added or removed since the request started: the
		// indexes moved, so what was tried is forgotten (a retry may go
		// to a server already tried, at most once per change).
		_, n, _ := v.Pool().Shape()
		a.tried.reset(max(n, v.Len()))
		a.gen = g
	}
	if s := a.bound; s != nil {
		if i := v.IndexOf(s); i >= 0 {
			a.bound = nil
			a.tried.set(i)
			return i
		}
		if s.Backup() && !v.Backup() && !s.Removed() {
			return -1 // in the backup tier, which Next looks at next
		}
		a.bound = nil
	}
	if len(a.sticky) > 0 {
		if i := v.Find(a.sticky); i >= 0 && !a.tried.has(i) && v.UsableSticky(i) {
			a.stuck = true
			a.tried.set(i)
			return i
		}
	}
	i := a.policy.Choose(v, a)
	if i >= 0 {
		a.tried.set(i)
	}
	return i
}

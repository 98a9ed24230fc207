package upstream

import (
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"
)

// group is the lock and the live states shared by every pool generation
// built for one upstream name by one Registry (or by a lone NewPool).
type group struct {
	// mu guards, for every pool built on this group: the SWRR current
	// weights (Server.current) and the accessed, checked, deficit and
	// fails writes of every liveState, and each pool's membership changes
	// (Pool.Add, Pool.Remove). It is held for one O(n) pick
	// (Pool.Acquire) or one failure/probe accounting (Release), never
	// across I/O. One lock per upstream, shared across generations,
	// because old and new pools share live states during a reload.
	mu sync.Mutex

	// statesMu guards states. It is the owning Registry's mu (a private
	// mutex for a lone NewPool); when both are taken, statesMu comes
	// first.
	statesMu *sync.Mutex
	// states maps a server identity to its live state; pools keep direct
	// pointers.
	states map[stateKey]*liveState

	// queueOverflows is the overflows count of the queues of this
	// upstream's pools (Pool.SetQueue): it outlives reloads as the group
	// does.
	queueOverflows atomic.Int64
}

// stateKey identifies a server within an upstream across reloads: its
// network and address, and which occurrence of that address it is (an
// upstream may list the same address twice; nginx keeps two peers).
type stateKey struct {
	network, addr string
	nth           int
}

// Pool is one upstream block built for one config snapshot: primary
// servers and backup servers. A Pool is safe for concurrent use, and may
// be used at the same time as the pools of other snapshots built by the
// same Registry. Its servers change only through the runtime API
// (Patch, Add, Remove); a reload builds a new Pool.
type Pool struct {
	name string
	g    *group
	// t is the membership: immutable, replaced whole under g.mu by Add and
	// Remove, loaded without the lock by the accessors and under it by
	// Acquire, so a membership change costs a pick nothing but one atomic
	// load.
	t atomic.Pointer[tiers]
	// Guarded by g.mu (written at build, before the pool is shared, or
	// with g.mu held):
	// totalWeight per tier, down servers included (nginx's total_weight).
	totalPrimary, totalBackup int
	// slow is set when a server has slow_start and the pool is not single:
	// picks then see ramped weights (View.Credit, View.ConnWeight). A pool
	// without slow_start pays one branch per server credited, nothing more.
	slow bool
	// nextID is the ID the next added server gets: IDs of removed servers
	// are not reused, as in NGINX Plus.
	nextID int
	// checks are the active health checks AttachChecks attached, for the
	// servers Add adds later.
	checks map[string]CheckPolicy
	// changed is closed (and replaced) by every Add and Remove.
	changed chan struct{}
	// noBackup makes Add refuse backup servers (NoBackup). Set before the
	// pool is shared.
	noBackup bool
	// queue is where requests wait for a server (SetQueue), nil for none.
	// Set before the pool is shared.
	queue *Queue
}

// tiers is one version of a pool's membership. Never modified once
// published in Pool.t.
type tiers struct {
	// primary and backup are the servers of each tier, in configuration
	// order, servers added at run time last.
	primary, backup []*Server
	// single is nginx's peers->single: exactly one primary (down or not)
	// and no backup. Such a server is never marked unavailable.
	single bool
	tries  int
	// gen numbers the versions of one pool's membership from 1; a pick
	// that sees a gen other than the one its request started with knows
	// that tier indexes have moved (balancer's tried set).
	gen uint64
}

// NewPool builds a pool with fresh live state that is shared with no other
// pool. The daemon uses Registry.Pool instead, so that reloads keep state.
// servers lists the upstream's servers in configuration order; those with
// Backup set form the backup tier. It fails when a setting is out of range
// or there is no primary server.
func NewPool(name string, servers []Settings) (*Pool, error) {
	g := &group{statesMu: new(sync.Mutex), states: make(map[stateKey]*liveState)}
	return buildPool(name, g, servers, time.Time{}, false)
}

// buildPool builds a pool on g, taking each server's live state from
// g.states or creating it there. The caller holds g.statesMu. now is the
// time of a reload (the start of slow_start ramps), or the zero time for
// a first build, which starts none. empty allows a pool without servers, or
// with backups alone (an upstream whose servers come from a state file,
// which the runtime API may leave so, or from DNS, whose answers come
// later).
func buildPool(name string, g *group, servers []Settings, now time.Time, empty bool) (*Pool, error) {
	p := &Pool{name: name, g: g, changed: make(chan struct{})}
	nth := make(map[stateKey]int, len(servers))
	sets := make([]Settings, 0, len(servers))
	keys := make([]stateKey, 0, len(servers))
	states := make([]*liveState, 0, len(servers))
	for _, raw := range servers {
		set, err := raw.normalized()
		if err != nil {
			return nil, fmt.Errorf("upstream %q: %w", name, err)
		}
		k := stateKey{network: set.Network, addr: set.Addr}
		k.nth = nth[k]
		nth[k]++
		sets, keys, states = append(sets, set), append(keys, k), append(states, g.states[k])
	}
	if !hasPrimary(sets) && !empty {
		return nil, fmt.Errorf("upstream %q: %w", name, ErrNoServers)
	}
	// Register the states only once every setting is valid; ramps start
	// under the group lock, which running picks of older pools hold.
	g.mu.Lock()
	for i, set := range sets {
		if states[i] == nil {
			states[i] = &liveState{down: true} // new to a running upstream: it comes up
			g.states[keys[i]] = states[i]
		}
		st := states[i]
		if !now.IsZero() && set.SlowStart > 0 && st.down && !set.Down {
			st.rampFrom = now
		}
		st.down = set.Down
	}
	g.mu.Unlock()
	t := &tiers{gen: 1}
	for i, set := range sets {
		t.add(p.newServer(set, states[i], keys[i]))
	}
	p.finish(t)
	return p, nil
}

// hasPrimary reports whether sets has a server that is not a backup.
func hasPrimary(sets []Settings) bool {
	for _, set := range sets {
		if !set.Backup {
			return true
		}
	}
	return false
}

// ErrNoServers is returned when an upstream has no primary server.
var ErrNoServers = errors.New("no servers in upstream")

// newServer makes a server of p with the next ID.
func (p *Pool) newServer(set Settings, st *liveState, k stateKey) *Server {
	var ap netip.AddrPort
	if set.Network == "tcp" {
		ap, _ = netip.ParseAddrPort(set.Addr) // addresses arrive resolved (config.resolve)
	}
	s := &Server{pool: p, st: st, key: k, set: set, id: p.nextID, backup: set.Backup, ap: ap, sid: stickyID(set)}
	p.nextID++
	return s
}

// add appends one server to its tier.
func (t *tiers) add(s *Server) {
	if s.backup {
		t.backup = append(t.backup, s)
	} else {
		t.primary = append(t.primary, s)
	}
}

// stickyID is the server's sticky ID: its route, else the hexadecimal MD5
// of its address (a unix socket's path).
func stickyID(set Settings) string {
	if set.Route != "" {
		return set.Route
	}
	sum := md5.Sum([]byte(set.Addr))
	return hex.EncodeToString(sum[:])
}

// finish computes what a pick needs once the tiers are complete, and
// publishes t. Called before p is shared or with the group lock held.
func (p *Pool) finish(t *tiers) {
	t.single = len(t.primary) == 1 && len(t.backup) == 0
	for _, tier := range [][]*Server{t.primary, t.backup} {
		for _, s := range tier {
			if !s.set.Down {
				t.tries++
			}
		}
	}
	p.t.Store(t)
	p.retotal()
}

// Name returns the upstream name.
func (p *Pool) Name() string { return p.name }

// Single reports whether the pool has exactly one primary server and no
// backup: that server is never marked unavailable and failures are not
// accounted (nginx's peers->single; a down entry counts as a server).
func (p *Pool) Single() bool { return p.t.Load().single }

// Tries returns the number of servers a request may try: the primaries and
// backups that are not down (nginx's ngx_http_upstream_tries). The proxy
// caps it with proxy_next_upstream_tries.
func (p *Pool) Tries() int { return p.t.Load().tries }

// Shape returns, from one version of the membership, what a request's
// balancing state needs at its start: Tries, the length of the longer
// tier and the membership's generation (View.Gen).
func (p *Pool) Shape() (tries, maxLen int, gen uint64) {
	t := p.t.Load()
	return t.tries, max(len(t.primary), len(t.backup)), t.gen
}

// HasBackup reports whether the pool has backup servers.
func (p *Pool) HasBackup() bool { return len(p.t.Load().backup) > 0 }

// Len returns the number of servers in a tier.
func (p *Pool) Len(backup bool) int { return len(p.t.Load().tier(backup)) }

// Server returns server i of a tier, in configuration order (servers added
// at run time last). i must be below a Len of the same membership: a pool
// that changes at run time is better walked with Servers.
func (p *Pool) Server(backup bool, i int) *Server { return p.t.Load().tier(backup)[i] }

// Servers returns the servers of one version of the membership: primaries,
// then backups. The slice is the caller's.
func (p *Pool) Servers() []*Server {
	t := p.t.Load()
	return append(append(make([]*Server, 0, len(t.primary)+len(t.backup)), t.primary...), t.backup...)
}

func (t *tiers) tier(backup bool) []*Server {
	if backup {
		return t.backup
	}
	return t.primary
}

// Chooser picks a server of one tier. Package balancer implements the
// nginx methods on top of it.
type Chooser interface {
	// Choose returns the index in v of the server to acquire, or -1 when
	// it finds none. It runs with the pool's lock held: it must be quick,
	// must not block and must not call other Pool or Server methods.
	Choose(v View) int
}

// Acquire picks a server of the primary tier (backup false) or the backup
// tier with c and acquires it: its in-flight count goes up by one and, if
// its last check is older than fail_timeout, checked = now (so a failed
// server gets one probe per window). It returns nil when c finds no server
// or the tier is empty. Every non-nil result must be released once with
// Server.Release.
func (p *Pool) Acquire(backup bool, now time.Time, c Chooser) *Server {
	s := p.acquireLocked(backup, now, c)
	if s != nil {
		s.st.requests.Add(1)
	}
	return s
}

// AcquireSingle is Acquire of the primary tier of a single-server pool
// (Single) with a Chooser that takes the server when View.Usable(0) says
// it may, as every method of package balancer does in such a pool (nginx's
// peers->single): it acquires the server then, or returns nil. gen is the
// membership's generation (View.Gen). When the pool is not single-server,
// it acquires nothing and returns single false, and the caller picks with
// Acquire. Without a Chooser to call, it costs a pick no View and no
// deferred unlock.
func (p *Pool) AcquireSingle(now time.Time) (s *Server, gen uint64, single bool) {
	p.g.mu.Lock()
	t := p.t.Load()
	if !t.single {
		p.g.mu.Unlock()
		return nil, 0, false
	}
	if s = t.primary[0]; !s.drain && s.usable(now, true) {
		// Acquire's bookkeeping for a single pool, which probes nothing.
		s.st.selected = now
		s.st.active.Add(1)
	} else {
		s = nil
	}
	p.g.mu.Unlock()
	if s != nil {
		s.st.requests.Add(1)
	}
	return s, t.gen, true
}

// acquireLocked is the locked part of Acquire. The deferred unlock keeps
// the upstream usable if a Chooser panics.
func (p *Pool) acquireLocked(backup bool, now time.Time, c Chooser) *Server {
	p.g.mu.Lock()
	defer p.g.mu.Unlock()
	t := p.t.Load()
	tier := t.tier(backup)
	if len(tier) == 0 {
		return nil
	}
	i := c.Choose(View{pool: p, t: t, tier: tier, now: now, backup: backup})
	if i < 0 || i >= len(tier) {
		return nil
	}
	s := tier[i]
	if !t.single && now.Sub(s.st.checked) > s.set.FailTimeout {
		// A probe of a failed server makes it unavail again while it runs.
		s.trackDown(now, false)
		s.st.checked = now
		s.trackDown(now, true)
	}
	s.st.selected = now
	s.st.active.Add(1)
	return s
}

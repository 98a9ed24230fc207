package upstream

import (
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"net/netip"
	"sync"
	"time"
)

// group is the lock and the live states shared by every pool generation
// built for one upstream name by one Registry (or by a lone NewPool).
type group struct {
	// mu guards, for every pool built on this group: the SWRR current
	// weights (Server.current) and the accessed, checked, deficit and
	// fails writes of every liveState. It is held for one O(n) pick
	// (Pool.Acquire) or one failure/probe accounting (Release), never
	// across I/O. One lock per upstream, shared across generations,
	// because old and new pools share live states during a reload.
	mu sync.Mutex

	// states maps a server identity to its live state. Read and written
	// only with the owning Registry's mu held; pools keep direct pointers.
	states map[stateKey]*liveState
}

// stateKey identifies a server within an upstream across reloads: its
// network and address, and which occurrence of that address it is (an
// upstream may list the same address twice; nginx keeps two peers).
type stateKey struct {
	network, addr string
	nth           int
}

// Pool is one upstream block built for one config snapshot: primary
// servers and backup servers, each tier in configuration order. A Pool is
// immutable after it is built, safe for concurrent use, and may be used at
// the same time as the pools of other snapshots built by the same Registry.
type Pool struct {
	name    string
	g       *group
	primary []Server
	backup  []Server
	// single is nginx's peers->single: exactly one primary (down or not)
	// and no backup. Such a server is never marked unavailable.
	single bool
	tries  int
	// totalWeight per tier, down servers included (nginx's total_weight).
	totalPrimary, totalBackup int
	// slow is set when a server has slow_start and the pool is not single:
	// picks then see ramped weights (View.Credit, View.ConnWeight). A pool
	// without slow_start pays one branch per server credited, nothing more.
	slow bool
}

// NewPool builds a pool with fresh live state that is shared with no other
// pool. The daemon uses Registry.Pool instead, so that reloads keep state.
// servers lists the upstream's servers in configuration order; those with
// Backup set form the backup tier. It fails when a setting is out of range
// or there is no primary server.
func NewPool(name string, servers []Settings) (*Pool, error) {
	g := &group{states: make(map[stateKey]*liveState)}
	return buildPool(name, g, servers, time.Time{})
}

// buildPool builds a pool on g, taking each server's live state from
// g.states or creating it there. The caller serialises calls for one g.
// now is the time of a reload (the start of slow_start ramps), or the zero
// time for a first build, which starts none.
func buildPool(name string, g *group, servers []Settings, now time.Time) (*Pool, error) {
	p := &Pool{name: name, g: g}
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
	for i, set := range sets {
		p.add(set, states[i])
	}
	if len(p.primary) == 0 {
		return nil, fmt.Errorf("upstream %q: %w", name, ErrNoServers)
	}
	p.finish()
	return p, nil
}

// ErrNoServers is returned when an upstream has no primary server.
var ErrNoServers = errors.New("no servers in upstream")

// add appends one server to its tier.
func (p *Pool) add(set Settings, st *liveState) {
	tier := &p.primary
	if set.Backup {
		tier = &p.backup
	}
	var ap netip.AddrPort
	if set.Network == "tcp" {
		ap, _ = netip.ParseAddrPort(set.Addr) // addresses arrive resolved (config.resolve)
	}
	*tier = append(*tier, Server{pool: p, st: st, set: set, index: len(*tier), backup: set.Backup, ap: ap, sid: stickyID(set)})
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

// finish computes what a pick needs once the tiers are complete.
func (p *Pool) finish() {
	p.single = len(p.primary) == 1 && len(p.backup) == 0
	for _, tier := range [][]Server{p.primary, p.backup} {
		for i := range tier {
			p.slow = p.slow || !p.single && tier[i].set.SlowStart > 0
		}
	}
	for i := range p.primary {
		p.totalPrimary += p.primary[i].set.Weight
		if !p.primary[i].set.Down {
			p.tries++
		}
	}
	for i := range p.backup {
		p.totalBackup += p.backup[i].set.Weight
		if !p.backup[i].set.Down {
			p.tries++
		}
	}
}

// Name returns the upstream name.
func (p *Pool) Name() string { return p.name }

// Single reports whether the pool has exactly one primary server and no
// backup: that server is never marked unavailable and failures are not
// accounted (nginx's peers->single; a down entry counts as a server).
func (p *Pool) Single() bool { return p.single }

// Tries returns the number of servers a request may try: the primaries and
// backups that are not down (nginx's ngx_http_upstream_tries). The proxy
// caps it with proxy_next_upstream_tries.
func (p *Pool) Tries() int { return p.tries }

// HasBackup reports whether the pool has backup servers.
func (p *Pool) HasBackup() bool { return len(p.backup) > 0 }

// Len returns the number of servers in a tier.
func (p *Pool) Len(backup bool) int { return len(p.tier(backup)) }

// Server returns server i of a tier, in configuration order.
func (p *Pool) Server(backup bool, i int) *Server { return &p.tier(backup)[i] }

func (p *Pool) tier(backup bool) []Server {
	if backup {
		return p.backup
	}
	return p.primary
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
	tier := p.tier(backup)
	if len(tier) == 0 {
		return nil
	}
	s := p.acquireLocked(tier, backup, now, c)
	if s != nil {
		s.st.requests.Add(1)
	}
	return s
}

// acquireLocked is the locked part of Acquire. The deferred unlock keeps
// the upstream usable if a Chooser panics.
func (p *Pool) acquireLocked(tier []Server, backup bool, now time.Time, c Chooser) *Server {
	p.g.mu.Lock()
	defer p.g.mu.Unlock()
	i := c.Choose(View{pool: p, tier: tier, now: now, backup: backup})
	if i < 0 || i >= len(tier) {
		return nil
	}
	s := &tier[i]
	if !p.single && now.Sub(s.st.checked) > s.set.FailTimeout {
		s.st.checked = now
	}
	s.st.active.Add(1)
	return s
}

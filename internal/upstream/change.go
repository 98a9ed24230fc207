package upstream

import (
	"errors"
	"fmt"
	"slices"
	"time"
)

// ErrNoBackup is returned by Pool.Add for a backup server in a pool built
// without backups allowed (Pool.NoBackup: ip_hash, hash and random).
var ErrNoBackup = errors.New("upstream has no backup")

// NoBackup makes Add refuse backup servers, as NGINX Plus does for an
// upstream whose balancing method has no backup tier. Call it before the
// pool is shared.
func (p *Pool) NoBackup() { p.noBackup = true }

// Add adds a server to the pool at run time (the runtime API's POST) and
// returns its status; drain adds it in drain mode (Pool.Patch). It gets the next unused ID and takes part in the
// picks that start after Add returns; with slow_start its weight ramps up
// from now, as for a server that comes back (nginx ramps a server NGINX
// Plus adds). A server with the address of one the pool already has is a
// second server, as a second server line would be. The change lives in
// this pool: a reload builds new pools from the configuration (or the
// state file).
func (p *Pool) Add(raw Settings, drain bool, now time.Time) (ServerStatus, error) {
	set, err := raw.normalized()
	if err != nil {
		return ServerStatus{}, fmt.Errorf("upstream %q: %w", p.name, err)
	}
	if set.Backup && p.noBackup {
		return ServerStatus{}, fmt.Errorf("upstream %q: %w", p.name, ErrNoBackup)
	}
	g := p.g
	g.statesMu.Lock()
	defer g.statesMu.Unlock()
	g.mu.Lock()
	defer g.mu.Unlock()
	// A fresh state under the first free key: a server removed and added
	// again starts over, as in NGINX Plus.
	k := stateKey{network: set.Network, addr: set.Addr}
	for g.states[k] != nil {
		k.nth++
	}
	st := &liveState{down: set.Down}
	g.states[k] = st
	s := p.newServer(set, st, k)
	s.drain = drain && !set.Down
	if !set.Down {
		st.health.attach(p.checks)
	}
	old := p.t.Load()
	t := &tiers{primary: old.primary, backup: old.backup, gen: old.gen + 1}
	if set.Backup {
		t.backup = append(slices.Clip(old.backup), s)
	} else {
		t.primary = append(slices.Clip(old.primary), s)
	}
	p.finish(t)
	if set.SlowStart > 0 && !set.Down && !t.single {
		st.rampFrom = now
	}
	p.notify()
	return p.statusOf(s, now), nil
}

// Remove takes the server whose ID is id out of the pool (the runtime
// API's DELETE): picks that start after Remove returns never see it;
// requests in flight to it finish normally and release it as usual (its
// *Server stays valid). Its live state is forgotten, so a server added
// again at that address starts afresh.
func (p *Pool) Remove(id int) error {
	g := p.g
	g.statesMu.Lock()
	defer g.statesMu.Unlock()
	g.mu.Lock()
	defer g.mu.Unlock()
	s := p.byID(id)
	if s == nil {
		return fmt.Errorf("upstream %q: server %d: %w", p.name, id, ErrServerNotFound)
	}
	old := p.t.Load()
	t := &tiers{primary: without(old.primary, s), backup: without(old.backup, s), gen: old.gen + 1}
	s.removed.Store(true)
	if g.states[s.key] == s.st {
		delete(g.states, s.key)
	}
	p.finish(t)
	p.notify()
	return nil
}

// without returns a new slice of tier without s, or tier itself when s is
// not in it.
func without(tier []*Server, s *Server) []*Server {
	i := slices.Index(tier, s)
	if i < 0 {
		return tier
	}
	return slices.Concat(tier[:i], tier[i+1:])
}

// notify wakes those waiting on Changed. Called with the group lock held.
func (p *Pool) notify() {
	close(p.changed)
	p.changed = make(chan struct{})
	p.queue.Wake() // an added server may take a waiting request
}

// Changed returns a channel closed at the next Add or Remove: active
// health checks wait on it to start checking added servers.
func (p *Pool) Changed() <-chan struct{} {
	p.g.mu.Lock()
	defer p.g.mu.Unlock()
	return p.changed
}

// Up returns the servers that are not down (by configuration or a runtime
// patch): primaries, then backups. The slice is the caller's.
func (p *Pool) Up() []*Server {
	p.g.mu.Lock()
	defer p.g.mu.Unlock()
	var out []*Server
	t := p.t.Load()
	for _, tier := range [][]*Server{t.primary, t.backup} {
		for _, s := range tier {
			if !s.set.Down {
				out = append(out, s)
			}
		}
	}
	return out
}

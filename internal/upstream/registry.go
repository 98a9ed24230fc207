package upstream

import (
	"sync"
	"time"
)

// Registry keeps the live state of upstream servers across config
// reloads. The daemon owns one; there is no package-level registry.
//
// A reload builds new pools with Registry.Pool: a server with the same
// upstream name and address as before keeps its fails, checked, accessed,
// in-flight count and effective weight, while the new settings (weight,
// max_fails, ...) apply to picks through the new pool. Old pools keep
// working while their requests drain; old and new pools of one upstream
// share one lock, so using them concurrently is race-free. When the new
// snapshot is live, Retain drops the state of servers no longer referenced.
type Registry struct {
	// mu guards groups and current. Held while building a pool and in
	// Retain and Snapshot, never during a pick.
	mu      sync.Mutex
	groups  map[string]*group
	current []*Pool
	// now is the clock that dates a reload's slow_start ramps.
	now func() time.Time
}

// NewRegistry returns an empty registry on the system clock.
func NewRegistry() *Registry { return NewRegistryClock(time.Now) }

// NewRegistryClock returns an empty registry whose reloads read the time
// from now (the start of the slow_start ramp of a server that a reload
// adds or brings up). Tests pass a fake clock.
func NewRegistryClock(now func() time.Time) *Registry {
	return &Registry{groups: make(map[string]*group), now: now}
}

// Pool builds the pool of upstream name for a new snapshot from its
// servers in configuration order (Backup ones form the backup tier),
// reusing the live state of servers this registry already knows under
// that name and address. A failed build leaves the existing pools and
// their state untouched (at most it registers unused state that the next
// Retain drops).
func (r *Registry) Pool(name string, servers []Settings) (*Pool, error) {
	return r.pool(name, servers, false)
}

// StatePool is Pool for an upstream whose servers come from a state file
// (NGINX Plus's "state" directive): servers may be empty, and the runtime
// API adds them.
func (r *Registry) StatePool(name string, servers []Settings) (*Pool, error) {
	return r.pool(name, servers, true)
}

func (r *Registry) pool(name string, servers []Settings, empty bool) (*Pool, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	g := r.groups[name]
	var now time.Time // a new upstream starts no ramp
	if g == nil {
		g = &group{statesMu: &r.mu, states: make(map[stateKey]*liveState)}
		r.groups[name] = g
	} else {
		now = r.now()
	}
	return buildPool(name, g, servers, now, empty)
}

// Retain makes pools the registry's current pools (those Snapshot
// reports) and forgets the state of every server none of them uses. Call
// it once a new snapshot is live. Pools that still drain keep working:
// they hold their state directly; it is simply no longer shared with
// pools built later.
func (r *Registry) Retain(pools ...*Pool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	keep := make(map[*liveState]bool)
	groups := make(map[*group]bool)
	for _, p := range pools {
		groups[p.g] = true
		for _, s := range p.Servers() {
			keep[s.st] = true
		}
	}
	for name, g := range r.groups {
		for k, st := range g.states {
			if !keep[st] {
				delete(g.states, k)
			}
		}
		if len(g.states) == 0 && !groups[g] {
			delete(r.groups, name)
		}
	}
	r.current = append(r.current[:0:0], pools...)
}

// Snapshot returns the state of every server of the current pools (the
// last Retain), upstream by upstream, in the order given to Retain.
func (r *Registry) Snapshot(now time.Time) []UpstreamStatus {
	r.mu.Lock()
	pools := r.current
	r.mu.Unlock()
	out := make([]UpstreamStatus, 0, len(pools))
	for _, p := range pools {
		out = append(out, UpstreamStatus{Name: p.name, Servers: p.Snapshot(now, nil)})
	}
	return out
}

// known reports how many server states the registry keeps for name (for
// tests).
func (r *Registry) known(name string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	if g := r.groups[name]; g != nil {
		return len(g.states)
	}
	return 0
}

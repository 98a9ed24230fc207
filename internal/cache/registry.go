package cache

import (
	"slices"
	"sync"
	"time"
)

// Registry keeps the zones of a process across reloads: a reload that keeps
// a zone's name, directory and levels gets the same Zone, index and all, as
// nginx keeps a shared memory zone whose name and size are unchanged. It is
// owned by the daemon.
type Registry struct {
	now func() time.Time

	mu    sync.Mutex // guards zones
	zones map[string]*Zone
}

// NewRegistry returns an empty registry; now is the zones' clock (nil means
// time.Now).
func NewRegistry(now func() time.Time) *Registry {
	return &Registry{now: now, zones: map[string]*Zone{}}
}

// Zone returns the zone for o: the registry's own when one with o's name,
// directory, levels and keys size exists (its limits, manager's, loader's
// and purger's pace take o's values), else a new one opened from its directory.
func (r *Registry) Zone(o Options) (*Zone, error) {
	if o.Now == nil {
		o.Now = r.now
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if z := r.zones[o.Name]; z != nil && z.opts.Dir == o.Dir && slices.Equal(z.opts.Levels, o.Levels) && z.opts.KeysSize == o.KeysSize {
		z.mu.Lock()
		z.opts.MaxSize, z.opts.Inactive, z.opts.MinFree = o.MaxSize, o.Inactive, o.MinFree
		z.opts.Manager, z.opts.Loader, z.opts.LoaderDelay = o.Manager, o.Loader, o.LoaderDelay
		z.opts.Debug, z.opts.Notice, z.opts.Crit, z.opts.Alert = o.Debug, o.Notice, o.Crit, o.Alert
		z.opts.Purger, z.opts.Purge = o.Purger, o.Purge
		z.mu.Unlock()
		return z, nil
	}
	z, err := NewZone(o)
	if err != nil {
		return nil, err
	}
	r.zones[o.Name] = z
	return z, nil
}

// Retain keeps the zones of keep and forgets the others: the zones of the
// configuration in force, after a reload. A zone forgotten is no longer
// handed out; the requests that hold it finish with it, and a later
// configuration that names it again gets a new one, opened from its
// directory, as nginx makes a new shared memory zone for a zone a reload
// dropped. Without it, every zone a reload renamed stayed in memory with
// its index for the process's life.
func (r *Registry) Retain(keep ...*Zone) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for name, z := range r.zones {
		if !slices.Contains(keep, z) {
			delete(r.zones, name)
		}
	}
}

// Unopened returns a zone for o that touches no disk, for a configuration
// test: it answers every lookup as a miss and stores nothing.
func Unopened(o Options) *Zone {
	z := newZone(o)
	z.dry = true
	return z
}

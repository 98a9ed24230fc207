package cache

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Pace is how a zone's manager or loader works, in rounds as nginx's do: a
// round ends after Files entries or after Threshold of time, whichever
// comes first, then the work pauses for Sleep (proxy_cache_path's
// manager_files, manager_threshold, manager_sleep and their loader_ twins).
// The zero Pace is nginx's defaults (DefaultPace).
type Pace struct {
	Files            int
	Sleep, Threshold time.Duration
}

// DefaultPace is nginx's manager_* and loader_* defaults: 100 files, 200ms,
// then 50ms of sleep.
var DefaultPace = Pace{Files: 100, Sleep: 50 * time.Millisecond, Threshold: 200 * time.Millisecond}

// LoaderDelayNginx is how long after start nginx's cache loader process
// begins: a minute.
const LoaderDelayNginx = time.Minute

// managerMaxWait is the longest the manager sleeps: nginx's wakes at least
// every 10 seconds.
const managerMaxWait = 10 * time.Second

// withDefaults is DefaultPace for the zero Pace, else p.
func (p Pace) withDefaults() Pace {
	if p == (Pace{}) {
		return DefaultPace
	}
	return p
}

// round counts one round's work against its pace.
type round struct {
	pace  Pace
	start time.Time
	files int
}

func newRound(p Pace) *round { return &round{pace: p.withDefaults(), start: time.Now()} }

// done counts one entry and reports whether the round is over.
func (r *round) done() bool {
	r.files++
	return r.files >= r.pace.Files || time.Since(r.start) >= r.pace.Threshold
}

// Run is the zone's manager, and its loader while the zone is cold, until
// ctx ends; it returns when both have stopped. The loader starts
// Options.LoaderDelay after Run and reads the directory in rounds (see
// Load); the manager runs a round (Manage) and sleeps for as long as the
// round says, and runs the purger's rounds (PurgeRound) likewise. One Run at a time: the daemon's snapshot owns it and stops it
// before the next snapshot starts its own.
func (z *Zone) Run(ctx context.Context) {
	if z.dry {
		return
	}
	z.mu.Lock()
	cold, delay := z.cold, z.opts.LoaderDelay
	z.mu.Unlock()
	loaded := make(chan struct{})
	go func() {
		defer close(loaded)
		if cold && sleep(ctx, delay) {
			_ = z.Load(ctx) // an unreadable directory stays cold: lookups read the files
		}
	}()
	z.manage(ctx)
	<-loaded
}

// manage runs the manager's rounds (Manage) and the purger's (PurgeRound)
// in one goroutine, each when it is due, until ctx ends; a purge wakes it.
func (z *Zone) manage(ctx context.Context) {
	manageAt, purgeAt := time.Now(), time.Now()
	for {
		now := time.Now()
		if !now.Before(manageAt) {
			manageAt = now.Add(max(z.Manage(), time.Millisecond))
		}
		if !now.Before(purgeAt) {
			purgeAt = now.Add(max(z.PurgeRound(), time.Millisecond))
		}
		t := time.NewTimer(min(time.Until(manageAt), time.Until(purgeAt)))
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-z.wake:
			purgeAt = time.Now()
		case <-t.C:
		}
		t.Stop()
	}
}

// sleep waits d, or less when ctx ends first: false then.
func sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// Manage is one round of the manager (nginx's ngx_http_file_cache_manager):
// it removes the entries no request used for inactive, least recently used
// first, then, while the files take max_size or more or the file system has
// min_free or less free, the least recently used entries no request is
// updating. A round removes at most Manager.Files entries and lasts at most
// Manager.Threshold; it returns when the next one is due: Manager.Sleep
// after a round a limit ended, else when the least recently used entry
// turns inactive (in whole seconds, as nginx counts), at most 10 seconds.
// A request that has an entry open goes on reading it when it is removed.
func (z *Zone) Manage() time.Duration {
	z.mu.Lock()
	o := z.opts
	z.mu.Unlock()
	r := newRound(o.Manager)
	next, locked := z.expire(r, o.Inactive)
	for _, k := range locked {
		logTo(o.Alert, "ignore long locked inactive cache entry "+k.String()+", count:1")
	}
	if next == 0 {
		return r.pace.Sleep
	}
	for z.over(o) {
		if wait := z.forcedExpire(); wait > 0 {
			return wait
		}
		if r.done() {
			return r.pace.Sleep
		}
	}
	return next
}

// expire removes the entries no request used for inactive, from the least
// recently used end (ngx_http_file_cache_expire). It returns 0 when the
// round's limits stopped it, else how long until the next entry turns
// inactive (at most managerMaxWait), and the keys of the inactive entries it
// kept because a request is filling them.
func (z *Zone) expire(r *round, inactive time.Duration) (next time.Duration, locked []Key) {
	now := z.now().Unix()
	secs := int64(inactive / time.Second)
	z.mu.Lock()
	defer z.mu.Unlock()
	for {
		e := z.lru.Back()
		if e == nil {
			return managerMaxWait, locked
		}
		n := e.Value.(*node)
		if wait := n.lastUse.Unix() + secs - now; wait > 0 {
			return min(time.Duration(wait)*time.Second, managerMaxWait), locked
		}
		if n.updating {
			// nginx's "ignore long locked inactive cache entry": it
			// stays, as if just used.
			n.lastUse = time.Unix(now, 0)
			z.lru.MoveToFront(e)
			locked = append(locked, n.key)
		} else {
			z.remove(n)
		}
		if r.done() {
			return 0, locked
		}
	}
}

// over reports whether the files take max_size or more (counted in blocks,
// as nginx does) or the file system has min_free or less free.
func (z *Zone) over(o Options) bool {
	z.mu.Lock()
	size := z.size
	z.mu.Unlock()
	if o.MaxSize > 0 && size >= o.MaxSize/z.bsize {
		return true
	}
	if o.MinFree > 0 {
		if free := fsAvailable(o.Dir); free >= 0 && free <= o.MinFree {
			return true
		}
	}
	return false
}

// forcedExpire removes the least recently used entry no request is
// updating (ngx_http_file_cache_forced_expire) and returns 0; when the 20
// least recently used entries are all being updated it removes none and
// returns a second, when there are none at all 10 seconds.
func (z *Zone) forcedExpire() time.Duration {
	z.mu.Lock()
	defer z.mu.Unlock()
	tries := 20
	for e := z.lru.Back(); e != nil; e = e.Prev() {
		n := e.Value.(*node)
		if !n.updating {
			z.remove(n)
			return 0
		}
		if tries--; tries == 0 {
			return time.Second
		}
	}
	return managerMaxWait
}

// Load is the zone's loader (nginx's cache loader): it reads the index back
// from the zone's files in rounds of Loader.Files entries or
// Loader.Threshold of time, sleeping Loader.Sleep between them, until ctx
// ends. Every complete entry becomes a known key, used once, as if just
// now; unfinished temporary files are removed, except those of a process
// that still runs (tempOwnerRuns). When the whole directory is read the
// zone is no longer cold.
func (z *Zone) Load(ctx context.Context) error {
	z.mu.Lock()
	o := z.opts
	z.mu.Unlock()
	r := newRound(o.Loader)
	err := filepath.WalkDir(o.Dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		z.loadFile(path, d)
		if r.done() {
			if !sleep(ctx, r.pace.Sleep) {
				return ctx.Err()
			}
			r = newRound(o.Loader)
		}
		return ctx.Err()
	})
	if err != nil {
		return err
	}
	z.mu.Lock()
	z.cold = false
	size := z.size * z.bsize
	z.mu.Unlock()
	logTo(o.Notice, fmt.Sprintf("http file cache: %s %.3fM, bsize: %d", o.Dir, float64(size)/(1024*1024), z.bsize))
	return nil
}

// logTo logs msg with log, when there is one.
func logTo(log func(string), msg string) {
	if log != nil {
		log(msg)
	}
}

// loadFile reads the file at path into the index when it is a complete
// entry, removes it when it is an unfinished one, and leaves what is
// neither alone.
func (z *Zone) loadFile(path string, d fs.DirEntry) {
	name := d.Name()
	if strings.HasSuffix(name, tmpSuffix) {
		if !tempOwnerRuns(name) {
			os.Remove(path)
		}
		return
	}
	k, ok := parseKey(name)
	if !ok || z.path(k) != path {
		return
	}
	e, err := openEntry(path)
	if err != nil {
		os.Remove(path)
		return
	}
	e.Close()
	if z.purged(e.Key, e.Stored) {
		os.Remove(path)
		return
	}
	info, err := d.Info()
	if err != nil {
		return
	}
	z.mu.Lock()
	defer z.mu.Unlock()
	z.record(k, &e.Meta, diskSize(info), z.now())
	if n := z.nodes[k]; n.uses == 0 {
		n.uses = 1 // nginx's loader counts a use; a lookup counts its own
	}
}

// probe looks for the file of k on disk, for a lookup while the zone is
// cold, and records it in the index when it is a complete entry (z.mu not
// held: the file is read without it).
func (z *Zone) probe(k Key, now time.Time) {
	path := z.path(k)
	info, err := os.Stat(path)
	if err != nil {
		return
	}
	e, err := openEntry(path)
	if err != nil {
		return // the loader removes it
	}
	e.Close()
	if z.purged(e.Key, e.Stored) {
		return // Open and the loader remove it
	}
	z.mu.Lock()
	defer z.mu.Unlock()
	z.record(k, &e.Meta, diskSize(info), now)
}

// record puts a file found on disk for k in the index, used at now (z.mu
// held). A key the index has a file for only becomes the most recently
// used (nginx's loader does so), and one a request is filling is left to
// it.
func (z *Zone) record(k Key, m *Meta, size int64, now time.Time) {
	n := z.nodes[k]
	switch {
	case n == nil:
		n = z.add(k, now)
	case n.exists:
		n.lastUse = now
		z.lru.MoveToFront(n.elem)
		return
	case n.updating:
		return
	}
	n.exists, n.size, n.expires, n.vary, n.variant = true, z.blocks(size), m.Expires, m.Vary, m.Variant
	z.size += n.size
}

package cache

import (
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// PurgerPace is NGINX Plus's purger_files, purger_sleep and
// purger_threshold defaults: 10 files, 50ms, then 50ms of sleep.
var PurgerPace = Pace{Files: 10, Sleep: 50 * time.Millisecond, Threshold: 50 * time.Millisecond}

// purge is a purge whose entries may still be on disk: a wildcard one (the
// entries whose key starts with key) or an exact one of a key with Vary
// variants, which are stored under keys of their own. It covers the
// entries stored at or before at.
type purge struct {
	key  string
	wild bool
	at   int64  // Unix nanoseconds
	seq  uint64 // the zone's count of purges when it was recorded
}

// matches reports whether an entry with key string key, stored at stored,
// is purged by p.
func (p purge) matches(key string, stored time.Time) bool {
	if stored.UnixNano() > p.at {
		return false
	}
	if p.wild {
		return strings.HasPrefix(key, p.key)
	}
	return key == p.key
}

// sweep is the purger's walk through the zone's files: the files left to
// look at, and the zone's count of purges when it started (the purges up to
// then are done when it ends).
type sweep struct {
	files []string
	upTo  uint64
}

// Purge removes the entry of the key string key (NGINX Plus's
// proxy_cache_purge for a key without a trailing "*") and reports whether
// there was one (a stored error, StoreError, counts). A request reading
// the entry goes on reading it; one filling it stores its response when
// done. The variants of a key with Vary are stored under keys of their
// own: they are purged as a wildcard purge's entries are, when a request
// reaches them or the purger does.
func (z *Zone) Purge(key string) bool {
	if z.dry {
		return false
	}
	k, now := Sum(key), z.now()
	z.mu.Lock()
	n := z.nodes[k]
	if (n == nil || !n.exists) && z.cold {
		z.mu.Unlock()
		z.probe(k, now)
		z.mu.Lock()
		n = z.nodes[k]
	}
	defer z.mu.Unlock()
	hadError := n != nil && n.errStatus != 0
	if hadError {
		n.errStatus, n.errExpires = 0, time.Time{} // a stored error goes too
	}
	if n == nil || !n.exists {
		return hadError
	}
	if n.vary != "" {
		z.addPurge(purge{key: key, at: now.UnixNano()})
	}
	if n.updating {
		_ = os.Remove(z.path(k))
		z.size -= n.size
		n.exists, n.size = false, 0
	} else {
		z.remove(n)
	}
	return true
}

// PurgePrefix purges every entry whose key string starts with prefix
// (NGINX Plus's wildcard purge, a key ending in "*"): a request that reaches
// one of them from now on finds none and the file is removed, the manager
// removes them when inactive, and the purger (Options.Purger) removes them
// from disk in the background.
func (z *Zone) PurgePrefix(prefix string) {
	if z.dry {
		return
	}
	z.mu.Lock()
	z.addPurge(purge{key: prefix, wild: true, at: z.now().UnixNano()})
	z.mu.Unlock()
	select {
	case z.wake <- struct{}{}:
	default:
	}
}

// addPurge adds p to the zone's purges, replacing an older one of the same
// key (z.mu held).
func (z *Zone) addPurge(p purge) {
	z.purgeSeq++
	p.seq = z.purgeSeq
	for i, q := range z.purges {
		if q.key == p.key && q.wild == p.wild {
			z.purges[i] = p
			return
		}
	}
	z.purges = append(z.purges, p)
	z.purging.Store(true)
}

// purged reports whether a purge covers the entry with key string key
// stored at stored. Without purges it costs one atomic load.
func (z *Zone) purged(key string, stored time.Time) bool {
	if !z.purging.Load() {
		return false
	}
	z.mu.Lock()
	defer z.mu.Unlock()
	return z.covered(key, stored)
}

// covered is purged with z.mu held.
func (z *Zone) covered(key string, stored time.Time) bool {
	for _, p := range z.purges {
		if p.matches(key, stored) {
			return true
		}
	}
	return false
}

// dropPurges forgets the purges done says are done (z.mu held).
func (z *Zone) dropPurges(done func(purge) bool) {
	z.purges = slices.DeleteFunc(z.purges, done)
	z.purging.Store(len(z.purges) > 0)
}

// PurgeRound is one round of the cache purger (NGINX Plus's purger=on): it
// looks at up to Purger's Files entry files on disk, for at most its
// Threshold, and removes those a wildcard purge covers; when it has looked
// at every file, the purges recorded before the walk started are done. It
// returns when the next round is due: the pace's Sleep while there is work,
// else 10 seconds (a new purge wakes Run at once). With purger=off it only
// forgets the purges whose entries are all gone by now: those older than
// inactive, as the manager has removed every entry unused since then and a
// request removes a purged entry it reaches.
func (z *Zone) PurgeRound() time.Duration {
	z.mu.Lock()
	o := z.opts
	if !o.Purger {
		if len(z.purges) > 0 {
			old := z.now().Add(-o.Inactive - managerMaxWait).UnixNano()
			z.dropPurges(func(p purge) bool { return p.at <= old })
		}
		z.mu.Unlock()
		return managerMaxWait
	}
	if z.sweep == nil && len(z.purges) > 0 {
		z.sweep = &sweep{upTo: z.purgeSeq}
		z.mu.Unlock()
		files := z.entryFiles()
		z.mu.Lock()
		z.sweep.files = files
	}
	sw := z.sweep
	z.mu.Unlock()
	if sw == nil {
		return managerMaxWait
	}
	pace := o.Purge
	if pace == (Pace{}) {
		pace = PurgerPace
	}
	r := newRound(pace)
	for len(sw.files) > 0 {
		path := sw.files[0]
		sw.files = sw.files[1:]
		z.purgeFile(path)
		if r.done() {
			break
		}
	}
	if len(sw.files) == 0 {
		z.mu.Lock()
		z.dropPurges(func(p purge) bool { return p.seq <= sw.upTo }) // recorded before the walk began
		z.sweep = nil
		more := len(z.purges) > 0
		z.mu.Unlock()
		if !more {
			return managerMaxWait
		}
	}
	return r.pace.Sleep
}

// entryFiles lists the zone's entry files (not the temporary ones).
func (z *Zone) entryFiles() []string {
	var files []string
	_ = filepath.WalkDir(z.opts.Dir, func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && !strings.HasSuffix(d.Name(), tmpSuffix) {
			files = append(files, path)
		}
		return nil
	})
	return files
}

// purgeFile removes the entry file at path when a purge covers it.
func (z *Zone) purgeFile(path string) {
	k, ok := parseKey(filepath.Base(path))
	if !ok || z.path(k) != path {
		return
	}
	e, err := openEntry(path)
	if err != nil {
		return
	}
	e.Close()
	if z.purged(e.Key, e.Stored) {
		z.forgetStored(k, e.Stored)
	}
}

// forgetStored removes the file of k from disk and the index, unless a
// request stored a newer one meanwhile (stored is the one purged).
func (z *Zone) forgetStored(k Key, stored time.Time) {
	z.mu.Lock()
	defer z.mu.Unlock()
	e, err := openEntry(z.path(k))
	if err != nil {
		return
	}
	e.Close()
	if !e.Stored.Equal(stored) {
		return
	}
	_ = os.Remove(z.path(k))
	if n := z.nodes[k]; n != nil && n.exists {
		z.size -= n.size
		n.exists, n.size = false, 0
	}
}

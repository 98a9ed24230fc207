package cache

import (
	"context"
	"errors"
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
// from the zone's files in rounds of Loader.Files files or
// Loader.Threshold of time, sleeping Loader.Sleep between them, until ctx
// ends. It decides about each file as nginx 1.22's loader does
// (ngx_http_file_cache_manage_file and its tree walk): see loadEntry and
// loadFile. A directory whose path ends in "/temp" is not entered. The
// zone's directory may itself be a symbolic link, but no link under it is
// followed: the loader enters no linked directory, reads no file through a
// link, and removes nothing outside the zone's directory. When the whole
// directory is read the zone is no longer cold.
func (z *Zone) Load(ctx context.Context) error {
	z.mu.Lock()
	o := z.opts
	z.mu.Unlock()
	r := newRound(o.Loader)
	// The separator makes WalkDir enter the directory when it is a link.
	root := o.Dir + string(filepath.Separator)
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		switch {
		case err != nil:
			return err
		case d.IsDir():
			if path != root && strings.HasSuffix(path, string(filepath.Separator)+"temp") {
				return filepath.SkipDir // ngx_http_file_cache_manage_directory
			}
			return nil
		}
		if !z.loadEntry(path, d, &o) {
			return ctx.Err()
		}
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

// Names the loader tells apart, as nginx's: a cache file's name ends in the
// 32 hex digits of its key; one of nginx's temporary files (use_temp_path=off)
// in a dot and 10 digits.
const (
	keyHexLen     = 2 * len(Key{})
	nginxTempTail = 1 + 10
)

// loadEntry decides about an entry of the directory that is not a
// directory, and reports whether it was a file (the rounds count files). A
// regular file goes to loadFile. Anything else is looked at through
// stat(2), as nginx's tree walk does: when that fails (a link that leads
// nowhere) the entry stays, with nginx's crit line; a link to a regular file
// is judged as one by loadFile (the link is what is removed or indexed;
// nothing is read through it); a FIFO, a socket, a device, or a link to one,
// is removed. A link to a directory stays and is not entered: nginx's loader
// walks into it, and removes the files there it does not like, outside the
// cache directory; fulcrum's touches nothing outside it.
func (z *Zone) loadEntry(path string, d fs.DirEntry, o *Options) bool {
	if d.Type().IsRegular() {
		info, err := d.Info()
		if err != nil {
			return false // gone meanwhile
		}
		z.loadFile(path, info, false, o)
		return true
	}
	info, err := os.Stat(path)
	link := d.Type()&fs.ModeSymlink != 0
	switch {
	case err != nil:
		logTo(o.Crit, `stat() "`+path+`" failed (`+errnoText(err)+`)`)
	case link && info.IsDir():
	case link && info.Mode().IsRegular():
		z.loadFile(path, info, true, o)
		return true
	default:
		z.deleteFile(path, o)
	}
	return false
}

// loadFile decides about the file at path (info is its stat(2); link says
// path is a symbolic link to it) as nginx's loader does
// (ngx_http_file_cache_add_file). A path shorter than a key, or whose last 32
// characters are not hex digits, is removed. One of nginx's temporary files
// (a dot and 10 characters at the end) is left alone; so is fulcrum's own (a
// name ending in ".tmp") while the process writing it runs, and it is
// removed once that is gone, where nginx's stay for ever. A file smaller than
// an entry's preamble (nginx: its header) is removed, with nginx's crit "is
// too small". Every other file goes in the index under the key its name ends
// in, wherever it lies and whatever it holds, as nginx's loader reads no
// file: a file in its key's place is read for its expiry, but one that is not
// a complete entry, a link, or one elsewhere is indexed as expired: the
// first request for its key finds no entry there and drops the key's file
// from the index (Open; a file in the key's place that does not read is
// removed, one elsewhere stays, as nginx's does). When the keys_zone is full, the
// file is removed, with nginx's alert "could not allocate node".
func (z *Zone) loadFile(path string, info fs.FileInfo, link bool, o *Options) {
	switch name := filepath.Base(path); {
	case strings.HasSuffix(name, tmpSuffix):
		if !tempOwnerRuns(name) {
			z.deleteFile(path, o)
		}
		return
	case len(path) < keyHexLen:
		z.deleteFile(path, o)
		return
	case len(path) >= keyHexLen+nginxTempTail && path[len(path)-nginxTempTail] == '.':
		return
	}
	if info.Size() < preambleSize {
		logTo(o.Crit, `cache file "`+path+`" is too small`)
		z.deleteFile(path, o)
		return
	}
	k, ok := parseKey(strings.ToLower(path[len(path)-keyHexLen:]))
	if !ok {
		z.deleteFile(path, o)
		return
	}
	var m Meta
	if !link && z.path(k) == path {
		if e, err := openEntry(path); err == nil {
			e.Close()
			if z.purged(e.Key, e.Stored) {
				os.Remove(path)
				return
			}
			m = e.Meta
		}
	}
	if !z.load(k, &m, diskSize(info)) {
		z.noNode(o)
		z.deleteFile(path, o)
	}
}

// deleteFile removes the file at path for the loader, with nginx's lines
// (ngx_http_file_cache_delete_file).
func (z *Zone) deleteFile(path string, o *Options) {
	logTo(o.Debug, `http file cache delete: "`+path+`"`)
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		logTo(o.Crit, `unlink() "`+path+`" failed (`+errnoText(err)+`)`)
	}
}

// noNode logs that the keys_zone is full, as nginx's loader does (at most
// once a second).
func (z *Zone) noNode(o *Options) {
	now := z.now().Unix()
	z.mu.Lock()
	logged := z.failTime == now
	z.failTime = now
	z.mu.Unlock()
	if !logged {
		logTo(o.Alert, `could not allocate node in cache keys zone "`+o.Name+`"`)
	}
}

// load puts a file the loader found for k in the index, as just used once
// (ngx_http_file_cache_add); false when the keys_zone is full: unlike a
// request's lookup, nginx's loader makes no room.
func (z *Zone) load(k Key, m *Meta, size int64) bool {
	z.mu.Lock()
	defer z.mu.Unlock()
	if z.nodes[k] == nil && len(z.nodes) >= z.maxKeys {
		return false
	}
	z.record(k, m, size, z.now())
	if n := z.nodes[k]; n.uses == 0 {
		n.uses = 1 // nginx's loader counts a use; a lookup counts its own
	}
	return true
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

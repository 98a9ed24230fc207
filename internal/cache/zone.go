// Package cache is the store of the proxy's and the FastCGI client's caches:
// a zone (proxy_cache_path, fastcgi_cache_path, scgi_cache_path,
// uwsgi_cache_path) keeps its entries as files under a directory, named by
// the MD5 of their key and spread over subdirectories as nginx's levels=
// does, and an index of the keys in memory that bounds how many keys it
// remembers (keys_zone size), how much disk the entries take (max_size,
// min_free, least recently used first) and how long an unused entry stays
// (inactive). As nginx's, a zone's manager (Zone.Run) enforces inactive,
// max_size and min_free in the background, and entries survive a restart:
// the zone's loader reads the index back from the files a minute after the
// zone opens, while a lookup finds a file the index does not know yet.
//
// The package knows nothing about HTTP beyond storing a response head and a
// body as bytes; package cacherule decides what is cached and for how long.
package cache

import (
	"container/list"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"
)

// Key is the MD5 of an entry's key string, as nginx names its cache files.
type Key [md5.Size]byte

// Sum returns the Key of a key string.
func Sum(s string) Key { return md5.Sum([]byte(s)) }

// String is the key in hex, the entry's file name.
func (k Key) String() string { return hex.EncodeToString(k[:]) }

// Options configure a zone.
type Options struct {
	Name string
	Dir  string
	// Levels are the subdirectory name lengths (1 or 2 each, at most 3).
	Levels []int
	// KeysSize is the keys_zone size in bytes: the zone remembers
	// KeysSize/NodeSize keys.
	KeysSize int64
	// MaxSize bounds the bytes on disk; 0 means no bound.
	MaxSize int64
	// Inactive removes entries no request used for that long.
	Inactive time.Duration
	// MinFree is the free space the manager keeps on the directory's file
	// system; 0 means none is asked for.
	MinFree int64
	// Manager and Loader are the manager's and the loader's pace
	// (manager_* and loader_*); zero fields take nginx's defaults.
	Manager, Loader Pace
	// Purger says the manager also removes from disk the entries of
	// wildcard purges (NGINX Plus's purger=on), at the pace of Purge
	// (purger_*; the zero Pace is PurgerPace).
	Purger bool
	Purge  Pace
	// LoaderDelay is how long after Run the loader starts (nginx's cache
	// loader process starts a minute after the workers: LoaderDelayNginx).
	LoaderDelay time.Duration
	// Debug, Notice, Crit and Alert log the loader's and the manager's
	// lines at those levels, worded as nginx's; nil logs nothing.
	Debug, Notice, Crit, Alert func(msg string)
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// NodeSize is what one key costs in a zone's keys_zone size: nginx's node is
// about 128 bytes (one megabyte holds about 8,000 keys).
const NodeSize = 128

// Zone is one cache zone. It is safe for concurrent use.
type Zone struct {
	opts    Options
	maxKeys int
	now     func() time.Time
	seq     atomic.Uint64 // names temporary files
	dry     bool          // a configuration test's zone: nothing is stored (Unopened)
	// bsize is the block size of the directory's file system: sizes are
	// counted in blocks, as nginx's are.
	bsize int64
	// running serialises Run: a reload's new snapshot starts the zone's
	// manager while the old one's may still be stopping.
	running sync.Mutex

	mu sync.Mutex // guards opts' limits, nodes, lru, size, cold, failTime and every node's fields
	// nodes are the keys the zone remembers, with or without a file.
	nodes map[Key]*node
	// lru orders the nodes, most recently used first.
	lru  list.List
	size int64 // blocks of the files on disk
	// cold says the loader has not read the directory through yet: a
	// lookup of a key without a file looks for it on disk.
	cold bool
	// purges are the purges whose entries may still be on disk (purge.go);
	// purging says there are some, for lookups that take no lock; sweep
	// is the purger's walk in progress, nil between walks.
	purges   []purge
	purgeSeq uint64 // counts the purges recorded
	purging  atomic.Bool
	sweep    *sweep
	// wake tells Run a purge is waiting for the purger.
	wake chan struct{}
	// failTime is the second the loader last logged a full keys_zone
	// (nginx's fail_time: once a second).
	failTime int64
}

// node is the index entry of one key.
type node struct {
	key     Key
	elem    *list.Element
	uses    int
	lastUse time.Time
	// exists says the file is on disk; expires, size, vary and variant
	// describe it.
	exists  bool
	expires time.Time
	size    int64 // in blocks
	vary    string
	variant Key
	// updating is set while one request fills or refreshes the entry;
	// since is when it started and done is closed when it ends.
	updating bool
	since    time.Time
	done     chan struct{}
	// errStatus is an intercepted error status the key answers with until
	// errExpires (StoreError), 0 for none: nginx's node->error, kept in
	// memory alone, ahead of any file.
	errStatus  int
	errExpires time.Time
}

// NewZone opens a zone: it creates the directory when missing. The zone
// starts cold: its loader (Run) reads the index back from the files already
// there (what a previous run stored), and until it has, a lookup looks for
// its key's file on disk.
func NewZone(o Options) (*Zone, error) {
	z := newZone(o)
	if err := os.MkdirAll(o.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("cache zone %q in %q: %w", o.Name, o.Dir, err)
	}
	z.bsize = fsBlockSize(o.Dir)
	z.cold = true
	return z, nil
}

func newZone(o Options) *Zone {
	z := &Zone{opts: o, now: o.Now, nodes: map[Key]*node{}, bsize: 512, wake: make(chan struct{}, 1)}
	if z.now == nil {
		z.now = time.Now
	}
	z.maxKeys = int(max(o.KeysSize/NodeSize, 1))
	return z
}

// Name is the zone's name.
func (z *Zone) Name() string { return z.opts.Name }

// Dir is the zone's directory.
func (z *Zone) Dir() string { return z.opts.Dir }

// Size returns the bytes the zone's files take on disk (in whole blocks of
// the file system, as nginx counts them) and how many keys it remembers.
func (z *Zone) Size() (bytes int64, keys int) {
	z.mu.Lock()
	defer z.mu.Unlock()
	return z.size * z.bsize, len(z.nodes)
}

// blocks is how many blocks a file of size bytes takes.
func (z *Zone) blocks(size int64) int64 { return (size + z.bsize - 1) / z.bsize }

// path is where the entry of k is stored: the levels' directories take their
// names from the end of the hex name, as nginx's do (levels=1:2 puts
// ...c29b7f54b2df7773722d382f4809d650 at c/50/).
func (z *Zone) path(k Key) string {
	name := k.String()
	parts := []string{z.opts.Dir}
	end := len(name)
	for _, n := range z.opts.Levels {
		parts = append(parts, name[end-n:end])
		end -= n
	}
	return filepath.Join(append(parts, name)...)
}

// Lookup is what the index knows about one key when a request asks.
type Lookup struct {
	// Exists says an entry is stored; Fresh that it has not expired.
	Exists, Fresh bool
	// Uses counts the requests for the key, this one included.
	Uses int
	// Updating says another request is filling or refreshing the entry.
	Updating bool
	// Vary and Variant are the stored response's Vary field and the
	// variant (see the proxy) it answers.
	Vary    string
	Variant Key
	// Error is the status of an intercepted error stored for the key
	// (StoreError) and not yet expired, 0 for none. It answers the request
	// before any file: Exists and Fresh are then false.
	Error int
}

// Get looks k up for a request at now, counting the use and making the key
// the most recently used. A key the zone did not know is added (without a
// file), forgetting the least recently used ones past the keys_zone size.
// While the zone is cold, a key without a file is looked for on disk, as
// nginx's lookup opens the file while its loader has not run.
func (z *Zone) Get(k Key) Lookup {
	now := z.now()
	z.mu.Lock()
	n := z.nodes[k]
	if (n == nil || !n.exists) && z.cold && !z.dry {
		z.mu.Unlock()
		z.probe(k, now)
		z.mu.Lock()
		n = z.nodes[k]
	}
	defer z.mu.Unlock()
	if n == nil {
		n = z.add(k, now)
	}
	n.uses++
	n.lastUse = now
	z.lru.MoveToFront(n.elem)
	if n.errStatus != 0 {
		if now.Unix() <= n.errExpires.Unix() {
			return Lookup{Uses: n.uses, Error: n.errStatus}
		}
		z.renew(n)
	}
	// nginx keeps times in whole seconds: an entry is fresh through the
	// second it expires in.
	return Lookup{Exists: n.exists, Fresh: n.exists && now.Unix() <= n.expires.Unix(), Uses: n.uses,
		Updating: n.updating, Vary: n.vary, Variant: n.variant}
}

// Fresh reports whether k has a stored entry or error (StoreError) that
// has not expired, without counting a use (Get counts one per request; this
// is a second look by the same request).
func (z *Zone) Fresh(k Key) bool {
	now := z.now()
	z.mu.Lock()
	defer z.mu.Unlock()
	n := z.nodes[k]
	if n != nil && n.errStatus != 0 {
		return now.Unix() <= n.errExpires.Unix()
	}
	return n != nil && n.exists && now.Unix() <= n.expires.Unix()
}

// StoreError records that k answers with the intercepted error status
// until expires, as nginx 1.22.1's ngx_http_upstream_intercept_errors keeps
// an error page's status in the cache node (node->error): in memory alone,
// neither head nor body, ahead of a file the key may have. Get reports it
// (Lookup.Error) until it expires; a response stored for k (commit)
// replaces it.
func (z *Zone) StoreError(k Key, status int, expires time.Time) {
	if z.dry {
		return
	}
	z.mu.Lock()
	defer z.mu.Unlock()
	n := z.nodes[k]
	if n == nil {
		n = z.add(k, z.now())
	}
	n.errStatus, n.errExpires = status, expires
}

// Error returns the status of k's stored error while it has not expired,
// else 0, without counting a use (a second look by a request that waited
// on a lock).
func (z *Zone) Error(k Key) int {
	now := z.now()
	z.mu.Lock()
	defer z.mu.Unlock()
	if n := z.nodes[k]; n != nil && n.errStatus != 0 && now.Unix() <= n.errExpires.Unix() {
		return n.errStatus
	}
	return 0
}

// renew forgets the expired error of n and the file it stood before (z.mu
// held): nginx's lookup of an expired error clears the node (its "renew":
// error, exists and the entry's times), so the request is a MISS, not an
// EXPIRED one with a stale entry (recorded with nginx 1.22.1).
func (z *Zone) renew(n *node) {
	n.errStatus, n.errExpires = 0, time.Time{}
	if n.exists {
		_ = os.Remove(z.path(n.key))
		z.size -= n.size
		n.exists, n.size = false, 0
	}
}

// add makes a node for k, used at now (z.mu held).
func (z *Zone) add(k Key, now time.Time) *node {
	for len(z.nodes) >= z.maxKeys {
		if !z.evictOldest() {
			break
		}
	}
	n := &node{key: k, lastUse: now}
	n.elem = z.lru.PushFront(n)
	z.nodes[k] = n
	return n
}

// evictOldest forgets the least recently used key that no request is
// updating, removing its file (z.mu held). false means none could go.
func (z *Zone) evictOldest() bool {
	for e := z.lru.Back(); e != nil; e = e.Prev() {
		n := e.Value.(*node)
		if n.updating {
			continue
		}
		z.remove(n)
		return true
	}
	return false
}

// remove forgets n and deletes its file (z.mu held). A request reading
// the file keeps reading it: it holds it open.
func (z *Zone) remove(n *node) {
	if n.exists {
		_ = os.Remove(z.path(n.key))
		z.size -= n.size
	}
	z.lru.Remove(n.elem)
	delete(z.nodes, n.key)
}

// Lock marks k as being updated by the caller, unless another request does
// so and started less than age ago: then it returns false and a channel
// closed when that request ends (Unlock). An update older than age is taken
// over, as nginx's proxy_cache_lock_age lets another request try.
func (z *Zone) Lock(k Key, age time.Duration) (bool, <-chan struct{}) {
	ok, _, done := z.LockSince(k, age)
	return ok, done
}

// LockSince is Lock that also returns, to the request granted the update,
// when it was granted: the token UnlockOwn takes.
func (z *Zone) LockSince(k Key, age time.Duration) (bool, time.Time, <-chan struct{}) {
	now := z.now()
	z.mu.Lock()
	defer z.mu.Unlock()
	n := z.nodes[k]
	if n == nil {
		n = z.add(k, now)
	}
	if n.updating && (age <= 0 || now.Sub(n.since) < age) {
		return false, time.Time{}, n.done
	}
	n.updating, n.since, n.done = true, now, make(chan struct{})
	return true, now, nil
}

// UnlockOwn is Unlock for the request granted the update at since: it does
// nothing when another request has taken the update over since (its age
// passed), as nginx's ngx_http_file_cache_free clears the lock only while
// its lock_time is the request's.
func (z *Zone) UnlockOwn(k Key, since time.Time) {
	z.mu.Lock()
	n := z.nodes[k]
	mine := n != nil && n.updating && n.since.Equal(since)
	z.mu.Unlock()
	if mine {
		z.Unlock(k)
	}
}

// Unlock ends the update of k that Lock granted, waking the requests that
// wait for it.
func (z *Zone) Unlock(k Key) {
	z.mu.Lock()
	defer z.mu.Unlock()
	n := z.nodes[k]
	if n == nil || !n.updating {
		return
	}
	n.updating = false
	close(n.done)
	n.done = nil
}

// ErrNotFound is an entry the index has no file for.
var ErrNotFound = errors.New("cache entry not found")

// Open opens the stored entry of k for reading. The caller closes it.
func (z *Zone) Open(k Key) (*Entry, error) {
	z.mu.Lock()
	n := z.nodes[k]
	ok := n != nil && n.exists
	z.mu.Unlock()
	if !ok {
		return nil, ErrNotFound
	}
	e, err := openEntry(z.path(k))
	if err != nil {
		z.forget(k)
		return nil, err
	}
	if z.purged(e.Key, e.Stored) {
		// A purged entry a request reaches goes, as NGINX Plus's.
		e.Close()
		z.forgetStored(k, e.Stored)
		return nil, ErrNotFound
	}
	return e, nil
}

// forget drops the file of k from the index after it could not be read.
func (z *Zone) forget(k Key) {
	z.mu.Lock()
	defer z.mu.Unlock()
	if n := z.nodes[k]; n != nil && n.exists {
		_ = os.Remove(z.path(k))
		z.size -= n.size
		n.exists, n.size = false, 0
	}
}

// Refresh sets a new expiry and stale times for the stored entry of k,
// after the upstream said it has not changed (a revalidation): the expiry
// in the index and in the file, the stale times in the file.
func (z *Zone) Refresh(k Key, expires time.Time, st Stale) error {
	z.mu.Lock()
	n := z.nodes[k]
	if n == nil || !n.exists {
		z.mu.Unlock()
		return ErrNotFound
	}
	n.expires = expires
	z.mu.Unlock()
	return writeExpires(z.path(k), expires, st)
}

// commit records a stored file of size bytes for k (the file is in place).
// The manager removes entries past max_size, as nginx's does, on its next
// round. A response that came before a purge of its key, stored after it,
// is removed instead: the purger's walk may have passed its place already.
func (z *Zone) commit(k Key, m *Meta, size int64) {
	z.mu.Lock()
	defer z.mu.Unlock()
	if z.purging.Load() && z.covered(m.Key, m.Stored) {
		_ = os.Remove(z.path(k))
		if n := z.nodes[k]; n != nil && n.exists {
			z.size -= n.size
			n.exists, n.size = false, 0
		}
		return
	}
	n := z.nodes[k]
	if n == nil {
		n = z.add(k, z.now())
	}
	if n.exists {
		z.size -= n.size
	}
	n.exists, n.size, n.expires, n.vary, n.variant = true, z.blocks(size), m.Expires, m.Vary, m.Variant
	n.errStatus, n.errExpires = 0, time.Time{} // nginx's update clears node->error
	z.size += n.size
}

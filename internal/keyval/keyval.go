// Package keyval is the key-value store of NGINX Plus's
// ngx_http_keyval_module: zones of string pairs that the runtime API
// changes and that keyval variables read, matched by exact key, by IP
// network or by longest prefix.
package keyval

import (
	"errors"
	"fmt"
	"math/bits"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"time"
)

// Type is how a variable's key matches the keys of a zone (keyval_zone's
// type parameter).
type Type int

const (
	// String matches the key exactly (type=string, the default).
	String Type = iota
	// IP matches an address, or a CIDR range, against the zone's keys,
	// which are addresses or CIDR ranges: the most specific key whose
	// network holds it wins (type=ip).
	IP
	// Prefix matches the longest key that is a prefix of the search key
	// (type=prefix).
	Prefix
)

// String is the type as keyval_zone writes it.
func (t Type) String() string { return [...]string{"string", "ip", "prefix"}[t] }

// The errors of the changes. The API maps them to NGINX Plus's codes.
var (
	// ErrKeyExists: POST of a key the zone has (KeyvalKeyExists).
	ErrKeyExists = errors.New("key already exists")
	// ErrKeyNotFound: PATCH or GET ?key= of a key the zone lacks
	// (KeyvalKeyNotFound).
	ErrKeyNotFound = errors.New("key not found")
	// ErrOnlyOne: POST of several keys to a zone that is not empty.
	ErrOnlyOne = errors.New("only one key can be added")
	// ErrKeyRequired: an empty key, or a body with no key.
	ErrKeyRequired = errors.New("key required")
	// ErrBadKey: a key that is no address or CIDR range in a type=ip zone.
	ErrBadKey = errors.New("invalid key format")
	// ErrNoTimeout: a per-key expire in a zone without a timeout.
	ErrNoTimeout = errors.New("keyval timeout is not enabled")
	// ErrNoMemory: the pairs do not fit in the zone's size.
	ErrNoMemory = errors.New("no memory in keyval zone")
)

// Pair is a key's value as the API sets it.
type Pair struct {
	Value string
	// Expire, when positive, is the pair's own lifetime (the API's
	// "expire" in milliseconds), instead of the zone's timeout.
	Expire time.Duration
	// KeepValue, for Set, keeps the key's value and starts its expiry
	// again (a PATCH of "expire" alone).
	KeepValue bool
}

// entry is one key of a zone.
type entry struct {
	key, value string
	// expire is when the pair goes; zero: never.
	expire time.Time
	// life is the lifetime the pair was given when it was set (the zone's
	// timeout or its own Expire); zero: none. It bounds the time a pair
	// read from a state file has left.
	life time.Duration
	cost int64
	// net is the key as a network in a type=ip zone.
	net netip.Prefix
}

// Zone is one keyval_zone: its pairs and their indexes. Its methods are
// safe for concurrent use; Lookup takes a read lock only.
type Zone struct {
	name   string
	typ    Type
	size   int64
	budget int64
	now    func() time.Time

	// mu guards everything below. Lookups hold it for reading; changes,
	// which the API makes, for writing. It is never held across I/O.
	mu      sync.RWMutex
	entries map[string]*entry
	// nets indexes a type=ip zone's keys by their masked network.
	nets map[netip.Prefix]*entry
	// lens are the distinct lengths, longest first, of the keys of a
	// type=prefix zone (in bytes) or of the networks of a type=ip zone
	// (in bits; IPv4 and IPv6 apart).
	lens, lens4, lens6 []int
	used               int64
}

// NewZone returns an empty zone of size bytes (keyval_zone zone=name:size)
// matching by typ. now is its clock; nil means time.Now.
func NewZone(name string, size int64, typ Type, now func() time.Time) *Zone {
	if now == nil {
		now = time.Now
	}
	return &Zone{name: name, typ: typ, size: size, budget: Budget(size), now: now,
		entries: map[string]*entry{}, nets: map[netip.Prefix]*entry{}}
}

// Name is the zone's name.
func (z *Zone) Name() string { return z.name }

// Size is the zone's size in bytes.
func (z *Zone) Size() int64 { return z.size }

// Type is how the zone matches.
func (z *Zone) Type() Type { return z.typ }

// Budget is how many bytes of a zone of size bytes the pairs may take: as
// for nginx's slab allocator, 4 KiB pages each with a 24-byte descriptor,
// less two pages for the zone's own header.
func Budget(size int64) int64 {
	return max(size/(4096+24)-2, 1) * 4096
}

// Cost is what a pair takes in a zone of type t: a 64-byte node (tree
// links, lengths, expiry) and the key and value, rounded up to a power of
// two as a slab allocator does; an indexed type (ip, prefix) takes 64 bytes
// more, NGINX Plus's "additional storage" of the index. A 32k zone holds
// 160 short string pairs.
func Cost(t Type, key, value string) int64 {
	need := uint64(64 + len(key) + len(value))
	if t != String {
		need += 64
	}
	return int64(1) << bits.Len64(need-1)
}

// Lookup returns the value of the key that matches key by the zone's type,
// and whether one did. It does not allocate for type=string and
// type=prefix.
func (z *Zone) Lookup(key []byte) (string, bool) {
	if len(key) == 0 {
		return "", false
	}
	now := z.now()
	z.mu.RLock()
	defer z.mu.RUnlock()
	switch z.typ {
	case IP:
		return z.lookupIP(string(key), now)
	case Prefix:
		for _, n := range z.lens {
			if n > len(key) {
				continue
			}
			if e := z.entries[string(key[:n])]; e != nil && e.live(now) {
				return e.value, true
			}
		}
		return "", false
	}
	if e := z.entries[string(key)]; e != nil && e.live(now) {
		return e.value, true
	}
	return "", false
}

// lookupIP finds the most specific network that holds the address or
// range key.
func (z *Zone) lookupIP(key string, now time.Time) (string, bool) {
	p, ok := parseNet(key)
	if !ok {
		return "", false
	}
	lens := z.lens6
	if p.Addr().Is4() {
		lens = z.lens4
	}
	for _, n := range lens {
		if n > p.Bits() {
			continue
		}
		if e := z.nets[netip.PrefixFrom(p.Addr(), n).Masked()]; e != nil && e.live(now) {
			return e.value, true
		}
	}
	return "", false
}

// parseNet reads an address ("10.0.0.1", a full-length network) or a CIDR
// range ("10.0.0.0/8"), IPv4-mapped IPv6 addresses as IPv4, masked.
func parseNet(s string) (netip.Prefix, bool) {
	if strings.IndexByte(s, '/') < 0 {
		a, err := netip.ParseAddr(s)
		if err != nil || a.Zone() != "" {
			return netip.Prefix{}, false
		}
		a = a.Unmap()
		return netip.PrefixFrom(a, a.BitLen()), true
	}
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return netip.Prefix{}, false
	}
	if p.Addr().Is4In6() && p.Bits() >= 96 {
		p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
	}
	return p.Masked(), true
}

func (e *entry) live(now time.Time) bool { return e.expire.IsZero() || now.Before(e.expire) }

// Get returns the value of exactly key (the API's ?key=).
func (z *Zone) Get(key string) (string, bool) {
	now := z.now()
	z.mu.RLock()
	defer z.mu.RUnlock()
	if e := z.entries[key]; e != nil && e.live(now) {
		return e.value, true
	}
	return "", false
}

// KV is one pair of a zone's contents.
type KV struct {
	Key, Value string
}

// All returns the zone's live pairs sorted by key.
func (z *Zone) All() []KV {
	now := z.now()
	z.mu.RLock()
	out := make([]KV, 0, len(z.entries))
	for _, e := range z.entries {
		if e.live(now) {
			out = append(out, KV{e.key, e.value})
		}
	}
	z.mu.RUnlock()
	slices.SortFunc(out, func(a, b KV) int { return strings.Compare(a.Key, b.Key) })
	return out
}

// Add adds pairs (the API's POST), all or none: several only to an empty
// zone, none that the zone has. timeout is the zone's (0: none): a pair
// expires that long after it is set, or after its own Expire.
func (z *Zone) Add(pairs map[string]Pair, timeout time.Duration) error {
	if len(pairs) == 0 {
		return ErrKeyRequired
	}
	now := z.now()
	z.mu.Lock()
	defer z.mu.Unlock()
	z.purge(now)
	if len(pairs) > 1 && len(z.entries) > 0 {
		return ErrOnlyOne
	}
	var need int64
	news := make([]*entry, 0, len(pairs))
	for k, p := range pairs {
		e, err := z.newEntry(k, p, timeout, now)
		if err != nil {
			return err
		}
		if z.entries[k] != nil {
			return fmt.Errorf("%q: %w", k, ErrKeyExists)
		}
		need += e.cost
		news = append(news, e)
	}
	if z.used+need > z.budget {
		return ErrNoMemory
	}
	for _, e := range news {
		z.insert(e)
	}
	z.reindex()
	return nil
}

// Set changes the value of key, or removes it when p is nil (the API's
// PATCH with null). Its expiry starts again.
func (z *Zone) Set(key string, p *Pair, timeout time.Duration) error {
	if key == "" {
		return ErrKeyRequired
	}
	now := z.now()
	z.mu.Lock()
	defer z.mu.Unlock()
	z.purge(now)
	old := z.entries[key]
	if old == nil {
		return fmt.Errorf("%q: %w", key, ErrKeyNotFound)
	}
	if p == nil {
		z.remove(old)
		z.reindex()
		return nil
	}
	np := *p
	if np.KeepValue {
		np.Value = old.value
	}
	e, err := z.newEntry(key, np, timeout, now)
	if err != nil {
		return err
	}
	if z.used-old.cost+e.cost > z.budget {
		return ErrNoMemory
	}
	z.remove(old)
	z.insert(e)
	return nil
}

// Clear removes every pair (the API's DELETE).
func (z *Zone) Clear() {
	z.mu.Lock()
	defer z.mu.Unlock()
	clear(z.entries)
	clear(z.nets)
	z.used = 0
	z.reindex()
}

// Load fills an empty zone with pairs, each with the zone's timeout from
// now. Keys that do not fit or do not parse are errors.
func (z *Zone) Load(pairs map[string]string, timeout time.Duration) error {
	stored := make(map[string]Stored, len(pairs))
	for k, v := range pairs {
		stored[k] = Stored{Value: v}
	}
	return z.LoadState(stored, timeout)
}

// LoadState fills an empty zone with the pairs of a state file. A pair
// whose Expire has passed is left out; one with an Expire keeps it,
// whatever the zone's timeout now, but no later than its Life (or, when
// the file does not say, the zone's timeout) from now, so that a clock
// that was ahead when the file was written cannot make a pair outlive the
// lifetime it was given. A pair without an Expire gets the zone's timeout
// from now, as every pair did before the file kept times. Keys that do not
// fit or do not parse are errors.
func (z *Zone) LoadState(pairs map[string]Stored, timeout time.Duration) error {
	now := z.now()
	z.mu.Lock()
	defer z.mu.Unlock()
	for k, s := range pairs {
		if !s.Expire.IsZero() && !now.Before(s.Expire) {
			continue
		}
		e, err := z.newEntry(k, Pair{Value: s.Value}, timeout, now)
		if err != nil {
			return err
		}
		if !s.Expire.IsZero() {
			e.expire, e.life = resume(s, timeout, now)
		}
		if z.used+e.cost > z.budget {
			return ErrNoMemory
		}
		if old := z.entries[k]; old != nil {
			z.remove(old)
		}
		z.insert(e)
	}
	z.reindex()
	return nil
}

// newEntry checks key and p for the zone and makes their entry.
func (z *Zone) newEntry(key string, p Pair, timeout time.Duration, now time.Time) (*entry, error) {
	if key == "" {
		return nil, ErrKeyRequired
	}
	e := &entry{key: key, value: p.Value, cost: Cost(z.typ, key, p.Value)}
	if z.typ == IP {
		n, ok := parseNet(key)
		if !ok {
			return nil, fmt.Errorf("%q: %w", key, ErrBadKey)
		}
		e.net = n
	}
	switch {
	case p.Expire > 0 && timeout <= 0:
		return nil, ErrNoTimeout
	case p.Expire > 0:
		e.expire, e.life = now.Add(p.Expire), p.Expire
	case timeout > 0:
		e.expire, e.life = now.Add(timeout), timeout
	}
	return e, nil
}

// resume returns when a stored pair that is still live at now expires,
// and its lifetime: at its Expire, but at most its lifetime (its Life,
// else the zone's timeout, else unbounded) after now.
func resume(s Stored, timeout time.Duration, now time.Time) (time.Time, time.Duration) {
	life := s.Life
	if life <= 0 {
		life = timeout
	}
	left := s.Expire.Sub(now)
	if life > 0 && left > life {
		left = life
	}
	return now.Add(left), life
}

func (z *Zone) insert(e *entry) {
	z.entries[e.key] = e
	z.used += e.cost
	if z.typ == IP {
		z.nets[e.net] = e
	}
}

// remove drops e. Two keys of a type=ip zone may name one network
// ("10.0.0.1" and "10.0.0.1/32"): the index keeps the last one set.
func (z *Zone) remove(e *entry) {
	delete(z.entries, e.key)
	z.used -= e.cost
	if z.typ == IP && z.nets[e.net] == e {
		delete(z.nets, e.net)
		for _, o := range z.entries {
			if o.net == e.net {
				z.nets[o.net] = o
			}
		}
	}
}

// purge removes the expired pairs. It does not use remove, whose search
// for another key of a network would make it quadratic in the pairs
// (seconds under the write lock for a large type=ip zone whose pairs
// expire together): the networks whose indexed key went are given
// another key of theirs, if one is left, in one pass at the end.
func (z *Zone) purge(now time.Time) {
	gone, orphans := false, false
	for _, e := range z.entries {
		if e.live(now) {
			continue
		}
		delete(z.entries, e.key)
		z.used -= e.cost
		gone = true
		if z.typ == IP && z.nets[e.net] == e {
			delete(z.nets, e.net)
			orphans = true
		}
	}
	if orphans {
		for _, o := range z.entries {
			if z.nets[o.net] == nil {
				z.nets[o.net] = o
			}
		}
	}
	if gone {
		z.reindex()
	}
}

// reindex recomputes the key lengths that Lookup tries, longest first.
func (z *Zone) reindex() {
	z.lens, z.lens4, z.lens6 = z.lens[:0], z.lens4[:0], z.lens6[:0]
	switch z.typ {
	case Prefix:
		for k := range z.entries {
			z.lens = appendLen(z.lens, len(k))
		}
		slices.Sort(z.lens)
		slices.Reverse(z.lens)
	case IP:
		for n := range z.nets {
			if n.Addr().Is4() {
				z.lens4 = appendLen(z.lens4, n.Bits())
			} else {
				z.lens6 = appendLen(z.lens6, n.Bits())
			}
		}
		slices.Sort(z.lens4)
		slices.Reverse(z.lens4)
		slices.Sort(z.lens6)
		slices.Reverse(z.lens6)
	}
}

func appendLen(lens []int, n int) []int {
	if slices.Contains(lens, n) {
		return lens
	}
	return append(lens, n)
}

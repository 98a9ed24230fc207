// Package sessioncache keeps TLS sessions on the server, as nginx's
// ssl_session_cache does when ssl_session_tickets is off: the client gets
// only a random identifier as its ticket, and the session's secrets never
// leave the process (nothing is encrypted with a long-lived ticket key, the
// point of "ssl_session_tickets off").
//
// crypto/tls resumes with tickets only, so the identifier travels as one
// (TLS 1.2's NewSessionTicket, TLS 1.3's stateful tickets): WrapSession
// stores the session and returns its identifier, UnwrapSession looks it up.
// Go's clients, and the browsers, send TLS 1.2 tickets; a client that
// resumes TLS 1.2 by session ID only makes full handshakes.
//
// What the cache does is what nginx 1.22.1 with OpenSSL 3.0 did, recorded
// with "openssl s_client -sess_out/-sess_in":
//   - a session resumes until its timeout, counted from the full handshake
//     that made it, with the timeout it was made with (a server sharing the
//     zone with another timeout, or a reload, does not change it);
//   - an identifier resumes any number of times, in TLS 1.2 and 1.3 alike
//     (OpenSSL's stateful TLS 1.3 tickets are not single-use without early
//     data);
//   - in TLS 1.3 each handshake, resumed or not, makes a new session with a
//     new lifetime; a TLS 1.2 resumption makes none (the client keeps its
//     identifier, and the session its first age);
//   - a full cache drops its oldest session (by creation: resuming does not
//     refresh one), as both nginx's shared zones and OpenSSL's builtin
//     cache do.
package sessioncache

import (
	"container/list"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"fmt"
	"sync"
	"time"

	"fulcrum/internal/config"
)

// idLen is the length of an identifier: 32 random bytes, as OpenSSL's
// session IDs.
const idLen = 32

// sessionsPerMiB is how many sessions a shared zone holds per megabyte, as
// nginx's documentation says ("about 4000").
const sessionsPerMiB = 4000

// SharedSessions is how many sessions a shared:NAME:SIZE zone of size
// bytes holds: about 4000 per megabyte, at least one. nginx's real count
// depends on the sessions' sizes (a 32k zone held about 65 TLS 1.2
// sessions with an ECDSA certificate).
func SharedSessions(size int64) int {
	return int(max(1, size*sessionsPerMiB/(1<<20)))
}

// BuiltinSessions is how many sessions "builtin:n" holds: n-1, at least
// one, as OpenSSL 3.0's cache (SSL_CTX_add_session drops the oldest while
// the count, the new session included, reaches the size; checked with
// nginx 1.22.1: builtin:2 resumed only the last session). n of 0 is
// OpenSSL's unlimited cache, which fulcrum bounds as nginx's default
// "builtin" (20480).
func BuiltinSessions(n int64) int {
	if n <= 0 {
		n = defaultBuiltin
	}
	return int(max(1, n-1))
}

// defaultBuiltin is the size of "builtin" without one
// (NGX_SSL_DFLT_BUILTIN_SCACHE).
const defaultBuiltin = 20480

// Cache is a bounded store of server-side TLS sessions. It is safe for
// concurrent use by the handshakes of any number of tls.Configs (the
// servers that share a zone).
type Cache struct {
	// Size is the zone's size as configured (bytes of a shared zone, or
	// the builtin cache's count), for a reload to tell whether it may keep
	// the cache.
	Size int64

	max int        // the most sessions held
	mu  sync.Mutex // guards byID, bySecret and order
	// byID holds the sessions by identifier; bySecret the TLS 1.2 ones by
	// a hash of their master secret, which a resumption's new ticket
	// names (crypto/tls hands WrapSession the resumed secret, not the
	// identifier).
	byID     map[[idLen]byte]*list.Element
	bySecret map[[sha256.Size]byte]*list.Element
	order    list.List // of *entry, newest first
}

// entry is one stored session.
type entry struct {
	id      [idLen]byte
	secret  [sha256.Size]byte // TLS 1.2 only; zero in TLS 1.3
	state   []byte            // tls.SessionState.Bytes
	expires time.Time
	ctx     Context // of the server that made it
}

// Context tells apart the servers whose sessions may resume on each other,
// as nginx's session ID context (ngx_ssl_session_id_context): a hash of
// their certificates and of the CAs they check client certificates with.
// A session resumes only on a server of the context that made it (nginx
// 1.22.1: a session of one server was "New" on a server of the same zone
// with another certificate).
type Context [sha256.Size]byte

// ContextOf is the context of a server with TLS settings t.
func ContextOf(t *config.TLS) Context {
	h := sha256.New()
	for _, c := range t.Certificates {
		if len(c.Pair.Certificate) > 0 {
			h.Write(c.Pair.Certificate[0])
		}
		h.Write([]byte(c.CertTemplate)) // "" unless loaded per handshake
	}
	h.Write([]byte{0})
	for _, ca := range t.ClientAuth.ClientCAs {
		h.Write(ca.Raw)
	}
	h.Write([]byte{0})
	for _, ca := range t.ClientAuth.TrustedCAs {
		h.Write(ca.Raw)
	}
	return Context(h.Sum(nil))
}

// New returns an empty cache for at most max sessions (at least one);
// size is recorded as the Size field.
func New(max int, size int64) *Cache {
	if max < 1 {
		max = 1
	}
	return &Cache{Size: size, max: max, byID: map[[idLen]byte]*list.Element{}, bySecret: map[[sha256.Size]byte]*list.Element{}}
}

// Len reports how many sessions the cache holds, expired ones included
// until they are looked up or pushed out.
func (c *Cache) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.order.Len()
}

// Serve makes cfg keep its sessions in c for timeout (0 or less: five
// minutes, nginx's default), resumable by servers of context ctx, and turns
// cfg's tickets on, which carry only the identifiers. It sets
// cfg.WrapSession and cfg.UnwrapSession; clones of cfg made afterwards
// share the cache. The clock is cfg.Time, else time.Now.
func (c *Cache) Serve(cfg *tls.Config, timeout time.Duration, ctx Context) {
	if timeout <= 0 {
		timeout = 5 * time.Minute
	}
	now := cfg.Time
	if now == nil {
		now = time.Now
	}
	cfg.SessionTicketsDisabled = false
	cfg.WrapSession = func(cs tls.ConnectionState, ss *tls.SessionState) ([]byte, error) {
		id, err := c.put(cs, ss, timeout, ctx, now())
		if err != nil {
			return nil, fmt.Errorf("session cache: %w", err)
		}
		return id, nil
	}
	cfg.UnwrapSession = func(identity []byte, _ tls.ConnectionState) (*tls.SessionState, error) {
		b := c.get(identity, ctx, now())
		if b == nil {
			return nil, nil // a full handshake
		}
		ss, err := tls.ParseSessionState(b)
		if err != nil {
			return nil, nil // cannot happen: the bytes are ss.Bytes()
		}
		return ss, nil
	}
}

// put stores ss and returns its identifier. A TLS 1.2 resumption's session
// is the one resumed: its identifier comes back and nothing is stored.
func (c *Cache) put(cs tls.ConnectionState, ss *tls.SessionState, timeout time.Duration, ctx Context, now time.Time) ([]byte, error) {
	b, err := ss.Bytes()
	if err != nil {
		return nil, err
	}
	e := &entry{state: b, expires: now.Add(timeout), ctx: ctx}
	tls12 := cs.Version < tls.VersionTLS13
	if tls12 {
		e.secret = secretHash(b)
	}
	if _, err := rand.Read(e.id[:]); err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if tls12 && cs.DidResume {
		if el := c.bySecret[e.secret]; el != nil {
			id := el.Value.(*entry).id
			return id[:], nil
		}
		// Pushed out since the handshake read it: stored anew.
	}
	c.expire(now)
	for c.order.Len() >= c.max {
		c.remove(c.order.Back())
	}
	el := c.order.PushFront(e)
	c.byID[e.id] = el
	if tls12 {
		c.bySecret[e.secret] = el
	}
	return e.id[:], nil
}

// get returns the stored state of identity, nil when there is none, it is
// of another context, or it expired (an expired one is dropped).
func (c *Cache) get(identity []byte, ctx Context, now time.Time) []byte {
	if len(identity) != idLen {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	el := c.byID[[idLen]byte(identity)]
	if el == nil {
		return nil
	}
	e := el.Value.(*entry)
	if e.ctx != ctx {
		return nil
	}
	if !now.Before(e.expires) {
		c.remove(el)
		return nil
	}
	return e.state
}

// expire drops up to two expired sessions at the old end, as nginx's
// ngx_ssl_expire_sessions does before it stores one, so that stale
// sessions do not wait for a full cache to go; c.mu is held.
func (c *Cache) expire(now time.Time) {
	for range 2 {
		el := c.order.Back()
		if el == nil || now.Before(el.Value.(*entry).expires) {
			return
		}
		c.remove(el)
	}
}

// remove drops el; c.mu is held.
func (c *Cache) remove(el *list.Element) {
	e := c.order.Remove(el).(*entry)
	delete(c.byID, e.id)
	if e.secret != ([sha256.Size]byte{}) && c.bySecret[e.secret] == el {
		delete(c.bySecret, e.secret)
	}
}

// secretHash is a hash of the master secret in b, a SessionState's
// encoding (version, type, cipher suite, created_at, then the secret with
// a one-byte length, as SessionState documents it); the whole encoding
// when it is too short to hold one.
func secretHash(b []byte) [sha256.Size]byte {
	if len(b) > 13 && len(b) >= 14+int(b[13]) {
		return sha256.Sum256(b[14 : 14+int(b[13])])
	}
	return sha256.Sum256(b)
}

// Zones are the shared caches (ssl_session_cache shared:NAME:SIZE) of one
// configuration's module, by zone name.
type Zones map[string]*Cache

// Zone returns the cache of the zone name of size bytes, made on first use:
// old's cache when old has the zone with the same size (a reload keeps a
// zone whose name and size did not change, as nginx's shared memory), else
// an empty one. old may be nil.
func (z Zones) Zone(old Zones, name string, size int64) *Cache {
	if c := z[name]; c != nil {
		return c
	}
	c := old[name]
	if c == nil || c.Size != size {
		c = New(SharedSessions(size), size)
	}
	z[name] = c
	return c
}

// Serve makes cfg resume the sessions of a server with TLS settings t from
// its ssl_session_cache and reports true, or reports false and leaves cfg
// as it is when the server resumes with tickets (ssl_session_tickets on) or
// not at all (ssl_session_cache off or none). The cache is the line's last
// shared zone (nginx's last shared:NAME:SIZE wins), from zones, which takes
// old's when unchanged; else a builtin cache of cfg's own. With both on one
// line nginx resumes from either, so the shared one stands for both.
func Serve(cfg *tls.Config, t *config.TLS, zones, old Zones) bool {
	sc := t.SessionCache
	if t.SessionTickets || !sc.Stores() {
		return false
	}
	var c *Cache
	if n := len(sc.Zones); n > 0 {
		z := sc.Zones[n-1]
		c = zones.Zone(old, z.Name, z.Size)
	} else {
		c = New(BuiltinSessions(sc.BuiltinSize), sc.BuiltinSize)
	}
	c.Serve(cfg, t.SessionTimeout, ContextOf(t))
	return true
}

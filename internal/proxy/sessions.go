package proxy

import (
	"container/list"
	"sync"
	"time"
)

// sessionBytes is what one learned session costs in a zone's size: NGINX
// Plus stores about 4,000 sessions in a megabyte.
const sessionBytes = 256

// SessionZone is the table of a "sticky learn" upstream: which server
// created each session, learned from the servers' responses. A session
// lasts its timeout after its last request; when the table is full, the
// session used least recently makes room. It is safe for concurrent use
// and outlives reloads that keep its name and size.
type SessionZone struct {
	mu    sync.Mutex // guards byKey and lru
	max   int
	byKey map[string]*list.Element // of *learned
	lru   list.List                // most recently used first
	size  int64
}

// learned is one session: its key, the sticky ID of its server and when it
// expires.
type learned struct {
	key, server string
	expires     time.Time
}

// NewSessionZone makes a table of size bytes (about size/256 sessions, at
// least one).
func NewSessionZone(size int64) *SessionZone {
	n := int(size / sessionBytes)
	if n < 1 {
		n = 1
	}
	return &SessionZone{max: n, byKey: map[string]*list.Element{}, size: size}
}

// Size is the zone's size as configured.
func (z *SessionZone) Size() int64 { return z.size }

// Len is the number of sessions held, expired ones not yet dropped included.
func (z *SessionZone) Len() int {
	z.mu.Lock()
	defer z.mu.Unlock()
	return z.lru.Len()
}

// Lookup returns the sticky ID of the server of session key, and renews the
// session for timeout; false when the zone does not know the session or it
// expired.
func (z *SessionZone) Lookup(key []byte, now time.Time, timeout time.Duration) (string, bool) {
	z.mu.Lock()
	defer z.mu.Unlock()
	e, ok := z.byKey[string(key)] // no allocation: the compiler reads key in place
	if !ok {
		return "", false
	}
	s := e.Value.(*learned)
	if now.After(s.expires) {
		z.remove(e)
		return "", false
	}
	s.expires = now.Add(timeout)
	z.lru.MoveToFront(e)
	return s.server, true
}

// Learn records that session key belongs to the server with sticky ID
// server, for timeout from now; a known session moves to that server.
// Expired sessions at the end of the table, and the least recently used
// one when it is full, make room.
func (z *SessionZone) Learn(key []byte, server string, now time.Time, timeout time.Duration) {
	z.mu.Lock()
	defer z.mu.Unlock()
	if e, ok := z.byKey[string(key)]; ok {
		s := e.Value.(*learned)
		s.server, s.expires = server, now.Add(timeout)
		z.lru.MoveToFront(e)
		return
	}
	for e := z.lru.Back(); e != nil && (z.lru.Len() >= z.max || now.After(e.Value.(*learned).expires)); e = z.lru.Back() {
		z.remove(e)
	}
	s := &learned{key: string(key), server: server, expires: now.Add(timeout)}
	z.byKey[s.key] = z.lru.PushFront(s)
}

func (z *SessionZone) remove(e *list.Element) {
	delete(z.byKey, e.Value.(*learned).key)
	z.lru.Remove(e)
}

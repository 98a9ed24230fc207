// Package certcache keeps the server certificates that an ssl_certificate
// with variables loads at each TLS handshake (nginx 1.15.9: "the
// certificate is loaded on every handshake"), so that a handshake with a
// certificate loaded before does not read and parse its files again.
//
// nginx 1.22.1 reads the files on every handshake; its cache
// (ssl_certificate_cache) came in 1.27.4, so fulcrum has no directive for
// it. To keep nginx 1.22's answer when a file changes, an entry holds the
// files' identity (device, inode, size and modification time, after
// symbolic links) as it was just before they were read, and a handshake
// that finds the entry looks at the files again (two stat calls, no
// read): a file replaced or rewritten is loaded anew, a file removed
// fails the handshake as it fails nginx's. Errors are not kept. The
// daemon makes one Cache per configuration, so a reload starts afresh.
package certcache

import (
	"container/list"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/tls"
	"io/fs"
	"os"
	"strings"
	"sync"
	"syscall"
	"time"
)

// DefaultMax is the number of certificates a Cache keeps unless told
// otherwise: one a tenant for a thousand tenants. The least recently used
// goes first.
const DefaultMax = 1000

// LoadFunc loads a certificate and its key from the values cert and key
// (full file names, or "data:" followed by the PEM), trying passwords on
// an encrypted key, as upstreamtls.LoadCertificate does.
type LoadFunc func(cert, key string, passwords [][]byte) (*tls.Certificate, error)

// Cache is a bounded set of loaded certificates, keyed by the values they
// were loaded from and the passphrases; safe for concurrent use.
type Cache struct {
	max  int
	load LoadFunc
	stat func(string) (fs.FileInfo, error)

	mu      sync.Mutex // guards entries and lru; never held across I/O
	entries map[key]*list.Element
	lru     *list.List // of *entry, the most recently used first
}

// key names one certificate: the values of the certificate and the key
// (full names) and the passphrases, joined.
type key struct{ cert, key, passwords string }

type entry struct {
	key           key
	pair          *tls.Certificate
	certID, keyID fileID
}

// fileID is what tells one state of a file from another without reading it.
type fileID struct {
	dev, ino uint64
	size     int64
	mtime    time.Time
}

// New returns an empty cache of at most max certificates (DefaultMax when
// max < 1) that loads with load.
func New(max int, load LoadFunc) *Cache {
	if max < 1 {
		max = DefaultMax
	}
	return &Cache{max: max, load: load, stat: os.Stat, entries: map[key]*list.Element{}, lru: list.New()}
}

// Passwords returns the joined form of passwords that Get takes, made
// once per server.
func Passwords(passwords [][]byte) string {
	var b strings.Builder
	for _, p := range passwords {
		b.Write(p)
		b.WriteByte(0)
	}
	return b.String()
}

// Get returns the certificate loaded from cert and key (full names or
// "data:" values) with passwords (joined with Passwords: pw), loading it
// unless the cache has it from files that have not changed since.
func (c *Cache) Get(cert, keyName string, passwords [][]byte, pw string) (*tls.Certificate, error) {
	k := key{cert, keyName, pw}
	if e := c.lookup(k); e != nil {
		certID, certOK := c.identity(cert)
		keyID, keyOK := c.identity(keyName)
		if certOK && keyOK && certID == e.certID && keyID == e.keyID {
			return e.pair, nil
		}
	}
	// Identity first, then the read: a file changed in between is loaded
	// again by the next handshake.
	certID, certOK := c.identity(cert)
	keyID, keyOK := c.identity(keyName)
	pair, err := c.load(cert, keyName, passwords)
	if err != nil || !certOK || !keyOK {
		c.remove(k)
		return pair, err
	}
	c.add(&entry{key: k, pair: pair, certID: certID, keyID: keyID})
	return pair, nil
}

// Len returns the number of certificates kept.
func (c *Cache) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lru.Len()
}

func (c *Cache) lookup(k key) *entry {
	c.mu.Lock()
	defer c.mu.Unlock()
	el := c.entries[k]
	if el == nil {
		return nil
	}
	c.lru.MoveToFront(el)
	return el.Value.(*entry)
}

func (c *Cache) add(e *entry) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el := c.entries[e.key]; el != nil {
		el.Value = e
		c.lru.MoveToFront(el)
		return
	}
	c.entries[e.key] = c.lru.PushFront(e)
	for c.lru.Len() > c.max {
		old := c.lru.Back()
		c.lru.Remove(old)
		delete(c.entries, old.Value.(*entry).key)
	}
}

func (c *Cache) remove(k key) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el := c.entries[k]; el != nil {
		c.lru.Remove(el)
		delete(c.entries, k)
	}
}

// identity is the state of the file value names (the zero fileID for a
// "data:" value, which is its own key); ok is false for a file that
// cannot be looked at, which is not kept (its load fails, or succeeds by
// chance and is made again next time).
func (c *Cache) identity(value string) (fileID, bool) {
	if strings.HasPrefix(value, "data:") {
		return fileID{}, true
	}
	fi, err := c.stat(value)
	if err != nil {
		return fileID{}, false
	}
	id := fileID{size: fi.Size(), mtime: fi.ModTime()}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		id.dev, id.ino = uint64(st.Dev), st.Ino //nolint:unconvert // Dev is int32 on some systems
	}
	return id, true
}

// ByKind adds pair to the certificates of one handshake, in the place of
// the one with a key of its type if there is one: OpenSSL keeps one
// certificate per key type, and SSL_use_certificate replaces it (recorded
// with nginx 1.22.1: a static RSA certificate then $ssl_server_name's RSA
// one served the latter).
func ByKind(pairs []tls.Certificate, pair *tls.Certificate) []tls.Certificate {
	for i := range pairs {
		if keyKind(&pairs[i]) == keyKind(pair) {
			pairs[i] = *pair
			return pairs
		}
	}
	return append(pairs, *pair)
}

// keyKind is OpenSSL's slot for a certificate's key type.
func keyKind(c *tls.Certificate) int {
	switch c.PrivateKey.(type) {
	case *rsa.PrivateKey:
		return 1
	case *ecdsa.PrivateKey:
		return 2
	case ed25519.PrivateKey:
		return 3
	}
	return 0
}

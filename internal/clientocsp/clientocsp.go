// Package clientocsp asks OCSP responders whether the certificates of a
// client's verified chain are revoked, as nginx's ssl_ocsp does
// (ngx_ssl_ocsp_validate): after the chain verified, each certificate but
// the trusted root (only the client's own with "leaf") is asked about in
// turn, at ssl_ocsp_responder or at the first OCSP URL of the
// certificate's authority information access; the first answer that is
// not "good", or the first failure, decides. ssl_ocsp_cache's Cache keeps
// answers until their nextUpdate. The requests, their checks and nginx's
// error words are internal/stapling's (Ask).
package clientocsp

import (
	"container/list"
	"context"
	"crypto/x509"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"fulcrum/internal/stapling"

	"golang.org/x/crypto/ocsp"
)

// The reasons nginx's ngx_ssl_ocsp_get_status gives, which become
// $ssl_client_verify's "FAILED:..." and the 495's log line.
const (
	Revoked = "certificate revoked"
	Unknown = "certificate status unknown"
	Failed  = "certificate status request failed"
)

// Options configure a Checker: one server's ssl_ocsp.
type Options struct {
	// Leaf is ssl_ocsp leaf: only the client's certificate is asked
	// about; otherwise every certificate of the chain but the root.
	Leaf bool
	// Responder is ssl_ocsp_responder's URL; empty: each certificate's.
	Responder string
	// Timeout bounds each request; 0 means 30 seconds. (nginx's request
	// has no timer: client_header_timeout, which bounds the client's
	// handshake, ends the wait; the daemon passes that.)
	Timeout time.Duration
	// Cache is ssl_ocsp_cache's zone; nil: every check asks.
	Cache *Cache
	// Client makes the requests; nil means http.DefaultClient.
	Client *http.Client
	// Log receives a line, in nginx's words and with its context, for
	// each failed request; nil logs nothing.
	Log func(msg string)
}

// Checker checks client chains for one server. It is immutable and safe
// for concurrent use.
type Checker struct {
	opts Options
}

// New returns the Checker of opts.
func New(opts Options) *Checker {
	if opts.Timeout <= 0 {
		opts.Timeout = 30 * time.Second
	}
	return &Checker{opts: opts}
}

// Check asks about chain (verified: the client's certificate first, the
// trusted root last) at now, and returns "" when every certificate asked
// about is good, else Revoked, Unknown or Failed. It blocks for the
// requests, each bounded by the timeout, so callers run it on the
// connection's own goroutine, never in the handshake of others.
func (c *Checker) Check(ctx context.Context, chain []*x509.Certificate, now time.Time) string {
	for i := 0; i < len(chain)-1; i++ {
		if c.opts.Leaf && i > 0 {
			break
		}
		if reason := c.checkOne(ctx, chain[i], chain[i+1], now); reason != "" {
			return reason
		}
	}
	return ""
}

// checkOne is the status of cert, issued by issuer: from the cache, else
// from its responder (stored in the cache when it says when it expires).
func (c *Checker) checkOne(ctx context.Context, cert, issuer *x509.Certificate, now time.Time) string {
	key := cacheKey(cert, issuer)
	if st, ok := c.opts.Cache.lookup(key, now); ok {
		return reason(st)
	}
	responder, err := c.responder(cert)
	if err != nil {
		c.log(err.Error())
		return Failed
	}
	ctx, cancel := context.WithTimeout(ctx, c.opts.Timeout)
	defer cancel()
	_, resp, err := stapling.Ask(ctx, stapling.Query{Leaf: cert, Issuer: issuer, Responder: responder, Verify: true, Client: c.opts.Client}, now)
	if err != nil {
		c.log(err.Error() + logContext(responder))
		return Failed
	}
	c.opts.Cache.store(key, resp.Status, resp.NextUpdate, now)
	return reason(resp.Status)
}

// responder is the URL to ask about cert, with nginx's errors for a
// certificate that names none or one that is not http://.
func (c *Checker) responder(cert *x509.Certificate) (string, error) {
	if c.opts.Responder != "" {
		return c.opts.Responder, nil
	}
	if len(cert.OCSPServer) == 0 {
		return "", fmt.Errorf("no OCSP responder URL in certificate")
	}
	r := cert.OCSPServer[0]
	u, err := url.Parse(r)
	if err != nil || !strings.EqualFold(u.Scheme, "http") {
		return "", fmt.Errorf("invalid URL prefix in OCSP responder \"%s\" in certificate", r)
	}
	if u.Host == "" {
		return "", fmt.Errorf("empty host in OCSP responder in certificate")
	}
	return r, nil
}

func (c *Checker) log(msg string) {
	if c.opts.Log != nil {
		c.opts.Log(msg)
	}
}

// logContext is the end of nginx's line about a failed request: " while
// requesting certificate status, responder: HOST, peer: HOST:PORT".
func logContext(responder string) string {
	host, peer := responder, responder
	if u, err := url.Parse(responder); err == nil {
		host, peer = u.Hostname(), u.Host
		if u.Port() == "" {
			peer = net.JoinHostPort(u.Hostname(), "80")
		}
	}
	return fmt.Sprintf(" while requesting certificate status, responder: %s, peer: %s", host, peer)
}

// reason is ngx_ssl_ocsp_get_status's word for an OCSP status.
func reason(status int) string {
	switch status {
	case ocsp.Good:
		return ""
	case ocsp.Revoked:
		return Revoked
	}
	return Unknown
}

// cacheKey identifies cert as nginx's ngx_ssl_ocsp_create_key does: the
// issuer's name and key, and the serial number.
func cacheKey(cert, issuer *x509.Certificate) string {
	return string(issuer.RawSubject) + "\x00" + string(issuer.RawSubjectPublicKeyInfo) + "\x00" + string(cert.SerialNumber.Bytes())
}

// entrySize is the room one answer takes in nginx's zone (a slab of 256
// bytes for its node and key), which sets how many answers a Cache of a
// given size holds.
const entrySize = 256

// noNextUpdate is how long an answer without nextUpdate is kept, as
// nginx's ngx_ssl_ocsp_cache_store.
const noNextUpdate = time.Hour

// Cache is an ssl_ocsp_cache zone: the statuses responders gave, by
// certificate, until their nextUpdate (an hour when they have none). When
// it is full, the answer stored longest ago makes room, as nginx's
// expire queue does. It is safe for concurrent use.
type Cache struct {
	max int
	mu  sync.Mutex // guards byKey and order
	// byKey finds an answer's element in order, which runs from the
	// newest stored to the oldest.
	byKey map[string]*list.Element
	order *list.List
}

type cacheEntry struct {
	key    string
	status int
	valid  time.Time
}

// NewCache returns the cache of a zone of size bytes: it holds
// size/256 answers (at least one).
func NewCache(size int64) *Cache {
	return &Cache{max: int(max(size/entrySize, 1)), byKey: map[string]*list.Element{}, order: list.New()}
}

// lookup returns the status kept for key while it is valid; an expired
// one is dropped. A nil cache has nothing.
func (c *Cache) lookup(key string, now time.Time) (int, bool) {
	if c == nil {
		return 0, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	el := c.byKey[key]
	if el == nil {
		return 0, false
	}
	e := el.Value.(*cacheEntry)
	if !now.Before(e.valid) {
		c.remove(el)
		return 0, false
	}
	return e.status, true
}

// store keeps status for key until nextUpdate (an hour from now when it
// is zero); an answer already out of date is not kept.
func (c *Cache) store(key string, status int, nextUpdate, now time.Time) {
	if c == nil {
		return
	}
	valid := nextUpdate
	if valid.IsZero() {
		valid = now.Add(noNextUpdate)
	}
	if valid.Before(now) {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if el := c.byKey[key]; el != nil {
		c.remove(el)
	}
	for c.order.Len() >= c.max {
		c.remove(c.order.Back())
	}
	c.byKey[key] = c.order.PushFront(&cacheEntry{key: key, status: status, valid: valid})
}

// remove drops el; mu is held.
func (c *Cache) remove(el *list.Element) {
	delete(c.byKey, el.Value.(*cacheEntry).key)
	c.order.Remove(el)
}

// Len is the number of answers kept.
func (c *Cache) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.order.Len()
}

// Package resolve keeps the upstream servers written with the resolve
// parameter ("server app.example.com:8080 resolve;") in step with DNS while
// fulcrum runs: it asks the configured resolver for each name again when
// the answer's TTL (or the resolver's valid=) has run out, adds a server for
// an address that appeared and removes the one whose address went away, as
// NGINX Plus (and nginx 1.27.3) do.
package resolve

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"fulcrum/internal/errlog"
	"fulcrum/internal/upstream"

	"golang.org/x/net/dns/dnsmessage"
)

// DefaultInterval is how long a name waits to be resolved again after a
// failed lookup, without valid=.
const DefaultInterval = 30 * time.Second

// minWait is the shortest wait before a name is resolved again: the wait
// after an answer whose TTL is 0, as nginx 1.27.3's resolve timer (which
// also waits a second more than the TTL, so that its cached answer has
// expired; fulcrum does too).
const minWait = time.Second

// Keep is how long an answer valid for ttl is used by a proxy_pass with
// variables: valid (the resolver's valid=) when it is set, else the TTL,
// at least minWait: nginx would ask again for every request while a TTL
// of 0 lasts, fulcrum once a second.
func Keep(valid, ttl time.Duration) time.Duration {
	if valid > 0 {
		return valid
	}
	return max(ttl, minWait)
}

// Name is one server line with resolve: the pool its addresses serve in,
// the name and port to resolve, and the settings each address's server gets
// (Settings.Name, the line's address as written, and Settings.Backup tell
// its servers apart from the pool's others).
type Name struct {
	Pool       *upstream.Pool
	Host, Port string
	Settings   upstream.Settings
}

// Options are a resolver directive's: the DNS servers ("ip:port"), how
// long an answer is used (valid=), how long one lookup may take, and which
// address families to look up.
type Options struct {
	Servers []string
	// Interval is valid=: how long every answer, and a failed lookup, is
	// kept before the name is resolved again, whatever the TTL. 0 uses
	// the answer's TTL (one second more; one second for a TTL of 0), and
	// DefaultInterval after a failure.
	Interval   time.Duration
	Timeout    time.Duration
	IPv4, IPv6 bool
	Log        *errlog.Logger
	// Now is the clock for servers added (slow_start); nil: time.Now.
	Now func() time.Time
}

// Client looks names up with a resolver directive's DNS servers, asked in
// turn, never the system's, and tells how long the answers are valid
// (their TTL). It is safe for concurrent use.
type Client struct {
	servers    []string
	next       atomic.Uint32 // the DNS server the next query goes to
	timeout    time.Duration
	ipv4, ipv6 bool
	// log gets nginx's line about a DNS server that refused a query
	// (nil: none); set by WithLog before the client is used.
	log *errlog.Logger
	// cache keeps Resolve's answers (nil: none); set by WithCache.
	cache *Cache
	// resend is how long a UDP query waits before it is sent again (0:
	// resendEvery, nginx's 5 seconds); tests set it shorter.
	resend time.Duration
}

// WithLog makes c write the lines nginx's resolver writes without a
// request (a DNS server that refused a query) to log, and returns c. It
// must be called before c is used.
func (c *Client) WithLog(log *errlog.Logger) *Client {
	c.log = log
	return c
}

// NewClient returns a client of servers ("ip:port"); timeout bounds one
// lookup (30 s when 0); ipv4 and ipv6 say which addresses to ask for.
func NewClient(servers []string, timeout time.Duration, ipv4, ipv6 bool) *Client {
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	return &Client{servers: servers, timeout: timeout, ipv4: ipv4, ipv6: ipv6}
}

// Lookup returns host's addresses in the families the client asks for,
// sorted, so that the order of an answer does not matter, and with an
// address as many times as the answer lists it: nginx's resolver keeps
// repeated records, and a group made of the answer has a peer for each
// (recorded with nginx 1.22.1: A records 127.0.0.1, 127.0.0.1, 127.0.0.2
// for "proxy_pass http://$h:PORT" sent 404 of 600 requests to 127.0.0.1,
// and tried an address listed twice twice). host is queried as a fully
// qualified name: no search domains, no hosts file. An IP address is its
// own answer. ctx may end the lookup before the client's timeout.
func (c *Client) Lookup(ctx context.Context, host string) ([]netip.Addr, error) {
	addrs, _, err := c.LookupTTL(ctx, host)
	return addrs, err
}

// LookupTTL is Lookup that also returns how long the answer is valid: the
// smallest TTL of the records it used (CNAMEs included), as nginx's
// resolver caches it; 0 for an IP address, which never changes. An
// answer with no address is a net.DNSError with IsNotFound, as Go's
// resolver words it.
func (c *Client) LookupTTL(ctx context.Context, host string) ([]netip.Addr, time.Duration, error) {
	if ip, err := netip.ParseAddr(host); err == nil {
		return []netip.Addr{ip}, 0, nil
	}
	if !strings.HasSuffix(host, ".") {
		host += "."
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	all, err := c.lookupName(ctx, host)
	if err != nil {
		if ctx.Err() != nil {
			return nil, 0, dnsError(ctx.Err(), host)
		}
		if re := (*refusedError)(nil); errors.As(err, &re) {
			return nil, 0, c.refused(ctx, re, host)
		}
		return nil, 0, err
	}
	addrs := all.addrs
	slices.SortFunc(addrs, func(a, b netip.Addr) int { return a.Compare(b) })
	return addrs, time.Duration(all.ttl) * time.Second, nil
}

// types are the record types the client asks for.
func (c *Client) types() []dnsmessage.Type {
	switch {
	case !c.ipv6:
		return []dnsmessage.Type{dnsmessage.TypeA}
	case !c.ipv4:
		return []dnsmessage.Type{dnsmessage.TypeAAAA}
	}
	return []dnsmessage.Type{dnsmessage.TypeA, dnsmessage.TypeAAAA}
}

// Watcher resolves a set of names again and again between Start and Stop.
type Watcher struct {
	names []Name
	opts  Options
	dns   *Client
	// ctx ends with Stop, and with it a lookup in progress: a reload
	// does not wait up to resolver_timeout for an old watcher.
	ctx    context.Context
	cancel context.CancelFunc
	done   sync.WaitGroup
}

// New returns a watcher of names (nil when there are none).
func New(names []Name, opts Options) *Watcher {
	if len(names) == 0 {
		return nil
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	w := &Watcher{names: names, opts: opts, dns: NewClient(opts.Servers, opts.Timeout, opts.IPv4, opts.IPv6).WithLog(opts.Log)}
	w.ctx, w.cancel = context.WithCancel(context.Background())
	return w
}

// Start resolves every name at once, then each again when its answer is no
// longer valid (Wait), until Stop. A nil watcher does nothing.
func (w *Watcher) Start() {
	if w == nil {
		return
	}
	w.done.Add(1)
	go func() {
		defer w.done.Done()
		due := make([]time.Time, len(w.names)) // zero: now
		t := time.NewTimer(0)
		defer t.Stop()
		for {
			select {
			case <-w.ctx.Done():
				return
			case <-t.C:
			}
			next := time.Time{}
			for i := range w.names {
				if now := time.Now(); !now.Before(due[i]) {
					due[i] = now.Add(w.refresh(&w.names[i]))
				}
				if next.IsZero() || due[i].Before(next) {
					next = due[i]
				}
			}
			t.Reset(time.Until(next))
		}
	}()
}

// Wait is how long a name waits to be resolved again after a lookup that
// found an answer valid for ttl, or failed with err: valid= when the
// resolver has it; else the TTL and a second more (as nginx's resolve
// timer), at least a second, so a TTL of 0 cannot make it spin; else,
// after a failure, DefaultInterval, the servers left as they were.
func (w *Watcher) Wait(ttl time.Duration, err error) time.Duration {
	switch {
	case w.opts.Interval > 0:
		return w.opts.Interval
	case err != nil:
		return DefaultInterval
	case ttl <= 0:
		return minWait
	}
	return ttl + time.Second
}

// Stop ends the watcher, and a lookup in progress, and waits for it.
func (w *Watcher) Stop() {
	if w == nil {
		return
	}
	w.cancel()
	w.done.Wait()
}

// Refresh resolves every name once and applies what changed.
func (w *Watcher) Refresh() {
	for i := range w.names {
		w.refresh(&w.names[i])
	}
}

// refresh resolves one name: an address that appeared becomes a server,
// a server whose address went away is removed. A failed lookup changes
// nothing (the servers keep the addresses they had), as nginx keeps them.
// It returns how long to wait before the name is resolved again (Wait).
func (w *Watcher) refresh(n *Name) time.Duration {
	addrs, ttl, err := w.dns.LookupTTL(w.ctx, n.Host)
	// A resolve server's addresses are servers by address, whose state a
	// reload keeps by address: a repeated record adds none.
	addrs = slices.Compact(addrs)
	if err != nil {
		if w.ctx.Err() == nil && w.opts.Log != nil { // stopped: not a failure of the name
			w.opts.Log.Logf(errlog.Error, "%s could not be resolved (%s)", n.Host, Describe(err))
		}
		return w.Wait(0, err)
	}
	w.apply(n, addrs)
	return w.Wait(ttl, nil)
}

// apply makes the servers of n's line those of addrs.
func (w *Watcher) apply(n *Name, addrs []netip.Addr) {
	want := make([]string, 0, len(addrs))
	for _, a := range addrs {
		want = append(want, net.JoinHostPort(a.String(), n.Port))
	}
	var have []string
	for _, s := range n.Pool.Servers() {
		if s.Name() != n.Settings.Name || s.Backup() != n.Settings.Backup || s.Removed() {
			continue
		}
		if !slices.Contains(want, s.Addr()) {
			if err := n.Pool.Remove(s.ID()); err == nil && w.opts.Log != nil {
				w.opts.Log.Logf(errlog.Notice, "upstream %q: server %s of %s removed: its address is gone from DNS", n.Pool.Name(), s.Addr(), n.Settings.Name)
			}
			continue
		}
		have = append(have, s.Addr())
	}
	for _, a := range want {
		if slices.Contains(have, a) {
			continue
		}
		set := n.Settings
		set.Network, set.Addr = "tcp", a
		if _, err := n.Pool.Add(set, false, w.opts.Now()); err != nil {
			if w.opts.Log != nil {
				w.opts.Log.Logf(errlog.Error, "upstream %q: cannot add server %s of %s: %v", n.Pool.Name(), a, n.Settings.Name, err)
			}
			continue
		}
		have = append(have, a)
		if w.opts.Log != nil {
			w.opts.Log.Logf(errlog.Notice, "upstream %q: server %s of %s added: a new address in DNS", n.Pool.Name(), a, n.Settings.Name)
		}
	}
}

// Describe words a failed lookup as nginx's resolver does in "NAME could
// not be resolved (...)": "3: Host not found" for a name DNS does not
// know, "110: Operation timed out" for no answer in time, "2: Server
// failure" for the rest.
func Describe(err error) string {
	var de *net.DNSError
	switch {
	case errors.As(err, &de) && de.IsNotFound:
		return "3: Host not found"
	case errors.As(err, &de) && de.IsTimeout, errors.Is(err, context.DeadlineExceeded):
		return "110: Operation timed out"
	}
	return "2: Server failure"
}

// Cache keeps the answers of one resolver directive for every location
// that uses it, as nginx's resolver object keeps its answers for all the
// locations that inherit it (recorded with nginx 1.22.1: two locations
// under one server-level resolver ask DNS once for a name, and "APP" and
// "app." are the same name). A failed lookup is not kept: nginx asked
// again for each request to a name DNS did not know. It is safe for
// concurrent use.
type Cache struct {
	mu      sync.Mutex // guards answers
	answers map[string]cachedAnswer
}

// cachedAnswer is a name's addresses, or an address's name (a PTR
// record's, ResolveAddr), and when they stop being valid.
type cachedAnswer struct {
	addrs   []netip.Addr
	name    string
	expires time.Time
}

// NewCache returns an empty cache.
func NewCache() *Cache {
	return &Cache{answers: map[string]cachedAnswer{}}
}

// WithCache makes c keep its answers in cache (shared with the other
// clients of the same resolver directive), and returns c. It must be called
// before c is used.
func (c *Client) WithCache(cache *Cache) *Client {
	c.cache = cache
	return c
}

// cacheKey is the name as nginx's resolver keeps it: lower case, without
// a trailing dot.
func cacheKey(host string) string {
	return strings.ToLower(strings.TrimSuffix(host, "."))
}

// Resolve returns host's addresses and until when they are valid (Keep of
// valid, the resolver's valid=, and the answer's TTL), from the client's
// cache while an answer there is valid at now, else from a new lookup,
// which the cache then keeps. Without a cache it always looks host up.
func (c *Client) Resolve(ctx context.Context, host string, valid time.Duration, now time.Time) ([]netip.Addr, time.Time, error) {
	key := cacheKey(host)
	if a, ok := c.cache.get(key, now); ok {
		return a.addrs, a.expires, nil
	}
	addrs, ttl, err := c.LookupTTL(ctx, key)
	if err != nil {
		return nil, time.Time{}, err
	}
	expires := now.Add(Keep(valid, ttl))
	if c.cache != nil {
		c.cache.put(key, cachedAnswer{addrs: addrs, expires: expires}, now)
	}
	return addrs, expires, nil
}

// get returns the answer kept for key while it is valid at now; a nil
// cache keeps none.
func (c *Cache) get(key string, now time.Time) (cachedAnswer, bool) {
	if c == nil {
		return cachedAnswer{}, false
	}
	c.mu.Lock()
	a, ok := c.answers[key]
	c.mu.Unlock()
	return a, ok && now.Before(a.expires)
}

// maxCached bounds the names a Cache keeps: names may come from request
// data (a wildcard DNS zone could make every one distinct).
const maxCached = 1024

// put keeps a for key; when the cache is full, the answers expired at now
// go first, and when it is still full, a is not kept.
func (c *Cache) put(key string, a cachedAnswer, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.answers[key]; !ok && len(c.answers) >= maxCached {
		for k, old := range c.answers {
			if !now.Before(old.expires) {
				delete(c.answers, k)
			}
		}
		if len(c.answers) >= maxCached {
			return
		}
	}
	c.answers[key] = a
}

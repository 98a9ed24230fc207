// Package resolve keeps the upstream servers written with the resolve
// parameter ("server app.example.com:8080 resolve;") in step with DNS while
// fulcrum runs: it asks the configured resolver for each name again at an
// interval, adds a server for an address that appeared and removes the one
// whose address went away, as NGINX Plus (and nginx 1.27.3) do.
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
)

// DefaultInterval is how often a name is resolved again without valid=:
// Go's resolver does not tell the records' TTL.
const DefaultInterval = 30 * time.Second

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
// often to ask again, how long one lookup may take, and which address
// families to look up.
type Options struct {
	Servers    []string
	Interval   time.Duration
	Timeout    time.Duration
	IPv4, IPv6 bool
	Log        *errlog.Logger
	// Now is the clock for servers added (slow_start); nil: time.Now.
	Now func() time.Time
}

// Client looks names up with a resolver directive's DNS servers, asked in
// turn, never the system's. It is safe for concurrent use.
type Client struct {
	r          *net.Resolver
	servers    []string
	next       atomic.Uint32 // the DNS server the next query goes to
	timeout    time.Duration
	ipv4, ipv6 bool
}

// NewClient returns a client of servers ("ip:port"); timeout bounds one
// lookup (30 s when 0); ipv4 and ipv6 say which addresses to ask for.
func NewClient(servers []string, timeout time.Duration, ipv4, ipv6 bool) *Client {
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	c := &Client{servers: servers, timeout: timeout, ipv4: ipv4, ipv6: ipv6}
	dialer := &net.Dialer{}
	c.r = &net.Resolver{
		PreferGo: true,
		Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
			i := int(c.next.Add(1)-1) % len(c.servers)
			return dialer.DialContext(ctx, network, c.servers[i])
		},
	}
	return c
}

// Lookup returns host's addresses in the families the client asks for,
// sorted and without repeats, so that the order of an answer does not
// matter. host is queried as a fully qualified name: no search domains,
// no hosts file. An IP address is its own answer. ctx may end the lookup
// before the client's timeout.
func (c *Client) Lookup(ctx context.Context, host string) ([]netip.Addr, error) {
	if ip, err := netip.ParseAddr(host); err == nil {
		return []netip.Addr{ip}, nil
	}
	network := "ip"
	switch {
	case !c.ipv6:
		network = "ip4"
	case !c.ipv4:
		network = "ip6"
	}
	if !strings.HasSuffix(host, ".") {
		host += "."
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	addrs, err := c.r.LookupNetIP(ctx, network, host)
	if err != nil {
		return nil, err
	}
	for i, a := range addrs {
		addrs[i] = a.Unmap()
	}
	slices.SortFunc(addrs, func(a, b netip.Addr) int { return a.Compare(b) })
	return slices.Compact(addrs), nil
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
	if opts.Interval <= 0 {
		opts.Interval = DefaultInterval
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	w := &Watcher{names: names, opts: opts, dns: NewClient(opts.Servers, opts.Timeout, opts.IPv4, opts.IPv6)}
	w.ctx, w.cancel = context.WithCancel(context.Background())
	return w
}

// Start resolves every name at once, then at each interval, until Stop.
// A nil watcher does nothing.
func (w *Watcher) Start() {
	if w == nil {
		return
	}
	w.done.Add(1)
	go func() {
		defer w.done.Done()
		t := time.NewTicker(w.opts.Interval)
		defer t.Stop()
		for {
			w.Refresh()
			select {
			case <-w.ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
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
func (w *Watcher) refresh(n *Name) {
	addrs, err := w.dns.Lookup(w.ctx, n.Host)
	if err != nil {
		if w.ctx.Err() != nil {
			return // stopped: not a failure of the name
		}
		if w.opts.Log != nil {
			w.opts.Log.Logf(errlog.Error, "%s could not be resolved (%s)", n.Host, Describe(err))
		}
		return
	}
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

// Package resolve keeps the upstream servers written with the resolve
// parameter ("server app.example.com:8080 resolve;") in step with DNS while
// fulcrum runs: it asks the configured resolver for each name again at an
// interval, adds a server for an address that appeared and removes the one
// whose address went away, as NGINX Plus (and nginx 1.27.3) do.
package resolve

import (
	"context"
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
// (Settings.Name, the line's address as written, tells its servers apart
// from the pool's others).
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

// Watcher resolves a set of names again and again between Start and Stop.
type Watcher struct {
	names []Name
	opts  Options
	r     *net.Resolver
	next  atomic.Uint32 // the DNS server the next query goes to
	stop  chan struct{}
	done  sync.WaitGroup
	once  sync.Once
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
	w := &Watcher{names: names, opts: opts, stop: make(chan struct{})}
	dialer := &net.Dialer{}
	w.r = &net.Resolver{
		PreferGo: true,
		// Every query goes to the configured servers, in turn, never to
		// the system's.
		Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
			i := int(w.next.Add(1)-1) % len(opts.Servers)
			return dialer.DialContext(ctx, network, opts.Servers[i])
		},
	}
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
			case <-w.stop:
				return
			case <-t.C:
			}
		}
	}()
}

// Stop ends the watcher and waits for a lookup in progress.
func (w *Watcher) Stop() {
	if w == nil {
		return
	}
	w.once.Do(func() { close(w.stop) })
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
	addrs, err := w.lookup(n.Host)
	if err != nil {
		if w.opts.Log != nil {
			w.opts.Log.Logf(errlog.Error, "%s could not be resolved (%v)", n.Host, err)
		}
		return
	}
	want := make([]string, 0, len(addrs))
	for _, a := range addrs {
		want = append(want, net.JoinHostPort(a.Unmap().String(), n.Port))
	}
	var have []string
	for _, s := range n.Pool.Servers() {
		if s.Name() != n.Settings.Name || s.Removed() {
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

// lookup asks the configured DNS servers for host's addresses in the
// families the resolver allows, sorted so that the order of an answer does
// not matter. host is queried as a fully qualified name: no search domains.
func (w *Watcher) lookup(host string) ([]netip.Addr, error) {
	if ip, err := netip.ParseAddr(host); err == nil {
		return []netip.Addr{ip}, nil
	}
	network := "ip"
	switch {
	case !w.opts.IPv6:
		network = "ip4"
	case !w.opts.IPv4:
		network = "ip6"
	}
	if !strings.HasSuffix(host, ".") {
		host += "."
	}
	ctx, cancel := context.WithTimeout(context.Background(), w.timeout())
	defer cancel()
	addrs, err := w.r.LookupNetIP(ctx, network, host)
	if err != nil {
		return nil, err
	}
	slices.SortFunc(addrs, func(a, b netip.Addr) int { return a.Compare(b) })
	return slices.Compact(addrs), nil
}

func (w *Watcher) timeout() time.Duration {
	if w.opts.Timeout > 0 {
		return w.opts.Timeout
	}
	return 30 * time.Second
}

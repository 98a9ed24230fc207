// Package router picks the virtual server and the location for a request, the way
// nginx does (spec: nginx-semantics.md sections 2 and 3), and normalises the two
// inputs it routes on: the Host (NormalizeHost) and the path (NormalizePath).
//
// A Router is built once per configuration snapshot and is immutable afterwards,
// so any number of goroutines may use it. It never sees *http.Request: the engine
// hands it the connection's local address, the host and the path as values.
//
// Routing one request:
//
//	hosts := listener.Hosts(localAddr)       // which listen address the client reached
//	sm := hosts.Server(host)                 // host from NormalizeHost
//	lm := sm.Server.Location(path)           // path from NormalizePath
package router

import (
	"fmt"
	"net/netip"

	"fulcrum/internal/config"
)

// DefaultListen is the address of a server block without a listen directive
// (nginx's "*:80" when run by root).
const DefaultListen = "0.0.0.0:80"

// Router is the routing table of one configuration snapshot.
type Router struct {
	servers   []*Server
	listeners []*Listener
}

// Listener is one socket to bind, with the listen addresses it serves. nginx binds
// a single socket per port when a wildcard address ("*:8080") is among the listen
// addresses of that port, and tells the addresses apart by the local address of
// each accepted connection; Hosts does the same.
type Listener struct {
	// Network is ready for net.Listen: "tcp4"; "tcp6" for an IPv6-only socket
	// (nginx's default ipv6only=on, which Go's "tcp6" sets); "tcp" for an IPv6
	// wildcard with ipv6only=off, a dual-stack socket that also takes IPv4
	// connections (they show IPv4-mapped local addresses); or "unix".
	Network string
	// Addr is what to bind: "0.0.0.0:80", "[::]:80", "127.0.0.1:8080", or a path.
	Addr string

	// specific are the non-wildcard addresses served by this socket.
	specific []*Hosts
	// wildcard is the "*:port" address; nil when the socket is not a wildcard.
	wildcard *Hosts
}

// Hosts returns the listen address a connection accepted on l belongs to, given
// the connection's local address (ignored for unix sockets). A connection to
// 127.0.0.1:8080 on a wildcard socket sees only the servers that listen on
// 127.0.0.1:8080 when some do, and the "*:8080" servers otherwise.
func (l *Listener) Hosts(local netip.AddrPort) *Hosts {
	if l.wildcard == nil {
		return l.specific[0]
	}
	ip := local.Addr()
	if l.Network == "tcp4" {
		ip = ip.Unmap()
	}
	for _, h := range l.specific {
		if h.ip == ip {
			return h
		}
	}
	return l.wildcard
}

// Addresses returns the listen addresses served by l, specific ones first.
func (l *Listener) Addresses() []*Hosts {
	all := append([]*Hosts(nil), l.specific...)
	if l.wildcard != nil {
		all = append(all, l.wildcard)
	}
	return all
}

// New builds the routing table for servers (the http block's server blocks, in
// config order). It fails on what nginx refuses at load time and the config
// package may not have caught: an unparsable listen address, the same address
// twice in one server, two default servers on one address, duplicate locations,
// a regex without its compiled pattern, a named location below the server level.
func New(servers []*config.Server) (*Router, error) {
	r := &Router{}
	b := newAddrBook()
	var err error
	for _, cs := range servers {
		srv, err := newServer(cs)
		if err != nil {
			return nil, err
		}
		r.servers = append(r.servers, srv)
		if err := b.addServer(srv); err != nil {
			return nil, err
		}
	}
	if r.listeners, err = b.listeners(); err != nil {
		return nil, err
	}
	return r, nil
}

// Listeners returns the sockets to bind, in order of first appearance in the
// configuration. The slice must not be modified.
func (r *Router) Listeners() []*Listener { return r.listeners }

// Servers returns every server, in config order. The slice must not be modified.
func (r *Router) Servers() []*Server { return r.servers }

// addrKey identifies a listen address.
type addrKey struct {
	network string // "tcp4", "tcp6", "unix"
	ap      netip.AddrPort
	path    string // unix socket path
}

// addrBook collects the listen addresses while servers are added.
type addrBook struct {
	hosts        map[addrKey]*Hosts
	order        []addrKey
	explicitDflt map[addrKey]bool // addresses whose default came from default_server
	// dualStack are the IPv6 wildcard addresses listened on with ipv6only=off.
	dualStack map[addrKey]bool
}

func newAddrBook() *addrBook {
	return &addrBook{
		hosts:        make(map[addrKey]*Hosts),
		explicitDflt: make(map[addrKey]bool),
		dualStack:    make(map[addrKey]bool),
	}
}

// addServer registers srv on each of its listen addresses.
func (b *addrBook) addServer(srv *Server) error {
	listens := srv.Config.Listens
	if len(listens) == 0 {
		listens = []config.Listen{{Network: "tcp", Addr: DefaultListen, Pos: srv.Config.Pos}}
	}
	seen := make(map[addrKey]bool)
	for _, l := range listens {
		key, err := parseListen(l)
		if err != nil {
			return err
		}
		if seen[key] {
			return fmt.Errorf("duplicate listen %s at %s", l.Addr, l.Pos)
		}
		seen[key] = true
		if err := b.add(key, l, srv); err != nil {
			return err
		}
	}
	return nil
}

func (b *addrBook) add(key addrKey, l config.Listen, srv *Server) error {
	h := b.hosts[key]
	if h == nil {
		h = &Hosts{Addr: key.String(), ip: key.ap.Addr()}
		b.hosts[key] = h
		b.order = append(b.order, key)
	}
	if err := h.addServer(srv); err != nil {
		return err
	}
	h.SSL = h.SSL || l.SSL
	h.HTTP2 = h.HTTP2 || l.HTTP2
	h.ProxyProtocol = h.ProxyProtocol || l.ProxyProtocol
	if key.network == "tcp6" && key.ap.Addr().IsUnspecified() && !l.IPv6Only {
		b.dualStack[key] = true
	}
	switch {
	case l.DefaultServer && b.explicitDflt[key]:
		return fmt.Errorf("a duplicate default server for %s at %s", h.Addr, l.Pos)
	case l.DefaultServer:
		h.DefaultServer, b.explicitDflt[key] = srv, true
	case h.DefaultServer == nil:
		h.DefaultServer = srv
	}
	return nil
}

// listeners groups the addresses into sockets: per network and port, one wildcard
// socket when a wildcard address is present, else one socket per address.
func (b *addrBook) listeners() ([]*Listener, error) {
	type group struct {
		network string
		port    uint16
	}
	var out []*Listener
	shared := make(map[group]*Listener)
	for _, key := range b.order {
		h := b.hosts[key]
		if key.network == "unix" {
			out = append(out, &Listener{Network: "unix", Addr: key.path, specific: []*Hosts{h}})
			continue
		}
		g := group{key.network, key.ap.Port()}
		if l := shared[g]; l != nil {
			l.specific = append(l.specific, h)
			continue
		}
		if b.hasWildcard(g.network, g.port) {
			l := &Listener{Network: key.network, Addr: wildcardFor(g.network, g.port).String()}
			if err := b.checkDualStack(l, g.port); err != nil {
				return nil, err
			}
			shared[g] = l
			out = append(out, l)
			l.specific = append(l.specific, h)
			continue
		}
		out = append(out, &Listener{Network: key.network, Addr: h.Addr, specific: []*Hosts{h}})
	}
	for _, l := range shared {
		l.splitWildcard()
	}
	return out, nil
}

// checkDualStack makes l, a wildcard socket, dual-stack when its IPv6 wildcard
// was listened on with ipv6only=off. Such a socket takes the port's IPv4
// connections too, so an IPv4 listen on the same port could not be bound.
func (b *addrBook) checkDualStack(l *Listener, port uint16) error {
	if l.Network != "tcp6" || !b.dualStack[wildcardFor("tcp6", port)] {
		return nil
	}
	for _, key := range b.order {
		if key.network == "tcp4" && key.ap.Port() == port {
			return fmt.Errorf("listen [::]:%d with ipv6only=off also takes IPv4 connections and cannot share port %d with listen %s", port, port, key)
		}
	}
	l.Network = "tcp"
	return nil
}

func (b *addrBook) hasWildcard(network string, port uint16) bool {
	_, ok := b.hosts[wildcardFor(network, port)]
	return ok
}

// splitWildcard moves the wildcard address out of the specific ones.
func (l *Listener) splitWildcard() {
	for i, h := range l.specific {
		if h.ip.IsUnspecified() {
			l.wildcard = h
			l.specific = append(l.specific[:i:i], l.specific[i+1:]...)
			return
		}
	}
}

// wildcardFor is the wildcard address of a network ("tcp4" or "tcp6") and port.
func wildcardFor(network string, port uint16) addrKey {
	ip := netip.IPv4Unspecified()
	if network == "tcp6" {
		ip = netip.IPv6Unspecified()
	}
	return addrKey{network: network, ap: netip.AddrPortFrom(ip, port)}
}

func (k addrKey) String() string {
	if k.network == "unix" {
		return k.path
	}
	return k.ap.String()
}

// parseListen parses a listen directive's address.
func parseListen(l config.Listen) (addrKey, error) {
	switch l.Network {
	case "unix":
		if l.Addr == "" {
			return addrKey{}, fmt.Errorf("listen at %s: empty unix socket path", l.Pos)
		}
		return addrKey{network: "unix", path: l.Addr}, nil
	case "tcp", "":
		ap, err := netip.ParseAddrPort(l.Addr)
		if err != nil {
			return addrKey{}, fmt.Errorf("listen %q at %s: %w", l.Addr, l.Pos, err)
		}
		network := "tcp6"
		if ap.Addr().Is4() {
			network = "tcp4"
		}
		return addrKey{network: network, ap: ap}, nil
	}
	return addrKey{}, fmt.Errorf("listen at %s: unknown network %q", l.Pos, l.Network)
}

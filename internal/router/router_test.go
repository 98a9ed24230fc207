package router

import (
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"testing"

	"fulcrum/internal/config"
)

func server(name string, listens ...config.Listen) *config.Server {
	return &config.Server{Listens: listens, Names: names(exactName(name))}
}

func listenerKeys(r *Router) []string {
	var out []string
	for _, l := range r.Listeners() {
		out = append(out, l.Network+" "+l.Addr)
	}
	return out
}

func TestListeners(t *testing.T) {
	tests := []struct {
		name    string
		servers []*config.Server
		want    []string
	}{
		{"specific addresses bind separately",
			[]*config.Server{server("a", listen("127.0.0.1:8080", false)), server("b", listen("127.0.0.2:8080", false))},
			[]string{"tcp4 127.0.0.1:8080", "tcp4 127.0.0.2:8080"}},
		{"a wildcard takes its port's specific addresses",
			[]*config.Server{server("a", listen("127.0.0.1:8080", false)), server("b", listen("0.0.0.0:8080", false)), server("c", listen("127.0.0.1:9090", false))},
			[]string{"tcp4 0.0.0.0:8080", "tcp4 127.0.0.1:9090"}},
		{"IPv4 and IPv6 wildcards are two sockets",
			[]*config.Server{server("a", listen("0.0.0.0:80", false), listen("[::]:80", false))},
			[]string{"tcp4 0.0.0.0:80", "tcp6 [::]:80"}},
		{"IPv6 specific under IPv6 wildcard",
			[]*config.Server{server("a", listen("[::1]:80", false)), server("b", listen("[::]:80", false)), server("c", listen("127.0.0.1:80", false))},
			[]string{"tcp6 [::]:80", "tcp4 127.0.0.1:80"}},
		{"one socket per address however many servers",
			[]*config.Server{server("a", listen("0.0.0.0:80", false)), server("b", listen("0.0.0.0:80", true))},
			[]string{"tcp4 0.0.0.0:80"}},
		{"unix socket",
			[]*config.Server{server("a", config.Listen{Network: "unix", Addr: "/run/f.sock"}, listen("0.0.0.0:80", false))},
			[]string{"unix /run/f.sock", "tcp4 0.0.0.0:80"}},
		{"ipv6only=off makes the IPv6 wildcard dual-stack",
			[]*config.Server{server("a", config.Listen{Network: "tcp", Addr: "[::]:80"}, listen("[::1]:80", false))},
			[]string{"tcp [::]:80"}},
		{"ipv6only=off on a specific IPv6 address changes nothing",
			[]*config.Server{server("a", config.Listen{Network: "tcp", Addr: "[::1]:80"})},
			[]string{"tcp6 [::1]:80"}},
		{"no listen means *:80",
			[]*config.Server{{Names: names(exactName("a"))}},
			[]string{"tcp4 0.0.0.0:80"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := New(tt.servers)
			if err != nil {
				t.Fatal(err)
			}
			if got := listenerKeys(r); !slices.Equal(got, tt.want) {
				t.Fatalf("listeners %q, want %q", got, tt.want)
			}
		})
	}
}

func TestListenBuildErrors(t *testing.T) {
	tests := []struct {
		name    string
		servers []*config.Server
	}{
		{"two default servers", []*config.Server{server("a", listen("0.0.0.0:80", true)), server("b", listen("0.0.0.0:80", true))}},
		{"same address twice in a server", []*config.Server{server("a", listen("0.0.0.0:80", false), listen("0.0.0.0:80", false))}},
		{"host name instead of an IP", []*config.Server{server("a", listen("localhost:80", false))}},
		{"no port", []*config.Server{server("a", listen("127.0.0.1", false))}},
		{"unknown network", []*config.Server{server("a", config.Listen{Network: "udp", Addr: "0.0.0.0:80"})}},
		{"empty unix path", []*config.Server{server("a", config.Listen{Network: "unix"})}},
		{"dual-stack IPv6 wildcard next to IPv4 on its port", []*config.Server{
			server("a", config.Listen{Network: "tcp", Addr: "[::]:80"}), server("b", listen("127.0.0.1:80", false))}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := New(tt.servers); err == nil {
				t.Fatal("New succeeded, want an error")
			}
		})
	}
}

// dispatchServers mirrors a configuration loaded into nginx 1.22.1, which bound a
// single 0.0.0.0 socket for the port and answered as TestListenerDispatch expects.
func dispatchServers(port int) []*config.Server {
	at := func(ip string, dflt bool) config.Listen {
		return listen(net.JoinHostPort(ip, strconv.Itoa(port)), dflt)
	}
	return []*config.Server{
		server("a", at("127.0.0.1", false)),
		server("b", at("0.0.0.0", false)),
		server("c", at("0.0.0.0", true)),
		server("d", at("127.0.0.3", false), at("127.0.0.4", true)),
		server("e", at("127.0.0.3", false)),
	}
}

var dispatchCases = []struct {
	local string // the address the client connects to
	host  string
	want  string
}{
	{"127.0.0.1", "a", "a"},
	{"127.0.0.1", "b", "a"}, // only the 127.0.0.1 servers are candidates
	{"127.0.0.1", "zzz", "a"},
	{"127.0.0.2", "b", "b"},
	{"127.0.0.2", "a", "c"}, // default_server of *:port
	{"127.0.0.2", "zzz", "c"},
	{"127.0.0.3", "e", "e"},
	{"127.0.0.3", "zzz", "d"}, // first server on 127.0.0.3
	{"127.0.0.4", "e", "d"},
}

func TestListenerDispatch(t *testing.T) {
	r, err := New(dispatchServers(8080))
	if err != nil {
		t.Fatal(err)
	}
	if got := listenerKeys(r); !slices.Equal(got, []string{"tcp4 0.0.0.0:8080"}) {
		t.Fatalf("listeners %q", got)
	}
	l := r.Listeners()[0]
	for _, tt := range dispatchCases {
		t.Run(tt.local+"/"+tt.host, func(t *testing.T) {
			local := netip.AddrPortFrom(netip.MustParseAddr(tt.local), 8080)
			if got := l.Hosts(local).Server(tt.host).Server.Config.Names[0].Name; got != tt.want {
				t.Fatalf("got server %q, want %q", got, tt.want)
			}
			mapped := netip.AddrPortFrom(netip.AddrFrom16(local.Addr().As16()), 8080)
			if got := l.Hosts(mapped).Server(tt.host).Server.Config.Names[0].Name; got != tt.want {
				t.Fatalf("IPv4-mapped local address: got server %q, want %q", got, tt.want)
			}
		})
	}
}

// TestListenerDispatchRealSockets binds what Listeners says, connects to several
// loopback addresses, and dispatches on each accepted connection's local address.
func TestListenerDispatchRealSockets(t *testing.T) {
	ln, r := bindDispatch(t)
	for _, tt := range dispatchCases {
		t.Run(tt.local+"/"+tt.host, func(t *testing.T) {
			_, port, _ := net.SplitHostPort(ln.Addr().String())
			c, err := net.Dial("tcp4", net.JoinHostPort(tt.local, port))
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			sc, err := ln.Accept()
			if err != nil {
				t.Fatal(err)
			}
			defer sc.Close()
			local := sc.LocalAddr().(*net.TCPAddr).AddrPort()
			if got := r.Listeners()[0].Hosts(local).Server(tt.host).Server.Config.Names[0].Name; got != tt.want {
				t.Fatalf("local %v: got server %q, want %q", local, got, tt.want)
			}
		})
	}
}

// bindDispatch finds a free port, builds the dispatch configuration on it and
// binds the single listener the router asks for, retrying if another process
// takes the port in between.
func bindDispatch(t *testing.T) (net.Listener, *Router) {
	t.Helper()
	var lastErr error
	for range 5 {
		probe, err := net.Listen("tcp4", "0.0.0.0:0")
		if err != nil {
			t.Fatal(err)
		}
		port := probe.Addr().(*net.TCPAddr).Port
		probe.Close()
		r, err := New(dispatchServers(port))
		if err != nil {
			t.Fatal(err)
		}
		if n := len(r.Listeners()); n != 1 {
			t.Fatalf("%d listeners, want 1", n)
		}
		l := r.Listeners()[0]
		ln, err := net.Listen(l.Network, l.Addr)
		if err == nil {
			t.Cleanup(func() { ln.Close() })
			return ln, r
		}
		lastErr = err
	}
	t.Fatal(fmt.Errorf("binding the dispatch listener: %w", lastErr))
	return nil, nil
}

func TestListenerAddresses(t *testing.T) {
	r, err := New(dispatchServers(8080))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, h := range r.Listeners()[0].Addresses() {
		var srv []string
		for _, s := range h.Servers {
			srv = append(srv, s.Config.Names[0].Name)
		}
		got = append(got, fmt.Sprintf("%s=%v/%s", h.Addr, srv, h.DefaultServer.Config.Names[0].Name))
	}
	want := []string{"127.0.0.1:8080=[a]/a", "127.0.0.3:8080=[d e]/d", "127.0.0.4:8080=[d]/d", "0.0.0.0:8080=[b c]/c"}
	if !slices.Equal(got, want) {
		t.Fatalf("addresses %q, want %q", got, want)
	}
}

func TestUnixListenerHosts(t *testing.T) {
	r, err := New([]*config.Server{server("a", config.Listen{Network: "unix", Addr: "/run/f.sock"})})
	if err != nil {
		t.Fatal(err)
	}
	h := r.Listeners()[0].Hosts(netip.AddrPort{})
	if h == nil || h.Addr != "/run/f.sock" || h.Server("x").Server.Config.Names[0].Name != "a" {
		t.Fatalf("unix hosts = %+v", h)
	}
}

// TestDualStackDispatch: on a dual-stack [::]:80 socket an IPv4 client shows an
// IPv4-mapped local address, which belongs to the wildcard, never to a specific
// IPv6 address.
func TestDualStackDispatch(t *testing.T) {
	r, err := New([]*config.Server{
		server("any", config.Listen{Network: "tcp", Addr: "[::]:80"}),
		server("loop6", listen("[::1]:80", false)),
	})
	if err != nil {
		t.Fatal(err)
	}
	l := r.Listeners()[0]
	tests := []struct{ local, want string }{
		{"[::ffff:127.0.0.1]:80", "any"},
		{"[::1]:80", "loop6"},
		{"[2001:db8::1]:80", "any"},
	}
	for _, tt := range tests {
		h := l.Hosts(netip.MustParseAddrPort(tt.local))
		if got := h.Server("x").Server.Config.Names[0].Name; got != tt.want {
			t.Errorf("local %s: server %q, want %q", tt.local, got, tt.want)
		}
	}
}

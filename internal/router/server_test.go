package router

import (
	"errors"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"fulcrum/internal/config"
	"fulcrum/internal/pcre"
)

// hostsOf builds a router whose servers all listen on 127.0.0.1:8080 and returns
// that address's Hosts.
func hostsOf(t *testing.T, servers ...*config.Server) *Hosts {
	t.Helper()
	for _, s := range servers {
		if s.Listens == nil {
			s.Listens = []config.Listen{listen("127.0.0.1:8080", false)}
		}
	}
	r, err := New(servers)
	if err != nil {
		t.Fatal(err)
	}
	return r.Listeners()[0].Addresses()[0]
}

func names(ns ...config.ServerName) []config.ServerName { return ns }

// TestServerNameNginx mirrors server blocks that were loaded into nginx 1.22.1 on
// one port; each expectation is what nginx answered for that Host.
func TestServerNameNginx(t *testing.T) {
	srv := []*config.Server{
		{Names: names(exactName("_"))},
		{Names: names(exactName("example.org"), leadName("*.example.org"), trailName("mail.*"))},
		{Names: names(leadName("*.sub.example.org"), trailName("www.example.*"), trailName("mail.x.*"))},
		{Names: names(regexSN(`^(?<user>\w+)\.users\.example\.net$`), regexSN(`^www\d+\.example\.net$`))},
		{Names: names(regexSN(`^(www)\.(.+)$`), regexSN(`^(?<user>x)(y)$`))},
		{Names: names(exactName(""))},
		{Names: dotName(".dot.org")},
		{Names: names(regexSN(`^UPPER\.case$`))},
	}
	h := hostsOf(t, srv...)
	tests := []struct {
		host   string
		want   int      // index into srv
		groups []string // regex groups from $1; nil when no regex matched
	}{
		{"example.org", 1, nil},
		{"Example.ORG", 1, nil},
		{"www.example.org", 1, nil},   // lead wildcard beats trail wildcard "www.example.*"
		{"a.sub.example.org", 2, nil}, // longest lead wildcard
		{"sub.example.org", 1, nil},
		{".example.org", 1, nil}, // nginx lets a lead wildcard match an empty label
		{"mail.foo", 1, nil},
		{"mail.x.y", 2, nil}, // longest trail wildcard
		{"mail.x", 1, nil},
		{"MAIL.Foo.", 1, nil},
		{"www.example.com", 2, nil},
		{"www.example", 4, []string{"www", "example"}}, // "www.example.*" needs more after the dot
		{"www1.example.net", 3, []string{}},
		{"bob.users.example.net", 3, []string{"bob"}},
		{"www.foo.net", 4, []string{"www", "foo.net"}}, // first regex in config order
		{"xy", 4, []string{"x", "y"}},
		{"dot.org", 6, nil},
		{"x.dot.org", 6, nil},
		{".dot.org", 6, nil},
		{"upper.case", 7, []string{}}, // regexes are case-insensitive
		{"mail", 0, nil},              // no match: the first server
		{"zzz", 0, nil},
		{"", 5, nil}, // HTTP/1.0 without Host: server_name ""
	}
	for _, tt := range tests {
		t.Run(tt.host, func(t *testing.T) {
			host := tt.host
			if host != "" {
				var err error
				if host, err = NormalizeHost(host); err != nil {
					t.Fatal(err)
				}
			}
			m := h.Server(host)
			if m.Server.Config != srv[tt.want] {
				t.Fatalf("Server(%q) = server %d, want %d", host, slices.Index(srv, m.Server.Config), tt.want)
			}
			groups := m.Captures.Groups()
			if tt.groups == nil {
				if groups != nil {
					t.Fatalf("captures %q, want none", groups)
				}
				return
			}
			if groups == nil || !slices.Equal(groups[1:], tt.groups) {
				t.Fatalf("captures %q, want %q", groups, tt.groups)
			}
		})
	}
	if user, ok := h.Server("bob.users.example.net").Captures.Named("user"); !ok || user != "bob" {
		t.Fatalf("named capture user = %q, %v", user, ok)
	}
}

func TestServerDefault(t *testing.T) {
	a := &config.Server{Names: names(exactName("a"))}
	b := &config.Server{Names: names(exactName("b"))}
	c := &config.Server{Names: names(exactName("c"))}
	tests := []struct {
		name    string
		dflt    *config.Server // marked default_server; nil for none
		servers []*config.Server
		want    *config.Server // for an unknown host
	}{
		{"first server when none is default", nil, []*config.Server{a, b, c}, a},
		{"default_server wins", b, []*config.Server{a, b, c}, b},
		{"default_server last", c, []*config.Server{a, b, c}, c},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var servers []*config.Server
			for _, s := range tt.servers {
				cp := *s
				cp.Listens = []config.Listen{listen("127.0.0.1:8080", s == tt.dflt)}
				servers = append(servers, &cp)
			}
			h := hostsOf(t, servers...)
			m := h.Server("unknown")
			if m.Server.Config.Names[0].Name != tt.want.Names[0].Name || !m.Default {
				t.Fatalf("default = %q (Default=%v), want %q", m.Server.Config.Names[0].Name, m.Default, tt.want.Names[0].Name)
			}
			if m := h.Server("a"); m.Server.Config.Names[0].Name != "a" || m.Default {
				t.Fatalf("exact name a chose %q", m.Server.Config.Names[0].Name)
			}
		})
	}
}

// TestServerUnderscoreNeverMatches: "_" is only a placeholder name (spec section
// 2). nginx 1.22.1 does match "Host: _" against it; fulcrum does not.
func TestServerUnderscoreNeverMatches(t *testing.T) {
	first := &config.Server{Names: names(exactName("first"))}
	under := &config.Server{Names: names(exactName("_"))}
	h := hostsOf(t, first, under)
	if m := h.Server("_"); m.Server.Config != first || !m.Default {
		t.Fatalf(`Host "_" chose %v, want the default server`, m.Server.Config.Names)
	}
}

func TestServerFirstClaimWins(t *testing.T) {
	a := &config.Server{Names: names(exactName("x.org"), leadName("*.x.org"), trailName("www.*"), regexSN(`^r$`))}
	b := &config.Server{Names: names(exactName("x.org"), leadName("*.x.org"), trailName("www.*"), regexSN(`^r$`))}
	h := hostsOf(t, a, b)
	for _, host := range []string{"x.org", "a.x.org", "www.y", "r"} {
		if m := h.Server(host); m.Server.Config != a {
			t.Errorf("Server(%q) chose the second server; nginx keeps the first claim", host)
		}
	}
}

func TestServerNameBuildErrors(t *testing.T) {
	tests := []struct {
		name string
		n    config.ServerName
	}{
		{"lead without dot", leadName("*example.org")},
		{"lead only star", leadName("*")},
		{"trail without dot", trailName("mail*")},
		{"trail only star", trailName("*")},
		{"regex not compiled", config.ServerName{Kind: config.NameRegex, Name: "^x$"}},
		{"unknown kind", config.ServerName{Kind: 42, Name: "x"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := New([]*config.Server{{Names: names(tt.n)}}); err == nil {
				t.Fatal("New succeeded, want an error")
			}
		})
	}
}

// TestHostsMergeSlashes: the path of a request is normalised with the
// merge_slashes of the address's default server, or of the server the TLS SNI
// name chose, never of the server the Host header chooses (nginx 1.22, checked
// with nginx-diff and, for SNI, curl --resolve against an ssl address).
func TestHostsMergeSlashes(t *testing.T) {
	srv := func(name string, merge, dflt, ssl bool) *config.Server {
		l := listen("127.0.0.1:8443", dflt)
		l.SSL = ssl
		return &config.Server{Listens: []config.Listen{l}, Names: []config.ServerName{exactName(name)},
			Settings: &config.Settings{MergeSlashes: merge}}
	}
	tests := []struct {
		name    string
		servers []*config.Server
		sni     string
		want    bool
	}{
		{"default on", []*config.Server{srv("on.test", true, false, false), srv("off.test", false, false, false)}, "", true},
		{"default off", []*config.Server{srv("on.test", true, false, false), srv("off.test", false, true, false)}, "", false},
		{"sni ignored without ssl", []*config.Server{srv("on.test", true, false, false), srv("off.test", false, false, false)}, "off.test", true},
		{"sni chooses off", []*config.Server{srv("on.test", true, false, true), srv("off.test", false, false, true)}, "OFF.test", false},
		{"sni chooses on", []*config.Server{srv("on.test", true, false, true), srv("off.test", false, true, true)}, "on.test", true},
		{"unknown sni: default", []*config.Server{srv("on.test", true, false, true), srv("off.test", false, true, true)}, "none.test", false},
		{"invalid sni: default", []*config.Server{srv("on.test", true, false, true), srv("off.test", false, false, true)}, "bad host", true},
		{"all agree", []*config.Server{srv("a.test", false, false, true), srv("b.test", false, false, true)}, "a.test", false},
		{"no settings merges", []*config.Server{{Listens: []config.Listen{listen("127.0.0.1:8443", false)}}}, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := New(tt.servers)
			if err != nil {
				t.Fatal(err)
			}
			h := r.Listeners()[0].Hosts(netip.MustParseAddrPort("127.0.0.1:8443"))
			if got := h.MergeSlashes(tt.sni); got != tt.want {
				t.Errorf("MergeSlashes(%q) = %v, want %v", tt.sni, got, tt.want)
			}
		})
	}
}

// TestServerNameMatchLimit: a regex server_name whose match hits the
// backtracking engine's bound stops the search with ServerMatch.Err and
// the default server (nginx 1.22.1's ngx_http_find_virtual_server fails:
// "[alert] ... pcre2_match() failed: -47 on "aaa...c" using
// "^(a|aa)+(?!x)$" while reading client request headers", and the request
// is closed with 500), where a later regex would match; a host it settles
// quickly routes as usual.
func TestServerNameMatchLimit(t *testing.T) {
	dflt := &config.Server{Names: names(exactName("other"))}
	redos := &config.Server{Names: names(regexSN(`^(a|aa)+(?!x)$`))}
	later := &config.Server{Names: names(regexSN(`^a`))}
	h := hostsOf(t, dflt, redos, later)
	m := h.Server(strings.Repeat("a", 50) + "c")
	if !errors.Is(m.Err, pcre.ErrMatchLimit) || m.Server.Config != dflt || !m.Default {
		t.Errorf("Err %v, server %v, Default %t; want pcre.ErrMatchLimit and the default server", m.Err, m.Server.Config.Names, m.Default)
	}
	if m := h.Server("aaaa"); m.Err != nil || m.Server.Config != redos {
		t.Errorf("normal host: Err %v, server %v", m.Err, m.Server.Config.Names)
	}
	if m := h.Server("ab"); m.Err != nil || m.Server.Config != later {
		t.Errorf("host of the later regex: Err %v, server %v", m.Err, m.Server.Config.Names)
	}
}

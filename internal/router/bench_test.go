package router

import (
	"fmt"
	"net/netip"
	"sync"
	"testing"

	"fulcrum/internal/config"
)

// benchRouter is a realistic table: 20 virtual hosts on one wildcard port plus one
// on a specific address, each with a mix of exact, prefix, "^~", regex and nested
// locations.
func benchRouter(tb testing.TB) *Router {
	tb.Helper()
	var servers []*config.Server
	for i := range 20 {
		servers = append(servers, &config.Server{
			Listens: []config.Listen{listen("0.0.0.0:80", i == 0)},
			Names: names(exactName(fmt.Sprintf("site%d.example.com", i)),
				leadName(fmt.Sprintf("*.site%d.example.org", i))),
			Locations: []*config.Location{
				exact("/"),
				prefix("/"),
				exact("/healthz"),
				proxied(prefix("/api/")),
				proxied(prefix("/api/v2/", regex(`^/api/v2/admin`))),
				noRegex("/static/"),
				prefix("/docs/", prefix("/docs/internal/")),
				regexI(`\.(gif|jpg|png)$`),
				regex(`^/user/(?<id>\d+)$`),
			},
		})
	}
	servers = append(servers, &config.Server{
		Listens: []config.Listen{listen("0.0.0.0:80", false)},
		Names:   names(exactName("plain.example.com"), leadName("*.plain.example.org")),
		Locations: []*config.Location{
			prefix("/"), prefix("/a/"), prefix("/a/b/", prefix("/a/b/c/")), prefix("/x/"), exact("/y"),
		},
	})
	servers = append(servers, &config.Server{
		Listens: []config.Listen{listen("10.0.0.1:80", false)},
		Names:   names(exactName("internal")),
	})
	servers = append(servers, &config.Server{
		Listens:   []config.Listen{listen("0.0.0.0:80", false)},
		Names:     names(regexSN(`^(?<sub>\w+)\.regex\.example$`)),
		Locations: []*config.Location{prefix("/")},
	})
	r, err := New(servers)
	if err != nil {
		tb.Fatal(err)
	}
	return r
}

// routeCases are the benchmarked requests. regexTried marks those for which nginx's
// rules make the router try regexes (a plain prefix location is the longest match in
// a server that has regex locations); the others run no regex at all.
var routeCases = []struct {
	name, host, path string
	regexTried       bool
}{
	{"exact host, exact location", "site7.example.com", "/healthz", false},
	{"exact host, ^~ location", "site7.example.com", "/static/app.js", false},
	{"exact host, auto redirect", "site7.example.com", "/api", false},
	{"exact host, prefix location, no regexes", "plain.example.com", "/a/b/c/d/e", false},
	{"wildcard host, prefix location, no regexes", "a.plain.example.org:80", "/x/y", false},
	{"exact host, prefix location, regexes tried", "site7.example.com", "/api/v1/users/42", true},
	{"exact host, nested prefix, regexes tried", "site7.example.com", "/docs/internal/a/b", true},
	{"wildcard host, prefix location, regexes tried", "www.site3.example.org", "/api/v1/x", true},
	{"exact host, regex location", "site7.example.com", "/img/logo.png", true},
	{"regex host", "abc.regex.example", "/x", true},
}

// route is the whole per-request routing path the engine runs.
func route(l *Listener, local netip.AddrPort, rawHost, rawPath string) LocationMatch {
	host, err := NormalizeHost(rawHost)
	if err != nil {
		return LocationMatch{}
	}
	path, err := NormalizePath(rawPath)
	if err != nil {
		return LocationMatch{}
	}
	return l.Hosts(local).Server(host).Server.Location(path)
}

// TestRouteZeroAlloc keeps the promise of the package doc: routing allocates
// nothing. Requests that try regexes are held to it only without the race
// detector (see race_on_test.go); the regex-free ones always.
func TestRouteZeroAlloc(t *testing.T) {
	r := benchRouter(t)
	l := r.Listeners()[0]
	local := netip.MustParseAddrPort("192.0.2.1:80")
	for _, tt := range routeCases {
		if tt.regexTried && raceEnabled {
			continue
		}
		t.Run(tt.name, func(t *testing.T) {
			if m := route(l, local, tt.host, tt.path); m.Location == nil {
				t.Fatalf("%s %s matched nothing", tt.host, tt.path)
			}
			allocs := testing.AllocsPerRun(200, func() { route(l, local, tt.host, tt.path) })
			if allocs != 0 {
				t.Fatalf("routing allocated %v times, want 0", allocs)
			}
		})
	}
}

func BenchmarkRoute(b *testing.B) {
	r := benchRouter(b)
	l := r.Listeners()[0]
	local := netip.MustParseAddrPort("192.0.2.1:80")
	for _, tt := range routeCases {
		b.Run(tt.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				route(l, local, tt.host, tt.path)
			}
		})
	}
}

func BenchmarkNormalizePath(b *testing.B) {
	for _, p := range []string{"/api/v1/users/42", "/api//v1/./users/../users/42", "/a%20b/%2e%2e/c"} {
		b.Run(p, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				NormalizePath(p)
			}
		})
	}
}

// TestConcurrentRoute routes from many goroutines at once; under -race it shows
// that routing never writes shared state.
func TestConcurrentRoute(t *testing.T) {
	r := benchRouter(t)
	l := r.Listeners()[0]
	local := netip.MustParseAddrPort("192.0.2.1:80")
	want := make([]LocationMatch, len(routeCases))
	for i, tt := range routeCases {
		want[i] = route(l, local, tt.host, tt.path)
	}
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 50 {
				for i, tt := range routeCases {
					got := route(l, local, tt.host, tt.path)
					if got.Location != want[i].Location || got.Redirect != want[i].Redirect || got.Captures != want[i].Captures {
						t.Errorf("%s: concurrent route differs", tt.name)
						return
					}
				}
			}
		})
	}
	wg.Wait()
}

package router

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"fulcrum/internal/config"
	"fulcrum/internal/pcre"
)

type locCase struct {
	path string
	want string // see where(): "= /", "/x/", "~ re", "301 /x/", "-"
}

func runLocCases(t *testing.T, s *Server, cases []locCase) {
	t.Helper()
	for _, tt := range cases {
		t.Run(tt.path, func(t *testing.T) {
			if got := where(s.Location(tt.path)); got != tt.want {
				t.Fatalf("Location(%q) = %q, want %q", tt.path, got, tt.want)
			}
		})
	}
}

// TestLocationNginxDocExample is the example of nginx's ngx_http_core_module
// "location" documentation, also checked against nginx 1.22.1.
func TestLocationNginxDocExample(t *testing.T) {
	s := serverOf(t,
		exact("/"),                  // A
		prefix("/"),                 // B
		prefix("/documents/"),       // C
		noRegex("/images/"),         // D
		regexI(`\.(gif|jpg|jpeg)$`), // E
	)
	runLocCases(t, s, []locCase{
		{"/", "= /"},
		{"/index.html", "/"},
		{"/documents/document.html", "/documents/"},
		{"/images/1.gif", "^~ /images/"},
		{"/documents/1.jpg", `~* \.(gif|jpg|jpeg)$`},
		{"/documents/1.JPG", `~* \.(gif|jpg|jpeg)$`},
		{"/documents/", "/documents/"},
	})
}

// nginxQuirksServer is the same set of locations that was loaded into nginx 1.22.1
// (each answering its own name with "return 200"); the expectations in
// TestLocationNginxQuirks are what nginx answered.
func nginxQuirksServer(t *testing.T) *Server {
	return serverOf(t,
		prefix("/a/",
			prefix("/a/b/"),
			noRegex("/a/c/"),
			regex(`\.php$`),
		),
		noRegex("/img/",
			regex(`\.gif$`),
			prefix("/img/x/"),
		),
		regex(`\.(php|txt)$`),
		regex(`^/a/c/`),
		proxied(prefix("/api/")),
		regex(`^/api$`),
		proxied(exact("/exact/")),
		prefix("/p"),
		proxied(prefix("/p/")),
		proxied(prefix("/q/")),
		exact("/q"),
		prefix("/r", proxied(prefix("/r/"))),
		prefix("/s/"),
		proxied(noRegex("/t/")),
		regex(`^/cap/(?<name>\w+)/(\d+)`),
		prefix("/cap/", regex(`^/cap/n/(\w+)`)),
		regex(`^/reg/`, regex(`^/reg/(x)`)),
		regex(`^/(ca)se`),
		regexI(`^/(ci)se`),
		prefix("/u"),
		prefix("/u/v"),
		exact("/u/v"),
		proxied(prefix("/w/")),
		exact("/w"),
		regex(`^/w`),
	)
}

func TestLocationNginxQuirks(t *testing.T) {
	runLocCases(t, nginxQuirksServer(t), []locCase{
		// Nested regexes inside the longest prefix are tried first.
		{"/a/x.php", `~ \.php$`},
		{"/a/b/x.php", `~ \.php$`},
		{"/a/b/y", "/a/b/"},
		// A nested "^~" skips its parent's regexes but not the top-level ones.
		{"/a/c/x.php", `~ \.(php|txt)$`},
		{"/a/c/y", `~ ^/a/c/`},
		{"/a/c/x.txt", `~ \.(php|txt)$`},
		// A top-level "^~" skips the top-level regexes but not its nested ones.
		{"/img/1.gif", `~ \.gif$`},
		{"/img/x.php", "^~ /img/"},
		{"/img/x/1.gif", `~ \.gif$`},
		{"/img/x/y", "/img/x/"},
		// Automatic redirect: before regexes, for prefix, "^~", exact and nested.
		{"/api", "301 /api/"},
		{"/api/", "/api/"},
		{"/exact", "301 /exact/"},
		{"/exact/", "= /exact/"},
		{"/t", "301 /t/"},
		{"/t/", "^~ /t/"},
		{"/r", "301 /r/"},
		{"/r/", "/r/"},
		// ... but not when a prefix or exact location equals the path ...
		{"/p", "/p"},
		{"/p/", "/p/"},
		{"/q", "= /q"},
		{"/q/", "/q/"},
		{"/w", "= /w"},
		// ... and not without proxy_pass.
		{"/s", "-"},
		{"/s/", "/s/"},
		// A prefix equal to the whole path still lets a regex win.
		{"/w/", "~ ^/w"},
		{"/wx", "~ ^/w"},
		// Exact beats a prefix with the same path; longest prefix wins.
		{"/u/v", "= /u/v"},
		{"/u/v/", "/u/v"},
		{"/u/vw", "/u/v"},
		{"/u/", "/u"},
		// Regex locations and their nested regexes.
		{"/cap/bob/42/z", `~ ^/cap/(?<name>\w+)/(\d+)`},
		{"/cap/n/zz", `~ ^/cap/n/(\w+)`},
		{"/cap/m", "/cap/"},
		{"/reg/x", `~ ^/reg/(x)`},
		{"/reg/y", `~ ^/reg/`},
		// "~" is case-sensitive, "~*" is not.
		{"/case", `~ ^/(ca)se`},
		{"/CASE", "-"},
		{"/cise", `~* ^/(ci)se`},
		{"/CISE", `~* ^/(ci)se`},
	})
}

func TestLocationCaptures(t *testing.T) {
	s := nginxQuirksServer(t)
	tests := []struct {
		path   string
		groups []string // Groups()[1:]; nil when no regex matched
		named  map[string]string
	}{
		{"/cap/bob/42/z", []string{"bob", "42"}, map[string]string{"name": "bob"}},
		{"/cap/n/zz", []string{"zz"}, nil},
		{"/reg/x", []string{"x"}, nil},
		{"/reg/y", []string{}, nil},
		{"/CISE", []string{"CI"}, nil},
		{"/cap/m", nil, nil},
		{"/u/v", nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			m := s.Location(tt.path)
			groups := m.Captures.Groups()
			if tt.groups == nil {
				if m.Captures.Matched() || groups != nil {
					t.Fatalf("captures %q, want none", groups)
				}
				return
			}
			if groups[0] == "" || !slices.Equal(groups[1:], tt.groups) {
				t.Fatalf("groups %q, want %q", groups, tt.groups)
			}
			for name, want := range tt.named {
				if got, ok := m.Captures.Named(name); !ok || got != want {
					t.Fatalf("Named(%q) = %q, %v; want %q", name, got, ok, want)
				}
			}
			if _, ok := m.Captures.Named("nosuch"); ok {
				t.Fatal("Named(nosuch) reported a group")
			}
		})
	}
}

func TestLocationNested(t *testing.T) {
	s := serverOf(t,
		prefix("/",
			prefix("/x/",
				prefix("/x/y/", regex(`^/x/y/deep$`)),
				exact("/x/e"),
			),
		),
		prefix("/other/"),
		regex(`^/x/y/`),
		regex(`^/x/`),
	)
	runLocCases(t, s, []locCase{
		{"/", "/"},
		{"/z", "/"},
		{"/x/", `~ ^/x/`},              // deepest prefix "/x/" has no regex; top regex wins
		{"/x/e", "= /x/e"},             // nested exact wins at once
		{"/x/y/deep", `~ ^/x/y/deep$`}, // deepest nested regex first
		{"/x/y/other", `~ ^/x/y/`},
		{"/other/", "/other/"},
	})
}

func TestLocationLongestPrefix(t *testing.T) {
	s := serverOf(t,
		prefix("/a"),
		prefix("/a/b/c"),
		prefix("/a/b"),
		noRegex("/a/b/c/d"),
		regex(`d`),
		prefix("/ab"),
	)
	runLocCases(t, s, []locCase{
		{"/", "-"},
		{"/a", "/a"},
		{"/a/", "/a"},
		{"/a/b", "/a/b"},
		{"/a/bc", "/a/b"},
		{"/a/b/c", "/a/b/c"},
		{"/a/b/c/d", "^~ /a/b/c/d"}, // "^~" stops the regex "d"
		{"/a/b/c/x", "/a/b/c"},
		{"/a/b/c/dd", "^~ /a/b/c/d"},
		{"/a/d", "~ d"},
		{"/abc", "/ab"},
		{"/b", "-"},
	})
}

func TestLocationRegexOrder(t *testing.T) {
	s := serverOf(t,
		prefix("/"),
		regex(`\.html$`),
		regex(`^/first`),
		regexI(`^/FIRST`),
	)
	runLocCases(t, s, []locCase{
		{"/first.html", `~ \.html$`}, // config order, not the most specific
		{"/first/x", "~ ^/first"},
		{"/First/x", "~* ^/FIRST"},
		{"/x", "/"},
	})
}

func TestLocationNamed(t *testing.T) {
	fallback := named("@fallback")
	s := serverOf(t, prefix("/"), fallback, named("@other"))
	if got := s.Named("@fallback"); got != fallback {
		t.Fatalf("Named(@fallback) = %v", got)
	}
	if got := s.Named("@nosuch"); got != nil {
		t.Fatalf("Named(@nosuch) = %v, want nil", got)
	}
	if got := where(s.Location("/@fallback")); got != "/" {
		t.Fatalf("a named location matched a path: %q", got)
	}
	if got := where(serverOf(t).Location("/")); got != "-" {
		t.Fatalf("server without locations matched %q", got)
	}
}

// TestLocationNamedDuplicate: nginx 1.22.1 accepts two named locations of one
// name (nginx -t passes) and serves the first (error_page 404 = @a answered from
// the first of two "location @a", recorded with nginx-diff).
func TestLocationNamedDuplicate(t *testing.T) {
	first, second := named("@a"), named("@a")
	s := serverOf(t, prefix("/"), first, second)
	if got := s.Named("@a"); got != first {
		t.Fatalf("Named(@a) = %p, want the first (%p), not the second (%p)", got, first, second)
	}
}

// TestEncodedTraversalCannotBypass routes raw request paths through NormalizePath
// and Location: whatever the encoding, a request lands where its normalised path
// lands, so "/public/%2e%2e/admin/" is handled by /admin/'s rules, and double
// encoding stays a literal name under /public/.
func TestEncodedTraversalCannotBypass(t *testing.T) {
	s := serverOf(t,
		prefix("/public/"),
		noRegex("/admin/"),
		regex(`^/internal/`),
		exact("/secret"),
	)
	tests := []struct{ raw, want string }{
		{"/public/../admin/x", "^~ /admin/"},
		{"/public/%2e%2e/admin/x", "^~ /admin/"},
		{"/public/%2E%2e/admin/x", "^~ /admin/"},
		{"/public/.%2e/admin/x", "^~ /admin/"},
		{"/public%2f..%2fadmin%2fx", "^~ /admin/"},
		{"/public/..%2Fadmin/x", "^~ /admin/"},
		{"//public//..//admin/x", "^~ /admin/"},
		{"/public/./../admin/x", "^~ /admin/"},
		{"/public/;/../../admin/x", "^~ /admin/"},
		{"/public/%2e%2e/internal/x", "~ ^/internal/"},
		{"/public/%2e%2e/secret", "= /secret"},
		{"/%61dmin/x", "^~ /admin/"},
		{"/public/%252e%252e/admin/x", "/public/"}, // one decode: a literal "%2e%2e" segment
		{"/public/..;/admin/x", "/public/"},        // ";" is ordinary: "..;" is a name
		{"/public/%5c..%5cadmin/x", "/public/"},    // "\" is not a separator
		{"/public/..%5cadmin/x", "/public/"},
		{"/public/%2e%2e%2f%2e%2e%2fadmin", "-400"}, // climbs above the root
		{"/public/%00/../../admin/x", "-400"},
	}
	for _, tt := range tests {
		t.Run(tt.raw, func(t *testing.T) {
			p, err := NormalizePath(tt.raw)
			if tt.want == "-400" {
				if err == nil {
					t.Fatalf("NormalizePath(%q) = %q, want an error", tt.raw, p)
				}
				return
			}
			if err != nil {
				t.Fatalf("NormalizePath(%q): %v", tt.raw, err)
			}
			if got := where(s.Location(p)); got != tt.want {
				t.Fatalf("%q (normalised %q) routed to %q, want %q", tt.raw, p, got, tt.want)
			}
			if strings.HasPrefix(tt.want, "^~ /admin/") && strings.HasPrefix(p, "/public/") {
				t.Fatalf("normalised %q still under /public/", p)
			}
		})
	}
}

func TestLocationBuildErrors(t *testing.T) {
	noRe := &config.Location{Modifier: config.ModRegex, Path: "x", Settings: &config.Settings{}}
	tests := []struct {
		name string
		locs []*config.Location
	}{
		{"duplicate prefix", []*config.Location{prefix("/a"), prefix("/a")}},
		{"duplicate prefix and noregex", []*config.Location{prefix("/a"), noRegex("/a")}},
		{"duplicate exact", []*config.Location{exact("/a"), exact("/a")}},
		{"nested named", []*config.Location{prefix("/a", named("@a"))}},
		{"regex not compiled", []*config.Location{noRe}},
		{"nested regex not compiled", []*config.Location{prefix("/a", noRe)}},
		{"unknown modifier", []*config.Location{{Modifier: 99, Path: "/"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New([]*config.Server{{Locations: tt.locs}})
			if err == nil {
				t.Fatal("New succeeded, want an error")
			}
		})
	}
	// An exact and a prefix location may share a path.
	if _, err := New([]*config.Server{{Locations: []*config.Location{exact("/a"), prefix("/a")}}}); err != nil {
		t.Fatalf("exact and prefix with one path: %v", err)
	}
}

// TestLocationMatchLimit: a regex location whose match hits the backtracking
// engine's bound stops the search with LocationMatch.Err (nginx's
// ngx_http_core_find_location fails and the request gets 500), while a
// subject it settles quickly routes as usual.
func TestLocationMatchLimit(t *testing.T) {
	s := serverOf(t, prefix("/redos/"), regex(`^/redos/(a|aa)+(?!x)$`), regex(`^/redos/`))
	m := s.Location("/redos/" + strings.Repeat("a", 50) + "c")
	if !errors.Is(m.Err, pcre.ErrMatchLimit) {
		t.Errorf("Err %v, want pcre.ErrMatchLimit", m.Err)
	}
	m = s.Location("/redos/aaaa")
	if m.Err != nil || m.Location == nil || m.Location.Path != `^/redos/(a|aa)+(?!x)$` {
		t.Errorf("normal path: %+v", m)
	}
}

// TestLocationOneBytePrefixes checks the prefixes of length 1 that
// findStatic takes without a look-up ("/", level.root) or with one (any
// other byte), at the server level and nested.
func TestLocationOneBytePrefixes(t *testing.T) {
	s := serverOf(t,
		prefix("x"),
		prefix("/a", prefix("/", prefix("/a/b"))),
		prefix("/"),
	)
	runLocCases(t, s, []locCase{
		{"/", "/"},
		{"/b", "/"},
		{"/a", "/"}, // the "/" nested in "/a" is a prefix of it too
		{"/ax", "/"},
		{"/a/b/c", "/a/b"},
		{"x", "x"},
		{"xy", "x"},
	})
	runLocCases(t, serverOf(t, prefix("x"), prefix("/ab")), []locCase{
		{"/", "-"},
		{"/b", "-"},
		{"/abc", "/ab"},
		{"xa", "x"},
	})
}

package router

import (
	"strings"
	"testing"

	"fulcrum/internal/config"
	"fulcrum/internal/pcre"
)

// Builders for configuration values, standing in for the config builder: regexes
// are compiled the way it compiles them (server names and "~*" case-insensitive,
// "~" case-sensitive).

func loc(mod config.Modifier, path string, nested ...*config.Location) *config.Location {
	l := &config.Location{Modifier: mod, Path: path, Locations: nested, Settings: &config.Settings{}}
	switch mod {
	case config.ModRegex:
		l.Regex = pcre.MustCompile(path, false)
	case config.ModRegexCaseless:
		l.Regex = pcre.MustCompile("(?i)"+path, false)
	}
	return l
}

func prefix(path string, nested ...*config.Location) *config.Location {
	return loc(config.ModPrefix, path, nested...)
}

func noRegex(path string, nested ...*config.Location) *config.Location {
	return loc(config.ModPrefixNoRegex, path, nested...)
}

func exact(path string) *config.Location { return loc(config.ModExact, path) }

func regex(pattern string, nested ...*config.Location) *config.Location {
	return loc(config.ModRegex, pattern, nested...)
}

func regexI(pattern string, nested ...*config.Location) *config.Location {
	return loc(config.ModRegexCaseless, pattern, nested...)
}

func named(name string) *config.Location { return loc(config.ModNamed, name) }

// proxied gives l a proxy_pass, which turns on nginx's automatic redirect.
func proxied(l *config.Location) *config.Location {
	l.Settings.ProxyPass = &config.ProxyPass{URL: "http://127.0.0.1:1", Scheme: "http"}
	return l
}

// listen is a tcp listen directive; IPv6 addresses are IPv6-only, as the config
// builder makes them unless "ipv6only=off" is given.
func listen(addr string, dflt bool) config.Listen {
	return config.Listen{Network: "tcp", Addr: addr, DefaultServer: dflt, IPv6Only: strings.HasPrefix(addr, "[")}
}

func exactName(n string) config.ServerName { return config.ServerName{Kind: config.NameExact, Name: n} }
func leadName(n string) config.ServerName {
	return config.ServerName{Kind: config.NameLeadWildcard, Name: n}
}
func trailName(n string) config.ServerName {
	return config.ServerName{Kind: config.NameTrailWildcard, Name: n}
}
func regexSN(n string) config.ServerName {
	return config.ServerName{Kind: config.NameRegex, Name: n, Regex: pcre.MustCompile("(?i)"+n, false)}
}

// dotName is ".example.org": an exact and a lead wildcard entry, as the config
// builder splits it.
func dotName(n string) []config.ServerName {
	return []config.ServerName{exactName(n[1:]), leadName("*" + n)}
}

// serverOf builds a one-server router and returns its Server.
func serverOf(t *testing.T, locs ...*config.Location) *Server {
	t.Helper()
	r, err := New([]*config.Server{{Listens: []config.Listen{listen("127.0.0.1:8080", false)}, Locations: locs}})
	if err != nil {
		t.Fatal(err)
	}
	return r.Servers()[0]
}

// where describes a location match for comparison: the location's path, with
// "301 " and the target for a redirect, "-" for no match.
func where(m LocationMatch) string {
	switch {
	case m.Redirect != "":
		return "301 " + m.Redirect
	case m.Location == nil:
		return "-"
	}
	return describe(m.Location)
}

// describe writes a location as in the configuration: "= /x", "^~ /x", "~ re".
func describe(l *config.Location) string {
	switch l.Modifier {
	case config.ModExact:
		return "= " + l.Path
	case config.ModPrefixNoRegex:
		return "^~ " + l.Path
	case config.ModRegex:
		return "~ " + l.Path
	case config.ModRegexCaseless:
		return "~* " + l.Path
	}
	return l.Path
}

package router

import (
	"fmt"
	"net/netip"
	"strings"

	"fulcrum/internal/config"
	"fulcrum/internal/pcre"
)

// Server is a server block with its locations indexed for lookup. It is immutable
// and safe for concurrent use.
type Server struct {
	// Config is the server block this was built from.
	Config *config.Server
	// locations are the top-level locations; nil when the server has none.
	locations *level
	// named maps "@name" to the named location.
	named map[string]*config.Location
}

func newServer(cs *config.Server) (*Server, error) {
	s := &Server{Config: cs, named: make(map[string]*config.Location)}
	lv, err := buildLevel(cs.Locations, s.named)
	if err != nil {
		return nil, fmt.Errorf("server at %s: %w", cs.Pos, err)
	}
	s.locations = lv
	return s, nil
}

// Location chooses the location for path, which must already be normalised (see
// NormalizePath), exactly as nginx does:
//
//  1. a "= path" location equal to path wins at once;
//  2. otherwise the longest prefix location ("/p" or "^~ /p") is remembered, and
//     its nested locations are searched the same way (their regexes first);
//  3. unless that longest prefix is "^~", the regex locations ("~", "~*") are
//     tried in config order, and the first that matches wins (its own nested
//     locations may refine the choice);
//  4. otherwise the longest prefix found in step 2 wins.
//
// A prefix or exact location whose path ends in "/" and that proxies turns a
// request for the same path without the "/" into a redirect (see
// LocationMatch.Redirect), unless an exact location or a prefix location equal to
// the path exists. No match at all gives a zero LocationMatch.
//
// It does not allocate, and runs no regex unless it reaches regex locations.
func (s *Server) Location(path string) LocationMatch {
	var m LocationMatch
	s.locations.find(path, &m)
	return m
}

// Named returns the named location ("@fallback", with the "@") used by error_page
// and try_files, or nil when the server has none of that name.
func (s *Server) Named(name string) *config.Location {
	return s.named[name]
}

// ServerMatch is the virtual server chosen for a host.
type ServerMatch struct {
	// Server is the chosen server; never nil in a match returned by Hosts.Server.
	Server *Server
	// Captures hold the regex server_name that matched, for $1.. and named
	// captures; zero when a name matched without a regex or no name matched.
	Captures Captures
	// Default reports that no server_name matched, so the address's default server
	// was chosen.
	Default bool
	// Err, when not nil, is a regex server_name's match that hit the
	// backtracking engine's bound (it wraps pcre.ErrMatchLimit): nginx's
	// ngx_http_find_virtual_server fails, the error is logged at alert and
	// the request is closed with 500, no answer sent. Server is then the
	// default server, the one nginx's request still has.
	Err error
}

// Hosts are the virtual servers of one listen address (such as 127.0.0.1:8080 or
// *:8080), with their server_name entries indexed. Immutable, safe for concurrent use.
type Hosts struct {
	// Addr is the listen address as written in the configuration ("0.0.0.0:80",
	// "127.0.0.1:8080", "[::]:80", or a unix socket path).
	Addr string
	// Servers are the servers listening on Addr, in config order.
	Servers []*Server
	// DefaultServer is the server marked default_server on Addr, else the first.
	DefaultServer *Server
	// SSL reports that connections to Addr speak TLS: some server listens on
	// it with the ssl parameter (nginx ORs it over the address's listens).
	SSL bool
	// HTTP2 reports that some server listens on Addr with the http2
	// parameter: as nginx ORs it over the address's listens, the address
	// offers HTTP/2 to every server's clients (on TLS; see also the
	// servers' own "http2 on").
	HTTP2 bool
	// ProxyProtocol reports that some server listens on Addr with the
	// proxy_protocol parameter: every connection to the address starts
	// with a PROXY protocol header (nginx ORs it over the address's
	// listens, recorded with nginx 1.22.1).
	ProxyProtocol bool

	exact map[string]*Server
	// exactLens are the lengths of exact's keys: a host of another
	// length is not looked up there.
	exactLens lengthSet
	lead      map[string]*Server // "*.example.org" keyed ".example.org"
	trail     map[string]*Server // "mail.*" keyed "mail."
	regex     []regexName        // config order
	// ip is the parsed address for dispatch on a shared wildcard socket; the zero
	// Addr for unix sockets.
	ip netip.Addr
	// mixedMerge says the servers on Addr disagree about merge_slashes, so a
	// TLS SNI name may change it (see MergeSlashes).
	mixedMerge bool
}

// MergeSlashes reports whether the path of a request that arrived on this
// address has its slashes merged (merge_slashes). nginx parses the request line,
// and so normalises the path, with the configuration that the connection has
// before any Host header is read (ngx_http_process_request_uri): that of the
// address's default server, or, on a TLS connection whose SNI name matched
// another server's server_name, of that server (ngx_http_ssl_servername). The
// server the Host header chooses afterwards has no say. sni is the TLS server
// name as the client sent it, "" without TLS or SNI.
//
// Without SNI, or when all servers on the address agree, it is a field read.
func (h *Hosts) MergeSlashes(sni string) bool {
	if sni != "" && h.mixedMerge && h.SSL {
		if name, err := NormalizeHost(sni); err == nil && name != "" {
			return mergeSlashes(h.Server(name).Server)
		}
	}
	return mergeSlashes(h.DefaultServer)
}

// mergeSlashes is srv's merge_slashes; on when srv has no settings (a server
// built by hand in a test).
func mergeSlashes(srv *Server) bool {
	return srv.Config.Settings == nil || srv.Config.Settings.MergeSlashes
}

// regexName is one regex server_name entry.
type regexName struct {
	re     *pcre.Regexp
	server *Server
}

// addServer indexes srv's names. The first server to claim a name keeps it, as
// nginx does (it warns "conflicting server name ... ignored" for the later ones).
func (h *Hosts) addServer(srv *Server) error {
	if len(h.Servers) > 0 && mergeSlashes(h.Servers[0]) != mergeSlashes(srv) {
		h.mixedMerge = true
	}
	h.Servers = append(h.Servers, srv)
	for _, n := range srv.Config.Names {
		if err := h.addName(n, srv); err != nil {
			return fmt.Errorf("server_name %q at %s: %w", n.Name, n.Pos, err)
		}
	}
	return nil
}

func (h *Hosts) addName(n config.ServerName, srv *Server) error {
	switch n.Kind {
	case config.NameExact:
		if n.Name == "_" {
			return nil // "_" is a name that never matches (spec section 2)
		}
		key := strings.ToLower(n.Name)
		claim(&h.exact, key, srv)
		h.exactLens.add(len(key))
	case config.NameLeadWildcard:
		key := strings.TrimPrefix(n.Name, "*")
		if len(key) < 2 || key[0] != '.' {
			return fmt.Errorf("lead wildcard must start with \"*.\"")
		}
		claim(&h.lead, strings.ToLower(key), srv)
	case config.NameTrailWildcard:
		key, ok := strings.CutSuffix(n.Name, "*")
		if !ok || len(key) < 2 || key[len(key)-1] != '.' {
			return fmt.Errorf("trail wildcard must end with \".*\"")
		}
		claim(&h.trail, strings.ToLower(key), srv)
	case config.NameRegex:
		if n.Regex == nil {
			return fmt.Errorf("regex has not been compiled")
		}
		h.regex = append(h.regex, regexName{re: n.Regex, server: srv})
	default:
		return fmt.Errorf("unknown kind %d", n.Kind)
	}
	return nil
}

func claim(m *map[string]*Server, key string, srv *Server) {
	if *m == nil {
		*m = make(map[string]*Server)
	}
	if _, taken := (*m)[key]; !taken {
		(*m)[key] = srv
	}
}

// Server chooses the virtual server for host, which must be normalised (see
// NormalizeHost) or "" for a request without a Host (HTTP/1.0), in nginx's order:
//
//  1. the exact name;
//  2. the longest lead wildcard ("*.example.org" matches "www.example.org" and
//     "a.b.example.org", not "example.org");
//  3. the longest trail wildcard ("mail.*" matches "mail.example.com");
//  4. the first regex, in config order, that matches (not tried for "");
//     one whose match hits its bound ends the search (see ServerMatch.Err);
//  5. the default server of this address.
//
// It does not allocate, and runs no regex unless steps 1-3 fail.
func (h *Hosts) Server(host string) ServerMatch {
	if h.exactLens.has(len(host)) {
		if s := h.exact[host]; s != nil {
			return ServerMatch{Server: s}
		}
	}
	if host == "" {
		return ServerMatch{Server: h.DefaultServer, Default: true}
	}
	if s := h.leadWildcard(host); s != nil {
		return ServerMatch{Server: s}
	}
	if s := h.trailWildcard(host); s != nil {
		return ServerMatch{Server: s}
	}
	for _, rn := range h.regex {
		ok, err := rn.re.Match(host)
		if err != nil {
			return ServerMatch{Server: h.DefaultServer, Default: true, Err: err}
		}
		if ok {
			return ServerMatch{Server: rn.server, Captures: Captures{Regexp: rn.re, Subject: host}}
		}
	}
	return ServerMatch{Server: h.DefaultServer, Default: true}
}

// leadWildcard tries the suffixes of host that start at a dot, longest first.
func (h *Hosts) leadWildcard(host string) *Server {
	if len(h.lead) == 0 {
		return nil
	}
	for i := 0; i < len(host); i++ {
		if host[i] != '.' {
			continue
		}
		if s := h.lead[host[i:]]; s != nil {
			return s
		}
	}
	return nil
}

// trailWildcard tries the prefixes of host that end at a dot, longest first. A
// prefix must leave something after its dot, as nginx's ngx_hash_find_wc_tail.
func (h *Hosts) trailWildcard(host string) *Server {
	if len(h.trail) == 0 {
		return nil
	}
	for i := len(host) - 2; i >= 0; i-- {
		if host[i] != '.' {
			continue
		}
		if s := h.trail[host[:i+1]]; s != nil {
			return s
		}
	}
	return nil
}

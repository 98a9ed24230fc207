package config

import (
	"fmt"
	"strings"
	"time"
)

// Session resumption (ssl_session_timeout, ssl_session_cache), as nginx 1.22
// with OpenSSL 3.0 does it:
//   - a session resumes for ssl_session_timeout from the full handshake that
//     made it; the timeout travels in the session (a reload that changes it
//     leaves the sessions already made as they were);
//   - with ssl_session_tickets on, tickets resume whatever ssl_session_cache
//     says (off, none, builtin and shared all resume);
//   - with ssl_session_tickets off, only builtin and shared resume (by
//     session ID in TLS 1.2, by stateful tickets in TLS 1.3). Go's
//     crypto/tls resumes with tickets only, so fulcrum keeps the sessions
//     in memory and hands out tickets that are only their identifiers
//     (package sessioncache).

// defaultSessionTimeout is ssl_session_timeout's default.
const defaultSessionTimeout = 5 * time.Minute

// zeroSessionTimeout is what "ssl_session_timeout 0" gives: OpenSSL then
// takes its own default for TLS, two hours (checked with nginx 1.22.1).
const zeroSessionTimeout = 2 * time.Hour

// defaultBuiltinSessions is "builtin" without a size (NGX_SSL_DFLT_BUILTIN_SCACHE).
const defaultBuiltinSessions = 20480

// SessionCache is ssl_session_cache as written; the zero value is nginx's
// default ("none": no cache).
type SessionCache struct {
	// Off is "off" (the last of off, none and builtin wins, as in nginx).
	Off bool
	// Builtin is "builtin" (the last of off, none and builtin wins);
	// BuiltinSize is its size in sessions (0: OpenSSL's unlimited).
	Builtin     bool
	BuiltinSize int64
	// Zones are the shared:name:size caches.
	Zones []SessionZone
}

// SessionZone is one shared:name:size of ssl_session_cache.
type SessionZone struct {
	Name string
	Size int64
}

// Stores reports whether nginx keeps sessions on the server with this cache
// (builtin or shared, and not off), so that they resume without tickets.
func (c SessionCache) Stores() bool {
	return !c.Off && (c.Builtin || len(c.Zones) > 0)
}

// String is the cache as ssl_session_cache writes it ("none" for the
// default).
func (c SessionCache) String() string {
	var parts []string
	switch {
	case c.Off:
		parts = append(parts, "off")
	case c.Builtin:
		parts = append(parts, fmt.Sprintf("builtin:%d", c.BuiltinSize))
	case len(c.Zones) == 0:
		parts = append(parts, "none")
	}
	for _, z := range c.Zones {
		parts = append(parts, fmt.Sprintf("shared:%s:%d", z.Name, z.Size))
	}
	return strings.Join(parts, " ")
}

// minSessionZone is the smallest shared session cache nginx takes (eight
// 4 KiB pages).
const minSessionZone = 8 * 4096

// checkSessionCache checks an ssl_session_cache line as
// ngx_http_ssl_session_cache does.
func checkSessionCache(d *Directive) error {
	var c SessionCache
	return c.add(d)
}

// add applies the values of one ssl_session_cache line to c, in order.
func (c *SessionCache) add(d *Directive) error {
	for _, v := range d.Args {
		switch {
		case v == "off":
			c.Off, c.Builtin = true, false
		case v == "none":
			c.Off, c.Builtin = false, false
		case v == "builtin":
			c.Off, c.Builtin, c.BuiltinSize = false, true, defaultBuiltinSessions
		case strings.HasPrefix(v, "builtin:") && len(v) > len("builtin:"):
			n, err := parseNumber(v[len("builtin:"):])
			if err != nil {
				return invalidSessionCache(d, v)
			}
			c.Off, c.Builtin, c.BuiltinSize = false, true, n
		case strings.HasPrefix(v, "shared:") && len(v) > len("shared:"):
			z, err := sessionZone(d, v)
			if err != nil {
				return err
			}
			if err := c.addZone(d, z); err != nil {
				return err
			}
		default:
			return invalidSessionCache(d, v)
		}
	}
	return nil
}

// sessionZone reads "shared:name:size".
func sessionZone(d *Directive, v string) (SessionZone, error) {
	name, size, ok := strings.Cut(v[len("shared:"):], ":")
	if !ok || name == "" {
		return SessionZone{}, invalidSessionCache(d, v)
	}
	n, err := parseSize(size)
	if err != nil {
		return SessionZone{}, invalidSessionCache(d, v)
	}
	if n < minSessionZone {
		return SessionZone{}, hintf(d.Pos, "a shared session cache is at least 32k; 1m holds about 4000 sessions",
			`session cache "%s" is too small`, v)
	}
	return SessionZone{Name: name, Size: n}, nil
}

// addZone adds z unless a zone of that name has another size.
func (c *SessionCache) addZone(d *Directive, z SessionZone) error {
	for _, o := range c.Zones {
		if o.Name == z.Name && o.Size != z.Size {
			return hintf(d.Pos, "give the zone one size everywhere, or another name",
				`the size %d of shared memory zone "%s" conflicts with already declared size %d`, z.Size, z.Name, o.Size)
		}
		if o.Name == z.Name {
			return nil
		}
	}
	c.Zones = append(c.Zones, z)
	return nil
}

// invalidSessionCache is nginx's error for a value it does not know.
func invalidSessionCache(d *Directive, v string) error {
	return hintf(d.Pos, "use off, none, builtin[:size] or shared:name:size (such as shared:SSL:10m)",
		`invalid session cache "%s"`, v)
}

// sessionSettings reads ssl_session_timeout and ssl_session_cache at sc's
// nearest levels into t.
func (b *builder) sessionSettings(sc *scope, t *TLS) error {
	t.SessionTimeout = defaultSessionTimeout
	if dirs, _ := sc.nearest("ssl_session_timeout"); len(dirs) > 0 {
		t.SessionTimeout, _ = parseTime(dirs[0].Args[0], true) // kindSec checked it
		if t.SessionTimeout == 0 {
			t.SessionTimeout = zeroSessionTimeout
		}
	}
	dirs, _ := sc.nearest("ssl_session_cache")
	for _, d := range dirs {
		if err := t.SessionCache.add(d); err != nil {
			return err
		}
	}
	return nil
}

// checkSessionZones applies nginx's rules for shared memory zones to the
// shared:name:size caches of every ssl_session_cache line, in file order:
// one name has one size, and the http and stream modules' caches do not
// share a name (each module's zones are its own use).
func checkSessionZones(main []*Directive) error {
	type decl struct {
		size   int64
		module string
	}
	seen := map[string]decl{}
	var walk func(dirs []*Directive, module string) error
	walk = func(dirs []*Directive, module string) error {
		for _, d := range dirs {
			if d.IsBlock {
				if err := walk(d.Block, module); err != nil {
					return err
				}
				continue
			}
			if d.Name != "ssl_session_cache" {
				continue
			}
			var c SessionCache
			if err := c.add(d); err != nil {
				return err
			}
			for _, z := range c.Zones {
				prev, ok := seen[z.Name]
				switch {
				case !ok:
					seen[z.Name] = decl{z.Size, module}
				case prev.size != z.Size:
					return hintf(d.Pos, "give the zone one size everywhere, or another name",
						`the size %d of shared memory zone "%s" conflicts with already declared size %d`, z.Size, z.Name, prev.size)
				case prev.module != module:
					return hintf(d.Pos, "the http and stream blocks need session caches of their own names",
						`the shared memory zone "%s" is already declared for a different use`, z.Name)
				}
			}
		}
		return nil
	}
	for _, d := range main {
		if d.Name == "http" || d.Name == "stream" {
			if err := walk(d.Block, d.Name); err != nil {
				return err
			}
		}
	}
	return nil
}

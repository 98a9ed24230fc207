package config

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// CachePath is one proxy_cache_path directive (or fastcgi_cache_path,
// scgi_cache_path, uwsgi_cache_path): a cache zone whose entries are files
// under Dir and whose index of keys lives in memory.
type CachePath struct {
	// Module is the directive's prefix: "proxy", "fastcgi", "scgi" or
	// "uwsgi". As in nginx, the zones share one namespace and a zone serves
	// only its own module's *_cache directive.
	Module string
	// Dir is the absolute directory of the entries.
	Dir string
	// Levels are the lengths (1 or 2) of the subdirectory names taken from
	// the end of an entry's MD5 name (levels=1:2), at most three; nil means
	// every file sits in Dir.
	Levels []int
	// Name and Size are keys_zone=name:size. Size bounds how many keys the
	// zone remembers, as nginx's shared memory zone does (about 8,000 per
	// megabyte).
	Name string
	Size int64
	// Inactive is how long an entry that no request used stays (default 10m).
	Inactive time.Duration
	// MaxSize bounds the bytes of the entries on disk; 0 means no bound.
	MaxSize int64
	// MinFree is min_free: the free space the cache keeps on its file
	// system; 0 means none is asked for.
	MinFree int64
	// UseTempPath is use_temp_path (default on); fulcrum always writes an
	// entry's temporary file in Dir, so it only keeps the value.
	UseTempPath bool
	// Manager is manager_files, manager_sleep and manager_threshold; Loader
	// is loader_files, loader_sleep and loader_threshold (nginx's defaults:
	// DefaultCachePace).
	Manager, Loader CachePace
	// Purger is purger=on (NGINX Plus's; default off): the manager also
	// removes the files of wildcard purges from disk, at the pace of Purge
	// (purger_files, purger_sleep, purger_threshold; DefaultPurgerPace).
	Purger bool
	Purge  CachePace
	Pos    Pos
}

// CachePace is how a cache's manager or loader works: rounds of at most
// Files entries and Threshold of time, Sleep between them.
type CachePace struct {
	Files            int
	Sleep, Threshold time.Duration
}

// DefaultCachePace is nginx's manager_* and loader_* defaults.
var DefaultCachePace = CachePace{Files: 100, Sleep: 50 * time.Millisecond, Threshold: 200 * time.Millisecond}

// DefaultPurgerPace is NGINX Plus's purger_* defaults: 10 files, 50ms, then
// 50ms of sleep.
var DefaultPurgerPace = CachePace{Files: 10, Sleep: 50 * time.Millisecond, Threshold: 50 * time.Millisecond}

// CacheSettings are a level's proxy_cache* directives.
type CacheSettings struct {
	// Zone is proxy_cache's zone; nil when the level does not cache
	// (proxy_cache off, or none) or names its zone with variables.
	Zone *CachePath
	// ZoneValue is proxy_cache's value when it has variables (Zone is then
	// nil): the zone is the one the value names per request, among the
	// module's *_cache_path zones (nginx's ngx_http_upstream_cache_get): an
	// empty value or "off" does not cache, a value that names no zone is a
	// 500 ("cache \"x\" not found"). "" when the zone is fixed or none.
	ZoneValue string
	// ZonePos is where the *_cache directive with ZoneValue is, for its
	// errors; zero without ZoneValue.
	ZonePos Pos
	// Key is proxy_cache_key. Its default, DefaultCacheKey, is what nginx's
	// documentation shows; ImplicitKey says no *_cache_key was given.
	Key string
	// ImplicitKey reports that proxy_cache_key is not set at this level or
	// above: the key is then nginx 1.22.1's own default, which is not the
	// documented one (ngx_http_proxy_create_key): the proxy_pass URL's
	// scheme, "://" and $proxy_host, then the URI sent upstream
	// ("http://app/base/x?a=1" for GET /p/x?a=1 in location /p/ { proxy_pass
	// http://app/base/; }). The proxy computes it; the FastCGI, SCGI and
	// uwsgi caches have no default key (ImplicitKey false, Key empty).
	ImplicitKey bool
	// Valid are the proxy_cache_valid rules in order.
	Valid []CacheValid
	// Methods are the methods whose responses are cached besides GET and
	// HEAD, which always are: "POST" is the only other one nginx takes.
	Methods []string
	// MinUses is proxy_cache_min_uses (default 1).
	MinUses int
	// Bypass and NoCache are proxy_cache_bypass and proxy_no_cache: a
	// request is answered from the upstream (Bypass), or its response is not
	// stored (NoCache), when one of the strings is neither empty nor "0".
	Bypass, NoCache []string
	// Purge is proxy_cache_purge (NGINX Plus's): when one of the strings is
	// neither empty nor "0", the request removes the entry of its key (or,
	// for a key ending in "*", every entry whose key starts with the rest)
	// instead of being answered.
	Purge []string
	// UseStale is proxy_cache_use_stale's conditions (error, timeout,
	// invalid_header, http_NNN); StaleUpdating is its "updating".
	UseStale      NextUpstream
	StaleUpdating bool
	// Lock, LockTimeout and LockAge are proxy_cache_lock, _lock_timeout
	// (default 5s) and _lock_age (default 5s).
	Lock        bool
	LockTimeout time.Duration
	LockAge     time.Duration
	// Revalidate is proxy_cache_revalidate; BackgroundUpdate is
	// proxy_cache_background_update; ConvertHead is proxy_cache_convert_head
	// (default on).
	Revalidate       bool
	BackgroundUpdate bool
	ConvertHead      bool
	// The fields of proxy_ignore_headers that concern caching.
	IgnoreXAccelExpires, IgnoreExpires, IgnoreCacheControl, IgnoreSetCookie, IgnoreVary bool
	// LimitRanges reports that proxy_cache_max_range_offset is set (nginx
	// has no default: every range request may be cached); MaxRangeOffset is
	// its value. A range request whose first range starts at MaxRangeOffset
	// or beyond (any range request for 0) that the cache does not answer goes
	// to the upstream with its Range, and its response is not stored.
	LimitRanges    bool
	MaxRangeOffset int64
}

// CacheValid is one proxy_cache_valid rule: responses with one of Codes (any
// status when Any) stay fresh for Time.
type CacheValid struct {
	Codes []int
	Any   bool
	Time  time.Duration
}

// On reports whether the level caches: a zone, fixed or named by variables.
func (c *CacheSettings) On() bool { return c.Zone != nil || c.ZoneValue != "" }

// DefaultCacheKey is the proxy_cache_key default nginx's documentation
// shows; nginx 1.22.1 keys by the upstream URL instead (ImplicitKey).
const DefaultCacheKey = "$scheme$proxy_host$request_uri"

// minKeysZone is nginx's smallest keys_zone: two pages.
const minKeysZone = 2 * 4096

// cachePaths reads the http level's proxy_cache_path, fastcgi_cache_path,
// scgi_cache_path and uwsgi_cache_path directives, with nginx 1.22's checks
// and messages: their zones share one namespace.
func (b *builder) cachePaths(h *HTTP, http *scope) error {
	for _, d := range http.own("proxy_cache_path", "fastcgi_cache_path", "scgi_cache_path", "uwsgi_cache_path") {
		p, err := b.parseCachePath(d)
		if err != nil {
			return err
		}
		for _, q := range h.CachePaths {
			if q.Name == p.Name && q.Module != p.Module {
				return hintf(d.Pos, "give each *_cache_path zone a name of its own", `the shared memory zone "%s" is already declared for a different use`, p.Name)
			}
			if q.Name == p.Name {
				return errorf(d.Pos, `duplicate zone "%s"`, p.Name)
			}
			if q.Dir == p.Dir {
				return errorf(d.Pos, `the same path name "%s" used in %s and`, p.Dir, q.Pos)
			}
		}
		h.CachePaths = append(h.CachePaths, p)
	}
	return nil
}

// parseCachePath reads "proxy_cache_path path [levels=] keys_zone=name:size
// [inactive=] [max_size=] [min_free=] [use_temp_path=] [manager_*=]
// [loader_*=] [purger=] [purger_*=]".
func (b *builder) parseCachePath(d *Directive) (*CachePath, error) {
	p := &CachePath{Module: strings.TrimSuffix(d.Name, "_cache_path"), Dir: strings.TrimSuffix(b.path(d.Args[0]), "/"), Inactive: 10 * time.Minute, UseTempPath: true,
		Manager: DefaultCachePace, Loader: DefaultCachePace, Purge: DefaultPurgerPace, Pos: d.Pos}
	for _, a := range d.Args[1:] {
		name, v, _ := strings.Cut(a, "=")
		var err error
		switch name {
		case "levels":
			err = p.parseLevels(d.Pos, a, v)
		case "keys_zone":
			err = p.parseKeysZone(d.Pos, a, v)
		case "inactive":
			p.Inactive, err = parseTime(v, true)
			if err != nil {
				err = errorf(d.Pos, `invalid inactive value "%s"`, a)
			}
		case "max_size", "min_free":
			var n int64
			n, err = parseOffset(v)
			if err != nil {
				err = errorf(d.Pos, `invalid %s value "%s"`, name, a)
			}
			if name == "max_size" {
				p.MaxSize = n
			} else {
				p.MinFree = n
			}
		case "use_temp_path", "purger":
			switch v {
			case "on", "off":
				if name == "purger" {
					p.Purger = v == "on"
				} else {
					p.UseTempPath = v == "on"
				}
			default:
				err = errorf(d.Pos, `invalid %s value "%s", it must be "on" or "off"`, name, a)
			}
		case "loader_files", "manager_files", "purger_files":
			// nginx's ngx_atoi: 0 is taken (a round of one file).
			n, e := strconv.Atoi(v)
			if e != nil || n < 0 || strings.ContainsAny(v, "+-") {
				err = errorf(d.Pos, `invalid %s value "%s"`, name, a)
			}
			p.pace(name).Files = n
		case "loader_sleep", "loader_threshold", "manager_sleep", "manager_threshold", "purger_sleep", "purger_threshold":
			t, e := parseTime(v, false)
			if e != nil {
				err = errorf(d.Pos, `invalid %s value "%s"`, name, a)
			}
			if strings.HasSuffix(name, "_sleep") {
				p.pace(name).Sleep = t
			} else {
				p.pace(name).Threshold = t
			}
		default:
			err = errorf(d.Pos, `invalid parameter "%s"`, a)
		}
		if err != nil {
			return nil, err
		}
	}
	if p.Name == "" {
		return nil, hintf(d.Pos, "add keys_zone=name:size, such as keys_zone=one:10m", `"%s" must have "keys_zone" parameter`, d.Name)
	}
	return p, nil
}

// pace is the manager's, the loader's or the purger's pace, as the
// parameter name says.
func (p *CachePath) pace(name string) *CachePace {
	switch {
	case strings.HasPrefix(name, "loader_"):
		return &p.Loader
	case strings.HasPrefix(name, "purger_"):
		return &p.Purge
	}
	return &p.Manager
}

// parseLevels reads levels=1:2 (one to three parts of 1 or 2).
func (p *CachePath) parseLevels(pos Pos, a, v string) error {
	parts := strings.Split(v, ":")
	if len(parts) > 3 {
		return errorf(pos, `invalid "levels" "%s"`, a)
	}
	for _, s := range parts {
		if s != "1" && s != "2" {
			return errorf(pos, `invalid "levels" "%s"`, a)
		}
		p.Levels = append(p.Levels, int(s[0]-'0'))
	}
	return nil
}

// parseKeysZone reads keys_zone=name:size.
func (p *CachePath) parseKeysZone(pos Pos, a, v string) error {
	name, sz, ok := strings.Cut(v, ":")
	n, err := parseSize(sz)
	if !ok || name == "" || err != nil || n <= 0 {
		return hintf(pos, "write keys_zone=name:size, such as keys_zone=one:10m", `invalid keys zone size "%s"`, a)
	}
	if n < minKeysZone {
		return hintf(pos, "the smallest keys zone is 8k", `keys zone "%s" is too small`, a)
	}
	p.Name, p.Size = name, n
	return nil
}

// defaultCacheSettings are nginx's defaults for the proxy_cache* directives.
func defaultCacheSettings() CacheSettings {
	return CacheSettings{Key: DefaultCacheKey, ImplicitKey: true, MinUses: 1, LockTimeout: 5 * time.Second, LockAge: 5 * time.Second, ConvertHead: true}
}

// applyProxyCache reads proxy_cache zone | off. A zone without variables
// must be a proxy_cache_path's (declared anywhere in http, as in nginx); one
// with variables is named per request (CacheSettings.ZoneValue).
func applyProxyCache(b *builder, st *Settings, dirs []*Directive, _ *scope) error {
	d := dirs[0]
	st.ProxyCache.Zone, st.ProxyCache.ZoneValue, st.ProxyCache.ZonePos = nil, "", Pos{}
	if d.Args[0] == "off" {
		return nil
	}
	return b.setCacheZone(d, "proxy", &st.ProxyCache)
}

// setCacheZone reads the zone of module's *_cache directive d into c: a
// value with variables as it is (ngx_http_proxy_cache: nginx checks what
// it names per request), else the zone it names (cacheZone).
func (b *builder) setCacheZone(d *Directive, module string, c *CacheSettings) error {
	if strings.ContainsRune(d.Args[0], '$') { // ngx_http_script_variables_count
		c.ZoneValue, c.ZonePos = d.Args[0], d.Pos
		return nil
	}
	p, err := b.cacheZone(d, module)
	c.Zone = p
	return err
}

// cacheZone finds the zone that module's *_cache directive d names: a
// *_cache_path zone of the same module, declared anywhere in http (nginx:
// another module's zone is "already declared for a different use").
func (b *builder) cacheZone(d *Directive, module string) (*CachePath, error) {
	name := d.Args[0]
	for _, p := range b.cfg.HTTP.CachePaths {
		if p.Name == name && p.Module != module {
			return nil, hintf(d.Pos, fmt.Sprintf("%s needs a zone of %s_cache_path; %q is a %s_cache_path zone", d.Name, module, name, p.Module),
				`the shared memory zone "%s" is already declared for a different use`, name)
		}
		if p.Name == name {
			return p, nil
		}
	}
	return nil, hintf(d.Pos, "declare it with "+module+"_cache_path ... keys_zone="+name+":10m in http", `"%s" zone "%s" is unknown`, d.Name, name)
}

// applyCacheValid reads the nearest level's proxy_cache_valid lines: "time"
// alone means 200 301 302; "any" means every status.
func applyCacheValid(_ *builder, st *Settings, dirs []*Directive, _ *scope) error {
	rules, err := parseCacheValid(dirs)
	st.ProxyCache.Valid = rules
	return err
}

// parseCacheValid reads *_cache_valid lines.
func parseCacheValid(dirs []*Directive) ([]CacheValid, error) {
	var rules []CacheValid
	for _, d := range dirs {
		last := d.Args[len(d.Args)-1]
		t, err := parseTime(last, true)
		if err != nil {
			return nil, errorf(d.Pos, `invalid time value "%s"`, last)
		}
		v := CacheValid{Time: t}
		codes := d.Args[:len(d.Args)-1]
		if len(codes) == 0 {
			v.Codes = []int{200, 301, 302}
		}
		for _, c := range codes {
			if c == "any" {
				v.Any = true
				continue
			}
			n, err := strconv.Atoi(c)
			if err != nil || n < 1 || n > 599 || len(c) != 3 {
				return nil, errorf(d.Pos, `invalid status "%s"`, c)
			}
			v.Codes = append(v.Codes, n)
		}
		rules = append(rules, v)
	}
	return rules, nil
}

// applyCacheMethods reads proxy_cache_methods: GET and HEAD are always
// cached; POST may be added.
func applyCacheMethods(b *builder, st *Settings, dirs []*Directive, _ *scope) error {
	return parseCacheMethods(b, dirs, &st.ProxyCache)
}

// parseCacheMethods reads a level's *_cache_methods lines into c: as nginx's
// bitmask slot, the lines add up, and a value given twice is warned about
// (when b is not nil: the FastCGI rules warn from the table's check).
func parseCacheMethods(b *builder, dirs []*Directive, c *CacheSettings) error {
	var methods []string
	seen := map[string]bool{}
	for _, d := range dirs {
		for _, a := range d.Args {
			m := strings.ToUpper(a) // nginx's bitmask slot compares without case
			switch m {
			case "GET", "HEAD":
			case "POST":
				if !seen[m] {
					methods = append(methods, "POST")
				}
			default:
				return hintf(d.Pos, d.Name+" takes GET, HEAD and POST", `invalid value "%s"`, a)
			}
			if seen[m] && b != nil {
				b.warnDir(d, "", `duplicate value "%s"`, a)
			}
			seen[m] = true
		}
	}
	c.Methods = methods
	return nil
}

// applyCacheUseStale reads proxy_cache_use_stale.
func applyCacheUseStale(b *builder, st *Settings, dirs []*Directive, _ *scope) error {
	return parseCacheUseStale(b, dirs, &st.ProxyCache)
}

// parseCacheUseStale reads a level's *_cache_use_stale lines into c: the
// lines add up (nginx's bitmask slot; a value given twice is warned about
// when b is not nil), and "off" anywhere among them turns it off.
func parseCacheUseStale(b *builder, dirs []*Directive, c *CacheSettings) error {
	var set NextUpstream
	updating, off := false, false
	for _, d := range dirs {
		for _, a := range d.Args {
			dup := false
			switch a {
			case "updating":
				dup, updating = updating, true
			case "off":
				dup, off = off, true
			default:
				bit := nextUpstreamBit(a)
				if bit == 0 || bit == NextNonIdempotent {
					return errorf(d.Pos, `invalid value "%s"`, a)
				}
				dup = set&bit != 0
				set |= bit
			}
			if dup && b != nil {
				b.warnDir(d, "", `duplicate value "%s"`, a)
			}
		}
	}
	if off {
		set, updating = 0, false
	}
	c.UseStale, c.StaleUpdating = set, updating
	return nil
}

// parseMaxRangeOffset reads a *_cache_max_range_offset line into c: an
// offset, such as 1m (ngx_conf_set_off_slot).
func parseMaxRangeOffset(d *Directive, c *CacheSettings) error {
	n, err := parseOffset(d.Args[0])
	if err != nil {
		return errorf(d.Pos, `"%s" directive invalid value`, d.Name)
	}
	c.LimitRanges, c.MaxRangeOffset = true, n
	return nil
}

// applyCacheStrings reads proxy_cache_bypass, proxy_no_cache or
// proxy_cache_purge: every
// argument of every line at the nearest level.
func applyCacheStrings(field func(*Settings) *[]string) func(*builder, *Settings, []*Directive, *scope) error {
	return func(_ *builder, st *Settings, dirs []*Directive, _ *scope) error {
		var list []string
		for _, d := range dirs {
			list = append(list, d.Args...)
		}
		*field(st) = list
		return nil
	}
}

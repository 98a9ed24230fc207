package proxy

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/textproto"
	"strings"
	"sync"
	"time"

	"fulcrum/internal/bindaddr"
	"fulcrum/internal/bodyspool"
	"fulcrum/internal/cache"
	"fulcrum/internal/cacherule"
	"fulcrum/internal/config"
	"fulcrum/internal/errlog"
	"fulcrum/internal/store"
	"fulcrum/internal/vars"
)

// Options are what New needs to build a location's proxy handler.
type Options struct {
	// BodySeq numbers the request bodies' temporary files; nil gives the
	// handler a sequence of its own.
	BodySeq *bodyspool.Sequence
	// Location is the location that proxies (its path drives URI replacement and
	// proxy_redirect default); its Settings hold proxy_pass and the proxy_*
	// directives.
	Location *config.Location
	// Target is the upstream the location proxies to (proxy_pass without
	// variables).
	Target Target
	// Dynamic resolves the target per request for proxy_pass with variables;
	// when set, Target is not used.
	Dynamic DynamicTarget
	// Compiler compiles header and redirect templates.
	Compiler *vars.Compiler
	// Log is the error log.
	Log *errlog.Logger
	// Server is the Server header fulcrum sends ("fulcrum" or "fulcrum/VERSION").
	Server string
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Buffers lends body copy buffers; nil means a pool of the Handler's own.
	Buffers *BufferPool
	// Conditional evaluates a client's conditional fields against a
	// response's Last-Modified and ETag, as nginx's not-modified filter
	// does (0, 304 or 412); the proxy asks it for the responses its cache
	// serves or stores. Nil means never 304.
	Conditional func(h http.Header, mod time.Time, etag string) int
	// CacheZone is the zone of the location's proxy_cache; nil when it has
	// none.
	CacheZone *cache.Zone
	// CacheZones are the proxy_cache_path zones by name, for a
	// proxy_cache with variables, which names one per request.
	CacheZones map[string]*cache.Zone
	// Ranges is nginx's range filter (cacherule.Ranger) for the 200s the
	// cache serves or stores, and for every 200 under proxy_force_ranges
	// on; nil means they go out whole.
	Ranges cacherule.Ranger
}

// New compiles a location's proxy settings into a Handler. Errors name the
// directive's file and line.
func New(o Options) (*Handler, error) {
	set := o.Location.Settings
	h := &Handler{
		set: set, pass: set.ProxyPass, target: o.Target, dynamic: o.Dynamic,
		log: o.Log, now: o.Now, server: o.Server,
	}
	seq := o.BodySeq
	if seq == nil {
		seq = &bodyspool.Sequence{}
	}
	h.spool = bodyspool.FromSettings(set, seq)
	if h.now == nil {
		h.now = time.Now
	}
	h.scheme = "http://"
	if !set.ProxyPass.HasVariables {
		h.keyStart = unixKeyStart(set.ProxyPass.URL)
	}
	if set.ProxyPass.Scheme == "https" {
		h.scheme = "https://"
		if !set.ProxyPass.HasVariables { // else each target brings its own (Target.TLS)
			h.tls = newUpstreamTLS(set.ProxySSL, hostWithoutPort(set.ProxyPass.Host))
		}
	}
	var err error
	// A scheme from a variable may turn out https: the name applies to the
	// targets that carry TLS.
	if set.ProxyPass.Scheme != "http" && set.ProxySSL.NameTemplate != "" {
		if h.sslName, err = o.Compiler.Compile(set.ProxySSL.NameTemplate); err != nil {
			return nil, fmt.Errorf("%w in %s", err, set.ProxySSL.NamePos)
		}
	}
	if c := set.ProxySSL.Certificate; set.ProxyPass.Scheme != "http" && c != nil && c.CertTemplate != "" {
		if h.sslCert, err = o.Compiler.Compile(c.CertTemplate); err != nil {
			return nil, fmt.Errorf("%w in %s", err, c.Pos)
		}
		if h.sslKey, err = o.Compiler.Compile(c.KeyTemplate); err != nil {
			return nil, fmt.Errorf("%w in %s", err, c.KeyPos())
		}
	}
	h.maxHead = int(max(set.ProxyBufferSize, 1))
	h.uri = uriRewrite{replace: set.ProxyPass.HasURI, uri: set.ProxyPass.URI}
	if h.uri.replace {
		h.uri.prefixLen = len(o.Location.Path)
	}
	if h.earlyHints, err = compileEarlyHints(o.Compiler, set.EarlyHints); err != nil {
		return nil, fmt.Errorf("%w in %s", err, set.EarlyHintsPos)
	}
	if h.headers, err = compileHeaders(o.Compiler, set.ProxySetHeaders); err != nil {
		return nil, err
	}
	if set.ProxyMethod != "" {
		if h.method, err = o.Compiler.Compile(set.ProxyMethod); err != nil {
			return nil, fmt.Errorf("proxy_method: %w in %s", err, set.ProxyPass.Pos)
		}
	}
	if set.ProxySetBody != nil {
		if h.setBody, err = o.Compiler.Compile(*set.ProxySetBody); err != nil {
			return nil, fmt.Errorf("%w in %s", err, set.ProxyPass.Pos)
		}
	}
	h.hide = hiddenHeaders(set)
	for _, name := range [...]string{"Server", "Date"} {
		if !h.hide.has(name) {
			h.ownPassed = append(h.ownPassed, name)
		}
	}
	if h.bind, err = bindaddr.Compile(o.Compiler, set.ProxyBind, "proxy_bind"); err != nil {
		return nil, err
	}
	if h.redirects, err = compileRedirects(o.Compiler, o.Location); err != nil {
		return nil, err
	}
	if h.cookies, err = compileCookies(o.Compiler, set); err != nil {
		return nil, err
	}
	if h.cache, err = compileCache(o.Compiler, &set.ProxyCache, o.CacheZone, o.CacheZones, o.Conditional); err != nil {
		if ce := (*config.Error)(nil); errors.As(err, &ce) {
			return nil, err // placed at proxy_cache already
		}
		return nil, fmt.Errorf("%w in %s", err, set.ProxyPass.Pos)
	}
	if h.cache != nil {
		h.ranges = o.Ranges
	}
	if set.ProxyForceRanges && o.Ranges != nil {
		h.ranges, h.forceRanges = o.Ranges, true
	}
	if h.store, err = store.Compile(o.Compiler, "proxy_store", set.ProxyStore, set.ProxyStoreAccess); err != nil {
		return nil, fmt.Errorf("%w in %s", err, set.ProxyPass.Pos)
	}
	for _, r := range h.headers {
		h.ruleNames = append(h.ruleNames, r.name)
	}
	h.connlessBlock = h.blockSigs(nil)
	h.setsConnection = containsFold(h.ruleNames, "Connection")
	h.setsLength = containsFold(h.ruleNames, "Content-Length")
	h.setsUpgrade = containsFold(h.ruleNames, "Upgrade")
	h.buffers = o.Buffers
	if h.buffers == nil {
		h.buffers = new(BufferPool)
	}
	return h, nil
}

// hostWithoutPort is the host of a proxy_pass URL's "host[:port]" (brackets
// stripped from an IPv6 address).
func hostWithoutPort(hostport string) string {
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		return h
	}
	return strings.Trim(hostport, "[]")
}

// BufferPool lends the proxy its 32 KiB body copy buffers (a buffer per
// request was 77% of the bytes allocated under load). One pool serves every
// Handler of a daemon.
type BufferPool struct{ p sync.Pool }

// Get returns a 32 KiB buffer.
func (b *BufferPool) Get() *[]byte {
	if buf, ok := b.p.Get().(*[]byte); ok {
		return buf
	}
	buf := make([]byte, 32<<10)
	return &buf
}

// Put gives a buffer back.
func (b *BufferPool) Put(buf *[]byte) { b.p.Put(buf) }

// compileHeaders merges proxy_set_header with fulcrum's defaults and compiles
// the values. As nginx sends them: the configured fields in their order and
// spelled as written, then Host: $proxy_host unless one of them sets Host.
func compileHeaders(c *vars.Compiler, set []config.HeaderTemplate) ([]headerRule, error) {
	rules := make([]headerRule, 0, len(set)+1)
	hasHost := false
	for _, ht := range set {
		if strings.EqualFold(ht.Name, "Host") {
			hasHost = true
		}
		if strings.EqualFold(ht.Name, "Transfer-Encoding") {
			// The body's framing is the proxy's own (a Content-Length, or
			// its chunked coding): nginx 1.22.1 sends the set field beside
			// its Content-Length (recorded: "proxy_set_header
			// Transfer-Encoding $http_x_te" with "X-TE: chunked" and a
			// 6-byte body sent both), which a server reads as chunked
			// and takes the body's bytes for a next request
			// (http-hardening.md: never forward both).
			continue
		}
		t, err := c.Compile(ht.Value)
		if err != nil {
			return nil, fmt.Errorf("%w in %s", err, ht.Pos)
		}
		rules = append(rules, newHeaderRule(ht.Name, t))
	}
	if !hasHost {
		t, err := c.Compile("$proxy_host")
		if err != nil {
			return nil, err
		}
		rules = append(rules, newHeaderRule("Host", t))
	}
	return rules, nil
}

// hiddenHeaders is the set of upstream response headers not passed to
// clients, by canonical name.
func hiddenHeaders(set *config.Settings) nameSet {
	hide := map[string]bool{}
	for _, name := range hiddenByDefault {
		hide[name] = true
	}
	for _, name := range set.ProxyHideHeaders {
		hide[textproto.CanonicalMIMEHeaderKey(name)] = true
	}
	for _, name := range set.ProxyPassHeaders {
		delete(hide, textproto.CanonicalMIMEHeaderKey(name))
	}
	var s nameSet
	for name := range hide {
		s.add(name)
	}
	return s
}

// compileRedirects compiles proxy_redirect. "default" replaces the proxy_pass URL
// (plus "/" when it has no URI part) with the location's path (or "/").
func compileRedirects(c *vars.Compiler, loc *config.Location) ([]redirectRule, error) {
	set := loc.Settings
	var rules []redirectRule
	for _, pr := range set.ProxyRedirects {
		switch {
		case pr.Off:
			return nil, nil
		case pr.Default:
			if set.ProxyPass.HasVariables || loc.Regex != nil {
				continue
			}
			from, to := set.ProxyPass.URL, loc.Path
			if !set.ProxyPass.HasURI {
				from, to = strings.TrimSuffix(from, "/")+"/", "/"
			}
			t, err := c.Compile(to)
			if err != nil {
				return nil, fmt.Errorf("%w in %s", err, pr.Pos)
			}
			rules = append(rules, redirectRule{from: from, to: t})
		default:
			t, err := c.Compile(pr.To)
			if err != nil {
				return nil, fmt.Errorf("%w in %s", err, pr.Pos)
			}
			r := redirectRule{from: pr.From, re: pr.Regex, to: t}
			if pr.Regex == nil && strings.Contains(pr.From, "$") {
				// The text to replace may have variables, evaluated per
				// response, as nginx's complex value pattern.
				f, err := c.Compile(pr.From)
				if err != nil {
					return nil, fmt.Errorf("%w in %s", err, pr.Pos)
				}
				if _, constant := f.Constant(); !constant {
					r.fromValue = f
				}
			}
			rules = append(rules, r)
		}
	}
	return rules, nil
}

// Transports keeps one upstream connection pool per upstream block across config
// reloads, so a reload does not drop warm connections. It is safe for concurrent
// use.
type Transports struct {
	mu sync.Mutex // guards m
	m  map[string]*transportEntry
	// live are the pools handed out and not retired: an entry of m
	// replaced by new options stays here until Retain closes it.
	live map[*ConnPool]bool
	// sessions are the sticky learn zones by name, kept across reloads
	// that keep their size, as nginx keeps a shared memory zone.
	sessions map[string]*SessionZone
	buffers  BufferPool
	bodySeq  bodyspool.Sequence
	grpc     *GRPCClients
}

// Sessions returns the sticky learn zone named name: the one a previous
// configuration used, with its sessions, when its size is the same, else a
// new one.
func (ts *Transports) Sessions(name string, size int64) *SessionZone {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	if z := ts.sessions[name]; z != nil && z.Size() == size {
		return z
	}
	z := NewSessionZone(size)
	ts.sessions[name] = z
	return z
}

// GRPC returns the HTTP/2 client pools of grpc_pass locations.
func (ts *Transports) GRPC() *GRPCClients { return ts.grpc }

// Buffers returns the body copy buffer pool shared by the daemon's handlers.
func (ts *Transports) Buffers() *BufferPool { return &ts.buffers }

// BodySeq returns the numbering of request bodies' temporary files, shared
// by every handler and kept across reloads (nginx's ngx_temp_number).
func (ts *Transports) BodySeq() *bodyspool.Sequence { return &ts.bodySeq }

type transportEntry struct {
	opts PoolOptions
	t    *ConnPool
}

// NewTransports returns an empty set.
func NewTransports() *Transports {
	return &Transports{m: map[string]*transportEntry{}, live: map[*ConnPool]bool{}, sessions: map[string]*SessionZone{}, grpc: NewGRPCClients()}
}

// For returns the pool for the upstream named name, made anew when its options
// changed.
func (ts *Transports) For(name string, o PoolOptions) *ConnPool {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	if e, ok := ts.m[name]; ok && e.opts == o {
		return e.t
	}
	t := newConnPool(o)
	ts.m[name] = &transportEntry{opts: o, t: t}
	ts.live[t] = true
	return t
}

// Retain retires the pools, gRPC clients and sticky learn zones that are not in keep (those of
// the configuration now in force) and forgets them: an upstream that was
// removed, or whose keepalive settings or gRPC settings changed, no longer
// holds idle connections that nothing will use again (nginx's old workers
// close theirs when they exit). Exchanges still running on a retired pool
// finish; their connections then close. Kept ones stay warm.
func (ts *Transports) Retain(keep Kept) {
	ts.mu.Lock()
	for name, e := range ts.m {
		if !keep.pools[e.t] {
			delete(ts.m, name)
		}
	}
	for p := range ts.live {
		if !keep.pools[p] {
			p.Close()
			delete(ts.live, p)
		}
	}
	for name, z := range ts.sessions {
		if !keep.zones[z] {
			delete(ts.sessions, name)
		}
	}
	ts.mu.Unlock()
	ts.grpc.retain(keep.grpc)
}

// Kept is the set of upstream connection pools and gRPC clients a
// configuration uses, for Retain.
type Kept struct {
	pools map[*ConnPool]bool
	grpc  map[*http.Transport]bool
	zones map[*SessionZone]bool
}

// AddSessions adds a sticky learn zone.
func (k *Kept) AddSessions(z *SessionZone) {
	if k.zones == nil {
		k.zones = map[*SessionZone]bool{}
	}
	k.zones[z] = true
}

// AddPool adds the pool of a proxy target.
func (k *Kept) AddPool(p *ConnPool) {
	if k.pools == nil {
		k.pools = map[*ConnPool]bool{}
	}
	k.pools[p] = true
}

// AddGRPC adds the client of a grpc_pass handler (none for one with
// variables: the clients of its targets are made as requests need them).
func (k *Kept) AddGRPC(h *GRPCHandler) {
	if h.route.Client == nil {
		return
	}
	k.AddGRPCClient(h.route.Client)
}

// AddGRPCClient adds a gRPC client transport.
func (k *Kept) AddGRPCClient(t *http.Transport) {
	if k.grpc == nil {
		k.grpc = map[*http.Transport]bool{}
	}
	k.grpc[t] = true
}

// CloseIdle closes every idle upstream connection (at shutdown).
func (ts *Transports) CloseIdle() {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	for _, e := range ts.m {
		e.t.CloseIdle()
	}
}

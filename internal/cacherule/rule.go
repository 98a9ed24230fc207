// Package cacherule holds the cache decisions that the proxy (proxy_cache)
// and the FastCGI, SCGI and uwsgi client (fastcgi_cache, scgi_cache,
// uwsgi_cache) share, as nginx's upstream module makes them for all of its
// protocols: the key of a request, whether it bypasses the cache, which
// entry (Vary variant) answers it, the update lock of a missing or expired
// entry, whether a response may be stored and until when (the fields
// X-Accel-Expires, Cache-Control, Expires, Set-Cookie and Vary, then the
// *_cache_valid times), and where its entry goes.
//
// The package stores nothing itself (package cache does) and answers no
// request (each handler serves entries and fills them its own way); it
// gives the handlers the few pieces of an answer that nginx's upstream
// module shares too: the 304 of the not-modified filter, the writer swap
// of a background update (writer.go), and the range filter's hook for the
// responses the cache serves or stores (ranges.go).
package cacherule

import (
	"context"
	"fmt"
	"net/http"
	"net/textproto"
	"slices"
	"strings"
	"time"

	"fulcrum/internal/cache"
	"fulcrum/internal/config"
	"fulcrum/internal/vars"
)

// The $upstream_cache_status values.
const (
	Miss        = "MISS"
	Bypass      = "BYPASS"
	Expired     = "EXPIRED"
	Stale       = "STALE"
	Updating    = "UPDATING"
	Revalidated = "REVALIDATED"
	Hit         = "HIT"
)

// Rule is a location's cache, compiled: its zone, its settings and the
// templates of its key, *_cache_bypass and *_no_cache. It is immutable and
// safe for concurrent use.
type Rule struct {
	// Zone is the zone entries go to; Set the settings (never nil).
	Zone *cache.Zone
	Set  *config.CacheSettings

	key                    *vars.Template
	bypass, noCache, purge []*vars.Template
}

// Compile compiles set for zone; prefix ("proxy", "fastcgi", ...) words the
// errors. It returns nil when the location does not cache (set off, or no
// zone). A location whose zone has variables compiles its rule with a nil
// zone and gives each zone its copy (With, Choose).
func Compile(c *vars.Compiler, set *config.CacheSettings, zone *cache.Zone, prefix string) (*Rule, error) {
	if set == nil || !set.On() || zone == nil && set.ZoneValue == "" {
		return nil, nil
	}
	r := &Rule{Zone: zone, Set: set}
	var err error
	if r.key, err = c.Compile(set.Key); err != nil {
		return nil, fmt.Errorf("%s_cache_key: %w", prefix, err)
	}
	if r.bypass, err = compileAll(c, set.Bypass, prefix+"_cache_bypass"); err != nil {
		return nil, err
	}
	if r.noCache, err = compileAll(c, set.NoCache, prefix+"_no_cache"); err != nil {
		return nil, err
	}
	if r.purge, err = compileAll(c, set.Purge, prefix+"_cache_purge"); err != nil {
		return nil, err
	}
	return r, nil
}

// With is a copy of r for zone z: the same settings and templates.
func (r *Rule) With(z *cache.Zone) *Rule {
	c := *r
	c.Zone = z
	return &c
}

// compileAll compiles the strings of directive name.
func compileAll(c *vars.Compiler, list []string, name string) ([]*vars.Template, error) {
	var out []*vars.Template
	for _, s := range list {
		t, err := c.Compile(s)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		out = append(out, t)
	}
	return out, nil
}

// Method reports whether responses to m are cached: GET and HEAD always,
// POST when *_cache_methods lists it.
func (r *Rule) Method(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || slices.Contains(r.Set.Methods, m)
}

// Purge is NGINX Plus's *_cache_purge: when one of its strings is neither
// empty nor "0", the request is a purge (ok) and Purge carries it out,
// returning its answer's status. A key ending in "*" purges every entry
// whose key starts with the rest (cache.Zone.PurgePrefix): 204, as NGINX
// Plus's admin guide shows for "curl -X PURGE .../*". Another key purges
// its entry: 204 (No Content) when there was one, as the directive's
// documentation says of a successful purge, and 412 (Precondition Failed)
// when there was none, which the documentation does not state: fulcrum's
// choice, the status users of NGINX Plus and of the ngx_cache_purge module
// (2.5 and later) see. Without *_cache_purge it costs a length check.
func (r *Rule) Purge(st *vars.State) (status int, ok bool) {
	if !r.Purges(st) {
		return 0, false
	}
	return r.PurgeKey(r.Key(st)), true
}

// PurgeKey removes the entry of key, or for a key ending in "*" every entry
// whose key starts with the rest, and returns the purge's status (Purge);
// for a caller that computes the key itself (the proxy's implicit key).
func (r *Rule) PurgeKey(key string) (status int) {
	if prefix, wild := strings.CutSuffix(key, "*"); wild {
		r.Zone.PurgePrefix(prefix)
		return http.StatusNoContent
	}
	if r.Zone.Purge(key) {
		return http.StatusNoContent
	}
	return http.StatusPreconditionFailed
}

// Key is the request's key: *_cache_key evaluated.
func (r *Rule) Key(st *vars.State) string { return r.key.String(st) }

// Purges reports whether the request is a purge (*_cache_purge true).
func (r *Rule) Purges(st *vars.State) bool { return len(r.purge) != 0 && AnyTrue(r.purge, st) }

// NoCache reports whether *_no_cache forbids storing the response.
func (r *Rule) NoCache(st *vars.State) bool { return AnyTrue(r.noCache, st) }

// HasNoCache reports whether the rule has *_no_cache strings to test.
func (r *Rule) HasNoCache() bool { return len(r.noCache) != 0 }

// AnyTrue reports whether one of ts evaluates neither empty nor "0", as
// nginx's ngx_http_test_predicates.
func AnyTrue(ts []*vars.Template, st *vars.State) bool {
	for _, t := range ts {
		if v := t.String(st); v != "" && v != "0" {
			return true
		}
	}
	return false
}

// ValidFor is *_cache_valid's time for status: the first rule that names it
// or says any; 0 when none does.
func ValidFor(rules []config.CacheValid, status int) time.Duration {
	for _, v := range rules {
		if v.Any || slices.Contains(v.Codes, status) {
			return v.Time
		}
	}
	return 0
}

// Variant is the key of a response variant: the key and the request's
// values of the fields the response's Vary names. The values of
// Accept-Charset, Accept-Encoding and Accept-Language are taken as their
// tokens between spaces and commas, as nginx's
// ngx_http_file_cache_vary_header normalizes them: "foo, bar",
// "foo,bar" and "foo,,  ,bar , " are one variant, "foobar" another
// (recorded with nginx 1.22.1).
func Variant(key, vary string, st *vars.State) cache.Key {
	var b strings.Builder
	b.WriteString(key)
	for name := range strings.SplitSeq(vary, ",") {
		name = textproto.CanonicalMIMEHeaderKey(strings.TrimSpace(name))
		if name == "" {
			continue
		}
		b.WriteString("\n" + name + ":")
		if st.Header == nil {
			continue
		}
		normalize := name == "Accept-Charset" || name == "Accept-Encoding" || name == "Accept-Language"
		for from := 0; ; {
			v, next, ok := st.Header.Lookup(name, from)
			if !ok {
				break
			}
			from = next
			if !normalize {
				b.WriteString(v + ",")
				continue
			}
			for _, tok := range strings.FieldsFunc(v, func(c rune) bool { return c == ' ' || c == ',' }) {
				b.WriteString(tok + ",")
			}
		}
	}
	return cache.Sum(b.String())
}

// Lookup is one request's view of the cache.
type Lookup struct {
	// Key is the key string; K the entry the response goes to (the key's
	// MD5, or its variant's).
	Key string
	K   cache.Key
	// Look is what the zone knew of K.
	Look cache.Lookup
	// Locked says the request holds K's update (cache.Zone.Lock), granted
	// at lockedAt.
	Locked   bool
	lockedAt time.Time
}

// Find computes the request's key and looks its entry up, following the
// stored Vary field to the request's variant. With *_cache_bypass true it
// looks nothing up and reports bypass: the response is then stored whatever
// its uses, as nginx does.
func (r *Rule) Find(st *vars.State) (l Lookup, bypass bool) {
	return r.FindKey(r.Key(st), st)
}

// FindKey is Find for a key the caller computed (the proxy's implicit key,
// config.CacheSettings.ImplicitKey).
func (r *Rule) FindKey(key string, st *vars.State) (l Lookup, bypass bool) {
	l.Key = key
	l.K = cache.Sum(l.Key)
	if AnyTrue(r.bypass, st) {
		l.Look.Uses = r.Set.MinUses
		return l, true
	}
	l.Look = r.Zone.Get(l.K)
	if l.Look.Exists && l.Look.Vary != "" {
		if v := Variant(l.Key, l.Look.Vary, st); v != l.Look.Variant {
			l.K = v
			l.Look = r.Zone.Get(l.K)
		}
	}
	return l, false
}

// Lock takes l's update when no other request holds it (then l.Locked);
// otherwise it returns the channel closed when the holder is done.
func (r *Rule) Lock(l *Lookup) (owner bool, done <-chan struct{}) {
	owner, l.lockedAt, done = r.Zone.LockSince(l.K, r.Set.LockAge)
	l.Locked = owner
	return owner, done
}

// Unlock gives up l's update when the request holds it, unless another
// request took it over once *_cache_lock_age had passed.
func (r *Rule) Unlock(l *Lookup) {
	if l.Locked {
		l.Locked = false
		r.Zone.UnlockOwn(l.K, l.lockedAt)
	}
}

// lockPoll is how often a request waiting for a cache lock looks at it
// again, as nginx's ngx_http_file_cache_lock_wait does (every 500 ms):
// a holder's update older than *_cache_lock_age is then taken over.
const lockPoll = 500 * time.Millisecond

// Wait is how a request's wait for a missing entry's lock ended.
type Wait int

// The ends of AwaitLock.
const (
	// Owner: the request holds the lock and goes to the server.
	Owner Wait = iota
	// Filled: the request that held it is done and the entry answered.
	Filled
	// TimedOut: *_cache_lock_timeout passed; the request goes to the
	// server and its response is not stored, as in nginx.
	TimedOut
	// Canceled: the client went away.
	Canceled
)

// AwaitLock is *_cache_lock for a missing entry: the first request takes
// the lock and fills the entry, the others wait up to *_cache_lock_timeout
// for it (a request that takes the lock after a holder filled the entry
// since the request looked it up is answered from it too); when the holder
// is done, serve answers from the entry (false
// when there is none). A holder whose response was not stored (not
// cacheable, or read unbuffered) leaves none: the waiter then takes the
// lock itself, to go to the server and store its own response when it
// may, or waits on for another waiter that took it first, up to the same
// timeout, as nginx's ngx_http_file_cache_lock does when it looks again
// (recorded from nginx 1.22.1 with proxy_cache_lock and fastcgi_cache_lock:
// the first response "Cache-Control: no-store", "private" or
// "X-Accel-Buffering: no", the second request, which waited, got the
// server's next answer, MISS, and stored it; a third was a HIT).
func (r *Rule) AwaitLock(ctx context.Context, l *Lookup, serve func() bool) Wait {
	t := time.NewTimer(r.Set.LockTimeout)
	defer t.Stop()
	poll := time.NewTimer(lockPoll)
	defer poll.Stop()
	for {
		owner, done := r.Lock(l)
		if owner {
			// The entry was missing when the request looked it up, but a
			// holder may have filled it and let go of the lock between
			// that look-up and this lock: it answers then, as it does in
			// nginx, whose look-up and lock are one step of a worker.
			if !l.Look.Exists && serve != nil && r.Zone.Fresh(l.K) && serve() {
				r.Unlock(l)
				return Filled
			}
			return Owner
		}
		poll.Reset(lockPoll)
		select {
		case <-done:
			if serve() {
				return Filled
			}
		case <-poll.C:
			// Look again: the holder's update may have aged out
			// (*_cache_lock_age), and this request then takes it over,
			// goes to the server and stores its response, as in nginx
			// (nginx-tests proxy_cache_lock_age.t).
		case <-t.C:
			return TimedOut
		case <-ctx.Done():
			return Canceled
		}
	}
}

// FillTarget is where a response with the Vary field vary (empty for none,
// or ignored) is stored, and the meta data its entry starts with: the first
// variant goes under the key itself, later ones under their own, so that a
// lookup by the key finds the Vary field, then the variant. A response
// without Vary goes under the key itself even when the request's lookup had
// followed a variant, replacing the variants for every request, as nginx's
// ngx_http_file_cache_update_variant moves it to the main key (recorded
// with nginx 1.22.1: after gzip and deflate variants of /replace/ expired,
// a response without Vary to a deflate request is then a HIT for gzip).
func (r *Rule) FillTarget(l *Lookup, vary string, st *vars.State) (cache.Key, cache.Meta) {
	m := cache.Meta{Key: l.Key}
	main := cache.Sum(l.Key)
	if vary == "" || r.Set.IgnoreVary {
		return main, m
	}
	m.Vary = vary
	m.Variant = Variant(l.Key, vary, st)
	if look := r.Zone.Get(main); look.Exists && look.Variant != m.Variant {
		return m.Variant, m
	}
	return main, m
}

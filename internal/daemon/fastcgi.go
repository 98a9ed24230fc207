package daemon

import (
	"errors"
	"fmt"
	"net/http"

	"fulcrum/internal/cache"
	"fulcrum/internal/config"
	"fulcrum/internal/fastcgi"
	"fulcrum/internal/static"
	"fulcrum/internal/upstream"
	"fulcrum/internal/vars"
)

// cgiPass returns the location's fastcgi_pass, scgi_pass or uwsgi_pass when it is the
// location's content handler: the one written last of those and proxy_pass
// (nginx's last content handler directive wins), nil when proxy_pass is or
// there is none.
func cgiPass(set *config.Settings) (*config.FastCGIPass, fastcgi.Protocol) {
	var pass *config.FastCGIPass
	var proto fastcgi.Protocol
	after := func(p, q config.Pos) bool { return p.File == q.File && p.Line > q.Line }
	for _, c := range []struct {
		p     *config.FastCGIPass
		proto fastcgi.Protocol
	}{{set.FastCGI.Pass, fastcgi.FastCGI}, {set.SCGI.Pass, fastcgi.SCGI}, {set.UWSGI.Pass, fastcgi.UWSGI}} {
		if c.p != nil && (pass == nil || after(c.p.Pos, pass.Pos)) {
			pass, proto = c.p, c.proto
		}
	}
	if pass == nil || set.ProxyPass != nil && after(set.ProxyPass.Pos, pass.Pos) {
		return nil, 0
	}
	return pass, proto
}

// cgiHandler builds the handler of a location with fastcgi_pass,
// scgi_pass or uwsgi_pass; one with variables finds its target per request.
func (b *handlerBuilder) cgiHandler(loc *config.Location, pass *config.FastCGIPass, proto fastcgi.Protocol) (handler, error) {
	o := fastcgi.Options{
		Protocol: proto, Location: loc, Compiler: b.comp, Log: b.snap.logAt(loc.Settings), Now: b.snap.now,
		Conditional: static.ConditionalFor(loc.Settings.IfModifiedSince),
		Ranges:      upstreamRanges, BodySeq: b.transports.BodySeq(),
	}
	o.CacheZone, o.CacheZones = b.cgiCacheZones(loc, proto)
	if pass.HasVariables {
		t, err := b.comp.Compile(pass.Address)
		if err != nil {
			return nil, fmt.Errorf("%w in %s", err, pass.Pos)
		}
		o.Pass, o.Lookup = t, b.newDynamicCGI(loc.Settings, proto).lookup
	} else {
		bp := b.pools[pass.Upstream]
		if bp == nil {
			return nil, fmt.Errorf("%s in %s: no upstream for %q", passName(proto), pass.Pos, pass.Address)
		}
		o.Pool, o.Policy, o.HashKey, o.Idle = bp.pool, bp.policy, bp.hashKey, b.cgiIdle(bp)
	}
	h, err := fastcgi.New(o)
	if ce := (*config.Error)(nil); errors.As(err, &ce) && ce.Pos.File != "" {
		return nil, err // placed already (uwsgi_ssl_name's variables)
	}
	if err != nil {
		return nil, fmt.Errorf("%w in %s", err, pass.Pos)
	}
	return fastcgiContent{h: h}, nil
}

// cgiIdle is the idle FastCGI connections of bp's upstream block, shared
// by every location whose fastcgi_pass names it, with variables too, as
// nginx's keepalive cache is the upstream block's (recorded with nginx
// 1.22.1: keepalive 1 and fastcgi_keep_conn on in three locations, one
// with "fastcgi_pass $u", served seven requests over one connection);
// made on first use, nil when the block has no keepalive. SCGI and uwsgi
// keep no connections, so only FastCGI's handlers use it.
func (b *handlerBuilder) cgiIdle(bp *builtPool) *upstream.IdleConns {
	if bp.cgiIdle == nil && bp.cfg.Keepalive > 0 {
		bp.cgiIdle = upstream.NewIdleConns(bp.cfg.Keepalive)
		// The idle connections close with the snapshot, once a reload
		// replaced it and its last request is done.
		b.snap.closers = append(b.snap.closers, bp.cgiIdle.Close)
	}
	return bp.cgiIdle
}

// cgiCacheZones are the zone of the location's fastcgi_cache, scgi_cache
// or uwsgi_cache (per proto), or the module's zones by name when it names
// its zone with variables; nil when it does not cache.
func (b *handlerBuilder) cgiCacheZones(loc *config.Location, proto fastcgi.Protocol) (*cache.Zone, map[string]*cache.Zone) {
	set, module := &loc.Settings.FastCGI, "fastcgi"
	switch proto {
	case fastcgi.SCGI:
		set, module = &loc.Settings.SCGI, "scgi"
	case fastcgi.UWSGI:
		set, module = &loc.Settings.UWSGI, "uwsgi"
	}
	switch {
	case set.Cache == nil:
		return nil, nil
	case set.Cache.ZoneValue != "":
		return nil, b.zonesOf(module)
	}
	return b.zones[set.Cache.Zone], nil
}

// passName is the directive of a protocol, for messages.
func passName(p fastcgi.Protocol) string {
	switch p {
	case fastcgi.SCGI:
		return "scgi_pass"
	case fastcgi.UWSGI:
		return "uwsgi_pass"
	}
	return "fastcgi_pass"
}

// fastcgiContent adapts fastcgi.Handler and follows an X-Accel-Redirect.
type fastcgiContent struct{ h *fastcgi.Handler }

func (f fastcgiContent) serve(w http.ResponseWriter, r *http.Request, st *vars.State) *internalRedirect {
	f.h.ServeHTTP(w, r, st)
	if rec, ok := w.(*recorder); ok {
		if target, ok := rec.takeAccel(); ok {
			return followAccel(rec, r, st, target)
		}
	}
	return nil
}

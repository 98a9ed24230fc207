package daemon

import (
	"fmt"
	"net/http"
	"strconv"

	"fulcrum/internal/config"
	"fulcrum/internal/memcached"
	"fulcrum/internal/static"
	"fulcrum/internal/upstream"
	"fulcrum/internal/vars"
)

// memcachedPass returns the location's memcached_pass when it is the
// location's content handler: written after its proxy_pass, fastcgi_pass,
// scgi_pass and uwsgi_pass, if any (nginx's last content handler directive
// wins); nil otherwise.
func memcachedPass(set *config.Settings) *config.FastCGIPass {
	pass := set.Memcached.Pass
	if pass == nil {
		return nil
	}
	after := func(p config.Pos) bool { return p.File == pass.Pos.File && p.Line > pass.Pos.Line }
	if set.ProxyPass != nil && after(set.ProxyPass.Pos) {
		return nil
	}
	for _, p := range []*config.FastCGIPass{set.FastCGI.Pass, set.SCGI.Pass, set.UWSGI.Pass} {
		if p != nil && after(p.Pos) {
			return nil
		}
	}
	return pass
}

// memcachedHandler builds the handler of a location with memcached_pass.
func (b *handlerBuilder) memcachedHandler(loc *config.Location, pass *config.FastCGIPass) (handler, error) {
	bp := b.pools[pass.Upstream]
	if bp == nil {
		return nil, fmt.Errorf("memcached_pass in %s: no upstream for %q", pass.Pos, pass.Address)
	}
	set := loc.Settings
	if bp.memcachedIdle == nil && bp.cfg.Keepalive > 0 {
		bp.memcachedIdle = upstream.NewIdleConns(bp.cfg.Keepalive)
		// The idle connections close with the snapshot, once a reload
		// replaced it and its last request is done.
		b.snap.closers = append(b.snap.closers, bp.memcachedIdle.Close)
	}
	h, err := memcached.New(memcached.Options{
		Location: loc, Pool: bp.pool, Policy: bp.policy, HashKey: bp.hashKey,
		Idle: bp.memcachedIdle, Compiler: b.comp, Log: b.snap.logAt(loc.Settings), Now: b.snap.now,
		ContentType: func(uri string) string { return static.ContentType(set.Types, set.DefaultType, uri) },
		Range:       memcachedRange,
	})
	if err != nil {
		return nil, fmt.Errorf("%w (memcached_pass in %s)", err, pass.Pos)
	}
	return memcachedContent{h: h}, nil
}

// memcachedContent adapts memcached.Handler.
type memcachedContent struct{ h *memcached.Handler }

func (m memcachedContent) serve(w http.ResponseWriter, r *http.Request, st *vars.State) *internalRedirect {
	m.h.ServeHTTP(w, r, st)
	return nil
}

// memcachedRange is nginx's range filter for a memcached value (the module
// forces ranges, one at most: static.SingleRange), unless a filter that
// changes the body refuses them (static.RangeFilter). A 416 carries
// "Content-Range: bytes */SIZE" and goes through the headers filter as the
// 200 it was, as a file's does.
func memcachedRange(w http.ResponseWriter, r *http.Request, contentType string, size int64) (int64, int64, int) {
	if rf, ok := w.(static.RangeFilter); ok && !rf.AllowRanges(contentType, size) {
		return 0, size, 0
	}
	if rec, ok := w.(*recorder); ok && rec.set != nil && rec.set.RangesOff {
		return 0, size, 0 // max_ranges 0: no ranges, no Accept-Ranges
	}
	start, end, status := static.SingleRange(r.Header, size)
	if status == http.StatusRequestedRangeNotSatisfiable {
		w.Header().Set("Content-Range", "bytes */"+strconv.FormatInt(size, 10))
		if rec, ok := w.(*recorder); ok {
			rec.filterStatus = http.StatusOK
		}
	}
	return start, end, status
}

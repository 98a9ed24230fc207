package daemon

import (
	"fmt"
	"net/http"

	"fulcrum/internal/config"
	"fulcrum/internal/fastcgi"
	"fulcrum/internal/vars"
)

// fastcgiWins reports whether the location's content handler is its
// fastcgi_pass: it has one and no proxy_pass after it (nginx's last
// content handler directive wins).
func fastcgiWins(set *config.Settings) bool {
	f := set.FastCGI.Pass
	if f == nil {
		return false
	}
	p := set.ProxyPass
	return p == nil || p.Pos.File != f.Pos.File || p.Pos.Line < f.Pos.Line
}

// fastcgiHandler builds the handler of a location with fastcgi_pass.
func (b *handlerBuilder) fastcgiHandler(loc *config.Location) (handler, error) {
	pass := loc.Settings.FastCGI.Pass
	bp := b.pools[pass.Upstream]
	if bp == nil {
		return nil, fmt.Errorf("fastcgi_pass in %s: no upstream for %q", pass.Pos, pass.Address)
	}
	h, err := fastcgi.New(fastcgi.Options{
		Location: loc, Pool: bp.pool, Policy: bp.policy, HashKey: bp.hashKey,
		Keepalive: bp.cfg.Keepalive, Compiler: b.comp, Log: b.snap.log, Now: b.snap.now,
	})
	if err != nil {
		return nil, fmt.Errorf("%w in %s", err, pass.Pos)
	}
	return fastcgiContent{h: h}, nil
}

// fastcgiContent adapts fastcgi.Handler and follows an X-Accel-Redirect.
type fastcgiContent struct{ h *fastcgi.Handler }

func (f fastcgiContent) serve(w http.ResponseWriter, r *http.Request, st *vars.State) *internalRedirect {
	f.h.ServeHTTP(w, r, st)
	if rec, ok := w.(*recorder); ok {
		if target, ok := rec.takeAccel(); ok {
			return followAccel(rec, r, st, target, rec.snap.log)
		}
	}
	return nil
}

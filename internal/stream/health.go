package stream

import (
	"fmt"

	"fulcrum/internal/config"
	"fulcrum/internal/errlog"
	"fulcrum/internal/health"
	"fulcrum/internal/upstream"
)

// buildHealth compiles the health_check directives of cfg's servers
// (NGINX Plus's ngx_stream_upstream_hc_module) into t's check group, on
// the http checks' scheduling and state (package health). Apply starts
// the group when t goes live; `fulcrum -t` never does.
func (t *table) buildHealth(cfg *config.Stream, groups map[*config.Upstream]*group, log *errlog.Logger) {
	var checks []*health.Check
	keys := map[string]int{}
	for _, sc := range cfg.Servers {
		for i, hc := range sc.HealthChecks {
			g := groups[hc.Upstream]
			if g == nil {
				continue // config.Load refuses a check without an upstream group
			}
			c := newStreamCheck(sc, hc, g.pool, log)
			// The key names the check across reloads: its server's first
			// address and its place there, made unique within the
			// upstream.
			c.Key = fmt.Sprintf("%s %s#%d", sc.Listens[0].Network, sc.Listens[0].Addr, i)
			if n := keys[hc.Upstream.Name+" "+c.Key]; n > 0 {
				c.Key += fmt.Sprintf("/%d", n)
			}
			keys[hc.Upstream.Name+" "+c.Key]++
			checks = append(checks, c)
		}
	}
	t.health = health.NewGroup(t.pools, checks)
}

// newStreamCheck compiles one health_check of sc, checking pool.
func newStreamCheck(sc *config.StreamServer, hc *config.StreamHealthCheck, pool *upstream.Pool, log *errlog.Logger) *health.Check {
	c := health.Scheduled(pool, hc.HealthSchedule)
	c.Stream = &health.StreamProbe{UDP: hc.UDP, Match: hc.Match, Timeout: hc.Timeout, ConnectTimeout: sc.ConnectTimeout}
	if log == nil {
		return c
	}
	c.OnChange = func(srv *upstream.Server, ch upstream.HealthChange, why error) {
		if ch == upstream.HealthBecameUnhealthy {
			log.Logf(errlog.Warn, "upstream server %s in upstream \"%s\" is unhealthy: %v (health_check in %s)", srv.Name(), hc.Upstream.Name, why, hc.Pos)
			return
		}
		log.Logf(errlog.Notice, "upstream server %s in upstream \"%s\" is healthy (health_check in %s)", srv.Name(), hc.Upstream.Name, hc.Pos)
	}
	return c
}

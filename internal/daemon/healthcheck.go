package daemon

import (
	"fmt"
	"strings"

	"fulcrum/internal/config"
	"fulcrum/internal/errlog"
	"fulcrum/internal/health"
	"fulcrum/internal/proxy"
	"fulcrum/internal/upstream"
)

// buildHealthChecks compiles the health_check directives of every location
// into the snapshot's check group. The group starts when the snapshot goes
// live (activateHealth), never for `fulcrum -t`.
func (s *snapshot) buildHealthChecks(pools map[*config.Upstream]*builtPool) {
	var checks []*health.Check
	keys := map[string]int{}
	var walk func(locs []*config.Location)
	walk = func(locs []*config.Location) {
		for _, loc := range locs {
			for i, hc := range loc.Settings.HealthChecks {
				bp := pools[hc.Upstream]
				if bp == nil {
					continue // config.Load refuses a check without an upstream group
				}
				c := s.healthCheck(loc, hc, bp.pool)
				// The key names the check across reloads: its location and
				// place there, made unique within the upstream.
				c.Key = fmt.Sprintf("%s %s#%d", loc.Modifier, loc.Path, i)
				if n := keys[hc.Upstream.Name+" "+c.Key]; n > 0 {
					c.Key += fmt.Sprintf("/%d", n)
				}
				keys[hc.Upstream.Name+" "+c.Key]++
				checks = append(checks, c)
			}
			walk(loc.Locations)
		}
	}
	for _, srv := range s.cfg.HTTP.Servers {
		walk(srv.Locations)
	}
	s.health = health.NewGroup(s.pools, checks)
}

// healthCheck compiles one health_check of loc, checking pool.
func (s *snapshot) healthCheck(loc *config.Location, hc *config.HealthCheck, pool *upstream.Pool) *health.Check {
	var c *health.Check
	if hc.GRPC {
		c = grpcHealthCheck(loc.Settings, hc, pool)
	} else {
		c = httpHealthCheck(loc.Settings, hc, pool)
	}
	c.Now = s.now
	log := s.log
	c.OnChange = func(srv *upstream.Server, ch upstream.HealthChange, why error) {
		if ch == upstream.HealthBecameUnhealthy {
			log.Logf(errlog.Warn, "upstream server %s in upstream \"%s\" is unhealthy: %v (health_check in %s)", srv.Name(), pool.Name(), why, hc.Pos)
			return
		}
		log.Logf(errlog.Notice, "upstream server %s in upstream \"%s\" is healthy (health_check in %s)", srv.Name(), pool.Name(), hc.Pos)
	}
	return c
}

// grpcHealthCheck compiles a type=grpc check of a location with settings
// set: the Check call to the grpc_pass address as :authority, with the
// location's grpc_*_timeouts and, for grpcs://, its grpc_ssl_* settings.
func grpcHealthCheck(set *config.Settings, hc *config.HealthCheck, pool *upstream.Pool) *health.Check {
	pass := set.GRPCPass
	c := health.Scheduled(pool, hc.HealthSchedule)
	c.Host = pass.Host
	c.GRPC = &health.GRPCProbe{Service: hc.GRPCService, Status: hc.GRPCStatus}
	c.ConnectTimeout, c.SendTimeout, c.ReadTimeout = set.GRPC.ConnectTimeout, set.GRPC.SendTimeout, set.GRPC.ReadTimeout
	if pass.TLS {
		c.TLS = proxy.GRPCTLSClientConfig(set.GRPC.SSL, pass.Host)
	}
	return c
}

// httpHealthCheck compiles an http check of a location with settings set.
func httpHealthCheck(set *config.Settings, hc *config.HealthCheck, pool *upstream.Pool) *health.Check {
	pass := set.ProxyPass
	hp := proxyHost(pass)
	c := health.Scheduled(pool, hc.HealthSchedule)
	c.URI, c.Host, c.Match = hc.URI, pass.Host, hc.Match
	c.HTTP10 = set.ProxyHTTPVersion == "1.0"
	c.ConnectTimeout, c.SendTimeout, c.ReadTimeout = set.ProxyConnectTimeout, set.ProxySendTimeout, set.ProxyReadTimeout
	if pass.Scheme == "https" {
		c.TLS = proxy.TLSClientConfig(set.ProxySSL, hp[0])
	}
	vals := strings.NewReplacer("${proxy_host}", pass.Host, "$proxy_host", pass.Host, "${proxy_port}", hp[1], "$proxy_port", hp[1])
	for _, h := range set.ProxySetHeaders {
		// Most variables are empty in a health check, as in NGINX Plus,
		// and a field whose value is empty is not sent.
		v := vals.Replace(h.Value)
		if strings.Contains(v, "$") || v == "" {
			continue
		}
		switch strings.ToLower(h.Name) {
		case "host":
			c.Host = v
		case "connection", "content-length", "transfer-encoding":
			// The check request has no body and closes its connection.
		default:
			c.Header = append(c.Header, [2]string{h.Name, v})
		}
	}
	return c
}

package daemon

import (
	"fmt"

	"fulcrum/internal/config"
	"fulcrum/internal/vars"
)

// checkSetHeaders compiles the proxy_set_header and grpc_set_header values
// of every server and location, whether or not it proxies, and keeps
// nothing: the proxy handlers compile their own. nginx compiles them in
// ngx_http_proxy_merge_loc_conf (ngx_http_grpc_merge_loc_conf) for every
// level it merges into, so `nginx -t` refuses `proxy_set_header X $nosuch;`
// in a location that only returns (`unknown "nosuch" variable`, recorded on
// nginx 1.22.1), and so does `fulcrum -t`. An http level without servers is
// merged into nothing and not checked, as in nginx.
func (s *snapshot) checkSetHeaders(comp *vars.Compiler) error {
	seen := map[*config.Settings]bool{}
	return walkSettings(s.cfg.HTTP.Servers, func(set *config.Settings) error {
		if seen[set] {
			return nil
		}
		seen[set] = true
		for _, list := range [][]config.HeaderTemplate{set.ProxySetHeaders, set.GRPC.SetHeaders} {
			for _, ht := range list {
				if _, err := comp.Compile(ht.Value); err != nil {
					return fmt.Errorf("%w in %s", err, ht.Pos)
				}
			}
		}
		return nil
	})
}

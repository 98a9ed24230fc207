//go:build !nginxdiff

package integration

import "testing"

// startUpstreamTarget runs the server TestUpstreamLikeNginx checks: fulcrum.
// With -tags nginxdiff it is nginx instead (upstream_target_nginx_test.go),
// which is how the table's rows are recorded.
func startUpstreamTarget(t *testing.T, conf string) *instance {
	t.Helper()
	return startFulcrum(t, conf, 1)
}

package balancer

import "fulcrum/internal/upstream"

// LeastConn picks the usable server with the fewest active requests
// relative to its weight (active_a * weight_b < active_b * weight_a, as
// nginx compares), and breaks ties among the servers sharing that lowest
// ratio by smooth weighted round robin. The zero value is ready to use.
type LeastConn struct{}

var _ Policy = (*LeastConn)(nil)

// Choose implements Policy (ngx_http_upstream_get_least_conn_peer).
func (*LeastConn) Choose(v upstream.View, a *Attempt) int {
	if v.Single() {
		return roundRobin(v, a)
	}
	best, many := -1, false
	var bestActive, bestWeight int64 // best's active count and weight
	for i := range v.Len() {
		if a.tried.has(i) || !v.Usable(i) {
			continue
		}
		active, weight := v.Active(i), v.ConnWeight(i)
		switch l, r := active*bestWeight, bestActive*weight; {
		case best < 0 || l < r:
			best, many, bestActive, bestWeight = i, false, active, weight
		case l == r:
			many = true
		}
	}
	if best < 0 || !many {
		return best
	}
	return leastConnTie(v, a, best)
}

// less reports active_i/weight_i < active_j/weight_j, cross-multiplied.
func less(v upstream.View, i, j int) bool {
	return v.Active(i)*v.ConnWeight(j) < v.Active(j)*v.ConnWeight(i)
}

// leastConnTie runs a weighted round robin round over the usable servers
// from first on that share first's ratio of active requests to weight.
func leastConnTie(v upstream.View, a *Attempt, first int) int {
	fa, fw := v.Active(first), v.ConnWeight(first)
	best, total := first, 0
	for i := first; i < v.Len(); i++ {
		if a.tried.has(i) || v.Active(i)*fw != fa*v.ConnWeight(i) || !v.Usable(i) {
			continue
		}
		total += v.Credit(i)
		if v.Current(i) > v.Current(best) {
			best = i
		}
	}
	v.Debit(best, total)
	return best
}

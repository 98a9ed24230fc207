package balancer

import "fulcrum/internal/upstream"

// RoundRobin is nginx's default method, smooth weighted round robin: in
// each pick every usable server's current weight grows by its effective
// weight, the largest wins and loses the round's total. Weights 5, 1, 1
// give a a b a c a a. The zero value is ready to use.
type RoundRobin struct{}

var _ Policy = (*RoundRobin)(nil)

// Choose implements Policy.
func (*RoundRobin) Choose(v upstream.View, a *Attempt) int { return roundRobin(v, a) }

// roundRobin is ngx_http_upstream_get_round_robin_peer for one tier; the
// other methods fall back to it. In a single-server pool the server is
// used unless it is down or at max_conns, whatever its failures.
func roundRobin(v upstream.View, a *Attempt) int {
	if v.Single() {
		if v.Usable(0) {
			return 0
		}
		return -1
	}
	return smoothRound(v, a, nil)
}

// smoothRound runs one smooth weighted round robin round over the usable,
// untried servers for which keep returns true (all of them when keep is nil)
// and returns the winner, or -1.
func smoothRound(v upstream.View, a *Attempt, keep func(i int) bool) int {
	best, total := -1, 0
	for i := range v.Len() {
		if a.tried.has(i) || !v.Usable(i) || keep != nil && !keep(i) {
			continue
		}
		total += v.Credit(i)
		if best < 0 || v.Current(i) > v.Current(best) {
			best = i
		}
	}
	if best >= 0 {
		v.Debit(best, total)
	}
	return best
}

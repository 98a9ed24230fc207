package balancer

import (
	"math/rand/v2"

	"fulcrum/internal/upstream"
)

// Source is a source of random numbers for Random. It must be safe for
// concurrent use if the policy serves more than one pool.
type Source interface {
	Uint64() uint64
}

// Random is "random [two [least_conn]]": a server drawn at random with
// probability proportional to its weight or, with Two, the better of two
// distinct draws by least_conn's comparison (on a tie, the second draw).
// Unusable, tried or (for the second draw) repeated draws count as
// rejections; after 20 the request uses round robin, as it does with
// fewer than two servers. The zero value draws from math/rand/v2.
type Random struct {
	// Two selects "random two least_conn" (nginx's only "two" method).
	Two bool
	// Rand is the random source; nil means math/rand/v2's global source.
	Rand Source
}

var _ Policy = (*Random)(nil)

// Choose implements Policy (ngx_http_upstream_get_random_peer and
// ngx_http_upstream_get_random2_peer).
func (r *Random) Choose(v upstream.View, a *Attempt) int {
	if v.Backup() || a.ptries > 20 || v.Len() < 2 {
		return roundRobin(v, a)
	}
	if r.Two {
		return r.chooseTwo(v, a)
	}
	for {
		if i := r.draw(v); !a.tried.has(i) && v.Usable(i) {
			return i
		}
		if a.ptries++; a.ptries > 20 {
			return roundRobin(v, a)
		}
	}
}

// chooseTwo draws until it has two distinct usable servers and returns
// the one with fewer active requests per weight. As in nginx, the first
// accepted draw also counts towards the 20.
func (r *Random) chooseTwo(v upstream.View, a *Attempt) int {
	prev := -1
	for {
		if i := r.draw(v); i != prev && !a.tried.has(i) && v.Usable(i) {
			if prev >= 0 {
				if less(v, prev, i) {
					return prev
				}
				return i
			}
			prev = i
		}
		if a.ptries++; a.ptries > 20 {
			return roundRobin(v, a)
		}
	}
}

// draw returns a server with probability weight/total_weight.
func (r *Random) draw(v upstream.View) int {
	var x uint64
	if r.Rand != nil {
		x = r.Rand.Uint64()
	} else {
		x = rand.Uint64()
	}
	return byWeight(v, int(x%uint64(v.TotalWeight())))
}

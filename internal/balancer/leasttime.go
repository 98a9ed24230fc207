package balancer

import (
	"time"

	"fulcrum/internal/upstream"
)

// LeastTime is NGINX Plus's "least_time header | last_byte [inflight]"
// (http) and "least_time connect | first_byte | last_byte [inflight]"
// (stream): a request goes to the server with the least average time and
// the fewest active requests, relative to its weight; servers that tie are
// taken in turn by smooth weighted round robin. The zero value balances on
// the connect time without inflight.
//
// Each usable, untried server gets the score
//
//	estimate × (active + 1) / weight
//
// where estimate is the server's moving average of Metric
// (upstream.Server.Sample), active its requests in flight and weight
// least_conn's weight (View.ConnWeight, ramped by slow_start). The +1
// counts the request being placed, so an idle pool still prefers the
// faster server. With Inflight the estimate is the larger of the average
// and the mean age of the server's incomplete requests (those begun but
// whose Metric was not measured yet, upstream.Server.BeginPending): a
// server that stopped answering looks slow before its first slow answer
// arrives. A server without a sample yet (new, or never answered) is
// estimated at the mean of the estimates of the candidates that have one,
// so it gets its share of traffic and its first samples; when no candidate
// has a sample, all are equal and the method is least_conn with the +1.
type LeastTime struct {
	// Metric is the time averaged: MetricHeader (header, first_byte),
	// MetricLastByte (last_byte) or MetricConnect (connect).
	Metric upstream.Metric
	// Inflight counts incomplete requests (the inflight parameter).
	Inflight bool
}

var _ Policy = (*LeastTime)(nil)

// Choose implements Policy.
func (lt *LeastTime) Choose(v upstream.View, a *Attempt) int {
	if v.Single() {
		return roundRobin(v, a)
	}
	fallback := lt.fallback(v, a)
	best, many := -1, false
	var bestScore float64
	for i := range v.Len() {
		if a.tried.has(i) || !v.Usable(i) {
			continue
		}
		switch s := lt.score(v, i, fallback); {
		case best < 0 || s < bestScore:
			best, many, bestScore = i, false, s
		case s == bestScore:
			many = true
		}
	}
	if best < 0 || !many {
		return best
	}
	return smoothRound(v, a, func(i int) bool { return lt.score(v, i, fallback) == bestScore })
}

// estimate returns server i's time estimate and whether it has a sample.
func (lt *LeastTime) estimate(v upstream.View, i int) (time.Duration, bool) {
	avg, ok := v.AvgTime(i, lt.Metric)
	if lt.Inflight {
		if age := v.PendingAge(i); age > avg {
			return age, true
		}
	}
	return avg, ok
}

// fallback is the estimate of servers without a sample: the mean of the
// candidates' estimates that have one, or 1ns when none has (then every
// server weighs the same and the score is (active+1)/weight).
func (lt *LeastTime) fallback(v upstream.View, a *Attempt) time.Duration {
	var sum time.Duration
	n := 0
	for i := range v.Len() {
		if a.tried.has(i) || !v.Usable(i) {
			continue
		}
		if e, ok := lt.estimate(v, i); ok {
			sum += e
			n++
		}
	}
	if n == 0 {
		return 1
	}
	return max(sum/time.Duration(n), 1)
}

// score returns estimate × (active+1) / weight for server i.
func (lt *LeastTime) score(v upstream.View, i int, fallback time.Duration) float64 {
	e, ok := lt.estimate(v, i)
	if !ok {
		e = fallback
	}
	e = max(e, 1) // a server measured at 0 still counts its active requests
	return float64(e) * float64(v.Active(i)+1) / float64(v.ConnWeight(i))
}

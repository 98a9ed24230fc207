// Package deadline keeps a connection's read or write deadline the way nginx
// keeps its timers: lazily. nginx's ngx_event_add_timer leaves a timer alone
// when the new expiry is within NGX_TIMER_LAZY_DELAY (300 ms) of the one set,
// which on a busy keep-alive connection saves a timer update on nearly every
// request. Go's SetReadDeadline and SetWriteDeadline cost a clock read and an
// update of the runtime's timer heap each; a Lazy saves both.
//
// Unlike nginx's, a Lazy deadline never fires before the timeout it was asked
// for: it is set a little later than asked (Slack) and kept while it still
// falls within [now+timeout, now+timeout+Slack(timeout)]. A timeout may so
// end up to Slack late, never early.
//
// A deadline that passed is not always a timeout: Stalled and WriteStalled
// (ready.go) tell one from the stall edge, where the connection's bytes came
// as its deadline passed and nginx, which handles events before timers,
// would have read them.
package deadline

import "time"

// lazyDelay is nginx's NGX_TIMER_LAZY_DELAY: the most a deadline is moved
// for laziness.
const lazyDelay = 300 * time.Millisecond

// Slack is how much later than its timeout a deadline may fire: an eighth of
// the timeout, at most nginx's 300 ms (a 100 ms timeout ends within 112.5 ms,
// a 60 s one within 60.3 s).
func Slack(timeout time.Duration) time.Duration {
	return min(timeout/8, lazyDelay)
}

// Lazy is one direction's deadline of one connection, as last set through
// it. The zero value has no deadline set. Every deadline set on that
// direction must go through the Lazy (Due, Within or Set), or it no longer
// knows what the connection has. It is not safe for concurrent use: it
// belongs to the goroutine serving the connection.
type Lazy struct {
	at time.Time // the deadline set on the connection; zero: none
}

// Due returns the deadline to set for timeout d from now, and ok false when
// the one already set will do. d <= 0 means no deadline: ok is true (with the
// zero time, which lifts a deadline) only when one is set; now is not used
// then, so a caller may pass the zero time and skip its clock read.
func (l *Lazy) Due(now time.Time, d time.Duration) (t time.Time, ok bool) {
	if d <= 0 {
		if l.at.IsZero() {
			return time.Time{}, false
		}
		l.at = time.Time{}
		return time.Time{}, true
	}
	return l.Within(now, d, d+Slack(d))
}

// Within returns the deadline to set so that it falls between now+lo and
// now+hi, and ok false when the one already set does. The deadline set is
// now+hi, so that later calls find it in their window for as long as
// possible (hi - lo).
func (l *Lazy) Within(now time.Time, lo, hi time.Duration) (t time.Time, ok bool) {
	if !l.at.IsZero() {
		// One subtraction (monotonic when both readings have it, as
		// Before and After compare) instead of two additions and two
		// comparisons: every wait for a request comes here.
		if left := l.at.Sub(now); lo <= left && left <= hi {
			return time.Time{}, false
		}
	}
	l.at = now.Add(hi)
	return l.at, true
}

// Set records a deadline set on the connection directly: t exactly (the
// zero time for none).
func (l *Lazy) Set(t time.Time) { l.at = t }

// At returns the deadline set through the Lazy (the zero time for none).
func (l *Lazy) At() time.Time { return l.at }

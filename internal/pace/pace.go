// Package pace paces a transfer to a rate in bytes per second, as nginx's
// limit_rate (ngx_http_write_filter_module.c) and proxy_limit_rate
// (ngx_event_pipe.c) pace theirs. Past its first Free bytes, a transfer that
// started at Start may send once it has paid for what it sent, at Rate bytes
// a second since Start, and then send up to Rate × (the time since Start +
// one second) bytes more than it paid for: a second's worth goes at once,
// then the transfer waits until that second is paid, as nginx's write
// filter sends what its limit allows and then sleeps for what it sent.
//
// nginx counts the time in whole seconds of its cached clock and pays for
// every partial send of the socket; Limit counts the time exactly. Nothing
// here reads the clock or sleeps unless a caller asks: [Limit.Allow] is a
// pure function of the time it is given, and [Pacer]'s clock and sleep can
// be replaced.
package pace

import (
	"context"
	"math"
	"math/bits"
	"time"
)

// Limit is one transfer's pace.
type Limit struct {
	// Rate is the limit in bytes per second; 0 or less means none.
	Rate int64
	// Free is how many bytes go before the limit applies
	// (limit_rate_after).
	Free int64
	// Start is when the transfer's clock started: the request's start for
	// limit_rate, the response body's for proxy_limit_rate.
	Start time.Time
}

// Allow reports how many bytes may go at now, after done bytes went: n is
// at least a second's worth (or the rest of the free bytes, if more), or 0
// while the transfer has sent more than it paid for; wait is then how long
// until it has paid.
func (l Limit) Allow(done int64, now time.Time) (n int64, wait time.Duration) {
	if l.Rate <= 0 {
		return math.MaxInt64, 0
	}
	free := max(l.Free, 0)
	used := max(done-free, 0) // the bytes the limit counts
	elapsed := max(now.Sub(l.Start), 0)
	if paid := mulDiv(uint64(l.Rate), uint64(elapsed), uint64(time.Second)); used > paid {
		// used-paid bytes are still to be paid, at Rate bytes a second
		// (rounded up to the next nanosecond).
		d := mulDiv(uint64(used-paid), uint64(time.Second), uint64(l.Rate))
		return 0, time.Duration(d) + time.Nanosecond
	}
	budget := mulDiv(uint64(l.Rate), uint64(elapsed+time.Second), uint64(time.Second))
	if budget > math.MaxInt64-free {
		return math.MaxInt64, 0
	}
	return budget + free - done, 0
}

// mulDiv returns a*b/c, or math.MaxInt64 when that is larger.
func mulDiv(a, b, c uint64) int64 {
	hi, lo := bits.Mul64(a, b)
	if hi >= c {
		return math.MaxInt64
	}
	q, _ := bits.Div64(hi, lo, c)
	if q > math.MaxInt64 {
		return math.MaxInt64
	}
	return int64(q)
}

// Pacer is a Limit with the clock it is read against and the sleep between
// paced writes. The zero value has no limit.
type Pacer struct {
	Limit
	// Clock reads the time; nil means time.Now. Tests replace it.
	Clock func() time.Time
	// Sleep waits d, or until ctx is done (returning its error); nil means a
	// timer of the Pacer's own, made at the first wait and reused.
	Sleep func(ctx context.Context, d time.Duration) error
	timer *time.Timer
}

// Now reads the Pacer's clock.
func (p *Pacer) Now() time.Time {
	if p.Clock != nil {
		return p.Clock()
	}
	return time.Now()
}

// Wait sleeps d, or until ctx is done, and then returns ctx's error.
func (p *Pacer) Wait(ctx context.Context, d time.Duration) error {
	if p.Sleep != nil {
		return p.Sleep(ctx, d)
	}
	if p.timer == nil {
		p.timer = time.NewTimer(d)
	} else {
		p.timer.Reset(d)
	}
	select {
	case <-p.timer.C:
		return nil
	case <-ctx.Done():
		p.timer.Stop()
		return ctx.Err()
	}
}

// Stop releases the Pacer's timer, if it made one, and ends the limit.
func (p *Pacer) Stop() {
	if p.timer != nil {
		p.timer.Stop()
	}
	p.Limit = Limit{}
}

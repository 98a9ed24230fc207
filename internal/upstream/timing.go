package upstream

import (
	"sync/atomic"
	"time"
)

// Metric is one of the times NGINX Plus averages per server and least_time
// balances on.
type Metric uint8

const (
	// MetricConnect is the time to connect (stream's connect_time).
	MetricConnect Metric = iota
	// MetricHeader is the time to the response header (http's
	// header_time) or to the first byte (stream's first_byte_time).
	MetricHeader
	// MetricLastByte is the time to the whole response (http's and
	// stream's response_time).
	MetricLastByte
	numMetrics
)

// ewmaShift sets the weight of a new sample in a server's averages: each
// sample moves the average by 1/2^ewmaShift (1/8) of its distance to it,
// so the average follows a change of speed within some twenty samples
// without jumping on one odd answer. The first sample sets the average.
const ewmaShift = 3

// timing is one server's average times and its requests in flight for
// least_time's inflight parameter. Everything is atomic: samples arrive
// without the group lock, picks read them with it.
type timing struct {
	// avg holds the exponentially weighted moving average of each Metric
	// in nanoseconds, plus one: 0 means no sample yet.
	avg [numMetrics]atomic.Int64

	// pending counts the requests begun with BeginPending and not yet
	// ended; pendingSum is the sum of their start times in microseconds
	// after epoch, the UnixMicro of the first start (set once), so that
	// the sum stays small.
	pending    atomic.Int64
	pendingSum atomic.Int64
	epoch      atomic.Int64
}

// Sample adds one measured time of metric m to the server's average. A
// negative d counts as 0. It takes no lock and does not allocate.
func (s *Server) Sample(m Metric, d time.Duration) {
	if m >= numMetrics {
		return
	}
	v := &s.st.timing.avg[m]
	d = max(d, 0)
	for {
		old := v.Load()
		next := int64(d) + 1
		if old != 0 {
			next = old + (int64(d)+1-old)>>ewmaShift
		}
		if v.CompareAndSwap(old, next) {
			return
		}
	}
}

// AvgTime returns the server's average of metric m and whether it has
// had a sample.
func (s *Server) AvgTime(m Metric) (time.Duration, bool) {
	if m >= numMetrics {
		return 0, false
	}
	v := s.st.timing.avg[m].Load()
	if v == 0 {
		return 0, false
	}
	return time.Duration(v - 1), true
}

// BeginPending counts one request that started at start as incomplete
// (least_time's inflight) until EndPending(start) is called. The caller
// pairs the two calls exactly.
func (s *Server) BeginPending(start time.Time) {
	t := &s.st.timing
	us := start.UnixMicro()
	t.epoch.CompareAndSwap(0, us)
	t.pendingSum.Add(us - t.epoch.Load())
	t.pending.Add(1)
}

// EndPending ends what BeginPending(start) began.
func (s *Server) EndPending(start time.Time) {
	t := &s.st.timing
	t.pending.Add(-1)
	t.pendingSum.Add(-(start.UnixMicro() - t.epoch.Load()))
}

// pendingAge returns the mean age at now of the server's incomplete
// requests, or 0 when it has none.
func (t *timing) pendingAge(now time.Time) time.Duration {
	n := t.pending.Load()
	if n <= 0 {
		return 0
	}
	mean := t.epoch.Load() + t.pendingSum.Load()/n
	return max(time.Duration(now.UnixMicro()-mean)*time.Microsecond, 0)
}

// AvgTime returns server i's average of metric m and whether it has had a
// sample (Server.AvgTime).
func (v View) AvgTime(i int, m Metric) (time.Duration, bool) { return v.tier[i].AvgTime(m) }

// PendingAge returns the mean age at the pick's time of server i's
// incomplete requests (Server.BeginPending), 0 when there are none.
func (v View) PendingAge(i int) time.Duration { return v.tier[i].st.timing.pendingAge(v.now) }

// copyTiming fills the averages of t into ss.
func copyTiming(ss *ServerStatus, t *timing) {
	for m := range numMetrics {
		if v := t.avg[m].Load(); v != 0 {
			ss.AvgTimes[m] = time.Duration(v - 1)
			ss.HasAvgTime[m] = true
		}
	}
}

package upstream

import "sync/atomic"

// traffic counts what passed between fulcrum and one server, for the
// runtime API and metrics. Its counters only grow; the proxy adds to them
// once per attempt with Server.Account, without a lock.
type traffic struct {
	// responses counts the responses received by status class: [0] is
	// 1xx, ... [4] is 5xx.
	responses [5]atomic.Int64
	// codes counts the responses by status: [0] is 100, ... [499] is
	// 599. A fixed array, so that counting takes no lock and allocates
	// nothing; the API and the metrics show the non-zero ones.
	codes    [600 - 100]atomic.Int64
	sent     atomic.Int64 // bytes written to the server
	received atomic.Int64 // bytes read from the server
	// unavail counts the times the server became unavailable through
	// max_fails (a failure that brought fails to max_fails).
	unavail atomic.Int64
}

// Account adds one attempt on s to its counters: the status of the
// response the server sent (0 when none came: a connect error, a timeout,
// an invalid header) and the bytes written to and read from it. Statuses
// outside 100-599 count no response. It takes no lock and does not
// allocate.
func (s *Server) Account(status int, sent, received int64) {
	t := &s.st.traffic
	if status >= 100 && status < 600 {
		t.responses[status/100-1].Add(1)
		t.codes[status-100].Add(1)
	}
	if sent != 0 {
		t.sent.Add(sent)
	}
	if received != 0 {
		t.received.Add(received)
	}
}

// Responses is the number of responses a server sent, by status class.
type Responses struct {
	Class1xx, Class2xx, Class3xx, Class4xx, Class5xx int64
}

// Total returns the sum of the classes.
func (r Responses) Total() int64 {
	return r.Class1xx + r.Class2xx + r.Class3xx + r.Class4xx + r.Class5xx
}

// copyTraffic fills the counters of st into ss.
func copyTraffic(ss *ServerStatus, t *traffic) {
	ss.Responses = Responses{
		Class1xx: t.responses[0].Load(),
		Class2xx: t.responses[1].Load(),
		Class3xx: t.responses[2].Load(),
		Class4xx: t.responses[3].Load(),
		Class5xx: t.responses[4].Load(),
	}
	for i := range t.codes {
		if n := t.codes[i].Load(); n != 0 {
			if ss.Codes == nil {
				ss.Codes = make(map[int]int64)
			}
			ss.Codes[100+i] = n
		}
	}
	ss.Sent, ss.Received = t.sent.Load(), t.received.Load()
	ss.Unavail = t.unavail.Load()
}

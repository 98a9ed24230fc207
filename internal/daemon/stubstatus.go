package daemon

import (
	"net/http"
	"strconv"
	"sync/atomic"

	"fulcrum/internal/vars"
)

// connStats counts the daemon's client connections and requests, as nginx's
// ngx_stat_* counters do for stub_status and the $connections_* variables.
// The Daemon owns one for its whole life, so the counts are the process's
// and survive reloads; every listener's engine adds to it.
//
// The hot path only adds to monotonic counters: per connection one add when
// it is accepted and one when it closes, per request one when its first byte
// arrives (started), one when its head was read (headsRead) and one when it
// is done (finished). The states are their differences, taken when someone
// asks (counts): Reading is started-headsRead, Writing headsRead-finished,
// Active handled-closed, and Waiting the rest of Active, less the TLS
// handshakes in progress, which nginx counts in none of the three.
type connStats struct {
	accepted  atomic.Uint64
	handled   atomic.Uint64
	closed    atomic.Uint64
	started   atomic.Uint64
	headsRead atomic.Uint64
	finished  atomic.Uint64
	// handshaking is the TLS handshakes in progress (sslConn).
	handshaking atomic.Int64
}

// statusCounts is what stub_status shows.
type statusCounts struct {
	accepted, handled, requests uint64
	vars.ConnectionCounts
}

// counts reads the counters. They change while it reads, so it reads
// each difference's subtrahend first: a state may count a connection that
// just left it, never less than zero.
func (s *connStats) counts() statusCounts {
	closed := s.closed.Load()
	finished := s.finished.Load()
	heads := s.headsRead.Load()
	started := s.started.Load()
	hs := s.handshaking.Load()
	handled := s.handled.Load()
	accepted := s.accepted.Load()
	c := statusCounts{accepted: accepted, handled: handled, requests: started}
	c.Active = int64(handled - closed)
	c.Reading = int64(started - heads)
	c.Writing = int64(heads - finished)
	c.Waiting = max(c.Active-c.Reading-c.Writing-hs, 0)
	return c
}

// ConnectionCounts implements vars.ConnectionCounter.
func (s *connStats) ConnectionCounts() vars.ConnectionCounts { return s.counts().ConnectionCounts }

var _ vars.ConnectionCounter = (*connStats)(nil)

// The engine's steps, each called once per connection or request by the
// connection's goroutine (accept and handle by the accept loop). A nil
// connStats counts nothing (servers made by tests).

func (s *connStats) accept() {
	if s != nil {
		s.accepted.Add(1)
	}
}

func (s *connStats) handle() {
	if s != nil {
		s.handled.Add(1)
	}
}

func (s *connStats) close() {
	if s != nil {
		s.closed.Add(1)
	}
}

// requestStarted: the first byte of a request arrived (nginx creates the
// request then, and counts it).
func (s *connStats) requestStarted() {
	if s != nil {
		s.started.Add(1)
	}
}

// headRead: the head was read whole, or refused.
func (s *connStats) headRead() {
	if s != nil {
		s.headsRead.Add(1)
	}
}

// requestFinished: the response is done (or the connection was dropped).
func (s *connStats) requestFinished() {
	if s != nil {
		s.finished.Add(1)
	}
}

// handshake counts a TLS handshake in progress (d = 1) or ended (d = -1).
func (s *connStats) handshake(d int64) {
	if s != nil {
		s.handshaking.Add(d)
	}
}

// appendStatus appends nginx's stub_status page for c, byte for byte
// (ngx_http_stub_status_handler): each line ends with a space before its
// newline, and the counts line starts with one.
func appendStatus(b []byte, c statusCounts) []byte {
	b = append(b, "Active connections: "...)
	b = strconv.AppendInt(b, c.Active, 10)
	b = append(b, " \nserver accepts handled requests\n "...)
	b = strconv.AppendUint(b, c.accepted, 10)
	b = append(b, ' ')
	b = strconv.AppendUint(b, c.handled, 10)
	b = append(b, ' ')
	b = strconv.AppendUint(b, c.requests, 10)
	b = append(b, " \nReading: "...)
	b = strconv.AppendInt(b, c.Reading, 10)
	b = append(b, " Writing: "...)
	b = strconv.AppendInt(b, c.Writing, 10)
	b = append(b, " Waiting: "...)
	b = strconv.AppendInt(b, c.Waiting, 10)
	b = append(b, " \n"...)
	return b
}

// getOrHead starts the answer of a handler that serves GET and HEAD only, as
// nginx's stub_status and empty_gif handlers do: 405 for another method
// (false), else the request body discarded, which answers "Expect:
// 100-continue" (ngx_http_discard_request_body).
func getOrHead(rec *recorder, r *http.Request) bool {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		rec.fail(http.StatusMethodNotAllowed)
		return false
	}
	_ = rec.Continue()
	return true
}

// stubStatusHandler answers with the status page (the stub_status
// directive), as ngx_http_stub_status_handler: GET and HEAD only (405
// otherwise), the body discarded, text/plain with a Content-Length, and
// the counts read as the request is served, so Writing includes it.
type stubStatusHandler struct{}

func (stubStatusHandler) serve(w http.ResponseWriter, r *http.Request, st *vars.State) *internalRedirect {
	rec := w.(*recorder)
	if !getOrHead(rec, r) {
		return nil
	}
	var c statusCounts
	if s := rec.snap.conns; s != nil {
		c = s.counts()
	}
	var buf [160]byte
	body := appendStatus(buf[:0], c)
	h := w.Header()
	h.Set("Content-Type", "text/plain")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		_, _ = w.Write(body)
	}
	return nil
}

package daemon

import (
	"sync"
	"time"

	"fulcrum/internal/vars"
)

// logSubrequest writes the access log line of the subrequest sub, whose
// state st still is (before EndSubrequest), when log_subrequest is on at
// the level that served it (sub.set), as ngx_http_finalize_request does
// when a subrequest ends: through that level's access_log (none when it
// has access_log off), with the subrequest's $uri, $args, $status,
// $request_method and upstream variables, and the main request's $request
// and $request_uri. As in nginx 1.22.1, $request_length is 0, $request_time
// counts from start (when the subrequest began), and $bytes_sent and
// $body_bytes_sent both show sent, what the client's connection had been
// sent of the main response by then (nginx's c->sent: a subrequest has no
// header of its own).
func (s *snapshot) logSubrequest(sub *recorder, st *vars.State, start time.Time, sent int64) {
	if sub.set == nil || !sub.set.LogSubrequest {
		return
	}
	length, begun, bytes, body := st.Length, st.Start, st.BytesSent, st.BodyBytesSent
	st.Length, st.Start, st.BytesSent, st.BodyBytesSent = 0, start, sent, sent
	s.access.log(sub.set, st)
	st.Length, st.Start, st.BytesSent, st.BodyBytesSent = length, begun, bytes, body
}

// subrequestStart is when a subrequest begins, its $request_time's start.
func (s *snapshot) subrequestStart() time.Time {
	if s.now != nil {
		return s.now()
	}
	return time.Now()
}

// clientSent is how many bytes of the response the client's connection has
// been sent so far (nginx's c->sent, which a subrequest's $bytes_sent
// shows): what left the write buffer. It is 0 for a subrequest's recorder,
// whose output goes into another response.
func (w *recorder) clientSent() int64 {
	if w.ew != nil {
		return w.ew.flushedBytes()
	}
	if sw, ok := w.ResponseWriter.(streamWriter); ok {
		total, _ := sw.sentBytes()
		return total
	}
	return 0
}

// endedMirrors are the mirror subrequests of a request that ended with
// log_subrequest on, waiting for their log lines: nginx writes a mirror's
// line when it ends, which is before the main request's; fulcrum writes it
// once the main response went out (logMirrors), the common case in nginx,
// whose line then shows the whole response's bytes sent.
type endedMirrors struct {
	mu   sync.Mutex // guards list
	list []endedMirror
}

// endedMirror is one mirror subrequest waiting for its log line: its
// scratch (its state and recorder), kept from the pool until then, and
// when it began.
type endedMirror struct {
	sc    *requestScratch
	start time.Time
}

// add keeps sc for its log line.
func (e *endedMirrors) add(sc *requestScratch, start time.Time) {
	e.mu.Lock()
	e.list = append(e.list, endedMirror{sc: sc, start: start})
	e.mu.Unlock()
}

// logMirrors writes the log lines of g's mirrors that asked for one, in the
// order they ended, with sent as their $bytes_sent and $body_bytes_sent,
// and recycles their scratches. Call it once g's mirrors are done.
func (s *snapshot) logMirrors(g *mirrorGroup, sent int64) {
	g.ended.mu.Lock()
	list := g.ended.list
	g.ended.list = nil
	g.ended.mu.Unlock()
	for _, e := range list {
		s.logSubrequest(&e.sc.rec, &e.sc.st, e.start, sent)
		s.putScratch(e.sc)
	}
}

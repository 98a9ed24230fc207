package admin

import (
	"strconv"
	"time"

	"fulcrum/internal/upstream"
)

// The API's JSON objects, with NGINX Plus's field names (API version 9).
// Fields fulcrum does not know (a peer's ssl) are left out rather than
// shown as zeros; the average times (header_time, response_time,
// connect_time, first_byte_time) are left out until the server has
// answered once, selected until it was picked once, downstart while it is
// not down, health_checks for a server without an active health check,
// and an upstream's queue without a queue directive.

type nginxObject struct {
	Version       string `json:"version"`
	Build         string `json:"build"`
	Address       string `json:"address"`
	Generation    int64  `json:"generation"`
	LoadTimestamp string `json:"load_timestamp"`
	Timestamp     string `json:"timestamp"`
	PID           int    `json:"pid"`
	PPID          int    `json:"ppid"`
}

type connectionsObject struct {
	Accepted uint64 `json:"accepted"`
	Dropped  uint64 `json:"dropped"`
	Active   int64  `json:"active"`
	Idle     int64  `json:"idle"`
}

type requestsObject struct {
	Total   uint64 `json:"total"`
	Current int64  `json:"current"`
}

// upstreamObject is an upstream (/http/upstreams/{name}, with peers P =
// peerObject, or /stream/upstreams/{name}, P = streamPeerObject). Queue is
// nil for a stream upstream.
type upstreamObject[P any] struct {
	Peers   []P          `json:"peers"`
	Zombies int          `json:"zombies"`
	Zone    string       `json:"zone,omitempty"`
	Queue   *queueObject `json:"queue,omitempty"`
}

// queueObject is an upstream's queue: the requests waiting now, the
// queue's limit, and the requests turned away because it was full.
type queueObject struct {
	Size      int   `json:"size"`
	MaxSize   int   `json:"max_size"`
	Overflows int64 `json:"overflows"`
}

// healthChecksObject is a peer's active health check statistics.
// LastPassed is left out before the first check.
type healthChecksObject struct {
	Checks     int64 `json:"checks"`
	Fails      int64 `json:"fails"`
	Unhealthy  int64 `json:"unhealthy"`
	LastPassed *bool `json:"last_passed,omitempty"`
}

type responsesObject struct {
	C1xx int64 `json:"1xx"`
	C2xx int64 `json:"2xx"`
	C3xx int64 `json:"3xx"`
	C4xx int64 `json:"4xx"`
	C5xx int64 `json:"5xx"`
	// Codes counts the responses by status code ("200": 10), for the
	// codes the server sent at least once.
	Codes map[string]int64 `json:"codes"`
	Total int64            `json:"total"`
}

// peerHead is the first part of NGINX Plus's http and stream peers: the
// server and its load. Embedded, its fields are the peer's own in JSON.
type peerHead struct {
	ID       int    `json:"id"`
	Server   string `json:"server"`
	Name     string `json:"name"`
	Backup   bool   `json:"backup"`
	Weight   int    `json:"weight"`
	State    string `json:"state"`
	Active   int64  `json:"active"`
	MaxConns int    `json:"max_conns,omitempty"`
}

// peerTail is the part of NGINX Plus's http and stream peers between
// their counts of requests (http) or connections (stream) and their
// average times: bytes, failures and health. HealthChecks are the active
// health checks' statistics, for a server that has one; Downtime is the
// milliseconds the server was unavail, checking or unhealthy in all,
// Downstart when its current such period began (only while in one),
// Selected when a pick last chose it (only once one did).
type peerTail struct {
	Sent         int64               `json:"sent"`
	Received     int64               `json:"received"`
	Fails        int64               `json:"fails"`
	Unavail      int64               `json:"unavail"`
	HealthChecks *healthChecksObject `json:"health_checks,omitempty"`
	Downtime     int64               `json:"downtime"`
	Downstart    string              `json:"downstart,omitempty"`
	Selected     string              `json:"selected,omitempty"`
}

// peerObject is NGINX Plus's http peer.
type peerObject struct {
	peerHead
	Requests  int64           `json:"requests"`
	Responses responsesObject `json:"responses"`
	peerTail
	// HeaderTime and ResponseTime are the server's average times to the
	// response header and to the whole response, in milliseconds.
	HeaderTime   *int64 `json:"header_time,omitempty"`
	ResponseTime *int64 `json:"response_time,omitempty"`
}

// streamPeerObject is NGINX Plus's stream peer: connections, not requests
// and responses.
type streamPeerObject struct {
	peerHead
	Connections int64 `json:"connections"`
	peerTail
	// ConnectTime, FirstByteTime and ResponseTime are the server's
	// average times to connect, to the first byte and to the session's
	// end, in milliseconds.
	ConnectTime   *int64 `json:"connect_time,omitempty"`
	FirstByteTime *int64 `json:"first_byte_time,omitempty"`
	ResponseTime  *int64 `json:"response_time,omitempty"`
}

// serverHead is the first part of a server's configuration, http or
// stream.
type serverHead struct {
	ID          int    `json:"id"`
	Server      string `json:"server"`
	Weight      int    `json:"weight"`
	MaxConns    int    `json:"max_conns"`
	MaxFails    int    `json:"max_fails"`
	FailTimeout string `json:"fail_timeout"`
	SlowStart   string `json:"slow_start"`
}

// serverObject is a server's configuration (/servers and PATCH).
type serverObject struct {
	serverHead
	Route  string `json:"route"`
	Backup bool   `json:"backup"`
	Down   bool   `json:"down"`
	Drain  bool   `json:"drain,omitempty"`
}

// streamServerObject is a stream server's configuration: NGINX Plus's has
// no route and no drain.
type streamServerObject struct {
	serverHead
	Backup bool `json:"backup"`
	Down   bool `json:"down"`
}

// State is a server's state as the API and the metrics name it: "down"
// (down in the configuration or by the API), "unhealthy" (an active health
// check fails it), "checking" (a mandatory check has not passed it yet),
// "draining", "unavail" (out after max_fails failures, inside fail_timeout)
// or "up".
func State(s *upstream.ServerStatus) string {
	switch {
	case s.Down:
		return "down"
	case s.Health == upstream.HealthUnhealthy:
		return "unhealthy"
	case s.Health == upstream.HealthChecking:
		return "checking"
	case s.Draining:
		return "draining"
	case s.Unavailable:
		return "unavail"
	}
	return "up"
}

// address is the server's address as NGINX Plus's "server" field shows it.
func address(s *upstream.ServerStatus) string {
	if s.Network == upstream.NetworkUnix {
		return "unix:" + s.Addr
	}
	return s.Addr
}

// headOf is the peerHead of s.
func headOf(s *upstream.ServerStatus) peerHead {
	return peerHead{ID: s.ID, Server: address(s), Name: s.Name, Backup: s.Backup, Weight: s.Weight,
		State: State(s), Active: s.Active, MaxConns: s.MaxConns}
}

// tailOf is the peerTail of s.
func tailOf(s *upstream.ServerStatus) peerTail {
	return peerTail{Sent: s.Sent, Received: s.Received, Fails: s.Failures, Unavail: s.Unavail,
		HealthChecks: healthChecksOf(s), Downtime: s.Downtime.Milliseconds(), Downstart: optionalTime(s.DownStart),
		Selected: optionalTime(s.Selected)}
}

// peer is s as an http peer.
func peer(s *upstream.ServerStatus) peerObject {
	r := s.Responses
	return peerObject{
		peerHead: headOf(s), Requests: s.Requests,
		Responses: responsesObject{C1xx: r.Class1xx, C2xx: r.Class2xx, C3xx: r.Class3xx, C4xx: r.Class4xx, C5xx: r.Class5xx,
			Codes: codes(s.Codes), Total: r.Total()},
		peerTail:   tailOf(s),
		HeaderTime: avgMillis(s, upstream.MetricHeader), ResponseTime: avgMillis(s, upstream.MetricLastByte),
	}
}

// streamPeer is s as a stream peer.
func streamPeer(s *upstream.ServerStatus) streamPeerObject {
	return streamPeerObject{
		peerHead: headOf(s), Connections: s.Requests, peerTail: tailOf(s),
		ConnectTime: avgMillis(s, upstream.MetricConnect), FirstByteTime: avgMillis(s, upstream.MetricHeader),
		ResponseTime: avgMillis(s, upstream.MetricLastByte),
	}
}

// codes is the per-code count with the codes written as JSON keys: an
// empty object when the server sent no response.
func codes(c map[int]int64) map[string]int64 {
	out := make(map[string]int64, len(c))
	for code, n := range c {
		out[strconv.Itoa(code)] = n
	}
	return out
}

// healthChecksOf is the server's health_checks object, nil for a server
// no active health check tests.
func healthChecksOf(s *upstream.ServerStatus) *healthChecksObject {
	if s.Health == upstream.HealthUnchecked {
		return nil
	}
	h := s.HealthChecks
	o := &healthChecksObject{Checks: h.Checks, Fails: h.Fails, Unhealthy: h.Unhealthy}
	if h.Checks > 0 {
		o.LastPassed = &h.LastPassed
	}
	return o
}

// optionalTime is timestamp(t), or "" for the zero time.
func optionalTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return timestamp(t)
}

// avgMillis is the server's average of m in whole milliseconds, or nil
// before its first sample.
func avgMillis(s *upstream.ServerStatus, m upstream.Metric) *int64 {
	if !s.HasAvgTime[m] {
		return nil
	}
	ms := s.AvgTimes[m].Milliseconds()
	return &ms
}

// peersOf is the upstream object of u without its queue, each server a
// peer as peer makes it.
func peersOf[P any](u *Upstream, peer func(*upstream.ServerStatus) P) upstreamObject[P] {
	o := upstreamObject[P]{Peers: make([]P, 0, len(u.Servers)), Zone: u.Zone}
	for i := range u.Servers {
		o.Peers = append(o.Peers, peer(&u.Servers[i]))
	}
	return o
}

// upstreamOf is u as an http upstream, with its queue when it has one.
func upstreamOf(u *Upstream) upstreamObject[peerObject] {
	o := peersOf(u, peer)
	if q := u.Queue; q != nil {
		o.Queue = &queueObject{Size: q.Len(), MaxSize: q.Limit(), Overflows: q.Overflows()}
	}
	return o
}

// streamUpstreamOf is u as a stream upstream.
func streamUpstreamOf(u *Upstream) upstreamObject[streamPeerObject] {
	return peersOf(u, streamPeer)
}

// serverHeadOf is the serverHead of s.
func serverHeadOf(s *upstream.ServerStatus) serverHead {
	return serverHead{ID: s.ID, Server: address(s), Weight: s.Weight, MaxConns: s.MaxConns, MaxFails: s.MaxFails,
		FailTimeout: duration(s.FailTimeout), SlowStart: duration(s.SlowStart)}
}

// serverOf is s's configuration as an http server.
func serverOf(s *upstream.ServerStatus) serverObject {
	return serverObject{serverHead: serverHeadOf(s), Route: s.Route, Backup: s.Backup, Down: s.Down, Drain: s.Draining}
}

// streamServerOf is s's configuration as a stream server.
func streamServerOf(s *upstream.ServerStatus) streamServerObject {
	return streamServerObject{serverHead: serverHeadOf(s), Backup: s.Backup, Down: s.Down}
}

// duration writes d as nginx writes times: whole seconds as "10s", else
// milliseconds as "500ms".
func duration(d time.Duration) string {
	if d%time.Second == 0 {
		return strconv.FormatInt(int64(d/time.Second), 10) + "s"
	}
	return strconv.FormatInt(d.Milliseconds(), 10) + "ms"
}

// timestamp is NGINX Plus's time format: ISO 8601 in UTC, milliseconds.
func timestamp(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

package statuszone

import (
	"sync"
	"sync/atomic"
)

// minCode and maxCode bound the status codes counted one by one; others
// count in their class and the total only.
const (
	minCode = 100
	maxCode = 599
)

// Responses counts the responses of a zone: in all, by class (1xx to 5xx)
// and by status code.
type Responses struct {
	total   atomic.Uint64
	classes [5]atomic.Uint64
	codes   [maxCode - minCode + 1]atomic.Uint64
}

// add counts one response with status code.
func (r *Responses) add(code int) {
	r.total.Add(1)
	if code >= minCode && code <= maxCode {
		r.classes[code/100-1].Add(1)
		r.codes[code-minCode].Add(1)
	}
}

func (r *Responses) reset() {
	r.total.Store(0)
	for i := range r.classes {
		r.classes[i].Store(0)
	}
	for i := range r.codes {
		r.codes[i].Store(0)
	}
}

// ResponseCounts are a Responses read at one moment.
type ResponseCounts struct {
	Total uint64
	// Classes are the 1xx ... 5xx counts.
	Classes [5]uint64
	// Codes are the counts of each status code sent at least once.
	Codes []CodeCount
}

// CodeCount is the count of one status code.
type CodeCount struct {
	Code  int
	Count uint64
}

func (r *Responses) read() ResponseCounts {
	c := ResponseCounts{Total: r.total.Load()}
	for i := range r.classes {
		c.Classes[i] = r.classes[i].Load()
	}
	for i := range r.codes {
		if n := r.codes[i].Load(); n > 0 {
			c.Codes = append(c.Codes, CodeCount{Code: i + minCode, Count: n})
		}
	}
	return c
}

// HTTP is an http server zone or a location zone. Its methods are safe for
// concurrent use.
type HTTP struct {
	// processing counts the requests in progress (server zones only).
	processing atomic.Int64
	requests   atomic.Uint64
	discarded  atomic.Uint64
	// received and sent are bytes from and to clients.
	received, sent atomic.Uint64
	responses      Responses
}

// Begin counts a request that starts in a server zone; End must follow.
func (z *HTTP) Begin() {
	z.processing.Add(1)
	z.requests.Add(1)
}

// End counts the end of a request Begin counted: Done, and it is no longer
// processing.
func (z *HTTP) End(status int, sent bool, received, bytesSent int64) {
	z.Done(status, sent, received, bytesSent)
	z.processing.Add(-1)
}

// Count counts a whole request of a location zone (nothing in progress).
func (z *HTTP) Count(status int, sent bool, received, bytesSent int64) {
	z.requests.Add(1)
	z.Done(status, sent, received, bytesSent)
}

// Done counts a finished request's response and bytes: with sent false,
// a request "completed without sending a response" (NGINX Plus's
// discarded: a 444, a client that closed first) instead of a response.
func (z *HTTP) Done(status int, sent bool, received, bytesSent int64) {
	if sent {
		z.responses.add(status)
	} else {
		z.discarded.Add(1)
	}
	z.received.Add(uint64(max(received, 0)))
	z.sent.Add(uint64(max(bytesSent, 0)))
}

// Reset zeroes the counters but processing, as NGINX Plus's DELETE:
// "Resets statistics of accepted and discarded requests, responses,
// received and sent bytes".
func (z *HTTP) Reset() {
	z.requests.Store(0)
	z.discarded.Store(0)
	z.received.Store(0)
	z.sent.Store(0)
	z.responses.reset()
}

// HTTPCounts are an HTTP zone's counters read at one moment.
type HTTPCounts struct {
	Processing                          int64
	Requests, Discarded, Received, Sent uint64
	Responses                           ResponseCounts
}

// Read reads the counters.
func (z *HTTP) Read() HTTPCounts {
	return HTTPCounts{Processing: z.processing.Load(), Requests: z.requests.Load(), Discarded: z.discarded.Load(),
		Received: z.received.Load(), Sent: z.sent.Load(), Responses: z.responses.read()}
}

// Stream is a stream server zone. Its methods are safe for concurrent use.
type Stream struct {
	processing  atomic.Int64
	connections atomic.Uint64
	// sessions are the 2xx, 4xx and 5xx sessions and their total.
	sessions  [3]atomic.Uint64
	total     atomic.Uint64
	discarded atomic.Uint64
	// received and sent are bytes from and to clients.
	received, sent atomic.Uint64
}

// Begin counts a connection accepted; End must follow.
func (z *Stream) Begin() {
	z.processing.Add(1)
	z.connections.Add(1)
}

// End counts a session's end with its $status, and the client's bytes;
// status 0 (no session was created: the connection ended before its
// handler ran) counts as discarded.
func (z *Stream) End(status int, received, sent int64) {
	z.processing.Add(-1)
	switch {
	case status == 0:
		z.discarded.Add(1)
	case status >= 200 && status < 300:
		z.sessions[0].Add(1)
	case status >= 400 && status < 500:
		z.sessions[1].Add(1)
	case status >= 500 && status < 600:
		z.sessions[2].Add(1)
	}
	if status != 0 {
		z.total.Add(1)
	}
	z.received.Add(uint64(max(received, 0)))
	z.sent.Add(uint64(max(sent, 0)))
}

// Reset zeroes the counters but processing.
func (z *Stream) Reset() {
	z.connections.Store(0)
	for i := range z.sessions {
		z.sessions[i].Store(0)
	}
	z.total.Store(0)
	z.discarded.Store(0)
	z.received.Store(0)
	z.sent.Store(0)
}

// StreamCounts are a Stream zone's counters read at one moment.
type StreamCounts struct {
	Processing                                   int64
	Connections, Discarded, Received, Sent       uint64
	Sessions2xx, Sessions4xx, Sessions5xx, Total uint64
}

// Read reads the counters.
func (z *Stream) Read() StreamCounts {
	return StreamCounts{Processing: z.processing.Load(), Connections: z.connections.Load(),
		Discarded: z.discarded.Load(), Received: z.received.Load(), Sent: z.sent.Load(),
		Sessions2xx: z.sessions[0].Load(), Sessions4xx: z.sessions[1].Load(), Sessions5xx: z.sessions[2].Load(),
		Total: z.total.Load()}
}

// Registry hands out the zones by name, the same zone for the same name
// until Retain drops it, so that counts survive reloads that keep the name.
// The daemon owns one.
type Registry struct {
	mu        sync.Mutex // guards the maps
	servers   map[string]*HTTP
	locations map[string]*HTTP
	streams   map[string]*Stream
}

// Server returns the http server zone named name.
func (r *Registry) Server(name string) *HTTP {
	r.mu.Lock()
	defer r.mu.Unlock()
	return zoneOf(&r.servers, name)
}

// Location returns the location zone named name.
func (r *Registry) Location(name string) *HTTP {
	r.mu.Lock()
	defer r.mu.Unlock()
	return zoneOf(&r.locations, name)
}

// Stream returns the stream server zone named name.
func (r *Registry) Stream(name string) *Stream {
	r.mu.Lock()
	defer r.mu.Unlock()
	return zoneOf(&r.streams, name)
}

// Retain drops the zones whose names the configuration in force no longer
// has: servers, locations and streams are its http server, location and
// stream server zone names. NGINX Plus drops a zone a reload removed (the
// API and the metrics no longer show it, and a later configuration that
// names it again starts it at zero); without this, each name a reload
// renamed away was kept for the process's life. Requests of an older
// configuration still in flight may go on counting into a dropped zone,
// which nothing reads any more.
func (r *Registry) Retain(servers, locations, streams []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	retain(r.servers, servers)
	retain(r.locations, locations)
	retain(r.streams, streams)
}

// Len returns how many zones the registry holds, of all three kinds.
func (r *Registry) Len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.servers) + len(r.locations) + len(r.streams)
}

func retain[Z any](m map[string]*Z, names []string) {
	keep := make(map[string]bool, len(names))
	for _, n := range names {
		keep[n] = true
	}
	for n := range m {
		if !keep[n] {
			delete(m, n)
		}
	}
}

func zoneOf[Z any](m *map[string]*Z, name string) *Z {
	if *m == nil {
		*m = map[string]*Z{}
	}
	z := (*m)[name]
	if z == nil {
		z = new(Z)
		(*m)[name] = z
	}
	return z
}

// Named is a zone and its name, as the API lists them.
type Named[Z any] struct {
	Name string
	Zone *Z
}

// List returns the zones of names in their order, each once (as the
// runtime API lists upstreams, in configuration order).
func List[Z any](names []string, of func(string) *Z) []Named[Z] {
	out := make([]Named[Z], 0, len(names))
	seen := map[string]bool{}
	for _, n := range names {
		if !seen[n] {
			seen[n] = true
			out = append(out, Named[Z]{Name: n, Zone: of(n)})
		}
	}
	return out
}

package admin

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"fulcrum/internal/upstream"
)

// MetricsContentType is the Content-Type of Prometheus's text exposition
// format, version 0.0.4.
const MetricsContentType = "text/plain; version=0.0.4; charset=utf-8"

// Metrics serves the counters in Prometheus's text format (the metrics
// directive).
type Metrics struct {
	Source Source
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Serve answers one metrics request: GET and HEAD, 405 otherwise.
func (m *Metrics) Serve(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	now := time.Now
	if m.Now != nil {
		now = m.Now
	}
	t := now()
	body := AppendMetrics(nil, m.Source.Process(), m.Source.Counts(), m.Source.Upstreams(t))
	body = AppendStreamMetrics(body, m.Source.StreamUpstreams(t))
	if zs, ok := m.Source.(ZoneSource); ok {
		body = AppendZoneMetrics(body, zs.StatusZones())
	}
	body = AppendRuntimeMetrics(body)
	h := w.Header()
	h.Set("Content-Type", MetricsContentType)
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		_, _ = w.Write(body)
	}
}

// family is one metric: its name, type and help, and how to read a value
// of a server (nil for the process-wide ones). has, when set, says which
// servers have the metric at all.
type family struct {
	name, typ, help string
	server          func(s *upstream.ServerStatus) int64
	has             func(s *upstream.ServerStatus) bool
}

// checked reports whether an active health check tests s.
func checked(s *upstream.ServerStatus) bool { return s.Health != upstream.HealthUnchecked }

// selected reports whether a pick chose s once.
func selected(s *upstream.ServerStatus) bool { return !s.Selected.IsZero() }

// commonFamilies are the per-server metrics of http and stream upstreams
// that NGINX Plus's health_checks, downtime and selected fields hold;
// prefix is the family's prefix.
func commonFamilies(prefix string) []family {
	return []family{
		{prefix + "_health_checks_total", "counter", "Active health checks made of the server.", func(s *upstream.ServerStatus) int64 { return s.HealthChecks.Checks }, checked},
		{prefix + "_health_check_fails_total", "counter", "Active health checks the server failed.", func(s *upstream.ServerStatus) int64 { return s.HealthChecks.Fails }, checked},
		{prefix + "_unhealthy_total", "counter", "Times an active health check made the server unhealthy.", func(s *upstream.ServerStatus) int64 { return s.HealthChecks.Unhealthy }, checked},
		{prefix + "_health_check_last_passed", "gauge", "1 when the server passed its last active health check, else 0.", func(s *upstream.ServerStatus) int64 { return b2i(s.HealthChecks.LastPassed) }, func(s *upstream.ServerStatus) bool { return s.HealthChecks.Checks > 0 }},
		{prefix + "_downtime_milliseconds_total", "counter", "Time the server spent unavail, checking or unhealthy, in milliseconds.", func(s *upstream.ServerStatus) int64 { return s.Downtime.Milliseconds() }, nil},
		{prefix + "_selected_timestamp_seconds", "gauge", "When a pick last chose the server, in seconds since the Unix epoch.", func(s *upstream.ServerStatus) int64 { return s.Selected.Unix() }, selected},
	}
}

func b2i(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

// serverFamilies are the per-server metrics, labelled upstream and server.
var serverFamilies = []family{
	{"fulcrum_upstream_server_requests_total", "counter", "Requests sent to the server (every attempt, retries included).", func(s *upstream.ServerStatus) int64 { return s.Requests }, nil},
	{"fulcrum_upstream_server_sent_bytes_total", "counter", "Bytes written to the server.", func(s *upstream.ServerStatus) int64 { return s.Sent }, nil},
	{"fulcrum_upstream_server_received_bytes_total", "counter", "Bytes read from the server.", func(s *upstream.ServerStatus) int64 { return s.Received }, nil},
	{"fulcrum_upstream_server_fails_total", "counter", "Attempts on the server that failed (max_fails counts these).", func(s *upstream.ServerStatus) int64 { return s.Failures }, nil},
	{"fulcrum_upstream_server_unavail_total", "counter", "Times the server became unavailable after max_fails failures.", func(s *upstream.ServerStatus) int64 { return s.Unavail }, nil},
	{"fulcrum_upstream_server_active", "gauge", "Requests in flight to the server.", func(s *upstream.ServerStatus) int64 { return s.Active }, nil},
	{"fulcrum_upstream_server_weight", "gauge", "The server's weight.", func(s *upstream.ServerStatus) int64 { return int64(s.Weight) }, nil},
}

// states are the values of fulcrum_upstream_server_state's state label.
var states = []string{"up", "down", "draining", "unavail", "checking", "unhealthy"}

// AppendMetrics appends the exposition of the counters to b.
func AppendMetrics(b []byte, p Process, c Counts, ups []Upstream) []byte {
	b = simple(b, "fulcrum_generation", "gauge", "Configuration loads since the start (1 + successful reloads).", p.Generation)
	b = simple(b, "fulcrum_connections_accepted_total", "counter", "Client connections accepted.", int64(c.Accepted))
	b = simple(b, "fulcrum_connections_dropped_total", "counter", "Client connections accepted and not served (accepted while fulcrum stops).", int64(c.Accepted-c.Handled))
	b = simple(b, "fulcrum_connections_active", "gauge", "Client connections reading or writing a request.", c.Active-c.Waiting)
	b = simple(b, "fulcrum_connections_idle", "gauge", "Idle keep-alive client connections.", c.Waiting)
	b = simple(b, "fulcrum_http_requests_total", "counter", "Client requests.", int64(c.Requests))
	b = simple(b, "fulcrum_http_requests_current", "gauge", "Client requests being read or answered.", c.Reading+c.Writing)
	labels := serverLabels(ups)
	b = appendFamilies(b, serverFamilies, ups, labels)
	const resp = "fulcrum_upstream_server_responses_total"
	b = header(b, resp, "counter", "Responses received from the server, by status class.")
	eachServer(ups, labels, func(s *upstream.ServerStatus, l string) {
		r := s.Responses
		for i, n := range [...]int64{r.Class1xx, r.Class2xx, r.Class3xx, r.Class4xx, r.Class5xx} {
			b = sample(b, resp, l+`,code="`+strconv.Itoa(i+1)+`xx"`, n)
		}
	})
	// By code in a family of its own, so that summing one family never
	// counts a response twice.
	const byCode = "fulcrum_upstream_server_responses_by_code_total"
	b = header(b, byCode, "counter", "Responses received from the server, by status code (the codes it sent).")
	eachServer(ups, labels, func(s *upstream.ServerStatus, l string) {
		for code := 100; code < 600; code++ {
			if n := s.Codes[code]; n != 0 {
				b = sample(b, byCode, l+`,code="`+strconv.Itoa(code)+`"`, n)
			}
		}
	})
	b = appendFamilies(b, commonFamilies("fulcrum_upstream_server"), ups, labels)
	b = appendQueues(b, ups)
	return appendStates(b, "fulcrum_upstream_server_state", ups, labels)
}

// appendFamilies appends the per-server families fs.
func appendFamilies(b []byte, fs []family, ups []Upstream, labels [][]string) []byte {
	for _, f := range fs {
		b = header(b, f.name, f.typ, f.help)
		eachServer(ups, labels, func(s *upstream.ServerStatus, l string) {
			if f.has == nil || f.has(s) {
				b = sample(b, f.name, l, f.server(s))
			}
		})
	}
	return b
}

// appendQueues appends the queues' metrics, labelled upstream, for the
// upstreams that have a queue; nothing when none has.
func appendQueues(b []byte, ups []Upstream) []byte {
	queues := []struct {
		name, typ, help string
		v               func(q *upstream.Queue) int64
	}{
		{"fulcrum_upstream_queue_size", "gauge", "Requests waiting in the upstream's queue.", func(q *upstream.Queue) int64 { return int64(q.Len()) }},
		{"fulcrum_upstream_queue_max_size", "gauge", "The most requests the upstream's queue holds.", func(q *upstream.Queue) int64 { return int64(q.Limit()) }},
		{"fulcrum_upstream_queue_overflows_total", "counter", "Requests turned away because the upstream's queue was full.", func(q *upstream.Queue) int64 { return q.Overflows() }},
	}
	for _, f := range queues {
		started := false
		for i := range ups {
			q := ups[i].Queue
			if q == nil {
				continue
			}
			if !started {
				b, started = header(b, f.name, f.typ, f.help), true
			}
			b = sample(b, f.name, `upstream="`+escape(ups[i].Name)+`"`, f.v(q))
		}
	}
	return b
}

// appendStates appends the state family name: per server, 1 for the state
// it is in and 0 for the others.
func appendStates(b []byte, name string, ups []Upstream, labels [][]string) []byte {
	b = header(b, name, "gauge", "The server's state: 1 for the state it is in, 0 for the others.")
	eachServer(ups, labels, func(s *upstream.ServerStatus, l string) {
		cur := State(s)
		for _, st := range states {
			v := int64(0)
			if st == cur {
				v = 1
			}
			b = sample(b, name, l+`,state="`+st+`"`, v)
		}
	})
	return b
}

// streamFamilies are the per-server metrics of stream upstreams.
var streamFamilies = []family{
	{"fulcrum_stream_upstream_server_connections_total", "counter", "Connections made to the server (every attempt, retries included).", func(s *upstream.ServerStatus) int64 { return s.Requests }, nil},
	{"fulcrum_stream_upstream_server_sent_bytes_total", "counter", "Bytes written to the server.", func(s *upstream.ServerStatus) int64 { return s.Sent }, nil},
	{"fulcrum_stream_upstream_server_received_bytes_total", "counter", "Bytes read from the server.", func(s *upstream.ServerStatus) int64 { return s.Received }, nil},
	{"fulcrum_stream_upstream_server_fails_total", "counter", "Connections to the server that failed (max_fails counts these).", func(s *upstream.ServerStatus) int64 { return s.Failures }, nil},
	{"fulcrum_stream_upstream_server_unavail_total", "counter", "Times the server became unavailable after max_fails failures.", func(s *upstream.ServerStatus) int64 { return s.Unavail }, nil},
	{"fulcrum_stream_upstream_server_active", "gauge", "Sessions open to the server.", func(s *upstream.ServerStatus) int64 { return s.Active }, nil},
	{"fulcrum_stream_upstream_server_weight", "gauge", "The server's weight.", func(s *upstream.ServerStatus) int64 { return int64(s.Weight) }, nil},
}

// AppendStreamMetrics appends the stream upstreams' metrics to b; nothing
// without a stream upstream.
func AppendStreamMetrics(b []byte, ups []Upstream) []byte {
	if len(ups) == 0 {
		return b
	}
	labels := serverLabels(ups)
	b = appendFamilies(b, streamFamilies, ups, labels)
	b = appendFamilies(b, commonFamilies("fulcrum_stream_upstream_server"), ups, labels)
	return appendStates(b, "fulcrum_stream_upstream_server_state", ups, labels)
}

// serverLabels makes the label pairs of every server, upstream by upstream:
// upstream="name",server="address". An address listed again in the same
// upstream gets "#2", "#3"... so that every series stays unique.
func serverLabels(ups []Upstream) [][]string {
	out := make([][]string, len(ups))
	for i := range ups {
		seen := map[string]int{}
		for j := range ups[i].Servers {
			addr := address(&ups[i].Servers[j])
			seen[addr]++
			if n := seen[addr]; n > 1 {
				addr += "#" + strconv.Itoa(n)
			}
			out[i] = append(out[i], `upstream="`+escape(ups[i].Name)+`",server="`+escape(addr)+`"`)
		}
	}
	return out
}

func eachServer(ups []Upstream, labels [][]string, f func(s *upstream.ServerStatus, l string)) {
	for i := range ups {
		for j := range ups[i].Servers {
			f(&ups[i].Servers[j], labels[i][j])
		}
	}
}

func header(b []byte, name, typ, help string) []byte {
	b = append(b, "# HELP "...)
	b = append(b, name...)
	b = append(b, ' ')
	b = append(b, help...)
	b = append(b, "\n# TYPE "...)
	b = append(b, name...)
	b = append(b, ' ')
	b = append(b, typ...)
	return append(b, '\n')
}

func simple(b []byte, name, typ, help string, v int64) []byte {
	return sample(header(b, name, typ, help), name, "", v)
}

func sample(b []byte, name, labels string, v int64) []byte {
	b = append(b, name...)
	if labels != "" {
		b = append(b, '{')
		b = append(b, labels...)
		b = append(b, '}')
	}
	b = append(b, ' ')
	b = strconv.AppendInt(b, v, 10)
	return append(b, '\n')
}

// labelEscaper escapes a label value: backslash, double quote and newline.
var labelEscaper = strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)

func escape(s string) string { return labelEscaper.Replace(s) }

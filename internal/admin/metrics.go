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
	h := w.Header()
	h.Set("Content-Type", MetricsContentType)
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		_, _ = w.Write(body)
	}
}

// family is one metric: its name, type and help, and how to read a value
// of a server (nil for the process-wide ones).
type family struct {
	name, typ, help string
	server          func(s *upstream.ServerStatus) int64
}

// serverFamilies are the per-server metrics, labelled upstream and server.
var serverFamilies = []family{
	{"fulcrum_upstream_server_requests_total", "counter", "Requests sent to the server (every attempt, retries included).", func(s *upstream.ServerStatus) int64 { return s.Requests }},
	{"fulcrum_upstream_server_sent_bytes_total", "counter", "Bytes written to the server.", func(s *upstream.ServerStatus) int64 { return s.Sent }},
	{"fulcrum_upstream_server_received_bytes_total", "counter", "Bytes read from the server.", func(s *upstream.ServerStatus) int64 { return s.Received }},
	{"fulcrum_upstream_server_fails_total", "counter", "Attempts on the server that failed (max_fails counts these).", func(s *upstream.ServerStatus) int64 { return s.Failures }},
	{"fulcrum_upstream_server_unavail_total", "counter", "Times the server became unavailable after max_fails failures.", func(s *upstream.ServerStatus) int64 { return s.Unavail }},
	{"fulcrum_upstream_server_active", "gauge", "Requests in flight to the server.", func(s *upstream.ServerStatus) int64 { return s.Active }},
	{"fulcrum_upstream_server_weight", "gauge", "The server's weight.", func(s *upstream.ServerStatus) int64 { return int64(s.Weight) }},
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
	for _, f := range serverFamilies {
		b = header(b, f.name, f.typ, f.help)
		eachServer(ups, labels, func(s *upstream.ServerStatus, l string) {
			b = sample(b, f.name, l, f.server(s))
		})
	}
	const resp = "fulcrum_upstream_server_responses_total"
	b = header(b, resp, "counter", "Responses received from the server, by status class.")
	eachServer(ups, labels, func(s *upstream.ServerStatus, l string) {
		r := s.Responses
		for i, n := range [...]int64{r.Class1xx, r.Class2xx, r.Class3xx, r.Class4xx, r.Class5xx} {
			b = sample(b, resp, l+`,code="`+strconv.Itoa(i+1)+`xx"`, n)
		}
	})
	return appendStates(b, "fulcrum_upstream_server_state", ups, labels)
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
	{"fulcrum_stream_upstream_server_connections_total", "counter", "Connections made to the server (every attempt, retries included).", func(s *upstream.ServerStatus) int64 { return s.Requests }},
	{"fulcrum_stream_upstream_server_sent_bytes_total", "counter", "Bytes written to the server.", func(s *upstream.ServerStatus) int64 { return s.Sent }},
	{"fulcrum_stream_upstream_server_received_bytes_total", "counter", "Bytes read from the server.", func(s *upstream.ServerStatus) int64 { return s.Received }},
	{"fulcrum_stream_upstream_server_fails_total", "counter", "Connections to the server that failed (max_fails counts these).", func(s *upstream.ServerStatus) int64 { return s.Failures }},
	{"fulcrum_stream_upstream_server_unavail_total", "counter", "Times the server became unavailable after max_fails failures.", func(s *upstream.ServerStatus) int64 { return s.Unavail }},
	{"fulcrum_stream_upstream_server_active", "gauge", "Sessions open to the server.", func(s *upstream.ServerStatus) int64 { return s.Active }},
	{"fulcrum_stream_upstream_server_weight", "gauge", "The server's weight.", func(s *upstream.ServerStatus) int64 { return int64(s.Weight) }},
}

// AppendStreamMetrics appends the stream upstreams' metrics to b; nothing
// without a stream upstream.
func AppendStreamMetrics(b []byte, ups []Upstream) []byte {
	if len(ups) == 0 {
		return b
	}
	labels := serverLabels(ups)
	for _, f := range streamFamilies {
		b = header(b, f.name, f.typ, f.help)
		eachServer(ups, labels, func(s *upstream.ServerStatus, l string) {
			b = sample(b, f.name, l, f.server(s))
		})
	}
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

package admin

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"fulcrum/internal/statuszone"
	"fulcrum/internal/upstream"
)

// zoneSource is a Source with status zones and nothing else.
type zoneSource struct {
	reg   *statuszone.Registry
	zones Zones
}

func (zoneSource) Process() Process                     { return Process{} }
func (zoneSource) Counts() Counts                       { return Counts{} }
func (zoneSource) Upstreams(time.Time) []Upstream       { return nil }
func (zoneSource) StreamUpstreams(time.Time) []Upstream { return nil }
func (s zoneSource) StatusZones() Zones                 { return s.zones }
func (zoneSource) Remove(Block, string, int, time.Time) ([]upstream.ServerStatus, error) {
	return nil, nil
}
func (zoneSource) Patch(Block, string, int, upstream.ServerPatch, time.Time) (upstream.ServerStatus, error) {
	return upstream.ServerStatus{}, nil
}
func (zoneSource) Add(Block, string, NewServer, time.Time) (upstream.ServerStatus, error) {
	return upstream.ServerStatus{}, nil
}

func newZoneSource() zoneSource {
	var reg statuszone.Registry
	front := reg.Server("front")
	front.Begin()
	front.End(200, true, 100, 300)
	front.Begin()
	front.End(502, true, 80, 200)
	front.Begin()
	front.End(444, false, 70, 0)
	front.Begin() // in progress
	reg.Location("api").Count(404, true, 10, 20)
	tcp := reg.Stream("tcp")
	tcp.Begin()
	tcp.End(200, 5, 7)
	return zoneSource{reg: &reg, zones: Zones{
		Servers:   statuszone.List([]string{"front", "back"}, reg.Server),
		Locations: statuszone.List([]string{"api"}, reg.Location),
		Streams:   statuszone.List([]string{"tcp"}, reg.Stream),
	}}
}

// TestZonesAPI checks the status zone endpoints' JSON, as NGINX Plus's
// HTTP Server Zone, HTTP Location Zone and Stream Server Zone objects, the
// indexes that list them, the 404s, and DELETE's reset.
func TestZonesAPI(t *testing.T) {
	src := newZoneSource()
	api := &API{Source: src, Write: true}
	get := func(method, path string) (int, string) {
		t.Helper()
		w := httptest.NewRecorder()
		api.Serve(w, httptest.NewRequest(method, "/api"+path, nil), Request{Path: path})
		return w.Code, w.Body.String()
	}
	tests := []struct {
		method, path string
		status       int
		body         string
	}{
		{"GET", "/9/http", 200, `["requests","server_zones","location_zones","keyvals","upstreams"]`},
		{"GET", "/9/stream", 200, `["server_zones","keyvals","upstreams"]`},
		{"GET", "/9/http/server_zones", 200, `{"front":{"processing":1,"requests":4,"responses":{"1xx":0,"2xx":1,"3xx":0,"4xx":0,"5xx":1,"codes":{"200":1,"502":1},"total":2},"discarded":1,"received":250,"sent":500},` +
			`"back":{"processing":0,"requests":0,"responses":{"1xx":0,"2xx":0,"3xx":0,"4xx":0,"5xx":0,"codes":{},"total":0},"discarded":0,"received":0,"sent":0}}`},
		{"GET", "/9/http/location_zones/api", 200, `{"requests":1,"responses":{"1xx":0,"2xx":0,"3xx":0,"4xx":1,"5xx":0,"codes":{"404":1},"total":1},"discarded":0,"received":10,"sent":20}`},
		{"GET", "/9/stream/server_zones/", 200, `{"tcp":{"processing":0,"connections":1,"sessions":{"2xx":1,"4xx":0,"5xx":0,"total":1},"discarded":0,"received":5,"sent":7}}`},
		{"GET", "/9/http/server_zones/nope", 404, `"code":"ServerZoneNotFound"`},
		{"GET", "/9/http/location_zones/front", 404, `"code":"LocationZoneNotFound"`},
		{"GET", "/9/http/server_zones/front/x", 404, `"code":"PathNotFound"`},
		{"PATCH", "/9/http/server_zones/front", 405, `"code":"MethodNotSupported"`},
		{"DELETE", "/9/http/server_zones/front", 204, ``},
		{"GET", "/9/http/server_zones/front", 200, `{"processing":1,"requests":0,"responses":{"1xx":0,"2xx":0,"3xx":0,"4xx":0,"5xx":0,"codes":{},"total":0},"discarded":0,"received":0,"sent":0}`},
		{"GET", "/9/http/location_zones/api", 200, `"requests":1,`}, // another kind: untouched
		{"DELETE", "/9/stream/server_zones", 204, ``},
		{"GET", "/9/stream/server_zones/tcp", 200, `{"processing":0,"connections":0,"sessions":{"2xx":0,"4xx":0,"5xx":0,"total":0},"discarded":0,"received":0,"sent":0}`},
	}
	for _, tt := range tests {
		status, body := get(tt.method, tt.path)
		if status != tt.status || !strings.Contains(body, tt.body) || tt.body == "" && body != "" {
			t.Errorf("%s %s = %d %s, want %d with %s", tt.method, tt.path, status, body, tt.status, tt.body)
		}
	}
	ro := &API{Source: src}
	w := httptest.NewRecorder()
	ro.Serve(w, httptest.NewRequest(http.MethodDelete, "/api/9/http/server_zones", nil), Request{Path: "/9/http/server_zones"})
	if w.Code != http.StatusMethodNotAllowed {
		t.Errorf("DELETE without write=on: %d, want 405", w.Code)
	}
}

// TestZoneMetrics checks the zones' Prometheus families.
func TestZoneMetrics(t *testing.T) {
	out := string(AppendZoneMetrics(nil, newZoneSource().zones))
	for _, want := range []string{
		"# TYPE fulcrum_server_zone_processing gauge\n",
		`fulcrum_server_zone_processing{zone="front"} 1` + "\n",
		`fulcrum_server_zone_requests_total{zone="front"} 4` + "\n",
		`fulcrum_server_zone_discarded_total{zone="front"} 1` + "\n",
		`fulcrum_server_zone_received_bytes_total{zone="front"} 250` + "\n",
		`fulcrum_server_zone_sent_bytes_total{zone="front"} 500` + "\n",
		`fulcrum_server_zone_responses_total{zone="front",code="5xx"} 1` + "\n",
		`fulcrum_server_zone_responses_by_code_total{zone="front",code="502"} 1` + "\n",
		`fulcrum_location_zone_responses_by_code_total{zone="api",code="404"} 1` + "\n",
		`fulcrum_stream_server_zone_sessions_total{zone="tcp",code="2xx"} 1` + "\n",
		`fulcrum_stream_server_zone_connections_total{zone="tcp"} 1` + "\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("metrics lack %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "fulcrum_location_zone_processing") {
		t.Error("location zones have no processing")
	}
	if got := string(AppendZoneMetrics(nil, Zones{})); got != "" {
		t.Errorf("no zones, metrics %q", got)
	}
}

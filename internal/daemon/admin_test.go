package daemon_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"fulcrum/internal/testutil"
	"io"
	"net"
	"net/http"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// apiCall sends method url with body (if any) and returns the status, the
// Content-Type and the body.
func apiCall(t *testing.T, client *http.Client, method, url, body string) (int, string, []byte) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header.Get("Content-Type"), b
}

// apiGet GETs url and decodes its JSON into v.
func apiGet(t *testing.T, client *http.Client, url string, v any) {
	t.Helper()
	status, ctype, body := apiCall(t, client, "GET", url, "")
	if status != 200 || ctype != "application/json" {
		t.Fatalf("GET %s: %d %s %s", url, status, ctype, body)
	}
	if err := json.Unmarshal(body, v); err != nil {
		t.Fatalf("GET %s: %v in %s", url, err, body)
	}
}

// apiPatch PATCHes a server and fails the test unless it answers 200.
func apiPatch(t *testing.T, client *http.Client, url, body string) {
	t.Helper()
	if status, _, b := apiCall(t, client, "PATCH", url, body); status != 200 {
		t.Fatalf("PATCH %s %s: %d %s", url, body, status, b)
	}
}

type peer struct {
	ID        int       `json:"id"`
	Server    string    `json:"server"`
	Name      string    `json:"name"`
	Backup    bool      `json:"backup"`
	Weight    int       `json:"weight"`
	State     string    `json:"state"`
	Requests  int64     `json:"requests"`
	Responses responses `json:"responses"`
	Sent      int64     `json:"sent"`
	Received  int64     `json:"received"`
	Fails     int64     `json:"fails"`
	Unavail   int64     `json:"unavail"`
}

// responses is a peer's responses object.
type responses struct {
	C2xx  int64            `json:"2xx"`
	Codes map[string]int64 `json:"codes"`
	Total int64            `json:"total"`
}

type upstreamView struct {
	Peers []peer `json:"peers"`
	Zone  string `json:"zone"`
}

// spread sends n requests to path and counts the backends that answered.
func spread(t *testing.T, client *http.Client, addr, path, cookie string, n int) map[string]int {
	t.Helper()
	got := map[string]int{}
	for range n {
		name, _ := get(t, client, addr, path, cookie)
		got[name]++
	}
	return got
}

func sameCounts(a, b map[string]int) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// apiConfig is a daemon with upstream app (a zone, two servers and a
// backup), upstream static (no zone), upstream s (sticky cookie), the API
// with write=on at /api, read-only at /ro, and metrics.
func apiConfig(a, b, c string) string {
	return fmt.Sprintf(`events {}
http {
    access_log off;
    upstream app { zone app 64k; server %[1]s; server %[2]s; server %[3]s backup; }
    upstream static { server %[1]s; server %[2]s; }
    upstream s { zone s 64k; server %[1]s; server %[2]s; sticky cookie id; }
    server {
        listen 127.0.0.1:0;
        location / { proxy_pass http://app; }
        location /static/ { proxy_pass http://static; }
        location /s/ { proxy_pass http://s; }
        location /api { api write=on; allow 127.0.0.1; deny all; }
        location /ro/ { api; }
        location = /metrics { metrics; }
    }
}`, a, b, c)
}

// TestAPIEndToEnd runs the daemon in front of real backends: the API reads
// back what the requests did, PATCH moves the next requests (down, drain,
// weight), drain keeps sticky requests, and a reload brings the
// configuration back while the counters stay.
func TestAPIEndToEnd(t *testing.T) {
	a, b, c := newNamedBackend(t, "a"), newNamedBackend(t, "b"), newNamedBackend(t, "c")
	addr, sigs := runConfig(t, t.TempDir(), apiConfig(a.addr(), b.addr(), c.addr()))
	client := &http.Client{Timeout: 10 * time.Second}
	api := "http://" + addr + "/api/9"

	if got := spread(t, client, addr, "/", "", 4); !sameCounts(got, map[string]int{"a": 2, "b": 2}) {
		t.Fatalf("round robin: %v", got)
	}
	var app upstreamView
	apiGet(t, client, api+"/http/upstreams/app", &app)
	if app.Zone != "app" || len(app.Peers) != 3 {
		t.Fatalf("app: %+v", app)
	}
	for i, want := range []struct {
		server        string
		backup        bool
		requests, ok2 int64
	}{{a.addr(), false, 2, 2}, {b.addr(), false, 2, 2}, {c.addr(), true, 0, 0}} {
		p := app.Peers[i]
		if p.ID != i || p.Server != want.server || p.Name != want.server || p.Backup != want.backup || p.State != "up" ||
			p.Requests != want.requests || p.Responses.C2xx != want.ok2 || p.Responses.Total != want.ok2 || p.Weight != 1 {
			t.Errorf("peer %d: %+v, want %+v", i, p, want)
		}
		if want.requests > 0 && (p.Sent == 0 || p.Received == 0) {
			t.Errorf("peer %d: sent %d, received %d bytes; want both above 0", i, p.Sent, p.Received)
		}
	}

	// The changes, each checked on where the next requests go.
	server := func(id int) string { return fmt.Sprintf("%s/http/upstreams/app/servers/%d", api, id) }
	steps := []struct {
		name, url, body string
		want            map[string]int
		state           string // of server 1 afterwards
	}{
		{"drain b", server(1), `{"drain":true}`, map[string]int{"a": 4}, "draining"},
		{"b back up", server(1), `{"down":false}`, map[string]int{"a": 2, "b": 2}, "up"},
		{"a down", server(0), `{"down":true}`, map[string]int{"b": 4}, "up"},
		{"a up, b weight 3", server(0), `{"down":false}`, map[string]int{"a": 2, "b": 2}, "up"},
		{"b weight 3", server(1), `{"weight":3}`, map[string]int{"a": 1, "b": 3}, "up"},
		{"both primaries down: the backup", server(1), `{"down":true}`, nil, "down"},
	}
	for _, s := range steps {
		apiPatch(t, client, s.url, s.body)
		want := s.want
		if want == nil { // a is up: take it down too
			apiPatch(t, client, server(0), `{"down":true}`)
			want = map[string]int{"c": 4}
		}
		if got := spread(t, client, addr, "/", "", 4); !sameCounts(got, want) {
			t.Fatalf("%s: requests went to %v, want %v", s.name, got, want)
		}
		apiGet(t, client, api+"/http/upstreams/app", &app)
		if app.Peers[1].State != s.state {
			t.Errorf("%s: b is %q, want %q", s.name, app.Peers[1].State, s.state)
		}
	}
	var conf map[string]any
	apiGet(t, client, server(1), &conf)
	if conf["weight"] != 3.0 || conf["down"] != true || conf["fail_timeout"] != "10s" || conf["server"] != b.addr() {
		t.Errorf("server 1's settings: %v", conf)
	}

	// Drain with sticky: a request bound to b still goes there, others not.
	stickyB := "id=" + md5hex(b.addr())
	apiPatch(t, client, api+"/http/upstreams/s/servers/1", `{"drain":true}`)
	if got := spread(t, client, addr, "/s/", stickyB, 3); !sameCounts(got, map[string]int{"b": 3}) {
		t.Errorf("draining b with b's cookie: %v, want b", got)
	}
	if got := spread(t, client, addr, "/s/", "", 3); !sameCounts(got, map[string]int{"a": 3}) {
		t.Errorf("draining b without a cookie: %v, want a", got)
	}
	apiPatch(t, client, api+"/http/upstreams/s/servers/1", `{"down":true}`)
	if got := spread(t, client, addr, "/s/", stickyB, 2); !sameCounts(got, map[string]int{"a": 2}) {
		t.Errorf("down b with b's cookie: %v, want a", got)
	}

	// A reload: the configuration wins, the counters stay, generation 2.
	var before, after upstreamView
	apiGet(t, client, api+"/http/upstreams/app", &before)
	var ngx struct {
		Generation int    `json:"generation"`
		Address    string `json:"address"`
		PID        int    `json:"pid"`
		Load       string `json:"load_timestamp"`
	}
	apiGet(t, client, api+"/nginx", &ngx)
	if ngx.Generation != 1 || ngx.Address != "127.0.0.1" || ngx.PID == 0 {
		t.Fatalf("/nginx before the reload: %+v", ngx)
	}
	firstLoad := ngx.Load
	sigs <- syscall.SIGHUP
	deadline := time.Now().Add(10 * time.Second)
	for ngx.Generation != 2 {
		if time.Now().After(deadline) {
			t.Fatalf("generation %d after the reload, want 2", ngx.Generation)
		}
		apiGet(t, client, api+"/nginx", &ngx)
	}
	if ngx.Load < firstLoad {
		t.Errorf("load_timestamp %s after the reload, before %s", ngx.Load, firstLoad)
	}
	apiGet(t, client, api+"/http/upstreams/app", &after)
	for i := range after.Peers {
		p, q := after.Peers[i], before.Peers[i]
		if p.State != "up" || p.Weight != 1 || p.Requests != q.Requests {
			t.Errorf("after the reload, peer %d: %+v; want up, weight 1, requests %d", i, p, q.Requests)
		}
	}
	if got := spread(t, client, addr, "/", "", 4); !sameCounts(got, map[string]int{"a": 2, "b": 2}) {
		t.Errorf("after the reload: %v, want the configuration's round robin", got)
	}
}

// TestAPICounters checks the connection, request and response counters:
// a 404 and a 502 (a backend that drops connections) land in their
// classes, fails and unavail count, and the request counters move.
func TestAPICounters(t *testing.T) {
	a, b, c := newNamedBackend(t, "a"), newNamedBackend(t, "b"), newNamedBackend(t, "c")
	addr, _ := runConfig(t, t.TempDir(), apiConfig(a.addr(), b.addr(), c.addr()))
	client := &http.Client{Timeout: 10 * time.Second}
	api := "http://" + addr + "/api/9"
	var reqs1, reqs2 struct{ Total, Current int64 }
	apiGet(t, client, api+"/http/requests", &reqs1)
	b.broken.Store(true)
	// /static/ has a and b: the request on b fails and moves to a.
	if got := spread(t, client, addr, "/static/", "", 2); !sameCounts(got, map[string]int{"a": 2}) {
		t.Fatalf("with b broken: %v", got)
	}
	apiGet(t, client, api+"/http/requests", &reqs2)
	if reqs2.Total != reqs1.Total+3 || reqs2.Current != 1 {
		t.Errorf("requests %+v then %+v; want total +3 and current 1", reqs1, reqs2)
	}
	var all map[string]upstreamView
	apiGet(t, client, api+"/http/upstreams", &all)
	st := all["static"]
	if st.Zone != "" || len(all) != 3 {
		t.Fatalf("upstreams: %v", all)
	}
	pa, pb := st.Peers[0], st.Peers[1]
	if pa.Requests != 2 || pa.Responses.C2xx != 2 || pb.Requests != 1 || pb.Fails != 1 || pb.Unavail != 1 || pb.State != "unavail" || pb.Responses.Total != 0 {
		t.Errorf("static: a %+v, b %+v", pa, pb)
	}
	var conns struct{ Accepted, Dropped, Active, Idle int64 }
	apiGet(t, client, api+"/connections", &conns)
	if conns.Accepted < 1 || conns.Dropped != 0 || conns.Active != 1 {
		t.Errorf("connections: %+v", conns)
	}
}

// TestAPIErrors checks the error answers: NGINX Plus's JSON object with
// its status, text and code.
func TestAPIErrors(t *testing.T) {
	a, b, c := newNamedBackend(t, "a"), newNamedBackend(t, "b"), newNamedBackend(t, "c")
	addr, _ := runConfig(t, t.TempDir(), apiConfig(a.addr(), b.addr(), c.addr()))
	client := &http.Client{Timeout: 10 * time.Second}
	tests := []struct {
		method, path, body string
		status             int
		code               string
	}{
		{"GET", "/api/9/nothing", "", 404, "PathNotFound"},
		{"GET", "/api/x", "", 404, "PathNotFound"},
		{"GET", "/api/8/nginx", "", 404, "UnknownVersion"},
		{"GET", "/api/9/http/upstreams/nope", "", 404, "UpstreamNotFound"},
		{"GET", "/api/9/http/upstreams/app/servers/9", "", 404, "UpstreamServerNotFound"},
		{"GET", "/api/9/http/upstreams/app/servers/x", "", 404, "UpstreamServerNotFound"},
		{"GET", "/api/9/http/upstreams/static/servers", "", 400, "UpstreamStatic"},
		{"PATCH", "/api/9/http/upstreams/static/servers/0", `{"down":true}`, 400, "UpstreamStatic"},
		{"PATCH", "/api/9/http/upstreams/app/servers/7", `{"down":true}`, 404, "UpstreamServerNotFound"},
		{"PATCH", "/api/9/http/upstreams/app/servers/0", `{"weight":0}`, 400, "UpstreamBadWeight"},
		{"PATCH", "/api/9/http/upstreams/app/servers/0", `{"max_fails":-1}`, 400, "UpstreamBadMaxFails"},
		{"PATCH", "/api/9/http/upstreams/app/servers/0", `{"max_conns":-2}`, 400, "UpstreamBadMaxConns"},
		{"PATCH", "/api/9/http/upstreams/app/servers/0", `{"fail_timeout":"soon"}`, 400, "UpstreamBadFailTimeout"},
		{"PATCH", "/api/9/http/upstreams/app/servers/0", `{"slow_start":"-1s"}`, 400, "UpstreamBadSlowStart"},
		{"PATCH", "/api/9/http/upstreams/app/servers/0", `{"weight":"3"}`, 400, "UpstreamConfFormatError"},
		{"PATCH", "/api/9/http/upstreams/app/servers/0", `{"down":"yes"}`, 400, "UpstreamConfFormatError"},
		{"PATCH", "/api/9/http/upstreams/app/servers/0", `{"colour":"red"}`, 400, "UpstreamConfFormatError"},
		{"PATCH", "/api/9/http/upstreams/app/servers/0", `{"down":{"x":1}}`, 400, "UpstreamConfFormatError"},
		{"PATCH", "/api/9/http/upstreams/app/servers/0", `{"backup":true}`, 400, "UpstreamConfFormatError"},
		{"PATCH", "/api/9/http/upstreams/app/servers/0", `{"server":"10.0.0.1:80"}`, 400, "UpstreamConfFormatError"},
		{"PATCH", "/api/9/http/upstreams/app/servers/0", `not json`, 400, "UpstreamConfFormatError"},
		{"PATCH", "/api/9/http/upstreams/app/servers/0", `[1]`, 400, "UpstreamConfFormatError"},
		{"POST", "/api/9/http/upstreams/static/servers", `{"server":"127.0.0.1:1"}`, 400, "UpstreamStatic"},
		{"POST", "/api/9/http/upstreams/app/servers/0", `{"server":"127.0.0.1:1"}`, 405, "MethodNotSupported"},
		{"DELETE", "/api/9/http/upstreams/app/servers/9", "", 404, "UpstreamServerNotFound"},
		{"DELETE", "/api/9/http/upstreams/app", "", 405, "MethodNotSupported"},
		{"DELETE", "/api/9/connections", "", 405, "MethodNotSupported"},
		{"PATCH", "/ro/9/http/upstreams/app/servers/0", `{"down":true}`, 405, "MethodDisabled"},
		{"DELETE", "/ro/9/connections", "", 405, "MethodDisabled"},
		{"POST", "/ro/9/http/upstreams/app/servers", `{}`, 405, "MethodDisabled"},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path+" "+tt.body, func(t *testing.T) {
			status, ctype, body := apiCall(t, client, tt.method, "http://"+addr+tt.path, tt.body)
			var e struct {
				Error struct {
					Status int
					Text   string
					Code   string
				}
				RequestID string `json:"request_id"`
				Href      string
			}
			if err := json.Unmarshal(body, &e); err != nil {
				t.Fatalf("%d %s: %v", status, body, err)
			}
			if status != tt.status || e.Error.Status != tt.status || e.Error.Code != tt.code || e.Error.Text == "" || ctype != "application/json" ||
				!regexp.MustCompile(`^[0-9a-f]{32}$`).MatchString(e.RequestID) || e.Href != "https://nginx.org/en/docs/http/ngx_http_api_module.html" {
				t.Errorf("%d %s %s, want %d %s", status, ctype, body, tt.status, tt.code)
			}
		})
	}
	// Nothing above changed a server.
	var app upstreamView
	apiGet(t, client, "http://"+addr+"/api/9/http/upstreams/app", &app)
	for _, p := range app.Peers {
		if p.State != "up" || p.Weight != 1 {
			t.Errorf("peer %d changed: %+v", p.ID, p)
		}
	}
	// The read-only API reads.
	var versions []int
	apiGet(t, client, "http://"+addr+"/ro/", &versions)
	if len(versions) != 1 || versions[0] != 9 {
		t.Errorf("/ro/: %v", versions)
	}
}

// metricLine is one sample line of the text format 0.0.4.
var metricLine = regexp.MustCompile(`^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([a-zA-Z_][a-zA-Z0-9_]*="(\\.|[^"\\])*"(,[a-zA-Z_][a-zA-Z0-9_]*="(\\.|[^"\\])*")*)\})? (-?[0-9]+)$`)

// TestMetricsEndToEnd reads the metrics after real requests: the format is
// valid text format 0.0.4 (every sample under its family's HELP and TYPE,
// each family once, each series once) and the numbers are what happened.
func TestMetricsEndToEnd(t *testing.T) {
	a, b, c := newNamedBackend(t, "a"), newNamedBackend(t, "b"), newNamedBackend(t, "c")
	addr, _ := runConfig(t, t.TempDir(), apiConfig(a.addr(), b.addr(), c.addr()))
	client := &http.Client{Timeout: 10 * time.Second}
	spread(t, client, addr, "/", "", 6)
	apiPatch(t, client, "http://"+addr+"/api/9/http/upstreams/app/servers/1", `{"drain":true}`)

	status, ctype, body := apiCall(t, client, "GET", "http://"+addr+"/metrics", "")
	if status != 200 || ctype != "text/plain; version=0.0.4; charset=utf-8" {
		t.Fatalf("%d %s", status, ctype)
	}
	samples := map[string]string{}
	typed := map[string]string{}
	var family string
	sc := bufio.NewScanner(strings.NewReader(string(body)))
	for sc.Scan() {
		line := sc.Text()
		if rest, ok := strings.CutPrefix(line, "# HELP "); ok {
			family = strings.Fields(rest)[0]
			if _, dup := typed[family]; dup {
				t.Errorf("family %s twice", family)
			}
			typed[family] = ""
			continue
		}
		if rest, ok := strings.CutPrefix(line, "# TYPE "); ok {
			f := strings.Fields(rest)
			if len(f) != 2 || f[0] != family || (f[1] != "counter" && f[1] != "gauge") {
				t.Errorf("TYPE line %q after HELP of %s", line, family)
			}
			typed[family] = f[1]
			continue
		}
		m := metricLine.FindStringSubmatch(line)
		if m == nil || m[1] != family || typed[family] == "" {
			t.Errorf("bad sample line %q (family %s)", line, family)
			continue
		}
		series := strings.TrimSuffix(line, " "+m[len(m)-1])
		if _, dup := samples[series]; dup {
			t.Errorf("series %s twice", series)
		}
		samples[series] = m[len(m)-1]
	}
	want := map[string]string{
		`fulcrum_generation`: "1",
		fmt.Sprintf(`fulcrum_upstream_server_requests_total{upstream="app",server="%s"}`, a.addr()):             "3",
		fmt.Sprintf(`fulcrum_upstream_server_requests_total{upstream="app",server="%s"}`, b.addr()):             "3",
		fmt.Sprintf(`fulcrum_upstream_server_requests_total{upstream="app",server="%s"}`, c.addr()):             "0",
		fmt.Sprintf(`fulcrum_upstream_server_responses_total{upstream="app",server="%s",code="2xx"}`, a.addr()): "3",
		fmt.Sprintf(`fulcrum_upstream_server_responses_total{upstream="app",server="%s",code="5xx"}`, a.addr()): "0",
		fmt.Sprintf(`fulcrum_upstream_server_state{upstream="app",server="%s",state="draining"}`, b.addr()):     "1",
		fmt.Sprintf(`fulcrum_upstream_server_state{upstream="app",server="%s",state="up"}`, b.addr()):           "0",
		fmt.Sprintf(`fulcrum_upstream_server_state{upstream="static",server="%s",state="up"}`, a.addr()):        "1",
		fmt.Sprintf(`fulcrum_upstream_server_fails_total{upstream="app",server="%s"}`, a.addr()):                "0",
		fmt.Sprintf(`fulcrum_upstream_server_weight{upstream="app",server="%s"}`, a.addr()):                     "1",
		`fulcrum_connections_dropped_total`: "0",
		`fulcrum_http_requests_current`:     "1",
	}
	for series, v := range want {
		if samples[series] != v {
			t.Errorf("%s = %q, want %q", series, samples[series], v)
		}
	}
	for _, series := range []string{`fulcrum_http_requests_total`, `fulcrum_connections_accepted_total`,
		fmt.Sprintf(`fulcrum_upstream_server_sent_bytes_total{upstream="app",server="%s"}`, a.addr()),
		fmt.Sprintf(`fulcrum_upstream_server_received_bytes_total{upstream="app",server="%s"}`, a.addr())} {
		if samples[series] == "" || samples[series] == "0" {
			t.Errorf("%s = %q, want above 0", series, samples[series])
		}
	}
	if status, _, _ := apiCall(t, client, "POST", "http://"+addr+"/metrics", "x"); status != 405 {
		t.Errorf("POST /metrics: %d, want 405", status)
	}
}

// TestAPIStreamUpstreams reads a stream upstream through the runtime API,
// in NGINX Plus's shape (peers with connections, sent and received), after
// a session through it.
func TestAPIStreamUpstreams(t *testing.T) {
	echo, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { echo.Close() })
	go func() {
		for {
			c, err := echo.Accept()
			if err != nil {
				return
			}
			go func() { defer c.Close(); io.Copy(c, c) }()
		}
	}()
	free, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	streamAddr := free.Addr().String()
	free.Close()
	addr, _ := runConfig(t, t.TempDir(), fmt.Sprintf(`events {}
http { access_log off; server { listen 127.0.0.1:0; location /api { api write=on; } location = /metrics { metrics; } } }
stream {
    upstream db { zone db 64k; server %s weight=3; }
    server { listen %s; proxy_pass db; }
}`, echo.Addr(), streamAddr))
	c, err := net.Dial("tcp", streamAddr)
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(c, "ping\n")
	buf := make([]byte, 5)
	if _, err := io.ReadFull(c, buf); err != nil || string(buf) != "ping\n" {
		t.Fatalf("echo through the stream proxy: %q %v", buf, err)
	}
	c.Close()
	client := &http.Client{Timeout: 5 * time.Second}
	api := "http://" + addr + "/api/9"
	var root []string
	apiGet(t, client, api+"/stream", &root)
	if len(root) != 3 || root[0] != "server_zones" || root[1] != "keyvals" || root[2] != "upstreams" {
		t.Errorf("/stream: %v", root)
	}
	type peer struct {
		ID          int    `json:"id"`
		Server      string `json:"server"`
		Weight      int    `json:"weight"`
		State       string `json:"state"`
		Connections int64  `json:"connections"`
		Sent        int64  `json:"sent"`
		Received    int64  `json:"received"`
	}
	var ups map[string]struct {
		Peers []peer `json:"peers"`
		Zone  string `json:"zone"`
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		apiGet(t, client, api+"/stream/upstreams", &ups)
		if p := ups["db"].Peers; len(p) == 1 && p[0].Received == 5 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("/stream/upstreams: %+v, want db's peer with the session's 5 bytes each way", ups)
		}
		time.Sleep(10 * time.Millisecond)
	}
	want := peer{ID: 0, Server: echo.Addr().String(), Weight: 3, State: "up", Connections: 1, Sent: 5, Received: 5}
	if got := ups["db"].Peers[0]; got != want || ups["db"].Zone != "db" {
		t.Errorf("peer %+v zone %q, want %+v and db", got, ups["db"].Zone, want)
	}
	_, _, metrics := apiCall(t, client, "GET", "http://"+addr+"/metrics", "")
	for _, line := range []string{
		`fulcrum_stream_upstream_server_connections_total{upstream="db",server="` + echo.Addr().String() + `"} 1`,
		`fulcrum_stream_upstream_server_received_bytes_total{upstream="db",server="` + echo.Addr().String() + `"} 5`,
		`fulcrum_stream_upstream_server_state{upstream="db",server="` + echo.Addr().String() + `",state="up"} 1`,
	} {
		if !strings.Contains(string(metrics), line+"\n") {
			t.Errorf("metrics have no %q:\n%s", line, metrics)
		}
	}
	if code, _, _ := apiCall(t, client, "GET", api+"/stream/upstreams/nope", ""); code != http.StatusNotFound {
		t.Errorf("an unknown stream upstream: %d, want 404", code)
	}
}

// nameServer listens on 127.0.0.1:0 and writes name and a newline to each
// connection (which server a stream session reached), then echoes what the
// session sends.
func nameServer(t *testing.T, name string) string {
	t.Helper()
	return testutil.RawBackend(t, func(c net.Conn) {
		io.WriteString(c, name+"\n")
		io.Copy(c, c)
	})
}

// reached opens n stream sessions to addr and counts the servers' names
// they read ("" for a session closed without one).
func reached(t *testing.T, addr string, n int) map[string]int {
	t.Helper()
	got := map[string]int{}
	for range n {
		c, err := net.DialTimeout("tcp", addr, 2*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
		line, _ := bufio.NewReader(c).ReadString('\n')
		c.Close()
		got[strings.TrimSpace(line)]++
	}
	return got
}

// TestAPIStreamUpstreamChanges changes a stream upstream at run time, as
// NGINX Plus's API does: a server added by POST takes sessions, one PATCHed
// down takes none, a DELETE removes it; the server objects have no route
// and no drain (NGINX Plus's stream servers have neither), and an
// upstream without a zone cannot be changed.
func TestAPIStreamUpstreamChanges(t *testing.T) {
	a, b := nameServer(t, "a"), nameServer(t, "b")
	free, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	streamAddr := free.Addr().String()
	free.Close()
	free, err = net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	staticAddr := free.Addr().String()
	free.Close()
	addr, _ := runConfig(t, t.TempDir(), fmt.Sprintf(`events {}
http { access_log off; server { listen 127.0.0.1:0; location /api { api write=on; } } }
stream {
    upstream db { zone db 64k; server %s; }
    upstream fixed { server %s; }
    server { listen %s; proxy_pass db; }
    server { listen %s; proxy_pass fixed; }
}`, a, a, streamAddr, staticAddr))
	client := &http.Client{Timeout: 5 * time.Second}
	servers := "http://" + addr + "/api/9/stream/upstreams/db/servers"
	if got := reached(t, streamAddr, 2); got["a"] != 2 {
		t.Fatalf("before any change: %v, want both sessions on a", got)
	}

	code, _, body := apiCall(t, client, "POST", servers, fmt.Sprintf(`{"server":%q,"weight":2,"max_fails":0}`, b))
	want := fmt.Sprintf(`{"id":1,"server":%q,"weight":2,"max_conns":0,"max_fails":0,"fail_timeout":"10s","slow_start":"0s","backup":false,"down":false}`, b)
	if code != http.StatusCreated || string(body) != want {
		t.Fatalf("POST: %d %s, want 201 %s", code, body, want)
	}
	if got := reached(t, streamAddr, 6); got["a"] != 2 || got["b"] != 4 {
		t.Errorf("after adding b with weight 2: %v, want a 2 and b 4 (smooth weighted round robin)", got)
	}

	apiPatch(t, client, servers+"/0", `{"down":true}`)
	if got := reached(t, streamAddr, 3); got["b"] != 3 {
		t.Errorf("with a down: %v, want every session on b", got)
	}
	// A session open on b when b is removed goes on.
	open, err := net.DialTimeout("tcp", streamAddr, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer open.Close()
	_ = open.SetDeadline(time.Now().Add(5 * time.Second))
	openRd := bufio.NewReader(open)
	if line, err := openRd.ReadString('\n'); line != "b\n" {
		t.Fatalf("the open session reached %q (%v), want b", line, err)
	}

	code, _, body = apiCall(t, client, "DELETE", servers+"/1", "")
	want = fmt.Sprintf(`[{"id":0,"server":%q,"weight":1,"max_conns":0,"max_fails":1,"fail_timeout":"10s","slow_start":"0s","backup":false,"down":true}]`, a)
	if code != http.StatusOK || string(body) != want {
		t.Fatalf("DELETE: %d %s, want 200 %s", code, body, want)
	}
	io.WriteString(open, "still\n")
	if line, err := openRd.ReadString('\n'); line != "still\n" {
		t.Errorf("the session open on b after its removal: read %q (%v), want its echo", line, err)
	}
	apiPatch(t, client, servers+"/0", `{"down":false}`)
	if got := reached(t, streamAddr, 2); got["a"] != 2 {
		t.Errorf("after b's removal and a up again: %v, want both sessions on a", got)
	}

	refused := []struct {
		method, url, body string
		status            int
		code              string
	}{
		{"PATCH", servers + "/0", `{"drain":true}`, http.StatusBadRequest, "UpstreamConfFormatError"},
		{"POST", servers, fmt.Sprintf(`{"server":%q,"route":"r1"}`, b), http.StatusBadRequest, "UpstreamConfFormatError"},
		{"PATCH", servers + "/7", `{"down":true}`, http.StatusNotFound, "UpstreamServerNotFound"},
		{"PATCH", "http://" + addr + "/api/9/stream/upstreams/fixed/servers/0", `{"down":true}`, http.StatusBadRequest, "UpstreamStatic"},
		{"POST", "http://" + addr + "/api/9/stream/upstreams/nope/servers", `{"server":"127.0.0.1:1"}`, http.StatusNotFound, "UpstreamNotFound"},
	}
	for _, tt := range refused {
		code, _, body := apiCall(t, client, tt.method, tt.url, tt.body)
		var e struct {
			Error struct {
				Code string `json:"code"`
			} `json:"error"`
		}
		_ = json.Unmarshal(body, &e)
		if code != tt.status || e.Error.Code != tt.code {
			t.Errorf("%s %s %s: %d %s, want %d %s", tt.method, tt.url, tt.body, code, body, tt.status, tt.code)
		}
	}
	if got := reached(t, streamAddr, 1); got["a"] != 1 {
		t.Errorf("after the refused changes: %v, want the session on a", got)
	}
}

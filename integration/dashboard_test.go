package integration

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// dashboardConf has a dashboard reading a write=on API and one reading a
// read-only API, over an upstream with a zone (so that the API shows and
// PATCHes its servers) and a health check.
const dashboardConf = `events {}
http {
    access_log off;
    upstream app {
        zone app 64k;
        server %s;
        server %s;
        queue 10;
    }
    server {
        listen 127.0.0.1:0;
        location / { proxy_pass http://app; health_check interval=1s; }
        location /api { api write=on; allow 127.0.0.1; deny all; }
        location /ro/ { api; }
        location /dashboard { dashboard; }
        location /rodash/ { dashboard api=/ro; }
    }
}
stream {
    upstream db { zone db 64k; server %s; }
    server { listen 127.0.0.1:0; proxy_pass db; }
}`

// call sends method url with body and returns the status, the header and
// the body.
func call(t *testing.T, client *http.Client, method, url, body string) (int, http.Header, []byte) {
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
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header, b
}

// TestDashboardServes runs the binary: the page, its script and its style
// sheet with their types and the Content-Security-Policy, and the page
// naming the API it reads.
func TestDashboardServes(t *testing.T) {
	a, b := startBackend(t, "a"), startBackend(t, "b")
	in := startFulcrum(t, fmt.Sprintf(dashboardConf, a.addr(), b.addr(), a.addr()), 2)
	client := newClient()
	tests := []struct {
		method, path, ctype string
		code                int
		contains            string
	}{
		{"GET", "/dashboard", "text/html; charset=utf-8", 200, `data-api="/api"`},
		{"GET", "/dashboard/", "text/html; charset=utf-8", 200, `<script src="/dashboard/app.js" defer></script>`},
		{"GET", "/rodash/", "text/html; charset=utf-8", 200, `data-api="/ro"`},
		{"GET", "/dashboard/app.js", "text/javascript; charset=utf-8", 200, "probeWrite"},
		{"GET", "/dashboard/app.css", "text/css; charset=utf-8", 200, ".state-unhealthy"},
		{"HEAD", "/dashboard/app.js", "text/javascript; charset=utf-8", 200, ""},
		{"GET", "/dashboard/nothing", "text/html", 404, "404 Not Found"},
		{"POST", "/dashboard/", "text/html", 405, "405 Not Allowed"},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			code, h, body := call(t, client, tt.method, in.url(0)+tt.path, "")
			if code != tt.code || h.Get("Content-Type") != tt.ctype {
				t.Fatalf("%d %q, want %d %q", code, h.Get("Content-Type"), tt.code, tt.ctype)
			}
			if !strings.Contains(string(body), tt.contains) {
				t.Errorf("the body lacks %q:\n%s", tt.contains, body)
			}
			if code == 200 && !strings.Contains(h.Get("Content-Security-Policy"), "script-src 'self'") {
				t.Errorf("Content-Security-Policy %q", h.Get("Content-Security-Policy"))
			}
		})
	}
}

// scriptRead matches the script's reads of the API's JSON (its convention:
// name['field'] on a few names, see app.js).
var scriptRead = regexp.MustCompile(`\b(nx|cn|rq|up|pr|po|rs|ro|hc|qu|su|sp|so|er|ee)\['([^']*)'\]`)

// keysOf returns the field names of JSON object text.
func keysOf(t *testing.T, what string, text []byte) map[string]bool {
	t.Helper()
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(text, &obj); err != nil {
		t.Fatalf("%s: %v in %s", what, err, text)
	}
	keys := map[string]bool{}
	for k := range obj {
		keys[k] = true
	}
	return keys
}

// TestDashboardReadsTheAPI runs the binary and checks that every field the
// dashboard's script reads is in the API's JSON, object by object, so that
// a rename on either side fails here; that its write probe tells write=on
// from a read-only API; and that the PATCH bodies of its buttons do what
// they say.
func TestDashboardReadsTheAPI(t *testing.T) {
	a, b := startBackend(t, "a"), startBackend(t, "b")
	in := startFulcrum(t, fmt.Sprintf(dashboardConf, a.addr(), b.addr(), a.addr()), 2)
	client := newClient()
	for range 4 {
		get(t, client, in.url(0)+"/")
	}
	_, _, script := call(t, client, "GET", in.url(0)+"/dashboard/app.js", "")

	fetch := func(path string) []byte {
		code, _, body := call(t, client, "GET", in.url(0)+"/api/9"+path, "")
		if code != 200 {
			t.Fatalf("GET /api/9%s: %d %s", path, code, body)
		}
		return body
	}
	fields := map[string]map[string]bool{
		"nx": keysOf(t, "/nginx", fetch("/nginx")),
		"cn": keysOf(t, "/connections", fetch("/connections")),
		"rq": keysOf(t, "/http/requests", fetch("/http/requests")),
	}
	var ups map[string]json.RawMessage
	if err := json.Unmarshal(fetch("/http/upstreams"), &ups); err != nil || ups["app"] == nil {
		t.Fatalf("upstreams: %v %v", err, ups)
	}
	fields["up"] = keysOf(t, "upstream app", ups["app"])
	var app struct{ Peers []json.RawMessage }
	if err := json.Unmarshal(ups["app"], &app); err != nil || len(app.Peers) != 2 {
		t.Fatalf("peers: %v %d", err, len(app.Peers))
	}
	fields["pr"] = keysOf(t, "peer", app.Peers[0])
	var peer struct {
		Responses    json.RawMessage
		HealthChecks json.RawMessage `json:"health_checks"`
	}
	_ = json.Unmarshal(app.Peers[0], &peer)
	fields["rs"] = keysOf(t, "responses", peer.Responses)
	// health_checks has last_passed once the first check ended.
	waitFor(t, "the first health check", func() bool {
		var a struct {
			Peers []struct {
				HealthChecks json.RawMessage `json:"health_checks"`
			}
		}
		_ = json.Unmarshal(fetch("/http/upstreams/app"), &a)
		peer.HealthChecks = a.Peers[0].HealthChecks
		return strings.Contains(string(peer.HealthChecks), "last_passed")
	})
	fields["hc"] = keysOf(t, "health_checks", peer.HealthChecks)
	var queue struct{ Queue json.RawMessage }
	_ = json.Unmarshal(ups["app"], &queue)
	fields["qu"] = keysOf(t, "queue", queue.Queue)
	fields["po"], fields["ro"] = fields["pr"], fields["rs"]
	var sups map[string]json.RawMessage
	if err := json.Unmarshal(fetch("/stream/upstreams"), &sups); err != nil || sups["db"] == nil {
		t.Fatalf("stream upstreams: %v %v", err, sups)
	}
	fields["su"] = keysOf(t, "stream upstream db", sups["db"])
	var db struct{ Peers []json.RawMessage }
	if err := json.Unmarshal(sups["db"], &db); err != nil || len(db.Peers) != 1 {
		t.Fatalf("stream peers: %v %d", err, len(db.Peers))
	}
	fields["sp"] = keysOf(t, "stream peer", db.Peers[0])
	fields["so"] = fields["sp"]

	// The write probe: a PATCH of /nginx, as the script sends it.
	probe := func(api string) (int, []byte) {
		code, _, body := call(t, client, "PATCH", in.url(0)+api+"/9/nginx", "{}")
		return code, body
	}
	code, errBody := probe("/api")
	fields["er"] = keysOf(t, "error", errBody)
	var e struct{ Error json.RawMessage }
	_ = json.Unmarshal(errBody, &e)
	fields["ee"] = keysOf(t, "error object", e.Error)
	if code != 405 || !strings.Contains(string(errBody), `"code":"MethodNotSupported"`) {
		t.Errorf("probe with write=on: %d %s; the script takes MethodNotSupported for write access", code, errBody)
	}
	if code, body := probe("/ro"); code != 405 || !strings.Contains(string(body), `"code":"MethodDisabled"`) {
		t.Errorf("probe without write=on: %d %s", code, body)
	}
	if !strings.Contains(string(script), `ee['code'] === 'MethodNotSupported'`) {
		t.Error("the script's write probe changed; update this test")
	}

	t.Run("fields", func(t *testing.T) {
		reads := scriptRead.FindAllStringSubmatch(string(script), -1)
		seen := map[string]bool{}
		for _, m := range reads {
			seen[m[1]] = true
			if !fields[m[1]][m[2]] {
				t.Errorf("the script reads %s['%s'], which the API's object lacks (it has %v)", m[1], m[2], fields[m[1]])
			}
		}
		if len(reads) < 30 || len(seen) != len(fields) {
			t.Errorf("found %d reads on %d names; the pattern or the script's convention is stale", len(reads), len(seen))
		}
		// Every read must follow the convention, or this test checks nothing.
		if m := regexp.MustCompile(`\b(nx|cn|rq|up|pr|po|rs|ro|su|sp|so|er|ee)(\.[A-Za-z_]|\["|\[[a-z])`).FindString(string(script)); m != "" {
			t.Errorf("the script reads the API other than as name['field']: %q", m)
		}
	})

	t.Run("buttons", func(t *testing.T) {
		// The http table's buttons come before buildStream, the stream
		// table's after it; each body is PATCHed to a server of that
		// block, whose state must then be what the button says.
		httpPart, streamPart, ok := strings.Cut(string(script), "function buildStream")
		if !ok {
			t.Fatal("the script has no buildStream")
		}
		bodyRE := regexp.MustCompile(`\{ (drain|down): (true|false) \}`)
		blocks := []struct {
			name, script, url, state string
			want                     map[string]string
		}{
			{"http", httpPart, "/http/upstreams/app/servers/1", "/http/upstreams/app",
				map[string]string{`{"drain":true}`: "draining", `{"down":true}`: "down", `{"down":false}`: "up"}},
			{"stream", streamPart, "/stream/upstreams/db/servers/0", "/stream/upstreams/db",
				map[string]string{`{"down":true}`: "down", `{"down":false}`: "up"}},
		}
		for _, bl := range blocks {
			bodies := bodyRE.FindAllStringSubmatch(bl.script, -1)
			if len(bodies) != len(bl.want) {
				t.Fatalf("the %s buttons have PATCH bodies %q, want those of %v", bl.name, bodies, bl.want)
			}
			for _, m := range bodies {
				body := fmt.Sprintf(`{"%s":%s}`, m[1], m[2])
				if code, _, b := call(t, client, "PATCH", in.url(0)+"/api/9"+bl.url, body); code != 200 {
					t.Fatalf("PATCH %s %s: %d %s", bl.url, body, code, b)
				}
				var p struct{ Peers []struct{ State string } }
				_ = json.Unmarshal(fetch(bl.state), &p)
				if len(p.Peers) == 0 || p.Peers[len(p.Peers)-1].State != bl.want[body] {
					t.Errorf("after PATCH %s %s the servers are %+v, want the last %s", bl.url, body, p.Peers, bl.want[body])
				}
			}
		}
	})
}

// TestDashboardConfigTest checks that fulcrum -t knows the directive and
// refuses a bad parameter with file and line.
func TestDashboardConfigTest(t *testing.T) {
	t.Parallel() // fulcrum -t runs in their own temp dirs
	dir := t.TempDir()
	tests := []struct {
		name, location string
		code           int
		stderr         string
	}{
		{"default", "location /dashboard { dashboard; }", 0, "test is successful"},
		{"api path", "location /dashboard { dashboard api=/admin/api; }", 0, "test is successful"},
		{"other origin", "location /dashboard { dashboard api=https://example.com/api; }", 1,
			`invalid value "https://example.com/api" in "dashboard" directive in %s:1`},
		{"server level", "dashboard;", 1, `"dashboard" directive is not allowed here in %s:1`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			conf := filepath.Join(dir, strings.ReplaceAll(tt.name, " ", "-")+".conf")
			text := "http { server { listen 127.0.0.1:8080; " + tt.location + " } }\n"
			if err := os.WriteFile(conf, []byte(text), 0o644); err != nil {
				t.Fatal(err)
			}
			r := runFulcrum(t, "-t", "-c", conf)
			want := tt.stderr
			if strings.Contains(want, "%s") {
				want = fmt.Sprintf(want, conf)
			}
			if r.code != tt.code || !strings.Contains(r.stderr, want) || strings.Contains(r.stderr, "[warn]") {
				t.Errorf("exit %d, stderr %q; want %d and %q", r.code, r.stderr, tt.code, want)
			}
		})
	}
}

// harnessOutput is what testdata/dashboard-harness.js prints: the tables'
// rows (the header first) after two polls and after a click, the text of
// every element with an id, the buttons, and the message the click showed.
type harnessOutput struct {
	Before, After [][]string
	IDs           map[string]string
	StatusClass   string
	Buttons       []string
	Message       string
}

// runHarness runs the dashboard's script under node against in.
func runHarness(t *testing.T, in *instance, page, click string) harnessOutput {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node is not installed")
	}
	args := []string{filepath.Join("testdata", "dashboard-harness.js"), in.url(0), page}
	if click != "" {
		args = append(args, click)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, args...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node harness: %v\n%s", err, stderr.String())
	}
	var h harnessOutput
	if err := json.Unmarshal(out, &h); err != nil {
		t.Fatalf("harness output: %v\n%s", err, out)
	}
	return h
}

// TestDashboardScriptRuns runs the page's script under node (with a
// minimal DOM) against the binary: it fills the process and traffic
// figures and a row per server, and its drain button, confirmed, drains
// the server; against a read-only API it shows no buttons.
func TestDashboardScriptRuns(t *testing.T) {
	t.Parallel() // its own process, backends and temp dir; no upper time bound
	a, b := startBackend(t, "a"), startBackend(t, "b")
	in := startFulcrum(t, fmt.Sprintf(dashboardConf, a.addr(), b.addr(), a.addr()), 2)
	client := newClient()
	for range 6 {
		get(t, client, in.url(0)+"/")
	}

	t.Run("write", func(t *testing.T) {
		h := runHarness(t, in, "/dashboard/", b.addr())
		for id, want := range map[string]string{"version": "fulcrum 0.1.0", "generation": "1", "uptime-label": "uptime",
			"status": "live", "api": "/api", "write-note": "Changes allowed (api write=on)."} {
			if h.IDs[id] != want {
				t.Errorf("#%s shows %q, want %q", id, h.IDs[id], want)
			}
		}
		for _, id := range []string{"uptime", "conn-active", "conn-accepted", "conn-rate", "req-total", "req-rate"} {
			if v := h.IDs[id]; v == "" || v == "\u2013" {
				t.Errorf("#%s shows %q, want a figure", id, v)
			}
		}
		if h.StatusClass != "status ok" {
			t.Errorf("status class %q", h.StatusClass)
		}
		if len(h.Before) != 3 || len(h.After) != 3 {
			t.Fatalf("rows %q, want the header and two servers", h.Before)
		}
		head := strings.Join(h.Before[0], " ")
		for _, col := range []string{"server", "state", "weight", "active", "req/s", "2xx", "4xx/s", "5xx/s", "sent/s", "rcvd/s", "fails", "health"} {
			if !strings.Contains(head, col) {
				t.Errorf("the header %q lacks %s", head, col)
			}
		}
		for i, addr := range []string{a.addr(), b.addr()} {
			row := h.Before[i+1]
			if row[0] != addr || row[1] != "up" || row[2] != "1" {
				t.Errorf("row %d: %q, want %s up with weight 1", i, row, addr)
			}
			if !strings.HasPrefix(row[len(row)-1], "drainset downbring up") {
				t.Errorf("row %d actions %q", i, row[len(row)-1])
			}
		}
		if want := "drain " + b.addr() + ": done"; h.Message != want {
			t.Errorf("the drain button's message %q, want %q", h.Message, want)
		}
		if got := h.After[2][1]; got != "draining" {
			t.Errorf("after the drain button the row shows %q, want draining", got)
		}
		var app struct{ Peers []struct{ State string } }
		_, _, body := call(t, client, "GET", in.url(0)+"/api/9/http/upstreams/app", "")
		if err := json.Unmarshal(body, &app); err != nil || len(app.Peers) != 2 || app.Peers[1].State != "draining" {
			t.Errorf("the API after the drain button: %s", body)
		}
	})

	t.Run("read only", func(t *testing.T) {
		h := runHarness(t, in, "/rodash/", "")
		if len(h.Buttons) != 0 || h.IDs["write-note"] != "Read only (the API has no write=on)." || h.IDs["api"] != "/ro" {
			t.Errorf("buttons %q, note %q, api %q", h.Buttons, h.IDs["write-note"], h.IDs["api"])
		}
		if len(h.After) != 3 {
			t.Errorf("rows %q", h.After)
		}
	})
}

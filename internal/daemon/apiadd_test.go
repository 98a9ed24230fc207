package daemon_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// confServer is a server object of GET .../servers, POST and DELETE.
type confServer struct {
	ID          int    `json:"id"`
	Server      string `json:"server"`
	Weight      int    `json:"weight"`
	MaxConns    int    `json:"max_conns"`
	MaxFails    int    `json:"max_fails"`
	FailTimeout string `json:"fail_timeout"`
	SlowStart   string `json:"slow_start"`
	Route       string `json:"route"`
	Backup      bool   `json:"backup"`
	Down        bool   `json:"down"`
	Drain       bool   `json:"drain"`
}

// apiPost POSTs a server and returns it, failing the test unless the
// answer is 201.
func apiPost(t *testing.T, client *http.Client, url, body string) confServer {
	t.Helper()
	status, _, b := apiCall(t, client, "POST", url, body)
	var s confServer
	if status != http.StatusCreated {
		t.Fatalf("POST %s %s: %d %s", url, body, status, b)
	}
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatalf("POST %s: %v in %s", url, err, b)
	}
	return s
}

// apiDelete DELETEs a server and returns the servers left, failing the
// test unless the answer is 200.
func apiDelete(t *testing.T, client *http.Client, url string) []confServer {
	t.Helper()
	status, _, b := apiCall(t, client, "DELETE", url, "")
	var left []confServer
	if status != http.StatusOK {
		t.Fatalf("DELETE %s: %d %s", url, status, b)
	}
	if err := json.Unmarshal(b, &left); err != nil {
		t.Fatalf("DELETE %s: %v in %s", url, err, b)
	}
	return left
}

// servers lists the servers of an upstream through the API.
func servers(t *testing.T, client *http.Client, api, name string) []confServer {
	t.Helper()
	var out []confServer
	apiGet(t, client, api+"/http/upstreams/"+name+"/servers", &out)
	return out
}

// slowBackend answers "slow" to /slow only once release is closed, and
// reports on arrived when such a request has arrived; other paths answer
// at once.
type slowBackend struct {
	*namedBackend
	arrived chan struct{}
	release chan struct{}
}

func newSlowBackend(t *testing.T) *slowBackend {
	b := &slowBackend{namedBackend: &namedBackend{name: "slow"}, arrived: make(chan struct{}, 16), release: make(chan struct{})}
	b.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b.hits.Add(1)
		if r.URL.Path == "/slow" {
			b.arrived <- struct{}{}
			<-b.release
		}
		io.WriteString(w, "slow")
	}))
	t.Cleanup(b.srv.Close)
	t.Cleanup(func() {
		select {
		case <-b.release:
		default:
			close(b.release)
		}
	})
	return b
}

// TestAPIAddServer: a POSTed server gets the next ID, answers 201 with
// its settings, and takes its share of the next requests at once.
func TestAPIAddServer(t *testing.T) {
	a, b, c := newNamedBackend(t, "a"), newNamedBackend(t, "b"), newNamedBackend(t, "c")
	addr, _ := runConfig(t, t.TempDir(), apiConfig(a.addr(), b.addr(), c.addr()))
	client := &http.Client{Timeout: 10 * time.Second}
	api := "http://" + addr + "/api/9"

	d := newNamedBackend(t, "d")
	got := apiPost(t, client, api+"/http/upstreams/app/servers",
		fmt.Sprintf(`{"server":%q,"weight":2,"max_fails":3,"fail_timeout":"5s","max_conns":50,"route":"rd"}`, d.addr()))
	want := confServer{ID: 3, Server: d.addr(), Weight: 2, MaxConns: 50, MaxFails: 3, FailTimeout: "5s", SlowStart: "0s", Route: "rd"}
	if got != want {
		t.Fatalf("POST answered %+v, want %+v", got, want)
	}
	// Weights 1, 1 and 2: smooth weighted round robin gives d half.
	if counts := spread(t, client, addr, "/", "", 8); !sameCounts(counts, map[string]int{"a": 2, "b": 2, "d": 4}) {
		t.Fatalf("after POST: %v", counts)
	}
	list := servers(t, client, api, "app")
	if len(list) != 4 || list[3] != want {
		t.Fatalf("servers after POST: %+v", list)
	}
	// A backup added to an upstream that allows them is a backup.
	bk := apiPost(t, client, api+"/http/upstreams/app/servers", fmt.Sprintf(`{"server":%q,"backup":true,"down":true}`, c.addr()))
	if bk.ID != 4 || !bk.Backup || !bk.Down {
		t.Fatalf("backup POST: %+v", bk)
	}
	// IDs of removed servers are not reused.
	apiDelete(t, client, api+"/http/upstreams/app/servers/4")
	if again := apiPost(t, client, api+"/http/upstreams/app/servers", fmt.Sprintf(`{"server":%q,"drain":true}`, c.addr())); again.ID != 5 || !again.Drain {
		t.Fatalf("POST after DELETE: %+v, want ID 5 draining", again)
	}
	// The peers of GET .../app show the new server with its counters.
	var app upstreamView
	apiGet(t, client, api+"/http/upstreams/app", &app)
	var dPeer *peer
	for i := range app.Peers {
		if app.Peers[i].ID == 3 {
			dPeer = &app.Peers[i]
		}
	}
	if dPeer == nil || dPeer.Requests != 4 || dPeer.State != "up" {
		t.Fatalf("peer 3 after 4 requests: %+v", dPeer)
	}
}

// TestAPIRemoveServer: after DELETE no new request reaches the server,
// while the one in flight at the DELETE completes with 200.
func TestAPIRemoveServer(t *testing.T) {
	slow, a := newSlowBackend(t), newNamedBackend(t, "a")
	conf := fmt.Sprintf(`events {}
http {
    access_log off;
    upstream app { zone app 64k; server %s; server %s; }
    server {
        listen 127.0.0.1:0;
        location / { proxy_pass http://app; }
        location /api { api write=on; }
    }
}`, slow.addr(), a.addr())
	addr, _ := runConfig(t, t.TempDir(), conf)
	client := &http.Client{Timeout: 10 * time.Second}
	api := "http://" + addr + "/api/9"

	// The first pick of equal weights is the first server: the slow one.
	type result struct {
		status int
		body   string
		err    error
	}
	done := make(chan result, 1)
	go func() {
		resp, err := client.Get("http://" + addr + "/slow")
		if err != nil {
			done <- result{err: err}
			return
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		done <- result{resp.StatusCode, string(body), err}
	}()
	select {
	case <-slow.arrived:
	case <-time.After(5 * time.Second):
		t.Fatal("the first request did not reach the slow server")
	}
	left := apiDelete(t, client, api+"/http/upstreams/app/servers/0")
	if len(left) != 1 || left[0].ID != 1 || left[0].Server != a.addr() {
		t.Fatalf("DELETE answered %+v, want server 1 alone", left)
	}
	hits := slow.hits.Load()
	if counts := spread(t, client, addr, "/", "", 6); !sameCounts(counts, map[string]int{"a": 6}) {
		t.Fatalf("after DELETE: %v", counts)
	}
	if slow.hits.Load() != hits {
		t.Fatalf("the removed server got %d new requests", slow.hits.Load()-hits)
	}
	close(slow.release)
	select {
	case r := <-done:
		if r.err != nil || r.status != 200 || r.body != "slow" {
			t.Fatalf("in-flight request: %d %q %v, want 200 slow", r.status, r.body, r.err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the in-flight request did not complete")
	}
	// The last server can go too: requests then get 502.
	apiDelete(t, client, api+"/http/upstreams/app/servers/1")
	if resp, err := client.Get("http://" + addr + "/"); err != nil || resp.StatusCode != 502 {
		t.Fatalf("empty upstream: %v %v, want 502", resp, err)
	} else {
		resp.Body.Close()
	}
	apiPost(t, client, api+"/http/upstreams/app/servers", fmt.Sprintf(`{"server":%q}`, a.addr()))
	if counts := spread(t, client, addr, "/", "", 2); !sameCounts(counts, map[string]int{"a": 2}) {
		t.Fatalf("after POST to an empty upstream: %v", counts)
	}
}

// TestAPIAddErrors: the answers NGINX Plus documents for a bad POST or
// DELETE.
func TestAPIAddErrors(t *testing.T) {
	a, b := newNamedBackend(t, "a"), newNamedBackend(t, "b")
	conf := fmt.Sprintf(`events {}
http {
    access_log off;
    upstream app { zone app 64k; server %[1]s; }
    upstream h { zone h 64k; hash $uri; server %[1]s; }
    upstream ip { zone ip 64k; ip_hash; server %[1]s; }
    upstream r { zone r 64k; random; server %[1]s; }
    upstream static { server %[1]s; }
    server {
        listen 127.0.0.1:0;
        location / { proxy_pass http://app; }
        location /api { api write=on; }
        location /ro { api; }
    }
}`, a.addr())
	addr, _ := runConfig(t, t.TempDir(), conf)
	client := &http.Client{Timeout: 10 * time.Second}
	ok := fmt.Sprintf(`"server":%q`, b.addr())
	tests := []struct {
		method, path, body string
		status             int
		code               string
	}{
		{"POST", "static/servers", "{" + ok + "}", 400, "UpstreamStatic"},
		{"POST", "nope/servers", "{" + ok + "}", 404, "UpstreamNotFound"},
		{"POST", "app/servers", `{}`, 400, "UpstreamConfFormatError"},
		{"POST", "app/servers", `{"server":8080}`, 400, "UpstreamConfFormatError"},
		{"POST", "app/servers", `not json`, 400, "UpstreamConfFormatError"},
		{"POST", "app/servers", `{` + ok + `,"colour":"red"}`, 400, "UpstreamConfFormatError"},
		{"POST", "app/servers", `{` + ok + `,"id":7}`, 400, "UpstreamConfFormatError"},
		{"POST", "app/servers", `{` + ok + `,"weight":{"x":1}}`, 400, "UpstreamConfFormatError"},
		{"POST", "app/servers", `{` + ok + `,"backup":"yes"}`, 400, "UpstreamConfFormatError"},
		{"POST", "app/servers", `{"server":"127.0.0.1:0x"}`, 400, "UpstreamBadAddress"},
		{"POST", "app/servers", `{"server":"127.0.0.1:70000"}`, 400, "UpstreamBadAddress"},
		{"POST", "app/servers", `{"server":"http://127.0.0.1:80/"}`, 400, "UpstreamBadAddress"},
		{"POST", "app/servers", `{"server":"unix:"}`, 400, "UpstreamBadAddress"},
		{"POST", "app/servers", `{"server":"no-such-host.invalid:80"}`, 400, "UpstreamBadAddress"},
		{"POST", "app/servers", `{` + ok + `,"weight":0}`, 400, "UpstreamBadWeight"},
		{"POST", "app/servers", `{` + ok + `,"max_conns":-1}`, 400, "UpstreamBadMaxConns"},
		{"POST", "app/servers", `{` + ok + `,"max_fails":-1}`, 400, "UpstreamBadMaxFails"},
		{"POST", "app/servers", `{` + ok + `,"fail_timeout":"soon"}`, 400, "UpstreamBadFailTimeout"},
		{"POST", "app/servers", `{` + ok + `,"slow_start":"-1s"}`, 400, "UpstreamBadSlowStart"},
		{"POST", "app/servers", `{` + ok + `,"route":"` + strings.Repeat("r", 33) + `"}`, 400, "UpstreamBadRoute"},
		{"POST", "h/servers", `{` + ok + `,"backup":true}`, 400, "UpstreamNoBackup"},
		{"POST", "ip/servers", `{` + ok + `,"backup":true}`, 400, "UpstreamNoBackup"},
		{"POST", "r/servers", `{` + ok + `,"backup":true}`, 400, "UpstreamNoBackup"},
		{"DELETE", "app/servers/5", "", 404, "UpstreamServerNotFound"},
		{"DELETE", "static/servers/0", "", 400, "UpstreamStatic"},
		{"DELETE", "app/servers", "", 405, "MethodNotSupported"},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path+" "+tt.body, func(t *testing.T) {
			status, _, body := apiCall(t, client, tt.method, "http://"+addr+"/api/9/http/upstreams/"+tt.path, tt.body)
			var e struct {
				Error struct {
					Status     int
					Code, Text string
				}
			}
			if err := json.Unmarshal(body, &e); err != nil || status != tt.status || e.Error.Code != tt.code || e.Error.Text == "" {
				t.Errorf("%d %s, want %d %s", status, body, tt.status, tt.code)
			}
		})
	}
	// A read-only API refuses both.
	if status, _, body := apiCall(t, client, "POST", "http://"+addr+"/ro/9/http/upstreams/app/servers", "{"+ok+"}"); status != 405 {
		t.Errorf("read-only POST: %d %s", status, body)
	}
	// Nothing above changed a server; a good POST to a hash upstream works.
	for _, name := range []string{"app", "h", "ip", "r"} {
		if list := servers(t, client, "http://"+addr+"/api/9", name); len(list) != 1 || list[0].ID != 0 {
			t.Errorf("upstream %s after the errors: %+v", name, list)
		}
	}
	if s := apiPost(t, client, "http://"+addr+"/api/9/http/upstreams/h/servers", "{"+ok+"}"); s.ID != 1 {
		t.Errorf("POST to h: %+v", s)
	}
}

// TestAPIStateFile: with "state", the servers come from the file, every
// change is written back, and a reload or a restart reads them again.
func TestAPIStateFile(t *testing.T) {
	a, b := newNamedBackend(t, "a"), newNamedBackend(t, "b")
	dir := t.TempDir()
	state := filepath.Join(dir, "app.state")
	if err := os.WriteFile(state, []byte("# kept by fulcrum\nserver "+a.addr()+";\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	conf := fmt.Sprintf(`events {}
http {
    access_log off;
    upstream app { zone app 64k; state %s; }
    server {
        listen 127.0.0.1:0;
        location / { proxy_pass http://app; }
        location /api { api write=on; }
    }
}`, state)
	addr, sigs := runConfig(t, dir, conf)
	client := &http.Client{Timeout: 10 * time.Second}
	api := "http://" + addr + "/api/9"
	readState := func() string {
		t.Helper()
		data, err := os.ReadFile(state)
		if err != nil {
			t.Fatal(err)
		}
		return string(data)
	}

	if counts := spread(t, client, addr, "/", "", 2); !sameCounts(counts, map[string]int{"a": 2}) {
		t.Fatalf("from the state file: %v", counts)
	}
	apiPost(t, client, api+"/http/upstreams/app/servers", fmt.Sprintf(`{"server":%q,"weight":3,"route":"r b"}`, b.addr()))
	apiPatch(t, client, api+"/http/upstreams/app/servers/0", `{"max_fails":0,"slow_start":"1500ms"}`)
	want := fmt.Sprintf("server %s max_fails=0 fail_timeout=10s slow_start=2s;\nserver %s weight=3 max_fails=1 fail_timeout=10s \"route=r b\";\n", a.addr(), b.addr())
	if got := readState(); got != want {
		t.Fatalf("state file:\n%s\nwant:\n%s", got, want)
	}
	if matches, _ := filepath.Glob(state + ".tmp*"); len(matches) != 0 {
		t.Errorf("temporary files left: %v", matches)
	}

	// A reload reads the file instead of forgetting the API's changes.
	sigs <- syscall.SIGHUP
	var ngx struct {
		Generation int `json:"generation"`
	}
	waitFor(t, func() bool { apiGet(t, client, api+"/nginx", &ngx); return ngx.Generation == 2 })
	list := servers(t, client, api, "app")
	if len(list) != 2 || list[0].Server != a.addr() || list[0].MaxFails != 0 || list[0].SlowStart != "2s" ||
		list[1].Server != b.addr() || list[1].Weight != 3 || list[1].Route != "r b" {
		t.Fatalf("servers after the reload: %+v", list)
	}
	apiDelete(t, client, api+"/http/upstreams/app/servers/0")
	want = fmt.Sprintf("server %s weight=3 max_fails=1 fail_timeout=10s \"route=r b\";\n", b.addr())
	if got := readState(); got != want {
		t.Fatalf("state file after DELETE:\n%s\nwant:\n%s", got, want)
	}

	// A restart (a second daemon on the same file) starts from it.
	addr2, _ := runConfig(t, t.TempDir(), conf)
	if counts := spread(t, client, addr2, "/", "", 3); !sameCounts(counts, map[string]int{"b": 3}) {
		t.Fatalf("after a restart: %v", counts)
	}
	// An empty state: no servers, 502, until the API adds one.
	if err := os.WriteFile(state, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	addr3, _ := runConfig(t, t.TempDir(), conf)
	if resp, err := client.Get("http://" + addr3 + "/"); err != nil || resp.StatusCode != 502 {
		t.Fatalf("empty state: %v %v, want 502", resp, err)
	} else {
		resp.Body.Close()
	}
}

// TestAPIAddHealthCheck: a server added to an upstream with a mandatory
// health_check is checked at once and gets requests only once it passes.
func TestAPIAddHealthCheck(t *testing.T) {
	a, b := newNamedBackend(t, "a"), newNamedBackend(t, "b")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := ln.Addr().String()
	ln.Close() // nothing listens there: its checks fail
	conf := fmt.Sprintf(`events {}
http {
    access_log off;
    upstream app { zone app 64k; server %s; }
    server {
        listen 127.0.0.1:0;
        location / { proxy_pass http://app; health_check interval=100ms mandatory; }
        location /api { api write=on; }
    }
}`, a.addr())
	addr, _ := runConfig(t, t.TempDir(), conf)
	client := &http.Client{Timeout: 10 * time.Second}
	api := "http://" + addr + "/api/9"
	state := func(id int) string {
		var app upstreamView
		apiGet(t, client, api+"/http/upstreams/app", &app)
		for _, p := range app.Peers {
			if p.ID == id {
				return p.State
			}
		}
		return "gone"
	}
	waitFor(t, func() bool { return state(0) == "up" })
	apiPost(t, client, api+"/http/upstreams/app/servers", fmt.Sprintf(`{"server":%q}`, dead))
	waitFor(t, func() bool { return state(1) == "unhealthy" })
	if counts := spread(t, client, addr, "/", "", 4); !sameCounts(counts, map[string]int{"a": 4}) {
		t.Fatalf("with an unhealthy added server: %v", counts)
	}
	apiPost(t, client, api+"/http/upstreams/app/servers", fmt.Sprintf(`{"server":%q}`, b.addr()))
	waitFor(t, func() bool { return state(2) == "up" })
	if counts := spread(t, client, addr, "/", "", 4); !sameCounts(counts, map[string]int{"a": 2, "b": 2}) {
		t.Fatalf("with a healthy added server: %v", counts)
	}
}

// TestAPIChangesUnderLoad adds and removes servers while requests flow:
// every request is answered 200 (run it with -race).
func TestAPIChangesUnderLoad(t *testing.T) {
	a, b, c := newNamedBackend(t, "a"), newNamedBackend(t, "b"), newNamedBackend(t, "c")
	conf := fmt.Sprintf(`events {}
http {
    access_log off;
    upstream app { zone app 64k; least_conn; server %s; }
    upstream ch { zone ch 64k; hash $request_uri consistent; server %s; }
    server {
        listen 127.0.0.1:0;
        location / { proxy_pass http://app; }
        location /ch/ { proxy_pass http://ch; }
        location /api { api write=on; }
    }
}`, a.addr(), a.addr())
	addr, _ := runConfig(t, t.TempDir(), conf)
	client := &http.Client{Timeout: 10 * time.Second}
	api := "http://" + addr + "/api/9"

	var stop atomic.Bool
	var wg sync.WaitGroup
	var bad atomic.Int64
	var served atomic.Int64
	for w := range 4 {
		wg.Go(func() {
			for i := 0; !stop.Load(); i++ {
				path := "/"
				if w%2 == 1 {
					path = fmt.Sprintf("/ch/%d", i)
				}
				resp, err := client.Get("http://" + addr + path)
				if err != nil {
					bad.Add(1)
					continue
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 {
					bad.Add(1)
				}
				served.Add(1)
			}
		})
	}
	for i := range 20 {
		for _, name := range []string{"app", "ch"} {
			s := apiPost(t, client, api+"/http/upstreams/"+name+"/servers", fmt.Sprintf(`{"server":%q,"weight":%d}`, []string{b.addr(), c.addr()}[i%2], 1+i%3))
			apiPatch(t, client, fmt.Sprintf("%s/http/upstreams/%s/servers/%d", api, name, s.ID), `{"weight":2}`)
			if i%2 == 1 {
				apiDelete(t, client, fmt.Sprintf("%s/http/upstreams/%s/servers/%d", api, name, s.ID))
			}
		}
	}
	waitFor(t, func() bool { return served.Load() > 50 })
	stop.Store(true)
	wg.Wait()
	if bad.Load() != 0 {
		t.Fatalf("%d of %d requests failed while servers changed", bad.Load(), served.Load())
	}
	if n := len(servers(t, client, api, "app")); n != 11 {
		t.Fatalf("%d servers left in app, want 11", n)
	}
}

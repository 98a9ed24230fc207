package integration

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestAPIWriteWithoutAccessWarns checks that fulcrum -t points out an api
// write=on location without allow or deny, with file and line, and still
// passes the test.
func TestAPIWriteWithoutAccessWarns(t *testing.T) {
	t.Parallel() // fulcrum -t runs in their own temp dirs
	dir := t.TempDir()
	conf := filepath.Join(dir, "fulcrum.conf")
	text := "events {}\nhttp {\n    server {\n        listen 127.0.0.1:8080;\n        location /api {\n            api write=on;\n        }\n        location /ro { api; }\n        location /safe { api write=on; allow 127.0.0.1; deny all; }\n    }\n}\n"
	if err := os.WriteFile(conf, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	r := runFulcrum(t, "-t", "-c", conf)
	warn := fmt.Sprintf(`fulcrum: [warn] "api write=on" without allow or deny lets every client change upstream servers in %s:6`, conf)
	if r.code != 0 || strings.Count(r.stderr, "[warn]") != 1 || !strings.Contains(r.stderr, warn) {
		t.Errorf("exit %d, stderr %q; want 0 and the one warning %q", r.code, r.stderr, warn)
	}
}

// TestAPIDrainAndReload runs the binary: a drained server gets no new
// requests, and a reload (SIGHUP) gives the configuration back.
func TestAPIDrainAndReload(t *testing.T) {
	t.Parallel() // its own process, backends and temp dir; no upper time bound
	a, b := startBackend(t, "a"), startBackend(t, "b")
	in := startFulcrum(t, fmt.Sprintf(`events {}
http {
    access_log off;
    upstream app { zone app 64k; server %s; server %s; }
    server {
        listen 127.0.0.1:0;
        location / { proxy_pass http://app; }
        location /api { api write=on; allow 127.0.0.1; deny all; }
    }
}`, a.addr(), b.addr()), 1)
	client := newClient()
	patch := func(body string) {
		req, _ := http.NewRequest(http.MethodPatch, in.url(0)+"/api/9/http/upstreams/app/servers/1", strings.NewReader(body))
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("PATCH %s: %d", body, resp.StatusCode)
		}
	}
	state := func() (gen int, b string) {
		var ngx struct{ Generation int }
		var app struct{ Peers []struct{ State string } }
		for url, v := range map[string]any{"/api/9/nginx": &ngx, "/api/9/http/upstreams/app": &app} {
			code, body := get(t, client, in.url(0)+url)
			if code != 200 {
				t.Fatalf("GET %s: %d %s", url, code, body)
			}
			if err := json.Unmarshal([]byte(body), v); err != nil {
				t.Fatal(err)
			}
		}
		return ngx.Generation, app.Peers[1].State
	}
	patch(`{"drain":true}`)
	if gen, st := state(); gen != 1 || st != "draining" {
		t.Fatalf("generation %d, b %q; want 1, draining", gen, st)
	}
	before := b.hitCount()
	for range 4 {
		if code, body := get(t, client, in.url(0)+"/"); code != 200 || !strings.HasPrefix(body, "a ") {
			t.Fatalf("with b draining: %d %q", code, body)
		}
	}
	if b.hitCount() != before {
		t.Errorf("draining b got %d requests", b.hitCount()-before)
	}
	in.signal(syscall.SIGHUP)
	waitFor(t, "the reload", func() bool { gen, _ := state(); return gen == 2 })
	if _, st := state(); st != "up" {
		t.Errorf("after the reload b is %q, want up (the configuration wins)", st)
	}
	for range 4 {
		get(t, client, in.url(0)+"/")
	}
	if b.hitCount() != before+2 {
		t.Errorf("after the reload b got %d of 4 requests, want 2", b.hitCount()-before)
	}
}

// TestAPIAddRemoveWithState runs the binary with a state file: POST and
// DELETE change the servers without a reload, the file follows, and a
// reload (SIGHUP) and a restart start from it.
func TestAPIAddRemoveWithState(t *testing.T) {
	t.Parallel() // its own process, backends and temp dir; no upper time bound
	a, b := startBackend(t, "a"), startBackend(t, "b")
	state := filepath.Join(t.TempDir(), "app.state")
	conf := fmt.Sprintf(`events {}
http {
    access_log off;
    upstream app { zone app 64k; state %s; }
    server {
        listen 127.0.0.1:0;
        location / { proxy_pass http://app; }
        location /api { api write=on; allow 127.0.0.1; deny all; }
    }
}`, state)
	in := startFulcrum(t, conf, 1)
	client := newClient()
	call := func(method, path, body string, want int) string {
		t.Helper()
		req, _ := http.NewRequest(method, in.url(0)+"/api/9/http/upstreams/app"+path, strings.NewReader(body))
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var buf strings.Builder
		_, _ = io.Copy(&buf, resp.Body)
		if resp.StatusCode != want {
			t.Fatalf("%s %s %s: %d %s, want %d", method, path, body, resp.StatusCode, buf.String(), want)
		}
		return buf.String()
	}
	served := func(url string, n int) map[string]int {
		out := map[string]int{}
		for range n {
			code, body := get(t, client, url+"/")
			out[fmt.Sprint(code, " ", strings.Fields(body + " -")[0])]++
		}
		return out
	}
	if code, _ := get(t, client, in.url(0)+"/"); code != 502 {
		t.Fatalf("no state file yet: %d, want 502", code)
	}
	call("POST", "/servers", fmt.Sprintf(`{"server":%q}`, a.addr()), 201)
	if got := call("POST", "/servers", fmt.Sprintf(`{"server":%q}`, b.addr()), 201); !strings.Contains(got, `"id":1`) {
		t.Fatalf("second POST: %s", got)
	}
	if got := served(in.url(0), 4); got["200 a"] != 2 || got["200 b"] != 2 {
		t.Fatalf("after two POSTs: %v", got)
	}
	call("DELETE", "/servers/0", "", 200)
	if got := served(in.url(0), 3); got["200 b"] != 3 {
		t.Fatalf("after DELETE: %v", got)
	}
	data, err := os.ReadFile(state)
	if want := "server " + b.addr() + " max_fails=1 fail_timeout=10s;\n"; err != nil || string(data) != want {
		t.Fatalf("state file %q (%v), want %q", data, err, want)
	}
	in.signal(syscall.SIGHUP)
	waitFor(t, "the reload", func() bool {
		var ngx struct{ Generation int }
		_, body := get(t, client, in.url(0)+"/api/9/nginx")
		return json.Unmarshal([]byte(body), &ngx) == nil && ngx.Generation == 2
	})
	if got := served(in.url(0), 3); got["200 b"] != 3 {
		t.Fatalf("after the reload: %v", got)
	}
	again := startFulcrum(t, conf, 1)
	if got := served(again.url(0), 3); got["200 b"] != 3 {
		t.Fatalf("after a restart: %v", got)
	}
}

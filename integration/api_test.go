package integration

import (
	"encoding/json"
	"fmt"
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

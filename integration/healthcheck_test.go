package integration

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
)

// TestHealthCheck runs the binary with NGINX Plus's health_check: a server
// that answers 502 (which passive health passes on to clients) is taken
// out by its failed checks, so clients only see the other one, and comes
// back once its checks pass; both changes are logged.
func TestHealthCheck(t *testing.T) {
	t.Parallel() // its own process, backends and temp dir; no upper time bound
	a, b := startCtlBackend(t, "a"), startCtlBackend(t, "b")
	in := startFulcrum(t, fmt.Sprintf(`
events {}
http {
    upstream app {
        zone app 64k;
        server %s;
        server %s;
    }
    match ok {
        status 200-399;
        body ~ "^[ab] GET /ping";
    }
    server {
        listen 127.0.0.1:0;
        location / {
            proxy_pass http://app;
            health_check interval=50ms fails=2 passes=2 uri=/ping match=ok;
        }
    }
}`, a.addr(), b.addr()), 1)
	client := newClient()
	inARow := func(n int, want string) {
		t.Helper()
		run := 0
		waitFor(t, fmt.Sprintf("%d answers in a row from %s", n, want), func() bool {
			code, name := answeredBy(t, client, in.url(0)+"/")
			if code == 200 && name == want || want == "either" && code == 200 {
				run++
			} else {
				run = 0
			}
			return run >= n
		})
	}
	inARow(4, "either")
	a.mode.Store(mode502)
	inARow(20, "b")
	waitFor(t, "the unhealthy line", func() bool {
		return in.logged(`[warn]`) && in.logged(`upstream server `+a.addr()+` in upstream "app" is unhealthy`)
	})
	a.mode.Store(modeOK)
	waitFor(t, "a back", func() bool { _, name := answeredBy(t, client, in.url(0)+"/"); return name == "a" })
	if !in.logged(`upstream server ` + a.addr() + ` in upstream "app" is healthy`) {
		t.Error("no line says a is healthy again")
	}
}

// TestHealthCheckUnhealthyWords: the line that takes a server out says why
// in nginx's words for the same failure of a proxied request (as NGINX
// Plus's health checks log it), not Go's dialer text, and names the
// health_check's file:line.
func TestHealthCheckUnhealthyWords(t *testing.T) {
	t.Parallel()
	a := startCtlBackend(t, "a")
	gone := closedPorts(t, 1)[0] // nothing listens there: a refused connect
	in := startFulcrum(t, fmt.Sprintf(`
events {}
http {
    upstream app {
        zone app 64k;
        server %s;
        server %s;
    }
    server {
        listen 127.0.0.1:0;
        location / {
            proxy_pass http://app;
            health_check interval=50ms;
        }
    }
}`, a.addr(), gone), 1)
	want := `[warn] `
	line := `upstream server ` + gone + ` in upstream "app" is unhealthy: connect() failed (111: Connection refused) while connecting to upstream (health_check in ` + filepath.Join(in.dir, "fulcrum.conf") + `:13)`
	waitFor(t, "the unhealthy line", func() bool { return in.logged(line) })
	for _, l := range in.logLines() {
		if strings.Contains(l, line) && !strings.Contains(l, want) {
			t.Errorf("logged %q, not at warn", l)
		}
	}
}

// TestHealthCheckConfigTest: `fulcrum -t` refuses health_check without a
// zone, and without an upstream group, with nginx-style lines.
func TestHealthCheckConfigTest(t *testing.T) {
	t.Parallel() // fulcrum -t runs in their own temp dirs
	tests := []struct{ name, upstream, proxy, want string }{
		{"no zone", "upstream app { server 127.0.0.1:9; }", "http://app",
			`upstream "app" must reside in shared memory for "health_check" in %s:6`},
		{"no upstream group", "", "http://127.0.0.1:9",
			`"health_check" requires an upstream group in "proxy_pass" in %s:6`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			conf := fmt.Sprintf("events {}\nhttp {\n%s\nserver { listen 127.0.0.1:0;\nlocation / { proxy_pass %s;\nhealth_check; } } }\n", tt.upstream, tt.proxy)
			dir := writeFiles(t, t.TempDir(), map[string]string{"fulcrum.conf": conf})
			path := filepath.Join(dir, "fulcrum.conf")
			r := runFulcrum(t, "-t", "-c", path)
			want := "fulcrum: [emerg] " + fmt.Sprintf(tt.want, path)
			if r.code != 1 || !strings.HasPrefix(r.stderr, want) {
				t.Errorf("exit %d, stderr %q; want 1 and %q", r.code, r.stderr, want)
			}
		})
	}
	ok := "events {}\nhttp {\nupstream app { zone app 64k; server 127.0.0.1:9; }\nmatch m { status 200; }\nserver { listen 127.0.0.1:0;\nlocation / { proxy_pass http://app;\nhealth_check match=m mandatory; } } }\n"
	dir := writeFiles(t, t.TempDir(), map[string]string{"fulcrum.conf": ok})
	if r := runFulcrum(t, "-t", "-c", filepath.Join(dir, "fulcrum.conf")); r.code != 0 {
		t.Errorf("valid config: exit %d, stderr %q", r.code, r.stderr)
	}
}

// TestStreamHealthCheck runs the binary with a stream health_check (NGINX
// Plus's ngx_stream_upstream_hc_module): the server whose answer does not
// pass the match block is logged unhealthy and shown so by the runtime API
// and the metrics, the other stays up, and every session goes to it.
func TestStreamHealthCheck(t *testing.T) {
	good, bad := startTCPEcho(t, "ok"), startTCPEcho(t, "no")
	in := startFulcrum(t, fmt.Sprintf(`
events {}
http {
    access_log off;
    server {
        listen 127.0.0.1:0;
        location /api { api; }
        location = /metrics { metrics; }
    }
}
stream {
    match hello { send "PING\n"; expect ~ "^ok PING"; }
    upstream db { zone db 64k; server %s; server %s; }
    server {
        listen 127.0.0.1:0;
        proxy_pass db;
        health_check interval=50ms match=hello;
        health_check_timeout 300ms;
    }
}`, good, bad), 2)
	client := newClient()
	waitFor(t, "the unhealthy line", func() bool {
		return in.logged(`[warn]`) && in.logged(`upstream server `+bad+` in upstream "db" is unhealthy`)
	})
	code, _, body := call(t, client, "GET", in.url(0)+"/api/9/stream/upstreams/db", "")
	var db struct {
		Peers []struct{ Server, State string }
	}
	if err := json.Unmarshal(body, &db); code != 200 || err != nil || len(db.Peers) != 2 {
		t.Fatalf("GET /api/9/stream/upstreams/db: %d %v %s", code, err, body)
	}
	states := map[string]string{db.Peers[0].Server: db.Peers[0].State, db.Peers[1].Server: db.Peers[1].State}
	if states[good] != "up" || states[bad] != "unhealthy" {
		t.Errorf("API states %v", states)
	}
	_, _, metrics := call(t, client, "GET", in.url(0)+"/metrics", "")
	if want := `server="` + bad + `",state="unhealthy"} 1`; !strings.Contains(string(metrics), want) {
		t.Errorf("metrics lack %s", want)
	}
	for range 3 {
		s := openTCP(t, in.listening()[1])
		if got := s.ask("x"); got != "ok x" {
			t.Errorf("session answered %q", got)
		}
	}
}

// TestStreamHealthCheckConfigTest: `fulcrum -t` refuses a stream
// health_check without a zone, and a match= that names no stream match
// block.
func TestStreamHealthCheckConfigTest(t *testing.T) {
	t.Parallel() // fulcrum -t runs in their own temp dirs
	tests := []struct{ name, stream, want string }{
		{"no zone", "upstream db { server 127.0.0.1:9; }\nserver { listen 127.0.0.1:0; proxy_pass db;\nhealth_check; }",
			`upstream "db" must reside in shared memory for "health_check" in %s:6`},
		{"unknown match", "upstream db { zone db 64k; server 127.0.0.1:9; }\nserver { listen 127.0.0.1:0; proxy_pass db;\nhealth_check match=m; }",
			`match "m" not found in %s:6`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			conf := fmt.Sprintf("events {}\nstream {\n\n%s\n}\n", tt.stream)
			dir := writeFiles(t, t.TempDir(), map[string]string{"fulcrum.conf": conf})
			path := filepath.Join(dir, "fulcrum.conf")
			r := runFulcrum(t, "-t", "-c", path)
			want := "fulcrum: [emerg] " + fmt.Sprintf(tt.want, path)
			if r.code != 1 || !strings.HasPrefix(r.stderr, want) {
				t.Errorf("exit %d, stderr %q; want 1 and %q", r.code, r.stderr, want)
			}
		})
	}
}

package integration

import (
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

// TestHealthCheckConfigTest: `fulcrum -t` refuses health_check without a
// zone, and without an upstream group, with nginx-style lines.
func TestHealthCheckConfigTest(t *testing.T) {
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

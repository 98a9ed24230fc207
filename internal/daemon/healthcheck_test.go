package daemon_test

import (
	"fmt"
	"io"
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

// checkedBackend answers its name on every path but /health, which answers
// 200 while healthy is set and 503 otherwise; it keeps the last check
// request's Host and X-Check fields.
type checkedBackend struct {
	name    string
	addr    string
	healthy atomic.Bool
	checks  atomic.Int64
	mu      sync.Mutex
	host    string // guarded by mu
	xcheck  string // guarded by mu
}

func newCheckedBackend(t *testing.T, name string) *checkedBackend {
	t.Helper()
	b := &checkedBackend{name: name}
	b.healthy.Store(true)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/health" {
			b.checks.Add(1)
			b.mu.Lock()
			b.host, b.xcheck = r.Host, r.Header.Get("X-Check")
			b.mu.Unlock()
			if !b.healthy.Load() {
				w.WriteHeader(http.StatusServiceUnavailable)
			}
			return
		}
		io.WriteString(w, name)
	}))
	t.Cleanup(srv.Close)
	b.addr = strings.TrimPrefix(srv.URL, "http://")
	return b
}

// servedBy sends one request and returns the body (the backend's name) or
// the status when it is not 200.
func servedBy(t *testing.T, addr string) string {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		return fmt.Sprint(resp.StatusCode)
	}
	return string(body)
}

// pollServed sends requests until n in a row satisfy ok, or fails the test
// at the deadline. Each request is answered (a check never delays one).
func pollServed(t *testing.T, addr string, n int, ok func(string) bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for run := 0; run < n; {
		if got := servedBy(t, addr); ok(got) {
			run++
		} else {
			run = 0
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %d requests in a row as expected in time", n)
		}
	}
}

func hcConfig(dir string, a, b *checkedBackend, check string) string {
	return fmt.Sprintf(`error_log %s notice;
events {}
http {
    upstream u {
        zone u 64k;
        server %s;
        server %s;
    }
    server {
        listen 127.0.0.1:0;
        location / {
            proxy_pass http://u;
            proxy_set_header X-Check yes;
            %s
        }
    }
}`, filepath.Join(dir, "error.log"), a.addr, b.addr, check)
}

// TestHealthCheckEndToEnd: a server whose check fails gets no request
// (although it answers them), comes back when its check passes, keeps its
// state across a reload, and a reload that removes the check stops it.
func TestHealthCheckEndToEnd(t *testing.T) {
	a, b := newCheckedBackend(t, "a"), newCheckedBackend(t, "b")
	dir := t.TempDir()
	path := filepath.Join(dir, "fulcrum.conf")
	write := func(text string) {
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(hcConfig(dir, a, b, "health_check interval=50ms uri=/health;"))
	addr, sigs := runConfigFile(t, path)

	pollServed(t, addr, 1, func(s string) bool { return s == "b" })
	b.healthy.Store(false)
	pollServed(t, addr, 20, func(s string) bool { return s == "a" })
	b.mu.Lock()
	host, xcheck := b.host, b.xcheck
	b.mu.Unlock()
	if host != "u" || xcheck != "yes" {
		t.Errorf("check request Host %q X-Check %q, want u and yes", host, xcheck)
	}

	// A reload keeps b unhealthy: its new check (every hour, the first one
	// at once) agrees, and nothing in between lets a request through.
	write(hcConfig(dir, a, b, "health_check interval=1h uri=/health;"))
	sigs <- syscall.SIGHUP
	waitLog(t, filepath.Join(dir, "error.log"), "reconfiguring: done")
	for range 20 {
		if got := servedBy(t, addr); got != "a" {
			t.Fatalf("after reload, served by %s", got)
		}
	}

	// A reload without health_check frees b and stops the checks.
	write(hcConfig(dir, a, b, ""))
	sigs <- syscall.SIGHUP
	waitLogCount(t, filepath.Join(dir, "error.log"), "reconfiguring: done", 2)
	pollServed(t, addr, 1, func(s string) bool { return s == "b" })
	before := b.checks.Load()
	for range 20 {
		servedBy(t, addr)
	}
	time.Sleep(200 * time.Millisecond) // four old intervals: no check may come
	if after := b.checks.Load(); after != before {
		t.Errorf("%d checks after the reload that removed health_check", after-before)
	}
}

// TestHealthCheckSingleServer: unlike passive health, an active check takes
// even the only server out: requests get 502 until it passes again.
func TestHealthCheckSingleServer(t *testing.T) {
	a := newCheckedBackend(t, "a")
	addr, _ := runConfig(t, t.TempDir(), fmt.Sprintf(`events {}
http {
    upstream u { zone u 64k; server %s; }
    match ok { status 200; }
    server { listen 127.0.0.1:0; location / { proxy_pass http://u; health_check interval=50ms uri=/health match=ok; } }
}`, a.addr))
	a.healthy.Store(false)
	pollServed(t, addr, 3, func(s string) bool { return s == "502" })
	a.healthy.Store(true)
	pollServed(t, addr, 3, func(s string) bool { return s == "a" })
}

// waitLog polls the file until it contains text.
func waitLog(t *testing.T, path, text string) { t.Helper(); waitLogCount(t, path, text, 1) }

// waitLogCount polls the file until text occurs n times.
func waitLogCount(t *testing.T, path, text string, n int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		data, _ := os.ReadFile(path)
		if strings.Count(string(data), text) >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%q not %d times in %s:\n%s", text, n, path, data)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestHealthCheckInAPI: the runtime API and the metrics show a server an
// active check fails as "unhealthy", and "up" again once it passes.
func TestHealthCheckInAPI(t *testing.T) {
	a, b := newCheckedBackend(t, "a"), newCheckedBackend(t, "b")
	dir := t.TempDir()
	path := filepath.Join(dir, "fulcrum.conf")
	conf := strings.Replace(hcConfig(dir, a, b, "health_check interval=50ms uri=/health;"),
		"        location / {",
		"        location /api { api; }\n        location = /metrics { metrics; }\n        location / {", 1)
	if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	addr, _ := runConfigFile(t, path)
	client := &http.Client{Timeout: 5 * time.Second}
	stateOfB := func() string {
		var u upstreamView
		apiGet(t, client, "http://"+addr+"/api/9/http/upstreams/u", &u)
		if len(u.Peers) != 2 {
			t.Fatalf("%d peers, want 2", len(u.Peers))
		}
		return u.Peers[1].State
	}
	waitState := func(want string) {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for stateOfB() != want {
			if time.Now().After(deadline) {
				t.Fatalf("b is %q, want %q", stateOfB(), want)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	waitState("up")
	b.healthy.Store(false)
	waitState("unhealthy")
	_, _, metrics := apiCall(t, client, "GET", "http://"+addr+"/metrics", "")
	line := fmt.Sprintf(`fulcrum_upstream_server_state{upstream="u",server="%s",state="unhealthy"} 1`, b.addr)
	if !strings.Contains(string(metrics), line+"\n") {
		t.Errorf("metrics lack %q:\n%s", line, metrics)
	}
	b.healthy.Store(true)
	waitState("up")
}

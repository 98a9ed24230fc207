package integration

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"fulcrum/internal/testutil"
)

// demoRun is a running `fulcrum demo`.
type demoRun struct {
	cmd            *exec.Cmd
	stdin          io.WriteCloser
	stdout, stderr *testutil.SyncBuffer
	exited         chan struct{}
	port, b1, b2   int
}

// startDemo runs `fulcrum demo` on free ports with stdin a pipe and waits until
// the balancer answers /health.
func startDemo(t *testing.T) *demoRun {
	t.Helper()
	ports := testutil.FreePorts(t, 3)
	d := &demoRun{stdout: &testutil.SyncBuffer{}, stderr: &testutil.SyncBuffer{}, exited: make(chan struct{}),
		port: ports[0], b1: ports[1], b2: ports[2]}
	d.cmd = exec.Command(fulcrumBin, "demo", "-port", fmt.Sprint(d.port), "-b1", fmt.Sprint(d.b1), "-b2", fmt.Sprint(d.b2))
	d.cmd.Stdout, d.cmd.Stderr = d.stdout, d.stderr
	var err error
	if d.stdin, err = d.cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	if err := d.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		d.cmd.Wait()
		close(d.exited)
	}()
	t.Cleanup(func() {
		d.cmd.Process.Kill()
		<-d.exited
		if t.Failed() {
			t.Logf("demo stdout:\n%s\ndemo stderr:\n%s", d.stdout, d.stderr)
		}
	})
	client := newClient()
	waitFor(t, "the demo balancer to answer", func() bool {
		resp, err := client.Get(d.url("/health"))
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 200
	})
	return d
}

func (d *demoRun) url(path string) string { return fmt.Sprintf("http://127.0.0.1:%d%s", d.port, path) }

// command writes a line to the demo's stdin and waits for its answer on stdout.
func (d *demoRun) command(t *testing.T, line, answer string) {
	t.Helper()
	if _, err := io.WriteString(d.stdin, line+"\n"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, fmt.Sprintf("the demo to answer %q", answer), func() bool { return strings.Contains(d.stdout.String(), answer) })
}

// demoBackend returns "backend N" from a demo backend's answer, and checks its
// shape: "Hello from backend N (127.0.0.1:PORT): GET /".
func (d *demoRun) demoBackend(t *testing.T, body string) string {
	t.Helper()
	for n, port := range map[int]int{1: d.b1, 2: d.b2} {
		if body == fmt.Sprintf("Hello from backend %d (127.0.0.1:%d): GET /\n", n, port) {
			return fmt.Sprintf("backend %d", n)
		}
	}
	t.Fatalf("unexpected answer %q", body)
	return ""
}

func TestDemo(t *testing.T) {
	t.Parallel() // its own process, backends and temp dir; no upper time bound
	d := startDemo(t)
	client := newClient()

	t.Run("banner", func(t *testing.T) {
		out := d.stdout.String()
		for _, want := range []string{
			fmt.Sprintf("backend 1 on 127.0.0.1:%d, backend 2 on 127.0.0.1:%d, balancer on 127.0.0.1:%d", d.b1, d.b2, d.port),
			"The configuration it runs:",
			"    upstream backend {",
			fmt.Sprintf("server 127.0.0.1:%d max_fails=1 fail_timeout=10s;", d.b1),
			fmt.Sprintf("server 127.0.0.1:%d max_fails=1 fail_timeout=10s;", d.b2),
			fmt.Sprintf("listen 127.0.0.1:%d;", d.port),
			fmt.Sprintf("    curl http://127.0.0.1:%d/ ", d.port),
			fmt.Sprintf("    curl -d 'name=ada' http://127.0.0.1:%d/user", d.port),
			fmt.Sprintf("    curl http://127.0.0.1:%d/health", d.port),
			"        zone backend 64k;",
			"health_check interval=2s",
			"api write=on;",
			"dashboard api=/api;",
			fmt.Sprintf("open http://127.0.0.1:%d/dashboard in a browser", d.port),
			fmt.Sprintf("    curl http://127.0.0.1:%d/api/9/http/upstreams/backend ", d.port),
			fmt.Sprintf("    curl http://127.0.0.1:%d/metrics ", d.port),
			fmt.Sprintf(`    curl -X PATCH -d '{"drain":true}' http://127.0.0.1:%d/api/9/http/upstreams/backend/servers/0`, d.port),
			fmt.Sprintf(`    curl -X PATCH -d '{"down":false}' http://127.0.0.1:%d/api/9/http/upstreams/backend/servers/0`, d.port),
		} {
			if !strings.Contains(out, want) {
				t.Errorf("the banner lacks %q", want)
			}
		}
	})

	t.Run("round robin", func(t *testing.T) {
		var got []string
		for range 6 {
			code, body := get(t, client, d.url("/"))
			if code != 200 {
				t.Fatalf("status %d: %s", code, body)
			}
			got = append(got, d.demoBackend(t, body))
		}
		for i := 1; i < len(got); i++ {
			if got[i] == got[i-1] {
				t.Fatalf("answers %q do not alternate", got)
			}
		}
	})

	// The URLs the banner names answer, and the drain line drains.
	t.Run("dashboard, api and metrics", func(t *testing.T) {
		for _, tt := range []struct{ path, ctype, contains string }{
			{"/dashboard", "text/html; charset=utf-8", `data-api="/api"`},
			{"/dashboard/app.js", "text/javascript; charset=utf-8", "probeWrite"},
			{"/api/9/http/upstreams/backend", "application/json", `"zone":"backend"`},
			{"/metrics", "text/plain; version=0.0.4; charset=utf-8", fmt.Sprintf(`fulcrum_upstream_server_state{upstream="backend",server="127.0.0.1:%d",state="up"} 1`, d.b1)},
		} {
			resp, err := client.Get(d.url(tt.path))
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != tt.ctype || !strings.Contains(string(body), tt.contains) {
				t.Errorf("GET %s: %d %q, want 200 %q and %q in:\n%s", tt.path, resp.StatusCode, resp.Header.Get("Content-Type"), tt.ctype, tt.contains, body)
			}
		}
		state := func() string {
			_, body := get(t, client, d.url("/api/9/http/upstreams/backend/servers/0"))
			return body
		}
		for _, tt := range []struct{ body, want string }{{`{"drain":true}`, `"drain":true`}, {`{"down":false}`, `"down":false`}} {
			req, _ := http.NewRequest(http.MethodPatch, d.url("/api/9/http/upstreams/backend/servers/0"), strings.NewReader(tt.body))
			resp, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if got := state(); resp.StatusCode != 200 || !strings.Contains(got, tt.want) {
				t.Errorf("PATCH %s: %d, then %s", tt.body, resp.StatusCode, got)
			}
		}
		if strings.Contains(state(), `"drain"`) {
			t.Error("the server still drains")
		}
	})

	t.Run("post", func(t *testing.T) {
		resp, err := client.Post(d.url("/user"), "application/x-www-form-urlencoded", strings.NewReader("name=ada"))
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.HasSuffix(string(body), ") stored a user of 8 bytes\n") {
			t.Errorf("POST /user: %d %q", resp.StatusCode, body)
		}
	})

	t.Run("failover", func(t *testing.T) {
		d.command(t, "1", "backend 1 stopped")
		for i := range 20 {
			code, body := get(t, client, d.url("/"))
			if code != 200 || d.demoBackend(t, body) != "backend 2" {
				t.Fatalf("request %d with backend 1 stopped: %d %q", i, code, body)
			}
		}
		// Usually a request meets backend 1 first: the access log (on
		// stdout) shows the retry, both attempts, and the error log the
		// passive health check's warning. If the active health check
		// (every 2s) takes backend 1 out first, no request meets it, and
		// the error log says it is unhealthy.
		retried := fmt.Sprintf(`"GET / HTTP/1.1" 200 upstream=127.0.0.1:%d, 127.0.0.1:%d time=`, d.b1, d.b2)
		unhealthy := fmt.Sprintf(`upstream server 127.0.0.1:%d in upstream "backend" is unhealthy`, d.b1)
		waitFor(t, "the retried request and the warn line, or the health check's warning", func() bool {
			passive := strings.Contains(d.stdout.String(), retried) && strings.Contains(d.stderr.String(), "upstream server temporarily disabled")
			return passive || strings.Contains(d.stderr.String(), unhealthy) && !strings.Contains(d.stdout.String(), fmt.Sprintf("upstream=127.0.0.1:%d,", d.b1))
		})
		// Within the check's interval the active check finds it too.
		waitFor(t, "the health check's warning", func() bool { return strings.Contains(d.stderr.String(), unhealthy) })
		// The dashboard's page and the API's polls are not logged.
		if m := regexp.MustCompile(`(?m)^127\.0\.0\.1 "[A-Z]+ /(api|dashboard|metrics)\S*`).FindString(d.stdout.String()); m != "" {
			t.Errorf("the access log has %q", m)
		}
	})

	t.Run("start again", func(t *testing.T) {
		d.command(t, "1", "backend 1 started again")
		code, body := get(t, client, fmt.Sprintf("http://127.0.0.1:%d/", d.b1))
		if code != 200 || d.demoBackend(t, body) != "backend 1" {
			t.Errorf("backend 1 directly: %d %q", code, body)
		}
	})

	t.Run("quit", func(t *testing.T) {
		if _, err := io.WriteString(d.stdin, "q\n"); err != nil {
			t.Fatal(err)
		}
		select {
		case <-d.exited:
		case <-time.After(5 * time.Second):
			t.Fatal("the demo did not exit within 5 s of q")
		}
		if code := d.cmd.ProcessState.ExitCode(); code != 0 {
			t.Errorf("exit code %d, want 0", code)
		}
		if _, err := newClient().Get(d.url("/health")); err == nil {
			t.Error("the balancer still answers after q")
		}
	})
}

// TestDemoCommandLine: `fulcrum demo -h` is help (exit 0, as `fulcrum -h`),
// a stray argument is a usage error (exit 2) instead of being ignored, and
// a taken balancer port is refused before the banner with the demo's own
// advice (-port), not the daemon's "change listen", which the embedded
// configuration does not let the user do.
func TestDemoCommandLine(t *testing.T) {
	t.Parallel()
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	ports := testutil.FreePorts(t, 2)
	takenPort := fmt.Sprint(taken.Addr().(*net.TCPAddr).Port)
	tests := []struct {
		name   string
		args   []string
		code   int
		stderr string
	}{
		{"help", []string{"-h"}, 0, "Usage: fulcrum demo [-port N] [-b1 N] [-b2 N]"},
		{"stray argument", []string{"start"}, 2, `fulcrum: invalid option: "start" (fulcrum demo takes only -port, -b1 and -b2)`},
		{"balancer port taken", []string{"-port", takenPort, "-b1", fmt.Sprint(ports[0]), "-b2", fmt.Sprint(ports[1])}, 1,
			"fulcrum: [emerg] a demo port is in use: pick others with -port, -b1, -b2 (listen tcp 127.0.0.1:" + takenPort + ": bind: address already in use)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cmd := exec.Command(fulcrumBin, append([]string{"demo"}, tt.args...)...)
			var stdout, stderr strings.Builder
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			done := make(chan error, 1)
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			go func() { done <- cmd.Wait() }()
			select {
			case <-done:
			case <-time.After(10 * time.Second):
				cmd.Process.Kill()
				<-done
				t.Fatalf("fulcrum demo %v still runs after 10 s; stderr:\n%s", tt.args, stderr.String())
			}
			if code := cmd.ProcessState.ExitCode(); code != tt.code {
				t.Errorf("exit code %d, want %d", code, tt.code)
			}
			if !strings.Contains(stderr.String(), tt.stderr) {
				t.Errorf("stderr %q lacks %q", stderr.String(), tt.stderr)
			}
			if strings.Contains(stdout.String(), "The configuration it runs:") { // nothing started
				t.Errorf("the banner was printed: %q", stdout.String())
			}
		})
	}
}

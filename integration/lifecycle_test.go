package integration

import (
	"fmt"
	"fulcrum/internal/testutil"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// reloadConfig renders the config used by the reload tests: one upstream with the
// given servers, the main listener on 127.0.0.1:0, and optionally an extra
// listener.
func reloadConfig(servers []string, extraListen string) string {
	var b strings.Builder
	b.WriteString("events {}\nhttp {\n    upstream app {\n")
	for _, s := range servers {
		fmt.Fprintf(&b, "        server %s;\n", s)
	}
	b.WriteString("    }\n    server {\n        listen 127.0.0.1:0;\n")
	if extraListen != "" {
		fmt.Fprintf(&b, "        listen %s;\n", extraListen)
	}
	b.WriteString("        location / { proxy_pass http://app; }\n    }\n}\n")
	return b.String()
}

// rewrite replaces the instance's config file.
func (in *instance) rewrite(conf string) {
	in.t.Helper()
	if err := os.WriteFile(in.conf, []byte(conf), 0o644); err != nil {
		in.t.Fatal(err)
	}
}

// signal sends sig to the process.
func (in *instance) signal(sig syscall.Signal) {
	in.t.Helper()
	if err := in.cmd.Process.Signal(sig); err != nil {
		in.t.Fatal(err)
	}
}

// countLogged counts log lines containing s.
func (in *instance) countLogged(s string) int {
	n := 0
	for _, l := range in.logLines() {
		if strings.Contains(l, s) {
			n++
		}
	}
	return n
}

func TestReloadUnderLoadLosesNothing(t *testing.T) {
	a, b := startBackend(t, "a"), startBackend(t, "b")
	in := startFulcrum(t, reloadConfig([]string{a.addr()}, ""), 1)
	main := in.url(0)

	l := startLoad(4, main+"/", newClient, nil)
	l.waitMore(t, "load to start", 100)
	for i := 1; i <= 10; i++ {
		servers, extra := []string{a.addr()}, ""
		if i%2 == 1 {
			servers = append(servers, b.addr())
			extra = testutil.FreeAddr(t)
		}
		in.rewrite(reloadConfig(servers, extra))
		in.signal(syscall.SIGHUP)
		waitFor(t, fmt.Sprintf("reload %d", i), func() bool { return in.countLogged("reconfiguring: done") >= i })
		if extra != "" {
			code, _ := get(t, newClient(), "http://"+extra+"/")
			if code != 200 {
				t.Errorf("reload %d: the new listener %s answered %d", i, extra, code)
			}
		}
		l.waitMore(t, "traffic after the reload", 300)
	}
	l.finish(t, "10 reloads")
	if b.hitCount() == 0 {
		t.Error("the server added by reload never got a request")
	}
	if !in.logged(`upstream "app": server(s) added: ` + b.addr()) {
		t.Error("the reload did not log the added server")
	}
}

func TestReloadWithBrokenConfigKeepsServing(t *testing.T) {
	in := startFulcrum(t, `
events {}
http {
    server {
        listen 127.0.0.1:0;
        location / { return 200 "old"; }
    }
}`, 1)
	in.rewrite(`
events {}
http {
    server {
        listen 127.0.0.1:0;
        location / { retrun 200 "new"; }
    }
}`)
	in.signal(syscall.SIGHUP)
	waitFor(t, "the reload error", func() bool { return in.logged(`unknown directive "retrun"`) })
	if !in.logged("[emerg]") {
		t.Error("a failed reload must be logged at emerg")
	}
	code, body := get(t, newClient(), in.url(0)+"/")
	if code != 200 || body != "old" {
		t.Errorf("after a broken reload: %d %q, want 200 \"old\"", code, body)
	}
}

// TestReloadRefusedLine: a reload begins with nginx's "reconfiguring" line;
// one refused for an error that ends in its syntax hint logs the error as -t words it (file:line, the hint with its
// one semicolon), then that the running configuration stays, and keeps
// serving. (nginx 1.22.1 recorded: "[notice] reconfiguring", "[emerg] invalid number of arguments in
// "proxy_set_header" directive in FILE:LINE"; fulcrum adds the hint.)
func TestReloadRefusedLine(t *testing.T) {
	in := startFulcrum(t, `
events {}
http {
    server {
        listen 127.0.0.1:0;
        location / { return 200 "old"; }
    }
}`, 1)
	in.rewrite(`
events {}
http {
    server {
        listen 127.0.0.1:0;
        location / { proxy_set_header X-Real-IP; return 200 "new"; }
    }
}`)
	in.signal(syscall.SIGHUP)
	want := `[emerg] ` + fmt.Sprint(in.cmd.Process.Pid) + `#0: invalid number of arguments in "proxy_set_header" directive in ` + in.conf +
		`:6, syntax: proxy_set_header field value; the running configuration stays in force`
	waitFor(t, "the reload error", func() bool { return in.logged(`"proxy_set_header" directive`) })
	if !in.logged(want) {
		t.Errorf("the refused reload's line is not %q", want)
	}
	// nginx's master says "reconfiguring" on SIGHUP; "signal process
	// started" is what nginx's -s process writes, not the one reloading.
	if !in.logged(`[notice] `+fmt.Sprint(in.cmd.Process.Pid)+`#0: reconfiguring`) || in.logged("signal process started") {
		t.Error(`a reload does not begin with nginx's "[notice] reconfiguring" line`)
	}
	code, body := get(t, newClient(), in.url(0)+"/")
	if code != 200 || body != "old" {
		t.Errorf("after a broken reload: %d %q, want 200 \"old\"", code, body)
	}
}

// TestReloadLogsUndoneAPIChanges: the info lines of a reload compare the
// servers the upstream served with, the runtime API's changes included.
// Without a state file a reload takes away a server the API added, and
// says so; with one, the servers it reads back are not called new.
func TestReloadLogsUndoneAPIChanges(t *testing.T) {
	a, b := startCtlBackend(t, "a"), startCtlBackend(t, "b")
	in := startFulcrum(t, fmt.Sprintf(`
events {}
http {
    upstream app { zone app 64k; server %s; }
    upstream kept { zone kept 64k; state %%DIR%%/kept.state; }
    server {
        listen 127.0.0.1:0;
        location /api { api write=on; }
    }
}`, a.addr()), 1)
	client := newClient()
	for _, u := range []string{"app", "kept"} {
		code, _, body := call(t, client, "POST", in.url(0)+"/api/9/http/upstreams/"+u+"/servers", `{"server":"`+b.addr()+`"}`)
		if code != 201 {
			t.Fatalf("POST to %s: %d %s", u, code, body)
		}
	}
	in.signal(syscall.SIGHUP)
	waitFor(t, "the reload", func() bool { return in.logged("reconfiguring: done") })
	if want := `upstream "app": server(s) removed: ` + b.addr(); !in.logged(want) {
		t.Errorf("the reload that took away the API's server does not say %q", want)
	}
	if in.logged(`upstream "kept": server(s) added`) {
		t.Error(`the reload calls the state file's server, there before it, added`)
	}
}

// TestStateFileWithBackupsAlone: the runtime API may leave an upstream
// with a state file with its backup servers alone (a backup added, the
// last primary deleted), and serves from them; the state file it wrote
// then loads on a reload and at a start. (fulcrum refused it with "no
// servers in upstream": the reload kept the old configuration, and a
// restart did not start.)
func TestStateFileWithBackupsAlone(t *testing.T) {
	a, b := startCtlBackend(t, "a"), startCtlBackend(t, "b")
	dir := t.TempDir()
	state := filepath.Join(dir, "app.state")
	if err := os.WriteFile(state, []byte("server "+a.addr()+";\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	conf := fmt.Sprintf(`
events {}
http {
    upstream app { zone app 64k; state %s; }
    server {
        listen 127.0.0.1:0;
        location / { proxy_pass http://app; }
        location /api { api write=on; }
    }
}`, state)
	in := startFulcrum(t, conf, 1)
	client := newClient()
	if code, _, body := call(t, client, "POST", in.url(0)+"/api/9/http/upstreams/app/servers", `{"server":"`+b.addr()+`","backup":true}`); code != 201 {
		t.Fatalf("POST the backup: %d %s", code, body)
	}
	if code, _, body := call(t, client, "DELETE", in.url(0)+"/api/9/http/upstreams/app/servers/0", ""); code != 200 {
		t.Fatalf("DELETE the primary: %d %s", code, body)
	}
	if code, name := answeredBy(t, client, in.url(0)+"/"); code != 200 || name != "b" {
		t.Fatalf("with the backup alone: %d from %q, want 200 from b", code, name)
	}
	in.signal(syscall.SIGHUP)
	waitFor(t, "the reload", func() bool { return in.logged("reconfiguring: done") || in.logged("[emerg]") })
	if in.logged("[emerg]") {
		t.Errorf("the reload refused the state file the API wrote")
	}
	if code, name := answeredBy(t, client, in.url(0)+"/"); code != 200 || name != "b" {
		t.Errorf("after the reload: %d from %q, want 200 from b", code, name)
	}
	if r := runFulcrum(t, "-t", "-q", "-c", in.conf); r.code != 0 {
		t.Errorf("-t (what a restart does first) refuses the state file: %s", r.stderr)
	}
}

// TestResolveBesideBackup: a resolve line whose name has no address yet
// beside a fixed backup (docs/load-balancing.md's example) loads, and the
// backup takes the requests meanwhile (fulcrum refused it at load with "no
// servers in upstream").
func TestResolveBesideBackup(t *testing.T) {
	b := startCtlBackend(t, "b")
	in := startFulcrum(t, fmt.Sprintf(`
events {}
http {
    resolver %s valid=1h;
    resolver_timeout 1s;
    upstream app {
        zone app 64k;
        server app.invalid:8080 resolve;
        server %s backup;
    }
    server {
        listen 127.0.0.1:0;
        location / { proxy_pass http://app; }
    }
}`, closedPorts(t, 1)[0], b.addr()), 1)
	if code, name := answeredBy(t, newClient(), in.url(0)+"/"); code != 200 || name != "b" {
		t.Errorf("before the name resolves: %d from %q, want 200 from the backup b", code, name)
	}
}

// TestReloadMovesPIDFile: a reload that changes the pid directive writes
// the new file and removes the old one, as nginx 1.22.1's master does on
// SIGHUP (recorded: p8a.pid gone, p8b.pid written), so that fulcrum -s with
// the new configuration finds the process. (fulcrum kept the old file.)
func TestReloadMovesPIDFile(t *testing.T) {
	conf := func(pid string) string {
		return `
pid %DIR%/` + pid + `;
events {}
http {
    server {
        listen 127.0.0.1:0;
        location / { return 200 "ok"; }
    }
}`
	}
	in := startFulcrum(t, conf("a.pid"), 1)
	oldPath, newPath := filepath.Join(in.dir, "a.pid"), filepath.Join(in.dir, "b.pid")
	waitFor(t, "a.pid", func() bool { _, err := os.Stat(oldPath); return err == nil })
	in.rewrite(strings.ReplaceAll(conf("b.pid"), "%DIR%", in.dir))
	in.signal(syscall.SIGHUP)
	waitFor(t, "the reload", func() bool { return in.logged("reconfiguring: done") })
	got, err := os.ReadFile(newPath)
	if want := fmt.Sprintf("%d\n", in.cmd.Process.Pid); err != nil || string(got) != want {
		t.Errorf("b.pid holds %q (%v), want %q", got, err, want)
	}
	if _, err := os.Stat(oldPath); !os.IsNotExist(err) {
		t.Errorf("a.pid is still there (%v)", err)
	}
	if r := runFulcrum(t, "-s", "quit", "-c", in.conf); r.code != 0 {
		t.Errorf("fulcrum -s quit with the new configuration: exit %d, %s", r.code, r.stderr)
	}
	select {
	case <-in.exited:
	case <-time.After(5 * time.Second):
		t.Error("the process did not quit")
	}
}

// TestReloadAppliesClientLimits: a reload's header limits (here
// large_client_header_buffers) apply to the connections accepted after it
// on a listener that stays, as nginx's new workers serve with them; they
// took a restart (the listener kept those it opened with).
func TestReloadAppliesClientLimits(t *testing.T) {
	conf := func(size string) string {
		return `
events {}
http {
    large_client_header_buffers 4 ` + size + `;
    server {
        listen 127.0.0.1:0;
        location / { return 200 "ok"; }
    }
}`
	}
	in := startFulcrum(t, conf("1k"), 1)
	ask := func() int {
		t.Helper()
		req, err := http.NewRequest("GET", in.url(0)+"/", nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("X-Long", strings.Repeat("a", 2000))
		c := newClient()
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		c.CloseIdleConnections()
		return resp.StatusCode
	}
	if code := ask(); code != 431 {
		t.Fatalf("a 2000-byte field with 1k buffers: %d, want 431 (docs/directives.md: fulcrum answers 431 where nginx answers 400)", code)
	}
	in.rewrite(conf("8k"))
	in.signal(syscall.SIGHUP)
	waitFor(t, "the reload", func() bool { return in.logged("reconfiguring: done") })
	if code := ask(); code != 200 {
		t.Errorf("after the reload to 8k buffers: %d, want 200", code)
	}
}

func TestQuitFinishesInFlightRequest(t *testing.T) {
	release := make(chan struct{})
	arrived := make(chan struct{}, 1)
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		arrived <- struct{}{}
		<-release
		io.WriteString(w, "finished")
	}))
	t.Cleanup(slow.Close)
	t.Cleanup(func() {
		select {
		case <-release:
		default:
			close(release)
		}
	})
	in := startFulcrum(t, fmt.Sprintf(`
events {}
http {
    server {
        listen 127.0.0.1:0;
        location / { proxy_pass http://%s; }
    }
}`, strings.TrimPrefix(slow.URL, "http://")), 1)
	type answer struct {
		code int
		body string
		err  error
	}
	done := make(chan answer, 1)
	go func() {
		resp, err := newClient().Get(in.url(0) + "/")
		if err != nil {
			done <- answer{err: err}
			return
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		done <- answer{code: resp.StatusCode, body: string(body)}
	}()
	select {
	case <-arrived:
	case <-time.After(5 * time.Second):
		t.Fatal("the request never reached the backend")
	}
	in.signal(syscall.SIGQUIT)
	waitFor(t, "graceful shutdown to start", func() bool { return in.logged("gracefully shutting down") })
	select {
	case <-in.exited:
		t.Fatal("fulcrum exited with a request in flight")
	default:
	}
	close(release)
	a := <-done
	if a.err != nil || a.code != 200 || a.body != "finished" {
		t.Errorf("in-flight request: %+v, want 200 finished", a)
	}
	select {
	case <-in.exited:
	case <-time.After(5 * time.Second):
		t.Fatal("fulcrum did not exit after the request finished")
	}
	if _, err := os.Stat(filepath.Join(in.dir, "logs", "fulcrum.pid")); !os.IsNotExist(err) {
		t.Errorf("pid file still there after exit: %v", err)
	}
}

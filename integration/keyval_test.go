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
	"time"
)

// TestKeyvalAPIAndRestart runs the binary with two keyval zones kept in
// state files: pairs set through the API block a client (if and return)
// and route a user to another upstream (map and proxy_pass), at once and
// without a reload; after a stop and a new start the state files bring
// them back.
func TestKeyvalAPIAndRestart(t *testing.T) {
	a, b := startBackend(t, "a"), startBackend(t, "b")
	state := t.TempDir()
	conf := fmt.Sprintf(`events {}
http {
    access_log off;
    keyval_zone zone=deny:64k type=ip state=%[1]s/deny.keyval;
    keyval_zone zone=routes:64k state=%[1]s/routes.keyval;
    keyval $remote_addr $blocked zone=deny;
    keyval $arg_user $pool zone=routes;
    map $pool $target { "" a; default $pool; }
    upstream a { server %[2]s; }
    upstream b { server %[3]s; }
    server {
        listen 127.0.0.1:0;
        location / {
            if ($blocked) { return 403 "blocked: $blocked\n"; }
            proxy_pass http://$target;
        }
        location /api { api write=on; allow 127.0.0.1; deny all; }
    }
}`, state, a.addr(), b.addr())
	in := startFulcrum(t, conf, 1)
	client := newClient()
	call := func(in *instance, method, zone, body string, want int) {
		t.Helper()
		req, _ := http.NewRequest(method, in.url(0)+"/api/9/http/keyvals/"+zone, strings.NewReader(body))
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		got, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != want {
			t.Fatalf("%s %s %s: %d %s, want %d", method, zone, body, resp.StatusCode, got, want)
		}
	}
	answer := func(in *instance, path string) string {
		t.Helper()
		code, body := get(t, client, in.url(0)+path)
		return fmt.Sprint(code, " ", strings.Fields(body + " -")[0])
	}
	if got := answer(in, "/?user=u1"); got != "200 a" {
		t.Fatalf("before any pair: %q, want 200 a", got)
	}
	call(in, "POST", "routes", `{"u1":"b"}`, 201)
	if got := answer(in, "/?user=u1"); got != "200 b" {
		t.Fatalf("after routing u1 to b: %q", got)
	}
	if got := answer(in, "/?user=u2"); got != "200 a" {
		t.Fatalf("u2: %q", got)
	}
	call(in, "POST", "deny", `{"127.0.0.0/8":"loopback"}`, 201)
	if got := answer(in, "/?user=u1"); got != "403 blocked:" {
		t.Fatalf("after denying 127.0.0.0/8: %q", got)
	}
	// Stop, and start again on the same state files.
	in.signal(syscall.SIGTERM)
	select {
	case <-in.exited:
	case <-time.After(5 * time.Second):
		t.Fatal("fulcrum did not stop")
	}
	data, err := os.ReadFile(filepath.Join(state, "deny.keyval"))
	if err != nil || string(data) != `{"127.0.0.0/8":"loopback"}`+"\n" {
		t.Fatalf("deny state file %q (%v)", data, err)
	}
	again := startFulcrum(t, conf, 1)
	if got := answer(again, "/?user=u1"); got != "403 blocked:" {
		t.Fatalf("after a restart: %q, want the client still blocked", got)
	}
	call(again, "DELETE", "deny", "", 204)
	if got := answer(again, "/?user=u1"); got != "200 b" {
		t.Fatalf("after a restart and emptying deny: %q, want u1 still routed to b", got)
	}
}

// TestKeyvalReloadAddsStateFile: a reload that keeps a zone (same name,
// size and type) and gives it a state file (none before, or another path)
// writes the zone's pairs there at once, in http and in stream, so that a
// restart before the next change through the API does not lose them.
func TestKeyvalReloadAddsStateFile(t *testing.T) {
	dir := t.TempDir()
	confWith := func(httpState, streamState string) string {
		return fmt.Sprintf(`events {}
http {
    access_log off;
    keyval_zone zone=routes:64k%s;
    keyval $arg_user $pool zone=routes;
    server {
        listen 127.0.0.1:0;
        location / { return 200 "pool=$pool\n"; }
        location /api { api write=on; }
    }
}
stream {
    keyval_zone zone=sroutes:64k%s;
}`, httpState, streamState)
	}
	in := startFulcrum(t, confWith("", " state="+dir+"/old.keyval"), 1)
	client := newClient()
	post := func(block, zone, body string) {
		t.Helper()
		resp, err := client.Post(in.url(0)+"/api/9/"+block+"/keyvals/"+zone, "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 201 {
			t.Fatalf("POST %s %s: %d", zone, body, resp.StatusCode)
		}
	}
	post("http", "routes", `{"u1":"b"}`)
	post("stream", "sroutes", `{"s1":"x"}`)
	in.rewrite(confWith(" state="+dir+"/routes.keyval", " state="+dir+"/new.keyval"))
	in.signal(syscall.SIGHUP)
	waitFor(t, "the reload", func() bool {
		var ngx struct{ Generation int }
		_, body := get(t, client, in.url(0)+"/api/9/nginx")
		return json.Unmarshal([]byte(body), &ngx) == nil && ngx.Generation == 2
	})
	if code, body := get(t, client, in.url(0)+"/?user=u1"); code != 200 || body != "pool=b\n" {
		t.Fatalf("after the reload: %d %q, want the pair kept", code, body)
	}
	tests := []struct{ file, want string }{
		{"routes.keyval", `{"u1":"b"}` + "\n"},
		{"new.keyval", `{"s1":"x"}` + "\n"},
	}
	for _, tt := range tests {
		data, err := os.ReadFile(filepath.Join(dir, tt.file))
		if err != nil || string(data) != tt.want {
			t.Errorf("state file %s after the reload: %q (%v), want %q", tt.file, data, err, tt.want)
		}
	}
}

// TestKeyvalRestartKeepsExpiry: the state file keeps when each pair
// expires. After a stop and a new start of the binary, a pair with a
// per-key expire goes when it would have gone without the restart (not a
// new timeout later), a pair that expired while fulcrum ran is not
// brought back, and a pair under the zone's timeout keeps it.
func TestKeyvalRestartKeepsExpiry(t *testing.T) {
	t.Parallel() // mostly waiting on the 4 s expiry; its own processes and state dir
	state := t.TempDir()
	conf := fmt.Sprintf(`events {}
http {
    access_log off;
    keyval_zone zone=one:64k timeout=1h state=%s/one.keyval;
    server {
        listen 127.0.0.1:0;
        location /api { api write=on; }
    }
}`, state)
	in := startFulcrum(t, conf, 1)
	client := newClient()
	pairs := func(in *instance) map[string]string {
		t.Helper()
		code, body := get(t, client, in.url(0)+"/api/9/http/keyvals/one")
		var m map[string]string
		if code != 200 || json.Unmarshal([]byte(body), &m) != nil {
			t.Fatalf("GET one: %d %q", code, body)
		}
		return m
	}
	post := func(body string) {
		t.Helper()
		resp, err := client.Post(in.url(0)+"/api/9/http/keyvals/one", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 201 {
			t.Fatalf("POST %s: %d", body, resp.StatusCode)
		}
	}
	const short = 4 * time.Second
	post(`{"gone":{"value":"1","expire":300}}`)
	post(`{"long":"2"}`)
	set := time.Now()
	post(fmt.Sprintf(`{"short":{"value":"3","expire":%d}}`, short.Milliseconds()))
	waitFor(t, `"gone" to expire`, func() bool { _, ok := pairs(in)["gone"]; return !ok })
	in.signal(syscall.SIGTERM)
	select {
	case <-in.exited:
	case <-time.After(5 * time.Second):
		t.Fatal("fulcrum did not stop")
	}
	data, err := os.ReadFile(filepath.Join(state, "one.keyval"))
	if err != nil || !strings.Contains(string(data), `"short":{"value":"3","expire":`) {
		t.Fatalf("state file %q (%v), want the expiry of short", data, err)
	}
	again := startFulcrum(t, conf, 1)
	got := pairs(again)
	if _, ok := got["gone"]; ok {
		t.Errorf("after the restart: %v, want the expired pair gone", got)
	}
	if got["long"] != "2" {
		t.Errorf("after the restart: %v, want long=2", got)
	}
	if time.Since(set) < short-500*time.Millisecond && got["short"] != "3" {
		t.Errorf("after the restart, %v after it was set: %v, want short=3", time.Since(set).Round(time.Millisecond), got)
	}
	// short goes at its time, give or take the polling, not an hour later.
	deadline := set.Add(short + 3*time.Second)
	for {
		if _, ok := pairs(again)["short"]; !ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("short is still there %v after it was set with a %v expire: the restart renewed it", time.Since(set).Round(time.Millisecond), short)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if early := time.Since(set); early < short-50*time.Millisecond {
		t.Errorf("short went %v after it was set, want %v", early, short)
	}
	if pairs(again)["long"] != "2" {
		t.Error("long went with short")
	}
}

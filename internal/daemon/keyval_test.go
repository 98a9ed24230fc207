package daemon_test

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"fulcrum/internal/config"
	"fulcrum/internal/daemon"
)

// TestKeyvalVariables sets pairs through the runtime API and sees the
// keyval variables change what requests get, in if, map, return and the
// access log, for the three zone types; a reload keeps a zone whose name,
// size and type stay, and one whose size changes starts from its state
// file.
func TestKeyvalVariables(t *testing.T) {
	dir := t.TempDir()
	conf := filepath.Join(dir, "fulcrum.conf")
	write := func(flagsSize string) {
		t.Helper()
		text := strings.ReplaceAll(fmt.Sprintf(`error_log DIR/error.log info;
http {
    log_format kv "$uri flag=$flag blocked=$blocked";
    access_log DIR/access.log kv buffer=0;
    keyval_zone zone=flags:%s state=DIR/flags.keyval;
    keyval_zone zone=deny:64k type=ip;
    keyval_zone zone=routes:64k type=prefix;
    keyval $arg_f $flag zone=flags;
    keyval $remote_addr $blocked zone=deny;
    keyval $uri $route zone=routes;
    map $flag $mapped { "" none; default "on:$flag"; }
    server {
        listen 127.0.0.1:0;
        location /api { api write=on; }
        location / {
            if ($blocked) { return 403 "blocked $blocked\n"; }
            return 200 "flag=$flag mapped=$mapped route=$route\n";
        }
    }
}`, flagsSize), "DIR", dir)
		if err := os.WriteFile(conf, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("64k")
	addr, sigs := runConfigFile(t, conf)
	client := &http.Client{Timeout: 5 * time.Second}
	api := func(method, zone, body string, want int) {
		t.Helper()
		if status, _, b := apiCall(t, client, method, "http://"+addr+"/api/9/http/keyvals/"+zone, body); status != want {
			t.Fatalf("%s %s %s: %d %s, want %d", method, zone, body, status, b, want)
		}
	}
	get := func(path string, wantStatus int, want string) {
		t.Helper()
		status, _, b := apiCall(t, client, "GET", "http://"+addr+path, "")
		if status != wantStatus || string(b) != want {
			t.Errorf("GET %s: %d %q, want %d %q", path, status, b, wantStatus, want)
		}
	}
	get("/x?f=a", 200, "flag= mapped=none route=\n")
	api("POST", "flags", `{"a":"1"}`, 201)
	get("/x?f=a", 200, "flag=1 mapped=on:1 route=\n")
	get("/x?f=A", 200, "flag= mapped=none route=\n") // exact keys
	api("POST", "routes", `{"/x":"X","/x/y":"XY"}`, 201)
	get("/x/z", 200, "flag= mapped=none route=X\n")
	get("/x/y/z", 200, "flag= mapped=none route=XY\n")
	api("POST", "deny", `{"127.0.0.0/8":"loopback"}`, 201)
	get("/x", 403, "blocked loopback\n")
	api("PATCH", "deny", `{"127.0.0.0/8":null}`, 204)
	get("/x?f=a", 200, "flag=1 mapped=on:1 route=X\n")
	waitForAccessLine(t, filepath.Join(dir, "access.log"), "/x flag=1 blocked=-", 5*time.Second)

	state, err := os.ReadFile(filepath.Join(dir, "flags.keyval"))
	if err != nil || string(state) != `{"a":"1"}`+"\n" {
		t.Fatalf("state file %q (%v)", state, err)
	}
	// An edit of the state file, which fulcrum reads only for a new zone.
	if err := os.WriteFile(filepath.Join(dir, "flags.keyval"), []byte(`{"a":"file"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	// The same zones: the pairs stay, also those of zones without a state file.
	reloadAndWait(t, sigs, dir)
	get("/x/q?f=a", 200, "flag=1 mapped=on:1 route=X\n")
	// A new size is a new zone, which reads its state file; routes stays.
	write("128k")
	reloadAndWait(t, sigs, dir)
	get("/x/q?f=a", 200, "flag=file mapped=on:file route=X\n")
	api("PATCH", "flags", `{"a":"2"}`, 204)
	get("/x?f=a", 200, "flag=2 mapped=on:2 route=X\n")
}

// TestKeyvalCheck checks what fulcrum -t refuses of keyval variables: a set
// of one (NGINX Plus would write the pair), and a key with an unknown
// variable.
func TestKeyvalCheck(t *testing.T) {
	tests := []struct{ http, want string }{
		{"keyval $arg_a $v zone=one;", ""},
		{"keyval $arg_a $v zone=one; server { location / { set $V 1; } }", `the keyval variable "$V" cannot be set: fulcrum changes the key-value store through the API only in FILE:1`},
		{"keyval $nope $v zone=one;", `unknown "nope" variable in FILE:1`},
	}
	for _, tt := range tests {
		path := filepath.Join(t.TempDir(), "fulcrum.conf")
		text := "http { keyval_zone zone=one:32k; " + tt.http + " }\n"
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		cfg, err := config.Load(path, config.LoadOptions{})
		if err != nil {
			t.Fatal(err)
		}
		err = daemon.Check(cfg)
		want := strings.ReplaceAll(tt.want, "FILE", path)
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("%s: %v", tt.http, err)
		case tt.want != "" && (err == nil || !strings.Contains(err.Error(), want)):
			t.Errorf("%s: %v, want %q", tt.http, err, want)
		}
	}
}

// TestKeyvalStream routes stream sessions by a keyval variable (map and
// proxy_pass with variables) changed through /9/stream/keyvals/, with a
// state file that a reload with a new zone size reads; the http block's
// zones are apart.
func TestKeyvalStream(t *testing.T) {
	a, b, c := nameServer(t, "a"), nameServer(t, "b"), nameServer(t, "c")
	free, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	streamAddr := free.Addr().String()
	free.Close()
	dir := t.TempDir()
	conf := filepath.Join(dir, "fulcrum.conf")
	write := func(size string) {
		t.Helper()
		text := strings.ReplaceAll(fmt.Sprintf(`error_log DIR/error.log info;
http { access_log off; server { listen 127.0.0.1:0; location /api { api write=on; } } }
stream {
    keyval_zone zone=route:%s type=ip state=DIR/route.keyval;
    keyval $remote_addr $target zone=route;
    map $target $dest { "" %s; default $target; }
    server { listen %s; proxy_pass $dest; }
}`, size, a, streamAddr), "DIR", dir)
		if err := os.WriteFile(conf, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("64k")
	addr, sigs := runConfigFile(t, conf)
	client := &http.Client{Timeout: 5 * time.Second}
	call := func(method, path, body string, want int) {
		t.Helper()
		if status, _, got := apiCall(t, client, method, "http://"+addr+"/api/9/"+path, body); status != want {
			t.Fatalf("%s %s %s: %d %s, want %d", method, path, body, status, got, want)
		}
	}
	if got := reached(t, streamAddr, 2); got["a"] != 2 {
		t.Fatalf("before any pair: %v", got)
	}
	call("POST", "http/keyvals/route", `{"127.0.0.1":"x"}`, 404) // http has no such zone
	call("POST", "stream/keyvals/route", fmt.Sprintf(`{"127.0.0.0/8":%q}`, b), 201)
	if got := reached(t, streamAddr, 2); got["b"] != 2 {
		t.Fatalf("after routing 127.0.0.0/8 to b: %v", got)
	}
	state, err := os.ReadFile(filepath.Join(dir, "route.keyval"))
	if want := fmt.Sprintf(`{"127.0.0.0/8":%q}`, b) + "\n"; err != nil || string(state) != want {
		t.Fatalf("state file %q (%v), want %q", state, err, want)
	}
	reloadAndWait(t, sigs, dir) // the same zone: kept
	if got := reached(t, streamAddr, 1); got["b"] != 1 {
		t.Fatalf("after a reload: %v", got)
	}
	if err := os.WriteFile(filepath.Join(dir, "route.keyval"), []byte(fmt.Sprintf(`{"127.0.0.1":%q}`, c)), 0o644); err != nil {
		t.Fatal(err)
	}
	write("128k") // a new zone: read from the file
	reloadAndWait(t, sigs, dir)
	if got := reached(t, streamAddr, 1); got["c"] != 1 {
		t.Fatalf("after a reload with a new size: %v, want c from the state file", got)
	}
	call("DELETE", "stream/keyvals/route", "", 204)
	if got := reached(t, streamAddr, 1); got["a"] != 1 {
		t.Fatalf("after DELETE: %v", got)
	}
}

package daemon_test

import (
	"fmt"
	"fulcrum/internal/testutil"
	"net/http"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// TestAPIStreamStateFile: a stream upstream with NGINX Plus's "state"
// takes its servers from the file; every change through the runtime API
// (POST, PATCH, DELETE of /stream/upstreams/{name}/servers) is written
// back, and a reload or a restart starts from the servers the API left.
func TestAPIStreamStateFile(t *testing.T) {
	a, b := nameServer(t, "a"), nameServer(t, "b")
	dir := t.TempDir()
	state := filepath.Join(dir, "db.state")
	if err := os.WriteFile(state, []byte("# kept by fulcrum\nserver "+a+";\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	conf := func(listen string) string {
		return fmt.Sprintf(`events {}
http { access_log off; server { listen 127.0.0.1:0; location /api { api write=on; } } }
stream {
    upstream db { zone db 64k; state %s; }
    server { listen %s; proxy_pass db; }
}`, state, listen)
	}
	streamAddr := testutil.FreeAddr(t)
	addr, sigs := runConfig(t, dir, conf(streamAddr))
	client := &http.Client{Timeout: 10 * time.Second}
	api := "http://" + addr + "/api/9"
	list := api + "/stream/upstreams/db/servers"
	readState := func() string {
		t.Helper()
		data, err := os.ReadFile(state)
		if err != nil {
			t.Fatal(err)
		}
		return string(data)
	}

	if got := reached(t, streamAddr, 2); got["a"] != 2 {
		t.Fatalf("from the state file: %v, want both sessions on a", got)
	}
	apiPost(t, client, list, fmt.Sprintf(`{"server":%q,"weight":2,"max_fails":0}`, b))
	apiPatch(t, client, list+"/0", `{"max_fails":3,"slow_start":"1500ms"}`)
	want := fmt.Sprintf("server %s max_fails=3 fail_timeout=10s slow_start=2s;\nserver %s weight=2 max_fails=0 fail_timeout=10s;\n", a, b)
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
	var got []confServer
	apiGet(t, client, list, &got)
	if len(got) != 2 || got[0].Server != a || got[0].MaxFails != 3 || got[0].SlowStart != "2s" ||
		got[1].Server != b || got[1].Weight != 2 || got[1].MaxFails != 0 {
		t.Fatalf("servers after the reload: %+v", got)
	}
	if counts := reached(t, streamAddr, 6); counts["a"] != 2 || counts["b"] != 4 {
		t.Errorf("after the reload: %v, want a 2 and b 4", counts)
	}
	apiDelete(t, client, list+"/0")
	want = fmt.Sprintf("server %s weight=2 max_fails=0 fail_timeout=10s;\n", b)
	if got := readState(); got != want {
		t.Fatalf("state file after DELETE:\n%s\nwant:\n%s", got, want)
	}

	// A restart (a second daemon on the same file) starts from it.
	streamAddr2 := testutil.FreeAddr(t)
	runConfig(t, t.TempDir(), conf(streamAddr2))
	if counts := reached(t, streamAddr2, 3); counts["b"] != 3 {
		t.Fatalf("after a restart: %v, want every session on b", counts)
	}
	if got := readState(); got != want {
		t.Errorf("the restart changed the file:\n%s\nwant:\n%s", got, want)
	}
}

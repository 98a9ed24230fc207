package integration

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
)

// limitConnConf is the configuration of TestLimitConn, with the backend's
// address for %s. nginx 1.22.1 with the same configuration and a slow backend
// answered as the test expects: the third request from one address while two
// are in progress gets 503 (and /deny too: limit_conn runs before allow and
// deny), a return is not limited, /s counts only its own zone, /dry serves
// and logs ", dry run,", /lvl answers 429 and logs at warn; $limit_conn_status
// is PASSED, REJECTED or REJECTED_DRY_RUN, and not found ("-") for a return.
const limitConnConf = `
events {}
http {
    log_format lc '$uri $status $limit_conn_status';
    access_log %%DIR%%/access.log lc buffer=0;
    limit_conn_zone $binary_remote_addr zone=addr:10m;
    limit_conn_zone $server_name zone=srv:1m;
    server {
        listen 127.0.0.1:0;
        listen 127.0.0.2:0;
        server_name example;
        limit_conn addr 2;
        location / { proxy_pass http://%[1]s; }
        location /ret { return 200 "ret\n"; }
        location /deny { deny all; }
        location /s { limit_conn srv 1; proxy_pass http://%[1]s; }
        location /dry { limit_conn_dry_run on; proxy_pass http://%[1]s; }
        location /lvl { limit_conn_log_level warn; limit_conn_status 429; proxy_pass http://%[1]s; }
    }
}
`

// holdBackend answers every request at once, except those with "hold" in
// their query: it reports their arrival on arrived and answers them when
// release is closed.
func holdBackend(t *testing.T) (addr string, arrived chan string, release chan struct{}) {
	t.Helper()
	arrived, release = make(chan string, 16), make(chan struct{})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.Contains(r.URL.RawQuery, "hold") {
			arrived <- r.URL.Path
			<-release
		}
		fmt.Fprintf(w, "app %s", r.URL.Path)
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String(), arrived, release
}

func TestLimitConn(t *testing.T) {
	t.Parallel() // its own process, backends and temp dir; no upper time bound
	addr, arrived, release := holdBackend(t)
	in := startFulcrum(t, fmt.Sprintf(limitConnConf, addr), 2)
	main, other := in.urlOn("127.0.0.1"), in.urlOn("127.0.0.2")

	// Two requests from 127.0.0.1 in progress: the limit of addr.
	var wg sync.WaitGroup
	held := make([]int, 2)
	for i := range held {
		wg.Add(1)
		go func() {
			defer wg.Done()
			held[i], _ = get(t, clientFrom("127.0.0.1"), main+"/held?hold")
		}()
	}
	released := false
	defer func() {
		if !released {
			close(release)
		}
	}()
	<-arrived
	<-arrived

	tests := []struct {
		name, client, url string
		wantStatus        int
		wantBody          string
	}{
		{"over the limit", "127.0.0.1", main + "/", 503, "<html>\r\n<head><title>503 Service Temporarily Unavailable</title>"},
		{"return is not limited", "127.0.0.1", main + "/ret", 200, "ret\n"},
		{"limited before access rules", "127.0.0.1", main + "/deny", 503, ""},
		{"another key is independent", "127.0.0.2", other + "/", 200, "app /"},
		{"a level with its own limit_conn replaces the list", "127.0.0.1", main + "/s", 200, "app /s"},
		{"dry run serves", "127.0.0.1", main + "/dry", 200, "app /dry"},
		{"status and level", "127.0.0.1", main + "/lvl", 429, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body := get(t, clientFrom(tt.client), tt.url)
			if status != tt.wantStatus || !strings.HasPrefix(body, tt.wantBody) {
				t.Errorf("GET %s from %s: %d %q, want %d %q...", tt.url, tt.client, status, body, tt.wantStatus, tt.wantBody)
			}
		})
	}

	// $server_name keys: one /s request in progress, from either address,
	// refuses the next.
	wg.Add(1)
	var sHeld int
	go func() {
		defer wg.Done()
		sHeld, _ = get(t, clientFrom("127.0.0.2"), other+"/s?hold")
	}()
	<-arrived
	if status, _ := get(t, clientFrom("127.0.0.1"), main+"/s"); status != 503 {
		t.Errorf("second /s with one in progress: %d, want 503", status)
	}

	close(release)
	released = true
	wg.Wait()
	if held[0] != 200 || held[1] != 200 || sHeld != 200 {
		t.Errorf("held requests: %v %d, want 200s", held, sHeld)
	}
	// The counts ended with the requests.
	for range 3 {
		if status, _ := get(t, clientFrom("127.0.0.1"), main+"/"); status != 200 {
			t.Errorf("after the held requests ended: %d, want 200", status)
		}
	}

	waitFor(t, "the error log lines", func() bool {
		return in.logged(`[error] `) &&
			countLines(in.logLines(), `limiting connections by zone "addr", client: 127.0.0.1, server: example, request: "GET / HTTP/1.1"`) == 1 &&
			countLines(in.logLines(), `limiting connections by zone "addr", client: 127.0.0.1, server: example, request: "GET /deny HTTP/1.1"`) == 1 &&
			countLines(in.logLines(), `limiting connections by zone "srv", client: 127.0.0.1, server: example, request: "GET /s HTTP/1.1"`) == 1 &&
			countLines(in.logLines(), `limiting connections, dry run, by zone "addr", client: 127.0.0.1, server: example, request: "GET /dry HTTP/1.1"`) == 1 &&
			countLines(in.logLines(), `[warn] `) > 0
	})
	waitFor(t, "$limit_conn_status in the access log", func() bool {
		b, _ := os.ReadFile(filepath.Join(in.dir, "access.log"))
		lines := strings.Split(string(b), "\n")
		for _, want := range []string{
			"/held 200 PASSED", "/ 503 REJECTED", "/ret 200 -", "/deny 503 REJECTED",
			"/s 200 PASSED", "/dry 200 REJECTED_DRY_RUN", "/lvl 429 REJECTED", "/s 503 REJECTED",
		} {
			if !slices.Contains(lines, want) {
				return false
			}
		}
		return true
	})
	for _, l := range in.logLines() {
		if strings.Contains(l, `request: "GET /lvl `) && !strings.Contains(l, "[warn] ") {
			t.Errorf("the /lvl refusal is not at warn: %s", l)
		}
		if strings.Contains(l, "access forbidden") {
			t.Errorf("the access rule ran for a limited request: %s", l)
		}
	}
}

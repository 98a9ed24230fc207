package daemon_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
)

// TestUpstreamKeepaliveReload: a reload closes the idle upstream connections
// that its configuration no longer uses (an upstream removed, or one whose
// keepalive settings changed, or a grpc_pass whose settings changed), as
// nginx's old workers close theirs when they exit, instead of leaving them
// open for good; connections of an upstream that stays the same stay warm.
func TestUpstreamKeepaliveReload(t *testing.T) {
	const proxyLoc = `location / { proxy_pass http://app; proxy_http_version 1.1; proxy_set_header Connection ""; }`
	const grpcLoc = `location / { grpc_pass grpc://app; grpc_read_timeout READ; }`
	tests := []struct {
		name       string
		h2c        bool   // the backend speaks HTTP/2 with prior knowledge
		before     string // the upstream block and the server's location
		after      string
		keptAlive  bool // the first connection serves the request after the reload
		readBefore string
		readAfter  string
	}{
		{name: "proxy, same upstream", before: "keepalive 4;|" + proxyLoc, after: "keepalive 4;|" + proxyLoc + ` location = /other { return 204; }`, keptAlive: true},
		{name: "proxy, keepalive changed", before: "keepalive 4;|" + proxyLoc, after: "keepalive 8;|" + proxyLoc},
		{name: "proxy, upstream gone", before: "keepalive 4;|" + proxyLoc, after: `|location / { return 200 "app"; }`},
		{name: "grpc, same settings", h2c: true, before: "|" + grpcLoc, after: "|" + grpcLoc + ` location = /other { return 204; }`, keptAlive: true, readBefore: "60s", readAfter: "60s"},
		{name: "grpc, settings changed", h2c: true, before: "|" + grpcLoc, after: "|" + grpcLoc, readBefore: "60s", readAfter: "61s"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var open, accepted atomic.Int64
			backend := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				io.WriteString(w, "app")
			}))
			if tc.h2c {
				backend.Config.Protocols = new(http.Protocols)
				backend.Config.Protocols.SetUnencryptedHTTP2(true)
			}
			backend.Listener = countingListener{Listener: backend.Listener, open: &open, accepted: &accepted}
			backend.Start()
			t.Cleanup(backend.Close)

			dir := t.TempDir()
			path := filepath.Join(dir, "fulcrum.conf")
			write := func(spec, read string) {
				t.Helper()
				up, loc, _ := strings.Cut(spec, "|")
				conf := strings.NewReplacer("DIR", dir, "APP", backend.Listener.Addr().String(), "UP", up, "LOC", loc).Replace(`
error_log DIR/error.log notice;
events {}
http {
    access_log off;
    upstream app { server APP; UP }
    server { listen 127.0.0.1:0; LOC }
}`)
				conf = strings.ReplaceAll(conf, "READ", read)
				if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			write(tc.before, tc.readBefore)
			addr, sigs := runConfigFile(t, path)
			get := func() {
				t.Helper()
				if b := getBody(t, addr, "/"); b != "app" {
					t.Fatalf("body %q, want app", b)
				}
			}
			waitOpen := func(want int64) { t.Helper(); waitOpenConns(t, &open, want) }
			get()
			get()
			waitOpen(1) // kept between requests: one connection served both

			write(tc.after, tc.readAfter)
			reloadAndWait(t, sigs, dir)
			if tc.keptAlive {
				get()
				if n := accepted.Load(); n != 1 {
					t.Fatalf("the backend accepted %d connections, want 1: the warm connection was not reused", n)
				}
				waitOpen(1)
				return
			}
			waitOpen(0) // the old configuration's idle connection closed
			get()
		})
	}
}

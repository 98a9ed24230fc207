package daemon_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestGRPCHeadBound: a gRPC server's response head is bounded, as nginx
// bounds it by grpc_buffer_size: one far over the bound is a 502 (Go's
// client would have taken 10 MiB per head), with nginx's "upstream sent too
// big header" when it is many fields (one huge field is the HPACK
// decoder's COMPRESSION_ERROR); one nginx 1.22.1 passes (a 6,000-byte
// field, 500 fields) passes.
func TestGRPCHeadBound(t *testing.T) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/grpc")
		if many, ok := strings.CutPrefix(r.URL.Path, "/many/"); ok {
			n, _ := strconv.Atoi(many)
			for range n {
				w.Header().Add("X-M", "v")
			}
		} else {
			n, _ := strconv.Atoi(strings.TrimPrefix(r.URL.Path, "/"))
			w.Header().Set("X-Big", strings.Repeat("a", n))
		}
		w.Write([]byte("body"))
	})
	s := httptest.NewUnstartedServer(h)
	s.Config.Protocols = new(http.Protocols)
	s.Config.Protocols.SetUnencryptedHTTP2(true)
	s.Start()
	t.Cleanup(s.Close)
	dir := t.TempDir()
	addr := startDaemon(t, dir, fmt.Sprintf(`
    access_log off;
    server { listen 127.0.0.1:0; location / { grpc_pass grpc://%s; } }`, s.Listener.Addr()))
	tests := []struct {
		path string
		code int
	}{
		{"/6000", 200},
		{"/many/500", 200},
		{"/204800", 502},
		{"/many/3000", 502},
	}
	for _, tc := range tests {
		resp, err := noRedirects.Get("http://" + addr + tc.path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.code {
			t.Errorf("%s: %d, want %d", tc.path, resp.StatusCode, tc.code)
		}
	}
	waitForLog(t, filepath.Join(dir, "error.log"), "error upstream sent too big header while reading response header from upstream")
}

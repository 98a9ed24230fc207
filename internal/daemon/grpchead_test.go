package daemon_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// TestGRPCHeadBound: a gRPC server's response head is bounded by
// grpc_buffer_size as nginx bounds it, by its bytes as they came
// (HPACK-coded, frame headers included), and a head over it is a 502
// logged as nginx 1.22.1 logs it (recorded with Go's HTTP/2 server behind
// grpc_pass grpc://, the default 4k and 16k):
//
//	[error] ... upstream sent too big header while reading response header
//	from upstream, client: 127.0.0.1, server: , request: "GET /one/7000
//	HTTP/1.1", upstream: "grpc://127.0.0.1:PORT", host: "..."
//
// With 4k nginx passed one field of 6,374 bytes of Huffman-coded text
// (3,984 bytes on the wire), not one of 6,375; 577 fields "x-m: v", not
// 578; 42 fields of 100 bytes, not 43. With 16k: 26,113-byte field, 2,332
// fields "x-m: v", 171 fields of 100 bytes. The same words for one field of
// 200 KB (Go's HPACK decoder's COMPRESSION_ERROR before) and 600 fields of
// 100 bytes in CONTINUATION frames (its PROTOCOL_ERROR before), over h2c
// and over TLS, where fulcrum bounds the head decoded (at least 64 KiB).
func TestGRPCHeadBound(t *testing.T) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/grpc")
		parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
		n, _ := strconv.Atoi(parts[len(parts)-1])
		switch parts[len(parts)-2] {
		case "one": // one field of n bytes
			w.Header().Set("X-Big", strings.Repeat("a", n))
		case "many": // n identical fields
			for range n {
				w.Header().Add("X-M", "v")
			}
		case "distinct": // n fields of 100 bytes
			for i := range n {
				w.Header().Set(fmt.Sprintf("X-M%d", i), strings.Repeat("v", 100))
			}
		}
		w.Write([]byte("body"))
	})
	s := httptest.NewUnstartedServer(h)
	s.Config.Protocols = new(http.Protocols)
	s.Config.Protocols.SetUnencryptedHTTP2(true)
	s.Start()
	t.Cleanup(s.Close)
	st := httptest.NewUnstartedServer(h)
	st.EnableHTTP2 = true
	st.StartTLS()
	t.Cleanup(st.Close)
	dir := t.TempDir()
	addr := startDaemon(t, dir, fmt.Sprintf(`
    access_log off;
    server {
        listen 127.0.0.1:0;
        location / { grpc_pass grpc://%[1]s; }
        location /16k/ { grpc_pass grpc://%[1]s; grpc_buffer_size 16k; }
        location /tls/ { grpc_pass grpcs://%[2]s; }
    }`, s.Listener.Addr(), st.Listener.Addr()))
	tests := []struct {
		path string
		code int
	}{
		{"/one/6000", 200},
		{"/one/7000", 502},
		{"/many/500", 200},
		{"/many/600", 502},
		{"/distinct/42", 200},
		{"/distinct/43", 502},
		{"/one/204800", 502},
		{"/distinct/600", 502},
		{"/16k/one/26000", 200},
		{"/16k/one/26200", 502},
		{"/16k/many/2300", 200},
		{"/16k/many/2400", 502},
		{"/16k/distinct/171", 200},
		{"/16k/distinct/172", 502},
		// Over TLS the head is bounded decoded, at 64 KiB here; Go's
		// client's own connection errors get nginx's words too.
		{"/tls/one/7000", 200},
		{"/tls/one/204800", 502},
		{"/tls/distinct/1000", 502},
		{"/tls/many/3000", 502},
	}
	want := 0
	for _, tc := range tests {
		if tc.code == 502 {
			want++
		}
		t.Run(tc.path[1:], func(t *testing.T) {
			resp, err := noRedirects.Get("http://" + addr + tc.path)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tc.code {
				t.Errorf("%d, want %d", resp.StatusCode, tc.code)
			}
			if tc.code != 502 {
				return
			}
			upstream := "grpc://" + s.Listener.Addr().String()
			if strings.HasPrefix(tc.path, "/tls/") {
				upstream = "grpcs://" + st.Listener.Addr().String()
			}
			line := `upstream sent too big header while reading response header from upstream, client: 127\.0\.0\.1, server: , request: "GET ` +
				regexp.QuoteMeta(tc.path) + ` HTTP/1\.1", upstream: "` + regexp.QuoteMeta(upstream) + `", host: "`
			waitForLogMatch(t, filepath.Join(dir, "error.log"), "error", line, "too big header")
		})
	}
	b, _ := os.ReadFile(filepath.Join(dir, "error.log"))
	if n := strings.Count(string(b), "[error]"); n != want {
		t.Errorf("%d error lines, want %d (one per 502):\n%s", n, want, b)
	}
}

package integration

import (
	"context"
	"fmt"
	"fulcrum/internal/testutil"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestGRPCServe runs the binary with "listen ... http2" (h2c) in front of
// two gRPC-style h2c servers in an upstream block: a bidirectional stream
// goes through message by message, trailers come back, round robin
// alternates, and a dead server is skipped.
func TestGRPCServe(t *testing.T) {
	backend := func(name string) string {
		return testutil.H2CBackend(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/grpc")
			w.Header().Set("Trailer", "Grpc-Status")
			w.WriteHeader(200)
			w.(http.Flusher).Flush()
			for {
				msg, err := testutil.ReadGRPCFrame(r.Body)
				if err != nil {
					break
				}
				w.Write(testutil.GRPCFrame(name + ":" + msg))
				w.(http.Flusher).Flush()
			}
			w.Header().Set("Grpc-Status", "0")
		}))
	}
	b1, b2 := backend("b1"), backend("b2")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := ln.Addr().String()
	ln.Close()
	in := startFulcrum(t, fmt.Sprintf(`events {}
http {
    access_log off;
    upstream grpcs { server %s max_fails=1 fail_timeout=30s; server %s; server %s; }
    server {
        listen 127.0.0.1:0 http2;
        location / { grpc_pass grpc://grpcs; grpc_read_timeout 10s; }
    }
}
`, dead, b1, b2), 1)
	addr := in.listening()[0]
	tr := testutil.H2CTransport(addr)
	defer tr.CloseIdleConnections()
	seen := map[string]int{}
	for i := range 4 {
		pr, pw := io.Pipe()
		req, _ := http.NewRequest("POST", "http://grpc.test/echo.Echo/Chat", pr)
		req.Header.Set("Content-Type", "application/grpc")
		req.Header.Set("TE", "trailers")
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		resp, err := tr.RoundTrip(req.WithContext(ctx))
		if err != nil {
			cancel()
			t.Fatalf("call %d: %v", i, err)
		}
		var from string
		for j := range 3 {
			pw.Write(testutil.GRPCFrame(fmt.Sprintf("m%d", j)))
			got, err := testutil.ReadGRPCFrame(resp.Body)
			name, msg, _ := strings.Cut(got, ":")
			if err != nil || msg != fmt.Sprintf("m%d", j) || (from != "" && name != from) {
				t.Fatalf("call %d message %d: %q, %v", i, j, got, err)
			}
			from = name
		}
		pw.Close()
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		cancel()
		if resp.StatusCode != 200 || resp.Trailer.Get("Grpc-Status") != "0" {
			t.Fatalf("call %d: %d, trailers %v", i, resp.StatusCode, resp.Trailer)
		}
		seen[from]++
	}
	if seen["b1"] != 2 || seen["b2"] != 2 {
		t.Errorf("calls per server %v, want 2 each (round robin, the dead server skipped)", seen)
	}
}

// TestGRPCConfigTest runs fulcrum -t on grpc_* directives: a valid set
// passes, nginx's errors come with file and line.
func TestGRPCConfigTest(t *testing.T) {
	t.Parallel() // fulcrum -t and -s runs in their own temp dirs
	dir := t.TempDir()
	conf := filepath.Join(dir, "fulcrum.conf")
	tests := []struct {
		name, loc string
		code      int
		want      string
	}{
		{"valid", "grpc_pass grpc://127.0.0.1:50051; grpc_set_header X-A $remote_addr; grpc_read_timeout 1h; grpc_next_upstream error timeout http_503; grpc_ssl_server_name on;", 0, "test is successful"},
		{"no port", "grpc_pass 127.0.0.1;", 1, `no port in upstream "127.0.0.1" in ` + conf + ":4"},
		{"buffer size", "grpc_pass 127.0.0.1:1; grpc_buffer_size 16k;", 0, "test is successful"},
		{"client certificate without its key", "grpc_pass grpcs://127.0.0.1:1; grpc_ssl_certificate /x.pem;", 1, `no "grpc_ssl_certificate_key" is defined for certificate "/x.pem" in ` + conf + ":4"},
		{"client certificate unused by grpc://", "grpc_pass grpc://127.0.0.1:1; grpc_ssl_certificate /x.pem; grpc_ssl_crl /x.crl;", 0, "test is successful"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			text := fmt.Sprintf("events {}\nhttp {\n    server { listen 127.0.0.1:8080 http2;\n        location / { %s }\n    }\n}\n", tt.loc)
			if err := os.WriteFile(conf, []byte(text), 0o644); err != nil {
				t.Fatal(err)
			}
			r := runFulcrum(t, "-t", "-c", conf)
			if r.code != tt.code || !strings.Contains(r.stderr, tt.want) || strings.Contains(r.stderr, "is ignored") {
				t.Errorf("exit %d, stderr %q\nwant %d %q", r.code, r.stderr, tt.code, tt.want)
			}
		})
	}
}

package daemon_test

import (
	"fmt"
	"fulcrum/internal/testutil"
	"io"
	"net/http"
	"strings"
	"testing"
)

// TestGRPCFromHTTP1: a client that speaks HTTP/1.1 to a grpc_pass location
// is forwarded over HTTP/2 all the same, and gets the upstream's trailers
// in the last chunk, as from nginx 1.22 (checked with curl --http1.1).
func TestGRPCFromHTTP1(t *testing.T) {
	dir := t.TempDir()
	b1 := grpcServer(t, "b1", false)
	addr := startDaemon(t, dir, fmt.Sprintf(`
    access_log off;
    server { listen 127.0.0.1:0; location / { grpc_pass grpc://%s; } }`, b1))
	req, err := http.NewRequest("POST", "http://"+addr+"/svc.S/M", strings.NewReader(string(testutil.GRPCFrame("ping"))))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/grpc")
	req.Header.Set("TE", "trailers")
	resp, err := noRedirects.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	msg, err := testutil.ReadGRPCFrame(resp.Body)
	if err != nil || msg != "b1:ping" {
		t.Fatalf("message %q, %v", msg, err)
	}
	io.Copy(io.Discard, resp.Body)
	if resp.ProtoMajor != 1 || resp.Header.Get("X-Seen-Proto") != "HTTP/2.0" || resp.Header.Get("X-Seen-Te") != "trailers" {
		t.Errorf("%s, fields %v", resp.Proto, resp.Header)
	}
	if resp.Trailer.Get("Grpc-Status") != "0" || resp.Trailer.Get("Grpc-Message") != "b1" {
		t.Errorf("trailers %v", resp.Trailer)
	}
}

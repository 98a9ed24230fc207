package daemon_test

import (
	"path/filepath"
	"testing"
)

// TestGRPCMirroredBodyVariable: a body that "mirror" read whole before
// grpc_pass sends it is $request_body, as nginx 1.22.1 has it (recorded,
// nginx-tests grpc_request_buffering.t "request body in memory":
// add_header X-Body $request_body; with "mirror /mirror;" gave the
// 5-byte body; here the access log shows it, the gRPC frame's bytes
// escaped). fulcrum's gRPC handler left the variable unset ("-").
func TestGRPCMirroredBodyVariable(t *testing.T) {
	back := grpcServer(t, "one", false)
	dir := t.TempDir()
	addr := startDaemon(t, dir, `
    log_format b '$uri $request_body';
    server {
        listen 127.0.0.1:0 http2;
        access_log `+filepath.Join(dir, "b.log")+` b;
        location /mirror { return 204; }
        location / {
            grpc_pass `+back+`;
            mirror /mirror;
        }
    }`)
	resp, msg := grpcCall(t, h2cClient(t, addr), "http://"+addr+"/svc/Say")
	if msg != "one:ping" {
		t.Fatalf("answer %q", msg)
	}
	_ = resp
	waitForLine(t, filepath.Join(dir, "b.log"), `/svc/Say \x00\x00\x00\x00\x04ping`)
}

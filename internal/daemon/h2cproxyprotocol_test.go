package daemon_test

import (
	"io"
	"net"
	"path/filepath"
	"testing"
	"time"
)

// TestH2CProxyProtocolRefused sends a broken PROXY protocol header, and
// none at all, to "listen ... proxy_protocol http2" without ssl: nginx
// 1.22.1 reads the header in its HTTP/2 state machine and answers both
// with GOAWAY PROTOCOL_ERROR (recorded on a raw socket: "BOGUS TCP4 ...",
// "PROX", and silence past client_header_timeout 1s; nginx-tests
// h2_proxy_protocol.t "invalid PROXY"), logging the broken header at error
// "while reading PROXY protocol" and the timeout at info "while processing
// HTTP/2 connection". fulcrum closed the connection without a frame.
func TestH2CProxyProtocolRefused(t *testing.T) {
	dir := t.TempDir()
	addr := startDaemonLevel(t, dir, "info", `
    access_log off;
    server { listen 127.0.0.1:0 proxy_protocol http2; client_header_timeout 1s;
        location / { return 200 ok; } }`)
	errLog := filepath.Join(dir, "error.log")
	goaway := string([]byte{0, 0, 8, 7, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1})
	tests := []struct {
		name, sent string
		lines      [][]string // each line's parts (the header's CR LF ends a line)
	}{
		{"broken header", "BOGUS TCP4 192.0.2.1 192.0.2.2 1234 5678\r\n", [][]string{
			{"[error]", `broken header: "BOGUS TCP4 192.0.2.1 192.0.2.2 1234 5678`},
			{`" while reading PROXY protocol, client: 127.0.0.1, server: ` + addr}}},
		{"timeout", "", [][]string{
			{"[info]", "client timed out (110: Connection timed out) while processing HTTP/2 connection, client: 127.0.0.1, server: " + addr}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			conn, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
			if _, err := io.WriteString(conn, tt.sent); err != nil {
				t.Fatal(err)
			}
			got, err := io.ReadAll(conn)
			if string(got) != goaway || err != nil {
				t.Errorf("got %q (%v), want GOAWAY PROTOCOL_ERROR %q and the close", got, err, goaway)
			}
			for _, parts := range tt.lines {
				waitLogged(t, errLog, parts...)
			}
		})
	}
}

package daemon_test

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// TestHTTP2UnreadBodyAnswered sends an HTTP/2 POST whose body the location
// never reads (content-length 4, 2 bytes sent, the stream left open): the
// answer comes at once, followed by RST_STREAM NO_ERROR, as nginx 1.22.1
// sends them (recorded with nginx-tests' HTTP2.pm: a static file's 405,
// return 200, return 403, and the 413 of client_max_body_size, each with
// RST_STREAM code 0 within 0.5 s). fulcrum went on reading the body after
// the answer, as for HTTP/1.1, and held the stream's answer until the body
// ended or lingering_timeout passed.
func TestHTTP2UnreadBodyAnswered(t *testing.T) {
	dir := t.TempDir()
	certs, pool := h2Site(t, dir)
	if err := os.WriteFile(filepath.Join(dir, "index.html"), []byte("IDX"), 0o644); err != nil {
		t.Fatal(err)
	}
	addr := startDaemon(t, dir, fmt.Sprintf(`server { listen 127.0.0.1:0 ssl http2; server_name a.test; %s
		client_max_body_size 5; lingering_timeout 30s; client_body_timeout 30s;
		location / { root %s; }
		location /r { return 200 text; }
		location /f { return 403; } }`, certs, dir))
	tests := []struct {
		path, length, sent, status string
	}{
		{"/", "4", "TE", "405"},
		{"/r", "4", "TE", "200"},
		{"/f", "4", "TE", "403"},
		{"/big", "100", "", "413"},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			r := dialH2(t, addr, pool)
			var buf bytes.Buffer
			enc := hpack.NewEncoder(&buf)
			for _, f := range [][2]string{{":method", "POST"}, {":scheme", "https"}, {":authority", "a.test"}, {":path", tt.path}, {"content-length", tt.length}} {
				_ = enc.WriteField(hpack.HeaderField{Name: f[0], Value: f[1]})
			}
			if err := r.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: buf.Bytes(), EndHeaders: true}); err != nil {
				t.Fatal(err)
			}
			if tt.sent != "" {
				if err := r.fr.WriteData(1, false, []byte(tt.sent)); err != nil {
					t.Fatal(err)
				}
			}
			status, code := h2AnswerAndReset(t, r, 3*time.Second)
			if status != tt.status || code != "NO_ERROR" {
				t.Errorf("status %q, RST_STREAM %q; want %s, NO_ERROR", status, code, tt.status)
			}
		})
	}
}

// h2AnswerAndReset reads stream 1's frames until its RST_STREAM or the
// deadline and returns the response's :status and the reset's code ("" for
// none).
func h2AnswerAndReset(t *testing.T, r *rawH2, within time.Duration) (status, code string) {
	t.Helper()
	_ = r.c.SetReadDeadline(time.Now().Add(within))
	dec := hpack.NewDecoder(4096, nil)
	for {
		f, err := r.fr.ReadFrame()
		if err != nil {
			return status, code
		}
		switch f := f.(type) {
		case *http2.HeadersFrame:
			fields, _ := dec.DecodeFull(f.HeaderBlockFragment())
			if len(fields) > 0 && fields[0].Name == ":status" {
				status = fields[0].Value
			}
		case *http2.RSTStreamFrame:
			return status, f.ErrCode.String()
		case *http2.SettingsFrame:
			if !f.IsAck() {
				_ = r.fr.WriteSettingsAck()
			}
		}
	}
}

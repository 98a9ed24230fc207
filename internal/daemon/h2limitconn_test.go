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

// TestHTTP2LimitConnHeldUntilSent checks that an HTTP/2 stream counts
// against limit_conn until its response went out, as nginx 1.22.1 frees
// the count with the request (recorded with nginx-tests h2_limit_conn.t,
// "limit_conn conn 1"): with the client's stream window at 1 byte, the
// first stream's 8-byte file waits for flow control, and the next stream
// on the connection gets 503; once the client resets the first stream,
// the next one gets 200. fulcrum gave the count back when the handler
// returned, with the rest of the response still queued in Go's server, so
// the second stream got 200.
func TestHTTP2LimitConnHeldUntilSent(t *testing.T) {
	dir := t.TempDir()
	certs, pool := h2Site(t, dir)
	if err := os.WriteFile(filepath.Join(dir, "t.html"), []byte("SEE-THIS"), 0o644); err != nil {
		t.Fatal(err)
	}
	addr := startDaemon(t, dir, fmt.Sprintf(`limit_conn_zone $binary_remote_addr zone=conn:1m;
		server { listen 127.0.0.1:0 ssl http2; server_name a.test; %s
		location /t.html { root %s; limit_conn conn 1; } }`, certs, dir))
	r := dialH2(t, addr, pool)
	if err := r.fr.WriteSettings(http2.Setting{ID: http2.SettingInitialWindowSize, Val: 1}); err != nil {
		t.Fatal(err)
	}
	dec := hpack.NewDecoder(4096, nil) // the connection's: Go's server indexes fields
	get := func(id uint32) string {
		t.Helper()
		var buf bytes.Buffer
		enc := hpack.NewEncoder(&buf)
		for _, f := range [][2]string{{":method", "GET"}, {":scheme", "https"}, {":authority", "a.test"}, {":path", "/t.html"}} {
			_ = enc.WriteField(hpack.HeaderField{Name: f[0], Value: f[1]})
		}
		if err := r.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: buf.Bytes(), EndStream: true, EndHeaders: true}); err != nil {
			t.Fatal(err)
		}
		return h2StreamStatus(t, r, dec, id)
	}
	if got := get(1); got != "200" {
		t.Fatalf("first stream %s, want 200", got)
	}
	if got := get(3); got != "503" {
		t.Errorf("second stream while the first waits for flow control: %s, want 503", got)
	}
	if err := r.fr.WriteRSTStream(1, http2.ErrCodeCancel); err != nil {
		t.Fatal(err)
	}
	// The count goes back when the reset reaches the first stream's
	// goroutine, which runs alongside the one Go's server starts for the
	// next stream (nginx's one worker takes them in order): a stream opened
	// at once may still see it taken, one a moment later must not.
	deadline := time.Now().Add(2 * time.Second)
	for id := uint32(5); ; id += 2 {
		got := get(id)
		if got == "200" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("stream after the first was reset: %s, want 200", got)
		}
		time.Sleep(time.Millisecond)
	}
}

// h2StreamStatus reads frames until stream id's response head and returns
// its :status ("RST" for a reset stream); dec is the connection's decoder.
func h2StreamStatus(t *testing.T, r *rawH2, dec *hpack.Decoder, id uint32) string {
	t.Helper()
	_ = r.c.SetReadDeadline(time.Now().Add(5 * time.Second))
	for {
		f, err := r.fr.ReadFrame()
		if err != nil {
			t.Fatal(err)
		}
		switch f := f.(type) {
		case *http2.HeadersFrame:
			fields, _ := dec.DecodeFull(f.HeaderBlockFragment())
			if f.StreamID == id && len(fields) > 0 && fields[0].Name == ":status" {
				return fields[0].Value
			}
		case *http2.RSTStreamFrame:
			if f.StreamID == id {
				return "RST"
			}
		case *http2.SettingsFrame:
			if !f.IsAck() {
				_ = r.fr.WriteSettingsAck()
			}
		}
	}
}

package daemon

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestWriterPace drives the engine's writer on a fake clock (the pacer's
// Clock and Sleep): a paced response goes out a write at a time, each
// followed by a pause for what it sent; before each pause every byte
// written so far has left the buffered writer; the pauses add up to what
// the bytes past limit_rate_after are worth; and the next response on the
// connection is not paced.
func TestWriterPace(t *testing.T) {
	const rate = 64 << 10
	tests := []struct {
		name       string
		free       int64
		body       int
		chunk      int
		wantPauses int
	}{
		// The head goes with the first 32 KiB write and is paid with it
		// (half a second and a little), the second write is paid (half a
		// second), the last goes unpaid: the response ends with it.
		{"rate", 0, 96 << 10, 32 << 10, 2},
		// The first 64 KiB are free: the head and the first two writes go
		// at once; the head's bytes past the free ones are paid before the
		// third write, the third before the last.
		{"free bytes", 64 << 10, 128 << 10, 32 << 10, 2},
		// One write bigger than a second's worth is cut at it: a second's
		// worth, a pause, the next second's, a pause, the rest.
		{"one big write", 0, 160 << 10, 160 << 10, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
			var pauses []time.Duration
			var unflushed []int
			body := strings.Repeat("x", tt.body)
			ts := startEngine(t, defaultLimits, func(w http.ResponseWriter, r *http.Request) {
				rw := w.(*respWriter)
				if r.RequestURI == "/plain" {
					if rw.pacer.Rate != 0 {
						t.Error("the next response kept the pace")
					}
					_, _ = w.Write([]byte(body))
					return
				}
				now := t0
				rw.pacer.Clock = func() time.Time { return now }
				rw.pacer.Sleep = func(_ context.Context, d time.Duration) error {
					pauses = append(pauses, d)
					unflushed = append(unflushed, rw.cc.writer().Buffered())
					now = now.Add(d)
					return nil
				}
				rw.paceAt(rate, tt.free, t0)
				w.Header().Set("Content-Length", strconv.Itoa(len(body)))
				for p := body; p != ""; p = p[min(tt.chunk, len(p)):] {
					if _, err := w.Write([]byte(p[:min(tt.chunk, len(p))])); err != nil {
						t.Error(err)
						return
					}
				}
			})
			rc := dialEngine(t, ts.addr)
			for _, path := range []string{"/paced", "/plain"} {
				rc.send("GET " + path + " HTTP/1.1\r\nHost: t\r\n\r\n")
				resp, got := rc.response("GET")
				if resp.StatusCode != 200 || got != body {
					t.Fatalf("%s: status %d, %d bytes; want 200, %d", path, resp.StatusCode, len(got), len(body))
				}
			}
			if len(pauses) != tt.wantPauses {
				t.Fatalf("pauses %v, want %d", pauses, tt.wantPauses)
			}
			var total time.Duration
			for i, d := range pauses {
				total += d
				if unflushed[i] != 0 {
					t.Errorf("pause %d began with %d bytes still in the buffered writer", i, unflushed[i])
				}
			}
			// The pauses pay for every byte past the free ones but the last
			// write's: less than the whole, at least the whole less a
			// second's worth.
			owed := time.Duration(int64(tt.body-int(tt.free)) * int64(time.Second) / rate)
			if total > owed+time.Millisecond || total < owed-time.Second {
				t.Errorf("paused %v in all (%v), want between %v and %v", total, pauses, owed-time.Second, owed)
			}
		})
	}
}

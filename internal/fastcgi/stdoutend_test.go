package fastcgi

import (
	"bufio"
	"strings"
	"testing"

	"fulcrum/internal/config"
)

// TestStdoutEndedInHead: a FastCGI server that ends its stdout before the
// head did is nginx's invalid header, so "fastcgi_next_upstream
// invalid_header" takes the next server, and without it the client gets
// 502. Recorded with nginx 1.22.1 (nginx-tests fastcgi_split.t): a server
// that wrote "BAD" and ended its request logged "upstream prematurely
// closed FastCGI stdout while reading response header from upstream" and
// the next server's "Good: header" answered, and under the default
// "error timeout" it answered 502; fulcrum took it as an error, so the
// first answered 502 and the second went to the next server.
func TestStdoutEndedInHead(t *testing.T) {
	bad := func(w *bufio.Writer) {
		writeRecord(w, typeStdout, []byte("BAD"))
		end(w)
	}
	good := func(w *bufio.Writer) {
		writeRecord(w, typeStdout, []byte("Good: header\r\n\r\nfine"))
		end(w)
	}
	const logged = "upstream prematurely closed FastCGI stdout while reading response header from upstream"
	for _, tt := range []struct {
		name string
		next config.NextUpstream
		code int
	}{
		{"invalid_header", config.NextInvalidHeader, 200},
		{"error timeout", config.NextError | config.NextTimeout, 502},
	} {
		t.Run(tt.name, func(t *testing.T) {
			set := settings()
			set.NextUpstream = tt.next
			h, logs := newHandler(t, set, 0, rawApp(t, bad), rawApp(t, good))
			w := doRecover(h)
			if w.Code != tt.code || tt.code == 200 && w.Body.String() != "fine" {
				t.Errorf("got %d %q, want %d", w.Code, w.Body, tt.code)
			}
			if !strings.Contains(logs.String(), logged) {
				t.Errorf("log:\n%s\nwant %q", logs, logged)
			}
		})
	}
}

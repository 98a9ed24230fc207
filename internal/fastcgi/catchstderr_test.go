package fastcgi

import (
	"bufio"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"fulcrum/internal/config"
	"fulcrum/internal/vars"
)

// TestCatchStderr checks fastcgi_catch_stderr: a STDERR record with one of
// the strings before the head is an invalid header (502, or the next
// server under fastcgi_next_upstream invalid_header); after the head it
// breaks the response off; other text is only logged. nginx logs the
// stderr line and nothing more.
func TestCatchStderr(t *testing.T) {
	fatal := func(w *bufio.Writer) {
		writeRecord(w, typeStderr, []byte("PHP Fatal error: boom\n"))
		writeRecord(w, typeStdout, []byte("Status: 200 OK\r\n\r\nbad"))
		end(w)
	}
	warning := func(w *bufio.Writer) {
		writeRecord(w, typeStderr, []byte("PHP Warning: meh\n"))
		writeRecord(w, typeStdout, []byte("Status: 200 OK\r\n\r\nfine"))
		end(w)
	}
	inBody := func(w *bufio.Writer) {
		writeRecord(w, typeStdout, []byte("Status: 200 OK\r\n\r\nfirst"))
		w.Flush()
		writeRecord(w, typeStderr, []byte("PHP Fatal error: late\n"))
		writeRecord(w, typeStdout, []byte("second"))
		end(w)
	}
	tests := []struct {
		name   string
		resp   func(w *bufio.Writer)
		next   config.NextUpstream
		code   int
		body   string
		stderr int // "FastCGI sent in stderr" lines, and no other error
	}{
		{"caught in the head", fatal, config.NextError, 502, "", 1},
		{"caught, next server", fatal, config.NextError | config.NextInvalidHeader, 200, "fine", 2},
		{"not caught", warning, config.NextError, 200, "fine", 1},
		{"caught in the body", inBody, config.NextError, 200, "first", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			set := settings()
			set.CatchStderr = []string{"Fatal error", "Parse error"}
			set.NextUpstream = tt.next
			servers := rawApp(t, tt.resp)
			h, logs := newHandler(t, set, 0, servers, rawApp(t, warning))
			w := doRecover(h)
			if w.Code != tt.code || tt.code == 200 && w.Body.String() != tt.body {
				t.Errorf("got %d %q, want %d %q", w.Code, w.Body, tt.code, tt.body)
			}
			log := logs.String()
			if n := strings.Count(log, "[error]"); n != tt.stderr || strings.Count(log, "FastCGI sent in stderr") != n {
				t.Errorf("log:\n%s\nwant %d stderr line(s) and no other error", log, tt.stderr)
			}
		})
	}
}

// doRecover serves one request through h; a response broken off after its
// head (nginx closes the connection) ends the handler with
// http.ErrAbortHandler, which the server would turn into a closed
// connection.
func doRecover(h *Handler) (w *httptest.ResponseRecorder) {
	defer func() {
		if v := recover(); v != nil && v != http.ErrAbortHandler {
			panic(v)
		}
	}()
	w = httptest.NewRecorder()
	r := httptest.NewRequest("GET", "/x.php", nil)
	st := &vars.State{}
	st.Method, st.Path, st.RequestURI, st.Header = "GET", "/x.php", "/x.php", vars.HeaderMap(r.Header)
	h.ServeHTTP(w, r, st)
	return w
}

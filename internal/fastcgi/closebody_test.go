package fastcgi

import (
	"bufio"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"fulcrum/internal/vars"
)

// TestCloseInBody: a FastCGI server that closes its connection in the
// body, before END_REQUEST, recorded from nginx 1.22.1 (a raw FastCGI
// backend, fastcgi_keep_conn and fastcgi_buffering on and off, a close
// after half a STDOUT record and after whole records, with and without a
// Content-Length). Without keep_conn, or without buffering, nginx takes the
// close as the end of the body: 200, the bytes read, nothing logged, the
// client's connection kept. With both on it logs "upstream prematurely
// closed connection while reading upstream", sends the head and what it
// read, and closes the client's connection.
func TestCloseInBody(t *testing.T) {
	const body = "0123456789abcdefghij"
	partial := func(head string) func(w *bufio.Writer) {
		return func(w *bufio.Writer) { // a record of 50 bytes, 10 of them sent
			writeRecord(w, typeStdout, []byte(head+body[:10]))
			w.Write([]byte{1, typeStdout, 0, requestID, 0, 50, 0, 0})
			w.WriteString(body[10:])
		}
	}
	whole := func(head string) func(w *bufio.Writer) {
		return func(w *bufio.Writer) {
			writeRecord(w, typeStdout, []byte(head+body[:10]))
			writeRecord(w, typeStdout, []byte(body[10:]))
		}
	}
	const plain = "Content-Type: text/plain\r\n\r\n"
	const short = "Content-Type: text/plain\r\nContent-Length: 100\r\n\r\n"
	const xab = "Content-Type: text/plain\r\nX-Accel-Buffering: no\r\n\r\n"
	tests := []struct {
		name                string
		resp                func(w *bufio.Writer)
		keepConn, buffering bool
		broken              bool // nginx's error line and closed client connection
	}{
		{"partial record", partial(plain), false, true, false},
		{"partial record, unbuffered", partial(plain), false, false, false},
		{"partial record, keep_conn", partial(plain), true, true, true},
		{"partial record, keep_conn, unbuffered", partial(plain), true, false, false},
		{"whole records", whole(plain), false, true, false},
		{"whole records, unbuffered", whole(plain), false, false, false},
		{"whole records, keep_conn", whole(plain), true, true, true},
		{"whole records, keep_conn, unbuffered", whole(plain), true, false, false},
		{"short Content-Length", whole(short), false, true, false},
		{"short Content-Length, keep_conn", partial(short), true, true, true},
		// X-Accel-Buffering: no reads the response unbuffered: nginx
		// 1.22.1 ended it cleanly under keep_conn and buffering on.
		{"whole records, keep_conn, X-Accel-Buffering no", whole(xab), true, true, false},
		{"partial record, keep_conn, X-Accel-Buffering no", partial(xab), true, true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			set := settings()
			set.KeepConn, set.Buffering = tt.keepConn, tt.buffering
			h, logs := newHandler(t, set, 4, rawApp(t, tt.resp))
			w, aborted := doAborted(h)
			if w.Code != http.StatusOK || w.Body.String() != body {
				t.Errorf("got %d %q, nginx 200 %q", w.Code, w.Body, body)
			}
			if tt.broken && !w.Flushed {
				t.Errorf("not flushed before the break: nginx sends the head and the bytes read")
			}
			if aborted != tt.broken {
				t.Errorf("client connection broken: %v, nginx %v", aborted, tt.broken)
			}
			const line = "upstream prematurely closed connection while reading upstream"
			if logged := strings.Contains(logs.String(), line); logged != tt.broken {
				t.Errorf("log:\n%s\nnginx logs %q: %v", logs, line, tt.broken)
			}
			if !tt.broken && strings.Contains(logs.String(), "[error]") {
				t.Errorf("log:\n%s\nnginx logs nothing", logs)
			}
		})
	}
}

// doAborted serves one GET through h and reports whether the handler
// ended the client's connection (http.ErrAbortHandler).
func doAborted(h *Handler) (w *httptest.ResponseRecorder, aborted bool) {
	return doAbortedAs(h, "GET")
}

// doAbortedAs is doAborted for a request with method.
func doAbortedAs(h *Handler, method string) (w *httptest.ResponseRecorder, aborted bool) {
	w = httptest.NewRecorder()
	defer func() {
		if v := recover(); v != nil {
			if v != http.ErrAbortHandler {
				panic(fmt.Sprint(v))
			}
			aborted = true
		}
	}()
	r := httptest.NewRequest(method, "/x.php", nil)
	st := &vars.State{}
	st.Method, st.Path, st.RequestURI, st.Header = method, "/x.php", "/x.php", vars.HeaderMap(r.Header)
	h.ServeHTTP(w, r, st)
	return w, false
}

// TestCacheCloseInBody: a body ended by the server's close (no
// fastcgi_keep_conn) is cached as nginx 1.22.1 caches it: when it has no
// Content-Length or the length it says, not when it is shorter.
func TestCacheCloseInBody(t *testing.T) {
	tests := []struct {
		name, head string
		second     string // the second request's $upstream_cache_status
	}{
		{"no length", "Content-Type: text/plain\r\n\r\n", "HIT"},
		{"its length", "Content-Length: 4\r\n\r\n", "HIT"},
		{"a longer length", "Content-Length: 100\r\n\r\n", "MISS"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			app := rawApp(t, func(w *bufio.Writer) {
				writeRecord(w, typeStdout, []byte(tt.head+"part"))
			})
			h := newCachingHandler(t, FastCGI, cacheSettings(nil), &fakeClock{}, app)
			for i, want := range []string{"MISS", tt.second} {
				w, status := doCached(h, "GET", "/x.php")
				if w.Code != http.StatusOK || w.Body.String() != "part" || status != want {
					t.Errorf("request %d: %d %q %s, nginx 200 \"part\" %s", i+1, w.Code, w.Body, status, want)
				}
			}
		})
	}
}

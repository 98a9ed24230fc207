package daemon_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/fcgi"
	"net/http/httptest"
	"os"
	"sync"
	"testing"
	"time"
)

// heldApp answers with the body "firstlater" (Content-Length: 10), sending
// "first" at once and "later" only when the test closes the channel its
// "id" argument names in held (or after ten seconds); its "b" argument,
// when given, is its X-Accel-Buffering field ("lb": spelt in lower case).
type heldApp struct {
	held sync.Map // id -> chan struct{}
}

func (a *heldApp) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if v, ok := q["b"]; ok {
		w.Header().Set("X-Accel-Buffering", v[0])
	}
	if v, ok := q["lb"]; ok { // the name in lower case, as sent
		w.Header()["x-accel-buffering"] = v
	}
	w.Header().Set("Content-Length", "10")
	io.WriteString(w, "first")
	w.(http.Flusher).Flush()
	ch, _ := a.held.LoadOrStore(q.Get("id"), make(chan struct{}))
	select {
	case <-ch.(chan struct{}):
	case <-time.After(10 * time.Second):
	}
	io.WriteString(w, "later")
}

// release lets the response of id send the rest of its body.
func (a *heldApp) release(id string) {
	ch, _ := a.held.LoadOrStore(id, make(chan struct{}))
	close(ch.(chan struct{}))
}

// readUntil reads from conn into buf until buf holds want after the end of
// the response head, or until deadline; it reports whether it found it.
func readUntil(conn net.Conn, buf *bytes.Buffer, want string, deadline time.Time) (bool, error) {
	_ = conn.SetReadDeadline(deadline)
	p := make([]byte, 4096)
	for {
		if _, body, ok := bytes.Cut(buf.Bytes(), []byte("\r\n\r\n")); ok && bytes.Contains(body, []byte(want)) {
			return true, nil
		}
		n, err := conn.Read(p)
		buf.Write(p[:n])
		if err != nil {
			if errors.Is(err, os.ErrDeadlineExceeded) {
				err = nil
			}
			return false, err
		}
	}
}

// TestAccelBufferingFlush: whether the first piece of a body reaches the
// client before the upstream sends the rest follows how nginx 1.22.1 reads
// the response: buffered (proxy_buffering, fastcgi_buffering on), a piece
// waits for the buffer to fill or the response to end; unbuffered, each
// piece goes out as it comes. The upstream's X-Accel-Buffering: no makes a
// response unbuffered and yes buffered whatever *_buffering says, unless
// *_ignore_headers X-Accel-Buffering. Recorded from nginx with an HTTP
// backend and a FastCGI application that send a head and 5 bytes, wait a
// second and send the rest: the client had the 5 bytes after 0.01 s when
// unbuffered, after 1 s when buffered, in every case below.
func TestAccelBufferingFlush(t *testing.T) {
	t.Parallel() // its cases run in parallel too; the whole waits beside the other parallel tests, not before them
	app := &heldApp{}
	be := httptest.NewServer(app)
	t.Cleanup(be.Close)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go fcgi.Serve(ln, app)
	t.Cleanup(func() { ln.Close() })
	dir := t.TempDir()
	addr := startDaemon(t, dir, fmt.Sprintf(`
    access_log off;
    fastcgi_param REQUEST_METHOD $request_method;
    fastcgi_param SERVER_PROTOCOL $server_protocol;
    fastcgi_param REQUEST_URI $request_uri;
    server {
        listen 127.0.0.1:0;
        location /p/ { proxy_pass http://%[1]s; }
        location /pi/ { proxy_ignore_headers X-Accel-Buffering; proxy_pass http://%[1]s; }
        location /pn/ { proxy_buffering off; proxy_pass http://%[1]s; }
        location /pni/ { proxy_buffering off; proxy_ignore_headers X-Accel-Buffering; proxy_pass http://%[1]s; }
        location /f/ { fastcgi_pass %[2]s; }
        location /fi/ { fastcgi_ignore_headers X-Accel-Buffering; fastcgi_pass %[2]s; }
        location /fn/ { fastcgi_buffering off; fastcgi_pass %[2]s; }
        location /fni/ { fastcgi_buffering off; fastcgi_ignore_headers X-Accel-Buffering; fastcgi_pass %[2]s; }
    }`, be.Listener.Addr(), ln.Addr()))
	tests := []struct {
		target string
		early  bool // the first piece comes before the rest is sent
	}{
		{"/p/x", false},
		{"/p/x?b=no", true},
		{"/p/x?lb=no", true},
		{"/p/x?b=yes", false},
		{"/pi/x?b=no", false},
		{"/pn/x", true},
		{"/pn/x?b=yes", false},
		{"/pn/x?b=no", true},
		{"/pni/x?b=yes", true},
		{"/f/x", false},
		{"/f/x?b=no", true},
		{"/fi/x?b=no", false},
		{"/fn/x", true},
		{"/fn/x?b=yes", false},
		{"/fni/x?b=yes", true},
	}
	for i, tt := range tests {
		t.Run(tt.target, func(t *testing.T) {
			t.Parallel()
			id := fmt.Sprint(i)
			sep := "?"
			if bytes.ContainsRune([]byte(tt.target), '?') {
				sep = "&"
			}
			conn, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			fmt.Fprintf(conn, "GET %s%sid=%s HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n", tt.target, sep, id)
			var buf bytes.Buffer
			// Unbuffered, the piece must come while the rest is held
			// back (the deadline is only a bound on failure); buffered,
			// it must not have come after a generous wait.
			wait := 5 * time.Second
			if !tt.early {
				wait = 300 * time.Millisecond
			}
			got, err := readUntil(conn, &buf, "first", time.Now().Add(wait))
			if err != nil {
				t.Fatalf("%v after %q", err, buf.Bytes())
			}
			if got != tt.early {
				t.Errorf("the first piece came before the rest: %v, want %v (read %q)", got, tt.early, buf.Bytes())
			}
			app.release(id)
			if ok, err := readUntil(conn, &buf, "firstlater", time.Now().Add(5*time.Second)); !ok {
				t.Errorf("no whole body: %q (%v)", buf.Bytes(), err)
			}
		})
	}
}

package daemon_test

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"fulcrum/internal/testutil"
)

// announcedHead is what a headRecorder saw of one request: its connection
// (numbered from 1 in the order accepted), request line ("METHOD target"),
// Content-Length and Transfer-Encoding fields, and, for a request that
// announced a length, what came after the head on its connection until
// the proxy closed it (the body a proxy that announced it did not send
// must not follow either).
type announcedHead struct {
	conn         int
	line, length string
	te           string
	after        string
}

// headRecorder is a backend that records request heads and answers each
// at once, without reading a body: what follows a head on the connection
// is the proxy's to decide. After a request that announces a length it
// reads until the connection closes and serves no more on it; after one
// without, it waits for the next request on the same connection.
type headRecorder struct {
	mu    sync.Mutex // guards heads and conns
	heads []announcedHead
	conns int
}

// startHeadRecorder starts a headRecorder that answers every request with
// answer (a whole response) and returns it with its address.
func startHeadRecorder(t *testing.T, answer string) (*headRecorder, string) {
	t.Helper()
	r := &headRecorder{}
	addr := testutil.RawBackend(t, func(c net.Conn) {
		r.mu.Lock()
		r.conns++
		id := r.conns
		r.mu.Unlock()
		_ = c.SetDeadline(time.Now().Add(5 * time.Second))
		br := bufio.NewReader(c)
		for {
			req, err := http.ReadRequest(br)
			if err != nil {
				return
			}
			h := announcedHead{conn: id, line: req.Method + " " + req.RequestURI, length: req.Header.Get("Content-Length"), te: strings.Join(req.TransferEncoding, ",")}
			io.WriteString(c, answer)
			if h.length != "" {
				rest, _ := io.ReadAll(br)
				h.after = string(rest)
			}
			r.mu.Lock()
			r.heads = append(r.heads, h)
			r.mu.Unlock()
			if h.length != "" {
				return
			}
		}
	})
	return r, addr
}

// wait returns the heads recorded, once there are n or after 5 s.
func (r *headRecorder) wait(n int) []announcedHead {
	var got []announcedHead
	for deadline := time.Now().Add(5 * time.Second); ; {
		r.mu.Lock()
		got = append(got[:0], r.heads...)
		r.mu.Unlock()
		if len(got) >= n || time.Now().After(deadline) {
			return got
		}
		time.Sleep(5 * time.Millisecond)
	}
}

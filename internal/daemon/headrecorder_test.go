package daemon_test

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
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
// must not follow either), or open if the connection's 5-second deadline
// came first.
type announcedHead struct {
	conn         int
	line, length string
	te           string
	after        string
	open         bool
}

// headRecorder is a backend that records request heads and answers each
// at once, without reading a body: what follows a head on the connection
// is the proxy's to decide. After a request that announces a length it
// reads until the connection ends and serves no more on it; after one
// without, it waits for the next request on the same connection.
type headRecorder struct {
	mu      sync.Mutex // guards heads, conns and pending
	heads   []announcedHead
	conns   int
	pending int // heads that announced a length, their connection not ended yet
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
			// Recorded before the answer: the heads keep the order the
			// requests came in, whenever the proxy closes a connection.
			r.mu.Lock()
			i := len(r.heads)
			r.heads = append(r.heads, h)
			if h.length != "" {
				r.pending++
			}
			r.mu.Unlock()
			io.WriteString(c, answer)
			if h.length == "" {
				continue
			}
			rest, err := io.ReadAll(br)
			r.mu.Lock()
			r.heads[i].after = string(rest)
			r.heads[i].open = errors.Is(err, os.ErrDeadlineExceeded)
			r.pending--
			r.mu.Unlock()
			return
		}
	})
	return r, addr
}

// wait returns the heads recorded, in the order they came, once there are
// n and the connections of those that announced a length have ended
// (closed, or at their deadline), or after 6 s.
func (r *headRecorder) wait(n int) []announcedHead {
	var got []announcedHead
	for deadline := time.Now().Add(6 * time.Second); ; {
		r.mu.Lock()
		got = append(got[:0], r.heads...)
		pending := r.pending
		r.mu.Unlock()
		if len(got) >= n && pending == 0 || time.Now().After(deadline) {
			return got
		}
		time.Sleep(5 * time.Millisecond)
	}
}

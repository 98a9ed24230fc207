package daemon

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// FuzzEngine sends arbitrary bytes to the engine over a real loopback
// connection, as a client would, and checks what comes back: every response is
// well formed (net/http's reader takes each one whole, interim 100s included),
// every request the handler saw got its own response, in order, at most one
// more response follows (the answer to a refused head), and no handler ever
// got a body longer or shorter than its declared length without an error.
// The engine must neither panic nor hang (the read deadline would fail the run).
func FuzzEngine(f *testing.F) {
	for _, seed := range []string{
		"GET / HTTP/1.1\r\nHost: a\r\n\r\n",
		"POST /p HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabcGET /2 HTTP/1.1\r\nHost: a\r\n\r\n",
		"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\nHEAD /big HTTP/1.1\r\nHost: a\r\n\r\n",
		"GET /big HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET /flush HTTP/1.1\r\nHost: a\r\n\r\n",
		"POST / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\nx",
		"GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n",
		"GET /x HTTP/1.1\r\nHost: a\r\n\r\nGARBAGE\r\n\r\n",
	} {
		f.Add([]byte(seed))
	}
	var mu sync.Mutex
	methods := map[string][]string{} // client address -> methods the handler saw, in order
	var violations []string
	big := strings.Repeat("b", maxPending+100)
	ts := startEngine(f, limits{headerTimeout: 2 * time.Second, keepaliveTimeout: 2 * time.Second}, func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		methods[r.RemoteAddr] = append(methods[r.RemoteAddr], r.Method)
		mu.Unlock()
		body, err := io.ReadAll(r.Body)
		if err == nil && r.ContentLength >= 0 && int64(len(body)) != r.ContentLength {
			mu.Lock()
			violations = append(violations, fmt.Sprintf("%s %s: read %d body bytes, declared %d", r.Method, r.RequestURI, len(body), r.ContentLength))
			mu.Unlock()
		}
		switch {
		case strings.HasPrefix(r.RequestURI, "/big"):
			io.WriteString(w, big)
		case strings.HasPrefix(r.RequestURI, "/flush"):
			io.WriteString(w, "a")
			w.(http.Flusher).Flush()
			io.WriteString(w, "b")
		default:
			fmt.Fprintf(w, "%s %d", r.Method, len(body))
		}
	})
	f.Fuzz(func(t *testing.T, in []byte) {
		c, err := net.Dial("tcp", ts.addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(10 * time.Second))
		c.Write(in) // the server may close before taking it all
		c.(*net.TCPConn).CloseWrite()
		br := bufio.NewReader(c)
		var got int
		for {
			if _, err := br.Peek(1); err == io.EOF {
				break
			} else if err != nil && got == 0 {
				return // reset by the server before any answer (it closed with input unread)
			} else if err != nil {
				break
			}
			mu.Lock()
			seen := methods[c.LocalAddr().String()]
			mu.Unlock()
			method := http.MethodGet
			if got < len(seen) {
				method = seen[got]
			}
			resp, err := http.ReadResponse(br, &http.Request{Method: method})
			if err != nil {
				t.Fatalf("response %d is malformed: %v", got+1, err)
			}
			if _, err := io.ReadAll(resp.Body); err != nil {
				t.Fatalf("response %d: body: %v", got+1, err)
			}
			if resp.StatusCode == http.StatusContinue {
				continue
			}
			got++
		}
		mu.Lock()
		seen := len(methods[c.LocalAddr().String()])
		delete(methods, c.LocalAddr().String())
		v := violations
		violations = nil
		mu.Unlock()
		if got < seen || got > seen+1 {
			t.Fatalf("%d responses for %d requests the handler saw", got, seen)
		}
		if len(v) > 0 {
			t.Fatalf("framing: %v", v)
		}
	})
}

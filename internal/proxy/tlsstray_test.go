package proxy

import (
	"bufio"
	"context"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"fulcrum/internal/config"
)

// TestTLSStrayResponseNotReused: a TLS upstream that sends a second,
// unasked response in the same write (one TLS record) as its answer leaves
// the connection unusable, whatever the size of the answer: the stray
// bytes may sit in crypto/tls's decrypted buffer, where neither the peek
// at the socket nor the read buffer sees them, and were read as the next
// request's response (another client's). nginx's keepalive close handler
// drops a connection with anything to read. A quiet one is reused.
func TestTLSStrayResponseNotReused(t *testing.T) {
	certSrv := httptest.NewTLSServer(http.NotFoundHandler())
	cfg := certSrv.TLS.Clone()
	certSrv.Close()
	cfg.NextProtos = nil
	cfg.DynamicRecordSizingDisabled = true // records of up to 16 KiB, as OpenSSL writes them
	const stray = "HTTP/1.1 200 OK\r\nContent-Length: 8\r\n\r\npoisoned"
	for _, size := range []int{5, 3000, 6000, 12000} {
		t.Run(strconv.Itoa(size), func(t *testing.T) {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { ln.Close() })
			tln := tls.NewListener(ln, cfg)
			var answered atomic.Int32 // the first answer of all carries the stray one
			go func() {
				for {
					c, err := tln.Accept()
					if err != nil {
						return
					}
					go func(c net.Conn) {
						defer c.Close()
						br := bufio.NewReader(c)
						for {
							if _, err := http.ReadRequest(br); err != nil {
								return
							}
							answer := "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nreal"
							if answered.Add(1) == 1 {
								answer = "HTTP/1.1 200 OK\r\nContent-Length: " + strconv.Itoa(size) + "\r\n\r\n" + strings.Repeat("a", size) + stray
							}
							if _, err := io.WriteString(c, answer); err != nil { // one write: one record
								return
							}
						}
					}(c)
				}
			}()
			pool := newConnPool(PoolOptions{})
			dst := &dialTarget{network: "tcp", addr: ln.Addr().String(), timeout: time.Second,
				tls: newUpstreamTLS(config.ProxySSL{MinVersion: tls.VersionTLS12, MaxVersion: tls.VersionTLS13}, "127.0.0.1")}
			ctx := context.Background()
			for i, want := range []string{strings.Repeat("a", size), "real", "real"} {
				pc, reused, err := pool.get(ctx, dst, time.Now())
				if err != nil {
					t.Fatal(err)
				}
				out := &outgoing{head: []byte("GET / HTTP/1.1\r\nHost: x\r\n"), method: []byte("GET")}
				resp := &upstreamResponse{}
				if _, err := pool.exchange(ctx, pc, reused, out, exchangeTimeouts{read: 5 * time.Second}, resp); err != nil {
					t.Fatal(err)
				}
				// Read as the proxy's copy reads (response.go: 32 KiB at
				// a time), which the rest of a longer body bypasses the
				// connection's read buffer for.
				var b []byte
				buf := make([]byte, 32<<10)
				for err == nil {
					var n int
					n, err = resp.Read(buf)
					b = append(b, buf[:n]...)
				}
				if err == io.EOF {
					err = nil
				}
				resp.Close()
				if err != nil || string(b) != want {
					t.Fatalf("request %d (reused %v): body %.20q (%d bytes), %v; want %.20q", i, reused, b, len(b), err, want)
				}
				if i == 2 && !reused {
					t.Error("a quiet kept TLS connection was not reused")
				}
			}
		})
	}
}

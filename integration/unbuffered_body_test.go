package integration

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestUnbufferedBodyHeadAtOnce: with proxy_request_buffering off, a request
// whose body has not started to arrive has its head sent upstream at once,
// each body part after it as it comes, as nginx 1.22.1 does (recorded:
// "Content-Length: 10" and no body; the server read the head alone, then
// "01234" when the client sent it; nginx-tests proxy_request_buffering.t
// "no preread"), and the same for a chunked body (its "no preread" in
// proxy_request_buffering_chunked.t). fulcrum held the head back until the
// first body bytes.
func TestUnbufferedBodyHeadAtOnce(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	in := startFulcrum(t, fmt.Sprintf(`
events {}
http {
    server {
        listen 127.0.0.1:0;
        proxy_request_buffering off;
        proxy_http_version 1.1;
        location / { proxy_pass http://%s; }
    }
}`, ln.Addr()), 1)
	// The chunked case is nginx-tests proxy_request_buffering_chunked.t
	// "no preread": nginx 1.22.1 sent the head with "Transfer-Encoding:
	// chunked" at once, then "5\r\n01234\r\n" and the rest as the client
	// sent them (recorded); fulcrum waited for the first chunk.
	for _, tc := range []struct {
		name, field string
		parts       []string // what the client sends, one at a time
		want        []string // what the backend reads for each
	}{
		{"length", "Content-Length: 10", []string{"01234", "56789"}, []string{"01234", "56789"}},
		{"chunked", "Transfer-Encoding: chunked",
			[]string{"5\r\n01234\r\n", "5\r\n56789\r\n0\r\n\r\n"},
			[]string{"5\r\n01234\r\n", "5\r\n56789\r\n0\r\n\r\n"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := net.DialTimeout("tcp", in.listening()[0], 5*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			io.WriteString(c, "POST /up HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"+tc.field+"\r\n\r\n")
			_ = ln.(*net.TCPListener).SetDeadline(time.Now().Add(5 * time.Second))
			b, err := ln.Accept()
			if err != nil {
				t.Fatal(err)
			}
			defer b.Close()
			br := bufio.NewReader(b)
			_ = b.SetReadDeadline(time.Now().Add(5 * time.Second))
			var head strings.Builder
			for {
				line, err := br.ReadString('\n')
				if err != nil {
					t.Fatalf("the head did not come before the body: %q, %v", head.String(), err)
				}
				head.WriteString(line)
				if line == "\r\n" {
					break
				}
			}
			if !strings.HasPrefix(head.String(), "POST /up HTTP/1.1\r\n") || !strings.Contains(head.String(), tc.field+"\r\n") {
				t.Fatalf("head %q", head.String())
			}
			for i, part := range tc.parts {
				io.WriteString(c, part)
				buf := make([]byte, len(tc.want[i]))
				if _, err := io.ReadFull(br, buf); err != nil || string(buf) != tc.want[i] {
					t.Fatalf("body part %q: got %q, %v", part, buf, err)
				}
			}
			io.WriteString(b, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
			resp, err := http.ReadResponse(bufio.NewReader(c), nil)
			if err != nil || resp.StatusCode != 200 {
				t.Fatalf("response %v, %v", resp, err)
			}
		})
	}
}

// TestUnbufferedBodyVariable: with proxy_request_buffering off, a body that
// went upstream whole before the response head is $request_body when the
// head goes out (add_header), as nginx 1.22.1 shows it (recorded: add_header
// X-Body $request_body; with bodies of 10 and 1280 bytes, and the last of
// pipelined requests; nginx-tests proxy_request_buffering.t "body").
// fulcrum set it only once the response was done, so X-Body was missing.
func TestUnbufferedBodyVariable(t *testing.T) {
	back := httptestServer(t)
	in := startFulcrum(t, fmt.Sprintf(`
events {}
http {
    server {
        listen 127.0.0.1:0;
        proxy_request_buffering off;
        location / { add_header X-Body "$request_body"; proxy_pass http://%s; }
    }
}`, back), 1)
	for _, body := range []string{"0123456789", strings.Repeat("0123456789", 128)} {
		c, err := net.DialTimeout("tcp", in.listening()[0], 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(c, "POST / HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: %d\r\n\r\n%s", len(body), body)
		_ = c.SetDeadline(time.Now().Add(5 * time.Second))
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		c.Close()
		if err != nil {
			t.Fatal(err)
		}
		if got := resp.Header.Get("X-Body"); got != body {
			t.Errorf("X-Body %q, want the %d-byte body", got, len(body))
		}
	}
}

// httptestServer is a backend that reads the request's body and answers 200.
func httptestServer(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		io.WriteString(w, "ok")
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String()
}

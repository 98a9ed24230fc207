package daemon_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// leftoverBackend answers each request with the body it read by the first
// Content-Length (none when the value is missing or not a number), then
// reads the connection to its end and sends on the returned channel what
// came after that body: bytes a server reads as its next request.
func leftoverBackend(t *testing.T) (string, <-chan string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	left := make(chan string, 16)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				_ = c.SetDeadline(time.Now().Add(5 * time.Second))
				br := bufio.NewReader(c)
				length := 0
				for {
					line, err := br.ReadString('\n')
					if err != nil {
						return
					}
					line = strings.TrimRight(line, "\r\n")
					if line == "" {
						break
					}
					if name, value, _ := strings.Cut(line, ":"); strings.EqualFold(name, "Content-Length") && length == 0 {
						length, _ = strconv.Atoi(strings.TrimSpace(value))
					}
				}
				body := make([]byte, length)
				if _, err := io.ReadFull(br, body); err != nil {
					return
				}
				out := "body=" + string(body)
				fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s", len(out), out)
				rest, _ := io.ReadAll(br) // fulcrum closes after the answer
				left <- string(rest)
			}()
		}
	}()
	return ln.Addr().String(), left
}

// TestUserLengthBoundsTheBody checks that a body goes upstream no longer
// than the length proxy_set_header Content-Length gives it. nginx 1.22.1
// sends the whole body after a shorter set length, or after none ("" or a
// variable that evaluates empty), bytes the server reads as a next request
// (recorded with a raw backend: "Content-Length: 3" with "abcdef" left
// "def" on the connection, an empty $http_x_len left "hello"): a client
// smuggles a request past fulcrum's location rules. The server must see
// the message nginx's sees and nothing after it, and the client's
// connection must stay in step for its next request.
func TestUserLengthBoundsTheBody(t *testing.T) {
	up, left := leftoverBackend(t)
	dir := t.TempDir()
	addr := startDaemon(t, dir, fmt.Sprintf(`server { listen 127.0.0.1:0;
        location /len/ { proxy_set_header Content-Length 3; proxy_pass http://%[1]s; }
        location /var/ { proxy_set_header Content-Length $http_x_len; proxy_pass http://%[1]s; }
        location /file/ { client_body_buffer_size 1k; proxy_set_header Content-Length 3; proxy_pass http://%[1]s; }
        location /stream/ { proxy_request_buffering off; proxy_set_header Content-Length 3; proxy_pass http://%[1]s; }
        location = /next { return 204; }
    }`, up))
	smuggled := "GET /admin HTTP/1.1\r\nHost: b\r\n\r\n"
	big := "abc" + strings.Repeat("x", 8000)
	tests := []struct {
		name, request, want string
	}{
		{"a shorter set length", "POST /len/x HTTP/1.1\r\nHost: a\r\nContent-Length: 6\r\n\r\nabcdef", "body=abc"},
		{"a request hidden after the set length",
			"POST /len/x HTTP/1.1\r\nHost: a\r\nContent-Length: " + strconv.Itoa(3+len(smuggled)) + "\r\n\r\nabc" + smuggled, "body=abc"},
		{"a set length from a variable", "POST /var/x HTTP/1.1\r\nHost: a\r\nX-Len: 2\r\nContent-Length: 5\r\n\r\nhello", "body=he"},
		{"a variable that evaluates empty sends no length", "POST /var/x HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello", "body="},
		{"a set length that is not a number", "POST /var/x HTTP/1.1\r\nHost: a\r\nX-Len: 1x\r\nContent-Length: 5\r\n\r\nhello", "body="},
		{"a longer set length", "POST /var/x HTTP/1.1\r\nHost: a\r\nX-Len: 5\r\nContent-Length: 5\r\n\r\nhello", "body=hello"},
		{"a body in a temporary file", "POST /file/x HTTP/1.1\r\nHost: a\r\nContent-Length: " + strconv.Itoa(len(big)) + "\r\n\r\n" + big, "body=abc"},
		{"a streamed body", "POST /stream/x HTTP/1.1\r\nHost: a\r\nContent-Length: " + strconv.Itoa(len(big)) + "\r\n\r\n" + big, "body=abc"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			_ = c.SetDeadline(time.Now().Add(5 * time.Second))
			if _, err := io.WriteString(c, tt.request); err != nil {
				t.Fatal(err)
			}
			br := bufio.NewReader(c)
			resp, err := http.ReadResponse(br, nil)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			if string(body) != tt.want {
				t.Errorf("upstream read %q, want %q", body, tt.want)
			}
			select {
			case rest := <-left:
				if rest != "" {
					t.Errorf("upstream got %d bytes after the message: %.40q", len(rest), rest)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("the upstream connection was not closed")
			}
			// The client's connection is still in step (or closed).
			if _, err := io.WriteString(c, "GET /next HTTP/1.1\r\nHost: a\r\n\r\n"); err != nil {
				return
			}
			if resp, err := http.ReadResponse(br, nil); err == nil && resp.StatusCode != http.StatusNoContent {
				t.Errorf("next request: %d, want 204", resp.StatusCode)
			}
		})
	}
}

// TestUserTransferEncodingNotSent checks that proxy_set_header
// Transfer-Encoding sends no field: the body's framing is fulcrum's. nginx
// 1.22.1 sends it beside its own Content-Length (recorded: "X-TE: chunked"
// through $http_x_te and a 6-byte body gave "Transfer-Encoding: chunked"
// and "Content-Length: 6"), which a server that reads the body as chunked
// takes for a short body and a next request (here "GET /admin").
func TestUserTransferEncodingNotSent(t *testing.T) {
	up := rawHeadBackend(t)
	dir := t.TempDir()
	addr := startDaemon(t, dir, fmt.Sprintf(`server { listen 127.0.0.1:0;
        location /te/ { proxy_set_header Transfer-Encoding $http_x_te; proxy_pass http://%[1]s; }
        location /fixed/ { proxy_set_header Transfer-Encoding chunked; proxy_pass http://%[1]s; }
    }`, up))
	host := "Host: " + up
	body := "0\r\n\r\nGET /admin HTTP/1.1\r\nHost: b\r\n\r\n"
	tests := []struct {
		name, request string
		want          []string
	}{
		{"from a variable",
			"POST /te/x HTTP/1.1\r\nHost: a\r\nX-TE: chunked\r\nContent-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n" + body,
			[]string{"POST /te/x HTTP/1.1", host, "Content-Length: " + strconv.Itoa(len(body)), "X-TE: chunked", "body=" + body}},
		{"fixed",
			"POST /fixed/x HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\nab",
			[]string{"POST /fixed/x HTTP/1.1", host, "Content-Length: 2", "body=ab"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, got := sendHead(t, addr, tt.request)
			if want := strings.Join(tt.want, "\n"); string(got) != want {
				t.Errorf("upstream got\n%q\nwant\n%q", got, want)
			}
		})
	}
}

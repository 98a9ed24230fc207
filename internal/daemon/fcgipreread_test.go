package daemon_test

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"testing"
	"time"

	"fulcrum/internal/testutil"
)

// TestFastCGIPrereadWithParams: with fastcgi_request_buffering off, the
// body bytes that came with the request's head go to the server with the
// params, in the same write, as nginx 1.22.1 sends them (recorded,
// nginx-tests fastcgi_request_buffering.t "preread": "Content-Length: 10"
// and "01234" with the head; the server's first read of 1024 bytes had the
// params and a STDIN record "01234"). fulcrum flushed the params alone and
// sent the preread part after them, so that first read had no STDIN (in
// about one request in five here: the request repeats 20 times), and sent
// a chunked body's first chunk after them always (nginx-tests
// fastcgi_request_buffering_chunked.t "preread": "01234" with the params).
func TestFastCGIPrereadWithParams(t *testing.T) {
	first := make(chan []byte, 1)
	addr := testutil.RawBackend(t, func(c net.Conn) {
		buf := make([]byte, 64<<10)
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		n, _ := c.Read(buf)
		first <- buf[:n]
		br := bufio.NewReader(io.MultiReader(bytes.NewReader(buf[:n]), c))
		if skipFCGIStdin(br) != nil {
			return
		}
		c.Write(fcgiStdout([]byte("Status: 200 OK\r\nContent-Type: text/plain\r\n\r\nok"), 0, 0, 0))
	})
	dir := t.TempDir()
	front := startDaemon(t, dir, `
    server {
        listen 127.0.0.1:0;
        location / { fastcgi_pass `+addr+`; fastcgi_request_buffering off; }
    }`)
	for _, tc := range []struct{ name, first, rest string }{
		{"length", "Content-Length: 10\r\n\r\n01234", "56789"},
		{"chunked", "Transfer-Encoding: chunked\r\n\r\n5\r\n01234\r\n", "5\r\n56789\r\n0\r\n\r\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for i := 0; i < 20; i++ {
				c := testutil.SendRaw(t, front, "POST /p HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"+tc.first)
				var got []byte
				select {
				case got = <-first:
				case <-time.After(5 * time.Second):
					t.Fatal("no request reached the server")
				}
				br := bufio.NewReader(bytes.NewReader(got))
				stdin := ""
				for {
					typ, content, err := readFCGIRecord(br)
					if err != nil {
						break
					}
					if typ == 5 {
						stdin += string(content)
					}
				}
				if stdin != "01234" {
					t.Fatalf("request %d: STDIN in the server's first read %q, want %q", i, stdin, "01234")
				}
				c.Write([]byte(tc.rest))
				c.SetReadDeadline(time.Now().Add(5 * time.Second))
				resp, _ := io.ReadAll(c)
				if !bytes.HasPrefix(resp, []byte("HTTP/1.1 200 ")) {
					t.Fatalf("request %d: response %q", i, resp)
				}
			}
		})
	}
}

// TestFastCGIStreamedBodyInErrorPage: with fastcgi_request_buffering off, a
// body that went to the server whole is $request_body for the error page
// that fastcgi_intercept_errors leads to, as nginx 1.22.1 has it
// (recorded, nginx-tests fastcgi_request_buffering.t "body in error page":
// error_page 404 /404; with "return 200 "$request_body\n"" there gave
// "0123456789"). fulcrum's error page saw no body ("\n").
func TestFastCGIStreamedBodyInErrorPage(t *testing.T) {
	addr := testutil.RawBackend(t, func(c net.Conn) {
		br := bufio.NewReader(c)
		if _, err := readFCGIParams(br); err != nil {
			return
		}
		if skipFCGIStdin(br) != nil {
			return
		}
		c.Write(fcgiStdout([]byte("Status: 404 Not Found\r\n\r\n"), 0, 0, 0))
	})
	dir := t.TempDir()
	front := startDaemon(t, dir, `
    server {
        listen 127.0.0.1:0;
        location / {
            fastcgi_pass `+addr+`;
            fastcgi_request_buffering off;
            fastcgi_intercept_errors on;
            error_page 404 /404;
        }
        location /404 { return 200 "$request_body\n"; }
    }`)
	c := testutil.SendRaw(t, front, "POST /p HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 10\r\n\r\n0123456789")
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	resp, _ := io.ReadAll(c)
	if !bytes.HasSuffix(resp, []byte("\r\n\r\n0123456789\n")) {
		t.Errorf("response %q, want the body %q", resp, "0123456789\n")
	}
}

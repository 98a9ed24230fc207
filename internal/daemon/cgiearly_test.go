package daemon_test

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"fulcrum/internal/testutil"
)

// earlyApp is a FastCGI, SCGI or uwsgi application that answers 413 before
// it read the whole body: it reads the request's head, then part body
// bytes, answers, and closes; with hold it keeps the connection after the
// answer and reads until the other side closes it, then sends true on
// closed.
func earlyApp(t *testing.T, proto string, part int, hold bool) (string, chan bool) {
	closed := make(chan bool, 4)
	addr := testutil.RawBackend(t, func(c net.Conn) {
		br := bufio.NewReader(c)
		var err error
		switch proto {
		case "fastcgi":
			_, err = readFCGIParams(br)
		case "scgi":
			_, err = readSCGIHead(br)
		default:
			_, _, err = testutil.ReadUWSGI(br)
		}
		if err != nil || readPart(br, proto, part) != nil {
			return
		}
		answer := "Status: 413 Too Big\r\nContent-Type: text/plain\r\n\r\nno thanks\n"
		if proto == "fastcgi" {
			c.Write(fcgiStdout([]byte(answer), 0, 0, 0))
		} else {
			c.Write([]byte(answer))
		}
		if hold {
			c.SetReadDeadline(time.Now().Add(3 * time.Second))
			_, err := io.Copy(io.Discard, br)
			closed <- err == nil
		}
	})
	return addr, closed
}

// readPart reads n bytes of the request body (FastCGI: STDIN records).
func readPart(br *bufio.Reader, proto string, n int) error {
	for n > 0 {
		if proto != "fastcgi" {
			_, err := io.ReadFull(br, make([]byte, n))
			return err
		}
		_, content, err := readFCGIRecord(br)
		if err != nil {
			return err
		}
		n -= len(content)
	}
	return nil
}

// TestCGIEarlyAnswer checks, against what nginx 1.22.1 did with FastCGI and
// SCGI applications that answer before they read the whole body (a client
// sending 1 MiB in 64 KiB pieces every 50 ms, *_request_buffering off),
// that the answer reaches the client while its body still streams: at
// once, before the client sends the rest, followed by the connection's
// close (nginx finalizes the request with its body unread: no keep-alive,
// a lingering close, though its head said "Connection: keep-alive"). The access log counts in $request_length only the
// bytes read before the answer (nginx: 64, the head alone, for an
// application that answered on the parameters), and a chunked body's
// $content_length is not found. With fastcgi_buffering off the connection
// to an application that answered but goes on reading is closed at the
// response's end (nginx closes it at the finalization).
func TestCGIEarlyAnswer(t *testing.T) {
	dir := t.TempDir()
	type app struct {
		addr   string
		closed chan bool
	}
	apps := map[string]app{}
	conf := ""
	for _, a := range []struct {
		name, proto string
		part        int
		hold        bool
		more        string
	}{
		{"f", "fastcgi", 0, false, ""},
		{"fpart", "fastcgi", 5, false, ""},
		{"s", "scgi", 0, false, ""},
		{"spart", "scgi", 5, false, ""},
		{"u", "uwsgi", 0, false, ""},
		{"upart", "uwsgi", 5, false, ""},
		{"fhold", "fastcgi", 0, true, "fastcgi_buffering off;"},
	} {
		addr, closed := earlyApp(t, a.proto, a.part, a.hold)
		apps[a.name] = app{addr, closed}
		pass := map[string]string{"fastcgi": "fastcgi", "scgi": "scgi", "uwsgi": "uwsgi"}[a.proto]
		conf += fmt.Sprintf("        location /%s { %s_pass %s; %s_request_buffering off; %s }\n", a.name, pass, addr, pass, a.more)
	}
	addr := startDaemon(t, dir, `
    log_format t '$request_uri $status $request_length $upstream_status "$content_length"';
    access_log `+filepath.Join(dir, "access.log")+` t buffer=0;
    client_body_timeout 3s;
    server {
        listen 127.0.0.1:0;
`+conf+`    }`)
	tests := []struct {
		app           string
		chunked       bool
		sent, rest    string // the body sent with the head, and after the answer
		length, clLog string // $request_length past the head; $content_length
	}{
		{"f", false, "", "helloworld", "0", "10"},
		{"f", true, "", "5\r\nhello\r\n5\r\nworld\r\n0\r\n\r\n", "0", "-"},
		{"fpart", false, "hello", "world", "5", "10"},
		{"fpart", true, "5\r\nhello\r\n", "5\r\nworld\r\n0\r\n\r\n", "10", "-"},
		{"s", false, "", "helloworld", "0", "10"},
		{"spart", false, "hello", "world", "5", "10"},
		{"u", false, "", "helloworld", "0", "10"},
		{"upart", false, "hello", "world", "5", "10"},
		{"fhold", false, "", "helloworld", "0", "10"},
	}
	var lines []string // the access log's, checked at the end (it is flushed every second)
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s chunked=%v", tt.app, tt.chunked), func(t *testing.T) {
			head := "POST /" + tt.app + " HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n"
			if tt.chunked {
				head = "POST /" + tt.app + " HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
			}
			c := testutil.SendRaw(t, addr, head+tt.sent)
			// The whole answer and the close come before the rest of the
			// body is sent, and long before client_body_timeout.
			c.SetReadDeadline(time.Now().Add(2 * time.Second))
			resp, err := io.ReadAll(c)
			if err != nil || !bytes.HasPrefix(resp, []byte("HTTP/1.1 413 ")) || !bytes.Contains(resp, []byte("no thanks\n")) {
				t.Fatalf("response %q (%v), want the 413 and the close before the body's end", resp, err)
			}
			c.Write([]byte(tt.rest)) // lingering: read and thrown away
			if ch := apps[tt.app].closed; tt.app == "fhold" {
				select {
				case ok := <-ch:
					if !ok {
						t.Error("the application's connection was not closed after the answer")
					}
				case <-time.After(3 * time.Second):
					t.Error("the application's connection stays open")
				}
			}
			n, _ := strconv.Atoi(tt.length)
			lines = append(lines, fmt.Sprintf(`/%s 413 %d 413 "%s"`, tt.app, len(head)+n, tt.clLog))
		})
	}
	for _, l := range lines {
		waitForLine(t, filepath.Join(dir, "access.log"), l)
	}
}

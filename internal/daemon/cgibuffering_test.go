package daemon_test

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"fulcrum/internal/testutil"
)

// cgiRecorder is a FastCGI, SCGI or uwsgi application that records what
// arrives when: "head CL=V" once the request's head (parameters) is in,
// with its CONTENT_LENGTH, then "body B" for each piece of body read,
// "eof" when the connection ended before the body did. It answers "got N"
// once the 10-byte body "helloworld" is in.
type cgiRecorder struct {
	mu     sync.Mutex
	events []string
}

func (c *cgiRecorder) add(e string) {
	c.mu.Lock()
	c.events = append(c.events, e)
	c.mu.Unlock()
}

// seen returns the events so far, joined by "|".
func (c *cgiRecorder) seen() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return strings.Join(c.events, "|")
}

// waitSeen polls until the events are want.
func (c *cgiRecorder) waitSeen(t *testing.T, want string) {
	t.Helper()
	for deadline := time.Now().Add(3 * time.Second); c.seen() != want; {
		if time.Now().After(deadline) {
			t.Fatalf("backend saw %q, want %q", c.seen(), want)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// cgiRecordingBackend starts a cgiRecorder speaking proto.
func cgiRecordingBackend(t *testing.T, proto string) (string, *cgiRecorder) {
	rec := &cgiRecorder{}
	addr := testutil.RawBackend(t, func(c net.Conn) {
		br := bufio.NewReader(c)
		var cl string
		var err error
		switch proto {
		case "fastcgi":
			cl, err = readFCGIParams(br)
		case "scgi":
			cl, err = readSCGIHead(br)
		default:
			var vars [][2]string
			_, vars, err = testutil.ReadUWSGI(br)
			cl = testutil.UWSGIVar(vars, "CONTENT_LENGTH")
		}
		if err != nil {
			return
		}
		rec.add("head CL=" + cl)
		n, ok := rec.readBody(br, proto)
		if !ok {
			rec.add("eof")
			return
		}
		answer := fmt.Sprintf("Status: 200 OK\r\nContent-Type: text/plain\r\n\r\ngot %d", n)
		if proto == "fastcgi" {
			c.Write(fcgiStdout([]byte(answer), 0, 0, 0))
			return
		}
		c.Write([]byte(answer))
	})
	return addr, rec
}

// readBody reads the body, recording each piece, until the 10 bytes are
// in (and for FastCGI the empty STDIN record); false when the connection
// ended first.
func (c *cgiRecorder) readBody(br *bufio.Reader, proto string) (int, bool) {
	n := 0
	for {
		var piece []byte
		if proto == "fastcgi" {
			typ, content, err := readFCGIRecord(br)
			if err != nil || typ != 5 {
				return n, false
			}
			if len(content) == 0 {
				return n, true
			}
			piece = content
		} else {
			buf := make([]byte, 64)
			k, err := br.Read(buf)
			if err != nil {
				return n, false
			}
			piece = buf[:k]
		}
		n += len(piece)
		c.add("body " + string(piece))
		if proto != "fastcgi" && n >= 10 {
			return n, true
		}
	}
}

// skipFCGIStdin reads records up to the empty STDIN record that ends a
// request's body.
func skipFCGIStdin(br *bufio.Reader) error {
	for {
		typ, content, err := readFCGIRecord(br)
		if err != nil {
			return err
		}
		if typ == 5 && len(content) == 0 {
			return nil
		}
	}
}

// readFCGIRecord reads one FastCGI record: its type and content.
func readFCGIRecord(br *bufio.Reader) (byte, []byte, error) {
	var h [8]byte
	if _, err := io.ReadFull(br, h[:]); err != nil {
		return 0, nil, err
	}
	b := make([]byte, int(binary.BigEndian.Uint16(h[4:]))+int(h[6]))
	if _, err := io.ReadFull(br, b); err != nil {
		return 0, nil, err
	}
	return h[1], b[:binary.BigEndian.Uint16(h[4:])], nil
}

// readFCGIParams reads BEGIN_REQUEST and the PARAMS stream; it returns the
// CONTENT_LENGTH parameter.
func readFCGIParams(br *bufio.Reader) (string, error) {
	var params []byte
	for {
		typ, content, err := readFCGIRecord(br)
		if err != nil {
			return "", err
		}
		if typ != 4 {
			continue
		}
		if len(content) == 0 {
			break
		}
		params = append(params, content...)
	}
	for len(params) > 0 {
		var nl, vl int
		nl, params = fcgiLength(params)
		vl, params = fcgiLength(params)
		name, value := string(params[:nl]), string(params[nl:nl+vl])
		params = params[nl+vl:]
		if name == "CONTENT_LENGTH" {
			return value, nil
		}
	}
	return "", nil
}

// fcgiLength reads one length of a FastCGI name-value pair.
func fcgiLength(b []byte) (int, []byte) {
	if b[0] < 128 {
		return int(b[0]), b[1:]
	}
	return int(binary.BigEndian.Uint32(b) & 0x7fffffff), b[4:]
}

// readSCGIHead reads an SCGI request's netstring; it returns the first
// CONTENT_LENGTH, the one the protocol puts first.
func readSCGIHead(br *bufio.Reader) (string, error) {
	n, err := br.ReadString(':')
	if err != nil {
		return "", err
	}
	size, _ := strconv.Atoi(strings.TrimSuffix(n, ":"))
	head := make([]byte, size+1)
	if _, err := io.ReadFull(br, head); err != nil {
		return "", err
	}
	parts := bytes.Split(head[:size], []byte{0})
	for i := 0; i+1 < len(parts); i += 2 {
		if string(parts[i]) == "CONTENT_LENGTH" {
			return string(parts[i+1]), nil
		}
	}
	return "", nil
}

// cgiBufferingConf is the server of the tests: a location per protocol,
// with *_request_buffering off, and one with the default (/on/f).
func cgiBufferingConf(f, s, u, more string) string {
	return `
    log_format t '$request_uri $status "$request_body" $upstream_addr $upstream_status';
    client_body_timeout 1s;
    fastcgi_param CONTENT_LENGTH $content_length;
    uwsgi_param CONTENT_LENGTH $content_length;
    ` + more + `
    server {
        listen 127.0.0.1:0;
        location /f { fastcgi_pass ` + f + `; fastcgi_request_buffering off; }
        location /on/f { fastcgi_pass ` + f + `; }
        location /s { scgi_pass ` + s + `; scgi_request_buffering off; }
        location /u { uwsgi_pass ` + u + `; uwsgi_request_buffering off; }
        location /small/f { client_max_body_size 8; fastcgi_pass ` + f + `; fastcgi_request_buffering off; }
        location /retry/f { fastcgi_pass retry; fastcgi_request_buffering off; fastcgi_next_upstream error timeout non_idempotent; }
    }`
}

// TestCGIRequestBufferingOff checks fastcgi_request_buffering,
// scgi_request_buffering and uwsgi_request_buffering off against what
// nginx 1.22.1 sent the same recording backends for a client that sends
// "hello", then "world" later: the application gets the request's head and
// the first 5 bytes before the client sent the rest (FastCGI as two STDIN
// records), for a Content-Length body and, over FastCGI only, a chunked
// one (CONTENT_LENGTH empty). SCGI's CONTENT_LENGTH is only the part that
// came with the head (5). SCGI and uwsgi read a chunked body whole first
// (CONTENT_LENGTH 10: SCGI's own, uwsgi's from $content_length), as does
// the default, on. Each case waits for
// the backend to have the first part before it sends the rest.
func TestCGIRequestBufferingOff(t *testing.T) {
	dir := t.TempDir()
	f, frec := cgiRecordingBackend(t, "fastcgi")
	s, srec := cgiRecordingBackend(t, "scgi")
	u, urec := cgiRecordingBackend(t, "uwsgi")
	addr := startDaemon(t, dir, cgiBufferingConf(f, s, u, "upstream retry { server "+f+"; }")+`
    access_log `+filepath.Join(dir, "access.log")+` t buffer=0;`)
	tests := []struct {
		uri     string
		chunked bool
		rec     *cgiRecorder
		early   string // what the backend has before the client sends the rest ("": nothing yet)
		all     string // what it has in the end
	}{
		{"/f", false, frec, "head CL=10|body hello", "head CL=10|body hello|body world"},
		{"/f", true, frec, "head CL=|body hello", "head CL=|body hello|body world"},
		{"/s", false, srec, "head CL=5|body hello", "head CL=5|body hello|body world"},
		{"/s", true, srec, "", "head CL=10|body helloworld"},
		{"/u", false, urec, "head CL=10|body hello", "head CL=10|body hello|body world"},
		{"/u", true, urec, "", "head CL=10|body helloworld"},
		{"/on/f", false, frec, "", "head CL=10|body helloworld"},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s chunked=%v", tt.uri, tt.chunked), func(t *testing.T) {
			tt.rec.mu.Lock()
			tt.rec.events = nil
			tt.rec.mu.Unlock()
			first, rest := "Content-Length: 10\r\n\r\nhello", "world"
			if tt.chunked {
				first, rest = "Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n", "5\r\nworld\r\n0\r\n\r\n"
			}
			c := testutil.SendRaw(t, addr, "POST "+tt.uri+" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"+first)
			if tt.early != "" {
				tt.rec.waitSeen(t, tt.early)
			}
			if _, err := c.Write([]byte(rest)); err != nil {
				t.Fatal(err)
			}
			c.SetReadDeadline(time.Now().Add(5 * time.Second))
			resp, err := io.ReadAll(c)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.HasPrefix(resp, []byte("HTTP/1.1 200 ")) || !bytes.Contains(resp, []byte("\r\ngot 10\r\n")) {
				t.Fatalf("response %q", resp)
			}
			if got := tt.rec.seen(); got != tt.all {
				t.Errorf("backend saw %q, want %q", got, tt.all)
			}
		})
	}
	// nginx logs no $request_body for a body that streamed.
	waitForLine(t, filepath.Join(dir, "access.log"), `/u 200 "-" `+u+` 200`)
}

// TestCGIRequestBufferingOffErrors checks, as nginx 1.22.1 did, what ends a
// request whose body streams to a FastCGI server once the server has part
// of it: a client that stalls past client_body_timeout gets its connection
// closed without an answer (408 in the access log, no $upstream_status)
// and the server sees the connection end; a chunk that takes a chunked
// body past client_max_body_size is refused before its data is read (the
// server has only the first chunk) with a 413, logged "client intended to
// send too large chunked body: 5+5 bytes while sending request to
// upstream"; a server that closes the
// connection after the first part is "upstream prematurely closed
// connection while reading response header from upstream", a 502, and the
// request is not sent to the next server, as the body went out in part.
func TestCGIRequestBufferingOffErrors(t *testing.T) {
	t.Parallel() // its own daemon and backends; waits on timers, no upper time bound
	dir := t.TempDir()
	f, frec := cgiRecordingBackend(t, "fastcgi")
	s, _ := cgiRecordingBackend(t, "scgi")
	u, _ := cgiRecordingBackend(t, "uwsgi")
	closer := testutil.RawBackend(t, func(c net.Conn) {
		if _, err := readFCGIParams(bufio.NewReader(c)); err == nil {
			frec.add("closer")
		}
	})
	addr := startDaemon(t, dir, cgiBufferingConf(f, s, u, "upstream retry { server "+closer+"; server "+f+"; }")+`
    access_log `+filepath.Join(dir, "access.log")+` t buffer=0;`)
	tests := []struct {
		name, uri, first, early, rest string
		answer                        string // the response's start ("": none, the connection closes)
		all, line                     string // what the backend saw in the end; the access log line
	}{
		{"stall", "/f", "Content-Length: 10\r\n\r\nhello", "head CL=10|body hello", "",
			"", "head CL=10|body hello|eof", `/f 408 "-" ` + f + ` -`},
		{"too large", "/small/f", "Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n", "head CL=|body hello", "5\r\nworld\r\n0\r\n\r\n",
			"HTTP/1.1 413 ", "head CL=|body hello|eof", `/small/f 413 "-" ` + f + ` -`},
		{"no retry", "/retry/f", "Content-Length: 10\r\n\r\nhello", "closer", "world",
			"HTTP/1.1 502 ", "closer", `/retry/f 502 "-" ` + closer + ` 502`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			frec.mu.Lock()
			frec.events = nil
			frec.mu.Unlock()
			c := testutil.SendRaw(t, addr, "POST "+tt.uri+" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"+tt.first)
			frec.waitSeen(t, tt.early)
			if tt.rest != "" {
				if _, err := c.Write([]byte(tt.rest)); err != nil {
					t.Fatal(err)
				}
			}
			c.SetReadDeadline(time.Now().Add(5 * time.Second))
			resp, _ := io.ReadAll(c)
			if tt.answer == "" && len(resp) > 0 || !bytes.HasPrefix(resp, []byte(tt.answer)) {
				t.Fatalf("response %q, want one starting %q", resp, tt.answer)
			}
			frec.waitSeen(t, tt.all)
			waitForLine(t, filepath.Join(dir, "access.log"), tt.line)
		})
	}
	waitForLog(t, filepath.Join(dir, "error.log"), `error client intended to send too large chunked body: 5+5 bytes while sending request to upstream, client: 127.0.0.1, server: , request: "POST /small/f HTTP/1.1", upstream: "fastcgi://`+f+`"`)
	waitForLog(t, filepath.Join(dir, "error.log"), `error upstream prematurely closed connection while reading response header from upstream, client: 127.0.0.1, server: , request: "POST /retry/f HTTP/1.1", upstream: "fastcgi://`+closer+`"`)
}

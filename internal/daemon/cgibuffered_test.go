package daemon_test

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"fulcrum/internal/testutil"
)

// paramRecorder is a FastCGI, SCGI, uwsgi or HTTP server that records, per
// request, the parameters (or header fields) the tests look at and the
// body it got, as one line: "CL=10 TE=chunked RB=helloworld RL=101
// body=helloworld" (CONTENT_LENGTH, HTTP_TRANSFER_ENCODING, REQUEST_BODY,
// REQUEST_LENGTH; for HTTP: the Content-Length, X-CL, X-RB and X-RL
// fields). It answers "got N".
type paramRecorder struct {
	mu    sync.Mutex
	lines []string
}

// last polls until a request came in and returns the last one's line.
func (p *paramRecorder) last(t *testing.T) string {
	t.Helper()
	for deadline := time.Now().Add(3 * time.Second); ; {
		p.mu.Lock()
		n := len(p.lines)
		var l string
		if n > 0 {
			l = p.lines[n-1]
		}
		p.mu.Unlock()
		if n > 0 {
			return l
		}
		if time.Now().After(deadline) {
			t.Fatal("the backend got no request")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// reset forgets the requests so far.
func (p *paramRecorder) reset() {
	p.mu.Lock()
	p.lines = nil
	p.mu.Unlock()
}

// paramBackend starts a paramRecorder speaking proto ("fastcgi", "scgi",
// "uwsgi" or "http").
func paramBackend(t *testing.T, proto string) (string, *paramRecorder) {
	p := &paramRecorder{}
	addr := testutil.RawBackend(t, func(c net.Conn) {
		br := bufio.NewReader(c)
		params, body, err := readParamsAndBody(br, proto)
		if err != nil {
			return
		}
		get := func(name string) string {
			for _, kv := range params {
				if kv[0] == name {
					return kv[1]
				}
			}
			return ""
		}
		line := fmt.Sprintf("CL=%s TE=%s RB=%s RL=%s body=%s", get("CONTENT_LENGTH"), get("HTTP_TRANSFER_ENCODING"), get("REQUEST_BODY"), get("REQUEST_LENGTH"), body)
		if proto == "http" {
			line = fmt.Sprintf("CL=%s X-CL=%s X-RB=%s X-RL=%s body=%s", get("Content-Length"), get("X-Cl"), get("X-Rb"), get("X-Rl"), body)
		}
		p.mu.Lock()
		p.lines = append(p.lines, line)
		p.mu.Unlock()
		answer := fmt.Sprintf("Status: 200 OK\r\nContent-Type: text/plain\r\n\r\ngot %d", len(body))
		switch proto {
		case "fastcgi":
			c.Write(fcgiStdout([]byte(answer), 0, 0, 0))
		case "http":
			fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nContent-Length: %d\r\nConnection: close\r\n\r\ngot %d", len(strconv.Itoa(len(body)))+4, len(body))
		default:
			c.Write([]byte(answer))
		}
	})
	return addr, p
}

// readParamsAndBody reads a request in proto: its parameters (header
// fields for HTTP) in order, and its body (as long as CONTENT_LENGTH says,
// for SCGI and uwsgi, or up to the empty STDIN record for FastCGI).
func readParamsAndBody(br *bufio.Reader, proto string) ([][2]string, []byte, error) {
	var params [][2]string
	var err error
	switch proto {
	case "fastcgi":
		return readFCGIRequest(br)
	case "scgi":
		params, err = readSCGIParams(br)
	case "uwsgi":
		_, params, err = testutil.ReadUWSGI(br)
	default:
		var r *http.Request
		if r, err = http.ReadRequest(br); err != nil {
			return nil, nil, err
		}
		for name, vs := range r.Header {
			params = append(params, [2]string{name, vs[0]})
		}
		if r.ContentLength >= 0 {
			params = append(params, [2]string{"Content-Length", strconv.FormatInt(r.ContentLength, 10)})
		}
		body, err := io.ReadAll(r.Body)
		return params, body, err
	}
	if err != nil {
		return nil, nil, err
	}
	n := 0
	for _, kv := range params {
		if kv[0] == "CONTENT_LENGTH" {
			n, _ = strconv.Atoi(kv[1])
			break
		}
	}
	body := make([]byte, n)
	_, err = io.ReadFull(br, body)
	return params, body, err
}

// readFCGIRequest reads a FastCGI request: its PARAMS and its STDIN.
func readFCGIRequest(br *bufio.Reader) ([][2]string, []byte, error) {
	var raw, body []byte
	for {
		typ, content, err := readFCGIRecord(br)
		if err != nil {
			return nil, nil, err
		}
		if typ == 4 {
			raw = append(raw, content...)
		}
		if typ == 5 {
			if len(content) == 0 {
				break
			}
			body = append(body, content...)
		}
	}
	var params [][2]string
	for len(raw) > 0 {
		var nl, vl int
		nl, raw = fcgiLength(raw)
		vl, raw = fcgiLength(raw)
		params = append(params, [2]string{string(raw[:nl]), string(raw[nl : nl+vl])})
		raw = raw[nl+vl:]
	}
	return params, body, nil
}

// readSCGIParams reads an SCGI request's netstring of parameters.
func readSCGIParams(br *bufio.Reader) ([][2]string, error) {
	n, err := br.ReadString(':')
	if err != nil {
		return nil, err
	}
	size, _ := strconv.Atoi(strings.TrimSuffix(n, ":"))
	head := make([]byte, size+1)
	if _, err := io.ReadFull(br, head); err != nil {
		return nil, err
	}
	parts := bytes.Split(head[:size], []byte{0})
	var params [][2]string
	for i := 0; i+1 < len(parts); i += 2 {
		params = append(params, [2]string{string(parts[i]), string(parts[i+1])})
	}
	return params, nil
}

// cgiBufferedConf is the server of the tests of the default,
// *_request_buffering on: a location per protocol with fastcgi_params'
// CONTENT_LENGTH line and parameters of $request_body and $request_length,
// a proxy_pass one that sends the three as fields, and the same
// with client_max_body_size 8 (/small/..., and /small/off/f with
// fastcgi_request_buffering off).
func cgiBufferedConf(dir, f, s, u, p string) string {
	return `
    log_format t '$request_uri $status $content_length $request_length "$request_body"';
    access_log ` + filepath.Join(dir, "access.log") + ` t buffer=0;
    fastcgi_param CONTENT_LENGTH $content_length;
    fastcgi_param REQUEST_BODY $request_body;
    fastcgi_param REQUEST_LENGTH $request_length;
    scgi_param REQUEST_BODY $request_body;
    scgi_param REQUEST_LENGTH $request_length;
    uwsgi_param CONTENT_LENGTH $content_length;
    uwsgi_param REQUEST_BODY $request_body;
    uwsgi_param REQUEST_LENGTH $request_length;
    proxy_set_header X-CL $content_length;
    proxy_set_header X-RB $request_body;
    proxy_set_header X-RL $request_length;
    server {
        listen 127.0.0.1:0;
        location /f { fastcgi_pass ` + f + `; }
        location /s { scgi_pass ` + s + `; }
        location /u { uwsgi_pass ` + u + `; }
        location /p { proxy_pass http://` + p + `; }
        location /small/ {
            client_max_body_size 8;
            location /small/f { fastcgi_pass ` + f + `; }
            location /small/s { scgi_pass ` + s + `; }
            location /small/u { uwsgi_pass ` + u + `; }
            location /small/p { proxy_pass http://` + p + `; }
            location /small/off/f { fastcgi_pass ` + f + `; fastcgi_request_buffering off; }
        }
    }`
}

// chunkedHelloWorld is the 10-byte body "helloworld" in two chunks.
const chunkedHelloWorld = "Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n5\r\nworld\r\n0\r\n\r\n"

// TestCGIBufferedChunkedBody checks what fastcgi_pass, scgi_pass,
// uwsgi_pass and proxy_pass send for a chunked body read whole first (the
// default, *_request_buffering on), as nginx 1.22.1 sent the same
// recording backends: once the body is read, $content_length is its
// length (nginx's headers_in.content_length_n), so fastcgi_params'
// "CONTENT_LENGTH $content_length" is 10, not empty, and $request_body is
// the body, in a parameter as in the access log, and $request_length
// counts the body's bytes (101, not the head's 76); the client's
// Transfer-Encoding goes as HTTP_TRANSFER_ENCODING. A Content-Length body
// has the same parameters, without HTTP_TRANSFER_ENCODING.
func TestCGIBufferedChunkedBody(t *testing.T) {
	dir := t.TempDir()
	f, frec := paramBackend(t, "fastcgi")
	s, srec := paramBackend(t, "scgi")
	u, urec := paramBackend(t, "uwsgi")
	p, prec := paramBackend(t, "http")
	addr := startDaemon(t, dir, cgiBufferedConf(dir, f, s, u, p))
	tests := []struct {
		uri, body string
		rec       *paramRecorder
		want      string // what the backend got
		line      string // the access log line
	}{
		{"/f", chunkedHelloWorld, frec, "CL=10 TE=chunked RB=helloworld RL=101 body=helloworld", `/f 200 10 101 "helloworld"`},
		{"/s", chunkedHelloWorld, srec, "CL=10 TE=chunked RB=helloworld RL=101 body=helloworld", `/s 200 10 101 "helloworld"`},
		{"/u", chunkedHelloWorld, urec, "CL=10 TE=chunked RB=helloworld RL=101 body=helloworld", `/u 200 10 101 "helloworld"`},
		{"/p", chunkedHelloWorld, prec, "CL=10 X-CL=10 X-RB=helloworld X-RL=101 body=helloworld", `/p 200 10 101 "helloworld"`},
		{"/f?cl", "Content-Length: 10\r\n\r\nhelloworld", frec, "CL=10 TE= RB=helloworld RL=81 body=helloworld", `/f?cl 200 10 81 "helloworld"`},
		{"/u?cl", "Content-Length: 10\r\n\r\nhelloworld", urec, "CL=10 TE= RB=helloworld RL=81 body=helloworld", `/u?cl 200 10 81 "helloworld"`},
	}
	for _, tt := range tests {
		t.Run(tt.uri, func(t *testing.T) {
			tt.rec.reset()
			c := testutil.SendRaw(t, addr, "POST "+tt.uri+" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"+tt.body)
			defer c.Close()
			resp, err := io.ReadAll(c)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.HasPrefix(resp, []byte("HTTP/1.1 200 ")) || !bytes.HasSuffix(resp, []byte("got 10")) && !bytes.Contains(resp, []byte("\r\ngot 10\r\n")) {
				t.Fatalf("response %q", resp)
			}
			if got := tt.rec.last(t); got != tt.want {
				t.Errorf("backend got %q, want %q", got, tt.want)
			}
		})
	}
	// The lines come with the log's next flush (once a second).
	for _, tt := range tests {
		waitForLine(t, filepath.Join(dir, "access.log"), tt.line)
	}
}

// TestCGIBufferedChunkTooLarge checks a chunked body refused at its second
// chunk by client_max_body_size 8, as nginx 1.22.1 logged it for the same
// 107-byte request: with the body read first (fastcgi_pass, scgi_pass,
// uwsgi_pass, proxy_pass), "client intended to send too large chunked
// body: 5+5 bytes" at error level with no upstream (none was chosen yet),
// and in the access log $content_length 5 (the chunks before),
// $request_length 107 (all it read, the bytes past the refused chunk's size
// line included) and $request_body "hello" (the part read); with
// fastcgi_request_buffering off the line ends "while sending request to
// upstream", $content_length is not found (the body was still being read)
// and neither is $request_body.
func TestCGIBufferedChunkTooLarge(t *testing.T) {
	dir := t.TempDir()
	f, _ := paramBackend(t, "fastcgi")
	s, _ := paramBackend(t, "scgi")
	u, _ := paramBackend(t, "uwsgi")
	p, _ := paramBackend(t, "http")
	addr := startDaemon(t, dir, cgiBufferedConf(dir, f, s, u, p))
	uris := []string{"/small/f", "/small/s", "/small/u", "/small/p", "/small/off/f"}
	for _, uri := range uris {
		t.Run(uri, func(t *testing.T) {
			c := testutil.SendRaw(t, addr, "POST "+uri+" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"+chunkedHelloWorld)
			defer c.Close()
			resp, _ := io.ReadAll(c)
			if !bytes.HasPrefix(resp, []byte("HTTP/1.1 413 ")) {
				t.Fatalf("response %q", resp)
			}
		})
	}
	for _, uri := range uris {
		line := uri + ` 413 5 107 "hello"`
		if uri == "/small/off/f" {
			line = uri + ` 413 - 111 "-"`
		}
		waitForLine(t, filepath.Join(dir, "access.log"), line)
	}
	for _, uri := range []string{"/small/f", "/small/s", "/small/u", "/small/p"} {
		waitForLog(t, filepath.Join(dir, "error.log"), `error client intended to send too large chunked body: 5+5 bytes, client: 127.0.0.1, server: , request: "POST `+uri+` HTTP/1.1", host: "x"`)
	}
	waitForLog(t, filepath.Join(dir, "error.log"), `error client intended to send too large chunked body: 5+5 bytes while sending request to upstream, client: 127.0.0.1, server: , request: "POST /small/off/f HTTP/1.1", upstream: "fastcgi://`+f+`", host: "x"`)
}

// TestBodyFaultLines checks the lines of a request body that fails while
// proxy_pass or fastcgi_pass read it whole (the default), as nginx 1.22.1
// wrote them for the same requests (recorded on raw sockets with
// proxy_pass): a malformed chunked body is answered 400 and logged once
// at error, "client sent invalid chunked body" (not again when the rest of
// the body is discarded), and a client that closes halfway through its
// body is logged at info, "client prematurely closed connection"; neither
// has an upstream yet nor a "while" phase.
func TestBodyFaultLines(t *testing.T) {
	dir := t.TempDir()
	f, frec := paramBackend(t, "fastcgi")
	s, _ := paramBackend(t, "scgi")
	u, _ := paramBackend(t, "uwsgi")
	p, prec := paramBackend(t, "http")
	addr := startDaemonLevel(t, dir, "info", cgiBufferedConf(dir, f, s, u, p))
	errorLog := filepath.Join(dir, "error.log")
	for _, uri := range []string{"/f", "/p"} {
		t.Run(uri+" malformed", func(t *testing.T) {
			c := testutil.SendRaw(t, addr, "POST "+uri+"/bad HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n\r\n")
			defer c.Close()
			resp, _ := io.ReadAll(c)
			if !bytes.HasPrefix(resp, []byte("HTTP/1.1 400 ")) {
				t.Fatalf("response %q", resp)
			}
			line := `client sent invalid chunked body, client: 127.0.0.1, server: , request: "POST ` + uri + `/bad HTTP/1.1", host: "x"`
			waitForLog(t, errorLog, "error "+line)
			b, _ := os.ReadFile(errorLog)
			if n := strings.Count(string(b), line); n != 1 {
				t.Errorf("the line is in the log %d times, want once", n)
			}
		})
		t.Run(uri+" closed", func(t *testing.T) {
			c := testutil.SendRaw(t, addr, "POST "+uri+"/cut HTTP/1.1\r\nHost: x\r\nContent-Length: 8\r\n\r\nabc")
			c.Close() // the three bytes arrive before the end of stream
			waitForLog(t, errorLog, `info client prematurely closed connection, client: 127.0.0.1, server: , request: "POST `+uri+`/cut HTTP/1.1", host: "x"`)
		})
	}
	frec.mu.Lock()
	prec.mu.Lock()
	got := len(frec.lines) + len(prec.lines)
	prec.mu.Unlock()
	frec.mu.Unlock()
	if got != 0 {
		t.Errorf("the backends got %d requests, want none", got)
	}
}

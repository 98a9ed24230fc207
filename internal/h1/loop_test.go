package h1

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"strings"
	"sync"
	"testing"
	"time"
)

// miniProxy is the engine loop of the package documentation, reduced to one
// upstream connection per client connection: enough to prove that the API
// composes over real sockets. Not production code.
type miniProxy struct {
	upstream string
	wg       sync.WaitGroup
}

func (p *miniProxy) serve(ln net.Listener) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			defer c.Close()
			p.serveConn(c)
		}()
	}
}

func (p *miniProxy) serveConn(c net.Conn) {
	up, err := net.Dial("tcp", p.upstream)
	if err != nil {
		return
	}
	defer up.Close()
	br, bw, ubr := bufio.NewReader(c), bufio.NewWriter(c), bufio.NewReader(up)
	var (
		req  Request
		resp Response
		body Body
		cw   ChunkedWriter
		buf  = make([]byte, 0, 4096)
	)
	defer req.Reset()
	defer resp.Reset()
	for {
		if err := ReadRequest(br, &req, Limits{}); err != nil {
			var e Error
			if errors.As(err, &e) {
				buf = AppendStatusLine(buf[:0], HTTP11, e.Status(), nil)
				buf = AppendHeader(buf, "Connection", "close")
				buf = append(AppendContentLength(buf, 0), "\r\n"...)
				c.Write(buf)
			}
			return
		}
		req.DropUnderscored()
		// Request head, built from scratch: hop-by-hop fields dropped, own
		// framing added.
		target := req.Path
		if req.Query != nil {
			target = req.Target[len(req.Target)-len(req.Path)-1-len(req.Query):]
		}
		buf = AppendRequestLine(buf[:0], req.Method, target, HTTP11)
		buf = appendForwarded(buf, req.Headers)
		buf = appendFraming(buf, req.Framing, req.ContentLength)
		buf = AppendHeader(buf, "X-Via", "h1")
		buf = append(buf, "\r\n"...)
		if _, err := up.Write(buf); err != nil {
			return
		}
		if err := copyBody(up, br, &body, &cw, req.Framing, req.ContentLength); err != nil {
			return
		}
		for { // 1xx responses are not relayed by this sketch
			if err := ReadResponse(ubr, &resp, req.Method, Limits{}); err != nil {
				return
			}
			if !resp.Informational() {
				break
			}
		}
		buf = AppendStatusLine(buf[:0], HTTP11, resp.Status, resp.Reason)
		buf = appendForwarded(buf, resp.Headers)
		if resp.Framing == NoBody && resp.ContentLength >= 0 {
			buf = AppendContentLength(buf, resp.ContentLength) // HEAD, 304
		}
		framing := resp.Framing
		if framing == CloseBody {
			framing = ChunkedBody // re-frame for a keep-alive client
		}
		buf = appendFraming(buf, framing, resp.ContentLength)
		buf = append(buf, "\r\n"...)
		bw.Write(buf)
		if err := copyBody(bw, ubr, &body, &cw, resp.Framing, resp.ContentLength); err != nil {
			return
		}
		if err := bw.Flush(); err != nil || req.Close || resp.Close || ubr.Buffered() > 0 {
			return
		}
	}
}

// appendForwarded appends the end-to-end fields of hs, except the framing
// fields the proxy writes itself.
func appendForwarded(dst []byte, hs Headers) []byte {
	for _, h := range hs {
		if !hs.HopByHop(h.Name) && !equalFold(h.Name, "content-length") {
			dst = AppendHeader(dst, h.Name, h.Value)
		}
	}
	return dst
}

func appendFraming(dst []byte, f Framing, n int64) []byte {
	switch f {
	case LengthBody:
		return AppendContentLength(dst, n)
	case ChunkedBody:
		return AppendHeader(dst, "Transfer-Encoding", "chunked")
	}
	return dst
}

// copyBody streams one body from br to w, re-chunking a chunked or
// close-delimited one.
func copyBody(w io.Writer, br *bufio.Reader, body *Body, cw *ChunkedWriter, f Framing, n int64) error {
	if err := body.Reset(br, f, n, BodyLimits{}); err != nil {
		return err
	}
	if f != ChunkedBody && f != CloseBody {
		_, err := io.Copy(w, body)
		return err
	}
	cw.Reset(w)
	if _, err := io.Copy(cw, body); err != nil {
		return err
	}
	return cw.Finish(body.Trailers())
}

func TestEngineLoopOverSockets(t *testing.T) {
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		w.Header().Set("X-Secret", "upstream")
		w.Header().Set("Connection", "X-Secret")
		if r.URL.Path == "/stream" {
			for i := range 3 {
				fmt.Fprintf(w, "part%d;", i)
				w.(http.Flusher).Flush()
			}
			return
		}
		fmt.Fprintf(w, "%s %s %s body=%q secret=%q under=%q via=%q te=%v",
			r.Method, r.URL.RequestURI(), r.Host, b, r.Header.Get("X-Secret"),
			r.Header.Get("X_Under"), r.Header.Get("X-Via"), r.TransferEncoding)
	}))
	defer backend.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &miniProxy{upstream: backend.Listener.Addr().String()}
	go p.serve(ln)
	defer func() { ln.Close(); p.wg.Wait() }()
	base := "http://" + ln.Addr().String()
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 1}}
	defer client.CloseIdleConnections()

	tests := []struct {
		name, method, path string
		body               io.Reader
		header             map[string]string
		want               string
	}{
		{"get", "GET", "/hello?a=1&b", nil, nil, `GET /hello?a=1&b %s body="" secret="" under="" via="h1" te=[]`},
		{"post length", "POST", "/p", strings.NewReader("hello"), nil, `POST /p %s body="hello" secret="" under="" via="h1" te=[]`},
		{"post chunked", "POST", "/c", io.MultiReader(strings.NewReader("chu"), strings.NewReader("nked")), nil, `POST /c %s body="chunked" secret="" under="" via="h1" te=[chunked]`},
		{"connection-named field dropped", "GET", "/h", nil, map[string]string{"Connection": "X-Secret", "X-Secret": "client"}, `GET /h %s body="" secret="" under="" via="h1" te=[]`},
		{"underscore dropped", "GET", "/u", nil, map[string]string{"X_Under": "1"}, `GET /u %s body="" secret="" under="" via="h1" te=[]`},
		{"chunked response", "GET", "/stream", nil, nil, `part0;part1;part2;`},
	}
	reused := 0
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequest(tt.method, base+tt.path, tt.body)
			if err != nil {
				t.Fatal(err)
			}
			for k, v := range tt.header {
				req.Header.Set(k, v)
			}
			req = req.WithContext(httptrace.WithClientTrace(req.Context(), &httptrace.ClientTrace{
				GotConn: func(i httptrace.GotConnInfo) {
					if i.Reused {
						reused++
					}
				},
			}))
			res, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			got, err := io.ReadAll(res.Body)
			if err != nil {
				t.Fatal(err)
			}
			want := tt.want
			if strings.Contains(want, "%s") {
				want = fmt.Sprintf(want, ln.Addr().String())
			}
			if string(got) != want {
				t.Fatalf("body %q\nwant %q", got, want)
			}
			if res.Header.Get("X-Secret") != "" {
				t.Fatal("field named by the upstream's Connection was relayed")
			}
		})
	}
	if reused != len(tests)-1 {
		t.Fatalf("keep-alive: %d of %d requests reused the connection", reused, len(tests)-1)
	}

	// HEAD keeps the upstream's Content-Length and sends no body.
	res, err := client.Head(base + "/hello")
	if err != nil || res.ContentLength <= 0 {
		t.Fatalf("HEAD: %v length %d", err, res.ContentLength)
	}
	res.Body.Close()

	// A smuggling attempt gets 400 and a closed connection.
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	fmt.Fprint(c, "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /admin HTTP/1.1\r\nHost: h\r\n\r\n")
	all, err := io.ReadAll(c)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(all), "HTTP/1.1 400 Bad Request\r\n") || strings.Count(string(all), "HTTP/1.1") != 1 {
		t.Fatalf("smuggling attempt answered %q", all)
	}
}

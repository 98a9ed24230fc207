package main

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// TestEvloopProxies checks that the benchmark's event loop answers what it
// measures: keep-alive requests in a row, two pipelined in one write, a body
// larger than a socket's first write, and HTTP/1.0's close.
func TestEvloopProxies(t *testing.T) {
	big := strings.Repeat("x", 64<<10) // bench/backend's /big
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body := "path=" + r.URL.Path
		if r.URL.Path == "/big" {
			body = big
		}
		w.Header().Set("Content-Length", fmt.Sprint(len(body)))
		io.WriteString(w, body)
	}))
	defer backend.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	l, err := newLoop(ln.(*net.TCPListener), []string{backend.Listener.Addr().String()})
	if err != nil {
		t.Fatal(err)
	}
	go l.run() // runs until the test binary exits

	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	br := bufio.NewReader(c)
	read := func(want string) {
		t.Helper()
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		if string(b) != want {
			t.Fatalf("body %.40q (%d bytes), want %.40q (%d bytes)", b, len(b), want, len(want))
		}
	}
	for _, p := range []string{"/a", "/b", "/big", "/c"} {
		fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: x\r\n\r\n", p)
		if p == "/big" {
			read(big)
			continue
		}
		read("path=" + p)
	}
	io.WriteString(c, "GET /p1 HTTP/1.1\r\nHost: x\r\n\r\nGET /p2 HTTP/1.1\r\nHost: x\r\n\r\n")
	read("path=/p1")
	read("path=/p2")
	io.WriteString(c, "GET /last HTTP/1.0\r\nHost: x\r\n\r\n")
	read("path=/last")
	if n, err := br.Read(make([]byte, 1)); err != io.EOF {
		t.Fatalf("after HTTP/1.0: read %d, %v, want EOF", n, err)
	}
}

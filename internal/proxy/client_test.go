package proxy

import (
	"bufio"
	"net"
	"testing"
	"time"
)

func TestAliveDetectsClosedIdleConnections(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 3)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepted <- c
		}
	}()
	dial := func() (*poolConn, net.Conn) {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		return &poolConn{c: c, br: bufio.NewReader(c)}, <-accepted
	}
	pc, server := dial()
	defer pc.c.Close()
	if !alive(pc) {
		t.Error("an open, quiet connection was reported dead")
	}
	server.Close()
	deadline := time.Now().Add(2 * time.Second)
	for alive(pc) {
		if time.Now().After(deadline) {
			t.Fatal("a connection the server closed was still reported alive")
		}
		time.Sleep(5 * time.Millisecond)
	}
	pc2, server2 := dial()
	defer pc2.c.Close()
	defer server2.Close()
	server2.Write([]byte("HTTP/1.1 200 OK\r\n\r\n")) // bytes nobody asked for
	deadline = time.Now().Add(2 * time.Second)
	for alive(pc2) {
		if time.Now().After(deadline) {
			t.Fatal("a connection with stray bytes was reported reusable")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

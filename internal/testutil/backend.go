// Package testutil holds what fulcrum's tests share across packages: backends
// on loopback that a test scripts byte by byte. Only tests import it.
package testutil

import (
	"net"
	"testing"
)

// RawBackend listens on an ephemeral loopback port and hands every accepted
// connection to serve, each on its own goroutine, closing the connection when
// serve returns. It returns the address; the listener closes when the test
// ends.
func RawBackend(t testing.TB, serve func(net.Conn)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	Serve(t, ln, serve)
	return ln.Addr().String()
}

// Serve is RawBackend on a listener the test made (a TLS one, one on
// another loopback address): it hands every connection ln accepts to
// serve, each on its own goroutine, and closes the connection when serve
// returns. ln closes when the test ends, which ends the accept loop.
func Serve(t testing.TB, ln net.Listener, serve func(net.Conn)) {
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				serve(c)
			}()
		}
	}()
}

// UDPBackend listens for datagrams on an ephemeral loopback port and sends
// back, for each one, the datagrams answer returns (none: silence). It
// returns the address; the socket closes when the test ends.
func UDPBackend(t testing.TB, answer func(datagram []byte) [][]byte) string {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	go func() {
		buf := make([]byte, 65536)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			for _, a := range answer(buf[:n]) {
				_, _ = pc.WriteTo(a, from)
			}
		}
	}()
	return pc.LocalAddr().String()
}

// Package testutil holds what fulcrum's tests share across packages: backends
// on loopback that a test scripts byte by byte. Only tests import it.
package testutil

import (
	"bufio"
	"net"
	"strconv"
	"syscall"
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

// RefusedAddr returns a loopback TCP address that refuses connections for
// the rest of the test: a socket bound to it that never listens (a SYN to
// it is answered with a reset), held until the test ends so that no other
// process (another test binary, another engineer's server) can take the
// port, as it could a port a closed listener left free.
func RefusedAddr(t testing.TB) string {
	t.Helper()
	// Close-on-exec under ForkLock, as package net does where SOCK_CLOEXEC
	// is missing (macOS): a process the test starts must not inherit it.
	syscall.ForkLock.RLock()
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM, 0)
	if err == nil {
		syscall.CloseOnExec(fd)
	}
	syscall.ForkLock.RUnlock()
	if err != nil {
		t.Fatalf("refused address: socket: %v", err)
	}
	t.Cleanup(func() { syscall.Close(fd) })
	// No SO_REUSEADDR: a bind of the same port by anyone else fails.
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatalf("refused address: bind: %v", err)
	}
	sa, err := syscall.Getsockname(fd)
	if err != nil {
		t.Fatalf("refused address: getsockname: %v", err)
	}
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(sa.(*syscall.SockaddrInet4).Port))
}

// ReadHead reads an HTTP/1.x head from br up to and including its empty
// line and returns it; err is the read error when the connection ended
// before the head did. Raw backends use it to read a request before they
// answer.
func ReadHead(br *bufio.Reader) (head string, err error) {
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			return head, err
		}
		head += line
		if line == "\r\n" {
			return head, nil
		}
	}
}

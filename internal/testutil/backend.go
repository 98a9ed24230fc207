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
	return ln.Addr().String()
}

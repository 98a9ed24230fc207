package stream

import (
	"fmt"
	"net"
	"testing"

	"fulcrum/internal/testutil"
)

// TestTCPNoDelay: with tcp_nodelay off the proxy's sockets to the client
// and to the upstream server have TCP_NODELAY cleared (nginx's stream
// proxy sets it on both only with on); on (the default) both have it.
func TestTCPNoDelay(t *testing.T) {
	for _, tt := range []struct {
		directive string
		want      bool
	}{
		{"", true},
		{"tcp_nodelay off;", false},
	} {
		t.Run(tt.directive, func(t *testing.T) {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			defer ln.Close()
			ups := make(chan net.Conn, 1)
			go func() {
				if c, err := ln.Accept(); err == nil {
					ups <- c
				}
			}()
			_, addr := start(t, load(t, t.TempDir(), fmt.Sprintf("server { listen 127.0.0.1:0; %s proxy_pass %s; }", tt.directive, ln.Addr())))
			cl := dial(t, addr)
			up := <-ups
			defer up.Close()
			// The session is proxying once a byte went through.
			if _, err := cl.c.Write([]byte("x")); err != nil {
				t.Fatal(err)
			}
			if _, err := up.Read(make([]byte, 1)); err != nil {
				t.Fatal(err)
			}
			port := func(a net.Addr) int { return a.(*net.TCPAddr).Port }
			if got := testutil.SocketNoDelay(t, port(cl.c.RemoteAddr()), port(cl.c.LocalAddr())); got != tt.want {
				t.Errorf("client side: TCP_NODELAY %v, want %v", got, tt.want)
			}
			if got := testutil.SocketNoDelay(t, port(up.RemoteAddr()), port(up.LocalAddr())); got != tt.want {
				t.Errorf("upstream side: TCP_NODELAY %v, want %v", got, tt.want)
			}
		})
	}
}

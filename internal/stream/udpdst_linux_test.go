package stream

import (
	"net"
	"testing"
	"time"
)

// TestUDPWildcardAnswersFromDestination: a UDP listen on the wildcard
// address answers each client from the address it sent to, which is also
// $server_addr, as nginx 1.22.1 does with IP_PKTINFO (recorded: "listen
// PORT udp; return $server_addr;" answers a datagram sent to 127.0.0.2
// with "127.0.0.2" from 127.0.0.2, and one sent to 127.0.0.1 with
// "127.0.0.1" from 127.0.0.1; nginx-tests stream_udp_wildcard.t). fulcrum
// answered "0.0.0.0" from 127.0.0.1, which a client connected to 127.0.0.2
// never reads.
func TestUDPWildcardAnswersFromDestination(t *testing.T) {
	p := New(Options{})
	t.Cleanup(p.Close)
	addrs, err := p.Apply(load(t, t.TempDir(), "server { listen 0.0.0.0:0 udp; return $server_addr; }"))
	if err != nil {
		t.Fatal(err)
	}
	port := addrs[0].(*net.UDPAddr).Port
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for _, ip := range []string{"127.0.0.2", "127.0.0.1"} {
		to := &net.UDPAddr{IP: net.ParseIP(ip), Port: port}
		if _, err := c.WriteToUDP([]byte("x"), to); err != nil {
			t.Fatal(err)
		}
		_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
		buf := make([]byte, 64)
		n, from, err := c.ReadFromUDP(buf)
		if err != nil {
			t.Fatalf("to %s: %v", ip, err)
		}
		if got := string(buf[:n]); got != ip || !from.IP.Equal(to.IP) || from.Port != port {
			t.Errorf("to %s: answer %q from %v, want %q from %v", ip, got, from, ip, to)
		}
	}
}

package proxyproto

import (
	"net"
	"testing"
)

func TestV1Header(t *testing.T) {
	tests := []struct {
		remote, local net.Addr
		want          string
	}{
		{&net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 57778}, &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 19118}, "PROXY TCP4 127.0.0.1 127.0.0.1 57778 19118\r\n"},
		{&net.TCPAddr{IP: net.ParseIP("::1"), Port: 5}, &net.TCPAddr{IP: net.ParseIP("::1"), Port: 110}, "PROXY TCP6 ::1 ::1 5 110\r\n"},
		{&net.UnixAddr{Name: "@", Net: "unix"}, &net.UnixAddr{Name: "/s", Net: "unix"}, "PROXY UNKNOWN\r\n"},
	}
	for _, tt := range tests {
		if got := string(V1Header(tt.remote, tt.local)); got != tt.want {
			t.Errorf("got %q, want %q", got, tt.want)
		}
	}
}

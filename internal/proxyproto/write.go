package proxyproto

import (
	"net"
	"net/netip"
	"strconv"
)

// V1Header is the PROXY protocol v1 line for a client at remote connected
// to local, as nginx's ngx_proxy_protocol_write sends it: TCP4 or TCP6
// with both addresses and ports, or "PROXY UNKNOWN" when either is not an
// IP address (a unix socket).
func V1Header(remote, local net.Addr) []byte {
	src, sok := addrPort(remote)
	dst, dok := addrPort(local)
	if !sok || !dok {
		return []byte("PROXY UNKNOWN\r\n")
	}
	sa, da := src.Addr(), dst.Addr()
	family := "TCP4"
	if sa.Unmap().Is6() {
		family = "TCP6"
	} else {
		sa, da = sa.Unmap(), da.Unmap()
	}
	return []byte("PROXY " + family + " " + sa.String() + " " + da.String() + " " +
		strconv.Itoa(int(src.Port())) + " " + strconv.Itoa(int(dst.Port())) + "\r\n")
}

// addrPort is a's IP address and port, for TCP and UDP addresses.
func addrPort(a net.Addr) (netip.AddrPort, bool) {
	switch a := a.(type) {
	case *net.TCPAddr:
		return a.AddrPort(), true
	case *net.UDPAddr:
		return a.AddrPort(), true
	}
	return netip.AddrPort{}, false
}

package stream

import (
	"net"
	"syscall"
	"unsafe"
)

// dstConn reads the destination address of each datagram a UDP listen on a
// wildcard address (0.0.0.0 or [::]) receives, and sends the replies from
// it, as nginx does with IP_PKTINFO and IPV6_RECVPKTINFO: a client that
// sent to 127.0.0.2 gets its answer from 127.0.0.2, and $server_addr is
// 127.0.0.2, not 0.0.0.0 (recorded with nginx 1.22.1, nginx-tests
// stream_udp_wildcard.t). Only the listen's read loop reads.
type dstConn struct {
	uc  *net.UDPConn
	v6  bool
	oob []byte // the read loop's control message buffer
}

// newDstConn returns the reader of destinations for pc when it is bound to
// a wildcard address, else nil (a listen on one address answers from it).
func newDstConn(pc net.PacketConn) *dstConn {
	uc, ok := pc.(*net.UDPConn)
	if !ok {
		return nil
	}
	la, ok := uc.LocalAddr().(*net.UDPAddr)
	if !ok || !la.IP.IsUnspecified() {
		return nil
	}
	rc, err := uc.SyscallConn()
	if err != nil {
		return nil
	}
	d := &dstConn{uc: uc, v6: la.IP.To4() == nil, oob: make([]byte, 128)}
	var serr error
	err = rc.Control(func(fd uintptr) {
		if d.v6 {
			serr = syscall.SetsockoptInt(int(fd), syscall.IPPROTO_IPV6, syscall.IPV6_RECVPKTINFO, 1)
		} else {
			serr = syscall.SetsockoptInt(int(fd), syscall.IPPROTO_IP, syscall.IP_PKTINFO, 1)
		}
	})
	if err != nil || serr != nil {
		return nil
	}
	return d
}

// readFrom reads one datagram and returns its length, its sender and the
// address it was sent to (nil when the system did not say).
func (d *dstConn) readFrom(b []byte) (int, net.Addr, net.IP, error) {
	n, oobn, _, from, err := d.uc.ReadMsgUDP(b, d.oob)
	if err != nil {
		return n, nil, nil, err
	}
	msgs, err := syscall.ParseSocketControlMessage(d.oob[:oobn])
	if err != nil {
		return n, from, nil, nil
	}
	for _, m := range msgs {
		switch {
		case !d.v6 && m.Header.Level == syscall.IPPROTO_IP && m.Header.Type == syscall.IP_PKTINFO && len(m.Data) >= syscall.SizeofInet4Pktinfo:
			// struct in_pktinfo: ifindex, spec_dst, addr (the header's
			// destination, which nginx takes).
			return n, from, net.IP(append([]byte(nil), m.Data[8:12]...)), nil
		case d.v6 && m.Header.Level == syscall.IPPROTO_IPV6 && m.Header.Type == syscall.IPV6_PKTINFO && len(m.Data) >= syscall.SizeofInet6Pktinfo:
			// struct in6_pktinfo: addr, ifindex.
			return n, from, net.IP(append([]byte(nil), m.Data[0:16]...)), nil
		}
	}
	return n, from, nil, nil
}

// writeTo sends b to remote from the address src (nginx's
// ngx_set_srcaddr_cmsg: ipi_spec_dst, ipi6_addr).
func (d *dstConn) writeTo(b []byte, src net.IP, remote net.Addr) (int, error) {
	ua, ok := remote.(*net.UDPAddr)
	if !ok {
		return d.uc.WriteTo(b, remote)
	}
	var oob []byte
	if d.v6 {
		var info syscall.Inet6Pktinfo
		copy(info.Addr[:], src.To16())
		oob = cmsg(syscall.IPPROTO_IPV6, syscall.IPV6_PKTINFO, unsafe.Slice((*byte)(unsafe.Pointer(&info)), syscall.SizeofInet6Pktinfo))
	} else {
		var info syscall.Inet4Pktinfo
		copy(info.Spec_dst[:], src.To4())
		oob = cmsg(syscall.IPPROTO_IP, syscall.IP_PKTINFO, unsafe.Slice((*byte)(unsafe.Pointer(&info)), syscall.SizeofInet4Pktinfo))
	}
	n, _, err := d.uc.WriteMsgUDP(b, oob, ua)
	return n, err
}

// cmsg builds one control message of level and type carrying data.
func cmsg(level, typ int, data []byte) []byte {
	b := make([]byte, syscall.CmsgSpace(len(data)))
	h := (*syscall.Cmsghdr)(unsafe.Pointer(&b[0]))
	h.Level, h.Type = int32(level), int32(typ)
	h.SetLen(syscall.CmsgLen(len(data)))
	copy(b[syscall.CmsgLen(0):], data)
	return b
}

package daemon

import (
	"syscall"
	"unsafe"

	"fulcrum/internal/vars"
)

// TCPInfo implements vars.SocketInfo: the client socket's TCP_INFO, read
// with getsockopt(2) each time a $tcpinfo_ variable is evaluated, as
// nginx's ngx_http_variable_tcpinfo does.
func (ci *connInfo) TCPInfo() (vars.TCPInfo, bool) {
	if ci.rawc == nil {
		return vars.TCPInfo{}, false
	}
	var ti syscall.TCPInfo
	ok := false
	_ = ci.rawc.Control(func(fd uintptr) {
		size := uint32(syscall.SizeofTCPInfo)
		_, _, e := syscall.RawSyscall6(syscall.SYS_GETSOCKOPT, fd, syscall.IPPROTO_TCP, syscall.TCP_INFO,
			uintptr(unsafe.Pointer(&ti)), uintptr(unsafe.Pointer(&size)), 0)
		ok = e == 0
	})
	if !ok {
		return vars.TCPInfo{}, false
	}
	return vars.TCPInfo{RTT: ti.Rtt, RTTVar: ti.Rttvar, SndCwnd: ti.Snd_cwnd, RcvSpace: ti.Rcv_space}, true
}

package bindaddr

import (
	"os"
	"syscall"
)

// Transparent is a net.Dialer Control function for "*_bind ADDRESS
// transparent": before the socket binds, it sets IP_TRANSPARENT
// (IPV6_TRANSPARENT on an IPv6 socket), as nginx's
// ngx_event_connect_set_transparent does, so that the local address may be
// one this host does not have (the client's, for a transparent proxy; it
// needs CAP_NET_ADMIN, and routing that brings the answers back). A
// failure is an *os.SyscallError whose Syscall is
// "setsockopt(IP_TRANSPARENT)" ("setsockopt(IPV6_TRANSPARENT)"), which
// Failure words as nginx does.
func Transparent(network, _ string, c syscall.RawConn) error {
	level, opt, name := syscall.SOL_IP, syscall.IP_TRANSPARENT, "setsockopt(IP_TRANSPARENT)"
	if network == "tcp6" || network == "udp6" {
		level, opt, name = syscall.SOL_IPV6, ipv6Transparent, "setsockopt(IPV6_TRANSPARENT)"
	}
	var serr error
	if err := c.Control(func(fd uintptr) {
		serr = syscall.SetsockoptInt(int(fd), level, opt, 1)
	}); err != nil {
		return err
	}
	if serr != nil {
		return os.NewSyscallError(name, serr)
	}
	return nil
}

// ipv6Transparent is Linux's IPV6_TRANSPARENT, which package syscall does
// not name.
const ipv6Transparent = 75

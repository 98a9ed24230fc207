//go:build !linux

package stream

import "net"

// dstConn would read the destination address of each datagram on a
// wildcard UDP listen; only Linux has it here: elsewhere such a listen
// answers from the address the system picks, and $server_addr is the
// wildcard.
type dstConn struct{}

// newDstConn returns nil: no destination addresses on this system.
func newDstConn(net.PacketConn) *dstConn { return nil }

func (d *dstConn) readFrom(b []byte) (int, net.Addr, net.IP, error) { return 0, nil, nil, nil }

func (d *dstConn) writeTo(b []byte, _ net.IP, remote net.Addr) (int, error) { return 0, nil }

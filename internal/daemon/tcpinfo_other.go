//go:build !linux

package daemon

import "fulcrum/internal/vars"

// TCPInfo implements vars.SocketInfo: TCP_INFO is read on Linux only, so
// the $tcpinfo_ variables are not found here.
func (ci *connInfo) TCPInfo() (vars.TCPInfo, bool) { return vars.TCPInfo{}, false }

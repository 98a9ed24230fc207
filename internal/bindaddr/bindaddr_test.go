package bindaddr

import (
	"net"
	"net/netip"
	"os"
	"syscall"
	"testing"

	"fulcrum/internal/config"
	"fulcrum/internal/errlog"
	"fulcrum/internal/vars"
)

func TestBind(t *testing.T) {
	tests := []struct {
		name    string
		bind    config.ProxyBind
		value   string // $arg_b
		want    netip.AddrPort
		bad     string
		set     bool
		compile bool // Compile fails
	}{
		{name: "none"},
		{name: "fixed", bind: config.ProxyBind{Addr: "127.0.0.2"}, want: netip.MustParseAddrPort("127.0.0.2:0"), set: true},
		{name: "fixed with port", bind: config.ProxyBind{Addr: "127.0.0.2:4000"}, want: netip.MustParseAddrPort("127.0.0.2:4000"), set: true},
		{name: "variable", bind: config.ProxyBind{Addr: "$arg_b", HasVariables: true}, value: "127.0.0.3", want: netip.MustParseAddrPort("127.0.0.3:0"), set: true},
		{name: "variable empty", bind: config.ProxyBind{Addr: "$arg_b", HasVariables: true}, set: true},
		{name: "variable not an address", bind: config.ProxyBind{Addr: "$arg_b", HasVariables: true}, value: "nowhere", bad: "nowhere", set: true},
		{name: "bad fixed address", bind: config.ProxyBind{Addr: "nowhere"}, compile: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := Compile(&vars.Compiler{}, tt.bind, "proxy_bind")
			if (err != nil) != tt.compile {
				t.Fatalf("Compile: %v", err)
			}
			if err != nil {
				return
			}
			st := &vars.State{}
			st.Args = "b=" + tt.value
			ap, bad := b.Local(st)
			if ap != tt.want || bad != tt.bad || b.Set() != tt.set {
				t.Errorf("Local = %v, %q; Set %v; want %v, %q, %v", ap, bad, b.Set(), tt.want, tt.bad, tt.set)
			}
		})
	}
}

// TestFailure: the failures to set up an upstream connection's local side
// in nginx's words and levels (ngx_event_connect_peer): a bind at crit,
// IP_TRANSPARENT at alert; anything else is not one.
func TestFailure(t *testing.T) {
	local := netip.MustParseAddrPort("192.0.2.1:0")
	tests := []struct {
		err   error
		msg   string
		level errlog.Level
		ok    bool
	}{
		{os.NewSyscallError("bind", syscall.EADDRNOTAVAIL), "bind(192.0.2.1) failed (99: Cannot assign requested address) while connecting to upstream", errlog.Crit, true},
		{os.NewSyscallError("setsockopt(IP_TRANSPARENT)", syscall.EPERM), "setsockopt(IP_TRANSPARENT) failed (1: Operation not permitted) while connecting to upstream", errlog.Alert, true},
		{os.NewSyscallError("connect", syscall.ECONNREFUSED), "", 0, false},
	}
	for _, tt := range tests {
		msg, level, ok := Failure(&net.OpError{Op: "dial", Err: tt.err}, local)
		if msg != tt.msg || level != tt.level || ok != tt.ok {
			t.Errorf("%v: %q %v %v, want %q %v %v", tt.err, msg, level, ok, tt.msg, tt.level, tt.ok)
		}
	}
}

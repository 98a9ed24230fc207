package proxy

import (
	"net/netip"
	"testing"

	"fulcrum/internal/config"
	"fulcrum/internal/upstreamtls"
)

// TestConnKeyIs: connKey.is agrees with comparing dialTarget.key's key, for
// targets that differ in each part of the key, over plain HTTP and TLS.
func TestConnKeyIs(t *testing.T) {
	tlsA := upstreamtls.New(config.ProxySSL{}, "a.example")
	tlsB := upstreamtls.New(config.ProxySSL{}, "b.example")
	base := dialTarget{network: "tcp", addr: "127.0.0.1:8080"}
	variants := []func(d *dialTarget){
		func(d *dialTarget) {},
		func(d *dialTarget) { d.addr = "127.0.0.1:8081" },
		func(d *dialTarget) { d.network = "unix" },
		func(d *dialTarget) { d.local = netip.MustParseAddrPort("127.0.0.2:0") },
		func(d *dialTarget) { d.keepalive = true },
		func(d *dialTarget) { d.noDelayOff = true },
		func(d *dialTarget) { d.tls = tlsA },
		func(d *dialTarget) { d.tls = tlsB },
		func(d *dialTarget) { d.tls, d.name = tlsA, "other.example" },
		func(d *dialTarget) { d.name = "ignored without TLS" },
		func(d *dialTarget) { d.timeout, d.transparent, d.named = 5, true, true }, // not in the key
	}
	targets := make([]dialTarget, len(variants))
	for i, v := range variants {
		targets[i] = base
		v(&targets[i])
	}
	for i := range targets {
		k := targets[i].key()
		for j := range targets {
			if got, want := k.is(&targets[j]), k == targets[j].key(); got != want {
				t.Errorf("key of target %d is target %d: %v, want %v", i, j, got, want)
			}
		}
	}
}

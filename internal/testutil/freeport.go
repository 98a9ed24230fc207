package testutil

import (
	"math/rand/v2"
	"net"
	"os"
	"strconv"
	"strings"
	"testing"
)

// FreePorts returns n distinct loopback TCP ports nobody listens on, for a
// test that must write a port into a configuration before fulcrum binds it
// (a reload that keeps its address, a program that takes a port number).
// A port found with "127.0.0.1:0" comes from the kernel's ephemeral range,
// where the tests' own outgoing connections take their local ports: one of
// them could take it between the check and the bind ("address already in
// use", seen in CI). So the ports are drawn below that range (Linux's
// ip_local_port_range, 32768 by default), where only listeners go, and
// checked free by binding them; the ephemeral range is the fallback.
func FreePorts(t testing.TB, n int) []int {
	t.Helper()
	low := ephemeralLow()
	var ports []int
	var held []net.Listener
	defer func() {
		for _, l := range held {
			l.Close()
		}
	}()
	for tries := 0; low > 11000 && len(ports) < n && tries < 200; tries++ {
		p := 10000 + rand.IntN(max(low-10000, 1))
		l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(p)))
		if err != nil {
			continue
		}
		held = append(held, l) // held until all n are found: distinct
		ports = append(ports, p)
	}
	for len(ports) < n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports
}

// FreeAddr is one of FreePorts as "127.0.0.1:port".
func FreeAddr(t testing.TB) string {
	t.Helper()
	return FreeAddrs(t, 1)[0]
}

// FreeAddrs are n distinct FreePorts as "127.0.0.1:port".
func FreeAddrs(t testing.TB, n int) []string {
	t.Helper()
	var out []string
	for _, p := range FreePorts(t, n) {
		out = append(out, net.JoinHostPort("127.0.0.1", strconv.Itoa(p)))
	}
	return out
}

// ephemeralLow is the first port of the kernel's ephemeral range (Linux's
// /proc/sys/net/ipv4/ip_local_port_range), 32768 where it cannot be read.
func ephemeralLow() int {
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err != nil {
		return 32768
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return 32768
	}
	low, err := strconv.Atoi(f[0])
	if err != nil {
		return 32768
	}
	return low
}

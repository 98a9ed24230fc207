package stream

import (
	"bufio"
	"fmt"
	"net"
	"testing"
	"time"

	"fulcrum/internal/testutil"
)

// startSlowEcho starts a line echo backend that waits delay before each
// answer.
func startSlowEcho(t *testing.T, name string, delay time.Duration) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	testutil.Serve(t, ln, func(c net.Conn) {
		defer c.Close()
		r := bufio.NewReader(c)
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				return
			}
			time.Sleep(delay)
			fmt.Fprintf(c, "%s %s", name, line)
		}
	})
	return ln.Addr().String()
}

// TestLeastTime: sessions go to the server whose first byte comes sooner
// (NGINX Plus's "least_time first_byte"); round robin alternates.
func TestLeastTime(t *testing.T) {
	slow := startSlowEcho(t, "slow", 50*time.Millisecond)
	fast := startSlowEcho(t, "fast", 0)
	tests := []struct {
		method string
		ok     func(fast int) bool // of 10 sessions
	}{
		{"least_time first_byte;", func(n int) bool { return n >= 8 }},
		{"least_time last_byte inflight;", func(n int) bool { return n >= 8 }},
		{"", func(n int) bool { return n == 5 }},
	}
	for _, tt := range tests {
		t.Run("method "+tt.method, func(t *testing.T) {
			cfg := load(t, t.TempDir(), fmt.Sprintf("upstream u { %s server %s; server %s; } server { listen 127.0.0.1:0; proxy_pass u; }", tt.method, slow, fast))
			_, addr := start(t, cfg)
			n := 0
			for range 10 {
				cl := dial(t, addr)
				got := cl.ask(t, "x")
				cl.c.Close()
				switch got {
				case "fast x":
					n++
				case "slow x":
				default:
					t.Fatalf("answer %q", got)
				}
			}
			if !tt.ok(n) {
				t.Errorf("%d of 10 sessions to the fast server", n)
			}
		})
	}
}

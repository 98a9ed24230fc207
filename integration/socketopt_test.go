package integration

import (
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

// tcpTimer returns the timer field ("tr" in /proc/net/tcp: 0 none, 1
// retransmit, 2 keep-alive, ...) of the IPv4 socket whose local port is
// port and remote port is peer, and whether it was found.
func tcpTimer(t testing.TB, port, peer int) (int, bool) {
	t.Helper()
	b, err := os.ReadFile("/proc/net/tcp")
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(b), "\n")[1:] {
		f := strings.Fields(l)
		if len(f) < 6 || !strings.HasSuffix(f[1], fmt.Sprintf(":%04X", port)) || !strings.HasSuffix(f[2], fmt.Sprintf(":%04X", peer)) {
			continue
		}
		tr, err := strconv.ParseInt(strings.SplitN(f[5], ":", 2)[0], 16, 32)
		if err != nil {
			t.Fatalf("timer field %q: %v", f[5], err)
		}
		return int(tr), true
	}
	return 0, false
}

// TestProxySocketKeepalive proxies a request and looks at fulcrum's
// idle upstream connection in /proc/net/tcp: with proxy_socket_keepalive
// on its keep-alive timer runs (SO_KEEPALIVE), off (nginx's default) no
// timer runs, as for nginx's upstream sockets.
func TestProxySocketKeepalive(t *testing.T) {
	t.Parallel() // its own process, backends and temp dir; no upper time bound
	for _, tt := range []struct {
		directive string
		timer     int
	}{
		{"", 0},
		{"proxy_socket_keepalive off;", 0},
		{"proxy_socket_keepalive on;", 2},
	} {
		t.Run(tt.directive, func(t *testing.T) {
			peers := make(chan string, 1)
			be := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				select {
				case peers <- r.RemoteAddr:
				default:
				}
				w.Write([]byte("ok"))
			}))
			defer be.Close()
			_, bePort, _ := net.SplitHostPort(be.Listener.Addr().String())
			in := startFulcrum(t, fmt.Sprintf("events {}\nhttp {\n    server {\n        listen 127.0.0.1:0;\n        location / { %s proxy_pass http://%s; }\n    }\n}\n", tt.directive, be.Listener.Addr()), 1)
			if code, body := get(t, http.DefaultClient, in.url(0)+"/"); code != 200 || body != "ok" {
				t.Fatalf("answer %d %q", code, body)
			}
			_, local, _ := net.SplitHostPort(<-peers)
			lp, _ := strconv.Atoi(local)
			pp, _ := strconv.Atoi(bePort)
			timer, ok := tcpTimer(t, lp, pp)
			if !ok || timer != tt.timer {
				t.Errorf("upstream socket %d->%d: found %v, timer %d, want %d", lp, pp, ok, timer, tt.timer)
			}
		})
	}
}

// TestStreamProxySocketKeepalive: the stream proxy's upstream connection
// has SO_KEEPALIVE (a running keep-alive timer in /proc/net/tcp) only
// with proxy_socket_keepalive on, as nginx's stream proxy sets it.
func TestStreamProxySocketKeepalive(t *testing.T) {
	for _, tt := range []struct {
		directive string
		timer     int
	}{
		{"", 0},
		{"proxy_socket_keepalive on;", 2},
	} {
		t.Run(tt.directive, func(t *testing.T) {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			defer ln.Close()
			peers := make(chan net.Conn, 1)
			go func() {
				if c, err := ln.Accept(); err == nil {
					peers <- c
				}
			}()
			in := startFulcrum(t, fmt.Sprintf("events {}\nstream {\n    server { listen 127.0.0.1:0; %s proxy_pass %s; }\n}\n", tt.directive, ln.Addr()), 1)
			c, err := net.Dial("tcp", in.listening()[0])
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			up := <-peers
			defer up.Close()
			lp := up.RemoteAddr().(*net.TCPAddr).Port
			// The backend may accept before fulcrum's connect returns and
			// the option is set: poll.
			var timer int
			var ok bool
			for deadline := time.Now().Add(2 * time.Second); ; time.Sleep(10 * time.Millisecond) {
				timer, ok = tcpTimer(t, lp, ln.Addr().(*net.TCPAddr).Port)
				if ok && timer == tt.timer || time.Now().After(deadline) {
					break
				}
			}
			if !ok || timer != tt.timer {
				t.Errorf("upstream socket from %d: found %v, timer %d, want %d", lp, ok, timer, tt.timer)
			}
		})
	}
}

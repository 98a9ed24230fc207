package fastcgi

import (
	"net"
	"net/http/fcgi"
	"strings"
	"testing"
	"time"

	"fulcrum/internal/config"
	"fulcrum/internal/upstream"
)

// peerListener records the address each accepted connection comes from.
type peerListener struct {
	net.Listener
	peers chan string
}

func (l *peerListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil {
		host, _, _ := net.SplitHostPort(c.RemoteAddr().String())
		select {
		case l.peers <- host:
		default:
		}
	}
	return c, err
}

// serveFCGIPeers runs Go's FastCGI server with echo on a TCP listener that
// reports where its connections come from.
func serveFCGIPeers(t *testing.T) (upstream.Settings, chan string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	pl := &peerListener{Listener: ln, peers: make(chan string, 16)}
	t.Cleanup(func() { ln.Close() })
	go fcgi.Serve(pl, echo)
	return upstream.Settings{Network: "tcp", Addr: ln.Addr().String(), Weight: 1, MaxFails: 1, FailTimeout: 10 * time.Second}, pl.peers
}

// TestBind checks fastcgi_bind: the connection to the server comes from
// the address it names, fixed or from a variable; a variable that is empty
// or not an address binds nothing; a bind that fails is nginx's 500.
func TestBind(t *testing.T) {
	tests := []struct {
		name, bind, target string
		vars               bool
		status             int
		peer               string // "" when no connection is made
		log                string
	}{
		{"fixed", "127.0.0.2", "/a.php", false, 200, "127.0.0.2", ""},
		{"from a variable", "$arg_src", "/a.php?src=127.0.0.3", true, 200, "127.0.0.3", ""},
		{"empty variable", "$arg_src", "/a.php", true, 200, "127.0.0.1", ""},
		{"not an address", "$arg_src", "/a.php?src=nowhere", true, 200, "127.0.0.1", `invalid local address "nowhere"`},
		{"none", "", "/a.php", false, 200, "127.0.0.1", ""},
		{"cannot bind", "192.0.2.1", "/a.php", false, 500, "", "bind(192.0.2.1) failed (99: Cannot assign requested address) while connecting to upstream"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, peers := serveFCGIPeers(t)
			set := settings()
			set.Bind = config.ProxyBind{Addr: tt.bind, HasVariables: tt.vars}
			h, logs := newHandler(t, set, 0, srv)
			w := do(h, "GET", tt.target, "")
			if w.Code != tt.status {
				t.Fatalf("status %d, want %d (%q)", w.Code, tt.status, w.Body)
			}
			if tt.peer != "" {
				select {
				case got := <-peers:
					if got != tt.peer {
						t.Errorf("connection from %s, want %s", got, tt.peer)
					}
				case <-time.After(5 * time.Second):
					t.Fatal("no connection")
				}
			}
			if tt.log != "" && !strings.Contains(logs.String(), tt.log) {
				t.Errorf("log %q, want %q", logs, tt.log)
			}
			if tt.status == 500 && !strings.Contains(logs.String(), "[crit]") {
				t.Errorf("bind failure not at crit: %q", logs)
			}
		})
	}
}

// TestDialer checks the dialer of new connections: SO_KEEPALIVE only with
// fastcgi_socket_keepalive on, and no local address for a unix socket.
func TestDialer(t *testing.T) {
	tests := []struct {
		name      string
		keepalive bool
		bind      string
		network   string
		local     string // the dialer's LocalAddr, "" for none
	}{
		{"defaults", false, "", "tcp", ""},
		{"keepalive", true, "", "tcp", ""},
		{"bind", false, "127.0.0.2", "tcp", "127.0.0.2:0"},
		{"bind with port", true, "127.0.0.2:4000", "tcp", "127.0.0.2:4000"},
		{"unix ignores bind", false, "127.0.0.2", "unix", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			set := settings()
			set.SocketKeepalive = tt.keepalive
			set.Bind = config.ProxyBind{Addr: tt.bind}
			h, _ := newHandler(t, set, 0, upstream.Settings{Addr: "127.0.0.1:9", Weight: 1})
			d := h.dialer(&request{}, tt.network)
			if d.KeepAliveConfig.Enable != tt.keepalive || d.KeepAlive != -1 {
				t.Errorf("keep-alive %+v (%v), want enabled %v", d.KeepAliveConfig, d.KeepAlive, tt.keepalive)
			}
			got := ""
			if d.LocalAddr != nil {
				got = d.LocalAddr.String()
			}
			if got != tt.local {
				t.Errorf("local address %q, want %q", got, tt.local)
			}
			if d.Timeout != set.ConnectTimeout {
				t.Errorf("timeout %v, want %v", d.Timeout, set.ConnectTimeout)
			}
		})
	}
}

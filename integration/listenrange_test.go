package integration

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"fulcrum/internal/testutil"
)

// consecutivePorts returns two free loopback ports, the second one the
// first plus one.
func consecutivePorts(t *testing.T) (int, int) {
	t.Helper()
	for range 50 {
		p := testutil.FreePorts(t, 1)[0]
		if p >= 65535 {
			continue
		}
		l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(p+1)))
		if err != nil {
			continue
		}
		l.Close()
		return p, p + 1
	}
	t.Fatal("no two consecutive free ports")
	return 0, 0
}

// TestListenPortRange: "listen ADDR:FIRST-LAST" listens on every port of
// the range, in http, stream and mail, as the nginx 1.22.1 at hand (Debian's
// 1.22.1-9+deb12u12) does (recorded: "listen 127.0.0.1:18082-18083;"
// binds both ports, and nginx-tests' http_listen.t); fulcrum refused the
// range as an invalid port.
func TestListenPortRange(t *testing.T) {
	h1, h2 := consecutivePorts(t)
	s1, s2 := consecutivePorts(t)
	m1, m2 := consecutivePorts(t)
	conf := fmt.Sprintf(`
events {}
http {
    server {
        listen 127.0.0.1:%d-%d;
        location / { return 200 "http $server_port"; }
    }
}
stream {
    server {
        listen 127.0.0.1:%d-%d;
        return "stream $server_port";
    }
}
mail {
    auth_http 127.0.0.1:9/;
    server {
        listen 127.0.0.1:%d-%d;
        protocol smtp;
        smtp_auth none;
    }
}
`, h1, h2, s1, s2, m1, m2)
	startFulcrum(t, conf, 6)
	client := &http.Client{Timeout: 5 * time.Second}
	for _, p := range []int{h1, h2} {
		code, body := get(t, client, fmt.Sprintf("http://127.0.0.1:%d/", p))
		if want := fmt.Sprintf("http %d", p); code != 200 || body != want {
			t.Errorf("port %d: %d %q, want 200 %q", p, code, body, want)
		}
	}
	for _, p := range []int{s1, s2} {
		c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", p), 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(5 * time.Second))
		b, err := io.ReadAll(c)
		c.Close()
		if want := fmt.Sprintf("stream %d", p); err != nil || string(b) != want {
			t.Errorf("stream port %d: %q %v, want %q", p, b, err, want)
		}
	}
	for _, p := range []int{m1, m2} {
		c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", p), 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(5 * time.Second))
		line, err := bufio.NewReader(c).ReadString('\n')
		c.Close()
		if err != nil || !strings.HasPrefix(line, "220 ") {
			t.Errorf("mail port %d: %q %v, want an SMTP greeting", p, line, err)
		}
	}
}

// TestListenPortRangeErrors: a range whose ends are not ports, or whose
// end is below its start, is refused with nginx 1.22.1's words (recorded
// with the Debian build at hand), naming the file and line.
func TestListenPortRangeErrors(t *testing.T) {
	tests := []struct{ addr, want string }{
		{"127.0.0.1:18083-18082", `invalid port range in "127.0.0.1:18083-18082" of the "listen" directive`},
		{"127.0.0.1:0-5", `invalid port in "127.0.0.1:0-5" of the "listen" directive`},
		{"127.0.0.1:18082-", `invalid port in "127.0.0.1:18082-" of the "listen" directive`},
		{"127.0.0.1:18082-70000", `invalid port in "127.0.0.1:18082-70000" of the "listen" directive`},
		{"127.0.0.1:-18082", `invalid port in "127.0.0.1:-18082" of the "listen" directive`},
	}
	for _, tt := range tests {
		t.Run(tt.addr, func(t *testing.T) {
			dir := writeFiles(t, t.TempDir(), map[string]string{"nginx.conf": fmt.Sprintf("events {}\nhttp {\n    server {\n        listen %s;\n    }\n}\n", tt.addr)})
			conf := filepath.Join(dir, "nginx.conf")
			r := runFulcrum(t, "-t", "-c", conf)
			if r.code == 0 || !strings.Contains(r.stderr, tt.want) || !strings.Contains(r.stderr, conf+":4") {
				t.Errorf("exit %d, stderr %q, want %q at %s:4", r.code, r.stderr, tt.want, conf)
			}
		})
	}
}

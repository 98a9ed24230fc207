package integration

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/textproto"
	"strings"
	"testing"
	"time"

	"fulcrum/internal/testutil"
)

// upgradeBackend answers every request with answer and hands the request head
// it read (the lines after the request line) to heads. After a 101 it waits
// for the other side to close.
func upgradeBackend(t *testing.T, answer string, heads chan<- []string) string {
	return testutil.RawBackend(t, func(c net.Conn) {
		br := bufio.NewReader(c)
		for {
			tp := textproto.NewReader(br)
			if _, err := tp.ReadLine(); err != nil {
				return
			}
			var lines []string
			for {
				line, err := tp.ReadLine()
				if err != nil {
					return
				}
				if line == "" {
					break
				}
				lines = append(lines, line)
			}
			heads <- lines
			io.WriteString(c, answer)
			if strings.Contains(answer, " 101 ") {
				io.Copy(io.Discard, br)
				return
			}
		}
	})
}

// TestUpgradeHandshakeFields checks what a backend receives for a WebSocket
// handshake: exactly one Upgrade and one Connection field, the configured
// ones when proxy_set_header sets them (nginx 1.22.1 sends "Upgrade:
// websocket" and "Connection: upgrade" for both usual configurations), and
// fulcrum's own pass-through when nothing is set. The client's 101 carries a
// Date and nginx's "Connection: upgrade".
func TestUpgradeHandshakeFields(t *testing.T) {
	heads := make(chan []string, 4)
	addr := upgradeBackend(t, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n", heads)
	in := startFulcrum(t, fmt.Sprintf(`
events {}
http {
    map $http_upgrade $connection_upgrade { default upgrade; '' close; }
    server {
        listen 127.0.0.1:0;
        location /map/ {
            proxy_pass http://%[1]s;
            proxy_http_version 1.1;
            proxy_set_header Upgrade $http_upgrade;
            proxy_set_header Connection $connection_upgrade;
        }
        location /literal/ {
            proxy_pass http://%[1]s;
            proxy_http_version 1.1;
            proxy_set_header Upgrade $http_upgrade;
            proxy_set_header Connection "upgrade";
        }
        location / { proxy_pass http://%[1]s; }
    }
}`, addr), 1)
	tests := []struct {
		path string
		want []string // the backend's Upgrade and Connection fields, in order
	}{
		{"/map/x", []string{"Upgrade: websocket", "Connection: upgrade"}},
		{"/literal/x", []string{"Upgrade: websocket", "Connection: upgrade"}},
		{"/default", []string{"Connection: Upgrade", "Upgrade: websocket"}},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			conn, err := net.DialTimeout("tcp", in.listening()[0], 5*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			conn.SetDeadline(time.Now().Add(10 * time.Second))
			fmt.Fprintf(conn, "GET %s HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n", tt.path)
			resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != 101 || resp.Header.Get("Date") == "" || fmt.Sprint(resp.Header["Connection"]) != "[upgrade]" {
				t.Errorf("client got %d %v, want 101 with a Date and Connection: upgrade", resp.StatusCode, resp.Header)
			}
			var got []string
			for _, line := range <-heads {
				name, _, _ := strings.Cut(line, ":")
				if strings.EqualFold(name, "Upgrade") || strings.EqualFold(name, "Connection") {
					got = append(got, line)
				}
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("backend got %q, want %q", got, tt.want)
			}
		})
	}
}

// TestDeclinedUpgradeKeepsConnection checks that a backend answering an
// upgrade request with a plain 200 leaves the client connection open for the
// next request, as nginx 1.22.1 does ("Connection: keep-alive").
func TestDeclinedUpgradeKeepsConnection(t *testing.T) {
	heads := make(chan []string, 4)
	addr := upgradeBackend(t, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", heads)
	in := startFulcrum(t, fmt.Sprintf(`
events {}
http {
    server {
        listen 127.0.0.1:0;
        location / { proxy_pass http://%s; }
    }
}`, addr), 1)
	conn, err := net.DialTimeout("tcp", in.listening()[0], 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	io.WriteString(conn, "GET /x HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\nGET /y HTTP/1.1\r\nHost: x\r\n\r\n")
	br := bufio.NewReader(conn)
	for i := range 2 {
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("response %d: %v", i+1, err)
		}
		io.Copy(io.Discard, resp.Body)
		if resp.StatusCode != 200 || resp.Close {
			t.Fatalf("response %d: %d, close %v; want 200 keeping the connection", i+1, resp.StatusCode, resp.Close)
		}
	}
}

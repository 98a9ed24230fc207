package integration

import (
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"
)

// hostExchange sends "GET target" with the given Host on a new connection and
// returns the status and the body.
func hostExchange(t *testing.T, addr, host, target string) (int, string) {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n", target, host)
	raw, err := io.ReadAll(c)
	if err != nil {
		t.Fatalf("read the response: %v", err)
	}
	head, body, ok := strings.Cut(string(raw), "\r\n\r\n")
	if !ok {
		t.Fatalf("no end of head in %q", raw)
	}
	var status int
	if _, err := fmt.Sscanf(head, "HTTP/1.1 %d", &status); err != nil {
		t.Fatalf("status line of %q: %v", head, err)
	}
	return status, body
}

// TestMergeSlashesOff runs merge_slashes off end to end. Every expected answer
// is nginx 1.22's to the same request on the same configuration (nginx-diff):
// repeated slashes stay in $uri, in location matching, in proxy_pass's URI
// replacement and in alias paths, dot segments are still resolved (".." after
// "//" climbs over the empty segment only), nothing climbs above the root, and
// the default server's value decides even for a request whose Host chooses a
// server with merge_slashes on.
func TestMergeSlashesOff(t *testing.T) {
	b := startBackend(t, "b1")
	root := t.TempDir()
	writeFiles(t, root, map[string]string{"a/b/x": "file a/b/x", "x": "top"})
	in := startFulcrum(t, fmt.Sprintf(`
events {}
http {
    server {
        listen 127.0.0.1:0 default_server;
        server_name off.test;
        merge_slashes off;
        location = /exact//two { return 200 "exact-two uri=$uri\n"; }
        location /p/ { proxy_pass http://%[1]s/q/; }
        location /raw/ { proxy_pass http://%[1]s; }
        location /al/ { alias %[2]s/; }
        location ~ ^/re//x { return 200 "regex uri=$uri\n"; }
        location /rw/ { rewrite ^/rw/(.*)$ /echo/$1 last; }
        location /echo/ { return 200 "echo uri=$uri\n"; }
        location / { return 200 "off uri=$uri\n"; }
    }
    server {
        listen 127.0.0.1:0;
        server_name on.test;
        location / { return 200 "on uri=$uri\n"; }
    }
}`, b.addr(), root), 1)
	addr := in.listening()[0]
	tests := []struct {
		host, target string
		status       int
		body         string
	}{
		{"off.test", "/a//b", 200, "off uri=/a//b\n"},
		{"off.test", "//a", 200, "off uri=//a\n"},
		{"off.test", "/a///b//", 200, "off uri=/a///b//\n"},
		{"off.test", "/a//b/../c", 200, "off uri=/a//c\n"},
		{"off.test", "/a//../c", 200, "off uri=/a/c\n"},
		{"off.test", "/a/b//..", 200, "off uri=/a/b/\n"},
		{"off.test", "//..", 200, "off uri=/\n"},
		{"off.test", "/a/.//b", 200, "off uri=/a//b\n"},
		{"off.test", "/a/%2F/b", 200, "off uri=/a///b\n"},
		{"off.test", "/a%2F%2F..%2Fb", 200, "off uri=/a/b\n"},
		{"off.test", "/a//..//../..", 200, "off uri=/\n"},
		{"off.test", "/..", 400, ""},
		{"off.test", "//../..", 400, ""},
		{"off.test", "/exact//two", 200, "exact-two uri=/exact//two\n"},
		{"off.test", "/exact/two", 200, "off uri=/exact/two\n"},
		{"off.test", "/re//x", 200, "regex uri=/re//x\n"},
		{"off.test", "/rw//x//y", 200, "echo uri=/echo//x//y\n"},
		{"off.test", "/p//x//y", 200, "b1 GET /q//x//y\n"},
		{"off.test", "/raw//x%2F/y?q=1", 200, "b1 GET /raw//x%2F/y?q=1\n"},
		{"off.test", "/al//a//b/x", 200, "file a/b/x"},
		{"off.test", "/al//../x", 200, "top"},
		// The Host header chooses on.test, but the default server's
		// merge_slashes parsed the path.
		{"on.test", "/a//b", 200, "on uri=/a//b\n"},
	}
	for _, tt := range tests {
		t.Run(tt.host+tt.target, func(t *testing.T) {
			status, body := hostExchange(t, addr, tt.host, tt.target)
			if status != tt.status {
				t.Fatalf("status %d, want %d (body %q)", status, tt.status, body)
			}
			if tt.status == 200 && firstLine(body)+"\n" != tt.body && body != tt.body {
				t.Errorf("body %q, want %q", body, tt.body)
			}
		})
	}
}

// TestMergeSlashesOnByDefault: without the directive, and with it on in the
// default server, slashes are merged even for a request whose Host chooses a
// server with merge_slashes off (nginx 1.22).
func TestMergeSlashesOnByDefault(t *testing.T) {
	in := startFulcrum(t, `
events {}
http {
    server {
        listen 127.0.0.1:0;
        server_name on.test;
        location / { return 200 "on uri=$uri\n"; }
    }
    server {
        listen 127.0.0.1:0;
        server_name off.test;
        merge_slashes off;
        location / { return 200 "off uri=$uri\n"; }
    }
}`, 1)
	for host, want := range map[string]string{"on.test": "on uri=/a/b\n", "off.test": "off uri=/a/b\n"} {
		if status, body := hostExchange(t, in.listening()[0], host, "/a//b"); status != 200 || body != want {
			t.Errorf("Host %s: %d %q, want 200 %q", host, status, body, want)
		}
	}
}

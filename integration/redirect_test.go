package integration

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"fulcrum/internal/testutil"
)

// TestProxyRedirectIsAbsolute checks the Location a client gets when
// proxy_redirect (default or explicit) rewrites the backend's: nginx 1.22.1
// makes it absolute from the request's host and port (absolute_redirect on),
// leaves a relative Location the backend sent itself as it is, and never
// touches Refresh this way.
func TestProxyRedirectIsAbsolute(t *testing.T) {
	var addr string
	addr = testutil.RawBackend(t, func(c net.Conn) {
		req, err := http.ReadRequest(bufio.NewReader(c))
		if err != nil {
			return
		}
		loc := "http://" + addr + "/else/where"
		if strings.Contains(req.URL.Path, "rel") {
			loc = "/rel/where"
		}
		fmt.Fprintf(c, "HTTP/1.1 302 Found\r\nLocation: %s\r\nRefresh: 5; url=%s\r\nContent-Length: 0\r\nConnection: close\r\n\r\n", loc, loc)
	})
	in := startFulcrum(t, fmt.Sprintf(`
events {}
http {
    server {
        listen 127.0.0.1:0;
        location / { proxy_pass http://%[1]s; }
        location /x/ { proxy_pass http://%[1]s; proxy_redirect http://%[1]s/ /y/; }
        location /na/ { proxy_pass http://%[1]s; absolute_redirect off; }
    }
}`, addr), 1)
	front := in.listening()[0]
	_, port, _ := net.SplitHostPort(front)
	tests := []struct {
		name, raw, location, refresh string
	}{
		{"default rule", "GET /a HTTP/1.1\r\nHost: App.Example\r\n", "http://app.example:" + port + "/else/where", "5; url=/else/where"},
		{"explicit rule", "GET /x/a HTTP/1.1\r\nHost: app.example:" + port + "\r\n", "http://app.example:" + port + "/y/else/where", "5; url=/y/else/where"},
		{"relative from backend", "GET /rel HTTP/1.1\r\nHost: app.example\r\n", "/rel/where", "5; url=/rel/where"},
		{"explicit rule, relative from backend", "GET /x/rel HTTP/1.1\r\nHost: app.example\r\n", "/rel/where", "5; url=/rel/where"},
		{"absolute_redirect off", "GET /na/a HTTP/1.1\r\nHost: app.example\r\n", "/else/where", "5; url=/else/where"},
		{"no Host", "GET /a HTTP/1.0\r\n", "http://127.0.0.1:" + port + "/else/where", "5; url=/else/where"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			conn, err := net.DialTimeout("tcp", front, 5*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			conn.SetDeadline(time.Now().Add(10 * time.Second))
			io.WriteString(conn, tt.raw+"Connection: close\r\n\r\n")
			resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
			if err != nil {
				t.Fatal(err)
			}
			if got := resp.Header.Get("Location"); got != tt.location {
				t.Errorf("Location %q, want %q", got, tt.location)
			}
			if got := resp.Header.Get("Refresh"); got != tt.refresh {
				t.Errorf("Refresh %q, want %q", got, tt.refresh)
			}
		})
	}
}

// TestProxyRedirectVariableInText: the text a proxy_redirect rule replaces
// may have variables, evaluated per response, as nginx 1.22.1 does
// (nginx-tests proxy_redirect.t, "variable in first arg": with set
// $some_var var_here and proxy_redirect http://BACKEND/$some_var/
// /replaced/, the backend's Location http://BACKEND/var_here/test.html
// reaches the client as http://HOST:PORT/replaced/test.html and its Refresh
// url as /replaced/test.html; fulcrum compared the text literally and
// passed them unchanged). A Location the evaluated text does not start
// passes as it came.
func TestProxyRedirectVariableInText(t *testing.T) {
	var addr string
	addr = testutil.RawBackend(t, func(c net.Conn) {
		req, err := http.ReadRequest(bufio.NewReader(c))
		if err != nil {
			return
		}
		loc := "http://" + addr + req.URL.Path
		fmt.Fprintf(c, "HTTP/1.1 302 Found\r\nLocation: %s\r\nRefresh: 7; url=%s\r\nContent-Length: 0\r\nConnection: close\r\n\r\n", loc, loc)
	})
	in := startFulcrum(t, fmt.Sprintf(`
events {}
http {
    server {
        listen 127.0.0.1:0;
        location / {
            set $some_var var_here;
            proxy_pass http://%[1]s;
            proxy_redirect http://%[1]s/$some_var/ /replaced/;
        }
    }
}`, addr), 1)
	front := in.listening()[0]
	_, port, _ := net.SplitHostPort(front)
	tests := []struct {
		path, location, refresh string
	}{
		{"/var_here/test.html", "http://app.example:" + port + "/replaced/test.html", "7; url=/replaced/test.html"},
		{"/other/test.html", "http://" + addr + "/other/test.html", "7; url=http://" + addr + "/other/test.html"},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			conn, err := net.DialTimeout("tcp", front, 5*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			conn.SetDeadline(time.Now().Add(10 * time.Second))
			fmt.Fprintf(conn, "GET %s HTTP/1.1\r\nHost: app.example:%s\r\nConnection: close\r\n\r\n", tt.path, port)
			resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
			if err != nil {
				t.Fatal(err)
			}
			if got := resp.Header.Get("Location"); got != tt.location {
				t.Errorf("Location %q, want %q", got, tt.location)
			}
			if got := resp.Header.Get("Refresh"); got != tt.refresh {
				t.Errorf("Refresh %q, want %q", got, tt.refresh)
			}
		})
	}
}

// TestRedirectPortAndServerName: port_in_redirect off leaves the port out of
// fulcrum's absolute redirects, server_name_in_redirect on names the server's
// primary name (empty without one), for return and the directory redirect
// alike. Expected values are nginx 1.22's for the same configuration.
func TestRedirectPortAndServerName(t *testing.T) {
	root := t.TempDir()
	writeFiles(t, root, map[string]string{"dir/index.html": "i"})
	in := startFulcrum(t, `
events {}
http {
    server {
        listen 127.0.0.1:0;
        server_name main.test alias.test;
        location /a { server_name_in_redirect on; return 302 /x; }
        location /b { port_in_redirect off; return 302 /x; }
        location /c { server_name_in_redirect on; port_in_redirect off; return 302 /x; }
        location /dir { server_name_in_redirect on; root `+root+`; }
    }
    server { listen 127.0.0.2:0; location /a { server_name_in_redirect on; return 302 /x; } }
}`, 2)
	main, other := in.urlOn("127.0.0.1"), in.urlOn("127.0.0.2")
	port := func(u string) string { return u[strings.LastIndexByte(u, ':'):] }
	client := newClient()
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	tests := []struct{ url, host, want string }{
		{main + "/a", "alias.test", "http://main.test" + port(main) + "/x"},
		{main + "/b", "alias.test", "http://alias.test/x"},
		{main + "/c", "alias.test", "http://main.test/x"},
		{main + "/dir", "alias.test", "http://main.test" + port(main) + "/dir/"},
		{other + "/a", "other.test", "http://" + port(other) + "/x"},
	}
	for _, tt := range tests {
		req, _ := http.NewRequest("GET", tt.url, nil)
		req.Host = tt.host
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if got := resp.Header.Get("Location"); got != tt.want {
			t.Errorf("%s (Host %s): Location %q, want %q", tt.url, tt.host, got, tt.want)
		}
	}
}

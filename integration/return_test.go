package integration

import (
	"bufio"
	"net"
	"net/textproto"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"fulcrum/internal/testutil"
)

// rawAnswer sends req as written on a new connection to addr and returns the
// answer's status line and header fields, exactly as sent (no field is
// dropped or added), and whether the connection was closed after the answer.
func rawAnswer(t *testing.T, addr, req string) (status string, h textproto.MIMEHeader, closed bool) {
	t.Helper()
	c := testutil.SendRaw(t, addr, req)
	defer c.Close()
	tp := textproto.NewReader(bufio.NewReader(c))
	var err error
	if status, err = tp.ReadLine(); err != nil {
		t.Fatalf("%q: %v", req, err)
	}
	if h, err = tp.ReadMIMEHeader(); err != nil {
		t.Fatalf("%q: %v", req, err)
	}
	return status, h, strings.EqualFold(h.Get("Connection"), "close")
}

// TestReturnContentType: "return CODE [text]" answers carry the Content-Type
// nginx's ngx_http_send_response gives them: by $uri's extension through the
// types map (the built-in html/gif/jpg one without types), else default_type;
// none for 204, whose header nginx's header filter strips. Expected values are
// nginx 1.22.1's answers to the same configuration.
func TestReturnContentType(t *testing.T) {
	t.Parallel() // its own process, backends and temp dir; no upper time bound
	in := startFulcrum(t, `
events {}
http {
    server {
        listen 127.0.0.1:0;
        location = /a.html { return 200 "h"; }
        location = /x.gif { return 200 "g"; }
        location = /robots.txt { return 200 "r"; }
        location = /e.html { return 200; }
        location = /n204.html { return 204; }
        location = /t204.html { return 204 "text"; }
        location = /n304.html { return 304; }
        location = /t404.html { return 404 "text"; }
        location /r/ { root %DIR%; try_files $uri /rw.html; }
        location = /rw.html { return 200 "rw"; }
    }
    server {
        listen 127.0.0.1:0;
        server_name typ;
        include /etc/nginx/mime.types;
        default_type application/octet-stream;
        location = /robots.txt { return 200 "r"; }
        location = /health.json { return 200 "j"; }
        location = /g.css { return 200 "c"; }
        location = /A.HTML { return 200 "h"; }
        location = /noext { return 200 "n"; }
        location = /n300.json { return 300; }
        location = /n204 { return 204; }
        location /in/ { types { application/x-in txt; } return 200 "i"; }
    }
}`, 1)
	const none = "<none>"
	tests := []struct {
		host   string
		uri    string
		status string
		ctype  string
		length string
	}{
		{"x", "/a.html", "200 OK", "text/html", "1"},
		{"x", "/x.gif", "200 OK", "image/gif", "1"},
		{"x", "/robots.txt", "200 OK", "text/plain", "1"}, // built-in types know no txt: default_type
		{"x", "/e.html", "200 OK", "text/html", "0"},
		{"x", "/n204.html", "204 No Content", none, none},
		{"x", "/t204.html", "204 No Content", none, none},
		{"x", "/n304.html", "304 Not Modified", "text/html", "0"},
		{"x", "/t404.html", "404 Not Found", "text/html", "4"},
		{"x", "/%61.html", "200 OK", "text/html", "1"}, // $uri is decoded
		{"x", "/r/x.json", "200 OK", "text/html", "2"}, // try_files changed $uri to /rw.html
		{"typ", "/robots.txt", "200 OK", "text/plain", "1"},
		{"typ", "/health.json", "200 OK", "application/json", "1"},
		{"typ", "/g.css", "200 OK", "text/css", "1"},
		{"typ", "/A.HTML", "200 OK", "text/html", "1"},
		{"typ", "/noext", "200 OK", "application/octet-stream", "1"},
		{"typ", "/n300.json", "300 ", "application/json", "0"},
		{"typ", "/n204", "204 No Content", none, none},
		{"typ", "/in/a.txt", "200 OK", "application/x-in", "1"},
	}
	for _, tt := range tests {
		t.Run(tt.uri, func(t *testing.T) {
			status, h, _ := rawAnswer(t, in.listening()[0], "GET "+tt.uri+" HTTP/1.1\r\nHost: "+tt.host+"\r\nConnection: close\r\n\r\n")
			field := func(k string) string {
				if v, ok := h[k]; ok {
					return strings.Join(v, ", ")
				}
				return none
			}
			if status != "HTTP/1.1 "+tt.status || field("Content-Type") != tt.ctype || field("Content-Length") != tt.length {
				t.Errorf("got %q, Content-Type %s, Content-Length %s; want %q, %s, %s", status,
					field("Content-Type"), field("Content-Length"), tt.status, tt.ctype, tt.length)
			}
		})
	}
}

// TestRedirectHost: a relative redirect (return 302 /path, or a directory
// without its slash) is made absolute with nginx's host, as its header filter
// does with server_name_in_redirect off: the request's host without port and
// trailing dot, in lower case (as $host), from an absolute-form target before
// the Host field; without any host, the local address the connection came to,
// never server_name. Expected values are nginx 1.22.1's answers.
func TestRedirectHost(t *testing.T) {
	in := startFulcrum(t, `
events {}
http {
    server {
        listen 127.0.0.1:0;
        server_name _;
        root %DIR%;
        location = /r { return 302 /path; }
        location /sub { }
    }
}`, 1)
	if err := os.Mkdir(filepath.Join(in.dir, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, req, want string // want has PORT for the listener's port
	}{
		{"upper-case Host", "GET /r HTTP/1.1\r\nHost: WWW.EXAMPLE.COM\r\n", "http://www.example.com:PORT/path"},
		{"Host with port", "GET /r HTTP/1.1\r\nHost: WWW.Example.COM:8080\r\n", "http://www.example.com:PORT/path"},
		{"Host with trailing dot", "GET /r HTTP/1.1\r\nHost: First.Test.\r\n", "http://first.test:PORT/path"},
		{"directory", "GET /sub HTTP/1.1\r\nHost: WWW.EXAMPLE.COM\r\n", "http://www.example.com:PORT/sub/"},
		{"absolute-form target", "GET http://Abs.EXAMPLE/r HTTP/1.1\r\nHost: other\r\n", "http://abs.example:PORT/path"},
		{"HTTP/1.0 without Host", "GET /r HTTP/1.0\r\n", "http://127.0.0.1:PORT/path"},
		{"HTTP/1.0 without Host, directory", "GET /sub HTTP/1.0\r\n", "http://127.0.0.1:PORT/sub/"},
	}
	addr := in.listening()[0]
	_, port, _ := net.SplitHostPort(addr)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, h, _ := rawAnswer(t, addr, tt.req+"Connection: close\r\n\r\n")
			if want := strings.ReplaceAll(tt.want, "PORT", port); h.Get("Location") != want {
				t.Errorf("Location %q, want %q", h.Get("Location"), want)
			}
		})
	}
}

// TestErrorAnswerClosesConnection: nginx's special response handler ends
// keep-alive for 400, 413, 414, 495-497, 500 and 501, whether the page is its own or an
// error_page's; what counts is the error, not the status the page goes out
// with (error_page 503 =500 keeps the connection). Answers with text are not
// special responses and keep it. Expected values are nginx 1.22.1's answers.
func TestErrorAnswerClosesConnection(t *testing.T) {
	t.Parallel() // its own process, backends and temp dir; no upper time bound
	in := startFulcrum(t, `
events {}
http {
    server {
        listen 127.0.0.1:0;
        root %DIR%;
        location = /c400 { return 400; }
        location = /c404 { return 404; }
        location = /c413 { return 413; }
        location = /c414 { return 414; }
        location = /c500 { return 500; }
        location = /c501 { return 501; }
        location = /c502 { return 502; }
        location = /c503 { return 503; }
        location = /c494 { return 494; }
        location = /c495 { return 495; }
        location = /c496 { return 496; }
        location = /c497 { return 497; }
        location = /t500 { return 500 "text"; }
        location = /t501 { return 501 "text"; }
        location = /e500 { error_page 500 /page.html; return 500; }
        location = /e503 { error_page 503 =500 /page.html; return 503; }
    }
}`, 1)
	if err := os.WriteFile(filepath.Join(in.dir, "page.html"), []byte("page\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		uri    string
		status string
		closes bool
	}{
		{"/c400", "400 Bad Request", true},
		{"/c404", "404 Not Found", false},
		{"/c413", "413 Request Entity Too Large", true},
		{"/c414", "414 Request-URI Too Large", true},
		{"/c500", "500 Internal Server Error", true},
		{"/c501", "501 Not Implemented", true},
		{"/c502", "502 Bad Gateway", false},
		{"/c503", "503 Service Temporarily Unavailable", false},
		// nginx's own codes go out as 400; only 494 keeps the connection.
		{"/c494", "400 Bad Request", false},
		{"/c495", "400 Bad Request", true},
		{"/c496", "400 Bad Request", true},
		{"/c497", "400 Bad Request", true},
		{"/t500", "500 Internal Server Error", false},
		{"/t501", "501 Not Implemented", false},
		{"/e500", "500 Internal Server Error", true},
		{"/e503", "500 Internal Server Error", false},
	}
	for _, tt := range tests {
		t.Run(tt.uri, func(t *testing.T) {
			status, h, closes := rawAnswer(t, in.listening()[0], "GET "+tt.uri+" HTTP/1.1\r\nHost: x\r\n\r\n")
			if status != "HTTP/1.1 "+tt.status || closes != tt.closes {
				t.Errorf("got %q with Connection %q; want %q, closed: %v", status, h.Get("Connection"), tt.status, tt.closes)
			}
		})
	}
}

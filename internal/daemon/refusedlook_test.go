package daemon_test

import (
	"bufio"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"fulcrum/internal/daemon"
)

// TestRefusedOwnPageLook checks fulcrum's own page for a head it refuses
// against what nginx 1.22.1 sent for the same heads and servers (recorded
// on raw sockets): the page takes the "always" add_header fields of the
// server the head belongs to, at the server level (its own lines, or
// those it inherits from http; no location's, none without "always"),
// after Connection, and that server's server_tokens and msie_padding. The
// server is the one the Host chose when the Host line came before the
// fault; a fault in the request line, before the Host line, or in the
// Host itself (invalid or empty) is the default server's; a head read to
// its end without a Host is the one of server_name "". fulcrum's 431 is
// nginx's 400 (its 494) for a header line over the buffers. The error
// log line of an invalid Host names the default server, as nginx's does.
func TestRefusedOwnPageLook(t *testing.T) {
	dir := t.TempDir()
	addr := startDaemonLevel(t, dir, "info", `
    access_log off;
    large_client_header_buffers 2 1k;
    add_header X-Http h always;
    add_header X-Http-Plain hp;
    server {
        listen 127.0.0.1:0 default_server;
        server_name a.test;
        add_header X-Srv a always;
        add_header X-Srv-Plain ap;
        location / { add_header X-Loc a always; return 200 "a\n"; }
    }
    server {
        listen 127.0.0.1:0;
        server_name b.test;
        server_tokens off;
        msie_padding off;
        add_header X-Srv b always;
        add_header X-V "$host|$server_name|$status|$request_uri|$uri" always;
        location / { add_header X-Loc b always; return 200 "b\n"; }
    }
    server { listen 127.0.0.1:0; server_name c.test; location / { return 200 "c\n"; } }
    server { listen 127.0.0.1:0; server_name ""; add_header X-Srv empty always; }`)
	const (
		dflt  = "Server: TOKENS\r\nContent-Type: text/html\r\nContent-Length: N\r\nConnection: close\r\nX-Srv: a\r\n"
		srvB  = "Server: fulcrum\r\nContent-Type: text/html\r\nContent-Length: N\r\nConnection: close\r\nX-Srv: b\r\nX-V: b.test|b.test|%d|/|/\r\n"
		srvC  = "Server: TOKENS\r\nContent-Type: text/html\r\nContent-Length: N\r\nConnection: close\r\nX-Http: h\r\n"
		empty = "Server: TOKENS\r\nContent-Type: text/html\r\nContent-Length: N\r\nConnection: close\r\nX-Srv: empty\r\n"
	)
	big := "X: " + strings.Repeat("a", 1100) + "\r\n"
	tests := []struct{ name, head, want string }{
		{"bad method", "G@T / HTTP/1.1\r\nHost: b.test\r\n\r\n", "400 Bad Request\r\n" + dflt},
		{"bad target", "GET x HTTP/1.1\r\nHost: b.test\r\n\r\n", "400 Bad Request\r\n" + dflt},
		{"bad version", "GET / HTTP/3.1\r\nHost: b.test\r\n\r\n", "505 HTTP Version Not Supported\r\n" + dflt},
		{"URI too long", "GET /" + strings.Repeat("a", 1100) + " HTTP/1.1\r\nHost: b.test\r\n\r\n", "414 Request-URI Too Large\r\n" + dflt},
		{"no Host", "GET / HTTP/1.1\r\nX: y\r\n\r\n", "400 Bad Request\r\n" + empty},
		{"invalid Host", "GET / HTTP/1.1\r\nHost: b/test\r\n\r\n", "400 Bad Request\r\n" + dflt},
		{"empty Host", "GET / HTTP/1.1\r\nHost: \r\n\r\n", "400 Bad Request\r\n" + dflt},
		{"two Hosts", "GET / HTTP/1.1\r\nHost: b.test\r\nHost: c.test\r\n\r\n", "400 Bad Request\r\n" + srvB},
		{"CR after Host", "GET / HTTP/1.1\r\nHost: b.test\r\nX: a\rb\r\n\r\n", "400 Bad Request\r\n" + srvB},
		{"NUL after Host", "GET / HTTP/1.1\r\nHost: b.test\r\nX: a\x00b\r\n\r\n", "400 Bad Request\r\n" + srvB},
		{"CR before Host", "GET / HTTP/1.1\r\nX: a\rb\r\nHost: b.test\r\n\r\n", "400 Bad Request\r\n" + dflt},
		{"too large after Host", "GET / HTTP/1.1\r\nHost: b.test\r\n" + big + "\r\n", "431 Request Header Fields Too Large\r\n" + strings.Replace(srvB, "%d", "431", 1)},
		{"too large before Host", "GET / HTTP/1.1\r\n" + big + "Host: b.test\r\n\r\n", "431 Request Header Fields Too Large\r\n" + dflt},
		{"too large, inherited", "GET / HTTP/1.1\r\nHost: c.test\r\n" + big + "\r\n", "431 Request Header Fields Too Large\r\n" + srvC},
		{"both framings", "POST / HTTP/1.1\r\nHost: b.test\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", "400 Bad Request\r\n" + srvB},
		{"both framings, inherited", "POST / HTTP/1.1\r\nHost: c.test\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", "400 Bad Request\r\n" + srvC},
		{"bad length", "POST / HTTP/1.1\r\nHost: b.test\r\nContent-Length: x\r\n\r\n", "400 Bad Request\r\n" + srvB},
		{"unknown coding", "POST / HTTP/1.1\r\nHost: b.test\r\nTransfer-Encoding: foo\r\n\r\n", "501 Not Implemented\r\n" + strings.Replace(srvB, "%d", "501", 1)},
		{"coding on HTTP/1.0", "POST / HTTP/1.0\r\nHost: b.test\r\nTransfer-Encoding: chunked\r\n\r\n", "400 Bad Request\r\n" + srvB},
	}
	date := regexp.MustCompile(`(?m)^Date: [^\r]*\r\n`)
	length := regexp.MustCompile(`(?m)^Content-Length: \d+\r\n`)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reply := rawReply(t, addr, tt.head)
			head, _, _ := strings.Cut(reply, "\r\n\r\n")
			head = length.ReplaceAllString(date.ReplaceAllString(head+"\r\n", ""), "Content-Length: N\r\n")
			want := "HTTP/1.1 " + strings.NewReplacer("%d", "400", "TOKENS", "fulcrum/"+daemon.Version).Replace(tt.want)
			if head != want {
				t.Errorf("head\n%q\nwant\n%q", head, want)
			}
		})
	}
	// The error log names the default server for an invalid Host too.
	waitLog(t, filepath.Join(dir, "error.log"), `client sent invalid host header while reading client request headers, client: 127.0.0.1, server: a.test, request: "GET / HTTP/1.1", host: "b/test"`)
	// msie_padding of the Host's server: off for b, on (the default) for c.
	chrome := "User-Agent: Mozilla/5.0 Chrome/120.0\r\n"
	for _, tt := range []struct {
		host   string
		padded bool
	}{{"b.test", false}, {"c.test", true}} {
		_, body := sendHead(t, addr, "GET / HTTP/1.1\r\nHost: "+tt.host+"\r\n"+chrome+"X: a\rb\r\n\r\n")
		if padded := !strings.HasSuffix(body, "</html>\r\n"); padded != tt.padded {
			t.Errorf("Host %s: padded %v, want %v: %q", tt.host, padded, tt.padded, body)
		}
	}
}

// TestRefusedOwnPageLookTLS: over TLS, a head refused before its Host line
// chose a server belongs to the server the connection's SNI chose, as
// nginx's connection has that server's configuration from the handshake
// on (recorded with nginx 1.22.1, SNI b.test: a bad method and a bad
// header line before "Host: b.test" got b.test's add_header field and
// server_tokens, its access log line with $server_name and $host b.test,
// and "server: b.test" in the error line; a Host before the fault still
// chooses, and a whole head without one goes to the server named "".
func TestRefusedOwnPageLookTLS(t *testing.T) {
	dir := t.TempDir()
	a, b := tlsSites(t, dir)
	addr := startDaemonLevel(t, dir, "info", fmt.Sprintf(`
    log_format s '$status sn=$server_name h=$host';
    access_log %[3]s/s.log s;
    server { listen 127.0.0.1:0 ssl default_server; server_name a.test; %[1]s add_header X-Srv a always; }
    server { listen 127.0.0.1:0 ssl; server_name b.test; %[2]s server_tokens off; add_header X-Srv b always; }
    server { listen 127.0.0.1:0 ssl; server_name c.test; %[1]s add_header X-Srv c always; }
    server { listen 127.0.0.1:0 ssl; server_name ""; %[1]s add_header X-Srv empty always; }`, a, b, dir))
	tests := []struct{ name, head, srv, server, logged, errServer string }{
		{"bad method", "G@T / HTTP/1.1\r\nHost: c.test\r\n\r\n", "b", "fulcrum", "400 sn=b.test h=b.test", "server: b.test, request: \"G@T / HTTP/1.1\""},
		{"bad line before Host", "GET / HTTP/1.1\r\nX: a\rb\r\nHost: c.test\r\n\r\n", "b", "fulcrum", "400 sn=b.test h=b.test", "server: b.test, request: \"GET / HTTP/1.1\"\n"},
		{"bad line after Host", "GET / HTTP/1.1\r\nHost: c.test\r\nX: a\rb\r\n\r\n", "c", "fulcrum/" + daemon.Version, "400 sn=c.test h=c.test", "server: c.test, request: \"GET / HTTP/1.1\", host: \"c.test\""},
		{"no Host", "GET / HTTP/1.1\r\n\r\n", "empty", "fulcrum/" + daemon.Version, "400 sn= h=", "server: , request: \"GET / HTTP/1.1\""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := logSize(filepath.Join(dir, "error.log"))
			c, _ := dialTLS(t, addr, "b.test")
			if _, err := io.WriteString(c, tt.head); err != nil {
				t.Fatal(err)
			}
			resp, err := http.ReadResponse(bufio.NewReader(c), nil)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != 400 || resp.Header.Get("X-Srv") != tt.srv || resp.Header.Get("Server") != tt.server {
				t.Errorf("%d X-Srv %q Server %q, want 400 %q %q", resp.StatusCode, resp.Header.Get("X-Srv"), resp.Header.Get("Server"), tt.srv, tt.server)
			}
			if got := waitLogPart(t, filepath.Join(dir, "error.log"), before, "client sent"); !strings.Contains(got+"\n", tt.errServer) {
				t.Errorf("error line %q, want %q in it", got, tt.errServer)
			}
			waitForAccess(t, filepath.Join(dir, "s.log"), tt.logged)
		})
	}
}

package stream

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"fmt"
	"fulcrum/internal/testutil"
	"io"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// clientHello returns the bytes a crypto/tls client with cfg sends first:
// its ClientHello records.
func clientHello(t testing.TB, cfg *tls.Config) []byte {
	t.Helper()
	c, s := net.Pipe()
	done := make(chan []byte)
	go func() {
		buf := make([]byte, 64<<10)
		_ = s.SetReadDeadline(time.Now().Add(5 * time.Second))
		n, _ := s.Read(buf) // the client writes its ClientHello in one Write
		s.Close()
		done <- buf[:n]
	}()
	_ = tls.Client(c, cfg).Handshake() // fails once the pipe closes
	c.Close()
	return <-done
}

// records wraps a handshake message body in TLS records of at most max
// bytes each.
func records(msg []byte, max int) []byte {
	var out []byte
	for len(msg) > 0 {
		n := min(len(msg), max)
		out = append(out, 0x16, 3, 1, byte(n>>8), byte(n))
		out = append(out, msg[:n]...)
		msg = msg[n:]
	}
	return out
}

// parseAll feeds b to a parser in pieces of step bytes (0: at once), as
// reads would bring them, and returns the verdict and the variables.
func parseAll(b []byte, step int) (verdict, string) {
	var p helloParser
	v := helloMore
	if step <= 0 {
		step = len(b)
	}
	for end := 0; end < len(b) && v == helloMore; {
		end = min(len(b), end+step)
		v = p.feed(b[:end])
	}
	h := &p.h
	return v, fmt.Sprintf("%s|%s|%s", h.serverName(), h.alpnProtocols(), h.protocol())
}

// TestClientHelloParser checks the parser on crypto/tls's ClientHellos and
// on crafted ones, whole and byte by byte: the values nginx 1.22.1's
// $ssl_preread_* variables show for the same bytes.
func TestClientHelloParser(t *testing.T) {
	goHello := clientHello(t, &tls.Config{ServerName: "example.org", NextProtos: []string{"h2", "http/1.1"}})
	// The handshake message alone, split over records of 100 bytes.
	msg := goHello[5 : 5+(int(goHello[3])<<8|int(goHello[4]))]
	// A minimal ClientHello: TLS 1.2, no session id, one suite, one
	// compression method, and the extensions given.
	minimal := func(ext []byte) []byte {
		body := append([]byte{3, 3}, make([]byte, 32)...)
		body = append(body, 0, 0, 2, 0x13, 0x01, 1, 0)
		if ext != nil {
			body = append(body, byte(len(ext)>>8), byte(len(ext)))
			body = append(body, ext...)
		}
		hs := append([]byte{1, 0, byte(len(body) >> 8), byte(len(body))}, body...)
		return records(hs, 1<<14)
	}
	sni := func(name string) []byte {
		n := len(name)
		e := []byte{0, 0, byte((n + 5) >> 8), byte(n + 5), byte((n + 3) >> 8), byte(n + 3), 0, byte(n >> 8), byte(n)}
		return append(e, name...)
	}
	tests := []struct {
		name string
		in   []byte
		v    verdict
		want string // server name|alpn|protocol
	}{
		{"crypto/tls", goHello, helloDone, "example.org|h2,http/1.1|TLSv1.3"},
		{"crypto/tls over records", records(msg, 100), helloDone, "example.org|h2,http/1.1|TLSv1.3"},
		{"no extensions", minimal(nil), helloDone, "||TLSv1.2"},
		{"server name only", minimal(sni("a.test")), helloDone, "a.test||TLSv1.2"},
		{"the first server name counts", minimal(append(sni("a.test"), sni("b.test")...)), helloDone, "a.test||TLSv1.2"},
		{"supported_versions says TLSv1.3", minimal([]byte{0, 43, 0, 3, 2, 3, 3}), helloDone, "||TLSv1.3"},
		{"alpn", minimal([]byte{0, 16, 0, 7, 0, 5, 2, 'h', '2', 1, 'x'}), helloDone, "|h2,x|TLSv1.2"},
		{"empty alpn protocol", minimal([]byte{0, 16, 0, 3, 0, 1, 0}), helloDeclined, "||TLSv1.2"},
		{"server name not a host", minimal([]byte{0, 0, 0, 5, 0, 3, 1, 0, 0}), helloDeclined, "||TLSv1.2"},
		{"server name past its list", minimal([]byte{0, 0, 0, 9, 0, 4, 0, 0, 4, 'a', 'b', 'c', 'd'}), helloDeclined, "||TLSv1.2"},
		{"extension past the message", minimal([]byte{0, 5, 0, 9}), helloDeclined, "||TLSv1.2"},
		{"not a handshake record", []byte("GET / HTTP/1.1\r\n\r\n"), helloDeclined, "||"},
		{"not a client hello", []byte{0x16, 3, 1, 0, 4, 2, 0, 0, 0}, helloDeclined, "||"},
		{"SSL 2 record layer version", []byte{0x16, 2, 0, 0, 4, 1, 0, 0, 0}, helloDeclined, "||"},
		{"an SSLv2 ClientHello", append([]byte{0x80, 0x2e, 1, 3, 1}, make([]byte, 0x2b)...), helloDone, "||TLSv1"},
		{"a record not whole", []byte{0x16, 3, 1, 0, 0x50, 1}, helloMore, "||"},
		{"fewer than 5 bytes", []byte{0x16, 3}, helloMore, "||"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, step := range []int{0, 1, 7} {
				v, got := parseAll(tt.in, step)
				if v != tt.v || got != tt.want {
					t.Errorf("step %d: %v %q, want %v %q", step, v, got, tt.v, tt.want)
				}
			}
		})
	}
}

// FuzzClientHello feeds the parser any bytes, at once and in pieces: it
// never panics, and pieces give what the whole gives.
func FuzzClientHello(f *testing.F) {
	f.Add(clientHello(f, &tls.Config{ServerName: "example.org", NextProtos: []string{"h2", "http/1.1"}}), 3)
	f.Add(clientHello(f, &tls.Config{ServerName: "a.test", MaxVersion: tls.VersionTLS12}), 1)
	f.Add([]byte{0x16, 3, 1, 0, 4, 1, 0, 0, 0}, 1)
	f.Add([]byte{0x80, 0x2e, 1, 3, 1}, 2)
	f.Fuzz(func(t *testing.T, b []byte, step int) {
		if step < 1 || step > 64 {
			step = 1
		}
		v1, whole := parseAll(b, 0)
		v2, pieces := parseAll(b, step)
		if v1 != v2 || whole != pieces {
			t.Fatalf("whole %v %q, in pieces of %d %v %q", v1, whole, step, v2, pieces)
		}
	})
}

// TestPreread checks ssl_preread end to end against what nginx 1.22.1 did
// with the same clients: a TLS client's ClientHello is read and passed on
// unchanged (the handshake with the upstream TLS server succeeds); bytes
// that are not a ClientHello are proxied with the variables not found; a
// client that closes early, or stays silent past preread_timeout, ends the
// session with $status 200 and nothing proxied; a ClientHello larger than
// preread_buffer_size ends it with 400 and nginx's error line.
func TestPreread(t *testing.T) {
	upTLS := startTLSEcho(t, "tls")
	plain := startEcho(t, "a")
	tests := []struct {
		name    string
		up      string
		buffer  string
		client  func(t *testing.T, addr string) string // returns what the client got
		want    string
		log     string // $status "$ssl_preread_server_name" "$ssl_preread_alpn_protocols" "$ssl_preread_protocol" $upstream_addr
		errLine string
	}{
		{"TLS client", upTLS, "16k", func(t *testing.T, addr string) string {
			c, err := tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true, ServerName: "example.org", NextProtos: []string{"h2", "http/1.1"}})
			if err != nil {
				return "handshake: " + err.Error()
			}
			defer c.Close()
			return askConn(c, "x")
		}, "tls x", `200 "example.org" "h2,http/1.1" "TLSv1.3" UP`, ""},
		{"plain bytes", plain.addr(), "16k", func(t *testing.T, addr string) string {
			cl := dial(t, addr)
			defer cl.c.Close()
			return cl.ask(t, "hello")
		}, "a hello", `200 "-" "-" "-" UP`, ""},
		{"a client that closes early", plain.addr(), "16k", func(t *testing.T, addr string) string {
			cl := dial(t, addr)
			cl.c.Write([]byte{0x16, 3, 1, 0, 0x50, 1})
			cl.c.(*net.TCPConn).CloseWrite()
			b, _ := io.ReadAll(cl.c)
			return string(b)
		}, "", `200 "" "" "" -`, ""},
		{"a silent client", plain.addr(), "16k", func(t *testing.T, addr string) string {
			b, _ := io.ReadAll(dial(t, addr).c)
			return string(b)
		}, "", `200 "-" "-" "-" -`, ""},
		{"a ClientHello larger than the buffer", plain.addr(), "64", func(t *testing.T, addr string) string {
			cl := dial(t, addr)
			cl.c.Write(append([]byte{0x16, 3, 1, 0x10, 0}, bytes.Repeat([]byte{1}, 100)...))
			b, _ := io.ReadAll(cl.c)
			return string(b)
		}, "", `400 "" "" "" -`, "preread buffer full while prereading client data, client: 127.0.0.1, server: 127.0.0.1:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			_, addr := start(t, load(t, dir, fmt.Sprintf(`
log_format f '$status "$ssl_preread_server_name" "$ssl_preread_alpn_protocols" "$ssl_preread_protocol" $upstream_addr';
server { listen 127.0.0.1:0; ssl_preread on; preread_timeout 300ms; preread_buffer_size %s; proxy_pass %s;
         access_log %%DIR%%/s.log f; error_log %%DIR%%/err.log info; }`, tt.buffer, tt.up)))
			if got := tt.client(t, addr); got != tt.want {
				t.Errorf("client got %q, want %q", got, tt.want)
			}
			want := strings.ReplaceAll(tt.log, "UP", tt.up) + "\n"
			path := filepath.Join(dir, "s.log")
			waitFor(t, "the log line", func() bool { return readFile(t, path) != "" })
			if got := readFile(t, path); got != want {
				t.Errorf("log %q, want %q", got, want)
			}
			if tt.errLine != "" && !strings.Contains(readFile(t, filepath.Join(dir, "err.log")), tt.errLine) {
				t.Errorf("error log %q lacks %q", readFile(t, filepath.Join(dir, "err.log")), tt.errLine)
			}
			if strings.Contains(readFile(t, filepath.Join(dir, "err.log")), "client disconnected") && tt.up == plain.addr() && tt.want == "" {
				t.Errorf("a session that ended in preread logged its end: %q", readFile(t, filepath.Join(dir, "err.log")))
			}
		})
	}
}

// startTLSEcho is a TLS server that answers each line with "NAME LINE".
func startTLSEcho(t *testing.T, name string) string {
	t.Helper()
	dir := t.TempDir()
	writeCert(t, dir)
	pair, err := tls.LoadX509KeyPair(filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem"))
	if err != nil {
		t.Fatal(err)
	}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{pair}})
	if err != nil {
		t.Fatal(err)
	}
	b := &echoBackend{name: name, ln: ln}
	testutil.Serve(t, ln, b.serve)
	return ln.Addr().String()
}

// askConn sends line on c and returns the answer line, or "EOF".
func askConn(c net.Conn, line string) string {
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	cl := &client{c: c, r: bufio.NewReader(c)}
	if _, err := io.WriteString(c, line+"\n"); err != nil {
		return "EOF"
	}
	got, err := cl.r.ReadString('\n')
	if err != nil {
		return "EOF"
	}
	return strings.TrimSuffix(got, "\n")
}

// TestPrereadRouting routes TLS sessions by their SNI name, nginx's classic
// ssl_preread configuration: a map of $ssl_preread_server_name and
// proxy_pass with its variable; each upstream TLS server completes the
// handshake the client began.
func TestPrereadRouting(t *testing.T) {
	one, other := startTLSEcho(t, "one"), startTLSEcho(t, "other")
	dir := t.TempDir()
	_, addr := start(t, load(t, dir, fmt.Sprintf(`
map $ssl_preread_server_name $backend { one.test %s; default %s; }
server { listen 127.0.0.1:0; ssl_preread on; proxy_pass $backend; }`, one, other)))
	for _, tt := range []struct{ sni, want string }{
		{"one.test", "one x"}, {"two.test", "other x"}, {"", "other x"},
	} {
		t.Run("sni "+tt.sni, func(t *testing.T) {
			got := tlsAsk(addr, &tls.Config{InsecureSkipVerify: true, ServerName: tt.sni})
			if got != tt.want {
				t.Errorf("answer %q, want %q", got, tt.want)
			}
		})
	}
}

package daemon_test

import (
	"bufio"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"fulcrum/internal/daemon"
)

// parityConn is one client connection of the parity tests: its requests'
// answers go into a transcript.
type parityConn struct {
	t  *testing.T
	c  net.Conn
	br *bufio.Reader
	id string // $connection, as the first answer gave it
}

func (p *parityConn) send(s string) {
	p.t.Helper()
	_ = p.c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(p.c, s); err != nil {
		p.t.Fatal(err)
	}
}

// answer reads one response: its status, its Connection field and its
// body; "EOF" when the server closed without one.
func (p *parityConn) answer() string {
	p.t.Helper()
	_ = p.c.SetReadDeadline(time.Now().Add(10 * time.Second))
	resp, err := http.ReadResponse(p.br, nil)
	if err != nil {
		return "EOF"
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	conn := "keep-alive"
	if resp.Close { // net/http takes "Connection: close" out of the header
		conn = "close"
	}
	return fmt.Sprintf("%d %s %q", resp.StatusCode, conn, strings.TrimPrefix(string(b), p.id))
}

// closed reports whether the server closed the connection (EOF) within 10 s.
func (p *parityConn) closed() string {
	_ = p.c.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := p.br.ReadByte(); err != nil {
		return "closed"
	}
	return "open"
}

// parityScenario is what a client does on a kept-alive connection after its
// first answer, and what it gets: the same whether the connection parked
// meanwhile or not.
type parityScenario struct {
	name string
	tls  bool // TLS connections only
	run  func(p *parityConn) string
	want string
}

const reqGET = "GET /next HTTP/1.1\r\nHost: x\r\n\r\n"

var parityScenarios = []parityScenario{
	{name: "keepalive_requests counts on", run: func(p *parityConn) string {
		var out []string
		for range 3 {
			p.send(reqGET)
			out = append(out, p.answer())
		}
		return strings.Join(append(out, p.closed()), ", ")
	}, want: `200 keep-alive "\n", 200 keep-alive "\n", 200 close "\n", closed`},
	{name: "pipelined in one write", run: func(p *parityConn) string {
		p.send(reqGET + reqGET)
		return p.answer() + ", " + p.answer()
	}, want: `200 keep-alive "\n", 200 keep-alive "\n"`},
	{name: "one byte at a time", run: func(p *parityConn) string {
		for i := range len(reqGET) {
			p.send(reqGET[i : i+1])
		}
		return p.answer()
	}, want: `200 keep-alive "\n"`},
	{name: "HTTP/1.0 keep-alive", run: func(p *parityConn) string {
		p.send("GET /ten HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
		a := p.answer()
		p.send("GET /ten HTTP/1.0\r\n\r\n")
		return a + ", " + p.answer() + ", " + p.closed()
	}, want: `200 keep-alive "\n", 200 close "\n", closed`},
	{name: "head cut by client_header_timeout", run: func(p *parityConn) string {
		p.send("GET /cut HTTP/1.1\r\nHo")
		return p.answer() + ", " + p.closed()
	}, want: `408 close "<html>\r\n<head><title>408 Request Time-out</title></head>\r\n<body>\r\n<center><h1>408 Request Time-out</h1></center>\r\n<hr><center>fulcrum/` + daemon.Version + `</center>\r\n</body>\r\n</html>\r\n", closed`},
	{name: "client closes", run: func(p *parityConn) string {
		p.c.Close()
		return ""
	}},
	{name: "client resets", run: func(p *parityConn) string {
		if tc, ok := p.c.(*net.TCPConn); ok {
			_ = tc.SetLinger(0)
		} else if tc, ok := p.c.(*tls.Conn); ok {
			_ = tc.NetConn().(*net.TCPConn).SetLinger(0)
			tc.NetConn().Close() // a reset, no close_notify
			return ""
		}
		p.c.Close()
		return ""
	}},
	{name: "close_notify", tls: true, run: func(p *parityConn) string {
		_ = p.c.(*tls.Conn).CloseWrite()
		return p.closed()
	}, want: "closed"},
	{name: "request split in two TLS records", tls: true, run: func(p *parityConn) string {
		p.send(reqGET[:20]) // each Write is a record of its own
		p.send(reqGET[20:])
		return p.answer()
	}, want: `200 keep-alive "\n"`},
}

// TestParkedConnectionParity: what a kept-alive connection's client sends
// after its first answer is answered and logged the same whether the
// connection parked while it waited (a second past its response) or not:
// keepalive_requests counts on, pipelined requests, a request in one-byte
// pieces, HTTP/1.0 keep-alive, a head cut off by client_header_timeout, a
// client's close or reset, TLS's close_notify and a request across two
// TLS records. The access log lines (but $connection and $request_time)
// and error log lines (but the time and connection number) are the same
// too. Recorded with nginx 1.22.1 on a plain connection idle 1.4 s: the
// same answers and lines (nginx closes the cut head without an answer,
// where fulcrum sends its 408 page, http-hardening.md, parked or not).
func TestParkedConnectionParity(t *testing.T) {
	for _, mode := range parkModes {
		t.Run(mode.name, func(t *testing.T) {
			dir := t.TempDir()
			cert, _ := tlsSites(t, dir)
			addr := startDaemonLevel(t, dir, "info", fmt.Sprintf(`
    log_format t '$connection $connection_requests $status "$request" $pipe $request_length $request_time';
    access_log %[1]s/access.log t;
    keepalive_timeout 60s;
    keepalive_requests 4;
    client_header_timeout 1s;
    server {
        %[2]s
        %[3]s
        location / { return 200 "$connection\n"; }
    }`, dir, mode.listen, cert))
			dial := func() *parityConn {
				var c net.Conn
				var err error
				if mode.client != nil {
					c, err = tls.Dial("tcp", addr, mode.client)
				} else {
					c, err = net.Dial("tcp", addr)
				}
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { c.Close() })
				p := &parityConn{t: t, c: c, br: bufio.NewReader(c)}
				p.send("GET /first HTTP/1.1\r\nHost: x\r\n\r\n")
				resp, err := http.ReadResponse(p.br, nil)
				if err != nil {
					t.Fatal(err)
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				p.id = strings.TrimSpace(string(b))
				return p
			}
			var scenarios []parityScenario
			for _, sc := range parityScenarios {
				if !sc.tls || mode.client != nil {
					scenarios = append(scenarios, sc)
				}
			}
			// Not parked: each goes on at once after its first answer.
			before := connGoroutines()
			waiting, parked := map[string]string{}, map[string]string{}
			got := map[string][2]string{}
			for _, sc := range scenarios {
				p := dial()
				waiting[p.id] = sc.name
				got[sc.name] = [2]string{sc.run(p)}
				p.c.Close()
			}
			// Parked: every one waits in the parker first.
			waitParked(t, "the first connections end", before)
			var conns []*parityConn
			for range scenarios {
				conns = append(conns, dial())
			}
			waitParked(t, "the connections park", before)
			for i, sc := range scenarios {
				parked[conns[i].id] = sc.name
				g := got[sc.name]
				g[1] = sc.run(conns[i])
				got[sc.name] = g
			}
			for _, sc := range scenarios {
				g := got[sc.name]
				if g[0] != sc.want || g[1] != sc.want {
					t.Errorf("%s:\n waiting %s\n parked  %s\n want    %s", sc.name, g[0], g[1], sc.want)
				}
			}
			for _, c := range conns {
				c.c.Close()
			}
			compareLogs(t, dir, waiting, parked)
		})
	}
}

// compareLogs checks that the access and error log lines of each
// scenario's connections are the same, but for the connection numbers and
// times, whether it waited (waiting: its connection's number) or parked.
func compareLogs(t *testing.T, dir string, waiting, parked map[string]string) {
	t.Helper()
	errConn := regexp.MustCompile(`^\S+ \S+ \[(\w+)\] \d+#\d+: \*(\d+) (.*)$`)
	lines := func(name string) (map[string][]string, bool) {
		b, _ := os.ReadFile(filepath.Join(dir, name))
		byScenario := map[string][]string{}
		complete := true
		for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
			var id, rest string
			if name == "access.log" {
				f := strings.Fields(l)
				if len(f) < 2 {
					continue
				}
				id, rest = f[0], strings.Join(f[1:len(f)-1], " ") // without $request_time
				if rt := f[len(f)-1]; rt >= "1.5" && !strings.Contains(l, " 408 ") {
					t.Errorf("$request_time %s counts the wait: %s", rt, l)
				}
			} else {
				m := errConn.FindStringSubmatch(l)
				if m == nil || m[1] == "notice" {
					continue
				}
				id, rest = m[2], m[1]+" "+m[3]
			}
			if sc, ok := waiting[id]; ok {
				byScenario["waiting "+sc] = append(byScenario["waiting "+sc], rest)
			} else if sc, ok := parked[id]; ok {
				byScenario["parked "+sc] = append(byScenario["parked "+sc], rest)
			}
		}
		for _, sc := range waiting {
			if len(byScenario["waiting "+sc]) != len(byScenario["parked "+sc]) {
				complete = false
			}
		}
		return byScenario, complete
	}
	for _, name := range []string{"access.log", "error.log"} {
		var got map[string][]string
		end := time.Now().Add(10 * time.Second)
		for ok := false; !ok; {
			if got, ok = lines(name); !ok && time.Now().After(end) {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		var names []string
		for _, sc := range waiting {
			names = append(names, sc)
		}
		sort.Strings(names)
		for _, sc := range names {
			w, p := strings.Join(got["waiting "+sc], "\n"), strings.Join(got["parked "+sc], "\n")
			if w != p {
				t.Errorf("%s, %s:\n waiting:\n%s\n parked:\n%s", name, sc, w, p)
			}
		}
	}
}

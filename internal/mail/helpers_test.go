package mail

import (
	"bufio"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"fulcrum/internal/config"
	"fulcrum/internal/testutil"
)

// record keeps what a fake server received, safe for concurrent use.
type record struct {
	mu    sync.Mutex
	items []string
}

func (r *record) add(s string) {
	r.mu.Lock()
	r.items = append(r.items, s)
	r.mu.Unlock()
}

func (r *record) all() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.items...)
}

// waitFor polls until rec holds n items, or fails the test at a deadline.
func (r *record) waitFor(t *testing.T, n int) []string {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		if got := r.all(); len(got) >= n {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("want %d items, got %q", n, r.all())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// fakeAuth is an auth_http server answering as the Python server nginx
// was recorded with: login "bad" is refused with Auth-Wait 1, "nowait"
// without a wait, "err" with Auth-Error-Code 451 4.3.0, "noport" gets no
// Auth-Port, "newuser" is sent on as "other"/"otherpw"; any other login
// is sent to the backend of its protocol, with "Auth-Pass: secret" after
// an APOP, CRAM-MD5 or EXTERNAL login unless the login is "nopass".
type fakeAuth struct {
	addr     string
	requests record
	backends map[string]string // protocol -> "ip:port"
}

func startAuth(t *testing.T, backends map[string]string) *fakeAuth {
	a := &fakeAuth{backends: backends}
	a.addr = testutil.RawBackend(t, a.serve)
	return a
}

func (a *fakeAuth) serve(c net.Conn) {
	r := bufio.NewReader(c)
	var req strings.Builder
	headers := map[string]string{}
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		req.WriteString(line)
		if line == "\r\n" {
			break
		}
		if k, v, ok := strings.Cut(strings.TrimRight(line, "\r\n"), ": "); ok {
			headers[k] = v
		}
	}
	a.requests.add(req.String())
	out := "HTTP/1.0 200 OK\r\nServer: fake\r\n"
	switch headers["Auth-User"] {
	case "bad":
		out += "Auth-Status: Invalid login or password\r\nAuth-Wait: 1\r\n"
	case "nowait":
		out += "Auth-Status: Invalid login\r\n"
	case "err":
		out += "Auth-Status: Temporary failure\r\nAuth-Error-Code: 451 4.3.0\r\n"
	default:
		host, port, _ := net.SplitHostPort(a.backends[headers["Auth-Protocol"]])
		out += "Auth-Status: OK\r\nAuth-Server: " + host + "\r\n"
		if headers["Auth-User"] != "noport" {
			out += "Auth-Port: " + port + "\r\n"
		}
		if headers["Auth-User"] == "newuser" {
			out += "Auth-User: other\r\nAuth-Pass: otherpw\r\n"
		}
		switch headers["Auth-Method"] {
		case "apop", "cram-md5", "external":
			if headers["Auth-User"] != "nopass" {
				out += "Auth-Pass: secret\r\n"
			}
		}
	}
	_, _ = io.WriteString(c, out+"\r\n")
}

// fakeBackend is a mail server that logs every line it reads: an IMAP one
// answers "+ go ahead" to a line ending in a literal and "TAG OK done" to
// a command; a POP3 one "+OK" to all; an SMTP one answers EHLO with its
// XCLIENT capability, AUTH with "235 2.0.0 ok" and the rest with
// "250 ok". greeting replaces the
// protocol's greeting when set.
type fakeBackend struct {
	addr  string
	lines record
}

func startBackend(t *testing.T, protocol, greeting string) *fakeBackend {
	b := &fakeBackend{}
	if greeting == "" {
		greeting = map[string]string{"imap": "* OK backend ready\r\n", "pop3": "+OK backend ready\r\n", "smtp": "220 backend ESMTP\r\n"}[protocol]
	}
	b.addr = testutil.RawBackend(t, func(c net.Conn) {
		_, _ = io.WriteString(c, greeting)
		r := bufio.NewReader(c)
		tag, cont := "", false
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				return
			}
			b.lines.add(line)
			var reply string
			switch protocol {
			case "imap":
				if !cont {
					tag, _, _ = strings.Cut(line, " ")
				}
				cont = strings.HasSuffix(strings.TrimRight(line, "\r\n"), "}")
				reply = tag + " OK done\r\n"
				if cont {
					reply = "+ go ahead\r\n"
				}
			case "pop3":
				reply = "+OK\r\n"
			default:
				reply = "250 ok\r\n"
				if strings.HasPrefix(line, "AUTH ") {
					reply = "235 2.0.0 ok\r\n"
				}
				if strings.HasPrefix(strings.ToUpper(line), "EHLO") {
					reply = "250-backend\r\n250 XCLIENT ADDR LOGIN NAME HELO PROTO\r\n"
				}
			}
			_, _ = io.WriteString(c, reply)
		}
	})
	return b
}

// load builds the mail block of body.
func load(t *testing.T, body string) *config.Mail {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "f.conf")
	src := "events {}\nmail {\n" + body + "\n}\n"
	if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(path, config.LoadOptions{Prefix: dir})
	if err != nil {
		t.Fatal(err)
	}
	return cfg.Mail
}

// start runs a Proxy on cfg and returns it with its addresses in config
// order.
func start(t *testing.T, cfg *config.Mail) (*Proxy, []string) {
	t.Helper()
	p := New(Options{Hostname: "vm"})
	addrs, err := p.Apply(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	out := make([]string, len(addrs))
	for i, a := range addrs {
		out[i] = a.String()
	}
	return p, out
}

// client is a raw connection to the proxy.
type client struct {
	t *testing.T
	c net.Conn
}

func dial(t *testing.T, addr string) *client {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	return &client{t: t, c: c}
}

// expect reads exactly want's bytes and compares them.
func (c *client) expect(want string) {
	c.t.Helper()
	buf := make([]byte, len(want))
	n, err := io.ReadFull(c.c, buf)
	if err != nil || string(buf) != want {
		c.t.Fatalf("read %q (%v), want %q", buf[:n], err, want)
	}
}

// send writes s.
func (c *client) send(s string) {
	c.t.Helper()
	if _, err := io.WriteString(c.c, s); err != nil {
		c.t.Fatal(err)
	}
}

// expectEOF checks the proxy closed the connection without sending more.
func (c *client) expectEOF() {
	c.t.Helper()
	buf := make([]byte, 64)
	n, err := c.c.Read(buf)
	if n > 0 || (!errors.Is(err, io.EOF) && !isReset(err)) {
		c.t.Fatalf("read %q (%v), want the connection closed", buf[:n], err)
	}
}

func isReset(err error) bool {
	return err != nil && strings.Contains(err.Error(), "connection reset")
}

// step is one exchange of a dialogue: what the client sends, then what
// it must get back ("" for nothing to read).
type step struct{ send, want string }

// run plays steps on c.
func (c *client) run(steps []step) {
	c.t.Helper()
	for _, s := range steps {
		if s.send != "" {
			c.send(s.send)
		}
		if s.want != "" {
			c.expect(s.want)
		}
	}
}

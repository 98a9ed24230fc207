package mail

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"fulcrum/internal/testutil"
)

// The dialogues below were recorded with nginx 1.22.1 and
// libnginx-mod-mail 1.22.1 (nginx -p DIR -c DIR/nginx.conf -g 'daemon
// off;' with load_module ngx_mail_module.so) on raw sockets, with a
// Python auth_http server and Python backends answering as fakeAuth and
// fakeBackend do; the proxy must send the same bytes, the same auth_http
// requests and the same backend lines.

// env is one test's auth_http server, backends and proxy.
type env struct {
	auth    *fakeAuth
	back    map[string]*fakeBackend
	proxy   *Proxy
	servers []string
}

// servers is the mail block of the tests: an IMAP, a POP3 and an SMTP
// server with nginx's defaults, then the servers of extra.
func newEnv(t *testing.T, extra string) *env {
	t.Helper()
	e := &env{back: map[string]*fakeBackend{}}
	addrs := map[string]string{}
	for _, p := range []string{"imap", "pop3", "smtp"} {
		e.back[p] = startBackend(t, p, "")
		addrs[p] = e.back[p].addr
	}
	e.auth = startAuth(t, addrs)
	cfg := load(t, fmt.Sprintf(`
auth_http %s/auth;
server { listen 127.0.0.1:0; protocol imap; server_name mx.example; }
server { listen 127.0.0.1:0; protocol pop3; server_name mx.example; }
server { listen 127.0.0.1:0; protocol smtp; server_name mx.example; }
%s`, e.auth.addr, extra))
	e.proxy, e.servers = start(t, cfg)
	return e
}

// authRequest is the auth_http request nginx sends for a login.
func authRequest(user, pass, protocol string, attempt int, extra string) string {
	s := "GET /auth HTTP/1.0\r\nHost: 127.0.0.1\r\nAuth-Method: plain\r\n" +
		"Auth-User: " + user + "\r\nAuth-Pass: " + pass + "\r\nAuth-Protocol: " + protocol + "\r\n" +
		fmt.Sprintf("Auth-Login-Attempt: %d\r\n", attempt) + "Client-IP: 127.0.0.1\r\n"
	if protocol == "smtp" {
		s += "Client-Host: [UNAVAILABLE]\r\n"
	}
	return s + extra + "\r\n"
}

func TestIMAPDialogue(t *testing.T) {
	e := newEnv(t, "")
	c := dial(t, e.servers[0])
	c.run([]step{
		{"", "* OK IMAP4 ready\r\n"},
		{"a1 CAPABILITY\r\n", "* CAPABILITY IMAP4 IMAP4rev1 UIDPLUS AUTH=PLAIN\r\na1 OK completed\r\n"},
		{"a2 NOOP\r\n", "a2 OK completed\r\n"},
		{"a3 FOO\r\n", "a3 BAD invalid command\r\n"},
		{"a3 STARTTLS\r\n", "a3 BAD invalid command\r\n"},
		{"a4 LOGIN joe \"se cret\"\r\n", "a4 OK done\r\n"},
		{"a5 SELECT inbox\r\n", "a5 OK done\r\n"},
	})
	if got := e.auth.requests.waitFor(t, 1); got[0] != authRequest("joe", "se%20cret", "imap", 1, "") {
		t.Errorf("auth request %q", got[0])
	}
	want := []string{"a4 LOGIN {3}\r\n", "joe {7}\r\n", "se cret\r\n", "a5 SELECT inbox\r\n"}
	if got := e.back["imap"].lines.waitFor(t, 4); !slices.Equal(got, want) {
		t.Errorf("backend read %q, want %q", got, want)
	}
}

func TestIMAPLogins(t *testing.T) {
	tests := []struct {
		name  string
		steps []step
		user  string // the login auth_http gets
	}{
		{"literals", []step{{"a LOGIN {3}\r\n", "+ OK\r\n"}, {"joe {2}\r\n", "+ OK\r\n"}, {"pw\r\n", "a OK done\r\n"}}, "joe"},
		{"quoted escape", []step{{"a6 login \"a\\\"b\" {2}\r\n", "+ OK\r\n"}, {"pw\r\n", "a6 OK done\r\n"}}, "a\"b"},
		{"authenticate plain", []step{{"a1 AUTHENTICATE PLAIN\r\n", "+ \r\n"}, {"AGpvZQBwdw==\r\n", "a1 OK done\r\n"}}, "joe"},
		{"authenticate plain initial", []step{{"a1 AUTHENTICATE PLAIN AGpvZQBwdw==\r\n", "a1 OK done\r\n"}}, "joe"},
		{"authenticate login", []step{{"a1 AUTHENTICATE LOGIN\r\n", "+ VXNlcm5hbWU6\r\n"}, {"am9l\r\n", "+ UGFzc3dvcmQ6\r\n"}, {"cHc=\r\n", "a1 OK done\r\n"}}, "joe"},
		{"bad base64 then login", []step{{"a1 AUTHENTICATE PLAIN\r\n", "+ \r\n"}, {"*\r\n", "a1 BAD invalid command\r\n"},
			{"a2 authenticate cram-md5\r\n", "a2 BAD invalid command\r\n"}, {"a3 LOGIN x\r\n", "a3 BAD invalid command\r\n"},
			{"\r\n", "* BAD invalid command\r\n"}, {"a4 LOGIN joe pw\r\n", "a4 OK done\r\n"}}, "joe"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, "")
			c := dial(t, e.servers[0])
			c.expect("* OK IMAP4 ready\r\n")
			c.run(tt.steps)
			if got := e.auth.requests.waitFor(t, 1); got[0] != authRequest(tt.user, "pw", "imap", 1, "") {
				t.Errorf("auth request %q", got[0])
			}
		})
	}
}

func TestIMAPRefusals(t *testing.T) {
	e := newEnv(t, "")
	c := dial(t, e.servers[0])
	start := time.Now()
	c.run([]step{
		{"", "* OK IMAP4 ready\r\n"},
		{"a1 LOGIN bad pw\r\n", "a1 NO Invalid login or password\r\n"},
	})
	if d := time.Since(start); d < time.Second {
		t.Errorf("the refusal came after %v, want Auth-Wait's 1s", d)
	}
	c.run([]step{{"a2 LOGIN nowait pw\r\n", "a2 NO Invalid login\r\n"}})
	c.expectEOF()
	got := e.auth.requests.waitFor(t, 2)
	if got[1] != authRequest("nowait", "pw", "imap", 2, "") {
		t.Errorf("second auth request %q", got[1])
	}
	c = dial(t, e.servers[0])
	c.run([]step{{"", "* OK IMAP4 ready\r\n"}, {"a3 LOGIN noport pw\r\n", "* BAD internal server error\r\n"}})
	c.expectEOF()
}

func TestIMAPLogoutAndMaxErrors(t *testing.T) {
	e := newEnv(t, "")
	c := dial(t, e.servers[0])
	c.run([]step{{"", "* OK IMAP4 ready\r\n"}, {"a3 logout\r\n", "* BYE\r\na3 OK completed\r\n"}})
	c.expectEOF()
	c = dial(t, e.servers[0])
	c.expect("* OK IMAP4 ready\r\n")
	for range 4 {
		c.run([]step{{"a X\r\n", "a BAD invalid command\r\n"}})
	}
	c.run([]step{{"a X\r\n", "a BAD invalid command\r\n"}})
	c.expectEOF()
}

func TestCapabilitySettings(t *testing.T) {
	e := newEnv(t, `
server { listen 127.0.0.1:0; protocol imap; imap_auth login; imap_capabilities "IMAP4rev1" "IDLE"; }
server { listen 127.0.0.1:0; protocol imap; imap_auth login plain; imap_capabilities "IMAP4rev1"; }
server { listen 127.0.0.1:0; protocol pop3; pop3_capabilities TOP; }
server { listen 127.0.0.1:0; protocol smtp; smtp_auth login; smtp_capabilities "SIZE 1000" 8BITMIME; }
server { listen 127.0.0.1:0; protocol smtp; smtp_auth plain; }`)
	tests := []struct {
		server int
		steps  []step
	}{
		{3, []step{{"", "* OK IMAP4 ready\r\n"}, {"a CAPABILITY\r\n", "* CAPABILITY IMAP4rev1 IDLE AUTH=LOGIN\r\na OK completed\r\n"},
			{"b AUTHENTICATE PLAIN\r\n", "+ \r\n"}}}, // PLAIN is always taken
		{4, []step{{"", "* OK IMAP4 ready\r\n"}, {"a CAPABILITY\r\n", "* CAPABILITY IMAP4rev1 AUTH=PLAIN AUTH=LOGIN\r\na OK completed\r\n"}}},
		{5, []step{{"", "+OK POP3 ready\r\n"}, {"CAPA\r\n", "+OK Capability list follows\r\nTOP\r\nSASL PLAIN LOGIN\r\n.\r\n"},
			{"AUTH\r\n", "+OK methods supported:\r\nPLAIN\r\nLOGIN\r\n.\r\n"}}},
		{6, []step{{"", "220 vm ESMTP ready\r\n"}, {"EHLO x\r\n", "250-vm\r\n250-SIZE 1000\r\n250-8BITMIME\r\n250 AUTH LOGIN\r\n"},
			{"AUTH PLAIN\r\n", "334 \r\n"}, {"AUTH LOGIN am9l\r\n", "500 5.5.1 Invalid command\r\n"}}},
		{7, []step{{"", "220 vm ESMTP ready\r\n"}, {"EHLO x\r\n", "250-vm\r\n250 AUTH PLAIN\r\n"}}},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.server), func(t *testing.T) {
			dial(t, e.servers[tt.server]).run(tt.steps)
		})
	}
}

func TestPOP3Dialogue(t *testing.T) {
	e := newEnv(t, "")
	c := dial(t, e.servers[1])
	c.run([]step{
		{"", "+OK POP3 ready\r\n"},
		{"CAPA\r\n", "+OK Capability list follows\r\nTOP\r\nUSER\r\nUIDL\r\nSASL PLAIN LOGIN\r\n.\r\n"},
		{"AUTH\r\n", "+OK methods supported:\r\nPLAIN\r\nLOGIN\r\n.\r\n"},
		{"NOOP\r\n", "+OK\r\n"},
		{"FOO\r\n", "-ERR invalid command\r\n"},
		{"APOP joe 0123\r\n", "-ERR invalid command\r\n"},
		{"PASS x\r\n", "-ERR invalid command\r\n"},
		{"USER\r\n", "-ERR invalid command\r\n"},
		{"USER joe\r\n", "+OK\r\n"},
		{"PASS se cret\r\n", "+OK\r\n"},
		{"STAT\r\n", "+OK\r\n"},
	})
	if got := e.auth.requests.waitFor(t, 1); got[0] != authRequest("joe", "se%20cret", "pop3", 1, "") {
		t.Errorf("auth request %q", got[0])
	}
	want := []string{"USER joe\r\n", "PASS se cret\r\n", "STAT\r\n"}
	if got := e.back["pop3"].lines.waitFor(t, 3); !slices.Equal(got, want) {
		t.Errorf("backend read %q, want %q", got, want)
	}
}

func TestPOP3Logins(t *testing.T) {
	tests := []struct {
		name  string
		steps []step
	}{
		{"auth plain", []step{{"AUTH PLAIN\r\n", "+ \r\n"}, {"AGpvZQBwdw==\r\n", "+OK\r\n"}}},
		{"auth login", []step{{"auth login\r\n", "+ VXNlcm5hbWU6\r\n"}, {"am9l\r\n", "+ UGFzc3dvcmQ6\r\n"}, {"cHc=\r\n", "+OK\r\n"}}},
		{"bad base64", []step{{"AUTH PLAIN !!\r\n", "-ERR invalid command\r\n"}, {"AUTH FOO\r\n", "-ERR invalid command\r\n"}, {"USER joe\r\n", "+OK\r\n"}, {"PASS pw\r\n", "+OK\r\n"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, "")
			c := dial(t, e.servers[1])
			c.expect("+OK POP3 ready\r\n")
			c.run(tt.steps)
			if got := e.auth.requests.waitFor(t, 1); got[0] != authRequest("joe", "pw", "pop3", 1, "") {
				t.Errorf("auth request %q", got[0])
			}
		})
	}
	e := newEnv(t, "")
	c := dial(t, e.servers[1])
	c.run([]step{{"", "+OK POP3 ready\r\n"}, {"USER nowait\r\n", "+OK\r\n"}, {"PASS x\r\n", "-ERR Invalid login\r\n"}})
	c.expectEOF()
	c = dial(t, e.servers[1])
	c.run([]step{{"", "+OK POP3 ready\r\n"}, {"QUIT\r\n", "+OK\r\n"}})
	c.expectEOF()
}

func TestSMTPDialogue(t *testing.T) {
	e := newEnv(t, `auth_http_header X-Auth-Key "secret string";`)
	c := dial(t, e.servers[2])
	c.run([]step{
		{"", "220 mx.example ESMTP ready\r\n"},
		{"EHLO client.example\r\n", "250-mx.example\r\n250 AUTH PLAIN LOGIN\r\n"},
		{"HELO x\r\n", "250 mx.example\r\n"},
		{"NOOP\r\n", "250 2.0.0 OK\r\n"},
		{"RSET\r\n", "250 2.0.0 OK\r\n"},
		{"FOO\r\n", "500 5.5.1 Invalid command\r\n"},
		{"MAIL FROM:<a@b>\r\n", "530 5.7.1 Authentication required\r\n"},
		{"RCPT TO:<a@b>\r\n", "503 5.5.1 Bad sequence of commands\r\n"},
		{"AUTH PLAIN AGpvZQBwdw==\r\n", "235 2.0.0 OK\r\n"},
		{"MAIL FROM:<a@b>\r\n", "250 ok\r\n"},
	})
	if got := e.auth.requests.waitFor(t, 1); got[0] != authRequest("joe", "pw", "smtp", 1, "X-Auth-Key: secret string\r\n") {
		t.Errorf("auth request %q", got[0])
	}
	// The client's last HELO was a HELO, but it said EHLO before: nginx
	// replays it as EHLO.
	want := []string{"EHLO mx.example\r\n", "XCLIENT ADDR=127.0.0.1 LOGIN=joe NAME=[UNAVAILABLE]\r\n", "EHLO x\r\n", "MAIL FROM:<a@b>\r\n"}
	if got := e.back["smtp"].lines.waitFor(t, 4); !slices.Equal(got, want) {
		t.Errorf("backend read %q, want %q", got, want)
	}
}

func TestSMTPLogins(t *testing.T) {
	tests := []struct {
		name, extra string
		server      int
		steps       []step
		backend     []string
	}{
		{"login, no helo", "", 2, []step{{"AUTH LOGIN\r\n", "334 VXNlcm5hbWU6\r\n"}, {"am9l\r\n", "334 UGFzc3dvcmQ6\r\n"}, {"cHc=\r\n", "235 2.0.0 OK\r\n"}},
			[]string{"EHLO mx.example\r\n", "XCLIENT ADDR=127.0.0.1 LOGIN=joe NAME=[UNAVAILABLE]\r\n"}},
		{"login initial", "", 2, []step{{"EHLO x\r\n", "250-mx.example\r\n250 AUTH PLAIN LOGIN\r\n"}, {"AUTH LOGIN am9l\r\n", "334 UGFzc3dvcmQ6\r\n"}, {"cHc=\r\n", "235 2.0.0 OK\r\n"}},
			[]string{"EHLO mx.example\r\n", "XCLIENT ADDR=127.0.0.1 LOGIN=joe NAME=[UNAVAILABLE]\r\n", "EHLO x\r\n"}},
		{"xclient off", "server { listen 127.0.0.1:0; protocol smtp; xclient off; }", 3,
			[]step{{"HELO cli\r\n", "250 vm\r\n"}, {"AUTH PLAIN AGpvZQBwdw==\r\n", "235 2.0.0 OK\r\n"}},
			[]string{"HELO vm\r\n"}},
		{"proxy_smtp_auth", "server { listen 127.0.0.1:0; protocol smtp; proxy_smtp_auth on; }", 3,
			[]step{{"EHLO x\r\n", "250-vm\r\n250 AUTH PLAIN LOGIN\r\n"}, {"AUTH PLAIN AG5ld3VzZXIAcHc=\r\n", "235 2.0.0 OK\r\n"}},
			[]string{"EHLO vm\r\n", "XCLIENT ADDR=127.0.0.1 NAME=[UNAVAILABLE]\r\n", "EHLO x\r\n", "AUTH PLAIN AG90aGVyAG90aGVycHc=\r\n"}},
		{"proxy_smtp_auth, xclient off", "server { listen 127.0.0.1:0; protocol smtp; proxy_smtp_auth on; xclient off; }", 3,
			[]step{{"EHLO x\r\n", "250-vm\r\n250 AUTH PLAIN LOGIN\r\n"}, {"AUTH LOGIN\r\n", "334 VXNlcm5hbWU6\r\n"}, {"am9l\r\n", "334 UGFzc3dvcmQ6\r\n"}, {"cHc=\r\n", "235 2.0.0 OK\r\n"}},
			[]string{"EHLO vm\r\n", "AUTH PLAIN AGpvZQBwdw==\r\n"}},
		{"auth_http renames", "", 2, []step{{"EHLO x\r\n", "250-mx.example\r\n250 AUTH PLAIN LOGIN\r\n"}, {"AUTH PLAIN AG5ld3VzZXIAcHc=\r\n", "235 2.0.0 OK\r\n"}},
			[]string{"EHLO mx.example\r\n", "XCLIENT ADDR=127.0.0.1 LOGIN=other NAME=[UNAVAILABLE]\r\n", "EHLO x\r\n"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, tt.extra)
			c := dial(t, e.servers[tt.server])
			greeting := "220 vm ESMTP ready\r\n"
			if tt.server == 2 {
				greeting = "220 mx.example ESMTP ready\r\n"
			}
			c.expect(greeting)
			c.run(tt.steps)
			if got := e.back["smtp"].lines.waitFor(t, len(tt.backend)); !slices.Equal(got, tt.backend) {
				t.Errorf("backend read %q, want %q", got, tt.backend)
			}
		})
	}
}

func TestSMTPRefusals(t *testing.T) {
	e := newEnv(t, "")
	c := dial(t, e.servers[2])
	c.run([]step{
		{"", "220 mx.example ESMTP ready\r\n"},
		{"EHLO\r\n", "501 5.5.4 Invalid argument\r\n"},
		{"AUTH\r\n", "501 5.5.4 Invalid argument\r\n"},
		{"AUTH CRAM-MD5\r\n", "500 5.5.1 Invalid command\r\n"},
		{"AUTH PLAIN\r\n", "334 \r\n"},
		{"AGJhZABwdw==\r\n", "535 5.7.0 Invalid login or password\r\n"},
		{"AUTH PLAIN AGVycgBwdw==\r\n", "451 4.3.0 Temporary failure\r\n"},
	})
	c.expectEOF()
	if got := e.auth.requests.waitFor(t, 2); got[1] != authRequest("err", "pw", "smtp", 2, "") {
		t.Errorf("auth request %q", got[1])
	}
	c = dial(t, e.servers[2])
	c.run([]step{{"", "220 mx.example ESMTP ready\r\n"}, {"QUIT\r\n", "221 2.0.0 Bye\r\n"}})
	c.expectEOF()
}

func TestLongCommand(t *testing.T) {
	e := newEnv(t, "")
	tests := []struct {
		server   int
		greeting string
		fits     string
		long     string
	}{
		{0, "* OK IMAP4 ready\r\n", "a NOOP " + strings.Repeat("x", 4080) + "\r\n", "a NOOP " + strings.Repeat("x", 4090) + "\r\n"},
		{1, "+OK POP3 ready\r\n", "NOOP " + strings.Repeat("x", 120) + "\r\n", "NOOP " + strings.Repeat("x", 200) + "\r\n"},
	}
	for _, tt := range tests {
		c := dial(t, e.servers[tt.server])
		c.expect(tt.greeting)
		c.send(tt.fits)
		c.expect(map[int]string{0: "a OK completed\r\n", 1: "+OK\r\n"}[tt.server])
		c.send(tt.long)
		c.expectEOF()
	}
}

func TestBackendError(t *testing.T) {
	for _, pass := range []bool{false, true} {
		t.Run(fmt.Sprint(pass), func(t *testing.T) {
			bad := startBackend(t, "pop3", "-ERR maintenance\r\n")
			auth := startAuth(t, map[string]string{"pop3": bad.addr})
			extra := ""
			if pass {
				extra = "proxy_pass_error_message on;"
			}
			_, addrs := start(t, load(t, fmt.Sprintf("auth_http %s/auth; server { listen 127.0.0.1:0; protocol pop3; %s }", auth.addr, extra)))
			c := dial(t, addrs[0])
			c.run([]step{{"", "+OK POP3 ready\r\n"}, {"USER joe\r\n", "+OK\r\n"}})
			want := "-ERR internal server error\r\n"
			if pass {
				want = "-ERR maintenance\r\n"
			}
			c.run([]step{{"PASS pw\r\n", want}})
			c.expectEOF()
		})
	}
}

// TestReloadKeepsSessions: a reload keeps the listener of an address in
// both configurations and lets a proxied session run on; Shutdown waits
// for it.
func TestReloadKeepsSessions(t *testing.T) {
	back := startBackend(t, "imap", "")
	auth := startAuth(t, map[string]string{"imap": back.addr})
	p := New(Options{Hostname: "vm"})
	t.Cleanup(p.Close)
	cfg := load(t, fmt.Sprintf("auth_http %s/auth; server { listen 127.0.0.1:0; protocol imap; }", auth.addr))
	addrs, err := p.Apply(cfg)
	if err != nil {
		t.Fatal(err)
	}
	c := dial(t, addrs[0].String())
	c.run([]step{{"", "* OK IMAP4 ready\r\n"}, {"a LOGIN joe pw\r\n", "a OK done\r\n"}})
	opened, err := p.Apply(cfg)
	if err != nil || len(opened) != 0 {
		t.Fatalf("reload opened %v (%v), want the address kept", opened, err)
	}
	c.run([]step{{"b NOOP\r\n", "b OK done\r\n"}})
	c2 := dial(t, addrs[0].String())
	c2.expect("* OK IMAP4 ready\r\n")
	c2.c.Close()

	done := make(chan error, 1)
	go func() { done <- p.Shutdown(context.Background()) }()
	c.run([]step{{"c NOOP\r\n", "c OK done\r\n"}}) // still relayed during the graceful stop
	c.c.Close()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatalf("Shutdown still waits with %d sessions", p.Sessions())
	}
}

// TestMaxErrorsCounts: only commands nginx's parsers cannot read (an
// unknown command, a syntax error) count toward max_errors; a known
// command refused for its state or arguments does not. Each command was
// sent six times to nginx 1.22.1, then a NOOP.
func TestMaxErrorsCounts(t *testing.T) {
	e := newEnv(t, "")
	tests := []struct {
		server       int
		send, answer string
		closes       bool
	}{
		{0, "a X\r\n", "a BAD invalid command\r\n", true},
		{0, "\r\n", "* BAD invalid command\r\n", true},
		{0, "a LOGIN \"x\r\n", "a BAD invalid command\r\n", true},
		{0, "a LOGIN x\r\n", "a BAD invalid command\r\n", false},
		{0, "a STARTTLS\r\n", "a BAD invalid command\r\n", false},
		{0, "a authenticate cram-md5\r\n", "a BAD invalid command\r\n", false},
		{1, "STAT\r\n", "-ERR invalid command\r\n", true},
		{1, "USER\r\n", "-ERR invalid command\r\n", false},
		{1, "PASS x\r\n", "-ERR invalid command\r\n", false},
		{1, "STLS\r\n", "-ERR invalid command\r\n", false},
		{1, "AUTH FOO\r\n", "-ERR invalid command\r\n", false},
		{2, "DATA\r\n", "500 5.5.1 Invalid command\r\n", true},
		{2, "STARTTLS\r\n", "500 5.5.1 Invalid command\r\n", false},
		{2, "EHLO\r\n", "501 5.5.4 Invalid argument\r\n", false},
		{2, "AUTH PLAIN !!\r\n", "500 5.5.1 Invalid command\r\n", false},
		{2, "MAIL FROM:<a>\r\n", "530 5.7.1 Authentication required\r\n", false},
	}
	greetings := []string{"* OK IMAP4 ready\r\n", "+OK POP3 ready\r\n", "220 mx.example ESMTP ready\r\n"}
	noop := []step{{"a NOOP\r\n", "a OK completed\r\n"}, {"NOOP\r\n", "+OK\r\n"}, {"NOOP\r\n", "250 2.0.0 OK\r\n"}}
	for _, tt := range tests {
		t.Run(strings.TrimSpace(tt.send), func(t *testing.T) {
			c := dial(t, e.servers[tt.server])
			c.expect(greetings[tt.server])
			for range 5 {
				c.run([]step{{tt.send, tt.answer}})
			}
			if tt.closes {
				c.expectEOF()
				return
			}
			c.run([]step{{tt.send, tt.answer}, noop[tt.server]})
		})
	}
}

// TestProxyProtocol: with proxy_protocol on, the backend gets nginx's
// PROXY v1 line before its greeting is read (recorded: "PROXY TCP4
// 127.0.0.1 127.0.0.1 57778 19118", the client's and the listener's
// addresses and ports).
func TestProxyProtocol(t *testing.T) {
	e := newEnv(t, "server { listen 127.0.0.1:0; protocol pop3; proxy_protocol on; }")
	c := dial(t, e.servers[3])
	c.run([]step{{"", "+OK POP3 ready\r\n"}, {"USER joe\r\n", "+OK\r\n"}, {"PASS pw\r\n", "+OK\r\n"}})
	_, cport, _ := strings.Cut(c.c.LocalAddr().String(), ":")
	_, sport, _ := strings.Cut(e.servers[3], ":")
	want := []string{"PROXY TCP4 127.0.0.1 127.0.0.1 " + cport + " " + sport + "\r\n", "USER joe\r\n", "PASS pw\r\n"}
	if got := e.back["pop3"].lines.waitFor(t, 3); !slices.Equal(got, want) {
		t.Errorf("backend read %q, want %q", got, want)
	}
}

// TestSMTPAuthNone: with "smtp_auth none" a client sends mail without
// logging in: its MAIL and RCPT lines go to auth_http (Auth-Method: none,
// Auth-SMTP-Helo, -From, -To), then to the backend after XCLIENT (without
// LOGIN) and its own EHLO; the client gets the backend's answer to RCPT.
// AUTH still works. Recorded with nginx 1.22.1.
func TestSMTPAuthNone(t *testing.T) {
	e := newEnv(t, "server { listen 127.0.0.1:0; protocol smtp; smtp_auth none; }")
	c := dial(t, e.servers[3])
	c.run([]step{
		{"", "220 vm ESMTP ready\r\n"},
		{"RCPT TO:<c@d>\r\n", "503 5.5.1 Bad sequence of commands\r\n"},
		{"MAIL\r\n", "501 5.5.4 Invalid argument\r\n"},
		{"EHLO cli.example\r\n", "250 vm\r\n"},
		{"MAIL FROM:<a@b> SIZE=10\r\n", "250 2.0.0 OK\r\n"},
		{"MAIL FROM:<a@b>\r\n", "503 5.5.1 Bad sequence of commands\r\n"},
		{"RCPT TO:<c@d>\r\n", "250 ok\r\n"},
		{"DATA\r\n", "250 ok\r\n"},
	})
	want := "GET /auth HTTP/1.0\r\nHost: 127.0.0.1\r\nAuth-Method: none\r\nAuth-User: \r\nAuth-Pass: \r\nAuth-Protocol: smtp\r\n" +
		"Auth-Login-Attempt: 1\r\nClient-IP: 127.0.0.1\r\nClient-Host: [UNAVAILABLE]\r\n" +
		"Auth-SMTP-Helo: cli.example\r\nAuth-SMTP-From: MAIL FROM:<a@b> SIZE=10\r\nAuth-SMTP-To: RCPT TO:<c@d>\r\n\r\n"
	if got := e.auth.requests.waitFor(t, 1); got[0] != want {
		t.Errorf("auth request %q, want %q", got[0], want)
	}
	lines := []string{"EHLO vm\r\n", "XCLIENT ADDR=127.0.0.1 NAME=[UNAVAILABLE]\r\n", "EHLO cli.example\r\n",
		"MAIL FROM:<a@b> SIZE=10\r\n", "RCPT TO:<c@d>\r\n", "DATA\r\n"}
	if got := e.back["smtp"].lines.waitFor(t, len(lines)); !slices.Equal(got, lines) {
		t.Errorf("backend read %q, want %q", got, lines)
	}

	c = dial(t, e.servers[3])
	c.run([]step{{"", "220 vm ESMTP ready\r\n"}, {"AUTH PLAIN AGpvZQBwdw==\r\n", "235 2.0.0 OK\r\n"}})
	if got := e.auth.requests.waitFor(t, 2); got[1] != authRequest("joe", "pw", "smtp", 1, "") {
		t.Errorf("auth request %q", got[1])
	}
}

// TestSMTPAuthNoneRcptRefused: under "smtp_auth none" the backend's answer
// to the client's RCPT goes to the client whatever its code, and the
// session goes on, as nginx's ngx_smtp_to state takes any reply. Recorded
// with nginx 1.22.1 (nginx-tests mail_smtp.t, "bad rcpt to" then "good rcpt
// to": the backend's "500 rcpt to error" reached the client and the next
// RCPT got the backend's 250 on the same session); fulcrum refused the
// 5xx as an invalid response and closed the session.
func TestSMTPAuthNoneRcptRefused(t *testing.T) {
	var lines record
	back := testutil.RawBackend(t, func(c net.Conn) {
		_, _ = io.WriteString(c, "220 backend ESMTP\r\n")
		r := bufio.NewReader(c)
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				return
			}
			lines.add(line)
			reply := "250 ok\r\n"
			if strings.HasPrefix(line, "RCPT TO:<nobody") {
				reply = "550-5.1.1 no such user\r\n550 5.1.1 try another\r\n"
			}
			_, _ = io.WriteString(c, reply)
		}
	})
	auth := startAuth(t, map[string]string{"smtp": back})
	_, servers := start(t, load(t, fmt.Sprintf(`
auth_http %s/auth;
xclient off;
server { listen 127.0.0.1:0; protocol smtp; smtp_auth none; }`, auth.addr)))
	c := dial(t, servers[0])
	c.run([]step{
		{"", "220 vm ESMTP ready\r\n"},
		{"EHLO cli.example\r\n", "250 vm\r\n"},
		{"MAIL FROM:<a@b>\r\n", "250 2.0.0 OK\r\n"},
		{"RCPT TO:<nobody@d>\r\n", "550-5.1.1 no such user\r\n550 5.1.1 try another\r\n"},
		{"RCPT TO:<c@d>\r\n", "250 ok\r\n"},
	})
	want := []string{"EHLO vm\r\n", "MAIL FROM:<a@b>\r\n", "RCPT TO:<nobody@d>\r\n", "RCPT TO:<c@d>\r\n"}
	if got := lines.waitFor(t, len(want)); !slices.Equal(got, want) {
		t.Errorf("backend read %q, want %q", got, want)
	}
}

// TestSMTPGreetingDelay: the greeting waits smtp_greeting_delay; a client
// that talks first gets nginx's pipelining refusal and is closed
// (recorded with nginx 1.22.1).
func TestSMTPGreetingDelay(t *testing.T) {
	e := newEnv(t, "server { listen 127.0.0.1:0; protocol smtp; smtp_greeting_delay 300ms; }")
	c := dial(t, e.servers[3])
	c.send("EHLO x\r\n")
	c.expect("503 5.5.0 Improper use of SMTP command pipelining\r\n")
	c.expectEOF()
	c = dial(t, e.servers[3])
	start := time.Now()
	c.expect("220 vm ESMTP ready\r\n")
	if d := time.Since(start); d < 300*time.Millisecond {
		t.Errorf("greeting after %v, want the 300ms delay", d)
	}
	c.run([]step{{"EHLO x\r\n", "250-vm\r\n250 AUTH PLAIN LOGIN\r\n"}})
}

// TestSlots: with worker_connections' slots full, a new client waits in
// the backlog until a session ends.
func TestSlots(t *testing.T) {
	back := startBackend(t, "pop3", "")
	auth := startAuth(t, map[string]string{"pop3": back.addr})
	p := New(Options{Hostname: "vm", Slots: make(chan struct{}, 1)})
	t.Cleanup(p.Close)
	addrs, err := p.Apply(load(t, fmt.Sprintf("auth_http %s/auth; server { listen 127.0.0.1:0; protocol pop3; }", auth.addr)))
	if err != nil {
		t.Fatal(err)
	}
	first := dial(t, addrs[0].String())
	first.expect("+OK POP3 ready\r\n")
	second := dial(t, addrs[0].String())
	_ = second.c.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
	if n, err := second.c.Read(make([]byte, 1)); n != 0 || err == nil {
		t.Fatalf("a second client was greeted with one slot (%v)", err)
	}
	_ = second.c.SetReadDeadline(time.Now().Add(5 * time.Second))
	first.run([]step{{"QUIT\r\n", "+OK\r\n"}})
	second.expect("+OK POP3 ready\r\n")
}

// TestBoundedAnswers: an auth_http answer's head and a backend's line
// during login are read into nginx's buffers, 1024 bytes and
// proxy_buffer's 4096, as recorded with nginx 1.22.1 (a Python auth_http
// server padding its head with an X-Pad field, a Python POP3 backend with
// a long greeting): one byte more and nginx waits for auth_http_timeout
// ("auth http server ... timed out") or logs "upstream sent too long
// response line", and the client gets the internal server error. An
// endless answer does not grow fulcrum's memory.
func TestBoundedAnswers(t *testing.T) {
	for _, tc := range []struct {
		name           string
		head, greeting int // lengths, CRLFs included; 0 for a short one
		ok             bool
	}{
		{"auth head 1024", 1024, 0, true},
		{"auth head 1025", 1025, 0, false},
		{"backend line 4096", 0, 4096, true},
		{"backend line 4097", 0, 4097, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			greeting := "+OK backend ready\r\n"
			if tc.greeting > 0 {
				greeting = "+OK " + strings.Repeat("b", tc.greeting-6) + "\r\n"
			}
			back := startBackend(t, "pop3", greeting)
			host, port, _ := net.SplitHostPort(back.addr)
			tail := "\r\nAuth-Server: " + host + "\r\nAuth-Port: " + port + "\r\n\r\n"
			head := "HTTP/1.0 200 OK\r\nAuth-Status: OK\r\nX-Pad: " + tail
			if tc.head > 0 {
				head = "HTTP/1.0 200 OK\r\nAuth-Status: OK\r\nX-Pad: " + strings.Repeat("a", tc.head-len(head)) + tail
			}
			auth := testutil.RawBackend(t, func(c net.Conn) {
				defer c.Close()
				r := bufio.NewReader(c)
				for {
					line, err := r.ReadString('\n')
					if err != nil || line == "\r\n" {
						break
					}
				}
				_, _ = io.WriteString(c, head)
			})
			_, addrs := start(t, load(t, fmt.Sprintf("auth_http %s/auth; auth_http_timeout 1s; server { listen 127.0.0.1:0; protocol pop3; }", auth)))
			c := dial(t, addrs[0])
			c.run([]step{{"", "+OK POP3 ready\r\n"}, {"USER u\r\n", "+OK\r\n"}})
			if tc.ok {
				c.run([]step{{"PASS p\r\n", "+OK\r\n"}})
				return
			}
			c.run([]step{{"PASS p\r\n", "-ERR internal server error\r\n"}})
			c.expectEOF()
		})
	}
}

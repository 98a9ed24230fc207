package mail

import (
	"encoding/base64"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The APOP, CRAM-MD5 and EXTERNAL dialogues below were recorded with
// nginx 1.22.1 (libnginx-mod-mail) on raw sockets, with a Python auth_http
// server that printed each request and answered as fakeAuth does
// ("Auth-Pass: secret" after such a login, none for "nopass") and Python
// backends answering as fakeBackend. The salt nginx makes,
// "<random.time@server_name>", differs per session: the tests check its
// shape and that the Auth-Salt sent to auth_http is the one the client saw.

// authServers are the extra servers of the tests, after newEnv's three:
// 3 to 5 enable every mechanism of IMAP, POP3 and SMTP; 6 POP3 APOP only;
// 7 POP3 CRAM-MD5 only; 8 POP3 EXTERNAL only; 9 IMAP CRAM-MD5 only; 10
// IMAP EXTERNAL only; 11 SMTP CRAM-MD5 only; 12 SMTP EXTERNAL only.
const authServers = `
server { listen 127.0.0.1:0; protocol imap; server_name mx.example; imap_auth plain login cram-md5 external; }
server { listen 127.0.0.1:0; protocol pop3; server_name mx.example; pop3_auth plain apop cram-md5 external; }
server { listen 127.0.0.1:0; protocol smtp; server_name mx.example; smtp_auth plain login cram-md5 external; }
server { listen 127.0.0.1:0; protocol pop3; server_name mx.example; pop3_auth apop; }
server { listen 127.0.0.1:0; protocol pop3; server_name mx.example; pop3_auth cram-md5; }
server { listen 127.0.0.1:0; protocol pop3; server_name mx.example; pop3_auth external; }
server { listen 127.0.0.1:0; protocol imap; server_name mx.example; imap_auth cram-md5; }
server { listen 127.0.0.1:0; protocol imap; server_name mx.example; imap_auth external; }
server { listen 127.0.0.1:0; protocol smtp; server_name mx.example; smtp_auth cram-md5; }
server { listen 127.0.0.1:0; protocol smtp; server_name mx.example; smtp_auth external; }
`

// saltRE is the shape of nginx's salt with server_name mx.example.
var saltRE = regexp.MustCompile(`^<(\d+)\.(\d+)@mx\.example>$`)

// checkSalt checks salt has nginx's shape and a time near now.
func checkSalt(t *testing.T, salt string) {
	t.Helper()
	m := saltRE.FindStringSubmatch(salt)
	if m == nil {
		t.Fatalf("salt %q, want <random.time@mx.example>", salt)
	}
	if sec, _ := strconv.ParseInt(m[2], 10, 64); time.Since(time.Unix(sec, 0)).Abs() > time.Minute {
		t.Errorf("salt %q: time %s is not now", salt, m[2])
	}
}

// line reads one line, CRLF included.
func (c *client) line() string {
	c.t.Helper()
	var b []byte
	one := make([]byte, 1)
	for !strings.HasSuffix(string(b), "\n") {
		if _, err := c.c.Read(one); err != nil {
			c.t.Fatalf("read %q: %v", b, err)
		}
		b = append(b, one[0])
	}
	return string(b)
}

// saltGreeting reads a POP3 greeting with a salt and returns the salt.
func (c *client) saltGreeting() string {
	c.t.Helper()
	g := c.line()
	salt, ok := strings.CutPrefix(strings.TrimSuffix(g, "\r\n"), "+OK POP3 ready ")
	if !ok {
		c.t.Fatalf("greeting %q, want +OK POP3 ready <salt>", g)
	}
	checkSalt(c.t, salt)
	return salt
}

// challenge reads a CRAM-MD5 challenge after prefix and returns the salt
// it encodes.
func (c *client) challenge(prefix string) string {
	c.t.Helper()
	l := c.line()
	enc, ok := strings.CutPrefix(strings.TrimSuffix(l, "\r\n"), prefix)
	if !ok {
		c.t.Fatalf("challenge %q, want %q and base64", l, prefix)
	}
	raw, err := base64.StdEncoding.DecodeString(enc)
	if err != nil {
		c.t.Fatalf("challenge %q: %v", l, err)
	}
	checkSalt(c.t, string(raw))
	return string(raw)
}

// b64 is s in base64.
func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

// digest is a 32-byte CRAM-MD5 or APOP digest as a client sends it.
const digest = "0123456789abcdef0123456789abcdef"

// methodRequest is the auth_http request of a login by method, with
// Auth-Salt when salt is set.
func methodRequest(method, user, pass, salt, protocol string, attempt int) string {
	r := authRequest(user, pass, protocol, attempt, "")
	r = strings.Replace(r, "Auth-Method: plain", "Auth-Method: "+method, 1)
	if salt != "" {
		r = strings.Replace(r, "Auth-Protocol:", "Auth-Salt: "+salt+"\r\nAuth-Protocol:", 1)
	}
	return r
}

// TestAuthCapabilities checks the capability lists for each combination
// of mechanisms, as nginx 1.22.1 answered them: the enabled mechanisms in
// nginx's order (PLAIN LOGIN CRAM-MD5 EXTERNAL), APOP in none of them;
// a POP3 server with APOP or CRAM-MD5 greets with its salt.
func TestAuthCapabilities(t *testing.T) {
	e := newEnv(t, authServers)
	tests := []struct {
		server int
		salted bool // POP3 greeting with a salt
		steps  []step
	}{
		{3, false, []step{{"", "* OK IMAP4 ready\r\n"}, {"a CAPABILITY\r\n", "* CAPABILITY IMAP4 IMAP4rev1 UIDPLUS AUTH=PLAIN AUTH=LOGIN AUTH=CRAM-MD5 AUTH=EXTERNAL\r\na OK completed\r\n"}}},
		{9, false, []step{{"", "* OK IMAP4 ready\r\n"}, {"a CAPABILITY\r\n", "* CAPABILITY IMAP4 IMAP4rev1 UIDPLUS AUTH=CRAM-MD5\r\na OK completed\r\n"}}},
		{10, false, []step{{"", "* OK IMAP4 ready\r\n"}, {"a CAPABILITY\r\n", "* CAPABILITY IMAP4 IMAP4rev1 UIDPLUS AUTH=EXTERNAL\r\na OK completed\r\n"}}},
		{4, true, []step{{"CAPA\r\n", "+OK Capability list follows\r\nTOP\r\nUSER\r\nUIDL\r\nSASL PLAIN LOGIN CRAM-MD5 EXTERNAL\r\n.\r\n"},
			{"AUTH\r\n", "+OK methods supported:\r\nPLAIN\r\nLOGIN\r\nCRAM-MD5\r\nEXTERNAL\r\n.\r\n"}}},
		{6, true, []step{{"CAPA\r\n", "+OK Capability list follows\r\nTOP\r\nUSER\r\nUIDL\r\nSASL\r\n.\r\n"},
			{"AUTH\r\n", "+OK methods supported:\r\n.\r\n"}}},
		{7, true, []step{{"CAPA\r\n", "+OK Capability list follows\r\nTOP\r\nUSER\r\nUIDL\r\nSASL CRAM-MD5\r\n.\r\n"},
			{"AUTH\r\n", "+OK methods supported:\r\nCRAM-MD5\r\n.\r\n"}}},
		{8, false, []step{{"", "+OK POP3 ready\r\n"}, {"CAPA\r\n", "+OK Capability list follows\r\nTOP\r\nUSER\r\nUIDL\r\nSASL EXTERNAL\r\n.\r\n"},
			{"AUTH\r\n", "+OK methods supported:\r\nEXTERNAL\r\n.\r\n"}}},
		{5, false, []step{{"", "220 mx.example ESMTP ready\r\n"}, {"EHLO x\r\n", "250-mx.example\r\n250 AUTH PLAIN LOGIN CRAM-MD5 EXTERNAL\r\n"}}},
		{11, false, []step{{"", "220 mx.example ESMTP ready\r\n"}, {"EHLO x\r\n", "250-mx.example\r\n250 AUTH CRAM-MD5\r\n"}}},
		{12, false, []step{{"", "220 mx.example ESMTP ready\r\n"}, {"EHLO x\r\n", "250-mx.example\r\n250 AUTH EXTERNAL\r\n"}}},
	}
	for _, tt := range tests {
		t.Run(strconv.Itoa(tt.server), func(t *testing.T) {
			c := dial(t, e.servers[tt.server])
			if tt.salted {
				c.saltGreeting()
			}
			c.run(tt.steps)
		})
	}
}

// TestAPOP plays APOP: the digest goes to auth_http with the greeting's
// salt, and the backend gets the password auth_http answered; without
// one the session ends in an internal error. APOP needs two arguments
// and "pop3_auth apop"; USER/PASS stays plain, without the salt.
func TestAPOP(t *testing.T) {
	e := newEnv(t, authServers)
	c := dial(t, e.servers[4])
	salt := c.saltGreeting()
	c.run([]step{
		{"APOP joe\r\n", "-ERR invalid command\r\n"},
		{"APOP joe a b\r\n", "-ERR invalid command\r\n"},
		{"APOP joe " + digest + "\r\n", "+OK\r\n"},
		{"STAT\r\n", "+OK\r\n"},
	})
	if got := e.auth.requests.waitFor(t, 1); got[0] != methodRequest("apop", "joe", digest, salt, "pop3", 1) {
		t.Errorf("auth request %q", got[0])
	}
	want := []string{"USER joe\r\n", "PASS secret\r\n", "STAT\r\n"}
	if got := e.back["pop3"].lines.waitFor(t, 3); !slices.Equal(got, want) {
		t.Errorf("backend read %q, want %q", got, want)
	}

	c = dial(t, e.servers[4])
	salt = c.saltGreeting()
	c.run([]step{{"APOP nopass 0123\r\n", "-ERR internal server error\r\n"}})
	c.expectEOF()
	if got := e.auth.requests.waitFor(t, 2); got[1] != methodRequest("apop", "nopass", "0123", salt, "pop3", 1) {
		t.Errorf("auth request %q", got[1])
	}

	c = dial(t, e.servers[6]) // APOP only: USER/PASS still plain
	c.saltGreeting()
	c.run([]step{{"USER joe\r\n", "+OK\r\n"}, {"PASS pw\r\n", "+OK\r\n"}})
	if got := e.auth.requests.waitFor(t, 3); got[2] != authRequest("joe", "pw", "pop3", 1, "") {
		t.Errorf("auth request %q", got[2])
	}

	for _, server := range []int{1, 7} { // APOP not enabled
		c = dial(t, e.servers[server])
		if server == 7 {
			c.saltGreeting()
		} else {
			c.expect("+OK POP3 ready\r\n")
		}
		c.run([]step{{"APOP joe " + digest + "\r\n", "-ERR invalid command\r\n"}, {"NOOP\r\n", "+OK\r\n"}})
	}
}

// TestCRAMMD5 plays CRAM-MD5 in each protocol: the challenge is the
// session's salt in base64 (POP3's is the greeting's), the answer
// "login digest" in base64; auth_http gets the digest and the salt, the
// backend the password auth_http answered. An initial response, bad
// base64 or a digest not 32 bytes long are the invalid command, and the
// next challenge repeats the salt.
func TestCRAMMD5(t *testing.T) {
	e := newEnv(t, authServers)
	answer := b64("joe " + digest)
	tests := []struct {
		name, proto    string
		server         int
		greeting       string // "" for a POP3 greeting with a salt
		initial        string // the command with an initial response
		cmd, bad, done string // the command, the invalid-command reply, the login's reply
		backend        []string
	}{
		{"imap", "imap", 3, "* OK IMAP4 ready\r\n", "a AUTHENTICATE CRAM-MD5 " + answer + "\r\n", "a AUTHENTICATE CRAM-MD5\r\n", "a BAD invalid command\r\n", "a OK done\r\n",
			[]string{"a LOGIN {3}\r\n", "joe {6}\r\n", "secret\r\n"}},
		{"pop3", "pop3", 4, "", "AUTH CRAM-MD5 " + answer + "\r\n", "AUTH CRAM-MD5\r\n", "-ERR invalid command\r\n", "+OK\r\n",
			[]string{"USER joe\r\n", "PASS secret\r\n"}},
		{"smtp", "smtp", 5, "220 mx.example ESMTP ready\r\n", "AUTH CRAM-MD5 " + answer + "\r\n", "AUTH CRAM-MD5\r\n", "500 5.5.1 Invalid command\r\n", "235 2.0.0 OK\r\n",
			[]string{"EHLO mx.example\r\n", "XCLIENT ADDR=127.0.0.1 LOGIN=joe NAME=[UNAVAILABLE]\r\n"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			prefix := "+ "
			if tt.proto == "smtp" {
				prefix = "334 "
			}
			c := dial(t, e.servers[tt.server])
			var salt string
			if tt.greeting == "" {
				salt = c.saltGreeting()
			} else {
				c.expect(tt.greeting)
			}
			c.run([]step{{tt.initial, tt.bad}, {tt.cmd, ""}})
			if got := c.challenge(prefix); salt != "" && got != salt {
				t.Errorf("challenge salt %q, greeting's %q", got, salt)
			} else {
				salt = got
			}
			for _, wrong := range []string{"*\r\n", b64("joe short") + "\r\n", b64("joe") + "\r\n"} {
				c.run([]step{{wrong, tt.bad}, {tt.cmd, prefix + b64(salt) + "\r\n"}})
			}
			c.run([]step{{answer + "\r\n", tt.done}})
			if got := e.auth.requests.waitFor(t, 1); got[len(got)-1] != methodRequest("cram-md5", "joe", digest, salt, tt.proto, 1) {
				t.Errorf("auth request %q", got[len(got)-1])
			}
			if got := e.back[tt.proto].lines.waitFor(t, len(tt.backend)); !slices.Equal(got[len(got)-len(tt.backend):], tt.backend) {
				t.Errorf("backend read %q, want %q", got, tt.backend)
			}
		})
	}
}

// TestCRAMMD5NotEnabled checks CRAM-MD5 is the invalid command where the
// *_auth list does not have it.
func TestCRAMMD5NotEnabled(t *testing.T) {
	e := newEnv(t, authServers)
	tests := []struct {
		server          int
		greeting, steps []step
	}{
		{0, []step{{"", "* OK IMAP4 ready\r\n"}}, []step{{"a AUTHENTICATE CRAM-MD5\r\n", "a BAD invalid command\r\n"}}},
		{10, []step{{"", "* OK IMAP4 ready\r\n"}}, []step{{"a AUTHENTICATE CRAM-MD5\r\n", "a BAD invalid command\r\n"}}},
		{8, []step{{"", "+OK POP3 ready\r\n"}}, []step{{"AUTH CRAM-MD5\r\n", "-ERR invalid command\r\n"}}},
		{12, []step{{"", "220 mx.example ESMTP ready\r\n"}}, []step{{"AUTH CRAM-MD5\r\n", "500 5.5.1 Invalid command\r\n"}}},
	}
	for _, tt := range tests {
		c := dial(t, e.servers[tt.server])
		c.run(tt.greeting)
		c.run(tt.steps)
	}
	c := dial(t, e.servers[6]) // APOP only: salted, no CRAM-MD5
	c.saltGreeting()
	c.run([]step{{"AUTH CRAM-MD5\r\n", "-ERR invalid command\r\n"}})
}

// TestEXTERNAL plays EXTERNAL: the login is the initial response (taken
// whatever the *_auth list, as nginx) or the answer to "Username:" (only
// when enabled), decoded as nginx's lenient base64; auth_http gets no
// password (Auth-Salt when the session has a salt) and IMAP and POP3
// backends need the one it answers; SMTP's do not.
func TestEXTERNAL(t *testing.T) {
	e := newEnv(t, authServers)
	tests := []struct {
		name     string
		server   int
		greeting string // "" for a POP3 greeting with a salt
		steps    []step
		method   string // the auth_http request's login and Auth-Salt
		user     string
		salted   bool
		backend  []string
	}{
		{"imap initial, default list", 0, "* OK IMAP4 ready\r\n", []step{{"a AUTHENTICATE EXTERNAL am9l\r\n", "a OK done\r\n"}}, "external", "joe", false,
			[]string{"a LOGIN {3}\r\n", "joe {6}\r\n", "secret\r\n"}},
		{"imap challenge", 3, "* OK IMAP4 ready\r\n", []step{{"a AUTHENTICATE EXTERNAL\r\n", "+ VXNlcm5hbWU6\r\n"}, {"am9l\r\n", "a OK done\r\n"}}, "external", "joe", false,
			[]string{"a LOGIN {3}\r\n", "joe {6}\r\n", "secret\r\n"}},
		{"imap empty login", 3, "* OK IMAP4 ready\r\n", []step{{"a AUTHENTICATE EXTERNAL *\r\n", "a BAD invalid command\r\n"}, {"b AUTHENTICATE EXTERNAL\r\n", "+ VXNlcm5hbWU6\r\n"}, {"\r\n", "b OK done\r\n"}}, "external", "", false,
			[]string{"b LOGIN {0}\r\n", " {6}\r\n", "secret\r\n"}},
		{"imap after a cram-md5 challenge", 3, "* OK IMAP4 ready\r\n", []step{{"a AUTHENTICATE CRAM-MD5\r\n", ""}}, "external", "joe", true,
			[]string{"b LOGIN {3}\r\n", "joe {6}\r\n", "secret\r\n"}},
		{"pop3 initial, default list", 1, "+OK POP3 ready\r\n", []step{{"AUTH EXTERNAL am9l\r\n", "+OK\r\n"}}, "external", "joe", false,
			[]string{"USER joe\r\n", "PASS secret\r\n"}},
		{"pop3 lenient base64", 8, "+OK POP3 ready\r\n", []step{{"AUTH EXTERNAL am9l= x\r\n", "-ERR invalid command\r\n"}, {"AUTH EXTERNAL a\r\n", "-ERR invalid command\r\n"}, {"AUTH EXTERNAL am9\r\n", "+OK\r\n"}}, "external", "jo", false,
			[]string{"USER jo\r\n", "PASS secret\r\n"}},
		{"pop3 salted", 4, "", []step{{"AUTH EXTERNAL\r\n", "+ VXNlcm5hbWU6\r\n"}, {"am9l\r\n", "+OK\r\n"}}, "external", "joe", true,
			[]string{"USER joe\r\n", "PASS secret\r\n"}},
		{"smtp initial, default list", 2, "220 mx.example ESMTP ready\r\n", []step{{"AUTH EXTERNAL am9l=\r\n", "235 2.0.0 OK\r\n"}}, "external", "joe", false,
			[]string{"EHLO mx.example\r\n", "XCLIENT ADDR=127.0.0.1 LOGIN=joe NAME=[UNAVAILABLE]\r\n"}},
		{"smtp no password needed", 12, "220 mx.example ESMTP ready\r\n", []step{{"AUTH EXTERNAL\r\n", "334 VXNlcm5hbWU6\r\n"}, {b64("nopass") + "\r\n", "235 2.0.0 OK\r\n"}}, "external", "nopass", false,
			[]string{"EHLO mx.example\r\n", "XCLIENT ADDR=127.0.0.1 LOGIN=nopass NAME=[UNAVAILABLE]\r\n"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			proto := strings.Fields(tt.name)[0]
			c := dial(t, e.servers[tt.server])
			var salt string
			if tt.greeting == "" {
				salt = c.saltGreeting()
			} else {
				c.expect(tt.greeting)
			}
			c.run(tt.steps)
			if tt.name == "imap after a cram-md5 challenge" {
				salt = c.challenge("+ ")
				c.run([]step{{"*\r\n", "a BAD invalid command\r\n"}, {"b AUTHENTICATE EXTERNAL am9l\r\n", "b OK done\r\n"}})
			}
			if !tt.salted {
				salt = ""
			}
			got := e.auth.requests.waitFor(t, 1) // the last is this login's: it came before the reply
			if last := got[len(got)-1]; last != methodRequest(tt.method, tt.user, "", salt, proto, 1) {
				t.Errorf("auth request %q", last)
			}
			if got := e.back[proto].lines.waitFor(t, len(tt.backend)); !slices.Equal(got[len(got)-len(tt.backend):], tt.backend) {
				t.Errorf("backend read %q, want %q", got, tt.backend)
			}
		})
	}
}

// TestEXTERNALPassword checks what an EXTERNAL login passes on when
// auth_http answers no Auth-Pass: nothing at the session's start (IMAP and
// POP3 then end in an internal error), and after a refused login that
// login's password, which nginx keeps.
func TestEXTERNALPassword(t *testing.T) {
	e := newEnv(t, authServers)
	c := dial(t, e.servers[0])
	c.run([]step{{"", "* OK IMAP4 ready\r\n"}, {"a AUTHENTICATE EXTERNAL " + b64("nopass") + "\r\n", "* BAD internal server error\r\n"}})
	c.expectEOF()
	c = dial(t, e.servers[1])
	c.run([]step{{"", "+OK POP3 ready\r\n"}, {"AUTH EXTERNAL " + b64("nopass") + "\r\n", "-ERR internal server error\r\n"}})
	c.expectEOF()

	c = dial(t, e.servers[0])
	c.run([]step{
		{"", "* OK IMAP4 ready\r\n"},
		{"a LOGIN bad pw\r\n", "a NO Invalid login or password\r\n"},
		{"b AUTHENTICATE EXTERNAL " + b64("nopass") + "\r\n", "b OK done\r\n"},
	})
	got := e.auth.requests.waitFor(t, 4)
	if got[3] != methodRequest("external", "nopass", "pw", "", "imap", 2) {
		t.Errorf("auth request %q", got[3])
	}
	want := []string{"b LOGIN {6}\r\n", "nopass {2}\r\n", "pw\r\n"}
	if got := e.back["imap"].lines.waitFor(t, 3); !slices.Equal(got, want) {
		t.Errorf("backend read %q, want %q", got, want)
	}
}

// TestSaltedPlainLogins checks that PLAIN, LOGIN and USER/PASS stay
// "Auth-Method: plain" without Auth-Salt in a session that has a salt,
// and that nginx's lenient base64 takes PLAIN and LOGIN without padding.
func TestSaltedPlainLogins(t *testing.T) {
	e := newEnv(t, authServers)
	c := dial(t, e.servers[4])
	c.saltGreeting()
	c.run([]step{{"AUTH LOGIN\r\n", "+ VXNlcm5hbWU6\r\n"}, {"am9l\r\n", "+ UGFzc3dvcmQ6\r\n"}, {"cHc=\r\n", "+OK\r\n"}})
	c = dial(t, e.servers[4])
	c.saltGreeting()
	c.run([]step{{"AUTH PLAIN AGpvZQBwdw\r\n", "+OK\r\n"}})
	c = dial(t, e.servers[3])
	c.run([]step{{"", "* OK IMAP4 ready\r\n"}, {"a AUTHENTICATE CRAM-MD5\r\n", ""}})
	c.challenge("+ ")
	c.run([]step{{"*\r\n", "a BAD invalid command\r\n"}, {"b AUTHENTICATE LOGIN am9\r\n", "+ UGFzc3dvcmQ6\r\n"}, {"cHc\r\n", "b OK done\r\n"}})
	got := e.auth.requests.waitFor(t, 3)
	want := []string{authRequest("joe", "pw", "pop3", 1, ""), authRequest("joe", "pw", "pop3", 1, ""), authRequest("jo", "pw", "imap", 1, "")}
	if !slices.Equal(got, want) {
		t.Errorf("auth requests %q, want %q", got, want)
	}
}

// TestAuthSTARTTLS plays starttls on and only with every mechanism
// enabled, as recorded: before TLS the lists add STARTTLS (STLS), or with
// only advertise no mechanism and refuse APOP, CRAM-MD5 and EXTERNAL;
// after TLS the lists are the usual ones. The POP3 greeting's salt is
// the session's, also after STLS. STLS takes arguments, which nginx
// ignores ("STLS foo" starts TLS), and is refused over TLS or without
// starttls whatever its arguments.
func TestAuthSTARTTLS(t *testing.T) {
	auth := startAuth(t, nil)
	certs := certLines(t)
	imapAll := "* CAPABILITY IMAP4 IMAP4rev1 UIDPLUS AUTH=PLAIN AUTH=LOGIN AUTH=CRAM-MD5 AUTH=EXTERNAL"
	pop3All := "+OK Capability list follows\r\nTOP\r\nUSER\r\nUIDL\r\nSASL PLAIN LOGIN CRAM-MD5 EXTERNAL\r\n"
	pop3Auth := "+OK methods supported:\r\nPLAIN\r\nLOGIN\r\nCRAM-MD5\r\nEXTERNAL\r\n.\r\n"
	tests := []struct {
		name, server string
		salted       bool
		steps        []step
	}{
		{"imap on", "protocol imap; starttls on; imap_auth plain login cram-md5 external;", false, []step{
			{"", "* OK IMAP4 ready\r\n"},
			{"a CAPABILITY\r\n", imapAll + " STARTTLS\r\na OK completed\r\n"},
			{"b STARTTLS\r\n", "b OK completed\r\n"},
			{tlsStep, ""},
			{"c CAPABILITY\r\n", imapAll + "\r\nc OK completed\r\n"},
		}},
		{"imap only", "protocol imap; starttls only; imap_auth plain login cram-md5 external;", false, []step{
			{"", "* OK IMAP4 ready\r\n"},
			{"a CAPABILITY\r\n", "* CAPABILITY IMAP4 IMAP4rev1 UIDPLUS STARTTLS LOGINDISABLED\r\na OK completed\r\n"},
			{"a1 AUTHENTICATE CRAM-MD5\r\n", "a1 BAD invalid command\r\n"},
			{"a2 AUTHENTICATE EXTERNAL am9l\r\n", "a2 BAD invalid command\r\n"},
			{"b STARTTLS\r\n", "b OK completed\r\n"},
			{tlsStep, ""},
			{"c CAPABILITY\r\n", imapAll + "\r\nc OK completed\r\n"},
		}},
		{"pop3 on", "protocol pop3; starttls on; pop3_auth plain apop cram-md5 external;", true, []step{
			{"CAPA\r\n", pop3All + "STLS\r\n.\r\n"},
			{"AUTH\r\n", pop3Auth},
			{"STLS\r\n", "+OK\r\n"},
			{tlsStep, ""},
			{"CAPA\r\n", pop3All + ".\r\n"},
			{"AUTH\r\n", pop3Auth},
		}},
		{"pop3 only", "protocol pop3; starttls only; pop3_auth plain apop cram-md5 external;", true, []step{
			{"CAPA\r\n", "+OK Capability list follows\r\nTOP\r\nUIDL\r\nSTLS\r\n.\r\n"},
			{"AUTH\r\n", "-ERR invalid command\r\n"},
			{"APOP joe 0123\r\n", "-ERR invalid command\r\n"},
			{"AUTH CRAM-MD5\r\n", "-ERR invalid command\r\n"},
			{"AUTH EXTERNAL am9l\r\n", "-ERR invalid command\r\n"},
			{"STLS\r\n", "+OK\r\n"},
			{tlsStep, ""},
			{"CAPA\r\n", pop3All + ".\r\n"},
			{"AUTH\r\n", pop3Auth},
			{"APOP nowait 0123\r\n", "-ERR Invalid login\r\n"},
		}},
		{"smtp on", "protocol smtp; starttls on; smtp_auth plain login cram-md5 external;", false, []step{
			{"", "220 mx.example ESMTP ready\r\n"},
			{"EHLO x\r\n", "250-mx.example\r\n250-AUTH PLAIN LOGIN CRAM-MD5 EXTERNAL\r\n250 STARTTLS\r\n"},
			{"STARTTLS\r\n", "220 2.0.0 Start TLS\r\n"},
			{tlsStep, ""},
			{"EHLO x\r\n", "250-mx.example\r\n250 AUTH PLAIN LOGIN CRAM-MD5 EXTERNAL\r\n"},
		}},
		{"smtp only", "protocol smtp; starttls only; smtp_auth plain login cram-md5 external;", false, []step{
			{"", "220 mx.example ESMTP ready\r\n"},
			{"EHLO x\r\n", "250-mx.example\r\n250 STARTTLS\r\n"},
			{"AUTH CRAM-MD5\r\n", "500 5.5.1 Invalid command\r\n"},
			{"AUTH EXTERNAL am9l\r\n", "500 5.5.1 Invalid command\r\n"},
			{"STARTTLS\r\n", "220 2.0.0 Start TLS\r\n"},
			{tlsStep, ""},
			{"EHLO x\r\n", "250-mx.example\r\n250 AUTH PLAIN LOGIN CRAM-MD5 EXTERNAL\r\n"},
		}},
		{"pop3 stls with arguments", "protocol pop3; starttls on;", false, []step{
			{"", "+OK POP3 ready\r\n"},
			{"STLS foo\r\n", "+OK\r\n"},
			{tlsStep, ""},
			{"CAPA\r\n", "+OK Capability list follows\r\nTOP\r\nUSER\r\nUIDL\r\nSASL PLAIN LOGIN\r\n.\r\n"},
			{"STLS foo\r\n", "-ERR invalid command\r\n"},
			{"STLS\r\n", "-ERR invalid command\r\n"},
		}},
		{"pop3 stls with two arguments", "protocol pop3; starttls on;", false, []step{
			{"", "+OK POP3 ready\r\n"},
			{"STLS foo bar\r\n", "+OK\r\n"},
			{tlsStep, ""},
			{"NOOP\r\n", "+OK\r\n"},
		}},
		{"pop3 stls and a space", "protocol pop3; starttls on;", false, []step{
			{"", "+OK POP3 ready\r\n"},
			{"stls \r\n", "+OK\r\n"},
			{tlsStep, ""},
			{"NOOP\r\n", "+OK\r\n"},
		}},
		// After USER, nginx's POP3 takes only PASS, CAPA (without
		// STLS), NOOP and QUIT; anything else, STLS too, is refused and
		// forgets the USER, so the login never spans STLS (recorded).
		{"pop3 user before stls", "protocol pop3; starttls on;", false, []step{
			{"", "+OK POP3 ready\r\n"},
			{"USER joe\r\n", "+OK\r\n"},
			{"NOOP\r\n", "+OK\r\n"},
			{"CAPA\r\n", "+OK Capability list follows\r\nTOP\r\nUSER\r\nUIDL\r\nSASL PLAIN LOGIN\r\n.\r\n"},
			{"STLS\r\n", "-ERR invalid command\r\n"},
			{"PASS pw\r\n", "-ERR invalid command\r\n"},
			{"USER joe\r\n", "+OK\r\n"},
			{"STLS\r\n", "-ERR invalid command\r\n"},
			{"STLS\r\n", "+OK\r\n"},
			{tlsStep, ""},
			{"PASS pw\r\n", "-ERR invalid command\r\n"},
		}},
		{"pop3 after user", "protocol pop3;", false, []step{
			{"", "+OK POP3 ready\r\n"},
			{"USER joe\r\n", "+OK\r\n"},
			{"USER ann\r\n", "-ERR invalid command\r\n"},
			{"PASS pw\r\n", "-ERR invalid command\r\n"},
			{"USER joe\r\n", "+OK\r\n"},
			{"AUTH\r\n", "-ERR invalid command\r\n"},
			{"PASS pw\r\n", "-ERR invalid command\r\n"},
			{"USER joe\r\n", "+OK\r\n"},
			{"APOP a b\r\n", "-ERR invalid command\r\n"},
			{"PASS pw\r\n", "-ERR invalid command\r\n"},
			{"USER joe\r\n", "+OK\r\n"},
			{"PASS\r\n", "-ERR invalid command\r\n"},
			{"PASS pw\r\n", "-ERR invalid command\r\n"},
			{"USER joe\r\n", "+OK\r\n"},
			{"FOO\r\n", "-ERR invalid command\r\n"},
			{"PASS pw\r\n", "-ERR invalid command\r\n"},
		}},
		{"pop3 stls without starttls", "protocol pop3;", false, []step{
			{"", "+OK POP3 ready\r\n"},
			{"STLS foo\r\n", "-ERR invalid command\r\n"},
			{"CAPA x\r\n", "+OK Capability list follows\r\nTOP\r\nUSER\r\nUIDL\r\nSASL PLAIN LOGIN\r\n.\r\n"},
			{"NOOP x\r\n", "+OK\r\n"},
			{"QUIT x\r\n", "+OK\r\n"},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, addrs := start(t, load(t, "auth_http "+auth.addr+";\nserver_name mx.example;\n"+certs+"server { listen 127.0.0.1:0; "+tt.server+" }"))
			c := dial(t, addrs[0])
			if tt.salted {
				c.saltGreeting()
			}
			c.runTLS(tt.steps)
		})
	}
}

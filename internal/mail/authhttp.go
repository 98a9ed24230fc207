package mail

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"fulcrum/internal/config"
)

// authAnswer is what an auth_http server said.
type authAnswer struct {
	// errmsg is Auth-Status when it is neither "OK" nor "WAIT"; errcode
	// is Auth-Error-Code (SMTP).
	errmsg, errcode string
	// wait is "Auth-Status: WAIT": ask again after sleep seconds.
	wait bool
	// sleep is Auth-Wait in seconds (0 when absent or not a number).
	sleep int
	// server and port are Auth-Server and Auth-Port.
	server, port string
	// user and pass are Auth-User and Auth-Pass when sent: the login the
	// backend gets.
	user, pass *string
}

// authRequest is the auth_http request for s, as nginx 1.22 writes it.
// As nginx, a login other than "plain" in a session with a salt sends
// Auth-Salt and forgets its password (the digest), which the auth_http
// answer must then give.
func (s *session) authRequest() string {
	cfg := s.srv.cfg
	var b strings.Builder
	b.WriteString("GET " + cfg.AuthHTTP.URI + " HTTP/1.0\r\n")
	b.WriteString("Host: " + cfg.AuthHTTP.HostHeader + "\r\n")
	// nginx names the LOGIN mechanism and the IMAP LOGIN and POP3
	// USER/PASS commands all "plain".
	method := s.method
	if s.none {
		method = "none"
	}
	b.WriteString("Auth-Method: " + method + "\r\n")
	b.WriteString("Auth-User: " + escapeAuth(s.login) + "\r\n")
	b.WriteString("Auth-Pass: " + escapeAuth(s.passwd) + "\r\n")
	if method != "plain" && s.salt != "" {
		// The salt a digest was made with; the digest is no password for
		// the backend, which then needs the answer's Auth-Pass.
		b.WriteString("Auth-Salt: " + s.salt + "\r\n")
		s.passwd, s.passwdSet = "", false
	}
	b.WriteString("Auth-Protocol: " + cfg.Protocol + "\r\n")
	b.WriteString("Auth-Login-Attempt: " + strconv.Itoa(s.attempt) + "\r\n")
	b.WriteString("Client-IP: " + s.addr + "\r\n")
	if cfg.Protocol == config.MailSMTP {
		b.WriteString("Client-Host: " + s.host + "\r\n")
	}
	if s.none {
		b.WriteString("Auth-SMTP-Helo: " + s.helo + "\r\nAuth-SMTP-From: " + s.from + "\r\nAuth-SMTP-To: " + s.to + "\r\n")
	}
	s.authSSLHeaders(&b)
	for _, h := range cfg.AuthHTTPHeaders {
		b.WriteString(h[0] + ": " + h[1] + "\r\n")
	}
	b.WriteString("\r\n")
	return b.String()
}

// escapeAuth escapes a login or password for its header as nginx's
// NGX_ESCAPE_MAIL_AUTH: control characters, space, "%" and DEL become
// %XX.
func escapeAuth(v string) string {
	return escapeBytes(v, '%', func(c byte) bool { return c <= ' ' || c == '%' || c == 0x7f })
}

// escapeBytes writes v with each byte esc is true for as mark and two
// upper-case hex digits, the shape of both nginx's %XX escapes and xtext's
// +XX.
func escapeBytes(v string, mark byte, esc func(c byte) bool) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(v); i++ {
		c := v[i]
		if esc(c) {
			b.WriteByte(mark)
			b.WriteByte(hex[c>>4])
			b.WriteByte(hex[c&0xf])
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

// askAuthHTTP sends the auth_http request and reads the answer's headers,
// all within auth_http_timeout.
func (s *session) askAuthHTTP() (*authAnswer, error) {
	a := s.srv.cfg.AuthHTTP
	deadline := time.Now().Add(s.srv.cfg.AuthHTTPTimeout)
	c, err := net.DialTimeout(a.Network, a.Addr, s.srv.cfg.AuthHTTPTimeout)
	if err != nil {
		return nil, fmt.Errorf("auth http server %s: connect failed: %w", a.Addr, err)
	}
	defer c.Close()
	_ = c.SetDeadline(deadline)
	if _, err := c.Write([]byte(s.authRequest())); err != nil {
		return nil, fmt.Errorf("auth http server %s: send: %w", a.Addr, err)
	}
	ans, err := readAuthAnswer(bufio.NewReader(&headLimit{c: c, left: authAnswerMax, deadline: deadline}))
	if err != nil {
		return nil, fmt.Errorf("auth http server %s %w", a.Addr, err)
	}
	return ans, nil
}

// authAnswerMax is the buffer nginx reads an auth_http answer into: a
// head of more than 1024 bytes never completes in it, and nginx waits for
// auth_http_timeout ("auth http server ... timed out"), as recorded with
// nginx 1.22.1 (1024 bytes log in, 1025 time out).
const authAnswerMax = 1024

// headLimit reads at most left bytes of c; past them it waits for the
// deadline and reports a timeout, as nginx's full buffer does, holding no
// more than authAnswerMax bytes of an auth server's endless answer.
type headLimit struct {
	c        net.Conn
	left     int
	deadline time.Time
}

func (l *headLimit) Read(p []byte) (int, error) {
	if l.left <= 0 {
		time.Sleep(time.Until(l.deadline))
		return 0, os.ErrDeadlineExceeded
	}
	if len(p) > l.left {
		p = p[:l.left]
	}
	n, err := l.c.Read(p)
	l.left -= n
	return n, err
}

// readAuthAnswer reads an auth_http response's status line (which nginx
// only checks starts with "HTTP/") and headers; the body is not read.
func readAuthAnswer(r *bufio.Reader) (*authAnswer, error) {
	status, err := r.ReadString('\n')
	if err != nil {
		return nil, fmt.Errorf("timed out or closed: %w", err)
	}
	if !strings.HasPrefix(status, "HTTP/") {
		return nil, fmt.Errorf("sent invalid response")
	}
	ans := &authAnswer{}
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return nil, fmt.Errorf("timed out or closed: %w", err)
		}
		line = strings.TrimRight(line, "\r\n")
		if line == "" {
			return ans, nil
		}
		name, value, ok := strings.Cut(line, ":")
		if !ok || !validHeaderName(name) {
			return nil, fmt.Errorf("sent invalid header in response")
		}
		ans.header(name, strings.Trim(value, " "))
	}
}

// validHeaderName reports whether name has only the characters nginx's
// auth_http parser takes: letters, digits and "-", not starting with "-".
func validHeaderName(name string) bool {
	if name == "" || name[0] == '-' {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i] | 0x20
		if !(c >= 'a' && c <= 'z' || name[i] >= '0' && name[i] <= '9' || name[i] == '-') {
			return false
		}
	}
	return true
}

// header takes one response header.
func (a *authAnswer) header(name, value string) {
	switch strings.ToLower(name) {
	case "auth-status":
		switch value {
		case "OK":
		case "WAIT":
			a.wait = true
		default:
			a.errmsg = value
		}
	case "auth-server":
		a.server = value
	case "auth-port":
		a.port = value
	case "auth-user":
		a.user = &value
	case "auth-pass":
		a.pass = &value
	case "auth-wait":
		if n, err := strconv.Atoi(value); err == nil && n >= 0 {
			a.sleep = n
		}
	case "auth-error-code":
		a.errcode = value
	}
}

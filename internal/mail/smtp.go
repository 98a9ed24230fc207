package mail

import (
	"encoding/base64"
	"errors"
	"net"
	"strings"
	"time"

	"fulcrum/internal/errlog"
)

// smtp serves an SMTP client until it authenticates (then the session is
// proxied) or quits.
func (s *session) smtp() error {
	if s.srv.resolver != nil {
		s.host = s.clientHost()
	}
	if err := s.greetingDelay(); err != nil {
		return err
	}
	if err := s.send(s.srv.greeting); err != nil {
		return err
	}
	for {
		line, err := s.readLine()
		if err != nil {
			return err
		}
		auth, err := s.smtpCommand(line)
		if err != nil {
			return err
		}
		if !auth {
			continue
		}
		if err := s.authenticate(); err != nil {
			return err
		}
		s.from, s.to, s.none = "", "", false
	}
}

// greetingDelay waits smtp_greeting_delay before the greeting; a client
// that sends anything meanwhile is refused and the connection closed, as
// nginx does.
func (s *session) greetingDelay() error {
	delay := s.srv.cfg.SMTPGreetingDelay
	if delay <= 0 {
		return nil
	}
	_ = s.conn.SetReadDeadline(time.Now().Add(delay))
	b, err := s.r.Peek(1)
	if len(b) > 0 {
		early, _ := s.r.Peek(s.r.Buffered())
		s.logf(errlog.Info, `client was rejected before greeting: "%s"`, early)
		_ = s.send("503 5.5.0 Improper use of SMTP command pipelining\r\n")
		return errQuit
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return nil
	}
	return err
}

// smtpCommand answers one command; auth reports credentials to check.
func (s *session) smtpCommand(line string) (auth bool, err error) {
	name, rest, hasRest := splitCommand(line)
	invalid := func() error { return s.reject("500 5.5.1 Invalid command\r\n") }
	badArg := func() error { return s.reject("501 5.5.4 Invalid argument\r\n") }
	switch name {
	case "HELO", "EHLO":
		if !hasRest || rest == "" {
			return false, badArg()
		}
		s.helo = rest
		if name == "HELO" {
			return false, s.send("250 " + s.srv.name + "\r\n")
		}
		s.esmtp = true
		_, _, ehlo := s.capabilities()
		return false, s.send(ehlo)
	case "AUTH":
		if s.starttlsOnly() {
			return false, invalid()
		}
		if !hasRest || rest == "" {
			return false, badArg()
		}
		mech, initial, hasInitial := strings.Cut(rest, " ")
		if strings.Contains(initial, " ") { // more than two arguments
			return false, invalid()
		}
		ok, serr := s.sasl(mech, initial, hasInitial, "334 ")
		switch {
		case !ok || errors.Is(serr, errSASL):
			return false, invalid()
		case serr != nil:
			return false, serr
		}
		return true, nil
	case "QUIT":
		_ = s.send("221 2.0.0 Bye\r\n")
		return false, errQuit
	case "RSET", "NOOP":
		return false, s.send("250 2.0.0 OK\r\n")
	case "MAIL":
		switch {
		case !s.srv.cfg.SMTPAuthNone:
			return false, s.send("530 5.7.1 Authentication required\r\n")
		case !hasRest || rest == "":
			return false, badArg()
		case s.from != "":
			return false, s.send("503 5.5.1 Bad sequence of commands\r\n")
		}
		s.from = line
		return false, s.send("250 2.0.0 OK\r\n")
	case "RCPT":
		switch {
		case s.from == "":
			return false, s.send("503 5.5.1 Bad sequence of commands\r\n")
		case !hasRest || rest == "":
			return false, badArg()
		}
		s.to, s.none = line, true
		return true, nil
	case "STARTTLS": // refused without starttls, and over TLS
		if !s.starttlsOffered() {
			return false, invalid()
		}
		s.helo, s.from, s.to = "", "", "" // as nginx, the client says HELO again
		return false, s.startTLS("220 2.0.0 Start TLS\r\n")
	}
	// A command nginx's SMTP parser does not know counts toward max_errors.
	return false, s.invalid("500 5.5.1 Invalid command\r\n")
}

// smtpLogin passes the client to an SMTP backend as nginx does: EHLO with
// the server name, XCLIENT with the client's address and login (xclient
// on; no LOGIN without one), then the client's own HELO or EHLO if it
// sent one; with xclient off, HELO (EHLO after a client's EHLO) with the
// server name only. With proxy_smtp_auth the login follows as AUTH PLAIN
// (and XCLIENT has no LOGIN), answered 235. A logged-in client gets nginx's "235 2.0.0 OK"; under
// "smtp_auth none" the client's MAIL and RCPT lines follow and the client
// gets the backend's answer to RCPT.
func (s *session) smtpLogin(b *backend) (string, error) {
	if _, err := smtpReply(b); err != nil {
		return "", err
	}
	hello := "HELO "
	if s.esmtp {
		hello = "EHLO "
	}
	steps := []string{hello + s.srv.name + "\r\n"}
	if s.srv.cfg.XClient {
		xclient := "XCLIENT ADDR=" + s.addr
		if s.login != "" && !s.srv.cfg.ProxySMTPAuth {
			xclient += " LOGIN=" + xtext(s.login)
		}
		steps = []string{"EHLO " + s.srv.name + "\r\n", xclient + " NAME=" + s.host + "\r\n"}
		if s.helo != "" {
			steps = append(steps, hello+s.helo+"\r\n")
		}
	}
	if s.none {
		steps = append(steps, s.from+"\r\n", s.to+"\r\n")
	}
	var last string
	for i, line := range steps {
		if err := b.send(line); err != nil {
			return "", err
		}
		read := smtpReply
		if s.none && i == len(steps)-1 {
			// The answer to RCPT goes to the client whatever its code,
			// as nginx's ngx_smtp_to state takes any reply: a 550 for
			// one recipient leaves the session open for the next.
			read = smtpAnyReply
		}
		var err error
		if last, err = read(b); err != nil {
			return "", err
		}
	}
	if s.none {
		return last, nil // the backend's answer to RCPT
	}
	if s.srv.cfg.ProxySMTPAuth {
		if err := b.send("AUTH PLAIN " + base64.StdEncoding.EncodeToString([]byte("\x00"+s.login+"\x00"+s.passwd)) + "\r\n"); err != nil {
			return "", err
		}
		if l, err := smtpReply(b); err != nil {
			return "", err
		} else if !strings.HasPrefix(l, "235") {
			return "", &badResponse{line: l}
		}
	}
	return "235 2.0.0 OK\r\n", nil
}

// smtpReply reads a whole (possibly multi-line) SMTP reply, which must
// be a 2xx one; its last line is returned.
func smtpReply(b *backend) (string, error) {
	for {
		l, err := b.line()
		if err != nil {
			return "", err
		}
		if len(l) < 4 || l[0] != '2' {
			return "", &badResponse{line: l}
		}
		if l[3] != '-' {
			return l, nil
		}
	}
}

// smtpAnyReply reads a whole (possibly multi-line) SMTP reply, whatever
// its code, and returns all its lines, which nginx relays as they came.
func smtpAnyReply(b *backend) (string, error) {
	var all strings.Builder
	for {
		l, err := b.line()
		if err != nil {
			return "", err
		}
		all.WriteString(l)
		if len(l) < 4 || l[3] != '-' {
			return all.String(), nil
		}
	}
}

// xtext encodes an XCLIENT value as RFC 1891's xtext: "+", "=" and bytes
// outside "!".."~" become "+XX".
func xtext(v string) string {
	return escapeBytes(v, '+', func(c byte) bool { return c < '!' || c > '~' || c == '+' || c == '=' })
}

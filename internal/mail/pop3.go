package mail

import (
	"errors"
	"strings"
)

// splitCommand splits a POP3 or SMTP line into its upper-cased command and
// the rest after one space ("" when none).
func splitCommand(line string) (name, rest string, hasRest bool) {
	name, rest, hasRest = strings.Cut(line, " ")
	return strings.ToUpper(name), rest, hasRest
}

// pop3Known are the commands nginx's POP3 parser knows: one of them
// refused (wrong state, arguments or mechanism) does not count toward
// max_errors; an unknown command does.
var pop3Known = map[string]bool{"USER": true, "PASS": true, "APOP": true, "QUIT": true, "CAPA": true, "AUTH": true, "NOOP": true, "STLS": true}

// pop3 serves a POP3 client until it logs in (then the session is
// proxied) or quits. With APOP or CRAM-MD5 enabled the greeting carries
// the session's salt, as nginx's.
func (s *session) pop3() error {
	greeting := s.srv.greeting
	if s.authEnabled("apop") || s.authEnabled("cram-md5") {
		s.salt = s.newSalt()
		greeting = strings.TrimSuffix(greeting, "\r\n") + " " + s.salt + "\r\n"
	}
	if err := s.send(greeting); err != nil {
		return err
	}
	user := false // USER was accepted; PASS may follow
	for {
		line, err := s.readLine()
		if err != nil {
			return err
		}
		auth, err := s.pop3Command(line, &user)
		if err != nil {
			return err
		}
		if !auth {
			continue
		}
		user = false
		if err := s.authenticate(); err != nil {
			return err
		}
	}
}

// pop3Command answers one command; auth reports credentials to check.
// user is whether USER was accepted (PASS may follow).
func (s *session) pop3Command(line string, user *bool) (auth bool, err error) {
	name, rest, hasRest := splitCommand(line)
	if *user {
		return s.pop3AfterUser(name, rest, hasRest, user)
	}
	bad := func() error { return s.reject("-ERR invalid command\r\n") }
	switch {
	case name == "CAPA":
		_, capa, _ := s.capabilities()
		return false, s.send(capa)
	case name == "STLS" && s.starttlsOffered(): // arguments are ignored, as in nginx
		*user = false
		s.login = ""
		return false, s.startTLS("+OK\r\n")
	case (name == "USER" || name == "PASS" || name == "AUTH" || name == "APOP") && s.starttlsOnly():
		return false, bad()
	case name == "NOOP":
		return false, s.send("+OK\r\n")
	case name == "QUIT":
		_ = s.send("+OK\r\n")
		return false, errQuit
	case name == "USER" && hasRest && rest != "":
		s.login, *user = rest, true
		return false, s.send("+OK\r\n")
	case name == "APOP":
		// "APOP name digest": exactly two arguments, APOP enabled.
		login, digest, ok := strings.Cut(rest, " ")
		if !hasRest || !ok || login == "" || digest == "" || strings.Contains(digest, " ") || !s.authEnabled("apop") {
			return false, bad()
		}
		s.login, s.passwd, s.passwdSet, s.method = login, digest, true, "apop"
		return true, nil
	case name == "AUTH" && !hasRest:
		return false, s.send(s.srv.pop3Auth)
	case name == "AUTH":
		mech, initial, hasInitial := strings.Cut(rest, " ")
		if strings.Contains(initial, " ") { // more than two arguments
			return false, bad()
		}
		ok, serr := s.sasl(mech, initial, hasInitial, "+ ")
		switch {
		case !ok || errors.Is(serr, errSASL):
			return false, bad()
		case serr != nil:
			return false, serr
		}
		return true, nil
	case pop3Known[name]:
		return false, bad()
	}
	return false, s.invalid("-ERR invalid command\r\n")
}

// pop3AfterUser answers a command after an accepted USER, nginx's
// ngx_pop3_user state: only PASS, CAPA (whose list never offers STLS
// there), NOOP and QUIT are taken. Any other command, STLS and a second
// USER too, is refused as invalid and goes back to the start, so that a
// PASS after it is refused as well: a USER sent before STLS never logs in
// over TLS (RFC 2595 section 4), as nginx 1.22.1 answers (recorded).
func (s *session) pop3AfterUser(name, rest string, hasRest bool, user *bool) (auth bool, err error) {
	switch {
	case name == "PASS" && hasRest && rest != "":
		s.passwd, s.passwdSet, s.method = rest, true, "plain"
		return true, nil
	case name == "CAPA":
		return false, s.send(s.srv.pop3Capa)
	case name == "NOOP":
		return false, s.send("+OK\r\n")
	case name == "QUIT":
		_ = s.send("+OK\r\n")
		return false, errQuit
	}
	*user = false
	if pop3Known[name] {
		return false, s.reject("-ERR invalid command\r\n")
	}
	return false, s.invalid("-ERR invalid command\r\n")
}

// pop3Login logs in to a POP3 backend with USER and PASS; the backend's
// answer to PASS goes to the client.
func (s *session) pop3Login(b *backend) (string, error) {
	if _, err := b.expect("+OK"); err != nil {
		return "", err
	}
	if err := b.send("USER " + s.login + "\r\n"); err != nil {
		return "", err
	}
	if _, err := b.expect("+OK"); err != nil {
		return "", err
	}
	if err := b.send("PASS " + s.passwd + "\r\n"); err != nil {
		return "", err
	}
	return b.expect("+OK")
}

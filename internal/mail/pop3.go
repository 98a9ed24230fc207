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
// proxied) or quits.
func (s *session) pop3() error {
	if err := s.send(s.srv.greeting); err != nil {
		return err
	}
	user := false // USER was accepted; PASS may follow
	for {
		line, err := s.readLine()
		if err != nil {
			return err
		}
		name, rest, hasRest := splitCommand(line)
		bad := func() error { return s.reject("-ERR invalid command\r\n") }
		auth := false
		switch {
		case name == "CAPA":
			_, capa, _ := s.capabilities()
			err = s.send(capa)
		case name == "STLS" && s.starttlsOffered():
			user = false
			s.login = ""
			err = s.startTLS("+OK\r\n")
		case (name == "USER" || name == "PASS" || name == "AUTH") && s.starttlsOnly():
			err = bad()
		case name == "NOOP":
			err = s.send("+OK\r\n")
		case name == "QUIT":
			_ = s.send("+OK\r\n")
			return errQuit
		case name == "USER" && hasRest && rest != "":
			s.login, user = rest, true
			err = s.send("+OK\r\n")
		case name == "PASS" && user && hasRest && rest != "":
			s.passwd, auth = rest, true
		case name == "AUTH" && !hasRest:
			err = s.send(s.srv.pop3Auth)
		case name == "AUTH":
			mech, initial, hasInitial := strings.Cut(rest, " ")
			ok, serr := s.sasl(mech, initial, hasInitial, "+ ")
			switch {
			case !ok || errors.Is(serr, errSASL):
				s.login, s.passwd = "", ""
				err = bad()
			case serr != nil:
				return serr
			default:
				auth = true
			}
		case pop3Known[name]:
			err = bad()
		default:
			err = s.invalid("-ERR invalid command\r\n")
		}
		if err != nil {
			return err
		}
		if !auth {
			continue
		}
		user = false
		if _, err := s.authenticate(); err != nil {
			return err
		}
		s.login, s.passwd = "", ""
	}
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

package mail

import (
	"encoding/base64"
	"errors"
	"strings"
)

// The SASL challenges of the LOGIN mechanism ("Username:", "Password:").
const (
	challengeUser = "VXNlcm5hbWU6"
	challengePass = "UGFzc3dvcmQ6"
)

// errSASL is a client's SASL response that cannot be used: invalid
// base64, or a PLAIN message without two NULs.
var errSASL = errors.New("invalid SASL response")

// decodePlain reads a SASL PLAIN message, base64 of
// "authzid NUL authcid NUL passwd", as nginx's ngx_mail_auth_plain: the
// login is authcid.
func decodePlain(arg string) (login, passwd string, err error) {
	raw, err := base64.StdEncoding.DecodeString(arg)
	if err != nil {
		return "", "", errSASL
	}
	_, rest, ok := strings.Cut(string(raw), "\x00")
	if !ok {
		return "", "", errSASL
	}
	login, passwd, ok = strings.Cut(rest, "\x00")
	if !ok {
		return "", "", errSASL
	}
	return login, passwd, nil
}

// decodeLogin reads one base64 response of the LOGIN mechanism.
func decodeLogin(arg string) (string, error) {
	raw, err := base64.StdEncoding.DecodeString(arg)
	if err != nil {
		return "", errSASL
	}
	return string(raw), nil
}

// sasl runs the PLAIN or LOGIN mechanism named by mech, with the initial
// response initial ("" when none), reading further responses with next.
// ok false means the mechanism is not one of the two.
func (s *session) sasl(mech, initial string, hasInitial bool, prefix string) (ok bool, err error) {
	switch strings.ToUpper(mech) {
	case "PLAIN":
		if !hasInitial {
			if err := s.send(prefix + "\r\n"); err != nil {
				return true, err
			}
			if initial, err = s.readLine(); err != nil {
				return true, err
			}
		}
		s.login, s.passwd, err = decodePlain(initial)
		return true, err
	case "LOGIN":
		if !hasInitial {
			if err := s.send(prefix + challengeUser + "\r\n"); err != nil {
				return true, err
			}
			if initial, err = s.readLine(); err != nil {
				return true, err
			}
		}
		if s.login, err = decodeLogin(initial); err != nil {
			return true, err
		}
		if err := s.send(prefix + challengePass + "\r\n"); err != nil {
			return true, err
		}
		line, err := s.readLine()
		if err != nil {
			return true, err
		}
		s.passwd, err = decodeLogin(line)
		return true, err
	}
	return false, nil
}

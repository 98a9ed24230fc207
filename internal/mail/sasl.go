package mail

import (
	"encoding/base64"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"fulcrum/internal/config"
	"fulcrum/internal/errlog"
)

// The SASL challenges of the LOGIN mechanism ("Username:", "Password:");
// EXTERNAL without an initial response asks with the first too.
const (
	challengeUser = "VXNlcm5hbWU6"
	challengePass = "UGFzc3dvcmQ6"
)

// errSASL is a client's SASL response that cannot be used: invalid
// base64, a PLAIN message without two NULs, a CRAM-MD5 answer without a
// 32-byte digest.
var errSASL = errors.New("invalid SASL response")

// decodeBase64 decodes as nginx's ngx_decode_base64, which is lenient:
// the text ends at its first "=" (what follows is ignored), a last group
// of two or three characters gives one or two bytes, and only a byte
// outside the alphabet before the "=", or a last group of one character,
// is an error.
func decodeBase64(arg string) (string, error) {
	if i := strings.IndexByte(arg, '='); i >= 0 {
		arg = arg[:i]
	}
	if len(arg)%4 == 1 || strings.ContainsAny(arg, "\r\n") {
		return "", errSASL
	}
	raw, err := base64.RawStdEncoding.DecodeString(arg)
	if err != nil {
		return "", errSASL
	}
	return string(raw), nil
}

// decodePlain reads a SASL PLAIN message, base64 of
// "authzid NUL authcid NUL passwd", as nginx's ngx_mail_auth_plain: the
// login is authcid.
func decodePlain(arg string) (login, passwd string, err error) {
	raw, err := decodeBase64(arg)
	if err != nil {
		return "", "", err
	}
	_, rest, ok := strings.Cut(raw, "\x00")
	if !ok {
		return "", "", errSASL
	}
	login, passwd, ok = strings.Cut(rest, "\x00")
	if !ok {
		return "", "", errSASL
	}
	return login, passwd, nil
}

// newSalt is nginx's ngx_mail_salt: "<random.time@server_name>", the
// challenge of APOP (in the POP3 greeting) and CRAM-MD5.
func (s *session) newSalt() string {
	return fmt.Sprintf("<%d.%d@%s>", rand.Int32(), time.Now().Unix(), s.srv.name)
}

// authEnabled reports whether the server's *_auth list has mech.
func (s *session) authEnabled(mech string) bool {
	cfg := s.srv.cfg
	list := cfg.SMTPAuth
	switch cfg.Protocol {
	case config.MailIMAP:
		list = cfg.IMAPAuth
	case config.MailPOP3:
		list = cfg.POP3Auth
	}
	return slices.Contains(list, mech)
}

// sasl runs the mechanism named by mech, with the initial response
// initial (when hasInitial), sending challenges after prefix ("+ " or
// "334 "). ok false means nginx does not take the mechanism here: one it
// does not know, CRAM-MD5 when not enabled or with an initial response,
// EXTERNAL without one when not enabled. PLAIN, LOGIN and EXTERNAL with
// an initial response are taken whatever the *_auth list, as in nginx.
// The credentials change only as nginx changes them: a failed step keeps
// the previous ones.
func (s *session) sasl(mech, initial string, hasInitial bool, prefix string) (ok bool, err error) {
	switch strings.ToUpper(mech) {
	case "PLAIN":
		return true, s.plain(initial, hasInitial, prefix)
	case "LOGIN":
		return true, s.loginMech(initial, hasInitial, prefix)
	case "CRAM-MD5":
		if hasInitial || !s.authEnabled("cram-md5") {
			return false, nil
		}
		return true, s.cramMD5(prefix)
	case "EXTERNAL":
		if !hasInitial && !s.authEnabled("external") {
			return false, nil
		}
		return true, s.external(initial, hasInitial, prefix)
	}
	return false, nil
}

// challenge sends a SASL challenge and reads the client's response.
func (s *session) challenge(line string) (string, error) {
	if err := s.send(line + "\r\n"); err != nil {
		return "", err
	}
	return s.readLine()
}

// plain runs the PLAIN mechanism.
func (s *session) plain(initial string, hasInitial bool, prefix string) error {
	if !hasInitial {
		var err error
		if initial, err = s.challenge(prefix); err != nil {
			return err
		}
	}
	login, passwd, err := decodePlain(initial)
	if err != nil {
		return err
	}
	s.login, s.passwd, s.passwdSet, s.method = login, passwd, true, "plain"
	return nil
}

// userName is the first step of LOGIN and EXTERNAL: the initial response,
// or the client's answer to "Username:", decoded; a decoding error is
// errSASL, an error of the exchange is the connection's.
func (s *session) userName(initial string, hasInitial bool, prefix string) (string, error) {
	if !hasInitial {
		var err error
		if initial, err = s.challenge(prefix + challengeUser); err != nil {
			return "", err
		}
	}
	return decodeBase64(initial)
}

// loginMech runs the LOGIN mechanism: the user name (the initial
// response or the answer to "Username:"), then the password.
func (s *session) loginMech(initial string, hasInitial bool, prefix string) error {
	login, err := s.userName(initial, hasInitial, prefix)
	if err != nil {
		return err
	}
	s.login = login
	line, err := s.challenge(prefix + challengePass)
	if err != nil {
		return err
	}
	passwd, err := decodeBase64(line)
	if err != nil {
		return err
	}
	s.passwd, s.passwdSet, s.method = passwd, true, "plain"
	return nil
}

// cramMD5 runs CRAM-MD5 (RFC 2195) as nginx's ngx_mail_auth_cram_md5: the
// challenge is the session's salt in base64 (made now if there is none),
// the answer base64 of "login digest"; the login and the digest are
// taken before the digest is checked to be 32 bytes, as nginx does.
func (s *session) cramMD5(prefix string) error {
	if s.salt == "" {
		s.salt = s.newSalt()
	}
	line, err := s.challenge(prefix + base64.StdEncoding.EncodeToString([]byte(s.salt)))
	if err != nil {
		return err
	}
	raw, err := decodeBase64(line)
	if err != nil {
		s.logf(errlog.Info, "client sent invalid base64 encoding in AUTH CRAM-MD5 command")
		return err
	}
	login, digest, found := strings.Cut(raw, " ")
	s.login = login
	if found {
		s.passwd, s.passwdSet = digest, true
	}
	if !found || len(digest) != 32 {
		s.logf(errlog.Info, "client sent invalid CRAM-MD5 hash in AUTH CRAM-MD5 command")
		return errSASL
	}
	s.method = "cram-md5"
	return nil
}

// external runs EXTERNAL as nginx's ngx_mail_auth_external: the login is
// the initial response or the answer to "Username:" (which may be
// empty); the password stays whatever the session last had.
func (s *session) external(initial string, hasInitial bool, prefix string) error {
	login, err := s.userName(initial, hasInitial, prefix)
	if errors.Is(err, errSASL) {
		s.logf(errlog.Info, "client sent invalid base64 encoding in AUTH EXTERNAL command")
	}
	if err != nil {
		return err
	}
	s.login, s.method = login, "external"
	return nil
}

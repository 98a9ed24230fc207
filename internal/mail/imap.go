package mail

import (
	"errors"
	"io"
	"strconv"
	"strings"
	"time"

	"fulcrum/internal/errlog"
)

// imapCommand is one parsed IMAP command line (with its literals).
type imapCommand struct {
	tag, name string
	args      []string
}

// errIMAPSyntax is a line the IMAP parser cannot read.
var errIMAPSyntax = errors.New("invalid IMAP command")

// parseIMAPLine reads "tag SP command *(SP argument)" where an argument is
// an atom, a quoted string ("..." with \" and \\) or, at the end of the
// line only, a literal "{n}": then lit is n and the caller reads n bytes
// and the rest of the line (continueIMAP). With cont, line is such a rest:
// the arguments after a literal.
func parseIMAPLine(cmd *imapCommand, line string, cont bool) (lit int, err error) {
	lit = -1
	if !cont {
		tag, rest, ok := strings.Cut(line, " ")
		if !ok || tag == "" {
			return lit, errIMAPSyntax
		}
		cmd.tag = tag
		name, args, _ := strings.Cut(rest, " ")
		if name == "" {
			return lit, errIMAPSyntax
		}
		cmd.name = strings.ToUpper(name)
		if args == "" {
			return lit, nil
		}
		line = args
	} else {
		if line == "" {
			return lit, nil
		}
		if line[0] != ' ' {
			return lit, errIMAPSyntax
		}
		line = line[1:]
	}
	return parseIMAPArgs(cmd, line)
}

// parseIMAPArgs reads the space-separated arguments of line into cmd.
func parseIMAPArgs(cmd *imapCommand, line string) (lit int, err error) {
	for line != "" {
		var arg string
		switch line[0] {
		case '"':
			arg, line, err = imapQuoted(line)
		case '{':
			end := strings.IndexByte(line, '}')
			if end < 0 || end != len(line)-1 {
				return -1, errIMAPSyntax
			}
			n, aerr := strconv.Atoi(line[1:end])
			if aerr != nil || n < 0 || line[1] == '+' || line[1] == '-' {
				return -1, errIMAPSyntax
			}
			return n, nil
		default:
			arg, line, _ = strings.Cut(line, " ")
			if arg == "" {
				return -1, errIMAPSyntax
			}
			cmd.args = append(cmd.args, arg)
			continue
		}
		if err != nil {
			return -1, err
		}
		cmd.args = append(cmd.args, arg)
		if line != "" {
			if line[0] != ' ' || len(line) == 1 {
				return -1, errIMAPSyntax
			}
			line = line[1:]
		}
	}
	return -1, nil
}

// imapQuoted reads a quoted string at the start of line; rest is what
// follows its closing quote.
func imapQuoted(line string) (arg, rest string, err error) {
	var b strings.Builder
	for i := 1; i < len(line); i++ {
		switch c := line[i]; c {
		case '\\':
			if i+1 >= len(line) || (line[i+1] != '"' && line[i+1] != '\\') {
				return "", "", errIMAPSyntax
			}
			i++
			b.WriteByte(line[i])
		case '"':
			return b.String(), line[i+1:], nil
		default:
			b.WriteByte(c)
		}
	}
	return "", "", errIMAPSyntax
}

// readIMAP reads one IMAP command, answering each literal with "+ OK" and
// reading its bytes; the whole command must fit imap_client_buffer.
func (s *session) readIMAP() (*imapCommand, error) {
	line, err := s.readLine()
	if err != nil {
		return nil, err
	}
	cmd := &imapCommand{}
	total := len(line) + 2
	lit, perr := parseIMAPLine(cmd, line, false)
	for perr == nil && lit >= 0 {
		total += lit
		if total > s.srv.cfg.ClientBuffer {
			s.logf(errlog.Info, "client sent too long command")
			return nil, errQuit
		}
		if err := s.send("+ OK\r\n"); err != nil {
			return nil, err
		}
		_ = s.conn.SetReadDeadline(time.Now().Add(s.srv.cfg.Timeout))
		buf := make([]byte, lit)
		if _, err := io.ReadFull(s.r, buf); err != nil {
			return nil, err
		}
		cmd.args = append(cmd.args, string(buf))
		rest, err := s.readLine()
		if err != nil {
			return nil, err
		}
		total += len(rest) + 2
		lit, perr = parseIMAPLine(cmd, rest, true)
	}
	if perr != nil {
		return cmd, perr
	}
	return cmd, nil
}

// imap serves an IMAP client until it logs in (then the session is
// proxied) or quits.
func (s *session) imap() error {
	if err := s.send(s.srv.greeting); err != nil {
		return err
	}
	for {
		cmd, err := s.readIMAP()
		if err != nil && !errors.Is(err, errIMAPSyntax) {
			return err
		}
		if err != nil {
			tag := "*"
			if cmd.name != "" {
				tag = cmd.tag
			}
			if err := s.invalid(tag + " BAD invalid command\r\n"); err != nil {
				return err
			}
			continue
		}
		s.tag = cmd.tag
		if err := s.imapCommand(cmd); err != nil {
			return err
		}
	}
}

// imapCommand answers one command of the not-authenticated state.
func (s *session) imapCommand(cmd *imapCommand) error {
	bad := func() error { return s.reject(cmd.tag + " BAD invalid command\r\n") }
	switch cmd.name {
	case "STARTTLS": // refused without starttls, and over TLS
		if !s.starttlsOffered() {
			return bad()
		}
		return s.startTLS(cmd.tag + " OK completed\r\n")
	case "CAPABILITY":
		caps, _, _ := s.capabilities()
		return s.send(caps + cmd.tag + " OK completed\r\n")
	case "NOOP":
		return s.send(cmd.tag + " OK completed\r\n")
	case "LOGOUT":
		_ = s.send("* BYE\r\n" + cmd.tag + " OK completed\r\n")
		return errQuit
	case "LOGIN":
		if len(cmd.args) != 2 || s.starttlsOnly() {
			return bad()
		}
		s.login, s.passwd, s.passwdSet, s.method = cmd.args[0], cmd.args[1], true, "plain"
	case "AUTHENTICATE":
		if len(cmd.args) != 1 && len(cmd.args) != 2 || s.starttlsOnly() {
			return bad()
		}
		initial := ""
		if len(cmd.args) == 2 {
			initial = cmd.args[1]
		}
		ok, err := s.sasl(cmd.args[0], initial, len(cmd.args) == 2, "+ ")
		if !ok || errors.Is(err, errSASL) {
			return bad()
		}
		if err != nil {
			return err
		}
	default:
		return s.invalid(cmd.tag + " BAD invalid command\r\n")
	}
	return s.authenticate()
}

// imapLogin logs in to an IMAP backend as nginx does, with literals:
// "TAG LOGIN {n}", the login, "{n}", the password; the backend's tagged
// OK goes to the client.
func (s *session) imapLogin(b *backend) (string, error) {
	if _, err := b.expect("* OK"); err != nil {
		return "", err
	}
	if err := b.send(s.tag + " LOGIN {" + strconv.Itoa(len(s.login)) + "}\r\n"); err != nil {
		return "", err
	}
	if _, err := b.expect("+"); err != nil {
		return "", err
	}
	if err := b.send(s.login + " {" + strconv.Itoa(len(s.passwd)) + "}\r\n"); err != nil {
		return "", err
	}
	if _, err := b.expect("+"); err != nil {
		return "", err
	}
	if err := b.send(s.passwd + "\r\n"); err != nil {
		return "", err
	}
	return b.expect(s.tag + " OK")
}
